"""NumPy's signatures in front of the primitives: np.sum, np.mean, np.max... on tracked values.

Each function normalises ``axis`` (so the tape holds one spelling) and hands the common case to a
single primitive. The rarer keywords are compositions of primitives: ``initial`` is combined with
the result, ``where`` masks the input first (np.where), ``mean=`` of np.var is used as given.
The nan-ignoring variants, np.ptp and np.average are compositions too. ``out=`` would write in
place and is refused.
"""
from __future__ import annotations

import operator

import numpy as np
from yota import InPlaceError, Tracked

from .axes import count, normalize_axes
from .extrema import max_p, min_p
from .products import prod_p
from .sums import cumsum_p, mean_p, std_p, sum_p, var_p

IMPLEMENTS = {}


def implements(*keys):
    def register(fn):
        for key in keys:
            IMPLEMENTS[key] = fn
        return fn

    return register


def _axes(a, axis):
    return normalize_axes(axis, a.ndim if type(a) is Tracked else np.ndim(a))


def _no_out(name, out):
    if out is not None and not (type(out) is tuple and all(o is None for o in out)):
        raise InPlaceError(
            f"yota: numpy.{name}(..., out=...) writes into an array in place, which cannot be "
            "recorded; drop out= and use the returned value"
        )


def _masked(where):
    """True when a ``where=`` mask was given (not the default ``True``)."""
    return where is not None and where is not True


def _kw(axes, keepdims, dtype=None, ddof=0):
    """The primitive's keywords, leaving out defaults so the tape listing stays short."""
    kw = {}
    if axes is not None:
        kw["axis"] = axes
    if keepdims:
        kw["keepdims"] = True
    if dtype is not None:
        kw["dtype"] = dtype
    if ddof:
        kw["ddof"] = ddof
    return kw


def _float_dtype(a, dtype):
    if dtype is not None:
        return np.dtype(dtype)
    return a.dtype if a.dtype.kind == "f" else np.dtype(np.float64)


