"""pinv, lstsq, matrix_rank and cond: full-rank matrices of every shape, and rank-deficient ones
built from thin factors (constant rank under every perturbation of the factors)."""
import numpy as np
import pytest

import yota
from yota.testing import check_grads

DTYPES = [np.float64, np.float32]


def weighted(y):
    return np.reshape(y, (-1,)) @ np.ones(np.size(y))


# --- pinv ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4), (2, 3, 2), (1, 1)])
def test_pinv(shape, dtype, check, draw):
    a = draw(shape, dtype)
    out = check(np.linalg.pinv, a)
    np.testing.assert_allclose(out, np.linalg.pinv(a), rtol=1e-4)


@pytest.mark.parametrize("sb,sc", [((4, 2), (2, 3)), ((3, 1), (1, 3)), ((2, 4, 2), (2, 2, 3))])
def test_pinv_of_a_rank_deficient_product(sb, sc, check, draw):
    b, c = draw(sb), draw(sc)
    check(lambda b, c: np.linalg.pinv(b @ c), b, c)


def test_pinv_options(check, draw):
    a = draw((2, 3, 3))
    check(lambda a: np.linalg.pinv(a, hermitian=True), a)     # reads the lower triangle
    check(lambda a: np.linalg.pinv(a, 1e-10), a)
    check(lambda a: np.linalg.pinv(a, rtol=1e-8), a)
    with pytest.raises(np.linalg.LinAlgError, match="pinv needs square matrices"):
        yota.grad(lambda a: weighted(np.linalg.pinv(a, hermitian=True)), draw((2, 3)))


# --- lstsq ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb", [((5, 3), (5,)), ((5, 3), (5, 2)), ((3, 3), (3, 2)),
                                   ((2, 4), (2,)), ((2, 4), (2, 3))])
def test_lstsq_solution(sa, sb, dtype, check, draw):
    """Overdetermined (least squares), square, and underdetermined (minimum norm)."""
    a, b = draw(sa, dtype), draw(sb, dtype)
    out = check(lambda a, b: np.linalg.lstsq(a, b)[0], a, b)
    np.testing.assert_allclose(out, np.linalg.lstsq(a, b)[0], rtol=1e-4)


@pytest.mark.parametrize("sb", [(5,), (5, 2)])
def test_lstsq_residuals_and_singular_values(sb, check, draw):
    a, b = draw((5, 3)), draw(sb)
    res = check(lambda a, b: np.linalg.lstsq(a, b)[1], a, b)
    np.testing.assert_allclose(res, np.linalg.lstsq(a, b)[1])
    check(lambda a, b: np.linalg.lstsq(a, b)[3], a, b)
    check(lambda a, b: np.linalg.lstsq(a, b, rcond=1e-6)[0], a, b)


def test_lstsq_returns_numpy_tuple(draw):
    a, b = draw((4, 4)), draw((4,))
    seen = {}

    def f(a):
        out = np.linalg.lstsq(a, b)
        seen["out"] = out
        x, res, rank, s = out
        return weighted(x) + weighted(res) + weighted(s) * float(rank)

    _, g = yota.grad(f, a, dynamic=True)
    want = np.linalg.lstsq(a, b)
    assert type(seen["out"]) is tuple and len(seen["out"]) == 4
    assert seen["out"][1].shape == want[1].shape == (0,)      # square: no residuals
    assert int(seen["out"][2]) == want[2] == 4
    assert np.all(np.isfinite(g[0]))


def test_lstsq_rank_deficient(check, draw):
    """a = B C has rank 2 < 3 columns: the minimum-norm solution, and no residuals."""
    b_, c_, rhs = draw((5, 2)), draw((2, 3)), draw((5, 2))
    check(lambda b_, c_, rhs: np.linalg.lstsq(b_ @ c_, rhs)[0], b_, c_, rhs)
    x, res, rank, s = np.linalg.lstsq(b_ @ c_, rhs)
    assert rank == 2 and res.shape == (0,)


def test_lstsq_second_order(draw):
    a, b = draw((5, 3)), draw((5,))
    check_grads(lambda a, b: weighted(np.linalg.lstsq(a, b)[0] ** 2), a, b, order=2)
    check_grads(lambda a, b: weighted(np.linalg.lstsq(a, b)[1]), a, b, order=2)


def test_lstsq_errors(draw):
    with pytest.raises(np.linalg.LinAlgError, match="lstsq needs a 2-D a and a 1-D or 2-D b"):
        yota.grad(lambda a: weighted(np.linalg.lstsq(a, np.ones((2, 3)))[0]), draw((2, 3, 2)))
    with pytest.raises(yota.InputError, match="lstsq of a complex matrix"):
        yota.grad(lambda a: weighted(np.abs(np.linalg.lstsq(a * 1j, np.ones(3))[0])),
                  draw((3, 2)))
    with pytest.raises(yota.InputError, match="lstsq of a complex matrix"):   # a complex b
        yota.grad(lambda b: weighted(np.abs(np.linalg.lstsq(np.eye(3), b * 1j)[0])), draw((3,)))


# --- matrix_rank and cond ------------------------------------------------------------------------
def test_matrix_rank_has_no_gradient(draw):
    a = draw((4, 2)) @ draw((2, 3))
    _, g = yota.grad(lambda a: weighted(a) * np.linalg.matrix_rank(a), a)
    np.testing.assert_allclose(g[0], 2.0)
    a = draw((2, 3, 3))
    _, g = yota.grad(lambda a: weighted(np.linalg.matrix_rank(a, hermitian=True)[:, None, None]
                                        * a), a)
    np.testing.assert_allclose(g[0], 3.0)


@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", 1, -1, np.inf, -np.inf])
@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)])
def test_cond(p, shape, check, draw):
    a = draw(shape) + 3 * np.eye(3)
    out = check(lambda a: np.linalg.cond(a, p), a)
    np.testing.assert_allclose(out, np.linalg.cond(a, p), rtol=1e-10)


def test_cond_of_a_rectangular_matrix(check, draw):
    check(np.linalg.cond, draw((4, 2)))
    check(lambda a: np.linalg.cond(a, -2), draw((2, 4)))
