"""eigh, svd and qr: one primitive per output (eigh_w, eigh_v; svd_u, svd_s, svd_vh; qr_q, qr_r).

A primitive returns one array, so each output of a decomposition is its own primitive with its own
rule. The vjp of a decomposition is linear in the cotangents of its outputs, so the separate rules
add up to the joint one; and a loss that uses only the eigenvalues (or singular values) never
meets the 1/(w_j - w_i) terms of the eigenvector rules. One LAPACK call serves all the outputs of
one input (``_memo.Memo``). Every rule is written with the pack's primitives (matmul, solve and
these), so second derivatives work where the decomposition is twice differentiable.

Conventions (see the README for examples):
- eigh/eigvalsh read one triangle of ``a`` (UPLO), as NumPy does, and the gradient is the exact
  one of that function: it lives on that triangle (with the other triangle's share folded in).
  Through a symmetric construction (``B + B.T``, ``X.T @ X``) this is the usual symmetric
  gradient. svd(hermitian=True) reads the lower triangle too and is treated the same way.
- Eigenvectors and singular vectors are unique up to sign; the rules differentiate the signs LAPACK
  picked, which do not change under small perturbations. A loss that depends on the signs is
  still differentiable, but its value jumps wherever LAPACK flips a sign.
- Repeated eigenvalues (singular values, or a zero singular value of a non-square matrix) make the
  vectors non-unique: a gradient through the vectors is then NaN where it meets them (not a silent
  guess); nearly repeated ones give large gradients. Values alone stay finite.
- svd(full_matrices=True) of an m x n matrix with m != n, and qr(mode='complete') with m > n,
  return extra columns (rows of Vh) that only their span defines. Their rule is the one of the
  completion that turns no faster than the rest requires (U_p^T dU_p = 0): exact when there is
  one extra column or the loss uses only their span (U_p @ U_p.T), a choice otherwise.
- qr needs A of full rank (R invertible); svd vectors need distinct nonzero singular values.
"""
from __future__ import annotations

import functools

import numpy as np
from yota.core_pack.indexing import where
from yota.core_pack.shape import concatenate
from yota.errors import InputError
from yota.extend import primitive

from ._memo import Memo
from ._util import add_last, add_second_last, conj_if, mH, mT
from .products import matmul
from .solvers import solve

IMPLEMENTS = {}
LinAlgError = np.linalg.LinAlgError


# --- shared pieces -------------------------------------------------------------------------------
def check_matrix(name, a, square=False, complex_ok=True):
    """A (stack of) matrix in the last two axes, square if asked; a clear error otherwise."""
    kind = getattr(getattr(a, "dtype", None), "kind", None) or np.asarray(a).dtype.kind
    if kind == "c" and not complex_ok:
        raise InputError(
            f"yota-linalg: numpy.linalg.{name} of a complex matrix has no gradient rule here (the "
            "rules are for real matrices); work with real matrices, e.g. the real form "
            "[[Re, -Im], [Im, Re]] of a Hermitian matrix has the same eigenvalues, each twice")
    shape = np.shape(a)
    if len(shape) < 2:
        raise LinAlgError(
            f"yota-linalg: numpy.linalg.{name} needs a matrix (or a stack of matrices in the last "
            f"two axes), got an array of shape {shape}")
    if square and shape[-1] != shape[-2]:
        raise LinAlgError(
            f"yota-linalg: numpy.linalg.{name} needs square matrices in the last two axes, got "
            f"shape {shape}")
    return shape


def _uplo(name, UPLO):
    uplo = str(UPLO).upper()
    if uplo not in ("L", "U"):
        raise ValueError(f"yota-linalg: numpy.linalg.{name}: UPLO must be 'L' or 'U', got "
                         f"{UPLO!r}")
    return uplo


