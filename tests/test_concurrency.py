"""Threads: the static-graph cache under a thread pool, and tracing state kept per thread.

Every stress test compares each concurrent result with the one computed serially beforehand
(same function, same inputs) and is bounded: a few hundred calls, futures with a timeout.
"""
from __future__ import annotations

import concurrent.futures
import subprocess
import sys
import threading
import warnings

import attrs
import numpy as np
import pytest

import yota
from yota.compile import CACHE, set_max_entries, static, tiers
from yota.compile.cache import MAX_ENTRIES
from yota.kernel.tape import current_depth

THREADS = 8
TIMEOUT = 120


@pytest.fixture(autouse=True)
def fresh_cache():
    """A clean cache, and threads switched every few microseconds instead of every 5 ms, so
    they interleave inside cache lookups, compiles and replays."""
    yota.clear_cache()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(interval)
    set_max_entries(MAX_ENTRIES)
    yota.clear_cache()


@attrs.define
class Layer:
    W: np.ndarray
    b: np.ndarray


def mlp_loss(layers, X, y):
    h = X
    for layer in layers[:-1]:
        h = np.tanh(h @ layer.W + layer.b)
    out = h @ layers[-1].W + layers[-1].b
    return np.mean((out[:, 0] - y) ** 2)


def branchy(x):
    if np.sum(x) > 0:                  # a guard: both variants get compiled
        return np.sum(np.sin(x) * x)
    return np.sum(np.cos(x))


def masked(x):
    return np.sum(x[x > 0.1] ** 2)     # a shape guard


def indexed(x, idx):
    return np.sum(x[idx] * np.arange(len(idx)))


def _functions():
    """``(name, f, args_of(seed))`` for a mix of signatures, guards and containers."""
    def mlp_args(seed):
        rng = np.random.default_rng(seed)
        layers = [Layer(rng.normal(size=(3, 4)), rng.normal(size=4)),
                  Layer(rng.normal(size=(4, 1)), rng.normal(size=1))]
        return layers, rng.normal(size=(5, 3)), rng.normal(size=5)

    def vec(n):
        return lambda seed: (np.random.default_rng(seed).normal(size=n),)

    return [
        ("mlp", mlp_loss, mlp_args),
        ("branchy3", branchy, vec(3)),
        ("branchy5", branchy, vec(5)),
        ("masked", masked, vec(6)),
        ("indexed", indexed, lambda seed: (np.random.default_rng(seed).normal(size=4),
                                           np.array([3, 0, 0, 2]))),
        ("closure", None, vec(4)),     # a closure re-created on every call, see _call
    ]


def _call(name, f, args, dynamic=False, backend=None):
    if name == "closure":
        (x,) = args
        scale = np.linspace(1.0, 2.0, 4) + x[0]     # fresh closure values every call
        return yota.grad(lambda w: np.sum(np.sin(w) * scale), x, dynamic=dynamic,
                         backend=backend)
    return yota.grad(f, *args, dynamic=dynamic, backend=backend)


def _flat(result):
    value, g = result
    out = [np.asarray(value)]
    for gi in g:
        if isinstance(gi, dict):
            out += [np.asarray(gi[k]) for k in sorted(gi, key=repr)]
        elif gi is not None:
            out.append(np.asarray(gi))
    return out


def _assert_equal(got, want, what, rtol=1e-12):
    for a, b in zip(_flat(got), _flat(want)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * 1e-2, err_msg=what)


def _jobs(n_seeds):
    return [(name, f, args_of, seed) for name, f, args_of in _functions()
            for seed in range(n_seeds)]


def _stress(jobs, expected, rounds, before_each=None, backend=None, rtol=1e-12):
    def work(i):
        out = []
        for r in range(rounds):
            name, f, args_of, seed = jobs[(i * 7 + r * 3) % len(jobs)]
            if before_each is not None:
                before_each(i, r)
            out.append(((name, seed), _call(name, f, args_of(seed), backend=backend)))
        return out

    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(work, i) for i in range(THREADS * 3)]
        for fut in concurrent.futures.as_completed(futures, timeout=TIMEOUT):
            for key, result in fut.result():
                _assert_equal(result, expected[key], f"{key} computed concurrently", rtol)


