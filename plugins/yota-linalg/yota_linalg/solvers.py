"""Inverse, solve, determinants and Cholesky (and tensorinv/tensorsolve built on them): primitives over square matrices (stacks of them in
the last two axes) whose rules are written with matmul, solve and inv, so they can be
differentiated again. The rules assume the matrices are invertible, as the functions do.
"""
from __future__ import annotations

import numpy as np
from yota.core_pack.shape import reshape, transpose
from yota.extend import nondifferentiable, primitive

from ._util import add_last, add_second_last, drop_last, mT, ndim, reject_out
from .products import matmul

IMPLEMENTS = {}


def _det_axes(x):
    """x[..., None, None]: a scalar per matrix, against the matrix."""
    return add_last(add_last(x))


# --- inv -----------------------------------------------------------------------------------------
@primitive
def inv(a):
    return np.linalg.inv(a)


# d(A^-1) = -A^-1 dA A^-1, so the gradient is -Y^T dy Y^T.
inv.defgrad(lambda dy, y, a: -matmul(mT(y), matmul(dy, mT(y))))


# --- solve ---------------------------------------------------------------------------------------
_NUMPY2 = int(np.__version__.split(".")[0]) >= 2


def _b_is_vector(a, b):
    """NumPy >= 2 reads b as a vector exactly when it is 1-D; NumPy 1 when it has one axis
    fewer than a."""
    return ndim(b) == 1 if _NUMPY2 else ndim(b) == ndim(a) - 1


@primitive
def solve(a, b):
    return np.linalg.solve(a, b)


def _solve_grad_b(dy, x, a, b):
    """A^-T dy; under NumPy 2 a vector b against a stack of matrices is solved as a stack of
    columns (dy has the stack's shape but must not be read as matrices)."""
    if _b_is_vector(a, b) and ndim(a) > 2 and _NUMPY2:
        return drop_last(solve(mT(a), add_last(dy)))
    return solve(mT(a), dy)


def _solve_grad_a(dy, x, a, b):
    """-(A^-T dy) x^T."""
    gb = _solve_grad_b(dy, x, a, b)
    if _b_is_vector(a, b):
        return -(add_last(gb) * add_second_last(x))
    return -matmul(gb, mT(x))


solve.defgrads(_solve_grad_a, _solve_grad_b)


# --- determinants ------------------------------------------------------------------------------
@primitive
def det(a):
    return np.linalg.det(a)


# d det(A) = det(A) tr(A^-1 dA): the gradient is dy det(A) A^-T.
det.defgrad(lambda dy, y, a: _det_axes(dy * y) * mT(inv(a)))


@primitive(name="slogdet_logabsdet")
def logabsdet(a):
    return np.linalg.slogdet(a)[1]


logabsdet.defgrad(lambda dy, y, a: _det_axes(dy) * mT(inv(a)))
slogdet_sign = nondifferentiable(lambda a: np.linalg.slogdet(a)[0], name="slogdet_sign")
_SlogdetResult = type(np.linalg.slogdet(np.eye(1)))


def slogdet(a):
    """np.linalg.slogdet: (sign, logabsdet), two primitives; a real sign carries no gradient.
    A complex matrix's sign det / |det| turns with it: exp(i Im log det), differentiable."""
    if a.dtype.kind == "c":
        return _SlogdetResult(np.exp(1j * np.imag(logdet(a))), logabsdet(a))
    return _SlogdetResult(slogdet_sign(a), logabsdet(a))


@primitive
def logdet(a):
    """log det(a) of a complex matrix (its imaginary part is the sign's angle)."""
    sign, logabs = np.linalg.slogdet(a)
    return np.log(sign) + logabs


logdet.defgrad(lambda dy, y, a: _det_axes(dy) * mT(inv(a)))   # holomorphic


# --- Cholesky ----------------------------------------------------------------------------------
@primitive
def cholesky(a):
    return np.linalg.cholesky(a)