@functools.lru_cache(maxsize=64)
def masks(n, dtype, uplo):
    """(strict triangle of ones, identity), constants for the rules."""
    strict = np.tril(np.ones((n, n), dtype), -1) if uplo == "L" else np.triu(
        np.ones((n, n), dtype), 1)
    eye = np.eye(n, dtype=dtype)
    strict.flags.writeable = eye.flags.writeable = False
    return strict, eye


def fold(g, uplo):
    """The gradient of a function that reads one triangle of ``a`` as a symmetric (Hermitian)
    matrix, from the gradient ``g`` of that matrix: g + g^T (g^H) on the triangle read, and
    g's diagonal (its real part: LAPACK ignores the imaginary part of a Hermitian diagonal)."""
    strict, eye = masks(g.shape[-1], g.real.dtype if g.dtype.kind == "c" else g.dtype, uplo)
    if g.dtype.kind == "c":
        return (g + mH(g)) * strict + np.real(g) * eye
    return (g + mT(g)) * strict + g * eye


def divide_used(num, den):
    """num / den, where den == 0 gives 0 if num == 0 (a pair no loss term uses) and NaN otherwise
    (a degenerate pair the loss depends on: no gradient exists). No division by zero happens."""
    zero = den == 0
    q = num / where(zero, 1, den)
    return where(zero & (num != 0), np.asarray(np.nan, q.dtype), q)


def complement_cotangent(g, y, k):
    """Fold the cotangent of the extra columns y[..., k:] of an orthogonal y into that of its
    first k columns, for the completion with y_p^T dy_p = 0 (so dy_p = -y_k dy_k^T y_p).
    Complex ``y``: ``g`` is the conjugate cotangent and transposes are conjugate transposes."""
    yk, yp = y[..., :k], y[..., k:]
    return g[..., :k] - matmul(yp, matmul(mH(g[..., k:]), yk))


# --- eigh ----------------------------------------------------------------------------------------
_eigh = Memo(lambda a, UPLO: np.linalg.eigh(a, UPLO=UPLO))


@primitive
def eigh_w(a, *, UPLO="L"):
    """Eigenvalues of a symmetric matrix, ascending: numpy.linalg.eigh(a, UPLO)[0]."""
    return _eigh(a, UPLO=UPLO)[0].copy()


@primitive
def eigh_v(a, *, UPLO="L"):
    """Eigenvectors, as columns: numpy.linalg.eigh(a, UPLO)[1]."""
    return _eigh(a, UPLO=UPLO)[1].copy()


@eigh_w.defgrad
def _eigh_w_grad(dy, w, a, *, UPLO="L"):
    """dw_i = v_i^H dA v_i: the gradient is V diag(dy) V^T (conj(V) diag(dy) V^T if complex)."""
    v = eigh_v(a, UPLO=UPLO)
    return fold(conj_if(matmul(v * add_second_last(dy), mH(v)), v.dtype.kind == "c"), UPLO)


@eigh_v.defgrad
def _eigh_v_grad(dy, v, a, *, UPLO="L"):
    """dV = V (F o V^T dA V) with F_ij = 1/(w_j - w_i) off the diagonal: the gradient is
    V (F o V^T dy) V^T."""
    w = eigh_w(a, UPLO=UPLO)
    cplx = v.dtype.kind == "c"
    _, eye = masks(w.shape[-1], w.dtype, "L")
    off = 1 - eye
    den = add_second_last(w) - add_last(w) + eye
    inner = divide_used(matmul(mH(v), conj_if(dy, cplx)) * off, den)
    return fold(conj_if(matmul(v, matmul(inner, mH(v))), cplx), UPLO)


_EighResult = type(np.linalg.eigh(np.eye(1)))


def eigh(a, UPLO="L"):
    """np.linalg.eigh: (eigenvalues, eigenvectors) as NumPy's result type, two primitives."""
    check_matrix("eigh", a, square=True)
    uplo = _uplo("eigh", UPLO)
    return _EighResult(eigh_w(a, UPLO=uplo), eigh_v(a, UPLO=uplo))


