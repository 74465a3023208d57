"""eigh/eigvalsh, svd/svdvals and qr against finite differences: float64 and float32, stacks,
random upstream gradients, static and dynamic mode (check_grads runs both).

Eigenvectors and singular vectors are defined up to sign (and up to a rotation inside a repeated
eigenvalue's space), so most losses here are gauge-invariant: functions of the values, V diag(w)
V^T, projections V V^T, squared entries, U S Vh, or vectors with their sign fixed by one entry
(sign(V[0]) is constant near the point, so it is part of the loss, not of the gradient).
"""
import numpy as np
import pytest

import yota
from yota.testing import check_grads

DTYPES = [np.float64, np.float32]
SQUARE = [(3, 3), (2, 3, 3), (2, 1, 4, 4)]
RECT = [(3, 3), (4, 2), (2, 4), (2, 3, 2), (2, 2, 3)]


def vec(y):
    return np.reshape(y, (-1,))


def weighted(y):
    return vec(y) @ np.ones(np.size(y))


def sym(b):
    return b + np.swapaxes(b, -1, -2)


def sign_fixed(v, axis=-2):
    """Columns (axis=-2) or rows (axis=-1) of v with their first entry made positive."""
    first = np.take(v, [0], axis=axis)
    return v * np.sign(first)


# --- eigh --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SQUARE + [(1, 1)])
def test_eigvalsh(shape, dtype, check, draw):
    """Through a symmetric construction, and on the raw matrix (NumPy reads its lower
    triangle; the gradient is that function's, so finite differences agree entry by entry)."""
    b = draw(shape, dtype)
    out = check(lambda b: np.linalg.eigvalsh(sym(b)), b)
    np.testing.assert_allclose(out, np.linalg.eigvalsh(sym(b)), rtol=1e-5)
    check(np.linalg.eigvalsh, b)
    check(lambda b: np.linalg.eigh(b)[0], b)


@pytest.mark.parametrize("uplo", ["L", "U", "u"])
def test_eigh_reads_one_triangle(uplo, check, draw):
    a = draw((2, 3, 3))
    check(lambda a: np.linalg.eigvalsh(a, UPLO=uplo), a)
    check(lambda a: sign_fixed(np.linalg.eigh(a, UPLO=uplo)[1]), a)
    _, g = yota.grad(lambda a: weighted(np.linalg.eigvalsh(a, UPLO=uplo) ** 2), a)
    unread = np.triu(np.ones((3, 3)), 1) if uplo == "L" else np.tril(np.ones((3, 3)), -1)
    assert not np.any(g[0] * unread)


def test_eigh_symmetric_gradient_through_symmetric_input(draw):
    """Differentiated through a symmetric construction, the gradient is the usual symmetric one:
    for sum(w^2) = |A|_F^2 it is 2A on the matrix, 4A for A = B + B^T."""
    b = draw((3, 3))
    _, g = yota.grad(lambda b: weighted(np.linalg.eigvalsh(sym(b)) ** 2), b)
    np.testing.assert_allclose(g[0], 4 * sym(b), rtol=1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SQUARE)
def test_eigh_vectors_gauge_invariant_losses(shape, dtype, check, draw):
    b = draw(shape, dtype)
    n = shape[-1]

    def matrix_function(b):                      # V exp(w) V^T: the matrix exponential
        w, v = np.linalg.eigh(sym(b) / 4)
        return (v * np.exp(w)[..., None, :]) @ np.swapaxes(v, -1, -2)

    def top_projection(b):                       # the projection onto the top two eigenvectors
        v = np.linalg.eigh(sym(b))[1][..., :, n - 2:]
        return v @ np.swapaxes(v, -1, -2)

    check(matrix_function, b)
    check(top_projection, b)
    check(lambda b: np.linalg.eigh(sym(b)).eigenvectors ** 2, b)
    check(lambda b: sign_fixed(np.linalg.eigh(sym(b)).eigenvectors), b)


def test_eigh_result_type(draw):
    a = draw((3, 3))
    seen = {}

    def f(a):
        res = np.linalg.eigh(a)
        seen["type"] = type(res)
        w, v = res
        return weighted(res.eigenvalues * v[0])

    yota.grad(f, a, dynamic=True)
    assert seen["type"] is type(np.linalg.eigh(a))


def test_eigenvalues_alone_are_finite_when_repeated():
    """A loss of the eigenvalues never reaches 1/(w_j - w_i): repeated eigenvalues are fine."""
    s = np.diag([1.0, 1.0, 2.0])
    q, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(3, 3)))
    for a in (s, q @ s @ q.T):
        b = np.tril(a) - np.diag(np.diag(a)) / 2          # sym(b) == a
        _, g = yota.grad(lambda b: weighted(np.linalg.eigvalsh(sym(b)) ** 2), b)
        np.testing.assert_allclose(g[0], 4 * a, atol=1e-12)


