"""Indexing, selection and value queries: getitem and its scatter rule, where, clip, argmax...

An index may hold tracked parts (a mask ``x > 0``, integer arrays computed from inputs). They are
passed as arguments of the primitive, so static graphs recompute them; the rest of the index is a
constant template with ``_Slot`` placeholders.
"""
import operator

import numpy as np

from ..errors import reject_out
from ..kernel.primitive import nondifferentiable, primitive
from ..kernel.tracked import Tracked
from ..kernel.unbroadcast import astype, broadcast_to
from . import shape as shape_

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


def _selects_each_once(template, parts, shape):
    """True when an advanced index provably picks no element twice, e.g. ``x[np.arange(n), y]``:
    one constant integer array spans the whole broadcast index and holds distinct positions.
    Decided from the template's constants, so a static graph decides it once, when tracing."""
    items = template if isinstance(template, tuple) else (template,)
    if any(p is Ellipsis or p is None for p in items):
        return False
    arrays = [(axis, p) for axis, p in enumerate(items)
              if not isinstance(p, (int, np.integer, slice))]
    if any(isinstance(p, np.ndarray) and p.dtype == bool for _, p in arrays):
        return False
    try:
        full = np.broadcast_shapes(*(np.shape(parts[p.n] if type(p) is _Slot else p)
                                     for _, p in arrays))
    except ValueError:
        return False
    for axis, p in arrays:
        if isinstance(p, np.ndarray) and p.dtype.kind in "iu" and p.shape == full:
            positions = np.where(p < 0, p + shape[axis], p).ravel()
            return np.unique(positions).size == positions.size
    return False


@primitive(nondiff_argnums=(1,))
def index_add(dy, *parts, index, shape, once=False):
    """Zeros of ``shape`` with ``dy`` added at ``index`` (repeated indices accumulate; with
    ``once`` the index is known to pick each element at most once, so it can assign)."""
    idx = fill_index(index, parts)
    out = np.zeros(shape, dtype=np.result_type(dy))
    if once or _is_basic(idx):
        out[idx] = dy
    else:
        np.add.at(out, idx, dy)
    return out


@getitem.defgrad
def _getitem_grad(dy, y, x, *parts, index):
    shape = np.shape(x)
    once = not _is_basic(index) and _selects_each_once(index, parts, shape)
    return index_add(dy, *parts, index=index, shape=shape, once=once)


index_add.defgrad(lambda ddy, y, dy, *parts, index, shape, once=False:
                  getitem(ddy, *parts, index=index))


def _subscript_part(em, p, parts):
    if type(p) is _Slot:
        return em.ref(parts[p.n])
    if type(p) is slice:
        vals = (p.start, p.stop, p.step)
        if all(v is None or type(v) is int for v in vals):
            start, stop, step = ("" if v is None else repr(v) for v in vals)
            return f"{start}:{stop}" + (f":{step}" if step else "")
        return em.const(p)
    if p is Ellipsis:
        return "..."
    return em.const(p)


@getitem.defemit("numpy")
def _emit_subscript(em, ins):
    """``x[1:3, i]``: the subscript as written, index arrays read from their variables."""
    x, parts = ins.args[0], ins.args[1:]
    index = ins.kwargs["index"]
    if type(index) is tuple:
        if not index:
            return f"{em.ref(x)}[()]"
        inner = ", ".join(_subscript_part(em, p, parts) for p in index)
        return f"{em.ref(x)}[{inner}{',' if len(index) == 1 else ''}]"
    if type(index) is _Slot or type(index) is slice or type(index) is int:
        return f"{em.ref(x)}[{_subscript_part(em, index, parts)}]"
    return f"{em.ref(x)}[{em.const(index)}]"


def _scatter_once(dy, index, shape, dtype):
    """``index_add`` when each element is picked at most once, its index already filled in."""
    out = np.zeros(shape, dtype)
    out[index] = dy
    return out


@index_add.defemit("numpy")
def _emit_scatter_once(em, ins):
    """``_scatter_once(dy, (arange, y), shape, dtype)``: the gradient of ``x[np.arange(n), y]``
    without the implementation's index filling and dtype resolution on every call (half its
    3.4 us on W2 batch 32)."""
    out = em.avals[ins.out]
    if not ins.kwargs.get("once") or not out.is_array or not isinstance(out.dtype, np.dtype) \
            or set(ins.kwargs) != {"index", "shape", "once"}:
        return None
    parts, index = ins.args[1:], ins.kwargs["index"]

    def part(p):
        return em.ref(parts[p.n]) if type(p) is _Slot else em.const(p)

    items = "".join(part(p) + ", " for p in index) if type(index) is tuple else None
    where = f"({items})" if items is not None else part(index)
    fn = em.glob("scatter_once", _scatter_once)
    return (f"{fn}({em.ref(ins.args[0])}, {where}, {em.const(tuple(out.shape))}, "
            f"{em.const(out.dtype)})")