def eigvalsh(a, UPLO="L"):
    """np.linalg.eigvalsh: the eigenvalues alone; their rule never divides by w_j - w_i."""
    check_matrix("eigvalsh", a, square=True)
    return eigh_w(a, UPLO=_uplo("eigvalsh", UPLO))


# --- svd -----------------------------------------------------------------------------------------
# Options of the three primitives: full_matrices (only when m != n) and hermitian pick the LAPACK
# call, and all three outputs of one input come from the same call (signs agree).
_svd = Memo(lambda a, full_matrices, hermitian: np.linalg.svd(
    a, full_matrices=full_matrices, hermitian=hermitian))


@primitive
def svd_u(a, *, full_matrices=False, hermitian=False):
    """Left singular vectors: numpy.linalg.svd(a, ...)[0]."""
    return _svd(a, full_matrices=full_matrices, hermitian=hermitian)[0].copy()


@primitive
def svd_s(a, *, full_matrices=False, hermitian=False):
    """Singular values, descending: numpy.linalg.svd(a, ...)[1]."""
    return _svd(a, full_matrices=full_matrices, hermitian=hermitian)[1].copy()


@primitive
def svd_vh(a, *, full_matrices=False, hermitian=False):
    """Right singular vectors, as rows: numpy.linalg.svd(a, ...)[2]."""
    return _svd(a, full_matrices=full_matrices, hermitian=hermitian)[2].copy()


def _thin(a, full_matrices, hermitian, u=None, s=None, vh=None):
    """U (m, k), s (k,), Vh (k, n) of ``a`` from the primitives (k = min(m, n)); the ones given
    are reused."""
    opts = {"full_matrices": full_matrices, "hermitian": hermitian}
    k = min(a.shape[-2:])
    u = svd_u(a, **opts) if u is None else u
    s = svd_s(a, **opts) if s is None else s
    vh = svd_vh(a, **opts) if vh is None else vh
    if full_matrices:
        u, vh = u[..., :k], vh[..., :k, :]
    return u, s, vh


def _s_squared_gaps(s):
    """s_j^2 - s_i^2 as (s_j - s_i)(s_j + s_i), a k x k matrix per stack."""
    row, col = add_second_last(s), add_last(s)
    return (row - col) * (row + col)


@svd_s.defgrad
def _svd_s_grad(dy, s, a, *, full_matrices=False, hermitian=False):
    """ds_i = Re u_i^H dA v_i: the gradient is U diag(dy) Vh (its conjugate if complex)."""
    u, _, vh = _thin(a, full_matrices, hermitian, s=s)
    g = conj_if(matmul(u * add_second_last(dy), vh), u.dtype.kind == "c")
    return fold(g, "L") if hermitian else g


@svd_u.defgrad
def _svd_u_grad(dy, u, a, *, full_matrices=False, hermitian=False):
    """With J = U^T dy and F_ij = 1/(s_j^2 - s_i^2): U [(F o (J - J^T)) S] Vh, plus
    (I - U U^T) dy S^-1 Vh when m > n (Townsend 2016, "Differentiating the SVD"). Complex:
    transposes are conjugate transposes on the conjugate cotangent, and the phase of each pair
    (u_i, v_i) adds U diag(Im J_ii / s_i) i Vh (Wan and Zhang 2019): exact for losses that do not
    depend on that phase (the gauge; see the README)."""
    m, n = a.shape[-2:]
    k = min(m, n)
    cplx = u.dtype.kind == "c"
    dy = conj_if(dy, cplx)
    if full_matrices and m > n:
        dy = complement_cotangent(dy, u, k)
    u, s, vh = _thin(a, full_matrices, hermitian, u=u)
    j = matmul(mH(u), dy)
    skew = j - mH(j)
    if cplx:
        _, eye = masks(k, s.dtype, "L")
        inner = (divide_used(skew * (1 - eye), _s_squared_gaps(s)) * add_second_last(s)
                 + skew * eye / (2 * add_second_last(s)))
    else:
        inner = divide_used(skew, _s_squared_gaps(s)) * add_second_last(s)
    g = matmul(u, matmul(inner, vh))
    if m > k:
        g = g + matmul(divide_used(dy - matmul(u, j), add_second_last(s)), vh)
    g = conj_if(g, cplx)
    return fold(g, "L") if hermitian else g