def test_eigenvectors_of_a_repeated_eigenvalue_give_nan_not_a_guess():
    """At a repeated eigenvalue the eigenvectors of its space are not unique: a loss that
    depends on one of them has no gradient, and gets NaN where it meets the pair. An isolated
    eigenvector keeps a finite gradient (the degenerate pair is not touched)."""
    a = np.diag([1.0, 1.0, 2.0])
    w = np.array([0.3, -1.0, 2.0])
    _, g = yota.grad(lambda a: np.linalg.eigh(a)[1][:, 0] @ w, a)
    assert np.isnan(g[0]).any()
    def isolated(a):
        v = np.linalg.eigh(a)[1][:, 2]
        return v * np.sign(v[2]) @ w

    _, g = yota.grad(isolated, a)
    assert np.all(np.isfinite(g[0]))
    check_grads(isolated, a)


def test_eigh_zero_size_and_one_by_one():
    for shape in [(0, 0), (2, 0, 0), (1, 1)]:
        a = np.ones(shape)
        _, g = yota.grad(lambda a: weighted(np.linalg.eigh(a)[1]) + weighted(
            np.linalg.eigvalsh(a)), a)
        assert g[0].shape == shape


def test_eigh_errors(draw):
    with pytest.raises(np.linalg.LinAlgError, match=r"eigh needs square matrices.*\(2, 3\)"):
        yota.grad(lambda a: weighted(np.linalg.eigh(a)[0]), draw((2, 3)))
    with pytest.raises(np.linalg.LinAlgError, match=r"eigvalsh needs a matrix"):
        yota.grad(lambda a: weighted(np.linalg.eigvalsh(a)), draw((3,)))
    with pytest.raises(ValueError, match="UPLO must be 'L' or 'U', got 'X'"):
        yota.grad(lambda a: weighted(np.linalg.eigvalsh(a, UPLO="X")), draw((2, 2)))


# --- svd -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", RECT + [(1, 1), (1, 3)])
def test_singular_values(shape, dtype, check, draw):
    a = draw(shape, dtype)
    out = check(lambda a: np.linalg.svd(a, compute_uv=False), a)
    np.testing.assert_allclose(out, np.linalg.svd(a, compute_uv=False), rtol=1e-5)
    check(lambda a: np.linalg.svd(a)[1], a)
    if hasattr(np.linalg, "svdvals"):
        check(np.linalg.svdvals, a)


@pytest.mark.parametrize("full_matrices", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", RECT)
def test_svd_vectors_gauge_invariant_losses(shape, full_matrices, dtype, check, draw):
    a = draw(shape, dtype)
    k = min(shape[-2:])

    def parts(a):
        u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
        return u[..., :k], s, vh[..., :k, :]

    def product(a):                                # U S Vh, which is a itself
        u, s, vh = parts(a)
        return (u * s[..., None, :]) @ vh

    def left_projection(a):                        # onto the top singular vector
        u = parts(a)[0][..., :1]
        return u @ np.swapaxes(u, -1, -2)

    out = check(product, a)
    np.testing.assert_allclose(out, a, rtol=1e-4, atol=1e-5)
    check(left_projection, a)
    check(lambda a: sign_fixed(parts(a)[0]), a)
    check(lambda a: sign_fixed(parts(a)[2], axis=-1), a)
    check(lambda a: parts(a)[2] ** 2, a)


def test_svd_of_the_identity_map(draw):
    """sum(W * (U S Vh)) = sum(W * A): the three rules must add up to W exactly."""
    a, w = draw((4, 3)), draw((4, 3))
    for full in (False, True):
        def f(a):
            u, s, vh = np.linalg.svd(a, full_matrices=full)
            return weighted(w * ((u[:, :3] * s) @ vh))

        _, g = yota.grad(f, a)
        np.testing.assert_allclose(g[0], w, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (2, 5, 2), (2, 2, 5)])
def test_svd_full_matrices_extra_vectors(shape, check, draw):
    """The extra columns of U (rows of Vh) of a non-square full SVD: with one extra, it is
    unique up to sign; with more, only their span is defined (checked through a projection)."""
    a = draw(shape)
    m, n = shape[-2:]
    k = min(m, n)
    if abs(m - n) == 1:
        check(lambda a: sign_fixed(np.linalg.svd(a)[0]), a)
        check(lambda a: sign_fixed(np.linalg.svd(a)[2], axis=-1), a)
    else:
        def span(a):
            u, _, vh = np.linalg.svd(a)
            up, vp = u[..., :, k:], np.swapaxes(vh[..., k:, :], -1, -2)
            return up @ np.swapaxes(up, -1, -2) if m > n else vp @ np.swapaxes(vp, -1, -2)

        check(span, a)


