"""Indexing, selection and value queries: getitem and its scatter rule, where, clip, argmax...

An index may hold tracked parts (a mask ``x > 0``, integer arrays computed from inputs). They are
passed as arguments of the primitive, so static graphs recompute them; the rest of the index is a
constant template with ``_Slot`` placeholders.
"""
import operator

import numpy as np

from ..errors import InPlaceError, reject_out
from ..primitives import nondifferentiable, primitive
from ..tracked import Tracked

IMPLEMENTS = {}


class _Slot:
    """Placeholder for the n-th tracked part of an index."""

    __slots__ = ("n",)

    def __init__(self, n):
        self.n = n

    def __repr__(self):
        return f"_Slot({self.n})"

    def __eq__(self, other):
        return type(other) is _Slot and other.n == self.n

    def __hash__(self):
        return hash(("_Slot", self.n))


def split_index(index):
    """``(template, tracked_parts)`` for an index that may contain tracked arrays."""
    if type(index) is Tracked:
        return _Slot(0), [index]
    if type(index) is tuple and any(type(p) is Tracked for p in index):
        parts, template = [], []
        for p in index:
            if type(p) is Tracked:
                template.append(_Slot(len(parts)))
                parts.append(p)
            else:
                template.append(p)
        return tuple(template), parts
    if isinstance(index, list) and any(type(p) is Tracked for p in index):
        raise TypeError("yota: an index list holding tracked values is not supported; build an "
                        "index array with np.stack(...) first")
    return index, []


def fill_index(template, parts):
    if not parts:
        return template
    if type(template) is _Slot:
        return parts[0]
    return tuple(parts[p.n] if type(p) is _Slot else p for p in template)


def _is_basic(index):
    """Basic indexing never selects an element twice, so the scatter can assign."""
    parts = index if isinstance(index, tuple) else (index,)
    for p in parts:
        if p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)):
            continue
        if isinstance(p, np.ndarray) and p.dtype == bool:
            continue
        return False
    return True


@primitive(nondiff_argnums=(1,))  # *parts: index arrays, never a gradient
def getitem(x, *parts, index):
    return x[fill_index(index, parts)]


@primitive(nondiff_argnums=(1,))
def index_add(dy, *parts, index, shape):
    """Zeros of ``shape`` with ``dy`` added at ``index`` (repeated indices accumulate)."""
    idx = fill_index(index, parts)
    out = np.zeros(shape, dtype=np.result_type(dy))
    if _is_basic(idx):
        out[idx] = dy
    else:
        np.add.at(out, idx, dy)
    return out


getitem.defgrad(lambda dy, y, x, *parts, index: index_add(dy, *parts, index=index,
                                                            shape=np.shape(x)))
index_add.defgrad(lambda ddy, y, dy, *parts, index, shape: getitem(ddy, *parts, index=index))


def getitem_(x, index):
    template, parts = split_index(index)
    return getitem(x, *parts, index=template)


def setitem_(x, index, value):
    raise InPlaceError(
        "yota: x[...] = value writes into a tracked array in place, which cannot be recorded "
        "as is; build the new array functionally instead, e.g. np.where(mask, value, x), or "
        "np.concatenate of the pieces"
    )


IMPLEMENTS[operator.getitem] = getitem_
IMPLEMENTS[operator.setitem] = setitem_


# --- selection ---------------------------------------------------------------------------------
@primitive(nondiff_argnums=(0,))  # the condition selects; it never carries a gradient
def where(condition, x, y):
    return np.where(condition, x, y)


where.defgrad(lambda dy, out, c, x, y: np.where(c, dy, 0.0), argnum=1)
where.defgrad(lambda dy, out, c, x, y: np.where(c, 0.0, dy), argnum=2)


def where_(condition, x=None, y=None):
    if x is None and y is None:
        return nonzero(condition)
    return where(condition, x, y)


IMPLEMENTS[np.where] = where_


@primitive
def clip(a, lo, hi):
    return np.clip(a, lo, hi)


def _inside(a, lo, hi):
    mask = True
    if lo is not None:
        mask = a >= lo
    if hi is not None:
        mask = (a <= hi) & mask
    return mask


clip.defgrad(lambda dy, y, a, lo, hi: np.where(_inside(a, lo, hi), dy, 0.0), argnum=0)
clip.defgrad(lambda dy, y, a, lo, hi: np.where(a < lo, dy, 0.0), argnum=1)
clip.defgrad(lambda dy, y, a, lo, hi: np.where(a > hi, dy, 0.0), argnum=2)


def clip_(a, a_min=None, a_max=None, out=None, *, min=None, max=None, **kwargs):
    reject_out("clip", out)
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    return clip(a, lo, hi)


IMPLEMENTS[np.clip] = clip_


# --- values that carry no gradient: recorded so static graphs recompute them -----------------
def _nondiff(np_func):
    p = nondifferentiable(lambda *args, **kwargs: np_func(*args, **kwargs),
                          name=np_func.__name__)
    IMPLEMENTS[np_func] = p
    return p


argmax, argmin, argsort, nonzero_p, count_nonzero, any_, all_, isclose, flatnonzero = map(
    _nondiff, (np.argmax, np.argmin, np.argsort, np.nonzero, np.count_nonzero, np.any, np.all,
               np.isclose, np.flatnonzero))


def nonzero(a):
    """np.nonzero returns a tuple: one recorded primitive per axis."""
    return tuple(_nonzero_axis(a, axis=i) for i in range(max(np.ndim(a), 1)))


_nonzero_axis = nondifferentiable(lambda a, axis: np.nonzero(a)[axis], name="nonzero")
IMPLEMENTS[np.nonzero] = nonzero
del nonzero_p


def _constant_like(np_func):
    """zeros_like and friends depend only on the shape, which a trace already fixes."""
    def like(a, *args, **kwargs):
        return np_func(np.empty(a.shape, a.dtype), *args, **kwargs)

    IMPLEMENTS[np_func] = like
    return like


for _f in (np.zeros_like, np.ones_like, np.empty_like, np.full_like):
    _constant_like(_f)


def _allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(np.all(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def _array_equal(a1, a2, equal_nan=False):
    if np.shape(a1) != np.shape(a2):
        return False
    return bool(np.all(a1 == a2))


IMPLEMENTS[np.allclose] = _allclose
IMPLEMENTS[np.array_equal] = _array_equal