def test_concurrent_static_grads_equal_serial_ones():
    jobs = _jobs(6)
    expected = {(name, seed): _call(name, f, args_of(seed), dynamic=True)
                for name, f, args_of, seed in jobs}
    _stress(jobs, expected, rounds=12)
    assert CACHE.misses <= 3 * len(_functions())      # compiled once per variant, not per call
    assert not static._key_locks


def test_first_calls_race_on_an_empty_cache():
    """All threads start at once on functions nobody compiled yet."""
    jobs = _jobs(3)
    expected = {(name, seed): _call(name, f, args_of(seed), dynamic=True)
                for name, f, args_of, seed in jobs}
    for _ in range(3):
        yota.clear_cache()
        start = threading.Barrier(THREADS)
        _stress(jobs, expected, rounds=4,
                before_each=lambda i, r: start.wait(TIMEOUT) if r == 0 and i < THREADS
                else None)


def test_eviction_and_clearing_while_other_threads_compile_and_replay():
    jobs = _jobs(4)
    expected = {(name, seed): _call(name, f, args_of(seed), dynamic=True)
                for name, f, args_of, seed in jobs}
    set_max_entries(2)                 # fewer entries than signatures: constant eviction
    stop = threading.Event()

    def clearer():
        while not stop.is_set():
            yota.clear_cache()
            stop.wait(0.002)

    t = threading.Thread(target=clearer)
    t.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)   # no fallback to dynamic mode
            _stress(jobs, expected, rounds=10)
    finally:
        stop.set()
        t.join(TIMEOUT)
    assert len(CACHE) <= 2


def _has_numba():
    try:
        import yota_numba
    except ImportError:
        return False
    return yota_numba.BACKEND.available()[0]


@pytest.mark.skipif(not _has_numba(), reason="yota-numba is not installed: pip install -e "
                    "plugins/yota-numba")
@pytest.mark.parametrize("backend", ["numba", "auto"])
def test_concurrent_grads_with_the_numba_backend(backend):
    """The stress test through yota-numba: threads race on first calls that compile numba
    kernels ("numba"), or on the hot path while the background thread swaps the numba tier in
    ("auto"); then, all compiled, once more on the numba tier. Results equal dynamic mode to
    1e-10: numba's sums are sequential, NumPy's pairwise (a few ULP on these sizes)."""
    jobs = _jobs(3)
    expected = {(name, seed): _call(name, f, args_of(seed), dynamic=True)
                for name, f, args_of, seed in jobs}
    start = threading.Barrier(THREADS)
    _stress(jobs, expected, rounds=4, backend=backend, rtol=1e-10,
            before_each=lambda i, r: start.wait(TIMEOUT) if r == 0 and i < THREADS else None)
    assert tiers.wait_for_background(TIMEOUT), "the background compiles did not finish"
    _stress(jobs, expected, rounds=4, backend=backend, rtol=1e-10)
    ran = {v.backend for key, e in CACHE.entries.items() if key[0][-1:] == (backend,)
           for v in e.variants}
    assert ran == {"numba"}, f"backend={backend!r} ran {ran} code"
    assert not static._key_locks


def test_transforms_and_grad_share_the_cache_across_threads():
    f = lambda x: np.sum(np.tanh(x) ** 2)  # noqa: E731
    xs = [np.random.default_rng(s).normal(size=3) for s in range(8)]
    want = [(yota.grad(f, x, dynamic=True), yota.hessian(f, dynamic=True)(x)) for x in xs]
    hess = yota.hessian(f)

    def work(i):
        x = xs[i % len(xs)]
        return i % len(xs), yota.grad(f, x), hess(x)

    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        for i, g, h in pool.map(work, range(64), timeout=TIMEOUT):
            _assert_equal(g, want[i][0], "grad")
            np.testing.assert_allclose(h, want[i][1], rtol=1e-12)


