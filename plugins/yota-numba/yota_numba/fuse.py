"""Partition a Program into NumPy steps and fused clusters, keeping the program's meaning.

One pass in program order. An elementwise instruction the lowering table accepts joins the open
cluster of its output shape (the loop it would run in); a reduction (``sum_to``, the
reductions pack's ``sum``/``mean``) joins the cluster of its input's shape and ends its chain:
its result exists only once the loop is done. Everything else is a NumPy step, run where it
stands. A cluster runs ("closes") as late as possible: when a step outside it reads one of its
values, when one of its own members reads its reduction, when an in-place NumPy step is about
to overwrite a buffer it still reads, or at the end. So every value a cluster reads exists when
it runs, and every reader of its values runs after it.
"""
from __future__ import annotations

import numpy as np

from yota.compile.ir import Var, iter_vars

from . import table
from .cost import keep_on_numpy


class Member:
    """An elementwise instruction inside a loop: ``lowering`` applied to the arguments cast to
    ``in_dtypes``, the result cast to ``out_dtype``."""

    reduction = False

    def __init__(self, ins, lowering, in_dtypes, out_dtype):
        self.ins, self.lowering = ins, lowering
        self.in_dtypes, self.out_dtype = in_dtypes, out_dtype


class Reduction:
    """``out = sum(x over axes)`` (``mean`` divides by ``count`` at the end). ``index`` says,
    per output axis, which loop index addresses it (None: the axis was kept with length 1)."""

    reduction = True

    def __init__(self, ins, x, index, out_aval, count=None):
        self.ins, self.x, self.index, self.out_aval, self.count = ins, x, index, out_aval, count


class Cluster:
    """Instructions fused into one loop nest over ``shape``."""

    def __init__(self, shape):
        self.shape = shape
        self.members = []
        self.owned = set()           # vars computed inside
        self.reductions = set()      # vars that are reduction results (not readable inside)
        self.closed = False

    @property
    def elementwise(self):
        return [m for m in self.members if not m.reduction]


class Plan:
    """The steps, in order: ``("numpy", Instr)`` or ``("loop", Cluster)``."""

    def __init__(self, steps):
        self.steps = steps


def _arg_dtype(a, avals):
    """A dtype, the Python type of a weak scalar, or None (not an elementwise operand)."""
    if type(a) is Var:
        av = avals[a.n]
        return av.dtype if isinstance(av.dtype, np.dtype) else None
    if type(a) in (float, int, bool):
        return type(a)
    if isinstance(a, (np.generic, np.ndarray)):
        return a.dtype
    return None


_LOOP_KINDS = frozenset("biuf")


def elementwise(ins, avals):
    """A Member for an instruction the table lowers, else None."""
    entry = table.entry_for(ins.prim)
    if entry is None or ins.kwargs:
        return None
    out = avals[ins.out]
    if keep_on_numpy(ins, out):
        return None
    if not isinstance(out.dtype, np.dtype) or out.dtype.kind not in _LOOP_KINDS:
        return None
    if not (out.is_array or isinstance(out.type, type) and issubclass(out.type, np.generic)):
        return None
    dtypes = [_arg_dtype(a, avals) for a in ins.args]
    if any(d is None for d in dtypes):
        return None
    for a, d in zip(ins.args, dtypes):
        if isinstance(d, np.dtype) and (d.kind not in _LOOP_KINDS or not d.isnative):
            return None                     # numba types no byte-swapped array
        if isinstance(a, np.ndarray) and np.broadcast_shapes(a.shape, out.shape) != out.shape:
            return None
    loop = table.loop_dtypes(ins.prim, ins.args, dtypes, out.dtype)
    if loop is None:
        return None
    in_dtypes, out_dtype = loop
    lowering = entry(in_dtypes, out_dtype)
    if lowering is None:
        return None
    return Member(ins, lowering, in_dtypes, out_dtype)


def _is_prim(ins, name, module):
    return ins.prim.name == name and getattr(ins.prim.impl, "__module__", "").startswith(module)


