"""Python scalars that change every call do not re-trace every call (issue 13, item 8).

autograd's ``objective(params, i)`` passes a new iteration number each step, an ODE solver a new
time ``t``, a training loop a new learning rate. They are keyed by value, so static mode used to
trace and compile on every step. After ``LIFT_AFTER`` re-traces caused by such scalars alone,
they become inputs of the compiled program; those that steer control flow, shapes, axes or
indices stay keyed by value. Tests count traces (``CACHE.misses``), not time, and compare every
result with dynamic mode exactly.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import yota
from yota.compile import CACHE, scalars

LIFTED_AFTER = 1 + scalars.LIFT_AFTER   # traces: the first, the re-traces, then the lifted one


@pytest.fixture(autouse=True)
def fresh_cache():
    yota.clear_cache()
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # none of this falls back to dynamic mode
        yield
    yota.clear_cache()


def same_as_dynamic(f, calls, argnums=0):
    for args in calls:
        v, g = yota.grad(f, *args, argnums=argnums)
        dv, dg = yota.grad(f, *args, argnums=argnums, dynamic=True)
        assert type(v) is type(dv) and v == dv
        for a, b in zip(g, dg):
            assert type(a) is type(b)
            if a is None:
                continue
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


def objective(params, i):
    return np.sum((np.tanh(params) - 0.01 * i) ** 2) / (i + 1)


def test_an_iteration_number_is_lifted():
    p = np.linspace(-1, 1, 5)
    same_as_dynamic(objective, [(p, i) for i in range(20)])
    assert CACHE.misses == LIFTED_AFTER


def test_a_non_differentiated_float_is_lifted():
    def loglike(r, scale):
        return -np.sum((r / scale) ** 2) - r.size * np.log(scale)

    r = np.array([0.3, -1.2, 2.0])
    same_as_dynamic(loglike, [(r, 0.5 + 0.1 * k) for k in range(12)])
    assert CACHE.misses == LIFTED_AFTER


def test_a_time_in_a_closure_is_lifted():
    W = np.array([[0.1, -0.2], [0.3, 0.05]])

    def step(x, t):
        return np.sum(np.tanh(W @ x + np.sin(t)) * t)

    x = np.array([0.5, -0.5])
    for k in range(15):
        t = 0.1 * (k + 1)
        same_as_dynamic(lambda x: step(x, t), [(x,)])
    assert CACHE.misses == LIFTED_AFTER


def test_float32_arithmetic_keeps_python_scalar_promotion():
    x = np.linspace(0, 1, 4, dtype=np.float32)

    def f(x, lr, i):
        return np.sum(x * lr + x * i)

    for k in range(6):
        v, g = yota.grad(f, x, 0.1 * (k + 1), k + 1, argnums=0)
        assert v.dtype == np.float32 and g[0].dtype == np.float32
    assert CACHE.misses == LIFTED_AFTER
    same_as_dynamic(f, [(x, 0.7, 9), (x, 0.25, 3)])


def test_a_numpy_scalar_made_from_a_lifted_int_that_would_promote_differently_stays_keyed():
    x = np.linspace(0, 1, 4, dtype=np.float32)

    def f(x, i):
        return np.sum(x * (i * 0.5))   # i * 0.5 is a Python float eagerly: x stays float32

    same_as_dynamic(f, [(x, i) for i in range(1, 8)])
    assert CACHE.misses == 7 + 1   # each value, and the lifted trace that was refused
    assert not CACHE.lifted and CACHE.never_lift


@pytest.mark.parametrize("use", ["branch", "slice", "axis", "range", "int"])
def test_scalars_that_steer_control_flow_shapes_or_axes_stay_keyed_by_value(use):
    def f(x, n):
        if use == "branch":
            return np.sum(x ** 2) if n > 2 else np.sum(x)
        if use == "slice":
            return np.sum(x[:n] ** 2)
        if use == "axis":
            return np.sum(np.cumsum(x.reshape(2, 3), axis=n % 2) ** 2)
        if use == "range":
            return sum(np.sum(x * k) for k in range(n))
        return np.sum(x * int(n))

    x = np.linspace(0.5, 1.5, 6)
    calls = [(x, n) for n in (1, 2, 3, 4, 5, 1, 4)]
    same_as_dynamic(f, calls)
    assert not CACHE.lifted
    # keyed by value once lifting failed: one trace per distinct value, plus the failed one
    assert CACHE.misses <= 5 + 1


def test_lifting_only_happens_when_nothing_but_scalars_changed():
    def f(x, i):
        return np.sum(x * i)

    for n in range(2, 8):   # the shape changes too: no lifting
        yota.grad(f, np.ones(n), n, argnums=0)
    assert not CACHE.lifted
    assert CACHE.misses == 6


def test_repeated_values_reuse_the_lifted_program():
    p = np.linspace(-1, 1, 5)
    same_as_dynamic(objective, [(p, i % 4) for i in range(20)])
    assert CACHE.misses <= LIFTED_AFTER