def _no_boolean_mask(args, kwargs, avals):
    """A boolean mask's count of true entries, not its shape, sets the output's shape."""
    return not any(a is not None and a.dtype == np.bool_ for a in avals[1:])


getitem.declare(static_shape=_no_boolean_mask)
index_add.declare(static_shape=True, fresh=True)


def getitem_(x, index):
    template, parts = split_index(index)
    return getitem(x, *parts, index=template)


IMPLEMENTS[operator.getitem] = getitem_  # x[...] = v lives in inplace.py


# --- selection ---------------------------------------------------------------------------------
@primitive(nondiff_argnums=(0,))  # the condition selects; it never carries a gradient
def where(condition, x, y):
    return np.where(condition, x, y)


where.declare(zero_gradient=(0,))  # a float condition (np.where(b, ...)) is truthiness: constant


where.declare(static_shape=True)
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


clip.declare(static_shape=True)
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


# --- new arrays shaped like a tracked one: tracked constants, so they can be written into ------
@nondifferentiable
def filled(like, *, shape, dtype, fill):
    """A new array (no gradient) recorded on ``like``'s tape: ``buf = np.zeros_like(x);
    buf[i] = ...`` then records the writes."""
    return np.full(shape, fill, dtype=dtype)


def _like_shape(a, dtype, shape):
    dtype = a.dtype if dtype is None else np.dtype(dtype)
    shape = a.shape if shape is None else ((shape,) if isinstance(shape, int) else tuple(shape))
    return dtype, shape


def _full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, **kwargs):
    dtype, shape = _like_shape(a, dtype, shape)
    if type(fill_value) is Tracked:  # the fill carries a gradient
        return shape_.copy(broadcast_to(astype(fill_value, dtype), shape))
    return filled(a, shape=shape, dtype=dtype, fill=fill_value)


def _filled_like(fill):
    def like(a, dtype=None, order="K", subok=True, shape=None, **kwargs):
        dtype, shape = _like_shape(a, dtype, shape)
        return filled(a, shape=shape, dtype=dtype, fill=fill)

    return like


IMPLEMENTS[np.zeros_like] = _filled_like(0)
IMPLEMENTS[np.ones_like] = _filled_like(1)
IMPLEMENTS[np.empty_like] = _filled_like(0)
IMPLEMENTS[np.full_like] = _full_like


def _created(fill):
    """np.zeros(shape, like=x) and friends: NumPy hands ``like=`` to the tracked value, which
    calls this with itself first (see Tracked.__array_function__)."""
    def make(like, shape, dtype=float, order="C", **kwargs):
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        return filled(like, shape=shape, dtype=np.dtype(dtype), fill=fill)

    return make


def _full(like, shape, fill_value, dtype=None, order="C", **kwargs):
    if dtype is None:
        dtype = fill_value.dtype if type(fill_value) is Tracked else np.result_type(fill_value)
    return _full_like(like, fill_value, dtype=dtype, shape=shape)


def _holds_tracked(o):
    if type(o) is Tracked:
        return True
    return isinstance(o, (list, tuple)) and any(_holds_tracked(e) for e in o)


def _array(like, obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, **kwargs):
    """np.array(obj, like=x): nested lists of tracked values are stacked."""
    def build(o):
        if isinstance(o, (list, tuple)) and _holds_tracked(o):
            return shape_.stack(*[build(e) for e in o], axis=0)
        return o

    out = build(obj)
    if type(out) is not Tracked:  # plain data: a tracked constant, so it can be written into
        plain = np.asarray(out)
        out = filled(like, shape=plain.shape, dtype=plain.dtype, fill=0) + plain
    elif copy and out is obj:
        out = shape_.copy(out)
    if dtype is not None and np.dtype(dtype) != out.dtype:
        out = astype(out, dtype)
    if ndmin > out.ndim:
        out = np.reshape(out, (1,) * (ndmin - out.ndim) + out.shape)
    return out


def _asarray(like, a, dtype=None, order=None, **kwargs):
    return _array(like, a, dtype=dtype, copy=False)


IMPLEMENTS.update({("like", np.zeros): _created(0), ("like", np.ones): _created(1),
                   ("like", np.empty): _created(0), ("like", np.full): _full,
                   ("like", np.array): _array, ("like", np.asarray): _asarray})


def _allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(np.all(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def _array_equal(a1, a2, equal_nan=False):
    if np.shape(a1) != np.shape(a2):
        return False
    return bool(np.all(a1 == a2))


IMPLEMENTS[np.allclose] = _allclose
IMPLEMENTS[np.array_equal] = _array_equal
