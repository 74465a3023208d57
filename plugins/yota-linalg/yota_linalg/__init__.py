"""yota-linalg: linear algebra for yota. matmul/@, dot, inner, outer, tensordot, einsum, trace,
diag, kron, cross, vdot and numpy.linalg's inv, solve, det, slogdet, norm, cholesky,
matrix_power, multi_dot, eig, eigvals, eigh, eigvalsh, svd, svdvals, qr, pinv, lstsq, matrix_rank and cond,
each a primitive with its rules or built from primitives.

Loaded by yota through the entry point ``linalg`` in the group ``yota``.
"""
from __future__ import annotations

import yota

from . import decompositions, diagonals, eigen, einsum, leastsq, norms, products, solvers
from .eigen import eig_v, eig_w
from .decompositions import eigh_v, eigh_w, qr_q, qr_r, svd_s, svd_u, svd_vh
from .diagonals import diag, trace
from .leastsq import lstsq_residuals, lstsq_s, lstsq_x, pinv_p
from .einsum import einsum_p
from .norms import matrix_norm, vector_norm
from .products import matmul
from .solvers import cholesky, det, inv, logabsdet, slogdet_sign, solve

__version__ = "0.2.0"
__all__ = ["matmul", "einsum_p", "trace", "diag", "inv", "solve", "det", "logabsdet",
           "slogdet_sign", "cholesky", "vector_norm", "matrix_norm", "eig_w", "eig_v", "eigh_w", "eigh_v", "svd_u",
           "svd_s", "svd_vh", "qr_q", "qr_r", "pinv_p", "lstsq_x", "lstsq_residuals", "lstsq_s",
           "yota_register_primitives"]
MODULES = (products, einsum, diagonals, solvers, decompositions, eigen, norms, leastsq)

# Output shapes follow from input shapes and options, so static graphs need no shape guards;
# except lstsq's residuals, which are empty unless a has full column rank.
for _module in MODULES:
    for _prim in _module.PRIMITIVES:
        _prim.declare(static_shape=_prim is not lstsq_residuals)


@yota.hookimpl
def yota_register_primitives(registry):
    for module in MODULES:
        for numpy_func, impl in module.IMPLEMENTS.items():
            registry.implement(numpy_func, impl)
        for prim in module.PRIMITIVES:
            registry.add_primitive(prim)
