"""Code generation: a Program becomes the source of one straight-line Python function.

Every instruction calls its primitive's NumPy implementation directly (operators for arithmetic,
subscripts for indexing, methods for reshapes), with no tracked values and no dispatch. Constants
the source cannot spell as literals live in the function's globals (``c0``, ``c1``...). Guards
return the index of the failing guard; a successful call returns ``(value, GradientResult)``.
"""
from __future__ import annotations

import keyword
import operator
import re

import numpy as np

from ..core_pack import indexing, shape
from ..result import GradientResult
from . import guards as guards_mod
from .ir import Var

# Arrays smaller than this are left to the end of the call instead of an explicit ``del``
# (dropping even small ones lets NumPy reuse their memory at once: measured faster on W3).
DEL_MIN_BYTES = 0

_BINARY = {np.add: "+", np.subtract: "-", np.multiply: "*", np.true_divide: "/",
           np.power: "**", np.matmul: "@", np.floor_divide: "//", np.remainder: "%"}
_AUGMENTED = {np.add, np.subtract, np.multiply, np.true_divide, np.power}
_COMMUTATIVE = {np.add, np.multiply}
_UNARY = {np.negative: "-"}


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
        prim, fn, args = ins.prim, ins.fn, ins.args
        if not ins.kwargs and all(_operand(a) for a in args):
            if fn in _BINARY and len(args) == 2:
                return f"{self.ref(args[0])} {_BINARY[fn]} {self.ref(args[1])}"
            if fn in _UNARY and len(args) == 1:
                return f"{_UNARY[fn]}{self.ref(args[0])}"
        special = _SPECIAL.get(prim)
        if special is not None:
            text = special(self, ins)
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
        fn, args, pos = ins.fn, ins.args, ins.inplace
        target = self.names[args[pos].n]
        other = [a for i, a in enumerate(args) if i != pos]
        if fn in _AUGMENTED and len(args) == 2 and (pos == 0 or fn in _COMMUTATIVE) \
                and _operand(other[0]):
            self.lines.append(f"{target} {_BINARY[fn]}= {self.ref(other[0])}")
        else:
            self.lines.append(f"{self.impl(ins.prim)}({self.call_args(ins)}, out={target})")
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


def _subscript_part(em, p, parts):
    if type(p) is indexing._Slot:
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


def _getitem(em, ins):
    x, parts = ins.args[0], ins.args[1:]
    index = ins.kwargs["index"]
    if type(index) is tuple:
        if not index:
            return f"{em.ref(x)}[()]"
        inner = ", ".join(_subscript_part(em, p, parts) for p in index)
        return f"{em.ref(x)}[{inner}{',' if len(index) == 1 else ''}]"
    if type(index) is indexing._Slot or type(index) is slice or type(index) is int:
        return f"{em.ref(x)}[{_subscript_part(em, index, parts)}]"
    return f"{em.ref(x)}[{em.const(index)}]"


def _is_array(em, a):
    return type(a) is Var and em.avals[a.n].is_array


def _reshape(em, ins):
    x = ins.args[0]
    order = ins.kwargs.get("order", ins.args[2] if len(ins.args) > 2 else "C")
    if not _is_array(em, x) or order != "C" or len(ins.args) < 2:
        return None
    return f"{em.ref(x)}.reshape({em.const(tuple(em.avals[ins.out].shape))})"


def _transpose(em, ins):
    x = ins.args[0]
    if not _is_array(em, x):
        return None
    axes = ins.args[1] if len(ins.args) > 1 else ins.kwargs.get("axes")
    if axes is None:
        return f"{em.ref(x)}.T"
    return f"{em.ref(x)}.transpose({em.const(tuple(axes))})"


def _sum_to(em, ins):
    x = ins.args[0]
    if not _is_array(em, x):
        return None
    have, want = em.avals[x.n].shape, tuple(em.avals[ins.out].shape)
    lead = len(have) - len(want)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(want)
                                      if n == 1 and have[lead + i] != 1)
    if not axes:
        return None
    if len(axes) == lead:  # only leading axes: summing them away gives the shape directly
        return f"{em.ref(x)}.sum(axis={em.const(axes)})"
    text = f"{em.ref(x)}.sum(axis={em.const(axes)}, keepdims=True)"
    if lead:
        text += f".reshape({em.const(want)})"
    return text


def _astype(em, ins):
    x = ins.args[0]
    if type(x) is not Var or em.avals[x.n].dtype is None:
        return None
    dtype = ins.args[1] if len(ins.args) > 1 else ins.kwargs.get("dtype")
    out = em.avals[ins.out]
    if out.type is not np.ndarray and out.type is not em.avals[x.n].type:
        return None
    if em.avals[x.n].type is np.ndarray and out.type is np.ndarray:
        return f"{em.ref(x)}.astype({em.const(np.dtype(dtype))})"
    return None


_SPECIAL = {
    indexing.getitem: _getitem,
    shape.reshape: _reshape,
    shape.transpose: _transpose,
    shape.sum_to: _sum_to,
    shape.astype: _astype,
}


def register_emitter(prim, emitter):
    """Let a pack emit readable source for its primitive: ``emitter(em, ins)`` returns an
    expression string (or None to fall back to calling ``prim.impl``)."""
    _SPECIAL[prim] = emitter


def generate(program, result, fname="compiled"):
    """Source and globals for ``program``; ``result`` (a ResultSpec) builds the return value."""
    em = _Emitter(program, fname)
    pnames = [em.namer.fresh(n) for n in program.param_names]
    for n, name in zip(program.params, pnames):
        em.names[n] = name
    for n, name in zip(program.params, pnames):
        if result.float_params.get(n):
            em.ns.setdefault("float64", np.float64)
            em.lines.append(f"{name} = float64({name})")
    by_var = {}
    for i, g in enumerate(program.guards):
        by_var.setdefault(g.var, []).append(i)
    for n in program.params:
        for i in by_var.get(n, ()):
            em.guard(i, program.guards[i])
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
