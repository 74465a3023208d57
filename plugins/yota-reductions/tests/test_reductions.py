"""Gradients of the reductions against finite differences, values against NumPy, and errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import yota
from yota.testing import check_grads
from yota_reductions import logsumexp

REDUCTIONS = {
    "sum": np.sum,
    "mean": np.mean,
    "prod": np.prod,
    "max": np.max,
    "amax": np.amax,
    "min": np.min,
    "amin": np.amin,
    "var": np.var,
    "var_ddof1": lambda x, **kw: np.var(x, ddof=1, **kw),
    "std": np.std,
    "std_ddof1": lambda x, **kw: np.std(x, ddof=1, **kw),
    "logsumexp": logsumexp,
}

SHAPES_AXES = [
    ((5,), None), ((5,), 0), ((5,), -1),
    ((3, 4), None), ((3, 4), 0), ((3, 4), -1), ((3, 4), (0, 1)),
    ((2, 3, 4), 1), ((2, 3, 4), (0, 2)), ((2, 3, 4), (-1, 0)),
    ((1, 4), 0), ((), None),
]


def _data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    # Away from zero and from each other: prod stays well conditioned, max has no ties.
    x = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return np.asarray(x, dtype=dtype)


def _weighted(f, x, seed=1, **kw):
    """loss = sum(f(x) * w) for a fixed random w: the rule must use its incoming gradient."""
    w = np.random.default_rng(seed).standard_normal(np.shape(f(x, **kw)))

    def loss(x):
        return np.sum(f(x, **kw) * w)

    return loss


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape,axis", SHAPES_AXES)
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_gradient_matches_finite_differences(name, shape, axis, keepdims, dtype):
    f = REDUCTIONS[name]
    x = _data(shape, dtype)
    if name.endswith("ddof1") and np.sum(x, axis=axis, keepdims=True).size * 1 >= x.size:
        pytest.skip("one element per output and ddof=1: nothing to divide by")
    check_grads(_weighted(f, x, axis=axis, keepdims=keepdims), x)


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_value_and_dtype_match_numpy(name):
    f = REDUCTIONS[name]
    for dtype in (np.float32, np.float64):
        x = _data((3, 4), dtype)
        value, g = yota.grad(lambda x: f(x, axis=1)[0], x, dynamic=True)
        expected = f(x, axis=1)[0]
        assert np.asarray(value).dtype == expected.dtype == dtype
        assert value == expected
        assert g[0].dtype == dtype


def test_mean_of_float32_stays_float32():
    x = _data((4, 3), np.float32)
    value, g = yota.grad(lambda x: np.mean(x), x, dynamic=True)
    assert np.asarray(value).dtype == np.float32
    np.testing.assert_array_equal(g[0], np.full((4, 3), 1 / 12, np.float32))


def test_broadcast_inputs_reduce_and_sum_back():
    a, b = _data((3, 1), np.float64), _data((4,), np.float64, seed=2)
    w = np.arange(4.0)
    for f in (np.sum, np.mean, np.max, np.prod, np.std, logsumexp):
        check_grads(lambda a, b: np.sum(f(a * b + a, axis=0) * w), a, b)
    check_grads(lambda a, b: np.sum(np.var(a - b, axis=1) * np.arange(3.0)), a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_argument(dtype):
    x = _data((3, 4), dtype)
    for f in (np.sum, np.mean, np.prod, np.var, np.std):
        value, g = check_grads(_weighted(f, x, axis=0, dtype=np.float64), x)
        assert g[0].dtype == dtype
        assert np.asarray(value).dtype == np.float64


# --- methods and ufunc reductions ----------------------------------------------------------
def test_ndarray_methods():
    x = _data((3, 4), np.float64)
    check_grads(lambda x: x.sum(0) @ np.arange(4.0) + x.mean() + x.max(axis=1).sum()
                + x.min() + x.prod(axis=1).sum() + x.var(ddof=1) + x.std(axis=0).sum(), x)


def test_ufunc_reduce_methods():
    x = _data((3, 4), np.float64)
    w = np.arange(4.0)
    # axis defaults to 0 for ufunc.reduce, unlike np.sum
    check_grads(lambda x: np.add.reduce(x) @ w, x)
    check_grads(lambda x: np.add.reduce(x, axis=None, keepdims=True).sum(), x)
    check_grads(lambda x: np.multiply.reduce(x, 1) @ np.arange(3.0), x)
    check_grads(lambda x: np.maximum.reduce(x) @ w + np.minimum.reduce(x, axis=1).sum(), x)
    value, _ = yota.grad(lambda x: np.add.reduce(x)[1], x, dynamic=True)
    assert value == np.add.reduce(x)[1]


# --- max and min with ties --------------------------------------------------------------------
def test_max_ties_share_the_gradient_equally():
    x = np.array([1.0, 3.0, 3.0, 2.0, 3.0])
    _, g = yota.grad(lambda x: np.max(x) * 6.0, x, dynamic=True)
    np.testing.assert_allclose(g[0], [0, 2, 2, 0, 2])
    _, g = yota.grad(lambda x: np.min(-x) * 6.0, x, dynamic=True)
    np.testing.assert_allclose(g[0], [0, -2, -2, 0, -2])


def test_ties_along_an_axis_with_keepdims():
    x = np.array([[1.0, 1.0, 0.0], [2.0, 5.0, 5.0], [4.0, 4.0, 4.0]], np.float32)
    w = np.array([[1.0], [2.0], [3.0]], np.float32)
    _, g = yota.grad(lambda x: np.sum(np.max(x, axis=1, keepdims=True) * w), x, dynamic=True)
    expected = np.array([[0.5, 0.5, 0], [0, 1, 1], [1, 1, 1]], np.float32)
    np.testing.assert_allclose(g[0], expected)
    assert g[0].dtype == np.float32
    _, g = yota.grad(lambda x: np.sum(np.amin(x, axis=0) * np.arange(1.0, 4.0)), x, dynamic=True)
    np.testing.assert_allclose(g[0], [[1, 2, 3], [0, 0, 0], [0, 0, 0]])


def test_max_with_nan_gives_no_gradient_to_a_wrong_element():
    x = np.array([1.0, np.nan, 2.0])
    value, g = yota.grad(lambda x: np.max(x), x, dynamic=True)
    assert np.isnan(value)
    assert g[0][0] == 0 and g[0][2] == 0


# --- prod with zeros --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_prod_with_zeros_has_exact_gradients(dtype):
    x = np.array([[0.0, 2.0, 3.0, 0.5],     # one zero: gradient only at the zero
                  [0.0, 2.0, 0.0, 4.0],     # two zeros: gradient zero everywhere
                  [1.5, 2.0, 3.0, 0.5],     # no zero
                  [0.0, 0.0, 0.0, 0.0]], dtype)
    w = np.array([1.0, 2.0, 3.0, 4.0], dtype)
    _, g = yota.grad(lambda x: np.sum(np.prod(x, axis=1) * w), x, dynamic=True)
    expected = np.array([[3.0, 0, 0, 0],
                         [0, 0, 0, 0],
                         [3 * 3.0 * 0.5 * 2, 3 * 1.5 * 3.0 * 0.5, 3 * 1.5 * 2 * 0.5, 3 * 9.0],
                         [0, 0, 0, 0]], dtype)
    np.testing.assert_allclose(g[0], expected, rtol=1e-6)
    assert g[0].dtype == dtype
    assert np.all(np.isfinite(g[0]))
    check_grads(lambda x: np.sum(np.prod(x, axis=1) * w), x)
    check_grads(lambda x: np.prod(x[:3, :2]) + np.sum(np.prod(x, axis=0) * w), x)


# --- second derivatives (rules are recorded, so they can be differentiated again) -------------
def _grad_of(f):
    return lambda x: yota.grad(f, x, dynamic=True)[1][0]


@pytest.mark.parametrize("name", ["sum", "mean", "prod", "max", "min", "var_ddof1", "std",
                                  "logsumexp"])
def test_second_derivatives(name):
    f = REDUCTIONS[name]
    x = _data((3, 4), np.float64)
    check_grads(_weighted(lambda x, **kw: f(x, **kw) ** 2, x, axis=0), x, order=2)
    check_grads(_weighted(lambda x, **kw: f(x * x, **kw), x, axis=(0, 1), keepdims=True), x,
                order=2)


def test_second_derivative_of_prod_with_zeros():
    x = np.array([[0.0, 2.0, 3.0, -1.5], [0.0, 0.5, 0.0, 2.0], [1.0, 2.0, 0.5, -1.0]])
    w = np.array([1.0, -2.0, 0.5])
    check_grads(lambda x: np.sum(np.prod(x, axis=1) * w), x, order=2)
    check_grads(lambda x: np.sum(np.prod(x, axis=1) ** 2 * w), x, order=2)
    # the same through a nested grad, by hand
    v = np.random.default_rng(4).standard_normal(x.shape)
    check_grads(lambda x: np.sum(_grad_of(lambda x: np.prod(x[0]) * np.prod(x))(x) * v), x)


def test_third_derivative_of_prod_says_it_is_not_implemented():
    x = np.array([0.5, 2.0, 3.0])
    second = _grad_of(lambda x: np.sum(_grad_of(lambda x: np.prod(x))(x) * x))
    with pytest.raises(yota.NoRuleError, match="third derivatives of numpy.prod are not "
                                                "implemented"):
        yota.grad(lambda x: np.sum(second(x) * x), x, dynamic=True)


# --- logsumexp --------------------------------------------------------------------------------
def test_logsumexp_is_stable():
    x = np.array([[1000.0, 1000.0], [-1000.0, -1000.0], [0.0, -np.inf]])
    expected = np.array([1000 + np.log(2), -1000 + np.log(2), 0.0])
    np.testing.assert_allclose(logsumexp(x, axis=1), expected)
    _, g = yota.grad(lambda x: np.sum(logsumexp(x, axis=1)), x, dynamic=True)
    np.testing.assert_allclose(g[0], [[0.5, 0.5], [0.5, 0.5], [1.0, 0.0]])


def test_logsumexp_of_all_minus_inf_is_minus_inf_with_zero_gradient():
    x = np.array([[-np.inf, -np.inf], [0.0, 1.0]])
    value = logsumexp(x, axis=1)
    assert value[0] == -np.inf
    _, g = yota.grad(lambda x: logsumexp(x, axis=1)[1], x, dynamic=True)
    assert np.all(np.isfinite(g[0]))
    np.testing.assert_allclose(g[0][0], [0.0, 0.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_matches_the_naive_formula_and_keeps_dtype(dtype):
    x = _data((2, 3, 4), dtype)
    for axis in (None, 0, -1, (0, 2)):
        for keepdims in (False, True):
            got = logsumexp(x, axis=axis, keepdims=keepdims)
            naive = np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))
            assert np.shape(got) == np.shape(naive)
            assert got.dtype == dtype
            np.testing.assert_allclose(got, naive, rtol=1e-6 if dtype == np.float32 else 1e-12)
            value, _ = yota.grad(lambda x: np.sum(logsumexp(x, axis, keepdims)), x, dynamic=True)
            np.testing.assert_allclose(value, np.sum(got), rtol=1e-6)


def test_logsumexp_of_integers_is_float():
    assert logsumexp(np.array([0, 0])) == pytest.approx(np.log(2))


# --- where, initial, mean=, correction --------------------------------------------------------
def test_where_and_initial():
    x = _data((3, 4), np.float64)
    mask = np.array([[True, False, True, True], [False, True, True, False],
                     [True, True, True, True]])
    w = np.arange(1.0, 4.0)
    check_grads(lambda x: np.sum(np.sum(x, axis=1, where=mask, initial=2.0) * w), x)
    check_grads(lambda x: np.sum(np.mean(x, axis=1, where=mask) * w), x)
    check_grads(lambda x: np.sum(np.prod(x, axis=1, where=mask, initial=2.0) * w), x)
    check_grads(lambda x: np.sum(np.max(x, axis=1, where=mask, initial=-5.0) * w), x)
    check_grads(lambda x: np.sum(np.min(x, axis=1, initial=-0.7) * w), x)
    check_grads(lambda x: np.sum(np.var(x, axis=1, where=mask, ddof=1) * w), x)
    check_grads(lambda x: np.sum(np.std(x, axis=1, where=mask) * w), x)
    for f, kw in ((np.sum, {"initial": 2.0}), (np.mean, {}), (np.var, {}), (np.std, {}),
                  (np.max, {"initial": -5.0}), (np.prod, {"initial": 2.0})):
        value, _ = yota.grad(lambda x: np.sum(f(x, axis=1, where=mask, **kw) * w), x,
                             dynamic=True)
        np.testing.assert_allclose(value, np.sum(f(x, axis=1, where=mask, **kw) * w))


def test_var_with_a_given_mean_and_correction():
    x = _data((3, 4), np.float64)
    m = np.mean(x, axis=0, keepdims=True)
    check_grads(lambda x: np.sum(np.var(x, axis=0, mean=m) * np.arange(4.0)), x)
    check_grads(lambda x: np.std(x, correction=1), x)
    value, _ = yota.grad(lambda x: np.var(x, correction=1), x, dynamic=True)
    assert value == pytest.approx(np.var(x, ddof=1))


def test_std_of_constant_input_has_zero_gradient():
    x = np.full((2, 3), 1.5)
    _, g = yota.grad(lambda x: np.sum(np.std(x, axis=1)), x, dynamic=True)
    np.testing.assert_array_equal(g[0], np.zeros((2, 3)))


# --- random shapes and axes -------------------------------------------------------------------
@st.composite
def _shape_and_axis(draw):
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=3)))
    ndim = len(shape)
    if ndim == 0 or draw(st.booleans()):
        return shape, None
    axes = draw(st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim,
                         unique_by=lambda a: a % ndim))
    return shape, axes[0] if len(axes) == 1 else tuple(axes)


@settings(max_examples=40, deadline=None)
@given(_shape_and_axis(), st.booleans(), st.sampled_from(["sum", "mean", "max", "std",
                                                          "prod", "logsumexp"]))
def test_random_shapes_and_axes(shape_axis, keepdims, name):
    shape, axis = shape_axis
    x = _data(shape, np.float64, seed=len(shape))
    check_grads(_weighted(REDUCTIONS[name], x, axis=axis, keepdims=keepdims), x)


# --- errors -----------------------------------------------------------------------------------
def test_out_is_refused():
    x = _data((3,), np.float64)
    out = np.zeros(())
    for f in (np.sum, np.mean, np.max, np.min, np.prod, np.var, np.std):
        with pytest.raises(yota.InPlaceError, match=rf"numpy\.\w+\(\.\.\., out=\.\.\.\) writes"):
            yota.grad(lambda x: f(x, out=out), x, dynamic=True)


def test_bad_axes_raise_like_numpy():
    x = _data((3, 4), np.float64)
    with pytest.raises(np.exceptions.AxisError, match="axis 2 is out of bounds"):
        yota.grad(lambda x: np.sum(np.sum(x, axis=2)), x, dynamic=True)
    with pytest.raises(ValueError, match="duplicate value in 'axis'"):
        yota.grad(lambda x: np.sum(np.mean(x, axis=(1, -1))), x, dynamic=True)
    with pytest.raises(np.exceptions.AxisError, match="out of bounds"):
        logsumexp(x, axis=-3)


def test_where_without_initial_for_max_says_what_to_do():
    x = _data((3,), np.float64)
    with pytest.raises(ValueError, match=r"numpy\.max\(\.\.\., where=\.\.\.\) needs initial"):
        yota.grad(lambda x: np.max(x, where=np.array([True, False, True])), x, dynamic=True)


def test_ddof_and_correction_together_are_refused():
    x = _data((3,), np.float64)
    with pytest.raises(ValueError, match="numpy.var: ddof and correction are the same"):
        yota.grad(lambda x: np.var(x, ddof=1, correction=1), x, dynamic=True)


# --- cumsum, nan-ignoring reductions, ptp, average --------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_cumsum(axis, dtype):
    x = _data((3, 4), dtype)
    check_grads(_weighted(np.cumsum, x, axis=axis), x)
    check_grads(lambda x: np.sum(np.cumsum(x, axis=axis) ** 2), x, order=2)
    value, _ = yota.grad(lambda x: np.cumsum(x, axis)[..., -1].sum(), x)
    assert value == np.cumsum(x, axis)[..., -1].sum()
    check_grads(lambda x: np.sum(np.add.accumulate(x) * x), x)
    check_grads(lambda x: np.sum(x.cumsum(dtype=np.float64)), x)


NAN_FUNCS = [np.nansum, np.nanmean, np.nanvar, np.nanstd, np.nanmax, np.nanmin]


@pytest.mark.parametrize("f", NAN_FUNCS, ids=lambda f: f.__name__)
def test_nan_reductions_ignore_nans(f):
    x = _data((3, 4), np.float64)
    check_grads(_weighted(f, x, axis=0), x)   # no nan: the plain reduction
    check_grads(_weighted(f, x, axis=1, keepdims=True), x)
    xn = x.copy()
    xn[0, 1] = xn[1, 3] = np.nan
    w = np.array([1.0, -2.0, 0.5])
    with np.errstate(invalid="ignore"):
        value, g = yota.grad(lambda x: np.sum(f(x, axis=1) * w), xn)
        expected = np.sum(f(xn, axis=1) * w)
    assert value == pytest.approx(expected, rel=1e-12)
    assert np.all(np.isfinite(g[0])) and g[0][0, 1] == 0 and g[0][1, 3] == 0
    # the gradient is that of the reduction over the remaining elements
    g_row = yota.grad(lambda r: f(r) * w[0], np.delete(xn[0], 1))[1][0]
    np.testing.assert_allclose(np.delete(g[0][0], 1), g_row, rtol=1e-12)


def test_all_nan_slices_give_nan_like_numpy():
    x = np.array([[np.nan, np.nan], [1.0, 2.0]])
    for f in (np.nanmax, np.nanmin, np.nanmean):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's "mean of empty slice"
            value, g = yota.grad(lambda x: f(x, axis=1)[0], x)
        assert np.isnan(value)


def test_ptp_and_average():
    x = _data((3, 4), np.float64)
    wts = np.array([0.5, 1.0, 2.0, 0.25])
    check_grads(_weighted(np.ptp, x, axis=1), x)
    check_grads(lambda x: np.ptp(x), x)
    check_grads(_weighted(np.average, x, axis=1, weights=wts), x)
    check_grads(lambda x, w: np.sum(np.average(x, axis=0, weights=w) * np.arange(4.0)), x,
                np.abs(x) + 0.5)
    check_grads(lambda x: np.average(x), x)
    avg, scale = np.average(x, axis=1, weights=wts, returned=True)
    value, _ = yota.grad(lambda x: np.sum(np.average(x, 1, wts, returned=True)[0]), x)
    assert value == pytest.approx(np.sum(avg))
    value, _ = yota.grad(lambda x: np.sum(np.average(x, 1, wts, returned=True)[1] * x[:, 0]), x)
    assert value == pytest.approx(np.sum(scale * x[:, 0]))


def test_average_errors():
    x = _data((3, 4), np.float64)
    with pytest.raises(ZeroDivisionError, match="Weights sum to zero"):
        yota.grad(lambda x: np.sum(np.average(x, axis=1, weights=np.array([1.0, -1, 0, 0]))), x)
    with pytest.raises(ValueError, match=r"numpy\.average: weights of shape \(3,\) differ from "
                                         r"a's shape \(3, 4\)"):
        yota.grad(lambda x: np.sum(np.average(x, axis=1, weights=np.ones(3))), x)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ddof", [0, 1, 2, 3])
def test_var_and_std_with_ddof(ddof, dtype):
    x = _data((3, 5), dtype)
    w = np.random.default_rng(2).standard_normal(5).astype(dtype)
    for f in (np.var, np.std):
        value, g = check_grads(lambda x: np.sum(f(x, axis=0, ddof=ddof) * w) if ddof < 3 else
                               np.sum(f(x, axis=1, ddof=ddof) * w[:3]), x)
        assert g[0].dtype == dtype
        check_grads(lambda x: f(x, ddof=ddof) ** 2, x, order=2)
        # ddof through correction= and the ndarray method agree with NumPy's values
        got, _ = yota.grad(lambda x: np.sum(x.var(axis=1, ddof=ddof)) + f(x, correction=ddof), x)
        assert got == pytest.approx(np.sum(x.var(axis=1, ddof=ddof)) + f(x, correction=ddof),
                                    rel=1e-6 if dtype == np.float32 else 1e-14)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_average_gradient_with_respect_to_the_weights(dtype):
    x = _data((3, 4), dtype)
    wts = (np.abs(_data((3, 4), dtype, seed=3)) + 0.5).astype(dtype)
    r = np.arange(1.0, 4.0, dtype=dtype)
    # full-shape weights, 1-d weights along the axis, over every axis, and returned= scale
    check_grads(lambda x, w: np.sum(np.average(x, axis=1, weights=w) * r), x, wts)
    check_grads(lambda x, w: np.sum(np.average(x, axis=1, weights=w) * r), x, wts[0])
    check_grads(lambda x, w: np.sum(np.average(x, axis=0, weights=w, keepdims=True)), x, wts[:, 0])
    check_grads(lambda x, w: np.average(x, weights=w), x, wts)
    check_grads(lambda x, w: np.sum(np.average(x, 1, w, returned=True)[1] * r), x, wts[0])
    # d average / d w_i = (x_i - average) / sum(w), by hand
    _, g = yota.grad(lambda w: np.average(x[0], weights=w), wts[0])
    expected = (x[0] - np.average(x[0], weights=wts[0])) / np.sum(wts[0])
    np.testing.assert_allclose(g[0], expected, rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert g[0].dtype == dtype
