"""Random draws inside the differentiated function are never frozen (issue 13, item 1).

A function that draws random numbers gives, in static mode, exactly what running it eagerly
gives: fresh draws on every call, the generator's state advancing as plain NumPy advances it.
Each test runs one sequence of calls in static mode and the same sequence, on a same-seeded
generator, in dynamic mode (which runs the function eagerly), and compares values and gradients
exactly, call after call; it also compares the generator's final state with plain NumPy's.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import yota
from yota.compile import CACHE


@pytest.fixture(autouse=True)
def fresh_cache():
    yota.clear_cache()
    yield
    yota.clear_cache()


PARAMS = [np.array([0.5, -0.3]), np.array([0.1, 0.2]), np.array([-1.0, 0.7])]


def run(make, dynamic, calls=PARAMS):
    """Values and gradients of ``grad(f)`` over ``calls``, with ``f, state = make()``."""
    f, state = make()
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for p in calls:
            out.append(yota.grad(f, p, dynamic=dynamic))
    return out, state()


def assert_static_is_eager(make, calls=PARAMS):
    static, s_state = run(make, False, calls)
    dynamic, d_state = run(make, True, calls)
    for (sv, sg), (dv, dg) in zip(static, dynamic):
        assert sv == dv
        np.testing.assert_array_equal(sg[0], dg[0])
    assert _same_state(s_state, d_state)
    # the numbers differ from call to call (nothing frozen)
    assert len({float(v) for v, _ in static}) == len(calls)
    return static


def _same_state(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_state(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same_state(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return a == b


def monte_carlo(noise):
    return lambda p: np.mean((noise(200) * np.exp(p[1]) + p[0]) ** 2)


def test_a_randomstate_in_a_closure():
    def make():
        rs = np.random.RandomState(0)
        return monte_carlo(rs.randn), rs.get_state

    assert_static_is_eager(make)
    # and the stream is plain NumPy's: same seed, same state after the same calls
    _, state = run(make, False)
    rs = np.random.RandomState(0)
    for p in PARAMS:
        monte_carlo(rs.randn)(p)
    assert _same_state(state, rs.get_state())


def test_an_odd_number_of_legacy_gaussians_keeps_the_cached_one():
    # RandomState.randn draws pairs and keeps the second one: state beyond the bit generator
    def make():
        rs = np.random.RandomState(3)
        return monte_carlo(lambda n: rs.randn(1)), rs.get_state

    static = assert_static_is_eager(make, PARAMS * 2)
    assert len(static) == 6


def _global_noise(p):
    return np.mean((np.random.randn(50) * np.exp(p[1]) + p[0]) ** 2)


def test_the_global_numpy_random_state():
    def make():
        np.random.seed(7)
        return _global_noise, np.random.get_state

    assert_static_is_eager(make)


def test_generator_methods_in_a_closure():
    def make():
        rng = np.random.default_rng(1)
        return monte_carlo(lambda n: rng.normal(size=n)), lambda: rng.bit_generator.state

    assert_static_is_eager(make)


def test_a_generator_passed_as_an_argument():
    def make():
        rng = np.random.default_rng(2)

        def f(p):
            return yota.grad(lambda q, r: np.mean((r.standard_normal(30) * q[1] + q[0]) ** 2),
                             p, rng, argnums=0)
        return f, lambda: rng.bit_generator.state

    def outer(dynamic):
        f, state = make()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            rng = np.random.default_rng(2)
            out = [yota.grad(lambda q, r: np.mean((r.standard_normal(30) * q[1] + q[0]) ** 2),
                             p, rng, argnums=0, dynamic=dynamic) for p in PARAMS]
        return out, rng.bit_generator.state

    (s, s_state), (d, d_state) = outer(False), outer(True)
    for (sv, sg), (dv, dg) in zip(s, d):
        assert sv == dv
        np.testing.assert_array_equal(sg[0], dg[0])
    assert _same_state(s_state, d_state)


class Model:
    """A plain object holding its generator as an attribute: a dropout layer."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def loss(self, w):
        mask = self.rng.random(w.shape) < 0.5
        return np.sum(np.tanh(w * mask * 2.0) ** 2)


def test_a_dropout_mask_drawn_from_an_attribute():
    calls = [np.linspace(-1, 1, 40) + i for i in range(4)]

    def make():
        m = Model(5)
        return m.loss, lambda: m.rng.bit_generator.state

    assert_static_is_eager(make, calls)


