"""In-place writes on tracked arrays: ``x[i] = v``, ``x += y``, ``out=x``, ``np.copyto``...

NumPy mutates the array. yota records a functional update instead (``setitem`` makes an updated
copy) and then *rebinds* the user's Tracked object to the new variable, so every name and
container holding that object sees the write, exactly as with NumPy. The tape stays
single-assignment: ops recorded before the write keep the old value, because the object is
replaced in them by a fresh Tracked of the old variable (``rebind``). Gradients flow to the
old value of ``x`` (except at the written places) and to ``v``.

Views keep NumPy's meaning too:

- a view taken before a write into its base (``row = x[0]; x[0, 1] = 5``) re-derives itself from
  the base on its next use (its producing op is recorded again), so it shows the 5 as in NumPy;
- writing into a view made by basic indexing, reshape or transpose (``row = x[0]; row[1] = 5``,
  ``x[:, 0] += v``) writes through to the base, then the view re-derives;
- a write into any other view, or into an argument passed twice, raises InPlaceError.

The states a view goes through (live, rederive, stale), rebinding and re-derivation belong to the
kernel (yota/kernel/writes.py); this module records NumPy's writes, checks them with NumPy's
errors, and declares the ``writes_through`` entries of getitem, reshape and transpose.

Writes never reach the caller's arrays: an argument written inside the traced function changes
only inside the trace (its gradient is w.r.t. the value passed in).
"""
from __future__ import annotations

import operator

import numpy as np

from ..errors import InPlaceError
from ..kernel.primitive import nondifferentiable, primitive
from ..kernel.tracked import Tracked
from ..kernel.writes import STALE_MESSAGE  # noqa: F401  (raised by the kernel; re-exported)
from .indexing import _is_basic, fill_index, getitem, index_add, split_index
from .rearrange import along_axis_index
from .shape import astype, broadcast_to_, reshape, transpose

IMPLEMENTS = {}

VIEW_WRITE_MESSAGE = (
    "yota: {what} writes into a view of another tracked array made by {how}; NumPy would write "
    "through to that array, which yota records only for views made by basic indexing, reshape "
    "and transpose. Write into the array itself, or copy the view first (v = v.copy())"
)


def _raw(x):
    while type(x) is Tracked:
        x = x._value
    return x


# --- the functional update and its rules ------------------------------------------------------
@primitive(nondiff_argnums=(2,))  # *parts: index arrays, never a gradient
def setitem(x, value, *parts, index):
    """A copy of ``x`` with ``value`` written at ``index`` (NumPy's assignment, casting included)."""
    out = np.array(x, copy=True)
    out[fill_index(index, parts)] = value
    return out


@nondifferentiable
def last_writes(*parts, index, shape):
    """True where an element of the (broadcast) value is the one NumPy leaves in place.

    With repeated advanced indices NumPy keeps the last write; only that element gets a gradient.
    """
    idx = fill_index(index, parts)
    mark = np.full(shape, -1, dtype=np.intp)
    target = mark[idx].shape
    order = np.arange(int(np.prod(target)), dtype=np.intp).reshape(target)
    mark[idx] = order
    return mark[idx] == order


def _written_value_grad(dy, y, x, value, *parts, index):
    g = getitem(dy, *parts, index=index)
    if not _is_basic(fill_index(index, [_raw(p) for p in parts])):
        g = np.where(last_writes(*parts, index=index, shape=np.shape(x)), g, 0)
    extra = np.ndim(value) - np.ndim(g)  # NumPy drops leading length-1 axes of the value
    return np.reshape(g, (1,) * extra + np.shape(g)) if extra > 0 else g


setitem.defgrad(lambda dy, y, x, value, *parts, index: setitem(dy, 0, *parts, index=index))
setitem.defgrad(_written_value_grad, argnum=1)


# --- writing: checks, write-through for views, rebinding ----------------------------------------
def check_writable(x, what="x[...] = value"):
    """Raise where NumPy raises (scalars, read-only arrays) and for writes yota cannot record.

    Returns the op that made ``x`` as a view of another tracked array, or None.
    """
    tape = x._tape
    tape.refresh(x)  # raises for a stale view
    xv = _raw(x)
    if not isinstance(xv, np.ndarray):
        raise TypeError(f"'{type(xv).__name__}' object does not support item assignment")
    if not xv.flags.writeable:
        raise ValueError("assignment destination is read-only")
    op = tape.producer(x)
    sources = tape.inputs if op is None else [
        a for a in op.args if type(a) is Tracked and a._tape is tape]
    for a in sources:
        if a is not x and np.may_share_memory(_raw(a), xv):
            if op is None:
                raise InPlaceError(VIEW_WRITE_MESSAGE.format(
                    what=what, how="passing one array as two arguments"))
            # getitem with tracked index parts has no write-through: its template has holes
            if op.prim.writes_through is None or (op.prim is getitem and len(op.args) > 1):
                raise InPlaceError(VIEW_WRITE_MESSAGE.format(what=what, how=op.prim.name))
            return op
    return None


