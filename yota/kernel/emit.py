"""Ready-made table entries: operator emitters for the "numpy" code generator, and the common
"no-op" rule. The core's primitives and every pack declare them the same way::

    add.defemit("numpy", infix("+", augmented=True, commutative=True))
    reshape.declare(noop=passes_first_on)

An emitter for the "numpy" backend is ``emitter(em, ins) -> str or None``. ``em`` is the code
generator: ``em.ref(a)`` spells an argument (a variable's name or a constant), ``em.aval(a)`` is
a variable argument's type, shape and dtype (None for a constant), ``em.avals[ins.out]`` the
output's, ``em.is_operand(a)`` says an operator may take ``a`` (a list would repeat, not add),
``em.const(v)`` spells any value. ``ins`` is the call: ``ins.args``, ``ins.kwargs``, ``ins.out``.
Returning None falls back to calling the primitive's implementation. When ``ins.inplace`` is set
(the memory pass found an argument's buffer dying there: only for elementwise ufuncs), the
emitter returns a *statement* that writes the result into ``ins.args[ins.inplace]``, or None
(then ``impl(..., out=that)`` is emitted).
"""
from __future__ import annotations

__all__ = ["infix", "prefix", "passes_first_on"]


def infix(symbol, augmented=False, commutative=False):
    """``a <symbol> b``; with ``augmented``, ``a <symbol>= b`` when writing into ``a``'s buffer
    (or into ``b``'s, for a ``commutative`` operator)."""

    def emit(em, ins):
        args = ins.args
        if ins.kwargs or len(args) != 2 or not (em.is_operand(args[0]) and em.is_operand(args[1])):
            return None
        pos = ins.inplace
        if pos is None:
            return f"{em.ref(args[0])} {symbol} {em.ref(args[1])}"
        if augmented and (pos == 0 or commutative):
            return f"{em.ref(args[pos])} {symbol}= {em.ref(args[1 - pos])}"
        return None

    emit.__qualname__ = emit.__name__ = f"infix({symbol!r})"
    return emit


def prefix(symbol):
    """``<symbol>a`` (``-a``)."""

    def emit(em, ins):
        if ins.kwargs or len(ins.args) != 1 or ins.inplace is not None \
                or not em.is_operand(ins.args[0]):
            return None
        return f"{symbol}{em.ref(ins.args[0])}"

    emit.__qualname__ = emit.__name__ = f"prefix({symbol!r})"
    return emit


def passes_first_on(args, kwargs, avals, out):
    """The ``noop`` rule of a primitive that changes nothing when its output would look exactly
    like its first argument (a reshape to the same shape, a cast to the same dtype)."""
    if avals and avals[0] is not None and avals[0].same(out):
        return args[0]
    return None
