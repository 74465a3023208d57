"""np.quantile, np.percentile, np.median and their nan-ignoring forms: a gather of the order
statistics each result needs (positions from np.argpartition or np.argsort, which carry no
gradient), then NumPy's own interpolation formula, so values and dtypes are NumPy's.

The gradient goes to the one or two elements a result interpolates between, with weights
``1 - gamma`` and ``gamma`` (the median of an even count: half each). A tracked ``q`` gets its
gradient through gamma for the continuous methods (linear, hazen, weibull, ...); the other
methods are piecewise constant in ``q``, so it is 0 there. Every method NumPy has is supported;
``weights=`` (method 'inverted_cdf') picks one element, which gets the gradient.
"""
from __future__ import annotations

import numpy as np
from yota import Tracked, nondifferentiable

from .axes import kept_shape, normalize_axes
from .numpy_api import _no_out, implements
from .sorting import argpartition_p
from .sums import mean_p

# method -> (alpha, beta) for the continuous methods of Hyndman and Fan (linear: (1, 1))
CONTINUOUS = {"interpolated_inverted_cdf": (0, 1), "hazen": (0.5, 0.5), "weibull": (0, 0),
              "linear": (1, 1), "median_unbiased": (1 / 3.0, 1 / 3.0),
              "normal_unbiased": (3 / 8.0, 3 / 8.0)}
DISCRETE = ("inverted_cdf", "averaged_inverted_cdf", "closest_observation", "lower", "higher",
            "midpoint", "nearest")


# --- where the results are in the sorted input (NumPy's formulas, written once here) ---------
def _boundary(index, take_previous):
    """Discrete methods' integer index: floor(index) where ``take_previous`` else the next one."""
    previous = np.floor(index)
    gamma = index - previous
    res = np.where(take_previous(gamma, index), previous, previous + 1).astype(np.intp)
    return np.where(res < 0, 0, res)


def _virtual_index(method, n, q):
    """NumPy's virtual index: an int array (take that element) or a float array (interpolate)."""
    if method == "linear":
        return (n - 1) * q
    if method in CONTINUOUS:
        alpha, beta = CONTINUOUS[method]
        return n * q + (alpha + q * (1 - alpha - beta)) - 1
    if method == "inverted_cdf":
        return _boundary(n * q - 1, lambda g, _: g == 0)
    if method == "closest_observation":
        return _boundary(n * q - 1 - 0.5, lambda g, i: (g == 0) & (np.floor(i) % 2 == 1))
    if method == "averaged_inverted_cdf":
        return n * q - 1
    if method == "lower":
        return np.floor((n - 1) * q).astype(np.intp)
    if method == "higher":
        return np.ceil((n - 1) * q).astype(np.intp)
    if method == "nearest":
        return np.around((n - 1) * q).astype(np.intp)
    # midpoint
    return 0.5 * (np.floor((n - 1) * q) + np.ceil((n - 1) * q))


def _fix_gamma(method, gamma, index):
    if method == "averaged_inverted_cdf":
        return np.where(gamma == 0, 0.5, 1.0)
    if method == "midpoint":
        return np.where(index % 1 == 0, 0.0, 0.5)
    return gamma


def _dtype(x):
    return x.dtype if type(x) is Tracked else np.result_type(x)


# --- the gather ---------------------------------------------------------------------------------
def _to_last(a, axes):
    """``a`` with the reduced axes moved last and merged into one: shape kept + (n,)."""
    shape = np.shape(a)
    if axes is None:
        return np.reshape(a, (-1,))
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    if kept + axes != tuple(range(len(shape))):
        a = np.transpose(a, kept + axes)
    return np.reshape(a, tuple(shape[i] for i in kept) + (int(np.prod([shape[i] for i in axes])),))


def _gather(m, order, index):
    """The elements of ``m`` at sorted positions ``index`` along the last axis."""
    return np.take_along_axis(m, np.take_along_axis(order, index, axis=-1), axis=-1)


def _ordered(m, *indices):
    """Positions in ``m`` of its order statistics along the last axis: np.argpartition at the
    sorted positions needed when they are known now (O(n)), else a full np.argsort. Nans
    sort last either way."""
    if m.shape[-1] and not any(type(i) is Tracked for i in indices):
        kth = np.unique(np.concatenate([np.ravel(i) for i in indices]))
        return argpartition_p(m, kth, axis=-1)
    return np.argsort(m, axis=-1)


