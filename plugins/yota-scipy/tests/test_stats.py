"""scipy.stats densities: values equal SciPy's (plain arrays in, SciPy's shapes out), gradients
w.r.t. every continuous argument checked to second order, in both modes."""
import numpy as np
import pytest
import scipy.stats as ss

import yota
import yota_scipy.stats as st
from yota.testing import check_grads, vdot

# distribution, method, arguments (the continuous ones first), indices of the integer ones.
CASES = [
    ("norm", "logpdf", ([0.3, -1.2, 2.0], 0.5, 1.5), ()),
    ("norm", "pdf", ([0.3, -1.2, 2.0], 0.5, 1.5), ()),
    ("norm", "cdf", ([0.3, -1.2, 2.0], 0.5, 1.5), ()),
    ("norm", "logcdf", ([0.3, -1.2, -9.0], 0.5, 1.5), ()),
    ("norm", "sf", ([0.3, -1.2, 2.0], 0.5, 1.5), ()),
    ("norm", "logsf", ([0.3, -1.2, 9.0], 0.5, 1.5), ()),
    ("t", "logpdf", ([0.3, -1.2, 2.0], 3.5, 0.2, 1.3), ()),
    ("t", "pdf", ([0.3, -1.2, 2.0], 3.5, 0.2, 1.3), ()),
    ("gamma", "logpdf", ([0.6, 1.2, 2.5], 2.5, 0.1, 1.5), ()),
    ("gamma", "pdf", ([0.6, 1.2, 2.5], 2.5, 0.1, 1.5), ()),
    ("beta", "logpdf", ([0.2, 0.5, 0.7], 2.5, 1.5, 0.05, 0.9), ()),
    ("beta", "pdf", ([0.2, 0.5, 0.7], 2.5, 1.5), ()),
    ("poisson", "logpmf", ([0, 2, 5], 2.5), (0,)),
    ("poisson", "pmf", ([0, 2, 5], 2.5), (0,)),
    ("bernoulli", "logpmf", ([0, 1, 1], 0.3), (0,)),
    ("bernoulli", "pmf", ([0, 1, 1], 0.3), (0,)),
    ("binom", "logpmf", ([0, 2, 5], 6, 0.3), (0, 1)),
    ("binom", "pmf", ([0, 2, 5], 6, 0.3), (0, 1)),
    ("poisson", "cdf", ([0, 2, 5], 2.5), (0,)),
    ("poisson", "logcdf", ([0, 2, 5], 2.5), (0,)),
    ("bernoulli", "cdf", ([0, 1, 1], 0.3), (0,)),
    ("binom", "cdf", ([0, 2, 5], 6, 0.3), (0, 1)),
    ("binom", "cdf", ([-1, 6, 8], 6, 0.3), (0, 1)),
]
# CDFs of the continuous distributions: not differentiable in their shape parameters.
CONSTANT_SHAPES = [
    ("t", "cdf", ([0.3, -1.2, 2.0], 3.5, 0.2, 1.3), (1,)),
    ("t", "sf", ([0.3, -1.2, 2.0], 3.5, 0.2, 1.3), (1,)),
    ("t", "logcdf", ([0.3, -1.2, 2.0], 3.5, 0.2, 1.3), (1,)),
    ("gamma", "cdf", ([0.6, 1.2, 2.5], 2.5, 0.1, 1.5), (1,)),
    ("gamma", "sf", ([0.6, 1.2, 2.5], 2.5, 0.1, 1.5), (1,)),
    ("beta", "cdf", ([0.2, 0.5, 0.7], 2.5, 1.5, 0.05, 0.9), (1, 2)),
]


def _arrays(args, integer):
    return [np.array(a, dtype=int if i in integer else float) for i, a in enumerate(args)]


@pytest.mark.parametrize("dist,method,args,integer", CASES,
                         ids=[f"{c[0]}.{c[1]}" for c in CASES])
def test_values_and_gradients(dist, method, args, integer):
    ours, theirs = getattr(getattr(st, dist), method), getattr(getattr(ss, dist), method)
    args = _arrays(args, integer)
    np.testing.assert_allclose(ours(*args), theirs(*args), rtol=1e-10)
    w = np.array([0.7, -1.3, 0.4])
    argnums = tuple(i for i in range(len(args)) if i not in integer)
    check_grads(lambda *a: vdot(ours(*a), w), *args, order=2, argnums=argnums)


@pytest.mark.parametrize("dist,method,args,shapes", CONSTANT_SHAPES,
                         ids=[f"{c[0]}.{c[1]}" for c in CONSTANT_SHAPES])
def test_cdfs_in_x_loc_scale(dist, method, args, shapes):
    ours, theirs = getattr(getattr(st, dist), method), getattr(getattr(ss, dist), method)
    args = _arrays(args, ())
    np.testing.assert_allclose(ours(*args), theirs(*args), rtol=1e-10)
    w = np.array([0.7, -1.3, 0.4])
    free = [i for i in range(len(args)) if i not in shapes]

    def with_constant_shapes(*a):
        full = list(args)
        for i, value in zip(free, a):
            full[i] = value
        return vdot(ours(*full), w)

    check_grads(with_constant_shapes, *[args[i] for i in free], order=2)
    with pytest.raises(yota.NoRuleError, match=r"with respect to .* is not implemented"):
        yota.grad(lambda *a: vdot(ours(*a), w), *args, argnums=shapes[:1])


