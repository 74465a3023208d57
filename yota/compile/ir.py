"""The compiler's program: a tape turned into plain data that passes can rewrite.

A ``Program`` holds numbered variables. Its parameters are the lifted inputs (in call order), each
``Instr`` calls one primitive's implementation, ``outputs`` lists what the caller gets back
(variables or constants) and ``guards`` the Python values tracing saw. ``avals`` remembers, per
variable, the Python type, shape and dtype seen while tracing: a cache key fixes every input's
shape and dtype, so these hold on every call the program serves.
"""
from __future__ import annotations

import numpy as np

from ..kernel.tracked import Tracked


class Var:
    """A reference to variable ``n`` inside an instruction's arguments or the outputs."""

    __slots__ = ("n",)

    def __init__(self, n):
        self.n = n

    def __repr__(self):
        return f"%{self.n}"

    def __eq__(self, other):
        return type(other) is Var and other.n == self.n

    def __hash__(self):
        return hash(("Var", self.n))


class Aval:
    """What a variable looked like while tracing: its Python type, shape and dtype."""

    __slots__ = ("type", "shape", "dtype")

    def __init__(self, type_, shape, dtype):
        self.type, self.shape, self.dtype = type_, shape, dtype

    @classmethod
    def of(cls, value):
        return cls(type(value), tuple(np.shape(value)), getattr(value, "dtype", None))

    @property
    def is_array(self):
        return self.type is np.ndarray

    @property
    def nbytes(self):
        if self.dtype is None:
            return 0
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    def same(self, other):
        return (self.type is other.type and self.shape == other.shape
                and self.dtype == other.dtype)

    def __repr__(self):
        kind = "" if self.is_array else f"{self.type.__name__} "
        return f"{kind}{self.dtype}{list(self.shape)}"


class Instr:
    """``out = prim.impl(*args, **kwargs)``. ``inplace`` names the argument position whose dying
    buffer receives the result (set by the memory pass), or None."""

    __slots__ = ("prim", "args", "kwargs", "out", "inplace")

    def __init__(self, prim, args, kwargs, out, inplace=None):
        self.prim = prim
        self.args = args
        self.kwargs = kwargs
        self.out = out
        self.inplace = inplace

    @property
    def fn(self):
        return self.prim.impl


    def vars(self):
        """Variable numbers read by this instruction, in order (with repeats)."""
        return list(iter_vars(self.args))

    def replace(self, **changes):
        new = Instr(self.prim, self.args, self.kwargs, self.out, self.inplace)
        for k, v in changes.items():
            setattr(new, k, v)
        return new

    def __repr__(self):
        parts = [show(a) for a in self.args] + [f"{k}={show(v)}" for k, v in self.kwargs.items()]
        mark = f"  [in place of arg {self.inplace}]" if self.inplace is not None else ""
        return f"%{self.out} = {self.prim.name}({', '.join(parts)}){mark}"


class GuardCheck:
    """Tracing turned variable ``var`` into the Python value ``value`` with ``kind``."""

    __slots__ = ("var", "kind", "value")

    def __init__(self, var, kind, value):
        self.var, self.kind, self.value = var, kind, value

    def __repr__(self):
        return f"guard {self.kind}(%{self.var}) == {self.value!r}"


def arg_avals(ins, avals):
    """What a primitive's table rules see of the arguments: per positional argument, the Aval of
    a variable, None for a constant."""
    return [avals[a.n] if type(a) is Var else None for a in ins.args]


class Program:
    """Parameters, instructions, outputs and guards; see the module docstring."""

    def __init__(self, params, instrs, outputs, guards, avals, param_names=None):
        self.params = list(params)          # var numbers, in call order
        self.instrs = list(instrs)
        self.outputs = list(outputs)        # Var or constant
        self.guards = list(guards)          # GuardCheck
        self.avals = avals                  # var number -> Aval
        self.param_names = list(param_names or [f"a{i}" for i in range(len(self.params))])

    def copy(self, **changes):
        new = Program(self.params, self.instrs, self.outputs, self.guards, self.avals,
                      self.param_names)
        for k, v in changes.items():
            setattr(new, k, v)
        return new

    def __repr__(self):
        lines = ["params: " + ", ".join(f"%{p}: {self.avals[p]}" for p in self.params)]
        lines += [repr(i) for i in self.instrs]
        lines += [repr(g) for g in self.guards]
        lines.append("outputs: " + ", ".join(show(o) for o in self.outputs))
        return "\n".join(lines)


def iter_vars(x):
    """Variable numbers inside an argument (a Var, or a list/tuple holding Vars)."""
    if type(x) is Var:
        yield x.n
    elif type(x) in (list, tuple):
        for e in x:
            yield from iter_vars(e)


def substitute(x, env):
    """``x`` with every Var whose number is in ``env`` replaced by ``env[n]``."""
    if type(x) is Var:
        return env.get(x.n, x)
    if type(x) in (list, tuple):
        if not any(True for _ in iter_vars(x)):
            return x
        return type(x)(substitute(e, env) for e in x)
    return x


def has_var(x):
    return any(True for _ in iter_vars(x))


def show(x):
    if type(x) is Var:
        return repr(x)
    if isinstance(x, np.ndarray):
        return f"<const {x.dtype}{list(x.shape)}>" if x.size > 4 else repr(x.tolist())
    if type(x) in (list, tuple) and has_var(x):
        inner = ", ".join(show(e) for e in x)
        return f"[{inner}]" if type(x) is list else f"({inner})"
    return repr(x)


def _convert(x, tape):
    """A tape argument as IR: tracked values of ``tape`` become Vars."""
    if type(x) is Tracked:
        if x._tape is not tape:
            raise NotCompilable("an operation mixes values of two tapes (nested tracing)")
        return Var(x._var)
    if type(x) in (list, tuple) and any(type(e) is Tracked for e in x):
        return type(x)(_convert(e, tape) for e in x)
    return x


class NotCompilable(Exception):
    """The tape holds something the compiler does not handle; static mode falls back."""


def from_tape(tape, params, outputs, param_names=None):
    """A Program for ``tape``: ``params`` and ``outputs`` are tracked values or constants."""
    instrs = []
    for op in tape.ops:
        for v in op.kwargs.values():
            if has_tracked(v):
                raise NotCompilable(f"{op.prim.name} holds a tracked value in a keyword argument")
        args = tuple(_convert(a, tape) for a in op.args)
        instrs.append(Instr(op.prim, args, dict(op.kwargs), op.out._var))
    avals = {}
    for t in tape.nodes:
        value = t._value
        if type(value) is Tracked:
            raise NotCompilable("the tape holds values of an outer tape (nested tracing)")
        avals[t._var] = Aval.of(value)
    guards = [GuardCheck(g.var, g.kind, g.value) for g in tape.guards]
    outs = [_convert(o, tape) for o in outputs]
    return Program([p._var for p in params], instrs, outs, guards, avals, param_names)


def has_tracked(x):
    if type(x) is Tracked:
        return True
    if type(x) in (list, tuple):
        return any(has_tracked(e) for e in x)
    if type(x) is dict:
        return any(has_tracked(e) for e in x.values())
    return False
