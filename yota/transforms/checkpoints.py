"""``checkpoint``: keep only a function's output on the tape, recompute the rest when needed.

Its gradient rule re-traces the function and runs the dynamic executor's backward pass on that
temporary tape (``_traced_vjp``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import functools

from .. import tree
from ..core_pack.indexing import _Slot  # the same placeholder an index template uses
from ..errors import InputError, YotaError, a_or_an
from ..kernel.primitive import Primitive
from ..kernel.tracked import Tracked
from ..tracing import _fn_name, trace
from .executors import Dynamic

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["checkpoint"]


class checkpoint:
    """``checkpoint(f)`` computes like ``f`` but keeps only its output on the tape.

    The call is recorded as one primitive that runs ``f`` on plain arrays, so none of ``f``'s
    intermediate values are stored. Its gradient rule is another primitive that traces ``f``
    again from the saved inputs and runs its backward pass, all in one go, then drops that
    temporary tape: memory for the backward pass of a deep chain of checkpointed blocks is one
    block's worth. Higher derivatives through a checkpoint are exact (they re-trace ``f``).
    ``f`` must return one float array; arguments may be arrays or attrs/list/dict trees.
    """

    def __init__(self, f: Callable[..., Any]) -> None:
        if not callable(f):
            raise InputError(f"yota.checkpoint: expected a function, got {f!r}")
        self.f = f
        name = _fn_name(f)
        self._forward = Primitive(self._run, name=f"checkpoint({name})")
        self._forward.defgrad_each(self._forward_rule)
        self._vjp = Primitive(self._run_vjp, name=f"checkpoint_vjp({name})")
        self._vjp.defgrad_each(self._vjp_rule)
        self._last = None  # (dy, leaves, grads): the rules of one op share one recomputation
        functools.update_wrapper(self, f, updated=())

    def __repr__(self):
        return f"<yota.checkpoint of {_fn_name(self.f)}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        leaves = []

        def cut(path, leaf):
            if type(leaf) is Tracked:
                leaves.append(leaf)
                return _Slot(len(leaves) - 1)
            return leaf

        template = tree.map_leaves(cut, (args, kwargs))
        if not leaves:
            return self.f(*args, **kwargs)
        return self._forward(*leaves, template=template)

    def _call(self, leaves, template):
        args, kwargs = tree.map_leaves(
            lambda path, leaf: leaves[leaf.n] if type(leaf) is _Slot else leaf, template)
        return self.f(*args, **kwargs)

    def _run(self, *leaves, template):
        out = self._call(leaves, template)
        if type(out) is Tracked:
            raise YotaError(
                f"yota.checkpoint: {_fn_name(self.f)} computed with a tracked value it was not "
                "given as an argument (a closure over a traced array or a global); pass every "
                "array it differentiates through as an argument")
        if not hasattr(out, "dtype") and not isinstance(out, float):
            raise YotaError(
                f"yota.checkpoint: {_fn_name(self.f)} returned {a_or_an(type(out).__name__)}; a "
                "checkpointed function returns one array. Checkpoint each output separately")
        return out

    def _forward_rule(self, argnum, dy, y, *leaves, template):
        return self._vjp(dy, *leaves, template=template, argnum=argnum)

    def _run_vjp(self, dy, *leaves, template, argnum):
        # Plain arrays here: re-trace f, run its backward pass, keep only the gradients.
        last = self._last
        if (last is None or last[0] is not dy or len(last[1]) != len(leaves)
                or any(a is not b for a, b in zip(last[1], leaves)) or argnum not in last[2]):
            grads = _traced_vjp(lambda *ls: self._call(ls, template), leaves, dy)
            last = self._last = (dy, leaves, {i: g for i, g in enumerate(grads)
                                              if g is not None})
        g = last[2].pop(argnum)
        if not last[2]:
            self._last = None
        return g

    def _vjp_rule(self, k, ddy, g, dy, *leaves, template, argnum):
        # Second order and up: differentiate the (re-traced) vjp itself, on tracked values.
        def vjp_of(dy, *ls):
            return _traced_vjp(lambda *l2: self._call(l2, template), ls, dy)[argnum]

        return _traced_vjp(vjp_of, (dy,) + leaves, ddy)[k]


def _traced_vjp(fn, args, ct):
    """Gradients of ``sum(ct * fn(*args))`` w.r.t. every argument (zeros where unused)."""
    tr, tape = trace(fn, args, {}, None)
    ex = Dynamic(tape)
    result = list(ex.gradients(tr, ex.backward(tr.output, ct)))
    tape.release()
    return result
