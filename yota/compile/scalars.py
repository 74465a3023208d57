"""Python scalars that change every call become inputs of the compiled program.

Non-differentiated Python ints and floats are keyed by value (key.py): right for the values
that steer control flow, shapes and indices, but an iteration counter ``objective(params, i)``
or a time ``t`` that only takes part in arithmetic would re-trace on every call. As
torch.compile does with shapes, once a function has been re-traced ``LIFT_AFTER`` times with keys
that differ only in such scalars, those scalars are lifted: the key holds their type, the
program reads their value at call time (as a Python scalar, so NumPy's weak promotion still
applies: ``float32_array * lr`` stays float32).

Lifting is undone for the function (the scalars are keyed by value again) when tracing shows that
a lifted value does more than arithmetic: ``unsafe`` finds a guard that depends on it (``if``,
``int()``, ``range()``, an index), or a NumPy scalar computed from it alone that would promote an
array differently than the Python scalar eager code computes. Outputs of operations that take a
lifted int get shape guards (``np.repeat(x, n)``), so a shape that follows it is checked.
"""
from __future__ import annotations

import numpy as np

from . import guards as guards_mod
from .ir import iter_vars

LIFT_AFTER = 2   # re-traces differing only in Python scalars before those scalars are lifted


def _uses(ins):
    for a in ins.args:
        yield from iter_vars(a)


def _dependents(program, roots):
    """Variables computed from ``roots``, in program order."""
    dep = set(roots)
    for ins in program.instrs:
        if any(n in dep for n in _uses(ins)):
            dep.add(ins.out)
    return dep


def sized_by_lifted_ints(program):
    """Outputs of instructions that take a value computed from a lifted int (a count, a
    shift, a size): their shape may follow its value, so they get shape guards."""
    avals = program.avals
    ints = [n for n in program.lifted if avals[n].type is int]
    dep = _dependents(program, ints)
    return {ins.out for ins in program.instrs
            if avals[ins.out].is_array and any(n in dep for n in _uses(ins))}


def unsafe(program):
    """Why the lifted scalars of ``program`` must be keyed by value after all, or None."""
    lifted = set(program.lifted)
    if not lifted:
        return None
    avals = program.avals
    dep = _dependents(program, lifted)
    for g in program.guards:
        if g.var in dep and g.kind != "shape":
            return f"a lifted Python scalar reaches a guard ({guards_mod.describe(g)})"
    for ins in program.instrs:
        used = list(_uses(ins))
        strong = [n for n in used if n in dep and n not in lifted and not avals[n].is_array]
        if not strong:
            continue
        arrays = [avals[n].dtype for n in used if avals[n].is_array]
        arrays += [a.dtype for a in ins.args if isinstance(a, np.ndarray)]
        if not arrays:
            continue
        weak = [0.0 if avals[n].dtype is None or avals[n].dtype.kind == "f" else 0
                for n in strong]
        eager = np.result_type(*arrays, *weak)
        traced = np.result_type(*arrays, *[avals[n].dtype for n in strong])
        if eager != traced:
            return (f"a NumPy scalar computed from a lifted Python scalar would make "
                    f"{ins.prim.name} return {traced} where eager code returns {eager}")
    return None