@svd_vh.defgrad
def _svd_vh_grad(dy, vh, a, *, full_matrices=False, hermitian=False):
    """With K = Vh dy^T (= V^T dV): U [S (F o (K - K^T))] Vh, plus U S^-1 (dy - K^T Vh) when
    n > m."""
    m, n = a.shape[-2:]
    k = min(m, n)
    cplx = vh.dtype.kind == "c"
    dy = conj_if(dy, cplx)
    if full_matrices and n > m:
        dy = mH(complement_cotangent(mH(dy), mH(vh), k))
    u, s, vh = _thin(a, full_matrices, hermitian, vh=vh)
    kk = matmul(vh, mH(dy))
    skew = kk - mH(kk)
    if cplx:   # the phase of each pair is carried by the u rule
        _, eye = masks(k, s.dtype, "L")
        skew = skew * (1 - eye)
    inner = add_last(s) * divide_used(skew, _s_squared_gaps(s))
    g = matmul(u, matmul(inner, vh))
    if n > k:
        g = g + matmul(u, divide_used(dy - matmul(mH(kk), vh), add_last(s)))
    g = conj_if(g, cplx)
    return fold(g, "L") if hermitian else g


_SVDResult = type(np.linalg.svd(np.eye(1)))


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """np.linalg.svd: (U, S, Vh) as NumPy's result type from three primitives, or S alone."""
    shape = check_matrix("svd", a, square=bool(hermitian), complex_ok=not hermitian)
    opts = {"full_matrices": bool(full_matrices) and shape[-1] != shape[-2],
            "hermitian": bool(hermitian)}
    if not compute_uv:
        return svd_s(a, full_matrices=False, hermitian=opts["hermitian"])
    return _SVDResult(svd_u(a, **opts), svd_s(a, **opts), svd_vh(a, **opts))


def svdvals(x, /):
    """np.linalg.svdvals: the singular values alone; their rule never divides by s_j - s_i."""
    check_matrix("svdvals", x)
    return svd_s(x, full_matrices=False, hermitian=False)


# --- qr ------------------------------------------------------------------------------------------
_qr = Memo(lambda a, mode: np.linalg.qr(a, mode=mode))


@primitive
def qr_q(a, *, mode="reduced"):
    """Q of numpy.linalg.qr(a, mode) ('reduced' or 'complete')."""
    return _qr(a, mode=mode)[0].copy()


@primitive
def qr_r(a, *, mode="reduced"):
    """R of numpy.linalg.qr(a, mode) ('reduced' or 'complete'; mode 'r' gives the same R)."""
    return _qr(a, mode=mode)[1].copy()


def _times_r_inv_t(x, r):
    """x R^-T, as (R^-1 x^T)^T (x R^-H, for complex R)."""
    return mH(solve(r, mH(x)))


def _qr_square_vjp(q, r, dq, dr):
    """A = QR with m >= n (Q: m x n, R: n x n): the gradient for cotangents dq and dr (either may
    be None), as in TensorFlow's QrGrad: [Q tril(M) + (I - Q Q^T) dq] R^-T + Q dr with
    M = Q^T dq - dq^T Q + R dr^T - dr R^T."""
    n = r.shape[-1]
    cplx = r.dtype.kind == "c"
    # complex: conjugate transposes on the conjugate cotangents; M is then anti-Hermitian, and
    # half of its (imaginary) diagonal belongs to the lower triangle
    lower = np.tril(np.ones((n, n)), -1) + np.eye(n) * (0.5 if cplx else 1.0)
    lower = lower.astype(r.real.dtype if cplx else r.dtype)
    dq, dr = conj_if(dq, cplx and dq is not None), conj_if(dr, cplx and dr is not None)
    m = front = None
    if dq is not None:
        qdq = matmul(mH(q), dq)
        m = qdq - mH(qdq)
        front = dq - matmul(q, qdq)
    if dr is not None:
        rdr = matmul(r, mH(dr))
        m = rdr - mH(rdr) if m is None else m + (rdr - mH(rdr))
    x = matmul(q, m * lower)
    x = x if front is None else x + front
    g = _times_r_inv_t(x, r)
    return conj_if(g if dr is None else g + matmul(q, dr), cplx)


