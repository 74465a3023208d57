"""np.linalg.norm: vector and matrix orders, axis, keepdims, and the documented kinks."""
import numpy as np
import pytest

import yota
from yota.testing import check_grads

DTYPES = [np.float64, np.float32]


def weighted(y):
    return np.reshape(y, (-1,)) @ np.ones(np.size(y))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4,), (2, 3), (2, 2, 3)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_default_norm(shape, keepdims, dtype, check, draw):
    x = draw(shape, dtype)
    out = check(lambda x: np.linalg.norm(x, keepdims=keepdims), x)
    assert np.shape(out) == np.shape(np.linalg.norm(x, keepdims=keepdims))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ord", [None, 2, 1, np.inf, -np.inf, 3, 0.5, -1])
@pytest.mark.parametrize("shape,axis", [((5,), None), ((5,), 0), ((3, 4), 1), ((3, 4), -2),
                                        ((2, 3, 4), 1)])
def test_vector_norm(ord, shape, axis, dtype, check, draw):
    x = draw(shape, dtype)
    for keepdims in (False, True):
        out = check(lambda x: np.linalg.norm(x, ord, axis, keepdims), x)
        np.testing.assert_allclose(out, np.linalg.norm(x, ord, axis, keepdims), rtol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ord", [None, "fro", 1, -1, np.inf, -np.inf, 2, -2, "nuc"])
@pytest.mark.parametrize("shape,axis", [((3, 4), None), ((4, 3), (1, 0)), ((2, 3, 4), (1, 2)),
                                        ((3, 2, 4), (0, -1))])
def test_matrix_norm(ord, shape, axis, dtype, check, draw):
    x = draw(shape, dtype)
    for keepdims in (False, True):
        out = check(lambda x: np.linalg.norm(x, ord, axis, keepdims), x)
        np.testing.assert_allclose(out, np.linalg.norm(x, ord, axis, keepdims), rtol=1e-5)


def test_array_api_norms(check, draw):
    if not hasattr(np.linalg, "vector_norm"):
        pytest.skip("NumPy < 2")
    x = draw((2, 3, 4))
    check(lambda x: np.linalg.vector_norm(x), x)
    check(lambda x: np.linalg.vector_norm(x, ord=1), x)
    check(lambda x: np.linalg.vector_norm(x, axis=1, ord=np.inf, keepdims=True), x)
    for ord in (2, 1, np.inf, 3, -1):
        for axis in ((0, 2), (2, 0), (-1, -2, 0)):
            for keepdims in (False, True):
                out = check(lambda x: np.linalg.vector_norm(x, axis=axis, ord=ord,
                                                            keepdims=keepdims), x)
                np.testing.assert_allclose(out, np.linalg.vector_norm(
                    x, axis=axis, ord=ord, keepdims=keepdims), rtol=1e-12)
    check(lambda x: np.linalg.matrix_norm(x), x)
    check(lambda x: np.linalg.matrix_norm(x, ord="nuc", keepdims=True), x)


def test_gradient_at_zero_is_zero():
    """The 2-norm and Frobenius norm have gradient 0 at x == 0 (a subgradient), not NaN."""
    for f in (np.linalg.norm, lambda x: np.linalg.norm(x, "fro"),
              lambda x: weighted(np.linalg.norm(x, axis=1))):
        _, g = yota.grad(f, np.zeros((2, 3)))
        assert np.all(g[0] == 0)
    x = np.array([[0.0, 0.0], [3.0, 4.0]])
    _, g = yota.grad(lambda x: weighted(np.linalg.norm(x, axis=1)), x)
    np.testing.assert_allclose(g[0], [[0, 0], [0.6, 0.8]])


def test_one_norm_at_zero_and_inf_norm_ties():
    x = np.array([0.0, -2.0, 2.0, 1.0])
    _, g = yota.grad(lambda x: np.linalg.norm(x, 1), x)
    np.testing.assert_allclose(g[0], [0, -1, 1, 1])
    _, g = yota.grad(lambda x: np.linalg.norm(x, np.inf), x)
    np.testing.assert_allclose(g[0], [0, -0.5, 0.5, 0])       # shared between the tie
    _, g = yota.grad(lambda x: np.linalg.norm(x, 0), x)
    np.testing.assert_allclose(g[0], 0)


def test_matrix_one_norm_ties():
    x = np.array([[1.0, -1.0], [1.0, 1.0]])                    # both columns sum to 2
    _, g = yota.grad(lambda x: np.linalg.norm(x, 1), x)
    np.testing.assert_allclose(g[0], 0.5 * np.sign(x))


def test_second_order_vector_norm(draw):
    x, w = draw((2, 3)), draw((2, 3))

    def first(x):
        return yota.grad(lambda x: np.linalg.norm(x), x)[1][0]

    check_grads(lambda x: weighted(first(x) * w), x)


@pytest.mark.parametrize("ord", [2, -2, "nuc"])
@pytest.mark.parametrize("shape,axis", [((3, 3), None), ((4, 3), None), ((2, 3, 4), (2, 1))])
def test_second_order_svd_norms(ord, shape, axis, draw):
    """The spectral and nuclear norms' gradients are written with the svd primitives, so they
    differentiate again (random matrices have distinct singular values)."""
    check_grads(lambda x: weighted(np.linalg.norm(x, ord, axis)), draw(shape), order=2)


def test_spectral_norm_hessian_against_finite_differences(draw):
    """d2/dx2 of the largest singular value, as a full matrix, against differences of the
    gradient."""
    x = draw((3, 2))

    def first(x):
        return yota.grad(lambda x: np.linalg.norm(x, 2), x, dynamic=True)[1][0]

    eps, h = 1e-6, np.zeros((3, 2, 3, 2))
    for idx in np.ndindex(3, 2):
        d = np.zeros((3, 2))
        d[idx] = eps
        h[idx] = (first(x + d) - first(x - d)) / (2 * eps)
    for idx in np.ndindex(3, 2):
        _, g = yota.grad(lambda x: first(x)[idx], x)
        np.testing.assert_allclose(g[0], h[..., idx[0], idx[1]], rtol=1e-5, atol=1e-7)


def test_norm_errors(draw):
    x = draw((2, 3, 4))
    with pytest.raises(ValueError, match="improper number of dimensions to norm"):
        yota.grad(lambda x: np.linalg.norm(x, 2), x)
    with pytest.raises(ValueError, match="invalid norm order 'fro' for vectors"):
        yota.grad(lambda x: weighted(np.linalg.norm(x, "fro", axis=0)), x)
    with pytest.raises(ValueError, match="duplicate axes"):
        yota.grad(lambda x: weighted(np.linalg.norm(x, axis=(1, -2))), x)


def test_norm_primitives_take_negative_axes(check, draw):
    from yota_linalg import matrix_norm, vector_norm
    x = draw((2, 3, 4))
    check(lambda x: vector_norm(x, ord=3, axis=-1), x)
    check(lambda x: matrix_norm(x, ord="nuc", axis=(-1, -3), keepdims=True), x)
