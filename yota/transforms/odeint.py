"""``odeint``: solve an ODE with NumPy and differentiate the solution by the adjoint method.

The solver (classical Runge-Kutta, fixed steps) runs on plain arrays as one primitive, so its
steps are never recorded. Its gradient integrates the adjoint system backwards in time (Chen et
al., "Neural Ordinary Differential Equations", 2018), one vector-Jacobian product of ``func``
per stage: memory does not grow with the number of steps.
"""
from __future__ import annotations

import threading

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError, NoRuleError
from ..kernel.primitive import Primitive
from ..kernel.tracked import Tracked
from .products import vjp

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["odeint"]


def odeint(func: Callable[..., Any], y0: Any, t: Any, *params: Any, steps: int = 20) -> Any:
    """``ys = odeint(func, y0, t, *params)``: the solution of ``dy/dt = func(y, t, *params)``
    with ``y(t[0]) = y0`` at every time of the increasing 1-d array ``t``, shape
    ``(len(t),) + y0.shape`` (``ys[0]`` is ``y0``), as autograd's and JAX's ``odeint``.

    Differentiable w.r.t. ``y0`` and ``params`` (float arrays or floats) by the adjoint method,
    in both modes; ``t`` gets no gradient. ``steps`` classical Runge-Kutta (RK4) steps are taken
    between consecutive times, forwards and, for the gradient, backwards. First order only.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise InputError(f"yota.odeint: steps must be a positive int, got {steps!r}")
    if type(t) is not Tracked:   # a static trace may hold it as an input: checked in _solve
        t = np.asarray(t)
    return _SOLVE(y0, t, *params, func=func, steps=steps)


def _check_times(t):
    if t.ndim != 1 or t.shape[0] < 1 or t.dtype.kind not in "fiu":
        raise InputError(f"yota.odeint: t must be a 1-d array of times, got shape {t.shape} and "
                         f"dtype {t.dtype}")
    if t.shape[0] > 1 and not np.all(np.diff(t) > 0):
        raise InputError("yota.odeint: the times t must be strictly increasing")


def _rk4(rhs, state, t0, t1, steps):
    """``steps`` RK4 steps of ``d state / dt = rhs(state, t)`` from t0 to t1; a state is a
    tuple of arrays."""
    h = (t1 - t0) / steps
    for k in range(steps):
        tk = t0 + k * h
        k1 = rhs(state, tk)
        k2 = rhs(tuple(s + (h / 2) * d for s, d in zip(state, k1)), tk + h / 2)
        k3 = rhs(tuple(s + (h / 2) * d for s, d in zip(state, k2)), tk + h / 2)
        k4 = rhs(tuple(s + h * d for s, d in zip(state, k3)), tk + h)
        state = tuple(s + (h / 6) * (d1 + 2 * d2 + 2 * d3 + d4)
                      for s, d1, d2, d3, d4 in zip(state, k1, k2, k3, k4))
    return state


def _solve(y0, t, *params, func, steps):
    _check_times(t)
    y = np.asarray(y0, dtype=np.result_type(y0, np.float64) if not hasattr(y0, "dtype")
                   else y0.dtype)
    ys = [y]
    for i in range(1, t.shape[0]):
        (y,) = _rk4(lambda s, tk: (np.asarray(func(s[0], tk, *params), y.dtype),), (y,),
                    float(t[i - 1]), float(t[i]), steps)
        ys.append(y)
    return np.stack(ys)


def _adjoint(ys_bar, ys, t, params, func, steps):
    """Gradients of ``sum(ys_bar * ys)`` w.r.t. ``y0`` and every parameter."""
    argnums = (0,) + tuple(range(2, 2 + len(params)))

    def rhs(state, tk):
        y, a = state[0], state[1]
        dy, vjp_fn = vjp(func, y, tk, *params, argnums=argnums)
        g = vjp_fn(a)
        grads = [g[n] for n in argnums]
        return (np.asarray(dy, y.dtype),) + tuple(
            -(np.zeros_like(np.asarray(s)) if gr is None else np.asarray(gr))
            for s, gr in zip(state[1:], grads))

    a = np.array(ys_bar[-1], dtype=ys.dtype)
    p_bar = tuple(np.zeros(np.shape(p), np.result_type(p, np.float64) if not hasattr(p, "dtype")
                           else p.dtype) for p in params)
    for i in range(t.shape[0] - 1, 0, -1):
        state = _rk4(rhs, (ys[i], a) + p_bar, float(t[i]), float(t[i - 1]), steps)
        a = state[1] + ys_bar[i - 1]
        p_bar = state[2:]
    return (a,) + p_bar


_cache = threading.local()   # the last adjoint solve: every argument's rule shares it


def _solve_rule(argnum, ys_bar, ys, y0, t, *params, **kw):
    return _SOLVE_VJP(ys_bar, ys, y0, t, *params, argnum=argnum, **kw)


def _solve_vjp(ys_bar, ys, y0, t, *params, argnum, func, steps):
    # Plain arrays here. One adjoint solve gives every gradient; the rules of one backward
    # pass (one per differentiated argument) share it.
    last = getattr(_cache, "last", None)
    inputs = (ys_bar, ys, y0, t) + params
    if last is None or last[2] is not func or argnum not in last[1] or len(last[0]) != len(
            inputs) or any(a is not b for a, b in zip(last[0], inputs)):
        grads = _adjoint(ys_bar, ys, t, params, func, steps)
        last = (inputs, {0: grads[0], **{k + 2: g for k, g in enumerate(grads[1:])}}, func)
        _cache.last = last
    g = last[1].pop(argnum)
    if not last[1]:
        _cache.last = None
    like = (y0,) + params
    value = like[0 if argnum == 0 else argnum - 1]
    if isinstance(value, float):
        return float(g)
    if isinstance(value, np.floating):
        return type(value)(g)
    return np.asarray(g, getattr(value, "dtype", np.float64))


_SOLVE = Primitive(_solve, name="odeint", nondiff_argnums=(1,))
_SOLVE.defgrad_each(_solve_rule)
_SOLVE_VJP = Primitive(_solve_vjp, name="odeint_vjp")


@_SOLVE_VJP.defgrad_each
def _second_order(*args, **kwargs):
    raise NoRuleError("yota.odeint is differentiable to first order only: its adjoint solve "
                      "has no gradient rule")