def _qr_vjp(a, q, r, dq, dr):
    """Reduced Q (m x k), R (k x n). For m < n, A = [X | Y] with X = Q R[:, :m] square and
    Y = Q R[:, m:]: the square rule for X, with dq gaining Y dR[:, m:]^T, and Q dR[:, m:] for Y."""
    m, n = a.shape[-2:]
    if m >= n:
        return _qr_square_vjp(q, r, dq, dr)
    u = r[..., :, :m]
    if dr is None:
        dx = _qr_square_vjp(q, u, dq, None)
        return concatenate(dx, np.zeros(dx.shape[:-1] + (n - m,), dx.dtype), axis=-1)
    cplx = q.dtype.kind == "c"   # V = Q^H Y: conjugate cotangents, conjugate transposes
    dv = conj_if(dr[..., :, m:], cplx)
    extra = conj_if(matmul(a[..., :, m:], mH(dv)), cplx)
    dx = _qr_square_vjp(q, u, extra if dq is None else dq + extra, dr[..., :, :m])
    return concatenate(dx, conj_if(matmul(q, dv), cplx), axis=-1)


def _qr_thin(a, mode, q=None, r=None):
    k = min(a.shape[-2:])
    q = qr_q(a, mode=mode) if q is None else q
    r = qr_r(a, mode=mode) if r is None else r
    if mode == "complete":
        q, r = q[..., :k], r[..., :k, :]
    return q, r


@qr_q.defgrad
def _qr_q_grad(dy, q, a, *, mode="reduced"):
    k = min(a.shape[-2:])
    if mode == "complete" and q.shape[-1] > k:
        cplx = q.dtype.kind == "c"
        dy = conj_if(complement_cotangent(conj_if(dy, cplx), q, k), cplx)
    q, r = _qr_thin(a, mode, q=q)
    return _qr_vjp(a, q, r, dy, None)


@qr_r.defgrad
def _qr_r_grad(dy, r, a, *, mode="reduced"):
    k = min(a.shape[-2:])
    if mode == "complete":
        dy = dy[..., :k, :]           # the rows below k are zeros whatever A is
    q, r = _qr_thin(a, mode, r=r)
    return _qr_vjp(a, q, r, None, dy)


_QRResult = type(np.linalg.qr(np.eye(1)))


def qr(a, mode="reduced"):
    """np.linalg.qr for modes 'reduced', 'complete' and 'r'."""
    shape = check_matrix("qr", a)
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(
            f"yota-linalg: numpy.linalg.qr: mode {mode!r} is not supported on tracked values "
            "(its Householder reflectors have no gradient rule); use mode='reduced', "
            "'complete' or 'r'")
    if mode == "r":
        return qr_r(a, mode="reduced")
    if mode == "complete" and shape[-2] <= shape[-1]:
        mode = "reduced"              # the same Q and R
    return _QRResult(qr_q(a, mode=mode), qr_r(a, mode=mode))


IMPLEMENTS.update({
    np.linalg.eigh: eigh, np.linalg.eigvalsh: eigvalsh, np.linalg.svd: svd, np.linalg.qr: qr,
})
if hasattr(np.linalg, "svdvals"):
    IMPLEMENTS[np.linalg.svdvals] = svdvals
PRIMITIVES = (eigh_w, eigh_v, svd_u, svd_s, svd_vh, qr_q, qr_r)
