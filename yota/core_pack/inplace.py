"""In-place writes on tracked arrays: ``x[i] = v``, ``x += y``, ``out=x``, ``np.copyto``...

NumPy mutates the array. yota records a functional update instead (``setitem`` makes an updated
copy) and then *rebinds* the user's Tracked object to the new variable, so every name and
container holding that object sees the write, exactly as with NumPy. The tape stays
single-assignment: ops recorded before the write keep the old value, because the object is
replaced in them by a fresh Tracked of the old variable (``rebind``). Gradients flow to the
old value of ``x`` (except at the written places) and to ``v``.

Views are where NumPy reaches further than a functional update. yota keeps NumPy's meaning or
raises InPlaceError, never silently differs:

- writing into a view of another tracked array (``row = x[0]; row[1] = 5`` changes ``x`` in
  NumPy) raises;
- a view taken before a write into its base (``row = x[0]; x[0, 1] = 5``; NumPy's ``row`` shows
  the 5) is marked stale when the write touches its elements, and using it afterwards raises.

Writes never reach the caller's arrays: an argument written inside the traced function changes
only inside the trace (its gradient is w.r.t. the value passed in).
"""
from __future__ import annotations

import bisect
import operator

import numpy as np

from ..errors import InPlaceError
from ..primitives import nondifferentiable, primitive
from ..tracked import Tracked
from .indexing import _is_basic, fill_index, getitem, split_index
from .shape import astype

IMPLEMENTS = {}

STALE_MESSAGE = (
    "yota: this array is a view of a tracked array that was written in place afterwards "
    "(x[...] = v, x += y, out=x); NumPy would show the new values through the view, which "
    "yota does not record. Take the view again after the write (row = x[0] after "
    "x[0, 1] = 5), or copy it before writing (row = x[0].copy())"
)
VIEW_WRITE_MESSAGE = (
    "yota: {what} writes into a view of another tracked array (made by indexing with slices, "
    "reshape, transpose, ravel...); NumPy would write through to that array, which yota does not "
    "record. Write into the array itself (x[0, 1] = v rather than row = x[0]; row[1] = v), or "
    "copy the view first (row = x[0].copy())"
)


def _raw(x):
    while type(x) is Tracked:
        x = x._value
    return x


class _StaleTape:
    """The tape of a view made stale by a write into its base: every use raises."""

    stale = True
    depth = 1 << 62  # deeper than any real tape, so primitives pick it (and raise)

    def record(self, prim, args, kwargs):
        raise InPlaceError(STALE_MESSAGE)

    def concretized(self, tracked, kind, value):
        raise InPlaceError(STALE_MESSAGE)


STALE = _StaleTape()


# --- the functional update and its rules ------------------------------------------------------
@primitive
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


# --- rebinding the user's object ----------------------------------------------------------------
def _out_var(op):
    return op.out._var


def check_writable(x, what="x[...] = value"):
    """Raise where NumPy raises (scalars, read-only arrays) and for views of tracked arrays."""
    tape = x._tape
    if getattr(tape, "stale", False):
        tape.record(None, (), {})
    xv = _raw(x)
    if not isinstance(xv, np.ndarray):
        raise TypeError(f"'{type(xv).__name__}' object does not support item assignment")
    if not xv.flags.writeable:
        raise ValueError("assignment destination is read-only")
    i = bisect.bisect_left(tape.ops, x._var, key=_out_var)
    if i < len(tape.ops) and tape.ops[i].out is x:
        sources = [a for a in tape.ops[i].args if type(a) is Tracked and a._tape is tape]
    else:
        sources = tape.inputs  # the caller may pass one array twice, or a view of another
    for a in sources:
        if a is not x and np.may_share_memory(_raw(a), xv):
            raise InPlaceError(VIEW_WRITE_MESSAGE.format(what=what))


def _touches(v, written, xv):
    if written is None:
        return np.may_share_memory(v, xv)
    try:
        return np.shares_memory(v, written, max_work=10_000)
    except np.exceptions.TooHardError:
        return True


