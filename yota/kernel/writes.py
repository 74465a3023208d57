"""Writes and views: how a single-assignment tape keeps NumPy's in-place meaning.

NumPy mutates arrays; a tape never changes a recorded value. A write ``x[i] = v`` is recorded as a
functional update (a new variable), and then the tape *rebinds* the user's object ``x`` to that
new variable, so every name and container holding ``x`` sees the write, as in NumPy. Ops recorded
before the write keep the old variable: ``rebind`` puts a fresh Tracked of it in their place.

A tracked value is in one of three states, kept by its tape (``tape.state(x)``):

- **live**: ``x._value`` is its content. Every value starts live; the hot paths know no other state.
- **rederive**: ``x`` is a view (it shares memory) of a value that was rebound since, e.g.
  ``row = x[0]; x[0, 1] = 5``. On its next use the tape records the op that made it again, on
  the base's current content, and ``row`` takes that new variable: it shows the 5, as in NumPy.
- **stale**: a view whose producing op read no tracked value sharing its memory, so yota cannot
  derive it again; every use raises InPlaceError(STALE_MESSAGE).

Transitions, and who makes them:

- ``tape.rebind(x, new)`` (called by the pack that records a write, core_pack/inplace.py): ``x``
  becomes live holding ``new``; every live value of the tape recorded after ``x`` that shares
  memory with x's old content goes to rederive (or stale).
- ``tape.refresh(x)``: rederive -> live; stale raises; live is left alone. The kernel calls it
  wherever a value's content is read: ``Tape.record`` for its own arguments (one truth test of
  ``tape.out_of_date`` per op while no view waits), ``Tracked._concrete`` (``float(x)``, ``if``),
  ``backward`` for its output, and ``tape.end_forward(output)`` for every waiting view when the
  traced function returns (so what it returned shows every write; a stale view among the
  returned values raises).
- ``tape.write(x, new, view_of)``: give ``x`` the content ``new``. If ``x`` is a view that writes
  through to its base (``view_of`` is the op that made it, found with ``tape.producer``), the
  primitive's table entry ``view_of.prim.writes_through(view_of, new)`` writes into the base, and
  ``x`` re-derives from it; otherwise ``x`` is rebound.

Only values of the tape doing the write change state: a value of an outer tape that an inner
function writes into is rebound on the outer tape. Views waiting to be refreshed are kept in a
small per-tape dict (``tape.out_of_date``), never in a stand-in tape: ``x._tape`` is always the
real tape, so primitives dispatch on its depth unchanged. The tape itself stays plain data.
"""
from __future__ import annotations

import bisect

import numpy as np

from ..errors import InPlaceError
from .tracked import Tracked

LIVE, REDERIVE, STALE = "live", "rederive", "stale"

STALE_MESSAGE = (
    "yota: this array is a view of a tracked array that was written in place afterwards, and "
    "yota cannot derive it again from its base; take the view again after the write, or copy "
    "it before writing (row = x[0].copy())"
)
INNER_WRITE_MESSAGE = (
    "yota: a value traced by an inner yota.grad was written into an array of an outer "
    "one; compute the new array functionally inside the inner function instead"
)


def _raw(x):
    while type(x) is Tracked:
        x = x._value
    return x


def _out_var(op):
    return op.out._var


def producer(tape, t):
    """The op of ``tape`` that defined ``t`` (None for an input)."""
    ops = tape.ops
    i = bisect.bisect_left(ops, t._var, key=_out_var)
    if i < len(ops) and ops[i].out._var == t._var:
        return ops[i]
    return None


def state(tape, x):
    entry = tape.out_of_date.get(id(x))
    if entry is None or entry[0] is not x:
        return LIVE
    return STALE if entry[1] is None else REDERIVE


