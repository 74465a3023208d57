"""The plugin host: ``host`` finds, loads and lists packs; ``conflicts`` decides, once every
pack is collected, which pack's version of a contested NumPy function is used;
``pack_primitive`` makes a function users import from a pack refuse tracked values while the
pack is not in use. What a pack itself uses to register (the core pack too) sits below, in
``yota.hookspecs`` and ``yota.registry``.

    from yota.packs import pack_primitive
"""
from .pack_primitive import PackPrimitive, pack_primitive

__all__ = ["PackPrimitive", "pack_primitive"]