# The writes_through entries of the view-making primitives: each writes ``new``, the view's new
# content, into the view's base (``x[0][1] = 5`` writes into ``x``). Declared here rather than
# beside getitem, reshape and transpose because they write with setitem_, defined here.
def _through_getitem(op, new):
    base = op.args[0]
    setitem_(base, op.kwargs["index"], new)


def _through_reshape(op, new):
    base = op.args[0]
    setitem_(base, Ellipsis, reshape(new, base.shape, **op.kwargs))


def _through_transpose(op, new):
    base, axes = op.args[0], (op.args[1] if len(op.args) > 1 else op.kwargs.get("axes"))
    inverse = None if axes is None else tuple(np.argsort(axes))
    setitem_(base, Ellipsis, transpose(new, inverse))


getitem.declare(writes_through=_through_getitem)
reshape.declare(writes_through=_through_reshape)
transpose.declare(writes_through=_through_transpose)


def write(x, new, view_of):
    """Give tracked ``x`` the content ``new`` (recorded on its tape) with NumPy's meaning."""
    return x._tape.write(x, new, view_of)


def setitem_(x, index, value):
    """``x[index] = value`` on a tracked ``x``."""
    view_of = check_writable(x)
    template, parts = split_index(index)
    if isinstance(value, (list, tuple)):
        value = np.asarray(value)  # a list holding tracked values raises, pointing to np.stack
    write(x, setitem(x, value, *parts, index=template), view_of)


def assign_result(x, r, name, casting="same_kind", view_of=None):
    """Write the result ``r`` of ``name`` into all of tracked ``x`` with NumPy's checks."""
    rshape, rdtype = np.shape(r), np.result_type(r.dtype if type(r) is Tracked else r)
    if rshape != x.shape:
        if np.broadcast_shapes(rshape, x.shape) != x.shape:
            raise ValueError(f"non-broadcastable output operand with shape {x.shape} doesn't "
                             f"match the broadcast shape {np.broadcast_shapes(rshape, x.shape)}")
    if rdtype != x.dtype and not np.can_cast(rdtype, x.dtype, casting):
        raise TypeError(f"Cannot cast {name} output from {rdtype!r} to {x.dtype!r} with casting "
                        f"rule '{casting}'")
    if rshape != x.shape or type(r) is not Tracked or r._tape is not x._tape:
        new = setitem(x, r, index=Ellipsis)
    else:
        new = astype(r, x.dtype) if rdtype != x.dtype else r
    return write(x, new, view_of)


def _inplace(u):
    def iop(x, other):
        if not isinstance(_raw(x), np.ndarray):
            return u(x, other)  # NumPy scalars are immutable: the name is rebound, like NumPy
        view_of = check_writable(x, f"x {_SYMBOL[u]}= y")
        return assign_result(x, u(x, other), f"ufunc '{u.__name__}'", view_of=view_of)

    iop.__name__ = f"inplace_{u.__name__}"
    return iop


_SYMBOL = {np.add: "+", np.subtract: "-", np.multiply: "*", np.true_divide: "/",
           np.floor_divide: "//", np.remainder: "%", np.power: "**", np.matmul: "@",
           np.bitwise_and: "&", np.bitwise_or: "|", np.bitwise_xor: "^", np.left_shift: "<<",
           np.right_shift: ">>"}
for _op, _u in ((operator.iadd, np.add), (operator.isub, np.subtract),
                (operator.imul, np.multiply), (operator.itruediv, np.true_divide),
                (operator.ifloordiv, np.floor_divide), (operator.imod, np.remainder),
                (operator.ipow, np.power), (operator.imatmul, np.matmul),
                (operator.iand, np.bitwise_and), (operator.ior, np.bitwise_or),
                (operator.ixor, np.bitwise_xor), (operator.ilshift, np.left_shift),
                (operator.irshift, np.right_shift)):
    IMPLEMENTS[_op] = _inplace(_u)


