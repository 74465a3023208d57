"""Primitives that users import from a pack directly (``from yota_nn import relu``).

NumPy functions reach a pack through the registry, so disabling the pack (YOTA_DISABLE_PLUGINS)
removes them. A function imported from the pack bypasses the registry: a *pack primitive* works
on tracked values exactly while its pack is loaded and registers it, also when another pack has a
primitive of the same name or overrides one of its NumPy functions (the user asked for this
pack's function by importing it). While the pack is disabled, failed or not loaded it refuses
tracked values and says which, instead of silently using rules the user turned off. Plain arrays
are not yota's business and always work.

    from yota.packs import pack_primitive

    @pack_primitive(pack="yota-nn")
    def relu(x): ...

The check costs one dictionary lookup per call on tracked values, nothing on plain arrays. The
pack must list the primitive (``registry.add_primitive`` or ``registry.implement``).
"""
from __future__ import annotations

from ..errors import NoRuleError
from ..kernel.primitive import Primitive
from ..kernel.tracked import Tracked
from . import host as plugins
from ..registry import REGISTRY, install_hint

__all__ = ["PackPrimitive", "pack_primitive"]

class PackPrimitive(Primitive):
    """A primitive that works on tracked values only while its pack is loaded and registers it."""

    __slots__ = ()   # ``pack`` is an entry of every primitive's table

    def __init__(self, impl, pack, name=None, differentiable=True, nondiff_argnums=()):
        super().__init__(impl, name, differentiable, nondiff_argnums)
        self.pack = pack

    def __call__(self, *args, **kwargs):
        for a in args:
            if type(a) is Tracked:
                if self not in REGISTRY.active:
                    _refuse(self)
                break
        return Primitive.__call__(self, *args, **kwargs)


def pack_primitive(fn=None, *, pack, name=None, differentiable=True, nondiff_argnums=()):
    """``@pack_primitive(pack="yota-xxx")``: ``yota.primitive`` for a function users import from
    the distribution ``pack``. Same keywords as ``yota.primitive``."""
    if not isinstance(pack, str) or not pack:
        raise TypeError(f"pack_primitive: pack must be the distribution name ('yota-nn'), "
                        f"got {pack!r}")
    if fn is None:
        return lambda f: PackPrimitive(f, pack, name, differentiable, nondiff_argnums)
    return PackPrimitive(fn, pack, name, differentiable, nondiff_argnums)


def _refuse(prim):
    """Raise, saying why the pack's rules are not in use; return if they are after loading."""
    plugins.ensure_loaded()
    pack = prim.pack
    if prim in REGISTRY.active:
        return
    info = plugins.PLUGINS.get(pack)
    if info is not None and info.status == "disabled":
        reason = f"the {pack} pack is disabled (YOTA_DISABLE_PLUGINS)"
    elif info is not None and info.status == "failed":
        reason = f"the {pack} pack failed to load ({info.error})"
    elif info is not None:
        reason = f"the {pack} pack does not register it (registry.add_primitive)"
    else:
        reason = (f"the {pack} pack is not loaded (YOTA_DISABLE_PLUGIN_AUTOLOAD is set, or the "
                  "pack is not installed)")
    module = (getattr(prim.impl, "__module__", None) or "").split(".")[0] or pack
    where = f"{module}.{getattr(prim.impl, '__name__', prim.name)}"
    raise NoRuleError(
        f"yota: {where} was called on a tracked value, but {reason}, so yota will not use its "
        f"gradient rule. Enable the pack (remove it from YOTA_DISABLE_PLUGINS, then call "
        f"yota.plugins.reload()), or install it with {install_hint(pack)}."
    )
