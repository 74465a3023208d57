"""Code generation: a Program becomes the source of one straight-line Python function.

Every instruction calls its primitive's NumPy implementation directly, with no tracked values
and no dispatch, unless the primitive's table has an emitter for this backend, ``"numpy"``
(operators for arithmetic, subscripts for indexing, methods for reshapes: yota.kernel.emit says
how one is written). Constants the source cannot spell as literals live in the function's
globals (``c0``, ``c1``...). Guards return the index of the failing guard; a successful call
returns ``(value, GradientResult)``.
"""
from __future__ import annotations

import keyword
import operator
import re

import numpy as np

from ..result import GradientResult
from . import guards as guards_mod
from .ir import Var

# Arrays smaller than this are left to the end of the call instead of an explicit ``del``
# (dropping even small ones lets NumPy reuse their memory at once: measured faster on W3).
DEL_MIN_BYTES = 0

BACKEND = "numpy"  # the key of this code generator's entries in a primitive's ``emitters``


class Namer:
    """Unique, valid Python identifiers."""

    def __init__(self, reserved=()):
        self.used = set(reserved) | set(keyword.kwlist) | {"None", "True", "False"}

    def fresh(self, hint):
        base = re.sub(r"\W", "_", str(hint)) or "x"
        if base[0].isdigit():
            base = "_" + base
        name, i = base, 1
        while name in self.used:
            i += 1
            name = f"{base}_{i}"
        self.used.add(name)
        return name


# Globals bound on demand with ``ns.setdefault`` (here and in trace.py): reserved up front, so
# a parameter or constant named ``float64`` or ``zeros`` never shadows or replaces them.
HELPERS = frozenset({"asarray", "array", "zeros", "index", "float64"})


class _Emitter:
    def __init__(self, program, fname):
        self.program = program
        self.avals = program.avals
        self.ns = {"GradientResult": GradientResult, "np": np}
        self.namer = Namer(set(self.ns) | HELPERS)
        self.fname = self.namer.fresh(fname)
        self.names = {}           # var -> Python name holding it
        self.const_names = {}     # id(const) -> name
        self.impl_names = {}      # id(impl) -> name
        self.lines = []
        self.keep = []            # constants referenced from the namespace

    # --- names ---------------------------------------------------------------------------
    def glob(self, hint, value):
        name = self.namer.fresh(hint)
        self.ns[name] = value
        return name

    def impl(self, prim):
        fn = prim.impl
        name = self.impl_names.get(id(fn))
        if name is None:
            hint = getattr(fn, "__name__", None) or prim.name
            if hint == "<lambda>":
                hint = prim.name
            name = self.impl_names[id(fn)] = self.glob(hint, fn)
        return name

    def const(self, value):
        """A literal for plain values, else a name bound in the function's globals."""
        lit = literal(value)
        if lit is not None:
            return f"({lit})" if lit.startswith("-") else lit
        name = self.const_names.get(id(value))
        if name is None:
            hint = _dtype_hint(value) or "c"
            name = self.const_names[id(value)] = self.glob(hint, value)
            self.keep.append(value)
        return name

    def aval(self, a):
        """A variable argument's type, shape and dtype; None for a constant."""
        return self.avals[a.n] if type(a) is Var else None

    @staticmethod
    def is_operand(a):
        """Operators are safe on variables and numbers (a list would repeat, not add)."""
        return _operand(a)

    def ref(self, a):
        if type(a) is Var:
            return self.names[a.n]
        if type(a) in (list, tuple) and any(type(e) is Var for e in a):
            inner = ", ".join(self.ref(e) for e in a)
            if type(a) is list:
                return f"[{inner}]"
            return f"({inner},)" if len(a) == 1 else f"({inner})"
        return self.const(a)

    def call_args(self, ins):
        parts = [self.ref(a) for a in ins.args]
        parts += [f"{k}={self.const(v)}" for k, v in ins.kwargs.items()]
        return ", ".join(parts)

    # --- instructions ----------------------------------------------------------------------
    def instr(self, ins):
        if ins.inplace is not None:
            self.inplace(ins)
            return
        target = self.names[ins.out] = f"v{ins.out}"
        self.lines.append(f"{target} = {self.expr(ins)}")

    def expr(self, ins):
        prim, fn = ins.prim, ins.fn
        emitter = prim.emitters.get(BACKEND)
        if emitter is not None:
            text = emitter(self, ins)
            if text is not None:
                return text
        text = f"{self.impl(prim)}({self.call_args(ins)})"
        out = self.avals[ins.out]
        if out.is_array and out.shape == () and not isinstance(fn, np.ufunc):
            # tracing stored a 0-d array for what the implementation returned (maybe a Python
            # float, where 1 / 0 raises): replay sees the same type
            self.ns.setdefault("asarray", np.asarray)
            text = f"asarray({text})"
        return text

    def inplace(self, ins):
        target = self.names[ins.args[ins.inplace].n]
        emitter = ins.prim.emitters.get(BACKEND)
        statement = emitter(self, ins) if emitter is not None else None
        if statement is None:
            statement = f"{self.impl(ins.prim)}({self.call_args(ins)}, out={target})"
        self.lines.append(statement)
        self.names[ins.out] = target

    # --- the function ----------------------------------------------------------------------
    def guard(self, index, g):
        v = self.names[g.var]
        fails = guards_mod.simple_check(g)
        if fails is not None:
            if "index(" in fails:
                self.ns.setdefault("index", operator.index)
            cond = fails.format(v=v)
        else:
            cond = f"not {self.glob('holds', guards_mod.holds)}({self.glob('g', g)}, {v})"
        self.lines.append(f"if {cond}: return {index}")


