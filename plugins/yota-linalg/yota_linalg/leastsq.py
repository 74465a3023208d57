"""pinv and lstsq (one primitive per output), matrix_rank (no gradient) and cond.

The rules hold where the rank is constant near ``a``: the singular values that rcond cuts off are
(numerically) zero, as for a full-rank matrix or a product of thin factors. A cutoff that drops
singular values far from zero makes pinv jump, and its gradient is then only that of the rank it
kept. Rules are written with matmul and pinv, so they differentiate again.
"""
from __future__ import annotations

import numpy as np
from yota.extend import nondifferentiable, primitive

from ._memo import Memo
from ._util import add_last, mT, ndim
from .decompositions import _svd_s_grad, check_matrix, fold, masks, svd_s
from .norms import norm
from .products import matmul
from .solvers import inv

IMPLEMENTS = {}


# --- pinv ----------------------------------------------------------------------------------------
@primitive(name="pinv")
def pinv_p(a, **options):
    """numpy.linalg.pinv(a, **options): rcond, hermitian, rtol as given by the caller."""
    return np.linalg.pinv(a, **options)


def pinv_vjp(g, p, a):
    """Gradient of P = A^+ for a cotangent g (shaped like P), at constant rank:
    -P^T g P^T + (I - A P) g^T P P^T + P^T P g^T (I - P A)   (Golub & Pereyra 1973)."""
    pt, gt = mT(p), mT(g)
    x = matmul(gt, matmul(p, pt))                 # g^T P P^T
    y = matmul(matmul(pt, p), gt)                 # P^T P g^T
    return (-matmul(pt, matmul(g, pt)) + (x - matmul(a, matmul(p, x)))
            + (y - matmul(matmul(y, p), a)))


@pinv_p.defgrad
def _pinv_grad(dy, p, a, **options):
    if not options.get("hermitian", False):
        return pinv_vjp(dy, p, a)
    return fold(pinv_vjp(dy, p, symmetric_from_lower(a)), "L")   # NumPy reads a's lower part


def symmetric_from_lower(a):
    """The symmetric matrix NumPy's hermitian=True functions see: a's lower triangle, mirrored."""
    strict, eye = masks(a.shape[-1], a.dtype, "L")
    low = a * strict
    return low + mT(low) + a * eye


_NOT_GIVEN = object()


def pinv(a, rcond=None, hermitian=False, *, rtol=_NOT_GIVEN):
    """np.linalg.pinv, passing on exactly the options given."""
    check_matrix("pinv", a, square=bool(hermitian), complex_ok=False)
    options = {"hermitian": bool(hermitian)}
    if rcond is not None:
        options["rcond"] = rcond
    if rtol is not _NOT_GIVEN:
        options["rtol"] = rtol
    return pinv_p(a, **options)


# --- lstsq ---------------------------------------------------------------------------------------
_lstsq = Memo(lambda a, b, rcond: np.linalg.lstsq(a, b, rcond=rcond))


@primitive
def lstsq_x(a, b, *, rcond=None):
    """The least-squares (minimum-norm) solution: numpy.linalg.lstsq(a, b, rcond)[0]."""
    return _lstsq(a, b, rcond=rcond)[0].copy()


@primitive
def lstsq_residuals(a, b, *, rcond=None):
    """Squared residual norms per column of b; empty unless rank == n < m, as in NumPy."""
    return _lstsq(a, b, rcond=rcond)[1].copy()


@primitive(nondiff_argnums=(1,))
def lstsq_s(a, b, *, rcond=None):
    """The singular values of a, as lstsq returns them."""
    return _lstsq(a, b, rcond=rcond)[3].copy()


lstsq_s.declare(zero_gradient=(1,))  # the singular values of a do not depend on b


lstsq_rank = nondifferentiable(lambda a, b, *, rcond=None: _lstsq(a, b, rcond=rcond)[2],
                               name="lstsq_rank")


def _cutoff_pinv(a, rcond):
    """pinv of a with lstsq's cutoff: rcond (None: eps * max(m, n); < 0: eps) times s_max."""
    m, n = a.shape[-2:]
    eps = np.finfo(a.dtype).eps
    if rcond is None:
        rcond = eps * max(m, n)
    elif rcond < 0:
        rcond = eps
    return pinv_p(a, rcond=rcond, hermitian=False)


def _as_columns(v, b):
    """A vector right-hand side's vectors as one-column matrices."""
    return add_last(v) if ndim(b) == 1 else v


def _lstsq_x_grad_a(dy, x, a, b, *, rcond=None):
    """x = A^+ b, so the cotangent of A^+ is dy b^T: pinv's rule."""
    p = _cutoff_pinv(a, rcond)
    return pinv_vjp(matmul(_as_columns(dy, b), mT(_as_columns(b, b))), p, a)


def _lstsq_x_grad_b(dy, x, a, b, *, rcond=None):
    return matmul(mT(_cutoff_pinv(a, rcond)), dy)