def _lerp(a, b, t, cast=None):
    """NumPy's _lerp: ``a + (b - a) * t``, from ``b``'s side where ``t >= 0.5``. ``cast``: the
    dtype the weights take, as a Python float weight would (NumPy's weak ``q``)."""
    diff = b - a
    t0, t1 = t, 1 - t
    if cast is not None:
        t0, t1 = t0.astype(cast), t1.astype(cast)
    return np.where(t >= 0.5, b - diff * t1, a + diff * t0)


def _as_index(index, ndim):
    """An index array shaped for take_along_axis on an array of ``ndim`` dims (q last)."""
    return np.reshape(index, (1,) * (ndim - np.ndim(index)) + np.shape(index))


def _quantiles_last(m, q, method, weak_q, ignore_nan):
    """Quantiles ``q`` (1-d) of each row of ``m`` along its last axis: shape kept + (len(q),)."""
    count = m.shape[-1]
    n = count
    if ignore_nan:
        n = np.sum(np.logical_not(np.isnan(m)), axis=-1, keepdims=True)
        if _dtype(q).kind == "f":
            n = n.astype(_dtype(q))  # NumPy's n is a Python int: the arithmetic stays in q's dtype
    v = _virtual_index(method, n, q)
    if _dtype(v).kind in "iu":
        # Take the element (NumPy clips nothing here: the methods keep it in range).
        return _gather(m, _ordered(m, v), _as_index(v, m.ndim))
    previous = np.floor(v)
    top = n - 1
    above, below = v >= top, v < 0
    # NumPy marks both neighbours of an index past the end as -1 (the last valid element) and
    # measures gamma from there; before the start, from 0. Between, floor and floor + 1.
    start = np.where(above, -1, np.where(below, 0, previous))
    gamma = _fix_gamma(method, v - start, v)
    if _dtype(gamma) != _dtype(v):
        gamma = gamma.astype(_dtype(v))
    lo = np.where(above, top, np.where(below, 0, previous)).astype(np.intp)
    hi = np.where(above, top, np.where(below, 0, previous + 1)).astype(np.intp)
    cast = None
    if weak_q and not ignore_nan:
        gamma = float(np.reshape(gamma, ()))  # q was a Python number: so is gamma
    elif weak_q and _dtype(m).kind == "f":
        cast = _dtype(m)  # one Python float per slice in NumPy: its value in m's dtype
    order = _ordered(m, lo, hi)
    below_values = _gather(m, order, _as_index(lo, m.ndim))
    above_values = _gather(m, order, _as_index(hi, m.ndim))
    return _lerp(below_values, above_values, gamma if weak_q and not ignore_nan
                 else _as_index(gamma, m.ndim), cast)


@nondifferentiable
def weighted_pick(m, q, weights, *, func):
    """Where, along the last axis of ``m``, is an element equal to NumPy's weighted quantile
    (method 'inverted_cdf' picks one element): kept + (len(q),) positions."""
    res = func(m, q, axis=-1, method="inverted_cdf", weights=weights)
    res = np.moveaxis(np.asarray(res), 0, -1)
    return np.argmax(m[..., None, :] == res[..., None], axis=-1)


def _check_q(q, scale):
    name, top = ("Quantiles", "1") if scale == 1 else ("Percentiles", "100")
    if np.ndim(q) > 2:
        raise ValueError("q must be a scalar or 1d")
    if not bool(np.all(np.logical_and(q >= 0, q <= 1))):
        raise ValueError(f"{name} must be in the range [0, {top}]")