# --- sum and prod ------------------------------------------------------------------------------
@implements(np.sum)
def sum_(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    _no_out("sum", out)
    axes = _axes(a, axis)
    if _masked(where):
        a = np.where(where, a, 0)
    y = sum_p(a, **_kw(axes, keepdims, dtype))
    return y if initial is None else y + initial


@implements((np.add, "reduce"))
def add_reduce(array, axis=0, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """np.add.reduce (how some code spells a sum): np.sum with ``axis=0`` by default."""
    return sum_(array, axis, dtype, out, keepdims, initial, where)


@implements(np.prod)
def prod_(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    _no_out("prod", out)
    axes = _axes(a, axis)
    if _masked(where):
        a = np.where(where, a, 1)
    y = prod_p(a, **_kw(axes, keepdims, dtype))
    return y if initial is None else y * initial


@implements((np.multiply, "reduce"))
def multiply_reduce(array, axis=0, dtype=None, out=None, keepdims=False, initial=None,
                    where=None):
    return prod_(array, axis, dtype, out, keepdims, initial, where)


# --- max and min -------------------------------------------------------------------------------
def _extremum(name, prim, combine, fill, a, axis, out, keepdims, initial, where):
    _no_out(name, out)
    axes = _axes(a, axis)
    if _masked(where):
        if initial is None:
            raise ValueError(
                f"yota: numpy.{name}(..., where=...) needs initial=... too, as in NumPy: the "
                "masked-out elements are replaced by nothing, so an all-False row has no value"
            )
        a = np.where(where, a, fill if a.dtype.kind == "f" else initial)
    y = prim(a, **_kw(axes, keepdims))
    # With initial, the result is combined with it; a tie shares the gradient (np.maximum's rule).
    return y if initial is None else combine(y, initial)


@implements(np.max, np.amax)
def max_(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    return _extremum("max", max_p, np.maximum, -np.inf, a, axis, out, keepdims, initial, where)


@implements(np.min, np.amin)
def min_(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    return _extremum("min", min_p, np.minimum, np.inf, a, axis, out, keepdims, initial, where)


@implements((np.maximum, "reduce"))
def maximum_reduce(array, axis=0, dtype=None, out=None, keepdims=False, initial=None,
                   where=None):
    return max_(array, axis, out, keepdims, initial, where)


@implements((np.minimum, "reduce"))
def minimum_reduce(array, axis=0, dtype=None, out=None, keepdims=False, initial=None,
                   where=None):
    return min_(array, axis, out, keepdims, initial, where)


# --- mean, var, std ----------------------------------------------------------------------------
def _selected(where, a, axes, keepdims, dtype):
    """How many elements ``where`` selects per output, in ``dtype``."""
    mask = np.broadcast_to(where, a.shape)
    return np.sum(mask, axis=axes, keepdims=keepdims).astype(dtype)


@implements(np.mean)
def mean_(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    _no_out("mean", out)
    axes = _axes(a, axis)
    if not _masked(where):
        return mean_p(a, **_kw(axes, keepdims, dtype))
    dt = _float_dtype(a, dtype)
    total = sum_p(np.where(where, a, 0), **_kw(axes, keepdims, dt))
    return total / _selected(where, a, axes, keepdims, dt)


def _var_composed(a, axes, dtype, ddof, keepdims, where, mean):
    """np.var with ``where=`` or ``mean=``: built from primitives (rarely used, not fused)."""
    dt = _float_dtype(a, dtype)
    if mean is None:
        mean = mean_(a, axis=axes, dtype=dt, keepdims=True, where=where)
    d = a - mean
    if _masked(where):
        d = np.where(where, d, 0)
        n = _selected(where, a, axes, keepdims, dt)
    else:
        n = count(a.shape, axes)
    return sum_p(d * d, **_kw(axes, keepdims, dt)) / np.maximum(n - ddof, 0)


def _ddof(name, ddof, correction):
    if correction is None:
        return ddof
    if ddof:
        raise ValueError(f"yota: numpy.{name}: ddof and correction are the same setting; "
                         "give one of them")
    return correction


@implements(np.var)
def var_(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, mean=None,
         correction=None):
    _no_out("var", out)
    axes = _axes(a, axis)
    ddof = _ddof("var", ddof, correction)
    if _masked(where) or mean is not None:
        return _var_composed(a, axes, dtype, ddof, keepdims, where, mean)
    return var_p(a, **_kw(axes, keepdims, dtype, ddof))


@implements(np.std)
def std_(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, mean=None,
         correction=None):
    _no_out("std", out)
    axes = _axes(a, axis)
    ddof = _ddof("std", ddof, correction)
    if _masked(where) or mean is not None:
        return np.sqrt(_var_composed(a, axes, dtype, ddof, keepdims, where, mean))
    return std_p(a, **_kw(axes, keepdims, dtype, ddof))


# --- running sums ------------------------------------------------------------------------------
@implements(np.cumsum)
def cumsum_(a, axis=None, dtype=None, out=None):
    _no_out("cumsum", out)
    if axis is None:
        a, axis = np.reshape(a, (-1,)), 0
    (axis,) = _axes(a, operator.index(axis))
    return cumsum_p(a, axis, **({"dtype": dtype} if dtype is not None else {}))


@implements((np.add, "accumulate"))
def add_accumulate(array, axis=0, dtype=None, out=None):
    return cumsum_(array, axis, dtype, out)


# --- ignoring nans: the same reductions with the nans masked out --------------------------------
def _not_nan(a, where):
    keep = np.logical_not(np.isnan(a))
    return keep if not _masked(where) else np.logical_and(keep, where)


@implements(np.nansum)
def nansum_(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    return sum_(a, axis, dtype, out, keepdims, initial, _not_nan(a, where))


@implements(np.nanmean)
def nanmean_(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    return mean_(a, axis, dtype, out, keepdims, where=_not_nan(a, where))


@implements(np.nanvar)
def nanvar_(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
            mean=None, correction=None):
    return var_(a, axis, dtype, out, ddof, keepdims, where=_not_nan(a, where), mean=mean,
                correction=correction)


@implements(np.nanstd)
def nanstd_(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
            mean=None, correction=None):
    return std_(a, axis, dtype, out, ddof, keepdims, where=_not_nan(a, where), mean=mean,
                correction=correction)


def _nan_extremum(reduce, fill, a, axis, out, keepdims, initial, where):
    nan = np.isnan(a)
    y = reduce(np.where(nan, fill, a), axis, out, keepdims, initial, where)
    # An all-nan slice is nan, as in NumPy (which also warns).
    return np.where(np.all(nan, axis=_axes(a, axis), keepdims=keepdims), np.nan, y)


@implements(np.nanmax)
def nanmax_(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    return _nan_extremum(max_, -np.inf, a, axis, out, keepdims, initial, where)


@implements(np.nanmin)
def nanmin_(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    return _nan_extremum(min_, np.inf, a, axis, out, keepdims, initial, where)


# --- compositions ------------------------------------------------------------------------------
@implements(np.ptp)
def ptp_(a, axis=None, out=None, keepdims=False):
    _no_out("ptp", out)
    return max_(a, axis, keepdims=keepdims) - min_(a, axis, keepdims=keepdims)


@implements(np.average)
def average_(a, axis=None, weights=None, returned=False, *, keepdims=False):
    axes = _axes(a, axis)
    if weights is None:
        avg = mean_(a, axes, keepdims=keepdims)
        scale = np.asarray(count(a.shape, axes), avg.dtype)
    else:
        w = weights
        if np.shape(w) != a.shape:
            if axes is None or len(axes) != 1 or np.ndim(w) != 1 or \
                    np.shape(w)[0] != a.shape[axes[0]]:
                raise ValueError(
                    f"yota: numpy.average: weights of shape {np.shape(w)} differ from a's shape "
                    f"{a.shape}; they must match it, or be 1-D along the one axis given")
            w = np.reshape(w, tuple(-1 if i == axes[0] else 1 for i in range(a.ndim)))
        scale = sum_(np.broadcast_to(w, a.shape), axes, keepdims=keepdims)
        if np.any(scale == 0):
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        avg = sum_(a * w, axes, keepdims=keepdims) / scale
    if returned:
        return avg, np.broadcast_to(scale, np.shape(avg))
    return avg
