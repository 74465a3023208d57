"""scipy.special: every ufunc through SciPy's own name (NumPy's protocol), the Python functions
through yota_scipy.special, checked against finite differences to second order in static and
dynamic mode, over broadcasting shapes and float32/float64 (yota.strategies)."""
import numpy as np
import pytest
import scipy.special as sc
from hypothesis import given, settings

import yota
import yota_scipy.special as ys_special
from yota import strategies as ys
from yota.testing import check_grads, check_primitive, vdot

KIT = settings(max_examples=4, deadline=None)

# SciPy's ufunc -> domain (low, high) per argument, away from poles and branch points.
UFUNCS = {
    "gammaln": (sc.gammaln, [0.5], [4.0]),
    "digamma": (sc.digamma, [0.5], [4.0]),
    "psi": (sc.psi, [0.5], [4.0]),
    "gamma": (sc.gamma, [0.5], [3.0]),
    "betaln": (sc.betaln, [0.5, 0.5], [3.0, 3.0]),
    "erf": (sc.erf, [-2.0], [2.0]),
    "erfc": (sc.erfc, [-2.0], [2.0]),
    "erfinv": (sc.erfinv, [-0.8], [0.8]),
    "expit": (sc.expit, [-4.0], [4.0]),
    "logit": (sc.logit, [0.1], [0.9]),
    "ndtr": (sc.ndtr, [-3.0], [3.0]),
    "log_ndtr": (sc.log_ndtr, [-6.0], [3.0]),
    "xlogy": (sc.xlogy, [-2.0, 0.5], [2.0, 3.0]),
    "xlog1py": (sc.xlog1py, [-2.0, -0.5], [2.0, 3.0]),
    "i0": (sc.i0, [-2.0], [2.0]),
    "i1": (sc.i1, [-2.0], [2.0]),
    "iv": (lambda x: sc.iv(1.5, x), [0.2], [3.0]),
    "polygamma": (lambda x: ys_special.polygamma(1, x), [0.5], [4.0]),
}


@pytest.mark.parametrize("name", sorted(UFUNCS))
def test_ufuncs_to_second_order(name):
    fn, low, high = UFUNCS[name]

    @KIT
    @given(ys.elementwise_args(nargs=len(low), low=low, high=high))
    def check(args):
        check_primitive(fn, *args, order=2)

    check()


def test_scipy_ufuncs_work_on_tracked_values_directly():
    """User code with no yota import: SciPy's ufuncs reach the pack through NumPy's protocol."""
    def log_beta(a, b):
        return sc.gammaln(a) + sc.gammaln(b) - sc.gammaln(a + b) + sc.xlogy(a, b)

    value, g = yota.grad(log_beta, 1.5, 2.5)
    assert value == pytest.approx(log_beta(1.5, 2.5))
    assert g[0] == pytest.approx(sc.digamma(1.5) - sc.digamma(4.0) + np.log(2.5))
    assert g[1] == pytest.approx(sc.digamma(2.5) - sc.digamma(4.0) + 1.5 / 2.5)


def test_i1_derivative_is_finite_at_zero():
    _, g = yota.grad(lambda x: sc.i1(x), 0.0)
    assert g[0] == pytest.approx(0.5)


def test_log_ndtr_far_in_the_left_tail():
    """pdf/cdf as one exponent: no 0/0 where both underflow."""
    _, g = yota.grad(lambda x: sc.log_ndtr(x), -40.0)
    assert np.isfinite(g[0]) and g[0] == pytest.approx(40.0, rel=1e-3)


def test_float32_stays_float32():
    x = np.linspace(0.5, 2.0, 4).astype(np.float32)
    _, g = yota.grad(lambda x: vdot(sc.gammaln(x), np.ones(4)), x)
    assert g[0].dtype == np.float32
    np.testing.assert_allclose(g[0], sc.digamma(x.astype(float)), rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
def test_logsumexp(axis, dtype, rng):
    a = rng.normal(size=(2, 3)).astype(dtype)
    b = rng.uniform(0.5, 2.0, size=(2, 3)).astype(dtype)
    for keepdims in (False, True):
        got = ys_special.logsumexp(a, axis=axis, b=b, keepdims=keepdims)
        want = sc.logsumexp(a, axis=axis, b=b, keepdims=keepdims)
        np.testing.assert_allclose(got, want, rtol=1e-5)
        assert np.shape(got) == np.shape(want)
    w = rng.normal(size=np.shape(sc.logsumexp(a, axis=axis)))
    check_grads(lambda a, b: vdot(ys_special.logsumexp(a, axis=axis, b=b), w), a, b, order=2)


def test_logsumexp_is_stable_and_has_return_sign(rng):
    a = np.array([1000.0, 1000.0, -np.inf])
    assert ys_special.logsumexp(a) == pytest.approx(1000.0 + np.log(2.0))
    _, g = yota.grad(lambda a: ys_special.logsumexp(a), a)
    np.testing.assert_allclose(g[0], [0.5, 0.5, 0.0])
    a, b = rng.normal(size=4), np.array([1.0, -2.0, 0.5, -1.0])
    got, sign = ys_special.logsumexp(a, b=b, return_sign=True)
    want, want_sign = sc.logsumexp(a, b=b, return_sign=True)
    assert got == pytest.approx(want) and sign == want_sign
    check_grads(lambda a: ys_special.logsumexp(a, b=b, return_sign=True)[0], a, order=2)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [None, 0, -1])
