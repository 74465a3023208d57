"""scipy.linalg: values equal SciPy's, gradients checked to second order (solve_triangular's
triangle, Cholesky through a symmetric parametrisation, the matrix functions' block rule)."""
import numpy as np
import pytest
import scipy.linalg as sl

import yota_scipy.linalg as yl
from yota.testing import check_grads, vdot


def _lower(rng, n, dtype=np.float64):
    return (np.tril(rng.normal(size=(n, n))) + 3 * np.eye(n)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("trans", [0, 1, "T"])
@pytest.mark.parametrize("rhs", [(3,), (3, 2)])
def test_solve_triangular(rhs, trans, lower, dtype, rng):
    a = _lower(rng, 3, dtype)
    a = a if lower else a.T.copy()
    a = a + np.triu(np.ones((3, 3), dtype), 1) * (1 if lower else 0)   # junk SciPy never reads
    b = rng.normal(size=rhs).astype(dtype)
    got = yl.solve_triangular(a, b, trans=trans, lower=lower)
    np.testing.assert_allclose(got, sl.solve_triangular(a, b, trans=trans, lower=lower),
                               rtol=1e-5)
    w = rng.normal(size=rhs)
    check_grads(lambda a, b: vdot(yl.solve_triangular(a, b, trans=trans, lower=lower), w),
                a, b, order=2 if dtype == np.float64 and trans != "T" else 1)


def test_solve_triangular_unit_diagonal(rng):
    a, b = _lower(rng, 3), rng.normal(size=3)
    got = yl.solve_triangular(a, b, lower=True, unit_diagonal=True)
    np.testing.assert_allclose(got, sl.solve_triangular(a, b, lower=True, unit_diagonal=True))
    check_grads(lambda a: vdot(yl.solve_triangular(a, b, lower=True, unit_diagonal=True),
                               np.ones(3)), a, order=2)


def _sym(b):
    return b + b.T + 6 * np.eye(b.shape[-1])


@pytest.mark.parametrize("lower", [False, True])
def test_cholesky_cho_factor_cho_solve(lower, rng):
    b, rhs = rng.normal(size=(3, 3)), rng.normal(size=(3, 2))
    a = _sym(b)
    np.testing.assert_allclose(yl.cholesky(a, lower=lower), sl.cholesky(a, lower=lower))
    c, low = yl.cho_factor(a, lower=lower)
    assert low is lower
    np.testing.assert_allclose(yl.cho_solve((c, low), rhs), sl.cho_solve(sl.cho_factor(a), rhs))
    w = rng.normal(size=(3, 3))
    check_grads(lambda b: vdot(yl.cholesky(_sym(b), lower=lower), w), b, order=2)
    w = rng.normal(size=(3, 2))
    check_grads(lambda b, rhs: vdot(yl.cho_solve(yl.cho_factor(_sym(b), lower=lower), rhs), w),
                b, rhs, order=2)


def _near_identity(rng, n=3):
    return np.eye(n) + 0.3 * rng.normal(size=(n, n))


@pytest.mark.parametrize("name", ["expm", "logm", "sqrtm"])
def test_matrix_functions(name, rng):
    """Second order at 2 by 2: the rule of the rule is the function at 8 by 8 (logm is slow)."""
    ours, theirs = getattr(yl, name), getattr(sl, name)
    for n, order in ((3, 1), (2, 2)):
        a = _near_identity(rng, n) if name != "expm" else rng.normal(size=(n, n))
        got = ours(a)
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, np.real(theirs(a)), rtol=1e-8, atol=1e-10)
        w = rng.normal(size=(n, n))
        check_grads(lambda a: vdot(ours(a), w), a, order=order)


def test_expm_float32(rng):
    a = rng.normal(size=(2, 2)).astype(np.float32)
    assert yl.expm(a).dtype == np.float32
    check_grads(lambda a: vdot(yl.expm(a), np.ones((2, 2))), a)


def test_logm_inverts_expm(rng):
    a = 0.3 * rng.normal(size=(3, 3))
    check_grads(lambda a: vdot(yl.logm(yl.expm(a)), np.ones((3, 3))), a, modes=("dynamic",))
    np.testing.assert_allclose(yl.logm(yl.expm(a)), a, atol=1e-10)