def _quantile(name, a, q, axis, out, method, keepdims, weights, scale, ignore_nan):
    _no_out(name, out)
    if _dtype(a).kind == "c":
        raise TypeError("a must be an array of real numbers")
    if method not in CONTINUOUS and method not in DISCRETE:
        raise ValueError(f"{method!r} is not a valid method. Use one of: "
                         f"{tuple(CONTINUOUS) + DISCRETE}")
    weak_q = type(q) in (int, float)
    q = np.true_divide(q, 100) if scale == 100 else (q if type(q) is Tracked else np.asarray(q))
    _check_q(q, scale)
    ndim = np.ndim(a)
    axes = normalize_axes(axis, ndim)
    m = _to_last(a, axes)
    q_shape = np.shape(q)
    q1 = np.reshape(q, (-1,))
    if weights is not None:
        if method != "inverted_cdf":
            raise ValueError(f"Only method 'inverted_cdf' supports weights. Got: {method}.")
        w = weights
        if np.shape(w) != np.shape(a):
            if axes is None or len(axes) != 1 or np.ndim(w) != 1:
                raise ValueError(f"yota: numpy.{name}: weights of shape {np.shape(w)} must have "
                                 f"a's shape {np.shape(a)}, or be 1-d along the one axis given")
            w = np.reshape(w, tuple(-1 if i == axes[0] else 1 for i in range(ndim)))
            w = np.broadcast_to(w, np.shape(a))
        func = np.nanquantile if ignore_nan else np.quantile
        picks = weighted_pick(m, q1, _to_last(w, axes), func=func)
        r = np.take_along_axis(m, picks, axis=-1)
        if not ignore_nan:
            r = np.where(np.any(np.isnan(m), axis=-1, keepdims=True), np.nan, r)
    else:
        r = _quantiles_last(m, q1, method, weak_q, ignore_nan)
        if not ignore_nan and m.shape[-1] and _dtype(m).kind == "f":
            # NumPy: a slice holding a nan gives nan (nans sort last, past every index).
            r = np.where(np.any(np.isnan(m), axis=-1, keepdims=True), np.nan, r)
    kept = np.shape(r)[:-1]
    r = np.moveaxis(r, -1, 0)
    out_shape = kept_shape(np.shape(a), axes) if keepdims else kept
    return np.reshape(r, q_shape + tuple(out_shape))


@implements(np.quantile)
def quantile_(a, q, axis=None, out=None, overwrite_input=False, method="linear",
              keepdims=False, *, weights=None):
    return _quantile("quantile", a, q, axis, out, method, keepdims, weights, 1, False)


@implements(np.percentile)
def percentile_(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                keepdims=False, *, weights=None):
    return _quantile("percentile", a, q, axis, out, method, keepdims, weights, 100, False)


@implements(np.nanquantile)
def nanquantile_(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                 keepdims=False, *, weights=None):
    return _quantile("nanquantile", a, q, axis, out, method, keepdims, weights, 1, True)


@implements(np.nanpercentile)
def nanpercentile_(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                   keepdims=False, *, weights=None):
    return _quantile("nanpercentile", a, q, axis, out, method, keepdims, weights, 100, True)


# --- medians: the mean of the middle one or two elements, as NumPy computes it ----------------
def _median(name, a, axis, out, keepdims, ignore_nan):
    _no_out(name, out)
    axes = normalize_axes(axis, np.ndim(a))
    m = _to_last(a, axes)
    count = m.shape[-1]
    if ignore_nan and count:
        order = np.argsort(m, axis=-1)
        # np.nanmedian: (lo + hi) / 2 over the valid elements; lo == hi for an odd count.
        n = np.sum(np.logical_not(np.isnan(m)), axis=-1, keepdims=True)
        lo = _gather(m, order, np.where(n % 2 == 1, n // 2, n // 2 - 1))
        r = (lo + _gather(m, order, n // 2)) / 2
        r = np.reshape(r, np.shape(r)[:-1])
    elif count == 0:
        r = mean_p(m, axis=(m.ndim - 1,))  # nan, with NumPy's warning
    else:
        h = count // 2
        middle = np.arange(h, h + 1) if count % 2 else np.arange(h - 1, h + 1)
        r = mean_p(_gather(m, _ordered(m, middle), _as_index(middle, m.ndim)),
                   axis=(m.ndim - 1,))
        if count and _dtype(m).kind == "f":
            r = np.where(np.any(np.isnan(m), axis=-1), np.nan, r)
    if keepdims:
        r = np.reshape(r, kept_shape(np.shape(a), axes))
    return r


@implements(np.median)
def median_(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    return _median("median", a, axis, out, keepdims, False)


@implements(np.nanmedian)
def nanmedian_(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    return _median("nanmedian", a, axis, out, keepdims, True)