def test_softmaxes(name, axis, rng):
    ours, theirs = getattr(ys_special, name), getattr(sc, name)
    x = rng.normal(size=(3, 4))
    np.testing.assert_allclose(ours(x, axis=axis), theirs(x, axis=axis), rtol=1e-12)
    w = rng.normal(size=(3, 4))
    check_grads(lambda x: vdot(ours(x, axis=axis), w), x, order=2)


@pytest.mark.parametrize("d", [1, 3])
def test_multigammaln(d, rng):
    a = rng.uniform(2.0, 4.0, size=(3,))
    np.testing.assert_allclose(ys_special.multigammaln(a, d), sc.multigammaln(a, d))
    check_grads(lambda a: vdot(ys_special.multigammaln(a, d), np.ones(3)), a, order=2)


def test_third_order_through_the_polygamma_chain():
    def d(f):
        return lambda x: yota.grad(f, x, dynamic=True)[1][0]

    assert d(d(d(sc.gammaln)))(1.5) == pytest.approx(sc.polygamma(2, 1.5), rel=1e-12)


def test_the_namespace_mirrors_scipy_special(rng):
    x = rng.uniform(0.5, 2.0, size=3)
    for name in ys_special.__all__:
        assert hasattr(sc, name), name
    for name in ("gammaln", "digamma", "erf", "expit", "i0", "gamma"):
        np.testing.assert_array_equal(getattr(ys_special, name)(x), getattr(sc, name)(x))


# distribution functions: SciPy's ufunc, its arguments, the differentiable argument
CDFS = {
    "gammainc": (sc.gammainc, [2.5, np.array([0.5, 1.5, 3.0])], 1),
    "gammaincc": (sc.gammaincc, [2.5, np.array([0.5, 1.5, 3.0])], 1),
    "betainc": (sc.betainc, [2.5, 1.5, np.array([0.2, 0.5, 0.8])], 2),
    "stdtr": (sc.stdtr, [3.5, np.array([-1.0, 0.2, 2.0])], 1),
    "pdtr": (sc.pdtr, [np.array([0, 2, 5]), np.array([0.5, 2.5, 4.0])], 1),
    "bdtr": (sc.bdtr, [np.array([0, 2, 5, 6]), 6, np.array([0.2, 0.3, 0.6, 0.5])], 2),
}


@pytest.mark.parametrize("name", sorted(CDFS))
def test_distribution_functions(name):
    fn, args, free = CDFS[name]
    w = np.linspace(-1.0, 1.5, np.size(args[free]))

    def weighed(x):
        return vdot(fn(*args[:free], x, *args[free + 1:]), w)

    check_grads(weighed, args[free], order=2)


def test_shape_parameters_of_distribution_functions_refuse_loudly():
    with pytest.raises(yota.NoRuleError, match=r"scipy.special.gammainc with respect to a is "
                                               r"not implemented"):
        yota.grad(lambda a: sc.gammainc(a, 1.5), 2.0)


@pytest.mark.parametrize("dynamic", [True, False])
def test_i1_gradient_is_finite_at_subnormal_x(dynamic):
    """SciPy's iv(2, x) is NaN for subnormal x; I1'(x) = (I0 + I2) / 2 is 1/2 there."""
    x = np.array([5e-324, -1e-310, 0.0, 1e-300, 0.5])
    _, g = yota.grad(lambda x: np.sum(sc.i1(x)), x, dynamic=dynamic)
    expected = 0.5 * (sc.i0(x) + np.where(np.abs(x) < 1e-100, 0.0, sc.iv(2.0, x)))
    np.testing.assert_allclose(g[0], expected, rtol=1e-12)
    assert np.all(np.isfinite(g[0]))