def refresh(tape, x):
    """Bring ``x`` up to date: re-derive it from its base (rederive) or raise (stale)."""
    entry = tape.out_of_date.get(id(x))
    if entry is None or entry[0] is not x:
        return
    view, op = entry
    if op is None:
        raise InPlaceError(STALE_MESSAGE)
    del tape.out_of_date[id(x)]
    fresh = op.prim(*op.args, **op.kwargs)  # the producing op, recorded on the base's content
    _adopt(tape, view, fresh)


def refresh_args(tape, args):
    """``refresh`` every argument of a call that waits for it (the slow path of ``record``)."""
    for a in args:
        if type(a) is Tracked and a._tape is tape:
            refresh(tape, a)


def settle(tape):
    """Re-derive every waiting view (stale ones stay stale: they raise only if used)."""
    for view, op in list(tape.out_of_date.values()):
        if op is not None:
            refresh(tape, view)


def refuse_stale(tape, output):
    """Raise if ``output`` (a value, or tuples, lists and dicts of values) holds a stale view:
    handing it over would give content the writes made untrue."""
    stack = [output]
    while stack:
        x = stack.pop()
        if type(x) is Tracked:
            if x._tape is tape:
                refresh(tape, x)
        elif type(x) in (tuple, list):
            stack.extend(x)
        elif type(x) is dict:
            stack.extend(x.values())


def _adopt(tape, x, fresh):
    """``x`` takes the place of ``fresh``, a value just recorded on ``tape``."""
    x._value, x._var = fresh._value, fresh._var
    tape.nodes[fresh._var] = x
    op = producer(tape, fresh)
    if op is not None and op.out is fresh:
        op.out = x


def rebind(tape, x, new):
    """Make the user's object ``x`` hold ``new``, a value just recorded on ``tape``.

    Values recorded after ``x`` that share memory with its old content are views of it: they
    leave the tape's graph (a fresh Tracked of their variable takes their place in it) and wait
    to be re-derived (``refresh``), or are stale when their producer read nothing sharing memory.
    """
    if new._tape is not tape:
        raise InPlaceError(INNER_WRITE_MESSAGE)
    n, xv = x._var, _raw(x)
    swap = {id(x): Tracked(x._value, tape, n)}
    views = []
    for node in tape.nodes[n + 1:]:
        v = _raw(node)
        if node is not new and isinstance(v, np.ndarray) and np.may_share_memory(v, xv):
            op = producer(tape, node)
            again = None  # stale, unless its producer read a tracked value sharing its memory
            if op is not None and any(type(a) is Tracked and np.may_share_memory(_raw(a), v)
                                      for a in op.args):
                # the op's arguments as they are now: they name the user's objects, so the
                # view re-derives from whatever its base holds when it is next used
                again = _Producer(op)
            views.append((node, again))
            swap[id(node)] = Tracked(node._value, tape, node._var)
    start = bisect.bisect_left(tape.ops, n, key=_out_var)
    for op in tape.ops[start:]:
        o = swap.get(id(op.out))
        if o is not None:
            op.out = o
        for a in op.args:
            if id(a) in swap:
                op.args = tuple(swap.get(id(b), b) for b in op.args)
                break
    for t in swap.values():
        tape.nodes[t._var] = t
    for i, t in enumerate(tape.inputs):
        if id(t) in swap:
            tape.inputs[i] = swap[id(t)]
    tape.out_of_date.pop(id(x), None)
    _adopt(tape, x, new)
    for node, op in views:
        tape.out_of_date[id(node)] = (node, op)
    return x


class _Producer:
    """The call that made a view: a primitive with the arguments it had then."""

    __slots__ = ("prim", "args", "kwargs")

    def __init__(self, op):
        self.prim, self.args, self.kwargs = op.prim, op.args, op.kwargs


def write(tape, x, new, view_of=None):
    """Give ``x`` the content ``new`` (a value recorded on ``tape``) with NumPy's meaning."""
    if view_of is not None:
        view_of.prim.writes_through(view_of, new)
        refresh(tape, x)  # x is a view of the base just written: it derives itself again
        return x
    return rebind(tape, x, new)
