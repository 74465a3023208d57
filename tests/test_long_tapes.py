"""Very long tapes and deep recursion: no RecursionError, memory proportional and given back.

The backward pass, the passes of the static compiler and code generation are loops, never
recursion over the tape. A traced program longer than ``yota.compile.static.MAX_INSTRUCTIONS``
runs in dynamic mode instead of being compiled (compiling 225,000 instructions took 11 s and
1 GB; see docs/testing.md for the figures).
"""
from __future__ import annotations

import gc
import logging
import sys
import tracemalloc

import numpy as np
import pytest

import yota
from yota.compile import CACHE, static
from yota.compile.key import signature

OPS = 100_000


def chain(x, n_ops):
    """``n_ops`` recorded ops, four per step; each step's derivative is within [1, 1.0002], so
    the gradient neither vanishes nor explodes over 25,000 steps."""
    for _ in range(n_ops // 4):
        x = x * 1.0001 - np.sin(x) * 1e-4
    return x


def chain_grad(x0, n_ops):
    """The same chain's derivative, accumulated forward in plain NumPy (elementwise)."""
    x, d = x0.copy(), np.ones_like(x0)
    for _ in range(n_ops // 4):
        d = d * (1.0001 - np.cos(x) * 1e-4)
        x = x * 1.0001 - np.sin(x) * 1e-4
    return x, d


@pytest.fixture(autouse=True)
def fresh_cache():
    yota.clear_cache()
    yield
    yota.clear_cache()


@pytest.mark.parametrize("mode", ["dynamic", "static"])
def test_a_hundred_thousand_ops(mode, caplog):
    x0 = np.linspace(-1.0, 1.0, 4)
    f = lambda x: np.sum(chain(x, OPS))  # noqa: E731
    with caplog.at_level(logging.INFO, logger="yota.compile"):
        value, g = yota.grad(f, x0, dynamic=mode == "dynamic")
    want_x, want_d = chain_grad(x0, OPS)
    assert value == pytest.approx(np.sum(want_x), rel=1e-12)
    np.testing.assert_allclose(g[0], want_d, rtol=1e-9)
    if mode == "static":   # too long to compile: this signature runs dynamically, and says so
        key, _ = signature(f, (x0,), {}, None)
        assert CACHE.get(key).dynamic
        assert "more than yota.compile.static.MAX_INSTRUCTIONS" in caplog.text
        value2, g2 = yota.grad(f, x0)
        np.testing.assert_array_equal(g2[0], g[0])


def test_programs_past_the_limit_run_dynamically_and_below_it_compile(monkeypatch):
    monkeypatch.setattr(static, "MAX_INSTRUCTIONS", 2_000)
    x0 = np.linspace(-1.0, 1.0, 3)
    for n_ops, compiled in ((400, True), (4_000, False)):
        f = lambda x, n=n_ops: np.sum(chain(x, n))  # noqa: E731
        for x in (x0, x0 * 0.5):
            value, g = yota.grad(f, x)
            np.testing.assert_allclose(g[0], chain_grad(x, n_ops)[1], rtol=1e-10)
        key, _ = signature(f, (x0,), {}, None)
        assert CACHE.get(key).dynamic is not compiled


def test_a_compiled_long_chain_replays(monkeypatch):
    x0 = np.linspace(-1.0, 1.0, 3)
    f = lambda x: np.sum(chain(x, 8_000))  # noqa: E731
    for x in (x0, x0 * 0.3, x0 + 0.2):
        np.testing.assert_allclose(yota.grad(f, x)[1][0], chain_grad(x, 8_000)[1], rtol=1e-10)
    assert CACHE.misses == 1


def test_memory_is_proportional_to_the_tape_and_given_back():
    """Dynamic mode frees the tape when the call returns; twice the ops is about twice the
    peak, not more."""
    x0 = np.linspace(-1.0, 1.0, 100)

    def peak(n_ops):
        gc.collect()
        tracemalloc.start()
        try:
            yota.grad(lambda x: np.sum(chain(x, n_ops)), x0, dynamic=True)
            gc.collect()
            current, top = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return top, current

    yota.grad(lambda x: np.sum(chain(x, 8)), x0, dynamic=True)   # plugins loaded, warm
    small, left_small = peak(2_000)
    big, left_big = peak(8_000)
    assert big < 6 * small, (small, big)              # linear (4x the ops), with slack
    assert big < 8_000 * 2_500, big                   # about 1.2 kB per op of 100 floats
    assert left_big < 200_000 and left_small < 200_000, (left_small, left_big)


def test_nested_gradients_of_a_long_chain():
    """The outer tape holds the forward pass and the recorded backward pass of the inner one."""
    x0 = np.linspace(-1.0, 1.0, 3)
    n_ops = 4_000

    def inner_grad_sum(x):
        return np.sum(yota.grad(lambda y: np.sum(chain(y, n_ops)), x)[1][0])

    for dynamic in (True, False):
        _, g = yota.grad(inner_grad_sum, x0, dynamic=dynamic)
        h = 1e-6
        fd = [(inner_grad_sum(x0 + h * e) - inner_grad_sum(x0 - h * e)) / (2 * h)
              for e in np.eye(3)]
        np.testing.assert_allclose(g[0], fd, rtol=1e-5)


def test_deep_user_recursion_adds_only_a_constant_number_of_frames():
    def rec(x, n):
        return x if n == 0 else np.sin(rec(x, n - 1)) * 1.01

    depth = sys.getrecursionlimit() - 200
    for dynamic in (True, False):
        value, g = yota.grad(lambda x: np.sum(rec(x, depth)), np.full(2, 0.5), dynamic=dynamic)
        x, d = np.full(2, 0.5), np.ones(2)
        for _ in range(depth):
            d = d * np.cos(x) * 1.01
            x = np.sin(x) * 1.01
        np.testing.assert_allclose(g[0], d, rtol=1e-9)


def test_a_long_python_loop_with_guards_in_static_mode():
    """Thousands of guards (a data-dependent while loop) replay and re-trace correctly."""
    def f(x):
        steps = 0
        while np.max(np.abs(x)) > 1e-3 and steps < 2_000:
            x = x * 0.99
            steps += 1
        return np.sum(x * x)

    for scale in (1.0, 1.0, 0.5):
        x = np.array([0.5, -2.0]) * scale
        _, g = yota.grad(f, x)
        _, want = yota.grad(f, x, dynamic=True)
        np.testing.assert_allclose(g[0], want[0], rtol=1e-12)
