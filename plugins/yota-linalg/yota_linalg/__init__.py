"""yota-linalg: linear algebra for yota. matmul/@, dot, inner, outer, tensordot, einsum, trace,
diag, kron, cross, vdot and numpy.linalg's inv, solve, det, slogdet, norm, cholesky,
matrix_power and multi_dot, each a primitive with its rules or built from primitives.

Loaded by yota through the entry point ``linalg`` in the group ``yota``.
"""
from __future__ import annotations

import yota

from . import decompositions, diagonals, einsum, leastsq, norms, products, solvers
from .diagonals import diag, trace
from .einsum import einsum_p
from .norms import matrix_norm, vector_norm
from .products import matmul
from .solvers import cholesky, det, inv, logabsdet, slogdet_sign, solve

__version__ = "0.1.0"
__all__ = ["matmul", "einsum_p", "trace", "diag", "inv", "solve", "det", "logabsdet",
           "slogdet_sign", "cholesky", "vector_norm", "matrix_norm", "yota_register_primitives"]
MODULES = (products, einsum, diagonals, solvers, decompositions, norms, leastsq)


@yota.hookimpl
def yota_register_primitives(registry):
    for module in MODULES:
        for numpy_func, impl in module.IMPLEMENTS.items():
            registry.implement(numpy_func, impl)
        for prim in module.PRIMITIVES:
            registry.add_primitive(prim)
