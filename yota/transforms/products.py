"""``vjp`` and ``hvp``: backward passes with a cotangent the caller chooses.

Both trace once and run the dynamic executor's blocks by hand: ``vjp_fn`` may be called many
times on one trace (its passes are not recorded, so the tape keeps its size), and ``hvp``
differentiates a recorded gradient once more. Neither is compiled: there is no graph to reuse.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError, NotScalarError
from ..kernel.tracked import Tracked
from ..tracing import _fn_name, leaf_kind, like_of, trace
from .blocks import aval, cotangent, float_output, scalar_output, seed_like
from .executors import Dynamic

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..result import GradientResult

__all__ = ["vjp", "hvp"]


def vjp(f: Callable[..., Any], *args: Any, argnums: int | tuple[int, ...] | None = None,
        **kwargs: Any) -> tuple[Any, Callable[..., GradientResult]]:
    """``out, vjp_fn = vjp(f, *args)``: the output of ``f`` and its vector-Jacobian product.

    ``vjp_fn(ct)`` returns the ``GradientResult`` of ``sum(ct * f(*args))``: the cotangent ``ct``
    has the output's shape. It may be called many times; the forward pass is traced once. For a
    scalar output ``vjp_fn()`` uses ``ct = 1``. (Always traced: there is no graph to reuse.)
    """
    tr, tape = trace(f, args, kwargs, argnums)
    out = tr.output
    float_output("vjp", f, out)
    shape, dtype = aval(out)
    name = _fn_name(f)

    def vjp_fn(ct: Any = None) -> GradientResult:
        if ct is None:
            if shape != ():
                raise NotScalarError(
                    f"yota.vjp: {name} returned an array of shape {shape}, so vjp_fn needs a "
                    f"cotangent of that shape, e.g. vjp_fn(np.ones({shape})); only scalar "
                    "outputs have a default cotangent")
            ct = np.ones((), dtype)
        ct = cotangent("vjp", name, ct, shape, dtype)
        ex = Dynamic(tape, protect=(ct,))   # a gradient may be the caller's cotangent itself
        g = ex.gradients(tr, ex.backward(out, ct))
        g._like = args   # for g.tree(i)
        return g

    return Dynamic(tape).value(out), vjp_fn


def hvp(f: Callable[..., Any], x: Any, v: Any, **kwargs: Any) -> Any:
    """Hessian-vector product ``H(x) @ v`` of scalar ``f`` without forming the Hessian.

    One forward pass, the gradient recorded on the same tape, then one backward pass of the
    gradient with ``v`` as its cotangent (the Hessian is symmetric, so this vjp is ``H v``).
    ``x`` is an array or a float, ``v`` has its shape; keyword arguments go to ``f``.
    """
    if type(x) is not Tracked and leaf_kind(x) != "diff":
        raise InputError(
            f"yota.hvp: x must be a float array or a float to differentiate "
            f"{_fn_name(f)} at, got {type(x).__name__}"
            + (f" of dtype {x.dtype}" if hasattr(x, "dtype") else ""))
    if np.shape(v) != np.shape(x):
        raise InputError(
            f"yota.hvp: v has shape {np.shape(v)} but x has shape {np.shape(x)}; the vector "
            "multiplying the Hessian must be shaped like x")
    tr, tape = trace(f, (x,), kwargs, 0)
    out = tr.output
    scalar_output("hvp", f, out)
    (_, t), = tr.structure[0]
    ex = Dynamic(tape)
    g = ex.backward(out, seed_like(out), again=True).get(t._var)
    if type(g) is not Tracked or g._tape is not tape:
        hv = None
    else:
        ct = cotangent("hvp", _fn_name(f), v, *aval(g))
        ex.seen.add(id(ct))
        hv = ex.backward(g, ct).get(t._var)
    result = ex.result(hv, like_of(t))
    tape.release()
    return result