def reduction(ins, avals):
    """A Reduction for ``sum_to`` or a plain ``sum``/``mean`` of an array variable, else None."""
    x = ins.args[0] if ins.args else None
    if type(x) is not Var or not avals[x.n].is_array:
        return None
    have = avals[x.n].shape
    dtype = avals[x.n].dtype
    out = avals[ins.out]
    if dtype.kind not in "iuf" or not dtype.isnative or not isinstance(out.dtype, np.dtype) \
            or out.dtype.kind not in "iuf":
        return None
    if _is_prim(ins, "sum_to", "yota.kernel") and len(ins.args) == 2 and not ins.kwargs:
        want = tuple(out.shape)
        lead = len(have) - len(want)
        index = [None if (n == 1 and have[lead + i] != 1) else lead + i
                 for i, n in enumerate(want)]
        return Reduction(ins, x, index, out)
    for name in ("sum", "mean"):
        if _is_prim(ins, name, "yota_reductions") and len(ins.args) == 1 \
                and set(ins.kwargs) <= {"axis", "keepdims"}:
            axis = ins.kwargs.get("axis")
            keep = bool(ins.kwargs.get("keepdims", False))
            axes = _axes(axis, len(have))
            if axes is None:
                return None
            index = []
            for d in range(len(have)):
                if d in axes:
                    if keep:
                        index.append(None)
                else:
                    index.append(d)
            count = None
            if name == "mean":
                count = int(np.prod([have[d] for d in axes], dtype=np.int64))
                if count == 0 or out.dtype.kind != "f":
                    return None
            return Reduction(ins, x, index, out, count)
    return None


def _axes(axis, ndim):
    if axis is None:
        return set(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    try:
        return {int(a) % ndim for a in axes} if ndim else None
    except TypeError:
        return None


def plan(program, worth=None):
    """Partition ``program`` (see the module docstring). ``worth(cluster)`` (cost.py) decides
    whether a closed cluster runs as a loop or as its NumPy steps."""
    from .cost import worth_fusing
    worth = worth or worth_fusing
    avals = program.avals
    storage = program.memory.storage if getattr(program, "memory", None) else {}
    open_ = {}
    owner = {}
    steps = []

    def close(c):
        if c.closed:
            return
        c.closed = True
        if open_.get(c.shape) is c:
            del open_[c.shape]
        if worth(c, program):
            steps.append(("loop", c))
        else:
            for m in c.members:
                owner.pop(m.ins.out, None)
                numpy_step(m.ins)

    def numpy_step(ins):
        if ins.inplace is not None:      # a loop still to run may read the buffer it overwrites
            hit = storage.get(ins.args[ins.inplace].n, frozenset())
            for c in list(open_.values()):
                if any(storage.get(n, frozenset()) & hit for m in c.members
                       for n in reads(m.ins) if n not in c.owned):
                    close(c)
        steps.append(("numpy", ins))

    def reads(ins):
        out = []
        for a in ins.args:
            out.extend(iter_vars(a))
        for v in ins.kwargs.values():
            out.extend(iter_vars(v))
        return out

    for ins in program.instrs:
        m = elementwise(ins, avals) or reduction(ins, avals)
        if m is not None:
            shape = tuple(avals[m.x.n].shape) if m.reduction else tuple(avals[ins.out].shape)
            target = open_.get(shape)
            for n in reads(ins):
                c = owner.get(n)
                if c is None or c.closed or (c is target and n not in c.reductions):
                    continue
                close(c)
            target = open_.get(shape)
            if target is None:
                target = open_[shape] = Cluster(shape)
            target.members.append(m)
            target.owned.add(ins.out)
            if m.reduction:
                target.reductions.add(ins.out)
            owner[ins.out] = target
            continue
        for n in reads(ins):
            c = owner.get(n)
            if c is not None and not c.closed:
                close(c)
        numpy_step(ins)
    for c in list(open_.values()):
        close(c)
    return Plan(steps)
