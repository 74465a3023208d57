"""The core's own primitives, registered through the same hook as any third-party pack."""
from ..hookspecs import hookimpl
from ..kernel.primitive import stop_gradient
from . import (elementwise, fills, indexing, inplace, polynomials, ranges, rearrange, sets, shape,
               signals)

MODULES = (elementwise, shape, indexing, inplace, rearrange, fills, ranges, signals, polynomials,
           sets)


@hookimpl
def yota_register_primitives(registry):
    for module in MODULES:
        for numpy_func, impl in module.IMPLEMENTS.items():
            registry.implement(numpy_func, impl)
    registry.add_primitive(shape.sum_to)
    registry.add_primitive(shape.broadcast_to)
    registry.add_primitive(indexing.index_add)
    registry.add_primitive(stop_gradient)
