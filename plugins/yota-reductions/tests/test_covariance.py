"""np.cov and np.corrcoef: NumPy's values for every option, gradients against finite differences
(data, y and aweights), and NumPy's errors."""
from __future__ import annotations

import numpy as np
import pytest

import yota
from yota.testing import check_grads, check_primitive
from yota_reductions.covariance import gram

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 6))
Y = RNG.standard_normal((2, 6))
FW = np.array([1, 2, 1, 3, 1, 2])
AW = RNG.uniform(0.5, 2.0, 6)

OPTIONS = [{}, {"rowvar": False}, {"bias": True}, {"ddof": 2}, {"ddof": 0}, {"fweights": FW},
           {"aweights": AW}, {"fweights": FW, "aweights": AW}, {"aweights": AW, "ddof": 0},
           {"fweights": FW, "ddof": 0}, {"dtype": np.float32}]


def _traced(f, *args):
    out = []
    yota.grad(lambda *a: (out.append(f(*a)), np.sum(a[0]) * 0.0)[1], *args, argnums=0, dynamic=True)
    return out[0]._value


def _args(kw, with_y):
    if kw.get("rowvar") is False:
        return (X.T, Y.T) if with_y else (X.T,)
    return (X, Y) if with_y else (X,)


@pytest.mark.parametrize("with_y", [False, True])
@pytest.mark.parametrize("kw", OPTIONS, ids=lambda kw: ",".join(kw) or "default")
def test_values_are_numpy_s(kw, with_y):
    for args in (_args(kw, with_y), (X[0],) + ((Y[1],) if with_y else ())):
        for f, options in ((np.cov, kw),
                           (np.corrcoef, {k: v for k, v in kw.items() if k in ("rowvar",
                                                                               "dtype")})):
            expected = f(*args, **options)
            got = _traced(lambda *a: f(*a, **options), *args)
            assert got.dtype == expected.dtype and got.shape == expected.shape
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("kw", [k for k in OPTIONS if "dtype" not in k],
                         ids=lambda kw: ",".join(kw) or "default")
def test_gradients(kw):
    w3, w5 = RNG.standard_normal((3, 3)), RNG.standard_normal((5, 5))
    args = _args(kw, True)
    check_grads(lambda x: np.sum(np.cov(x, **kw) * w3), args[0])
    check_grads(lambda x, y: np.sum(np.cov(x, y, **kw) * w5), *args)
    rowvar = kw.get("rowvar", True)
    check_grads(lambda x, y: np.sum(np.corrcoef(x, y, rowvar=rowvar) * w5), *args)


def test_gradients_float32_1d_second_order_and_weights():
    w3 = RNG.standard_normal((3, 3))
    _, g = check_grads(lambda x: np.sum(np.cov(x) * w3), X.astype(np.float32))
    assert g[0].dtype == np.float32
    check_grads(lambda x: np.cov(x[0]) + np.cov(x[1], x[2])[0, 1], X)
    check_grads(lambda x: np.sum(np.cov(x) ** 2 * w3), X, order=2)
    check_grads(lambda x: np.sum(np.corrcoef(x) * w3), X, order=2)
    # a tracked aweights gets its gradient (with and without ddof)
    check_grads(lambda x, a: np.sum(np.cov(x, aweights=a) * w3), X, AW)
    check_grads(lambda x, a: np.sum(np.cov(x, aweights=a, fweights=FW, ddof=0) * w3), X, AW)


def test_corrcoef_of_one_variable_and_the_diagonal():
    value, g = yota.grad(lambda x: np.corrcoef(x[0]), X)
    assert value == 1.0 and np.all(g[0] == 0)
    _, g = yota.grad(lambda x: np.trace(np.corrcoef(x)), X)
    np.testing.assert_allclose(g[0], 0.0, atol=1e-14)   # the diagonal is 1 whatever x is


def test_gram_primitive():
    check_primitive(gram, X, Y, order=2)
    check_primitive(gram, X, X)


def test_errors_like_numpy():
    with pytest.raises(ValueError, match="ddof must be integer"):
        yota.grad(lambda x: np.sum(np.cov(x, ddof=1.5)), X)
    with pytest.raises(ValueError, match="m has more than 2 dimensions"):
        yota.grad(lambda x: np.sum(np.cov(x[None])), X)
    with pytest.raises(TypeError, match="fweights must be integer"):
        yota.grad(lambda x: np.sum(np.cov(x, fweights=FW + 0.5)), X)
    with pytest.raises(RuntimeError, match="incompatible numbers of samples and aweights"):
        yota.grad(lambda x: np.sum(np.cov(x, aweights=AW[:3])), X)
    with pytest.raises(ValueError, match="aweights cannot be negative"):
        yota.grad(lambda x: np.sum(np.cov(x, aweights=-AW)), X)
    with pytest.warns(RuntimeWarning, match="Degrees of freedom <= 0"), \
            np.errstate(divide="ignore", invalid="ignore"):
        value, _ = yota.grad(lambda x: np.sum(np.cov(x[:, :1])), X)
    assert np.isnan(value)
