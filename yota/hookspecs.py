"""The hooks a yota plugin (a "pack") may implement. See docs/writing-a-pack.md."""
import pluggy

hookspec = pluggy.HookspecMarker("yota")
hookimpl = pluggy.HookimplMarker("yota")


@hookspec
def yota_register_primitives(registry):
    """Register primitives and NumPy implementations with ``registry.implement(np_func, impl)``
    and ``registry.add_primitive(prim)``. Called once per process, when yota first needs them.

    ``registry`` is this pack's own ``yota.registry.Registration``: it records, and the host
    decides contested functions only after every pack's hook has run (``yota.packs.conflicts``).
    """