# --- tracing state is per thread ----------------------------------------------------------------
def test_two_threads_tracing_at_once_never_see_each_others_tapes():
    """Both threads stop in the middle of tracing until the other one is there too; each sees
    only its own tape depth and gets its own gradient."""
    meet = threading.Barrier(2)
    depths = {}

    def make(k):
        def f(x):
            y = np.sin(x) * k
            meet.wait(TIMEOUT)                    # both traces are open now
            depths[k] = current_depth()
            z = y * x                             # recorded while the other thread traces too
            meet.wait(TIMEOUT)
            return np.sum(z)
        return f

    def run(k, dynamic):
        return yota.grad(make(k), np.full(3, 0.5), dynamic=dynamic)

    for dynamic in (True, False):
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            a, b = pool.map(lambda k: run(k, dynamic), (1.0, 3.0), timeout=TIMEOUT)
        assert depths == {1.0: 1, 3.0: 1}
        x = np.full(3, 0.5)
        for k, (value, g) in ((1.0, a), (3.0, b)):
            np.testing.assert_allclose(value, np.sum(np.sin(x) * k * x))
            np.testing.assert_allclose(g[0], k * (np.cos(x) * x + np.sin(x)))
    assert current_depth() == 0


def test_a_nested_gradient_in_one_thread_and_a_plain_one_in_another():
    meet = threading.Barrier(2)
    seen = {}

    def inner(x):
        seen["inner"] = current_depth()
        meet.wait(TIMEOUT)
        return np.sum(x ** 3)

    def outer(x):
        return np.sum(yota.grad(inner, x * 1.0)[1][0] ** 2)      # 9 x^4 per entry

    def plain(x):
        seen["plain"] = current_depth()
        meet.wait(TIMEOUT)
        return np.sum(x * x)

    x = np.array([0.5, 2.0])
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        nested = pool.submit(yota.grad, outer, x)
        other = pool.submit(yota.grad, plain, x)
        (_, g_nested), (_, g_plain) = nested.result(TIMEOUT), other.result(TIMEOUT)
    assert seen == {"inner": 2, "plain": 1}
    np.testing.assert_allclose(g_nested[0], 36 * x ** 3)
    np.testing.assert_allclose(g_plain[0], 2 * x)


def test_an_error_in_one_thread_leaves_the_others_tracing():
    meet = threading.Barrier(2)
    first = [True]

    def bad(x):
        if first[0]:        # static mode traces a raising function again (dynamically)
            first[0] = False
            meet.wait(TIMEOUT)
        raise ValueError("only this thread")

    def good(x):
        meet.wait(TIMEOUT)
        return np.sum(x * x)

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        b = pool.submit(yota.grad, bad, np.ones(2))
        g = pool.submit(yota.grad, good, np.ones(2))
        with pytest.raises(ValueError, match="only this thread"):
            b.result(TIMEOUT)
        assert g.result(TIMEOUT)[1][0].tolist() == [2.0, 2.0]


FIRST_USE_FROM_THREADS = """
import concurrent.futures, threading
import numpy as np
import yota
from yota.packs import host as plugins

start = threading.Barrier(8)
def work(i):
    start.wait(60)
    x = np.linspace(0.1, 1.0, 5) + i
    return yota.grad(lambda x: np.sum(np.tanh(x) ** 2), x)[1][0], x
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    for g, x in pool.map(work, range(8), timeout=120):
        np.testing.assert_allclose(g, 2 * np.tanh(x) * (1 - np.tanh(x) ** 2), rtol=1e-12)
assert all(p.status == "loaded" for p in plugins.PLUGINS.values()), plugins.PLUGINS
print("ok", len(plugins.PLUGINS))
"""


def test_plugins_load_once_when_the_first_calls_come_from_many_threads():
    out = subprocess.run([sys.executable, "-c", FIRST_USE_FROM_THREADS], capture_output=True,
                         text=True, timeout=TIMEOUT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok")