def test_float32_and_broadcasting():
    x = np.linspace(-1.0, 1.0, 6, dtype=np.float32).reshape(2, 3)
    loc = np.array([0.1, 0.2, -0.3], dtype=np.float32)
    scale = np.array([[1.5], [0.7]], dtype=np.float32)
    out = st.norm.logpdf(x, loc, scale)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, ss.norm.logpdf(x, loc, scale), rtol=1e-5)
    check_grads(lambda x, loc, scale: vdot(st.norm.logpdf(x, loc, scale), np.ones((2, 3))),
                x, loc, scale)


def test_outside_the_support_is_minus_infinity():
    np.testing.assert_array_equal(st.gamma.logpdf(np.array([-1.0]), 2.0), [-np.inf])
    np.testing.assert_array_equal(st.beta.logpdf(np.array([1.5]), 2.0, 2.0), [-np.inf])
    np.testing.assert_array_equal(st.poisson.logpmf(np.array([-1, 2]), 2.0)[0], -np.inf)
    np.testing.assert_array_equal(st.bernoulli.logpmf(np.array([2]), 0.5), [-np.inf])
    np.testing.assert_array_equal(st.binom.logpmf(np.array([7]), 6, 0.5), [-np.inf])


def test_dirichlet(rng):
    alpha = np.array([1.5, 2.0, 3.5])
    x = np.array([0.2, 0.3, 0.5])
    assert st.dirichlet.logpdf(x, alpha) == pytest.approx(ss.dirichlet.logpdf(x, alpha))
    assert st.dirichlet.pdf(x, alpha) == pytest.approx(ss.dirichlet.pdf(x, alpha))
    check_grads(lambda x, alpha: st.dirichlet.logpdf(x, alpha), x, alpha, order=2)
    xs = rng.dirichlet(alpha, size=4).T                        # K by N points
    np.testing.assert_allclose(st.dirichlet.logpdf(xs, alpha), ss.dirichlet.logpdf(xs, alpha))
    check_grads(lambda alpha: vdot(st.dirichlet.logpdf(xs, alpha), np.arange(4.0)), alpha,
                order=2)


def _spd(rng, d):
    b = rng.normal(size=(d, d))
    return b @ b.T + d * np.eye(d)


@pytest.mark.parametrize("points", [(3,), (4, 3), (2, 2, 3)])
def test_multivariate_normal(points, rng):
    x, mean, cov = rng.normal(size=points), rng.normal(size=3), _spd(rng, 3)
    for method in ("logpdf", "pdf"):
        ours = getattr(st.multivariate_normal, method)
        want = getattr(ss.multivariate_normal, method)(x, mean, cov)
        np.testing.assert_allclose(ours(x, mean, cov), want, rtol=1e-10)
        assert np.shape(ours(x, mean, cov)) == np.shape(want)
    w = rng.normal(size=np.shape(ss.multivariate_normal.logpdf(x, mean, cov)))

    def loss(x, mean, b):
        return vdot(st.multivariate_normal.logpdf(x, mean, b @ b.T + 3 * np.eye(3)), w)

    check_grads(loss, x, mean, rng.normal(size=(3, 3)), order=2 if len(points) == 1 else 1)


def test_multivariate_normal_diagonal_and_scalar_covariances(rng):
    x, mean, var = rng.normal(size=(4, 3)), rng.normal(size=3), rng.uniform(0.5, 2.0, size=3)
    for cov in (var, 1.7):
        np.testing.assert_allclose(st.multivariate_normal.logpdf(x, mean, cov),
                                   ss.multivariate_normal.logpdf(x, mean, cov), rtol=1e-10)
    check_grads(lambda var: vdot(st.multivariate_normal.logpdf(x, mean, var), np.ones(4)), var,
                order=2)
    flat = rng.normal(size=5)    # one-dimensional points given as a flat array
    np.testing.assert_allclose(st.multivariate_normal.logpdf(flat, 0.5, 2.0),
                               ss.multivariate_normal.logpdf(flat, 0.5, 2.0))


def test_a_fit_by_gradient_descent():
    """What ported programs do: maximum likelihood by following yota's gradient."""
    data = np.array([1.2, 0.8, 1.9, 1.4, 1.1])
    params = np.array([0.0, 0.0])                 # mean, log scale

    def nll(p):
        return -np.sum(st.norm.logpdf(data, p[0], np.exp(p[1])))

    for _ in range(300):
        _, g = yota.grad(nll, params)
        params = params - 0.05 * g[0]
    assert params[0] == pytest.approx(data.mean(), abs=1e-4)
    assert np.exp(params[1]) == pytest.approx(data.std(), abs=1e-3)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("dist,params", [
    ("t", (3.5, 0.2, 1.3)), ("gamma", (2.5, 0.1, 1.5)), ("beta", (2.5, 1.5, 0.05, 0.9))])
def test_broadcasting_parameters(dist, params, dtype, rng):
    """Points (2, 1) against a row of first shape parameters (3,): SciPy's broadcasting."""
    x = rng.uniform(0.3, 0.7, size=(2, 1)).astype(dtype)
    first = (params[0] * np.array([0.8, 1.0, 1.3])).astype(dtype)
    args = (x, first) + tuple(np.asarray(p, dtype) for p in params[1:])
    ours, theirs = getattr(st, dist).logpdf, getattr(ss, dist).logpdf
    out = ours(*args)
    assert out.shape == (2, 3) and out.dtype == dtype
    np.testing.assert_allclose(out, theirs(*args), rtol=1e-5)
    w = rng.normal(size=(2, 3))
    check_grads(lambda *a: vdot(ours(*a), w), *args)
