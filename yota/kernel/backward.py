"""Recording the backward pass: call each primitive's rules, un-broadcast, accumulate.

Rules run on the tape's own tracked values, so every op of the backward pass lands on the same
tape as the forward pass. Un-broadcasting and dtype fixing happen here, once, for every rule.

Complex intermediates (an FFT, ``x * 1j``) follow JAX's convention: the gradient held for a
complex value z = a + ib is dL/da - i dL/db, so the rule of a holomorphic function is the same
formula as for reals (``dy * f'(z)``, no conjugate). Where a gradient reaches a real argument
only its real part is kept. A complex input of ``grad`` gets the gradient held for it, so
``grad`` returns dL/dx - i dL/dy for z = x + iy, as JAX and autograd do (docs/complex.md).
"""
from __future__ import annotations

import numpy as np

from ..errors import NoRuleError, RuleError, a_or_an
from .primitive import describe_argument
from .tracked import Tracked
from .unbroadcast import astype, real, sum_to


def backward(tape, output, seed, record=True):
    """Gradients of ``output`` (weighted by ``seed``) w.r.t. every variable that reaches it.

    Returns a dict: variable number -> gradient (a tracked value of ``tape``, or a constant when
    it does not depend on the inputs). Ops that do not reach the output are skipped.

    With ``record=False`` the rules run on the values behind this tape's variables, so the
    backward pass is not recorded here (a plain first-order ``grad`` needs no record of it and
    runs faster); values tracked by an outer tape still record there, so nesting keeps working.
    """
    if type(output) is not Tracked:
        return {}
    output._tape.refresh(output)  # a view whose base was written derives itself again (writes.py)
    if output._tape is not tape:
        return {}
    grads = {output._var: seed}
    pop, get = grads.pop, grads.get
    settled = None  # variables known to carry no gradient (one graph walk per backward pass)
    for op in reversed(tape.ops[: len(tape.ops)]):
        out = op.out
        g = pop(out._var, None)
        if g is None:
            continue
        prim = op.prim
        if not prim.differentiable or out.dtype.kind not in "fc":
            continue
        args, kwargs = op.args, op.kwargs
        values = None  # the values behind args, computed once per op when not recording
        for argnum, arg in enumerate(args):
            if type(arg) is not Tracked or arg._tape is not tape:
                continue
            value = arg._value
            try:
                dtype = value.dtype
            except AttributeError:   # a Python scalar static mode reads at call time: data
                continue
            if dtype.kind not in "fc":
                continue
            if argnum in prim.nondiff_argnums:
                if argnum not in prim.zero_gradient:   # a float where none may flow: look
                    if settled is None:
                        settled = set()
                    _refuse_gradient(tape, prim, argnum, arg, settled)
                continue
            rule = prim.rules.get(argnum)
            if rule is None:
                raise NoRuleError(
                    f"yota: primitive {prim.name} has no gradient rule for argument {argnum}; "
                    f"define one with @{prim.name}.defgrad(argnum={argnum}), or mark the argument "
                    "non-differentiable with @yota.primitive(nondiff_argnums=...)"
                )
            try:
                if record:
                    ga = rule(g, out, *args, **kwargs)
                else:
                    if values is None:
                        values = [a._value if type(a) is Tracked and a._tape is tape else a
                                  for a in args]
                    ga = rule(g, out._value, *values, **kwargs)
            except Exception as exc:
                _name_the_rule(exc, rule, prim, argnum)
                raise
            try:
                fits = ga.shape == value.shape and ga.dtype == dtype
            except AttributeError:
                fits = False
            if not fits:
                ga = _fit(ga, arg, prim, argnum)
            var = arg._var
            prev = get(var)
            grads[var] = ga if prev is None else prev + ga
    return grads


def _name_the_rule(exc, rule, prim, argnum):
    """An error raised inside a gradient rule keeps its type; a note names the rule and the
    primitive (the traceback shows the rule's line, but not which primitive it belongs to)."""
    name = getattr(rule, "__qualname__", None) or getattr(rule, "__name__", None) or repr(rule)
    note = (f"yota: raised by the gradient rule {name} of primitive {prim.name} for argument "
            f"{argnum}")
    if note not in getattr(exc, "__notes__", ()):
        exc.add_note(note)


def _refuse_gradient(tape, prim, argnum, arg, settled):
    """Raise if a gradient reaches ``arg``, at a position the primitive declared
    non-differentiable: dropping it would return zeros for a gradient that is not zero.

    Lifted data (static mode's constant inputs) and values cut by non-differentiable primitives
    carry none and pass. ``settled`` collects what earlier walks of this pass proved clean, so a
    long tape is walked once in all."""
    if not tape.carries_gradient(arg._var, settled):
        return
    raise NoRuleError(
        f"yota: {describe_argument(prim, argnum)} is declared non-differentiable "
        f"(nondiff_argnums={tuple(sorted(prim.nondiff_argnums))}), but the value passed there "
        "depends on what is differentiated, and dropping its gradient would silently give "
        f"zeros. Define its rule with @{prim.name}.defgrad(argnum={argnum}) and take {argnum} "
        f"out of nondiff_argnums, or pass yota.stop_gradient(value) to cut the gradient on "
        "purpose (or, when the output is piecewise constant in it, declare "
        f"{prim.name}.declare(zero_gradient=({argnum},)))"
    )


def _fit(g, arg, prim, argnum):
    """Bring a rule's result to the argument's shape (summing broadcast axes) and dtype.

    A complex gradient for a real argument keeps its real part (see the module docstring)."""
    try:
        gshape, gdtype = g.shape, g.dtype
    except AttributeError:
        if not isinstance(g, (int, float, complex)):
            raise RuleError(
                f"yota: the gradient rule of {prim.name} for argument {argnum} returned "
                f"{type(g).__name__}, not an array"
            ) from None
        g = np.asarray(g, dtype=arg.dtype)
        gshape, gdtype = g.shape, g.dtype
    if gdtype.kind == "c" and arg.dtype.kind != "c":
        g = real(g)
        gdtype = g.dtype
    shape = arg.shape
    if gshape != shape:
        if not _reducible(gshape, shape):
            raise RuleError(
                f"yota: the gradient rule of {prim.name} for argument {argnum} returned shape "
                f"{gshape}, which cannot be summed to the argument's shape {shape}; the rule "
                "must return the incoming gradient's contribution for that argument"
            )
        g = sum_to(g, shape)
    if gdtype != arg.dtype:
        if gdtype.kind not in "fiubc":
            raise RuleError(
                f"yota: the gradient rule of {prim.name} for argument {argnum} returned dtype "
                f"{gdtype} for {a_or_an(arg.dtype)} argument"
            )
        g = astype(g, arg.dtype)
    return g


def _reducible(gshape, shape):
    """True when ``shape`` broadcasts to ``gshape`` (so summing recovers it)."""
    if len(shape) > len(gshape):
        return False
    for have, want in zip(gshape[len(gshape) - len(shape):], shape):
        if want != 1 and want != have:
            return False
    return True