def rebind(x, new, written=None):
    """Make the user's object ``x`` hold ``new``, a value just recorded on x's tape.

    ``written`` is a view of the elements of x's old value that NumPy would change (None: maybe
    all of them); views of x touching them become stale.
    """
    tape = x._tape
    if new._tape is not tape:
        raise InPlaceError(
            "yota: a value traced by an inner yota.grad was written into an array of an outer "
            "one; compute the new array functionally inside the inner function instead"
        )
    n, xv = x._var, _raw(x)
    swap = {id(x): Tracked(x._value, tape, n)}
    stale = []
    for node in tape.nodes[n + 1:]:
        v = _raw(node)
        if node is not new and isinstance(v, np.ndarray) and _touches(v, written, xv):
            stale.append(node)
            swap[id(node)] = Tracked(node._value, tape, node._var)
    start = bisect.bisect_left(tape.ops, n, key=_out_var)
    for op in tape.ops[start:]:
        o = swap.get(id(op.out))
        if o is not None:
            op.out = o
        elif op.out is new:
            op.out = x
        for a in op.args:
            if id(a) in swap:
                op.args = tuple(swap.get(id(b), b) for b in op.args)
                break
    for t in swap.values():
        tape.nodes[t._var] = t
    for i, t in enumerate(tape.inputs):
        if id(t) in swap:
            tape.inputs[i] = swap[id(t)]
    x._value, x._var = new._value, new._var
    tape.nodes[new._var] = x
    for s in stale:
        s._tape = STALE
    return x


def _written_view(xv, template, parts):
    idx = fill_index(template, [_raw(p) for p in parts])
    items = idx if isinstance(idx, tuple) else (idx,)
    if all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in items):
        if not any(p is Ellipsis for p in items):
            items = items + (Ellipsis,)  # a 0-d view, not a scalar copy, for x[i, j]
        return xv[items]
    return None


def setitem_(x, index, value):
    """``x[index] = value`` on a tracked ``x``."""
    check_writable(x)
    template, parts = split_index(index)
    if isinstance(value, (list, tuple)):
        value = np.asarray(value)  # a list holding tracked values raises, pointing to np.stack
    written = _written_view(_raw(x), template, parts)
    rebind(x, setitem(x, value, *parts, index=template), written)


# --- x += y, ufunc(..., out=x) ----------------------------------------------------------------
def assign_result(x, r, name, casting="same_kind"):
    """Write the result ``r`` of ``name`` into all of tracked ``x`` with NumPy's checks."""
    rshape, rdtype = np.shape(r), np.result_type(_raw(r))
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
    return rebind(x, new)


def _inplace(u):
    def iop(x, other):
        if not isinstance(_raw(x), np.ndarray):
            return u(x, other)  # NumPy scalars are immutable: the name is rebound, like NumPy
        check_writable(x, f"x {_SYMBOL[u]}= y")
        return assign_result(x, u(x, other), f"ufunc '{u.__name__}'")

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
    if out is not None:
        check_writable(out, f"numpy.{ufunc.__name__}(..., out=x)")
    result = ufunc(*inputs)
    if out is None:
        return result
    if where is not True:
        result = np.where(where, result, out)
    return assign_result(out, result, f"ufunc '{ufunc.__name__}'", casting)


IMPLEMENTS["ufunc_with_keywords"] = ufunc_with_keywords


# --- NumPy's in-place functions ---------------------------------------------------------------
def _tracked_target(name, a):
    if type(a) is not Tracked:
        raise InPlaceError(
            f"yota: numpy.{name} writes tracked values into a plain ndarray, which would drop "
            "their gradient; make the array tracked first (a = np.zeros_like(x), or "
            "np.zeros(shape, like=x)), or build the result functionally")
    return a


def copyto(dst, src, casting="same_kind", where=True):
    _tracked_target("copyto", dst)
    check_writable(dst, "numpy.copyto")
    if where is not True:
        src = np.where(where, src, dst)
    assign_result(dst, src, "copyto", casting)


def put_along_axis(arr, indices, values, axis):
    from .rearrange import along_axis_index

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


def fill(a, value):
    a[...] = value


IMPLEMENTS.update({np.copyto: copyto, np.put_along_axis: put_along_axis,
                   np.fill_diagonal: fill_diagonal, np.put: put, "fill": fill,
                   operator.setitem: setitem_})