lstsq_x.defgrads(_lstsq_x_grad_a, _lstsq_x_grad_b)


def _residual_parts(dy, res, a, b, rcond):
    """(r * dy, x) as matrices, with r = b - A x: residuals_j = |r_j|^2 and A^T r = 0."""
    x = _as_columns(lstsq_x(a, b, rcond=rcond), b)
    r = _as_columns(b, b) - matmul(a, x)
    return r * dy, x


def _residuals_grad_a(dy, res, a, b, *, rcond=None):
    """d res_j = 2 r_j^T (db_j - dA x_j - A dx_j), and A^T r_j = 0 at the minimum."""
    if res.shape[-1] == 0:
        return np.zeros(a.shape, a.dtype)
    rdy, x = _residual_parts(dy, res, a, b, rcond)
    return -2 * matmul(rdy, mT(x))


def _residuals_grad_b(dy, res, a, b, *, rcond=None):
    if res.shape[-1] == 0:
        return np.zeros(np.shape(b), a.dtype)
    rdy, _ = _residual_parts(dy, res, a, b, rcond)
    return 2 * (rdy[..., 0] if ndim(b) == 1 else rdy)


lstsq_residuals.defgrads(_residuals_grad_a, _residuals_grad_b)
lstsq_s.defgrad(lambda dy, s, a, b, *, rcond=None: _svd_s_grad(dy, s, a))


def lstsq(a, b, rcond=None):
    """np.linalg.lstsq: (x, residuals, rank, s), as NumPy returns them (a plain tuple)."""
    check_matrix("lstsq", a, complex_ok=False)
    if ndim(a) != 2 or ndim(b) not in (1, 2):
        raise np.linalg.LinAlgError(
            "yota-linalg: numpy.linalg.lstsq needs a 2-D a and a 1-D or 2-D b (no stacks), got "
            f"shapes {np.shape(a)} and {np.shape(b)}")
    if getattr(getattr(b, "dtype", None), "kind", None) == "c":
        check_matrix("lstsq", b, complex_ok=False)        # raises the complex-input error
    return (lstsq_x(a, b, rcond=rcond), lstsq_residuals(a, b, rcond=rcond),
            lstsq_rank(a, b, rcond=rcond), lstsq_s(a, b, rcond=rcond))


# --- matrix_rank and cond ------------------------------------------------------------------------
matrix_rank_p = nondifferentiable(lambda A, **options: np.linalg.matrix_rank(A, **options),
                                  name="matrix_rank")


def matrix_rank(A, tol=None, hermitian=False, *, rtol=None):
    """np.linalg.matrix_rank: an integer, with no gradient."""
    return matrix_rank_p(A, tol=tol, hermitian=hermitian, rtol=rtol)


def cond(x, p=None):
    """np.linalg.cond: s_max / s_min for p in (None, 2, -2) from the singular values, else
    norm(x, p) * norm(inv(x), p) over the last two axes."""
    check_matrix("cond", x, square=p not in (None, 2, -2), complex_ok=False)
    if p is None or p == 2 or p == -2:
        s = svd_s(x, full_matrices=False, hermitian=False)
        return s[..., -1] / s[..., 0] if p == -2 else s[..., 0] / s[..., -1]
    return norm(x, p, axis=(-2, -1)) * norm(inv(x), p, axis=(-2, -1))


IMPLEMENTS.update({np.linalg.pinv: pinv, np.linalg.lstsq: lstsq,
                   np.linalg.matrix_rank: matrix_rank, np.linalg.cond: cond})
PRIMITIVES = (pinv_p, lstsq_x, lstsq_residuals, lstsq_s, lstsq_rank, matrix_rank_p)


# --- polyfit -------------------------------------------------------------------------------------
def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """np.polyfit's coefficients, by NumPy's steps (Vandermonde matrix, columns scaled to unit
    norm, lstsq): differentiable in y, x and w. full= and cov= are not supported."""
    if full or cov:
        raise TypeError("yota-linalg: numpy.polyfit(full=True or cov=...) is not supported on "
                        "tracked values; the coefficients alone are")
    order = int(deg) + 1
    if deg < 0 or np.ndim(x) != 1 or np.ndim(y) not in (1, 2) or len(x) != len(y):
        raise ValueError("expected deg >= 0, 1-D x and y of x's length (1-D or 2-D)")
    if rcond is None:
        rcond = len(x) * np.finfo(np.result_type(getattr(x, "dtype", float), float)).eps
    lhs, rhs = np.vander(x, order), y
    if w is not None:
        lhs = lhs * np.reshape(w, (-1, 1))
        rhs = rhs * (np.reshape(w, (-1, 1)) if np.ndim(y) == 2 else w)
    scale = np.sqrt(matmul(np.ones(len(x)), lhs * lhs))
    c = lstsq_x(lhs / scale, rhs, rcond=rcond)
    return c / np.reshape(scale, (-1, 1)) if np.ndim(y) == 2 else c / scale


IMPLEMENTS[np.polyfit] = polyfit
