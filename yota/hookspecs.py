"""The hooks a yota plugin (a "pack") may implement. See docs/writing-a-pack.md."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .registry import Registration

hookspec = pluggy.HookspecMarker("yota")
hookimpl = pluggy.HookimplMarker("yota")


@hookspec
def yota_register_primitives(registry: Registration) -> None:
    """Register primitives and NumPy implementations with ``registry.implement(np_func, impl)``
    and ``registry.add_primitive(prim)``. Called once per process, when yota first needs them.

    ``registry`` is this pack's own ``yota.registry.Registration``: it records, and the host
    decides contested functions only after every pack's hook has run (``yota.packs.conflicts``).
    """


@hookspec
def yota_register_backends(registry: Registration) -> list[Any] | None:
    """Provide compile backends with ``registry.add_backend(backend)`` (the same
    ``Registration`` as above; ``add_backend`` may also be called from
    ``yota_register_primitives``), or return a list of them from an implementation that takes
    no ``registry``. Called once per process, when yota first needs them.

    A backend is an object with a ``name`` (str) and ``lower(program, template, fname)``
    returning ``(fn, source)``, optionally ``available()`` returning ``(bool, reason)``: the
    contract is in docs/writing-a-pack.md ("Compile backends") and ``yota.compile.backends``.
    """