def test_reparameterization_noise():
    def make():
        rs = np.random.RandomState(11)

        def elbo(p):
            mean, log_std = p[:3], p[3:]
            z = mean + np.exp(log_std) * rs.randn(3)       # the VAE's reparameterization
            return -np.sum(z ** 2) + np.sum(log_std)
        return elbo, rs.get_state

    calls = [np.arange(6.0) / 7, np.ones(6), -np.arange(6.0) / 3]
    assert_static_is_eager(make, calls)


def test_one_warning_saying_why_and_no_retracing():
    rs = np.random.RandomState(0)
    f = monte_carlo(rs.randn)
    with pytest.warns(RuntimeWarning) as rec:
        for p in PARAMS:
            yota.grad(f, p)
    msgs = [str(w.message) for w in rec]
    assert len(msgs) == 1
    assert msgs[0] == (
        "yota: monte_carlo.<locals>.<lambda> falls back to dynamic mode: it draws random "
        "numbers (the state of a numpy.random.RandomState changed while tracing), and a "
        "compiled program would replay the numbers drawn while tracing on every call. Its "
        "results stay correct; to compile it, draw the random numbers outside and pass them in "
        "as an argument, or call yota.grad(..., dynamic=True) to silence this warning")
    assert rec[0].filename == __file__
    assert CACHE.misses == 1


def test_the_global_state_is_named_in_the_warning():
    with pytest.warns(RuntimeWarning, match=r"the state of the global np.random generator "
                                            r"changed while tracing"):
        yota.grad(_global_noise, PARAMS[0])


def test_an_unseeded_generator_created_inside_draws_fresh_numbers():
    def f(p):
        rng = np.random.default_rng()
        return np.mean((rng.normal(size=100) * np.exp(p[1]) + p[0]) ** 2)

    with pytest.warns(RuntimeWarning, match="seeded from OS entropy while tracing"):
        results = [yota.grad(f, PARAMS[0]) for _ in range(3)]
    assert len({float(v) for v, _ in results}) == 3


def test_a_generator_seeded_inside_compiles_and_replays_correctly():
    def f(p):
        rng = np.random.default_rng(42)    # the same numbers on every call: replaying is right
        return np.mean((rng.normal(size=100) * np.exp(p[1]) + p[0]) ** 2)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for p in PARAMS:
            v, g = yota.grad(f, p)
            dv, dg = yota.grad(f, p, dynamic=True)
            assert v == pytest.approx(dv, rel=1e-14)
            np.testing.assert_allclose(g[0], dg[0], rtol=1e-14)
    assert CACHE.misses == 1


def test_a_function_without_draws_still_compiles():
    rs = np.random.RandomState(0)
    noise = rs.randn(200)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for p in PARAMS:
            yota.grad(lambda p: np.mean((noise * np.exp(p[1]) + p[0]) ** 2), p)
    assert CACHE.misses == 1
    assert yota.compile.static.CACHE.dynamic_functions == {}


_lazy = {}


@pytest.mark.parametrize("collect", [False, True])
def test_a_generator_created_while_tracing_that_outlives_the_call(collect):
    import gc

    def noise(p):
        if not _lazy:
            _lazy["rng"] = np.random.default_rng(9)   # created on the first call, kept
            if collect:
                gc.collect()   # the new generator leaves the young generations
        return np.mean((_lazy["rng"].normal(size=50) * np.exp(p[1]) + p[0]) ** 2)

    def make():
        _lazy.clear()
        return noise, lambda: _lazy["rng"].bit_generator.state

    assert_static_is_eager(make)


def test_yotas_own_idle_compile_thread_does_not_count_as_another_thread():
    """The background compiler's daemon thread (backend="auto") outlives the calls that start
    it; the draw watch must still undo tracing's draws with it alive (it was skipping them)."""
    import threading

    from yota.compile.randomness import _other_threads

    stop = threading.Event()
    own = threading.Thread(target=stop.wait, name="yota-background-compile", daemon=True)
    other = threading.Thread(target=stop.wait, name="user-thread", daemon=True)
    own.start()
    try:
        assert not _other_threads()
        other.start()
        assert _other_threads()
    finally:
        stop.set()
        own.join()
        if other.is_alive() or other.ident:
            other.join()
