"""NumPy's signatures in front of the primitives: np.sum, np.mean, np.max... called on tracked values.

Each function normalises ``axis`` (so the tape holds one spelling) and hands the common case to a
single primitive. The rarer keywords are compositions of primitives: ``initial`` is combined with
the result, ``where`` masks the input first (np.where), ``mean=`` of np.var is used as given.
``out=`` would write in place and is refused.
"""
from __future__ import annotations

import numpy as np
from yota import InPlaceError, Tracked

from .axes import count, normalize_axes
from .extrema import max_p, min_p
from .products import prod_p
from .sums import mean_p, std_p, sum_p, var_p

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
