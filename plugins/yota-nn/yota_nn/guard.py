"""Primitives that users import from the pack directly (``from yota_nn import relu``).

NumPy functions reach a pack through the registry, so disabling the pack (YOTA_DISABLE_PLUGINS)
removes them. A function imported from the pack bypasses the registry: this guard makes it refuse
tracked values while the pack is not loaded, instead of silently using rules the user turned off.
Plain arrays are not yota's business and always work.
"""
from __future__ import annotations

from yota import NoRuleError, Primitive, Tracked
from yota.registry import REGISTRY

PACK = "yota-nn"
MODULE = "yota_nn"


class PackPrimitive(Primitive):
    """A primitive that works on tracked values only while its pack is loaded."""

    __slots__ = ()

    def __call__(self, *args, **kwargs):
        for a in args:
            if type(a) is Tracked:
                if REGISTRY.primitives.get(self.name) is not self:
                    _check_loaded(self)
                break
        return Primitive.__call__(self, *args, **kwargs)


def pack_primitive(fn=None, *, nondiff_argnums=()):
    """``@pack_primitive`` or ``@pack_primitive(nondiff_argnums=(1,))``, as ``yota.primitive``."""
    if fn is None:
        return lambda f: PackPrimitive(f, nondiff_argnums=nondiff_argnums)
    return PackPrimitive(fn, nondiff_argnums=nondiff_argnums)


def _check_loaded(prim):
    from yota import plugins

    plugins.ensure_loaded()
    current = REGISTRY.primitives.get(prim.name)
    if current is prim:
        return
    info = plugins.PLUGINS.get(PACK)
    if current is not None:
        reason = (f"plugin {REGISTRY.provider.get(prim.name)!r} registered another primitive "
                  f"named {prim.name!r} in its place")
    elif info is not None and info.status == "disabled":
        reason = f"the {PACK} pack is disabled (YOTA_DISABLE_PLUGINS)"
    elif info is not None and info.status == "failed":
        reason = f"the {PACK} pack failed to load ({info.error})"
    else:
        reason = (f"the {PACK} pack is not loaded (YOTA_DISABLE_PLUGIN_AUTOLOAD is set, or the "
                  "pack is not installed)")
    raise NoRuleError(
        f"yota: {MODULE}.{prim.name} was called on a tracked value, but {reason}, so yota will "
        f"not use its gradient rule. Enable the pack (remove it from YOTA_DISABLE_PLUGINS, then "
        f"call yota.plugins.reload()), or pip install {PACK} if it is not installed."
    )
