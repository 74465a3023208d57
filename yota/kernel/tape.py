"""The tape: what a traced function computed, as plain data.

Variables are numbered (``%3``). Each ``Op`` calls one primitive on variables (tracked values of
this tape) and constants, with constant keyword arguments, and defines one new variable. The tape
also names its inputs, its outputs (recorded explicitly, never "the last op") and the guards taken
when a tracked value was turned into a Python value. Forward and backward ops share one tape.
"""
from __future__ import annotations

import bisect
import threading

import numpy as np

from ..errors import YotaError, a_or_an
from . import writes
from .tracked import Tracked

_state = threading.local()


def current_depth():
    """How many tapes are tracing in this thread right now (0 outside of ``grad``)."""
    return getattr(_state, "depth", 0)


def _out_var(op):
    return op.out._var


class Op:
    """``out = prim(*args, **kwargs)``; args hold tracked values of the tape and constants."""

    __slots__ = ("prim", "args", "kwargs", "out")

    def __init__(self, prim, args, kwargs, out):
        self.prim = prim
        self.args = args
        self.kwargs = kwargs
        self.out = out

    def __repr__(self):
        parts = [_show(a) for a in self.args]
        parts += [f"{k}={_show(v)}" for k, v in self.kwargs.items()]
        return f"%{self.out._var} = {self.prim.name}({', '.join(parts)})"


def _show(x):
    if type(x) is Tracked:
        return f"%{x._var}"
    if isinstance(x, np.ndarray):
        return f"<const {x.dtype}{list(x.shape)}>" if x.size > 4 else repr(x.tolist())
    if isinstance(x, (list, tuple)) and any(type(e) is Tracked for e in x):
        inner = ", ".join(_show(e) for e in x)
        return f"[{inner}]" if isinstance(x, list) else f"({inner})"
    return repr(x)


class Guard:
    """During tracing, tracked value ``var`` was turned into a Python value by ``kind``."""

    __slots__ = ("var", "kind", "value")

    def __init__(self, var, kind, value):
        self.var, self.kind, self.value = var, kind, value

    def __repr__(self):
        kind = f"{self.kind[0]}{self.kind[1]!r}" if isinstance(self.kind, tuple) else self.kind
        return f"guard {kind}(%{self.var}) == {self.value!r}"


