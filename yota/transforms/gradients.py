"""``grad``, ``value_and_grad``, ``gradient`` and ``elementwise_grad``: one transform,
``ValueAndGrad``.

``grad(f, *args)`` is ``value_and_grad(f, argnums=None)`` run on ``args``: the same description,
with its own cache tag so that its key stays the cheapest one. It returns the seed's
``(value, GradientResult)``; ``value_and_grad`` and ``gradient`` return what autograd and JAX
return: the gradient itself, in the argument's own structure (a tuple of them for a tuple of
argnums), picked from the same ``GradientResult`` after the call (``pick``), in both modes.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..compile import source as compiled_source
from ..compile import static_call
from ..errors import InputError
from ..result import structured
from .blocks import aval, check_argnums, float_output, scalar_output, seed_like, split_aux
from .executors import Transform, Transformed

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..result import GradientResult

__all__ = ["grad", "value_and_grad", "gradient", "elementwise_grad", "show_code", "source",
           "ValueAndGrad", "pick"]


class ValueAndGrad(Transform):
    """The value of a scalar function and its ``GradientResult``.

    ``returns``: ``"both"`` gives ``(value, g)`` (``((value, aux), g)`` with ``has_aux``),
    ``"gradient"`` gives ``g`` (``(g, aux)``).
    ``elementwise``: the output may be any float array and the seed is all ones (the gradient
    of ``sum(f(x))``, ``elementwise_grad``).
    """

    def __init__(self, name, has_aux=False, returns="both", tag=None, elementwise=False):
        self.name, self.has_aux, self.returns = name, has_aux, returns
        self.elementwise = elementwise
        self.tag = tag or ("value_and_grad", has_aux, name)

    def describe(self, traced, ex):
        out, aux = (split_aux(self.name, traced.fn, traced.output) if self.has_aux
                    else (traced.output, None))
        if self.elementwise:
            float_output(self.name, traced.fn, out)
            shape, dtype = aval(out)
            seed = np.ones(shape, dtype)
        else:
            scalar_output(self.name, traced.fn, out)
            seed = seed_like(out)
        value = ex.value(out) if self.returns == "both" else None
        aux = ex.tree(aux) if self.has_aux else None
        g = ex.gradients(traced, ex.backward(out, seed))
        if self.returns == "gradient":
            return (g, aux) if self.has_aux else g
        return ((value, aux), g) if self.has_aux else (value, g)


GRAD = ValueAndGrad("grad", tag="grad")   # the default backend; GRAD.for_backend(name): another


def grad(f: Callable[..., Any], *args: Any, dynamic: bool = False, argnums: int | tuple[int, ...] | None = None,
         backend: str | None = None, **kwargs: Any) -> tuple[Any, GradientResult]:
    """Value and gradients of a scalar function: ``val, g = grad(f, *args)``.

    ``g[i]`` is the gradient w.r.t. argument ``i`` (see GradientResult; ``g.tree(i)``: in the
    argument's own structure). ``yota.gradient(f)`` is the transform that returns the gradient
    itself, as autograd's and JAX's ``grad(f)``. Keyword arguments
    other than ``dynamic``, ``argnums`` and ``backend`` are passed to ``f`` and never
    differentiated. ``dynamic=True`` re-traces on every call; the default static mode compiles
    once per input signature, with the compile backend ``backend`` ("numpy", "numba", "auto";
    default: ``YOTA_BACKEND``, else "numpy").
    """
    if not args:
        raise InputError(
            "yota.grad(f, *args) differentiates f at the arguments given, and none were given; "
            "for a function that returns the gradient (autograd's and JAX's grad(f)) use "
            "yota.gradient(f), or yota.value_and_grad(f) for (value, gradient)")
    spec = GRAD if backend is None else GRAD.for_backend(backend)   # no call on the hot path
    if dynamic:
        r = spec.dynamic(f, args, kwargs, argnums)
    else:
        r = static_call(spec, f, args, kwargs, argnums)
    r[1]._like = args   # for g.tree(i)
    return r


def pick(g, args, argnums):
    """The gradient(s) ``value_and_grad`` returns, from the call's ``GradientResult``: for an
    int ``argnums`` that argument's gradient in its own structure, else a tuple of them
    (``None`` for all arguments)."""
    if argnums.__class__ is int:   # the common case, on the hot path of a compiled call
        one = g._grads[argnums]
        return one if one.__class__ is not dict else structured(one, args[argnums])
    if argnums is None:
        argnums = range(len(args))
    return tuple(g.tree(n, args[n]) for n in argnums)


class value_and_grad(Transformed):
    """``value_and_grad(f)(*args)`` -> ``(value, gradient)``, as autograd and JAX return it.

    With an int ``argnums`` (default 0) the gradient is that argument's, in its own structure:
    an array for an array, a float for a float, an attrs/dataclass instance, list, tuple or dict
    shaped like the argument for a model or container (zeros where no gradient reached, None at
    leaves that are not floats). With a tuple of argnums (or None: every argument) it is a tuple
    of those. So ``scipy.optimize.minimize(value_and_grad(f), x0, jac=True)`` works as written.
    With ``has_aux=True``, ``f`` returns ``(loss, aux)`` and the result is
    ``((value, aux), gradient)``; aux is not differentiated. ``dynamic=True`` traces on every
    call; ``backend`` picks the compile backend (as in ``grad``, which returns the
    ``(value, GradientResult)`` of every argument instead).
    """

    name = "value_and_grad"
    returns = "both"
    elementwise = False

    def __init__(self, f: Callable[..., Any], argnums: int | tuple[int, ...] | None = 0,
                 has_aux: bool = False, *, dynamic: bool = False,
                 backend: str | None = None) -> None:
        spec = ValueAndGrad(self.name, has_aux, self.returns, elementwise=self.elementwise)
        super().__init__(spec, f, check_argnums(self.name, argnums), dynamic, backend)
        self.has_aux = has_aux

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.dynamic:
            r = self.transform.dynamic(self.f, args, kwargs, self.argnums)
        else:
            r = static_call(self.transform, self.f, args, kwargs, self.argnums)
        if self.returns == "both":
            return r[0], pick(r[1], args, self.argnums)
        if self.has_aux:
            return pick(r[0], args, self.argnums), r[1]
        return pick(r, args, self.argnums)


class gradient(value_and_grad):
    """``gradient(f)(*args)`` -> the gradient of ``f`` w.r.t. argument 0, in its structure:
    autograd's and JAX's ``grad(f)``. ``argnums`` and ``has_aux`` (``(gradient, aux)``) as in
    ``value_and_grad``.
    """

    name = "gradient"
    returns = "gradient"


class elementwise_grad(gradient):
    """``elementwise_grad(f)(x)``: the gradient of ``sum(f(x))``, for ``f`` applied element by
    element (``d f(x_i) / d x_i`` for every i), as autograd's ``elementwise_grad``. ``f`` may
    return any float array; one backward pass seeded with ones, in both modes."""

    name = "elementwise_grad"
    elementwise = True


def source(f: Callable[..., Any], *args: Any, argnums: int | tuple[int, ...] | None = None,
           backend: str | None = None, **kwargs: Any) -> str:
    """The generated source of every compiled variant for this call's signature."""
    return compiled_source(GRAD.for_backend(backend), f, args, kwargs, argnums)


def show_code(f: Callable[..., Any], *args: Any, argnums: int | tuple[int, ...] | None = None,
              backend: str | None = None, **kwargs: Any) -> None:
    """Print the code that ``grad(f, *args, backend=backend)`` runs in static mode, under a
    line naming the backend that generated it (and, for "auto", which tier is active)."""
    print(source(f, *args, argnums=argnums, backend=backend, **kwargs), end="")
