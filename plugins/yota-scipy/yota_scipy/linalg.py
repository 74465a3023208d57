"""scipy.linalg: solve_triangular, cholesky, cho_factor/cho_solve, expm, logm, sqrtm.

solve_triangular is a primitive whose rules solve again (and mask to its triangle). expm, logm
and sqrtm are primary matrix functions f: the derivative of f at A in direction E is the upper
right block of f([[A, E], [0, A]]) (Higham, Functions of Matrices, thm 3.6), so each rule is the
same primitive on a matrix twice the size, and differentiates again. SciPy is imported on first
use: loading the pack stays cheap.
"""
from __future__ import annotations

import numpy as np

from yota.packs import pack_primitive

__all__ = ["solve_triangular", "cholesky", "cho_factor", "cho_solve", "expm", "logm", "sqrtm"]
PACK = "yota-scipy"


def _scipy_linalg():
    import scipy.linalg
    return scipy.linalg


def _mT(x):
    return np.swapaxes(x, -1, -2)


# --- triangular solves -------------------------------------------------------------------------
@pack_primitive(pack=PACK)
def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False):
    """scipy.linalg.solve_triangular for a square ``a`` and ``b`` of one or two axes; the
    options are constants."""
    return _scipy_linalg().solve_triangular(a, b, trans=trans, lower=lower,
                                            unit_diagonal=unit_diagonal)


def _other_side(trans):
    """The trans of the adjoint solve: op(A)^T (real matrices: 'C' is 'T')."""
    return {0: 1, "N": 1, 1: 0, "T": 0, 2: 0, "C": 0}[trans]


def _triangle(g, lower, unit_diagonal):
    """Only the triangle solve_triangular reads carries a gradient."""
    g = np.tril(g) if lower else np.triu(g)
    if unit_diagonal:
        g = g * (1.0 - np.eye(np.shape(g)[-1], dtype=g.dtype))
    return g


def _solve_triangular_grad_b(dy, x, a, b, trans=0, lower=False, unit_diagonal=False):
    return solve_triangular(a, dy, trans=_other_side(trans), lower=lower,
                            unit_diagonal=unit_diagonal)


def _solve_triangular_grad_a(dy, x, a, b, trans=0, lower=False, unit_diagonal=False):
    """op(A) x = b gives d op(A) = -gb x^T, with gb the gradient of b."""
    gb = _solve_triangular_grad_b(dy, x, a, b, trans, lower, unit_diagonal)
    if np.ndim(x) == 1:
        gb, x = np.reshape(gb, (-1, 1)), np.reshape(x, (-1, 1))
    g = -(gb @ _mT(x)) if _other_side(trans) == 1 else -(x @ _mT(gb))
    return _triangle(g, lower, unit_diagonal)


solve_triangular.defgrads(_solve_triangular_grad_a, _solve_triangular_grad_b)


# --- Cholesky: yota-linalg's primitive, with SciPy's conventions ---------------------------------
def cholesky(a, lower=False):
    """scipy.linalg.cholesky: upper by default. The gradient is the symmetric one (perturbations
    that keep ``a`` symmetric), as yota-linalg's np.linalg.cholesky."""
    chol = np.linalg.cholesky(a)
    return chol if lower else _mT(chol)


def cho_factor(a, lower=False):
    """scipy.linalg.cho_factor: ``(c, lower)``; the unused triangle of ``c`` is zero (SciPy
    leaves arbitrary values there)."""
    return cholesky(a, lower=lower), lower


def cho_solve(c_and_lower, b):
    """scipy.linalg.cho_solve: two triangular solves."""
    c, lower = c_and_lower
    if lower:    # A = L L^T
        return solve_triangular(c, solve_triangular(c, b, lower=True), trans=1, lower=True)
    return solve_triangular(c, solve_triangular(c, b, trans=1), lower=False)   # A = U^T U


# --- primary matrix functions --------------------------------------------------------------------
def _matrix_function(name, compute):
    prim = pack_primitive(compute, pack=PACK, name=name)

    @prim.defgrad
    def _rule(dy, y, a):
        """<dy, L(A, E)> = <L(A^T, dy), E>: the Frechet derivative at A^T in direction dy."""
        n = np.shape(a)[-1]
        at = _mT(a)
        block = np.block([[at, dy], [np.zeros_like(at), at]])
        return prim(block)[..., :n, n:]

    return prim


def _real(out, a):
    """A real matrix function of a real matrix: SciPy may return complex with zero imaginary
    parts (logm, sqrtm); keep a's dtype."""
    if np.iscomplexobj(out) and not np.iscomplexobj(a):
        out = out.real
    return out.astype(np.result_type(a, np.float32), copy=False)


expm = _matrix_function("expm", lambda a: _real(_scipy_linalg().expm(a), a))
logm = _matrix_function("logm", lambda a: _real(_scipy_linalg().logm(a), a))
sqrtm = _matrix_function("sqrtm", lambda a: _real(_scipy_linalg().sqrtm(a), a))
expm.__doc__ = "scipy.linalg.expm of a matrix."
logm.__doc__ = "scipy.linalg.logm of a real matrix with a real logarithm (no eigenvalue <= 0)."
sqrtm.__doc__ = "scipy.linalg.sqrtm of a real matrix with a real square root."

PRIMITIVES = (solve_triangular, expm, logm, sqrtm)