class Tape:
    """Records primitive calls made on its tracked values."""

    def __init__(self, depth=None):
        self.depth = current_depth() + 1 if depth is None else depth
        self.nodes = []       # var number -> Tracked
        self.ops = []
        self.inputs = []      # Tracked inputs, in order
        self.outputs = []     # Tracked or constants, recorded explicitly
        self.guards = []
        self.forward_ops = 0  # how many ops the forward pass recorded
        self.constant_inputs = set()  # inputs that are not differentiated (static mode lifts data)
        self.python_floats = set()    # inputs given as Python floats or complex (results alike)
        self.out_of_date = {}  # id(view) -> (view, its producer, or None if stale): writes.py

    # --- recording ---------------------------------------------------------------------------
    def input(self, value, python_scalar=False):
        """A new input variable holding ``value``; ``python_scalar`` keeps a Python int or
        float as it is (NumPy treats it as a weak scalar: ``float32_array * 0.1`` is float32)."""
        if not python_scalar and not hasattr(value, "dtype"):
            value = np.complex128(value) if type(value) is complex else np.float64(value)
            self.python_floats.add(len(self.nodes))
        t = Tracked(value, self, len(self.nodes))
        self.nodes.append(t)
        self.inputs.append(t)
        return t

    def record(self, prim, args, kwargs):
        """Run ``prim`` on the values behind ``args`` and record the call (the hot path)."""
        if self.out_of_date:  # a view of a value written since may be among the arguments
            writes.refresh_args(self, args)
        nested = False
        raw = []
        for a in args:
            if type(a) is Tracked:
                if a._tape is self:
                    a = a._value
                    nested = nested or type(a) is Tracked
                else:
                    nested = True
            raw.append(a)
        if kwargs:
            for v in kwargs.values():
                if type(v) is Tracked:
                    raise YotaError(
                        f"yota: {prim.name} was given a tracked value as a keyword argument; "
                        "keywords of a primitive are constants, pass arrays positionally"
                    )
        value = (prim if nested else prim.impl)(*raw, **kwargs)
        if not hasattr(value, "dtype"):
            if isinstance(value, (tuple, list)):
                raise YotaError(
                    f"yota: primitive {prim.name} returned {a_or_an(type(value).__name__)}; a primitive "
                    "returns one array. Split it into one primitive per output"
                )
            value = np.asarray(value)
        out = Tracked(value, self, len(self.nodes))
        self.nodes.append(out)
        self.ops.append(Op(prim, args, kwargs, out))
        return out

    def end_forward(self, output=None):
        """The traced function returned ``output``: views it left waiting are derived again (so
        what it returned shows every write; a stale one among ``output``'s values raises), and
        the ops recorded from here on are the backward pass."""
        if self.out_of_date:
            writes.settle(self)
            if self.out_of_date:  # only stale views remain: none may be handed over
                writes.refuse_stale(self, output)
        self.forward_ops = len(self.ops)

    # --- writes and views (the protocol is explained in writes.py) ----------------------------
    def rebind(self, x, new):
        """Make the user's object ``x`` hold ``new``; views of its old content wait to be
        derived again."""
        return writes.rebind(self, x, new)

    def write(self, x, new, view_of=None):
        """Give ``x`` the content ``new``: through its base when ``x`` is a view made by
        ``view_of`` (its primitive's ``writes_through`` entry), else by rebinding ``x``."""
        return writes.write(self, x, new, view_of)

    def refresh(self, x):
        """Before reading ``x``'s content: derive it again if it waits for it, raise if stale."""
        if self.out_of_date:
            writes.refresh(self, x)

    def state(self, x):
        """``"live"``, ``"rederive"`` or ``"stale"`` (see writes.py)."""
        return writes.state(self, x)

    def producer(self, x):
        """The op that defined ``x`` (None for an input)."""
        return writes.producer(self, x)

    # --- conversions to Python values ----------------------------------------------------------
    def concretized(self, tracked, kind, value):
        """Called when a tracked value became a Python value (an ``if``, ``float(x)``...)."""
        self.guards.append(Guard(tracked._var, kind, value))

    def carries_gradient(self, var, settled=None):
        """Can a gradient reach a differentiated input from variable ``var``? Follows exactly
        the edges ``backward`` follows. Used to refuse ``float(x)`` where that would silently
        drop a gradient (on the slow path only: conversions to Python values are rare), and a
        gradient reaching a ``nondiff_argnums`` position. ``settled``: variables known to carry
        none; a walk that finds none adds what it visited (repeated walks stay linear)."""
        ops, seen, stack = self.ops, set(), [var]
        known = settled if settled is not None else ()
        while stack:
            v = stack.pop()
            if v in seen or v in known:
                continue
            seen.add(v)
            i = bisect.bisect_left(ops, v, key=_out_var)
            if i == len(ops) or ops[i].out._var != v:   # an input
                if v not in self.constant_inputs:
                    return True
                continue
            prim = ops[i].prim
            if not prim.differentiable:
                continue
            for argnum, a in enumerate(ops[i].args):
                if type(a) is Tracked and a._tape is self and argnum not in prim.nondiff_argnums \
                        and a.dtype.kind in "fc":
                    stack.append(a._var)
        if settled is not None:
            settled |= seen
        return False

    def release(self):
        """Drop every recorded value now. Tracked values point at their tape and the tape at
        them, a cycle only the garbage collector would break: a finished dynamic call frees its
        intermediates at once instead."""
        self.nodes, self.ops, self.inputs, self.outputs, self.guards = [], [], [], [], []
        self.out_of_date = {}

    # --- reading -----------------------------------------------------------------------------
    def __len__(self):
        return len(self.ops)

    def __repr__(self):
        lines = ["inputs: " + ", ".join(
            f"%{t._var}: {t.dtype}{list(t.shape)}" for t in self.inputs)]
        for i, op in enumerate(self.ops):
            if i == self.forward_ops and i:
                lines.append("# backward")
            lines.append(repr(op))
        lines += [repr(g) for g in self.guards]
        lines.append("outputs: " + ", ".join(_show(o) for o in self.outputs))
        return "\n".join(lines)


class reentered:
    """Make ``tape`` the innermost tape again while its backward pass is recorded on it."""

    def __init__(self, tape):
        self.tape = tape

    def __enter__(self):
        self.saved = current_depth()
        _state.depth = self.tape.depth

    def __exit__(self, *exc):
        _state.depth = self.saved
        return False


class tracing:
    """Context manager: a new tape, one level deeper than any tape already tracing here."""

    def __enter__(self):
        self.tape = Tape()
        _state.depth = self.tape.depth
        return self.tape

    def __exit__(self, *exc):
        _state.depth = self.tape.depth - 1
        return False
