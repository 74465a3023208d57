"""inv, solve, det, slogdet, cholesky, matrix_power, multi_dot on well-conditioned matrices."""
import numpy as np
import pytest

import yota
from yota.testing import check_grads

DTYPES = [np.float64, np.float32]
SQUARE = [(3, 3), (2, 3, 3), (2, 1, 2, 2)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SQUARE)
def test_inv(shape, dtype, check, well_conditioned):
    check(np.linalg.inv, well_conditioned(shape, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb", [
    ((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 2)), ((2, 3, 3), (3,)),
    ((2, 3, 3), (3, 2)), ((3, 3), (2, 3, 1)),
])
def test_solve(sa, sb, dtype, check, well_conditioned, draw):
    a, b = well_conditioned(sa, dtype), draw(sb, dtype)
    out = check(np.linalg.solve, a, b)
    assert out.shape == np.linalg.solve(a, b).shape


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SQUARE + [(1, 1)])
def test_det(shape, dtype, check, well_conditioned):
    check(np.linalg.det, well_conditioned(shape, dtype) / shape[-1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SQUARE)
def test_slogdet(shape, dtype, check, well_conditioned):
    a = well_conditioned(shape, dtype)
    a = a * np.where(np.arange(shape[-1]) == 0, -1, 1)     # some negative determinants
    check(lambda a: np.linalg.slogdet(a)[1], a)
    check(lambda a: np.linalg.slogdet(a).logabsdet * np.linalg.slogdet(a).sign, a)

    sign, logdet = np.linalg.slogdet(a)
    _, g = yota.grad(lambda a: weighted(np.linalg.slogdet(a).sign * 3.0), a)
    assert not np.any(g[0])                    # the sign carries no gradient


def weighted(y):
    return np.reshape(y, (-1,)) @ np.ones(np.size(y))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3), (1, 1)])
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky(shape, upper, dtype, check, spd, draw):
    """Cholesky reads one triangle; its rule is the symmetric one, so the check perturbs a
    symmetric matrix (a function of an unconstrained b)."""
    base = spd(shape, dtype)
    b = draw(shape, dtype) * 0.3

    def f(b):
        return np.linalg.cholesky(base + b + np.swapaxes(b, -1, -2), upper=upper)

    out = check(f, b)
    np.testing.assert_allclose(out, np.linalg.cholesky(base + b + np.swapaxes(b, -1, -2),
                                                       upper=upper), rtol=1e-5)


def test_cholesky_gradient_is_symmetric(spd, draw):
    a = spd((3, 3))
    w = draw((3, 3))
    _, g = yota.grad(lambda a: weighted(np.linalg.cholesky(a) * w), a)
    np.testing.assert_allclose(g[0], g[0].T)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 2, 3, 5, -1, -2])
def test_matrix_power(n, dtype, check, well_conditioned):
    a = well_conditioned((2, 3, 3), dtype) / 3
    out = check(lambda a: np.linalg.matrix_power(a, n), a)
    np.testing.assert_allclose(out, np.linalg.matrix_power(a, n), rtol=1e-4)


def test_matrix_power_zero_and_errors(well_conditioned):
    a = well_conditioned((3, 3))
    _, g = yota.grad(lambda a: weighted(np.linalg.matrix_power(a, 0) * a), a)
    np.testing.assert_allclose(g[0], np.eye(3))
    with pytest.raises(TypeError, match="exponent must be an integer"):
        yota.grad(lambda a: weighted(np.linalg.matrix_power(a, 1.5)), a)


@pytest.mark.parametrize("shapes", [[(3,), (3, 4), (4, 2)], [(2, 3), (3, 4), (4,)],
                                    [(2, 3), (3, 3), (3, 2), (2, 2)]])
def test_multi_dot(shapes, check, draw):
    arrays = [draw(s) for s in shapes]
    out = check(lambda *xs: np.linalg.multi_dot(list(xs)), *arrays)
    np.testing.assert_allclose(out, np.linalg.multi_dot(arrays))


@pytest.mark.parametrize("fn", [np.linalg.inv, np.linalg.det,
                                lambda a: np.linalg.slogdet(a)[1]])
def test_second_order(fn, well_conditioned, draw):
    """Rules are written with inv and matmul, so they differentiate again."""
    a = well_conditioned((3, 3))
    w = draw((3, 3))

    def first(a):
        return yota.grad(lambda a: weighted(fn(a) * np.ones(np.shape(fn(a)))), a)[1][0]

    check_grads(lambda a: weighted(first(a) * w), a)


def test_second_order_solve(well_conditioned, draw):
    a, b, w = well_conditioned((3, 3)), draw((3,)), draw((3, 3))

    def first(a, b):
        return yota.grad(lambda a: weighted(np.linalg.solve(a, b) ** 2), a)[1][0]

    check_grads(lambda a, b: weighted(first(a, b) * w), a, b)


@pytest.mark.parametrize("sa,sb,axes", [((2, 3, 6), (2, 3), None), ((6, 2, 3), (2, 3), (0,)),
                                        ((4, 4), (4,), None), ((2, 3, 2, 3), (2, 3), (2, 1))])
def test_tensorsolve(sa, sb, axes, check, draw):
    a = draw(sa) + 3 * np.eye(6 if len(sa) > 2 else 4).reshape(sa)
    b = draw(sb)
    out = check(lambda a, b: np.linalg.tensorsolve(a, b, axes), a, b)
    np.testing.assert_allclose(out, np.linalg.tensorsolve(a, b, axes), rtol=1e-8)


@pytest.mark.parametrize("shape,ind", [((4, 6, 8, 3), 2), ((6, 2, 3), 1), ((3, 3), 1)])
def test_tensorinv(shape, ind, check, draw):
    n = int(np.prod(shape[:ind]))
    a = 2 * np.eye(n).reshape(shape) + 0.1 * draw(shape)
    out = check(lambda a: np.linalg.tensorinv(a, ind), a)
    np.testing.assert_allclose(out, np.linalg.tensorinv(a, ind), rtol=1e-8)


def test_tensor_errors(draw):
    with pytest.raises(np.linalg.LinAlgError, match="tensorsolve: a's shape must split"):
        yota.grad(lambda a: weighted(np.linalg.tensorsolve(a, np.ones(2))), draw((2, 3)))
    with pytest.raises(ValueError, match="tensorinv: ind must be a positive int"):
        yota.grad(lambda a: weighted(np.linalg.tensorinv(a, 0)), draw((2, 2)))
    with pytest.raises(np.linalg.LinAlgError, match="must hold as many elements"):
        yota.grad(lambda a: weighted(np.linalg.tensorinv(a, 1)), draw((2, 3)))