@cholesky.defgrad
def _cholesky_grad(dy, L, a):
    """Symmetric gradient (Murray 2016, arXiv:1602.07527): with Phi taking the lower triangle
    and halving the diagonal, S = L^-T Phi(L^T dy) L^-1 and the gradient is (S + S^T) / 2.

    NumPy reads only the lower triangle of ``a``; this rule spreads the gradient over both
    triangles, which is right for the symmetric matrices Cholesky is meant for (perturbations
    that keep ``a`` symmetric), as in autograd and JAX.
    """
    n = L.shape[-1]
    phi = np.tril(np.ones((n, n), dtype=dy.dtype)) - 0.5 * np.eye(n, dtype=dy.dtype)
    p = matmul(mT(L), dy) * phi
    lt = mT(L)
    s = solve(lt, mT(solve(lt, mT(p))))    # L^-T P L^-1
    return 0.5 * (s + mT(s))


def cholesky_(a, /, *, upper=False):
    chol = cholesky(a)
    return mT(chol) if upper else chol


# --- built from the above ------------------------------------------------------------------------
def matrix_power(a, n):
    """np.linalg.matrix_power: repeated squaring with matmul; inv first for negative n."""
    if not isinstance(n, (int, np.integer)):
        raise TypeError("yota-linalg: numpy.linalg.matrix_power: exponent must be an integer, "
                        f"got {n!r}")
    shape = np.shape(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise np.linalg.LinAlgError(
            f"yota-linalg: numpy.linalg.matrix_power needs square matrices, got shape {shape}")
    if n == 0:
        return np.broadcast_to(np.eye(shape[-1], dtype=a.dtype), shape).copy()
    if n < 0:
        a, n = inv(a), -n
    result, base = None, a
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result


def multi_dot(arrays, *, out=None):
    """np.linalg.multi_dot: a chain of matmuls (left to right; 1-D ends are vectors)."""
    reject_out("linalg.multi_dot", out)
    arrays = list(arrays)
    if len(arrays) < 2:
        raise ValueError("yota-linalg: numpy.linalg.multi_dot needs at least two arrays")
    result = arrays[0]
    for x in arrays[1:]:
        result = matmul(result, x)
    return result


def tensorsolve(a, b, axes=None):
    """np.linalg.tensorsolve: the axes of ``a`` after b's moved last, then one square solve."""
    sa, nb = np.shape(a), ndim(b)
    if axes is not None:
        order = [k for k in range(len(sa)) if k not in [ax % len(sa) for ax in axes]]
        order += [ax % len(sa) for ax in axes]
        a = transpose(a, tuple(order))
        sa = tuple(sa[k] for k in order)
    unknown = sa[nb:]
    n = int(np.prod(unknown))
    if int(np.prod(sa)) != n * n:
        raise np.linalg.LinAlgError(
            "yota-linalg: numpy.linalg.tensorsolve: a's shape must split into b's shape and the "
            f"solution's, with equal sizes; got a {sa} and b {np.shape(b)}")
    return reshape(solve(reshape(a, (n, n)), reshape(b, (n,))), unknown)


def tensorinv(a, ind=2):
    """np.linalg.tensorinv: the first ``ind`` axes against the rest, as one square inverse."""
    if ind <= 0:
        raise ValueError("yota-linalg: numpy.linalg.tensorinv: ind must be a positive int, got "
                         f"{ind!r}")
    shape = np.shape(a)
    rows, cols = int(np.prod(shape[:ind])), int(np.prod(shape[ind:]))
    if rows != cols:
        raise np.linalg.LinAlgError(
            f"yota-linalg: numpy.linalg.tensorinv: the first {ind} axes of shape {shape} must "
            "hold as many elements as the others")
    return reshape(inv(reshape(a, (rows, cols))), shape[ind:] + shape[:ind])


IMPLEMENTS.update({
    np.linalg.inv: inv, np.linalg.solve: solve, np.linalg.det: det,
    np.linalg.slogdet: slogdet, np.linalg.cholesky: cholesky_,
    np.linalg.matrix_power: matrix_power, np.linalg.multi_dot: multi_dot,
    np.linalg.tensorsolve: tensorsolve, np.linalg.tensorinv: tensorinv,
})
PRIMITIVES = (inv, solve, det, logabsdet, logdet, slogdet_sign, cholesky)
