"""The reference replay: run a Program one instruction at a time.

Slower than generated code, but plain: a dict from variable number to value, one call per
instruction, the guards checked as soon as their variable exists. Tests compare compiled code
against it, and static mode can use it when code generation is switched off.
"""
from __future__ import annotations

from . import guards as guards_mod
from .ir import Var, substitute


class GuardFailed(Exception):
    """A guard did not hold: the program does not apply to these inputs."""

    def __init__(self, index, reason):
        super().__init__(reason)
        self.index = index
        self.reason = reason


def run(program, values):
    """Run ``program`` on parameter ``values``; returns the list of output values.

    ``values`` are taken as given (Python floats are turned into NumPy float64 as tracing did).
    In-place annotations from the memory pass are honoured, so planned programs run here too.
    """
    env = {}
    for n, v in zip(program.params, values):
        env[n] = _as_traced(v, program.avals[n])
    by_var = {}
    for i, g in enumerate(program.guards):
        by_var.setdefault(g.var, []).append(i)
    for n in program.params:
        _check(program, by_var.get(n, ()), env[n])
    for ins in program.instrs:
        args = [_resolve(a, env) for a in ins.args]
        if ins.inplace is not None:
            value = ins.fn(*args, out=args[ins.inplace], **ins.kwargs)
        else:
            value = ins.fn(*args, **ins.kwargs)
        env[ins.out] = value
        _check(program, by_var.get(ins.out, ()), value)
    return [_resolve(o, env) for o in program.outputs]


def _resolve(a, env):
    if type(a) is Var:
        return env[a.n]
    if type(a) in (list, tuple):
        return substitute(a, env) if any(type(e) is Var or type(e) in (list, tuple)
                                         for e in a) else a
    return a


def _check(program, indices, value):
    for i in indices:
        g = program.guards[i]
        if not guards_mod.holds(g, value):
            raise GuardFailed(i, guards_mod.describe(g, value))


def _as_traced(value, aval):
    """Tracing stored Python floats as NumPy float64; replay sees the same types."""
    if type(value) is float and aval.type is not float:
        return aval.type(value)
    return value
