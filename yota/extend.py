"""Everything a pack author needs, in one place (the core pack uses the same pieces):

    from yota.extend import primitive, defgrad, pack_primitive, hookimpl, ImplementationTable

and, for a primitive's compiler entries (``prim.declare``, ``prim.defemit``), the ready-made
``infix``, ``prefix`` (operator emitters) and ``passes_first_on`` (a ``noop`` rule).
"""
from .kernel.emit import infix, passes_first_on, prefix
from .kernel.primitive import Primitive, defgrad, nondifferentiable, primitive, stop_gradient
from .hookspecs import hookimpl
from .packs.pack_primitive import PackPrimitive, pack_primitive
from .registry import ImplementationTable

__all__ = ["Primitive", "primitive", "defgrad", "nondifferentiable", "stop_gradient",
           "hookimpl", "pack_primitive", "PackPrimitive", "ImplementationTable",
           "infix", "prefix", "passes_first_on"]