def ufunc_with_keywords(ufunc, method, inputs, kwargs):
    """A ufunc call on tracked values with keywords: ``out=``, ``where=``, ``dtype=``."""
    out = kwargs.pop("out", None)
    if isinstance(out, tuple):
        if len(out) != 1:
            raise InPlaceError(f"yota: numpy.{ufunc.__name__}(..., out=...) with several "
                               "outputs cannot be recorded; drop out= and use the returned values")
        out = out[0]
    where = kwargs.pop("where", True)
    dtype = kwargs.pop("dtype", None)
    casting = kwargs.pop("casting", "same_kind")
    for ignored in ("order", "subok"):
        kwargs.pop(ignored, None)
    if kwargs or method != "__call__":
        raise InPlaceError(f"yota: numpy.{ufunc.__name__}.{method}(..., out=...) cannot be "
                           f"recorded with keywords {sorted(kwargs)}; drop out= and use the "
                           "returned value")
    if out is not None and type(out) is not Tracked:
        raise InPlaceError(
            f"yota: numpy.{ufunc.__name__}(..., out=...) writes a tracked result into a plain "
            "ndarray, which would drop its gradient; drop out= and use the returned value, or "
            "make the buffer tracked (buf = np.zeros_like(x))")
    if where is not True and out is None:
        raise InPlaceError(f"yota: numpy.{ufunc.__name__}(..., where=...) without out= leaves "
                           "entries uninitialized; use np.where(mask, f(x), other) instead")
    if dtype is not None:
        inputs = [astype(a, dtype) if type(a) is Tracked else np.asarray(a, dtype)
                  for a in inputs]
    view_of = None if out is None else check_writable(out, f"numpy.{ufunc.__name__}(..., out=x)")
    result = ufunc(*inputs)
    if out is None:
        return result
    if where is not True:
        result = np.where(where, result, out)
    return assign_result(out, result, f"ufunc '{ufunc.__name__}'", casting, view_of)


IMPLEMENTS["ufunc_with_keywords"] = ufunc_with_keywords


# --- NumPy's in-place functions ---------------------------------------------------------------
def _tracked_target(name, a, note=""):
    if type(a) is not Tracked:
        raise InPlaceError(
            f"yota: numpy.{name} writes tracked values into a plain ndarray, which would drop "
            "their gradient; make the array tracked first (a = np.zeros_like(x), or "
            f"np.zeros(shape, like=x)), or build the result functionally{note}")
    return a


# np.full and np.full_like call copyto; yota's wrappers (fills.py) catch a tracked fill first,
# unless the caller bound NumPy's own function before yota was imported
_FULL_NOTE = ("; np.full(shape, s) and np.full_like(a, s) come here when bound before yota was "
              "imported (from numpy import full): call them as np.full, or write "
              "np.full(shape, s, like=s)")


def copyto(dst, src, casting="same_kind", where=True):
    _tracked_target("copyto", dst, _FULL_NOTE)
    view_of = check_writable(dst, "numpy.copyto")
    if where is not True:
        src = np.where(where, src, dst)
    assign_result(dst, src, "copyto", casting, view_of)


def put_along_axis(arr, indices, values, axis):
    _tracked_target("put_along_axis", arr)
    arr[along_axis_index(arr, indices, axis)] = values


def _write_flat(name, a, flat, v):
    """``a.flat[flat] = v``: NumPy repeats a short plain ``v``; a tracked one must fit."""
    if type(v) is not Tracked:
        v = np.resize(np.asarray(v), flat.shape) if np.ndim(v) else v
    elif v.size == flat.size:
        v = np.reshape(v, flat.shape)
    elif v.ndim:
        raise InPlaceError(f"yota: numpy.{name} with a tracked value needs one value per "
                           f"written element ({flat.size}), got {v.size}")
    a[np.unravel_index(flat, a.shape)] = v


def fill_diagonal(a, val, wrap=False):
    _tracked_target("fill_diagonal", a)
    shape = a.shape
    if a.ndim < 2:
        raise ValueError("array must be at least 2-d")
    if a.ndim == 2:
        step = shape[1] + 1
        end = None if wrap else shape[1] * shape[1]
    else:
        if len(set(shape)) != 1:
            raise ValueError("All dimensions of input must be of equal length")
        step = 1 + int(np.cumprod(shape[:-1]).sum())
        end = None
    _write_flat("fill_diagonal", a, np.arange(a.size)[:end:step], val)


def put(a, ind, v, mode="raise"):
    _tracked_target("put", a)
    ind = np.asarray(ind).ravel()
    if mode == "wrap":
        ind = ind % a.size
    elif mode == "clip":
        ind = np.clip(ind, 0, a.size - 1)
    _write_flat("put", a, ind, v)


def _ufunc_at(u):
    """np.add.at(a, indices, b): unbuffered, so repeated indices accumulate."""
    def at(a, indices, b=None):
        _tracked_target(f"{u.__name__}.at", a)
        view_of = check_writable(a, f"numpy.{u.__name__}.at")
        template, parts = split_index(indices)
        target = np.empty(a.shape, dtype=bool)[fill_index(template, [_raw(p) for p in parts])]
        b = broadcast_to_(b, target.shape)
        if u is np.subtract:
            b = -b
        update = index_add(b, *parts, index=template, shape=a.shape)
        assign_result(a, a + update, f"ufunc '{u.__name__}.at'", view_of=view_of)

    return at


def fill(a, value):
    a[...] = value


IMPLEMENTS.update({(np.add, "at"): _ufunc_at(np.add), (np.subtract, "at"): _ufunc_at(np.subtract),
                   np.copyto: copyto, np.put_along_axis: put_along_axis,
                   np.fill_diagonal: fill_diagonal, np.put: put, "fill": fill,
                   operator.setitem: setitem_})