def _operand(a):
    """Operators are safe on variables and numbers (a list would repeat, not add)."""
    return type(a) in (Var, int, float, bool, complex, np.ndarray) or isinstance(a, np.generic)


def literal(value):
    """Python source for ``value`` when it is a plain literal that evaluates to an equal object of
    the same type, else None."""
    t = type(value)
    if value is None or value is Ellipsis or t is bool or t is int or t is str:
        return repr(value)
    if t is float:
        return repr(value) if np.isfinite(value) else None
    if t is slice:
        parts = [literal(p) for p in (value.start, value.stop, value.step)]
        return None if any(p is None and v is not None for p, v in
                           zip(parts, (value.start, value.stop, value.step))) else \
            f"slice({', '.join(parts)})"
    if t is tuple:
        parts = [literal(e) for e in value]
        if any(p is None for p in parts):
            return None
        return f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"
    return None


def _dtype_hint(value):
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, type) and issubclass(value, np.generic):
        return value.__name__
    return None


def register_emitter(prim, emitter):
    """Former spelling of ``prim.defemit("numpy", emitter)``, kept for packs that used it; its
    emitters never saw in-place instructions, so they still don't."""
    prim.defemit(BACKEND, lambda em, ins: None if ins.inplace is not None else emitter(em, ins))


def emit_parameters(em, program, result):
    """The function's parameter names and its first lines: Python float (or complex)
    parameters made NumPy scalars, the guards on parameters checked at once. Returns the names
    and ``{var: [guard index]}`` for the guards checked after the instruction defining ``var``.
    Shared with backends whose host function is written like this one (yota-numba)."""
    pnames = [em.namer.fresh(n) for n in program.param_names]
    for n, name in zip(program.params, pnames):
        em.names[n] = name
    for n, name in zip(program.params, pnames):
        to_numpy = result.float_params.get(n)   # a Python float (or complex) parameter
        if to_numpy:
            spelled = "float64" if to_numpy is np.float64 else "scalar_complex128"
            em.ns.setdefault(spelled, to_numpy)
            em.lines.append(f"{name} = {spelled}({name})")
    by_var = {}
    for i, g in enumerate(program.guards):
        by_var.setdefault(g.var, []).append(i)
    for n in program.params:
        for i in by_var.get(n, ()):
            em.guard(i, program.guards[i])
    return pnames, by_var


def generate(program, result, fname="compiled"):
    """Source and globals for ``program``; ``result`` (a ResultSpec) builds the return value."""
    em = _Emitter(program, fname)
    pnames, by_var = emit_parameters(em, program, result)
    memory = getattr(program, "memory", None)
    dels = _del_schedule(program, memory) if memory is not None else {}
    for i, ins in enumerate(program.instrs):
        em.instr(ins)
        for gi in by_var.get(ins.out, ()):
            em.guard(gi, program.guards[gi])
        names = [em.names[n] for n in dels.get(i, ())]
        if names:
            em.lines.append(f"del {', '.join(names)}")
    em.lines.append("return " + result.emit(em, program))
    header = f"def {em.fname}({', '.join(pnames)}):"
    source = "\n".join([header] + ["    " + line for line in em.lines]) + "\n"
    return source, em.ns


def _del_schedule(program, memory):
    """Instruction index -> variables to drop right after it (big arrays only, names that no
    later instruction reads; in-place chains share a name and die with their last member)."""
    last = memory.last_use
    end = len(program.instrs)
    name_of, name_last, name_size = {}, {}, {}
    for i, ins in enumerate(program.instrs):
        root = name_of[ins.args[ins.inplace].n] if ins.inplace is not None else ins.out
        name_of[ins.out] = root
        name_last[root] = max(name_last.get(root, -1), last.get(ins.out, i))
        name_size[root] = program.avals[ins.out].nbytes if program.avals[ins.out].is_array else 0
    schedule = {}
    for root, when in name_last.items():
        if when < end and name_size[root] >= DEL_MIN_BYTES:
            schedule.setdefault(when, []).append(root)
    return schedule


def build(source, namespace, fname):
    """exec the source into a function."""
    code = compile(source, f"<yota compiled {fname}>", "exec")
    exec(code, namespace)
    return namespace[fname]
