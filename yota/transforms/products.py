"""``vjp`` and ``hvp``: backward passes with a cotangent the caller chooses.

``vjp`` traces once and runs the dynamic executor's blocks by hand: ``vjp_fn`` may be called
many times on one trace (its passes are not recorded, so the tape keeps its size). It stays
dynamic: ``vjp_fn`` closes over that one trace, there is no call to compile.

``hvp`` differentiates a recorded gradient once more, with ``v`` as the cotangent. It is a
``Transform`` like ``hessian``: compiled per signature (the static executor traces
``f(x)`` beside ``v``, so ``v`` is an input of the program and a new one does not re-trace),
or run on the live tape with ``dynamic=True``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import functools

import numpy as np

from ..errors import InputError, NotScalarError
from ..kernel.tracked import Tracked
from ..tracing import _fn_name, leaf_kind, like_of, trace
from ..compile import static_call
from .blocks import aval, cotangent, float_output, scalar_output, seed_like
from .executors import Dynamic, Transform

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..result import GradientResult

__all__ = ["vjp", "hvp", "Hvp", "HVP"]


def vjp(f: Callable[..., Any], *args: Any, argnums: int | tuple[int, ...] | None = None,
        **kwargs: Any) -> tuple[Any, Callable[..., GradientResult]]:
    """``out, vjp_fn = vjp(f, *args)``: the output of ``f`` and its vector-Jacobian product.

    ``vjp_fn(ct)`` returns the ``GradientResult`` of ``sum(ct * f(*args))``: the cotangent ``ct``
    has the output's shape. It may be called many times; the forward pass is traced once. For a
    scalar output ``vjp_fn()`` uses ``ct = 1``. Always dynamic (no ``backend``): ``vjp_fn``
    closes over this one trace, so there is no program to compile and replay; for repeated
    Hessian-vector products use ``hvp``, which is compiled.
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


class Hvp(Transform):
    """``H(x) @ v`` for scalar ``f``: the gradient recorded, then differentiated with ``v`` as
    its cotangent. Compiled, it traces ``of_x(f)(x, v)``: both are differentiated inputs of
    the program (v's gradient is never asked for)."""

    name = "hvp"
    tag = ("hvp",)

    def describe(self, traced, ex):
        (_, t), = traced.structure[0]
        (_, tv), = traced.structure[1]
        return h_times_v(ex, traced.fn.__wrapped__, traced.output, t, tv)

    def dynamic(self, f, args, kwargs, argnums):
        """Static mode cannot apply (nested in another trace, a fallback): trace ``f(x)``."""
        return self.product(f.__wrapped__, *args, kwargs)

    def product(self, f, x, v, kwargs):
        """Today's dynamic ``hvp``: trace ``f(x)`` on a fresh tape, ``v`` a plain cotangent."""
        tr, tape = trace(f, (x,), kwargs, 0)
        (_, t), = tr.structure[0]
        result = h_times_v(Dynamic(tape), f, tr.output, t, v)
        tape.release()
        return result


def h_times_v(ex, f, out, t, v):
    """``H v`` for input ``t`` of scalar ``out``, run by executor ``ex``."""
    scalar_output("hvp", f, out)
    g = ex.backward(out, seed_like(out), again=True).get(t._var)
    if type(g) is not Tracked or g._tape is not ex.tape:
        return ex.result(None, like_of(t))
    ct = cotangent("hvp", _fn_name(f), v, *aval(g))
    if not ex.record:
        ex.seen.add(id(ct))   # H v may be v itself (f = x @ x / 2): never hand it over
    return ex.result(ex.backward(g, ct).get(t._var), like_of(t))


def _x_alone(f, x, v, **kwargs):
    return f(x, **kwargs)


def of_x(f):
    """``f`` as static mode traces it for ``hvp``: called with ``(x, v)``, it calls ``f(x)``.
    A ``functools.partial``, so the cache key walks ``f`` (its code, closure cells, globals)
    as for ``grad``; ``__wrapped__`` and the name are ``f``'s, for messages and for the
    per-function records of static mode (fallbacks, lifted scalars)."""
    wrapped = functools.partial(_x_alone, f)
    wrapped.__wrapped__ = f
    wrapped.__qualname__ = _fn_name(f)
    return wrapped


HVP = Hvp()   # compiled by the default backend; HVP.for_backend(name) by another


def hvp(f: Callable[..., Any], x: Any, v: Any, *, dynamic: bool = False,
        backend: str | None = None, **kwargs: Any) -> Any:
    """Hessian-vector product ``H(x) @ v`` of scalar ``f`` without forming the Hessian.

    One forward pass, the gradient recorded on the same tape, then one backward pass of the
    gradient with ``v`` as its cotangent (the Hessian is symmetric, so this vjp is ``H v``).
    ``x`` is an array or a float, ``v`` has its shape; keyword arguments other than ``dynamic``
    and ``backend`` go to ``f``. Static by default, as ``grad``: compiled once per signature
    with ``v`` an input of the program, so Newton-CG's hundreds of calls with new ``x`` and
    ``v`` replay one program; ``backend`` picks the compile backend (as in ``grad``);
    ``dynamic=True`` traces on every call.
    """
    name = _fn_name(f)
    if type(x) is not Tracked and leaf_kind(x) != "diff":
        raise InputError(
            f"yota.hvp: x must be a float array or a float to differentiate "
            f"{name} at, got {type(x).__name__}"
            + (f" of dtype {x.dtype}" if hasattr(x, "dtype") else ""))
    if np.shape(v) != np.shape(x):
        raise InputError(
            f"yota.hvp: v has shape {np.shape(v)} but x has shape {np.shape(x)}; the vector "
            "multiplying the Hessian must be shaped like x")
    spec = HVP if backend is None else HVP.for_backend(backend)
    if dynamic:
        return spec.product(f, x, v, kwargs)
    # v in x's dtype, an array even for a float x: a program input, never a keyed value
    v = cotangent("hvp", name, v, *aval(x))
    return static_call(spec, of_x(f), (x, v), kwargs, (0, 1))
