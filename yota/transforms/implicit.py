"""``fixed_point``: differentiate through a fixed-point iteration without unrolling it.

The iteration runs on plain arrays as one primitive; its gradient comes from the implicit
function theorem (as autograd's ``fixed_point`` and JAX's ``custom_root`` example): at
``x* = f(a)(x*)``, ``a_bar = (d f / d a)^T w`` where ``w = x_bar + (d f / d x)^T w`` is itself
a fixed point, found by the same iteration on vector-Jacobian products of ``f``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import tree
from ..errors import InputError, NoRuleError
from ..kernel.primitive import Primitive, stop_gradient
from ..kernel.tracked import Tracked
from .conveniences import flatten
from .products import vjp

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["fixed_point"]


def fixed_point(f: Callable[..., Any], a: Any, x0: Any, distance: Callable[[Any, Any], Any], tol: float,
                max_iter: int = 100_000) -> Any:
    """The fixed point ``x* = f(a)(x*)`` reached by iterating ``x = f(a)(x)`` from ``x0`` until
    ``distance(x, x_prev) <= tol``, differentiable w.r.t. ``a`` (autograd's signature).

    ``a`` is an array, a float or a tree of them (an attrs model, a list...); ``x0`` gets no
    gradient. The gradient is exact at the fixed point (implicit function theorem), computed by
    a second fixed-point iteration with the same ``distance`` and ``tol``: memory does not grow
    with the number of iterations. First order only.
    """
    if type(x0) is Tracked:
        x0 = stop_gradient(x0)
    if tree.is_node(a):
        vector, unflatten = flatten(a)
        return _SOLVE(vector, x0, f=f, distance=distance, tol=tol, max_iter=max_iter,
                      unflatten=unflatten)
    return _SOLVE(a, x0, f=f, distance=distance, tol=tol, max_iter=max_iter, unflatten=None)


def _iterate(step, x, distance, tol, max_iter, what):
    prev, x = x, step(x)
    for _ in range(max_iter):
        if distance(x, prev) <= tol:
            return x
        prev, x = x, step(x)
    raise InputError(f"yota.fixed_point: the {what} did not reach distance <= {tol} in "
                     f"{max_iter} steps; check that f(a) is a contraction or raise max_iter")


def _params(a, unflatten):
    return a if unflatten is None else unflatten(a)


def _solve(a, x0, *, f, distance, tol, max_iter, unflatten):
    step = f(_params(a, unflatten))
    return _iterate(step, x0, distance, tol, max_iter, "iteration")


def _solve_rule(x_bar, x_star, a, x0, **kw):
    return _SOLVE_VJP(x_bar, x_star, a, **kw)


def _solve_vjp(x_bar, x_star, a, *, f, distance, tol, max_iter, unflatten):
    # Plain arrays here: w = x_bar + (df/dx)^T w at x*, then a_bar = (df/da)^T w.
    params = _params(a, unflatten)
    _, vjp_x = vjp(lambda x: f(params)(x), x_star)
    w0 = np.zeros(np.shape(x_bar), getattr(x_bar, "dtype", np.float64))
    w = _iterate(lambda w: x_bar + vjp_x(w)[0], w0, distance, tol, max_iter,
                 "adjoint iteration (gradient)")
    _, vjp_a = vjp(lambda p: f(_params(p, unflatten))(x_star), a)
    return vjp_a(w)[0]


_SOLVE = Primitive(_solve, name="fixed_point", nondiff_argnums=(1,))
_SOLVE.defgrad(_solve_rule, argnum=0)
_SOLVE_VJP = Primitive(_solve_vjp, name="fixed_point_vjp")


@_SOLVE_VJP.defgrad_each
def _second_order(*args, **kwargs):
    raise NoRuleError("yota.fixed_point is differentiable to first order only: its gradient "
                      "is itself a fixed-point iteration, which has no gradient rule")