def test_svd_hermitian(check, draw):
    """hermitian=True reads the lower triangle (NumPy calls eigh); its singular values are
    |eigenvalues|."""
    b = draw((2, 3, 3))
    check(lambda b: np.linalg.svd(b, hermitian=True)[1], b)
    check(lambda b: np.linalg.svd(b, compute_uv=False, hermitian=True), b)
    check(lambda b: sign_fixed(np.linalg.svd(sym(b), hermitian=True)[0]), b)

    def product(b):
        u, s, vh = np.linalg.svd(b, hermitian=True)
        return (u * s[..., None, :]) @ vh

    check(product, b)


def test_svd_result_type_and_values(draw):
    a = draw((2, 4, 3))
    seen = {}

    def f(a):
        res = np.linalg.svd(a, full_matrices=False)
        seen["res"] = res
        return weighted(res.S) + weighted(res.U[..., 0, :] ** 2) + weighted(res.Vh[..., 0] ** 2)

    yota.grad(f, a, dynamic=True)
    want = np.linalg.svd(a, full_matrices=False)
    assert type(seen["res"]) is type(want)
    for got, expected in zip(seen["res"], want):
        assert got.shape == expected.shape


def test_singular_values_alone_are_finite_when_repeated():
    a = 2 * np.eye(3)
    _, g = yota.grad(lambda a: weighted(np.linalg.svd(a, compute_uv=False)), a)
    np.testing.assert_allclose(g[0], np.eye(3), atol=1e-12)   # d nuc / dA = U Vh = I
    _, g = yota.grad(lambda a: np.linalg.svd(a)[0][0] @ np.array([1.0, 2.0, 3.0]), a)
    assert np.isnan(g[0]).any()                               # vectors: no gradient exists


def test_svd_errors(draw):
    with pytest.raises(np.linalg.LinAlgError, match="svd needs a matrix"):
        yota.grad(lambda a: weighted(np.linalg.svd(a)[1]), draw((3,)))
    with pytest.raises(np.linalg.LinAlgError, match="svd needs square matrices"):
        yota.grad(lambda a: weighted(np.linalg.svd(a, hermitian=True)[1]), draw((2, 3)))
    with pytest.raises(yota.InputError, match="svd of a complex matrix has no gradient rule here"):
        yota.grad(lambda a: weighted(np.abs(np.linalg.svd(a * 1j, hermitian=True)[1])),
                  draw((2, 2)))


# --- qr ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", RECT + [(2, 4, 3)])
def test_qr(shape, dtype, check, draw):
    """Q and R of every shape (tall, square, wide); the random upstream gradient weighs every
    entry of each."""
    a = draw(shape, dtype)
    q, r = check(lambda a: np.linalg.qr(a)[0], a), check(lambda a: np.linalg.qr(a).R, a)
    want = np.linalg.qr(a)
    np.testing.assert_allclose(q, want.Q, rtol=1e-5)
    np.testing.assert_allclose(r, want.R, rtol=1e-5)
    check(lambda a: np.linalg.qr(a, mode="r"), a)

    def both(a):
        q, r = np.linalg.qr(a)
        return (q @ r) * (q @ r ** 2)

    check(both, a)


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (5, 2), (2, 5, 3)])
def test_qr_complete(shape, check, draw):
    a = draw(shape)
    m, n = shape[-2:]
    check(lambda a: np.linalg.qr(a, mode="complete")[1], a)
    if m - n <= 1:
        check(lambda a: np.linalg.qr(a, mode="complete")[0], a)
    else:                                # only the span of the extra columns is defined
        def span(a):
            qp = np.linalg.qr(a, mode="complete")[0][..., n:]
            return qp @ np.swapaxes(qp, -1, -2)

        check(span, a)
        check(lambda a: np.linalg.qr(a, mode="complete")[0][..., :n], a)


def test_qr_errors(draw):
    with pytest.raises(ValueError, match="mode 'raw' is not supported on tracked values"):
        yota.grad(lambda a: weighted(np.linalg.qr(a, mode="raw")[0]), draw((3, 2)))
    with pytest.raises(np.linalg.LinAlgError, match="qr needs a matrix"):
        yota.grad(lambda a: weighted(np.linalg.qr(a)[0]), draw((3,)))


# --- second order ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["eigvalsh", "eigh-vectors", "svdvals", "svd-vectors", "qr"])
def test_second_order(name, draw):
    """The rules are written with matmul, solve and the decompositions' own primitives."""
    def loss(b):
        if name == "eigvalsh":
            return weighted(np.linalg.eigvalsh(sym(b)) * np.arange(1.0, 4.0))
        if name == "eigh-vectors":
            v = np.linalg.eigh(sym(b))[1]
            return weighted(v[:, 1:] @ v[:, 1:].T * w)
        if name == "svdvals":
            return weighted(np.linalg.svd(b, compute_uv=False) ** 2 * np.arange(1.0, 4.0))
        if name == "svd-vectors":
            u = np.linalg.svd(b, full_matrices=False)[0][:, :1]
            return weighted(u @ u.T * w)
        q, r = np.linalg.qr(b)
        return weighted(q * w) + weighted(r * w)

    w = draw((3, 3))
    check_grads(loss, draw((3, 3)), order=2)
