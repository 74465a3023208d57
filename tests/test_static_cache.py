"""Static mode end to end: compiled code vs interpreter vs dynamic mode, the cache, guards,
closures, constants, fallbacks, ownership of results, threads."""
from __future__ import annotations

import concurrent.futures
import logging
import threading
import warnings

import attrs
import numpy as np
import pytest

import yota
from yota import grad
from yota.compile import CACHE, compile_variant, static
from yota.compile.key import Unsupported, signature
from yota.transforms import build_grad


@pytest.fixture(autouse=True)
def fresh_cache():
    yota.clear_cache()
    yield
    yota.clear_cache()


@pytest.fixture
def traces(caplog):
    """The messages of every (re)trace, as logged by yota.compile."""
    caplog.set_level(logging.INFO, logger="yota.compile")
    return lambda: [r.getMessage() for r in caplog.records if "tracing" in r.getMessage()]


def leaves(g):
    if isinstance(g, dict):
        return [g[k] for k in sorted(g, key=repr)]
    return [g]


def assert_same(r1, r2, rtol=1e-12):
    (v1, g1), (v2, g2) = r1, r2
    np.testing.assert_allclose(v1, v2, rtol=rtol)
    assert len(g1) == len(g2)
    for a, b in zip(g1, g2):
        if a is None or b is None:
            assert a is None and b is None
            continue
        if isinstance(a, dict):
            assert a.keys() == b.keys()
        for x, y in zip(leaves(a), leaves(b)):
            assert type(x) is type(y)
            assert np.shape(x) == np.shape(y) and np.result_type(x) == np.result_type(y)
            np.testing.assert_allclose(x, y, rtol=rtol, atol=1e-300)


@attrs.define
class Linear:
    W: np.ndarray
    b: np.ndarray


def _mlp_loss(m, X, y):
    h = np.tanh(m.W @ X + m.b[:, None])
    p = np.exp(h - h.max(axis=0, keepdims=True))
    p = p / p.sum(axis=0, keepdims=True)
    return -np.mean(np.log(p[y, np.arange(X.shape[1])]))


CASES = {
    "elementwise": (lambda x, y: np.sum(np.sin(x) * y + x ** 2 / (1.0 + y * y)),
                    lambda: (np.random.rand(4, 3), np.random.rand(3))),
    "indexing": (lambda x: np.sum(x[1:, ::2] * x[0, ::2]) + x[x > 0.5].sum() + x[[0, 2, 2]].sum(),
                 lambda: (np.random.rand(3, 4),)),
    "shapes": (lambda x: np.sum(x.T.reshape(2, 6) ** 2 * np.concatenate([x[0], x[1]]).reshape(2, 6)[::-1]),
               lambda: (np.random.rand(2, 6).reshape(6, 2).T.copy(),)),
    "float32": (lambda x, s: np.sum(np.exp(x) * s),
                lambda: (np.random.rand(5).astype(np.float32), np.float32(2.0))),
    "float scalar": (lambda a, x: a * np.sum(x) + a ** 2, lambda: (1.5, np.random.rand(3))),
    "attrs and labels": (_mlp_loss, lambda: (Linear(np.random.randn(3, 4), np.random.randn(3)),
                                             np.random.randn(4, 5),
                                             np.random.randint(0, 3, size=5))),
    "unused input": (lambda x, y: np.sum(x * 2.0), lambda: (np.random.rand(3), np.random.rand(2))),
    "constant gradient": (lambda x: np.sum(x) + 1.0, lambda: (np.random.rand(3),)),
    "where and max": (lambda x: np.sum(np.where(x > 0.3, x, -x)) + np.max(x * x),
                      lambda: (np.random.rand(7),)),
}


@pytest.mark.parametrize("name", CASES)
def test_compiled_interpreted_and_dynamic_agree(name):
    f, make = CASES[name]
    for _ in range(3):                      # new values, same signature: replayed, not traced
        args = make()
        dyn = grad(f, *args, dynamic=True)
        assert_same(grad(f, *args), dyn)
        key, inputs = signature(f, args, {}, None)
        for mode in ("interpret", "codegen"):
            for optimize in (False, True):
                v = compile_variant(f, args, {}, None, inputs, build_grad, mode=mode,
                                    optimize=optimize)
                assert_same(v.fn(*inputs), dyn)
    # boolean masks select a value-dependent number of elements: a shape guard re-traces
    assert CACHE.misses == 1 or name == "indexing"


def test_second_call_replays_without_tracing(traces):
    f = lambda x: np.sum(np.sin(x))  # noqa: E731
    grad(f, np.random.rand(3))
    grad(f, np.random.rand(3))
    assert len(traces()) == 1 and "first call with this signature" in traces()[0]
    grad(f, np.random.rand(4))                       # another shape
    grad(f, np.random.rand(4).astype(np.float32))    # another dtype
    assert len(traces()) == 3


def test_plain_scalars_are_part_of_the_key_by_value(traces):
    def f(x, n, mode):
        return np.sum(x ** n) if mode == "pow" else np.sum(x * n)

    x = np.random.rand(3) + 0.5
    for n in (2, 3, 2):
        _, g = grad(f, x, n, "pow", argnums=0)
        np.testing.assert_allclose(g[0], n * x ** (n - 1))
    _, g = grad(f, x, 2, "mul", argnums=0)
    np.testing.assert_allclose(g[0], 2.0)
    assert len(traces()) == 3


def test_a_value_dependent_branch_gives_correct_gradients_on_both_sides(traces):
    def f(x):
        if np.sum(x) > 0:
            return np.sum(x * x)
        return np.sum(np.sin(x))

    for sign in (1, -1, 1, -1, 1):
        x = sign * (np.random.rand(4) + 0.1)
        val, g = grad(f, x)
        want = 2 * x if sign > 0 else np.cos(x)
        np.testing.assert_allclose(g[0], want)
    msgs = traces()
    assert len(msgs) == 2                  # one variant per side, then replays
    assert "guard failed" in msgs[1] and "bool" in msgs[1]


def test_boolean_masks_get_shape_guards(traces):
    f = lambda x: np.sum(x[x > 0.5] ** 2)  # noqa: E731
    for n in (2, 3, 2, 3):
        x = np.linspace(0, 1, 6)
        x[:n] = 0.9
        _, g = grad(f, x)
        np.testing.assert_allclose(g[0], np.where(x > 0.5, 2 * x, 0.0))
    msgs = traces()
    assert len(msgs) == 2 and "had shape" in msgs[1]


def test_int_and_float_conversions_are_guarded():
    def f(x):
        k = int(np.sum(x > 0.5))
        return np.sum(x[:k] ** 2) * float(x[0] > 0.2)

    for _ in range(10):
        x = np.random.rand(6)
        assert_same(grad(f, x), grad(f, x, dynamic=True))


def test_a_recreated_closure_neither_recompiles_nor_returns_stale_results(traces):
    def loss(w, X, y):
        return np.sum((X @ w - y) ** 2) if hasattr(np, "matmul_pack_missing") else \
            np.sum((np.sum(X * w, axis=1) - y) ** 2)

    w = np.random.rand(3)
    for _ in range(4):
        X, y = np.random.rand(5, 3), np.random.rand(5)     # new data every step
        val, g = grad(lambda w: loss(w, X, y), w)
        r = np.sum(X * w, axis=1) - y
        np.testing.assert_allclose(val, np.sum(r ** 2))
        np.testing.assert_allclose(g[0], 2 * X.T.dot(r))
    assert len(traces()) == 1


def test_closure_arrays_mutated_in_place_are_read_at_call_time():
    X = np.ones(3)
    f = lambda w: np.sum(w * X)  # noqa: E731
    w = np.random.rand(3)
    assert grad(f, w)[1][0].tolist() == [1.0, 1.0, 1.0]
    X[:] = 2.0
    assert grad(f, w)[1][0].tolist() == [2.0, 2.0, 2.0]


def test_bound_methods_of_attrs_models_read_the_current_parameters():
    @attrs.define
    class Model:
        W: np.ndarray

        def loss(self, x):
            return np.sum(self.W * x)

    m = Model(np.ones(3))
    x = np.random.rand(3)
    assert grad(m.loss, x)[1][0].tolist() == [1.0] * 3
    m.W = np.full(3, 3.0)
    assert grad(m.loss, x)[1][0].tolist() == [3.0] * 3


def test_global_arrays_are_read_at_call_time():
    # Globals the code names are walked like closure cells (docs/static-graphs.md).
    global _SCALE
    _SCALE = np.ones(3)
    f = lambda w: np.sum(w * _SCALE)  # noqa: E731
    w = np.random.rand(3)
    grad(f, w)
    _SCALE = np.full(3, 5.0)  # a new global array
    assert grad(f, w)[1][0].tolist() == [5.0] * 3
    _SCALE[:] = 2.0           # written in place
    assert grad(f, w)[1][0].tolist() == [2.0] * 3
    assert CACHE.misses == 1


def test_np_random_inside_f_falls_back_to_dynamic_when_it_steers_a_branch():
    def f(x):
        if np.random.rand() < 0.5:            # a constant of the graph, but it steers Python
            return np.sum(x * np.random.rand(3))
        return np.sum(x)

    x = np.random.rand(3)
    for _ in range(20):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            grad(f, x)                         # never raises; results stay consistent


def test_asarray_on_a_closure_array_bakes_it_in_and_guards_its_values(traces):
    # data carries no gradient: np.asarray converts it, guarded by value (no second tracing)
    def make(u):
        return lambda x: np.sum(x * np.asarray(u, dtype=np.float64))

    x = np.random.rand(3)
    for u in (np.ones(3), np.ones(3), np.full(3, 2.0)):
        _, g = grad(make(u), x)
        np.testing.assert_allclose(g[0], u)
    msgs = traces()
    assert len(msgs) == 2
    assert "guard failed: np.asarray(%0)" in msgs[1] and "changed" in msgs[1]


def test_the_variant_bound_falls_back_to_dynamic_mode_with_one_warning(caplog):
    def f(x, i):
        return np.sum(x) * int(np.argmax(x))   # argmax position: a new variant each time

    with pytest.warns(RuntimeWarning, match="falls back to dynamic mode") as rec:
        for i in range(static.MAX_VARIANTS + 6):
            x = np.zeros(20)
            x[i] = 1.0
            val, g = grad(f, x, 0, argnums=0)
            assert val == float(i)
            np.testing.assert_allclose(g[0], float(i))
    assert len([w for w in rec if "falls back" in str(w.message)]) == 1


def test_returned_arrays_are_fresh_and_never_overwritten():
    f = lambda x, y: np.sum(x * y) + np.sum(x)  # noqa: E731
    g2 = lambda x: np.sum(x)                    # noqa: E731  constant gradient
    x, y = np.random.rand(3), np.random.rand(3)
    _, first = grad(f, x, y)
    keep = [first[0].copy(), first[1].copy()]
    _, second = grad(f, np.random.rand(3), np.random.rand(3))
    np.testing.assert_array_equal(first[0], keep[0])
    np.testing.assert_array_equal(first[1], keep[1])
    assert first[1] is not x and second[1] is not first[1]
    _, a = grad(g2, x)
    a[0][:] = 7.0                               # the caller owns it
    _, b = grad(g2, x)
    assert b[0].tolist() == [1.0] * 3
    assert first[0].flags.writeable and first[0].base is None


def test_gradients_that_equal_an_input_are_copies():
    f = lambda x, y: np.sum(x * y)  # noqa: E731  d/dx = y exactly (multiplication by one)
    x, y = np.random.rand(3), np.random.rand(3)
    for _ in range(2):
        _, g = grad(f, x, y)
        assert g[0] is not y and g[1] is not x
        np.testing.assert_array_equal(g[0], y)


def test_show_code_prints_straight_line_numpy(capsys, monkeypatch):
    monkeypatch.setattr(static, "MODE", "codegen")
    def f(x, b):
        return np.sum(np.tanh(x * 2.0 + b))

    yota.show_code(f, np.random.rand(3, 2), np.random.rand(2))
    src = capsys.readouterr().out
    assert src.startswith("def yota_f(x, b):")
    lines = src.splitlines()[1:]
    assert "tanh(" in src and lines[-1].strip().startswith("return")
    assert "Tracked" not in src
    assert not any(line.strip().startswith(("for ", "while ")) for line in lines)
    assert all(line.strip().split(": return ")[-1].isdigit()        # only guards branch
               for line in lines if line.strip().startswith("if "))


def test_clear_cache_forgets_everything(traces):
    f = lambda x: np.sum(x * x)  # noqa: E731
    grad(f, np.ones(2))
    assert len(CACHE) == 1
    yota.clear_cache()
    assert len(CACHE) == 0
    grad(f, np.ones(2))
    assert len(traces()) == 2


def test_the_cache_is_bounded():
    old = CACHE.max_entries
    yota.compile.set_max_entries(4)
    try:
        f = lambda x: np.sum(x)  # noqa: E731
        for n in range(1, 10):
            grad(f, np.ones(n))
        assert len(CACHE) == 4
    finally:
        yota.compile.set_max_entries(old)


def test_unsupported_values_run_in_dynamic_mode():
    with pytest.raises(Unsupported):
        signature(lambda x, s: np.sum(x), (np.ones(2), {1, 2}), {}, None)
    val, g = grad(lambda x, s: np.sum(x) * len(s), np.ones(2), {1, 2})
    assert val == 4.0 and g[1] is None


def test_errors_come_out_unchanged_and_do_not_poison_the_cache():
    class Boom(Exception):
        pass

    def f(x, fail):
        if fail:
            raise Boom("user error")
        return np.sum(x)

    with pytest.raises(Boom, match="user error"):
        grad(f, np.ones(2), True)
    assert grad(f, np.ones(2), False)[0] == 2.0
    assert grad(f, np.ones(2), False)[1][0].tolist() == [1.0, 1.0]


def test_nested_grad_inside_a_trace_stays_correct():
    def inner(x):
        return np.sum(np.sin(x) * x)

    def outer(x):
        _, g = grad(inner, x)            # traced by the outer call: recorded, not replayed
        return np.sum(g[0] * g[0])

    x = np.random.rand(3)
    assert_same(grad(outer, x), grad(outer, x, dynamic=True))


def test_threads_share_the_cache_safely():
    fs = [lambda x, k=k: np.sum(np.sin(x) * k) for k in range(4)]
    xs = [np.random.rand(5) for _ in range(8)]
    expected = {(k, j): grad(fs[k], xs[j], dynamic=True)[1][0]
                for k in range(4) for j in range(8)}
    yota.clear_cache()
    barrier = threading.Barrier(4)

    def work(t):
        barrier.wait()
        out = []
        for rep in range(20):
            k, j = (t + rep) % 4, (t * 3 + rep) % 8
            out.append(((k, j), grad(fs[k], xs[j])[1][0]))
        return out

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for res in pool.map(work, range(4), timeout=60):
            for kj, g in res:
                np.testing.assert_allclose(g, expected[kj])


def test_item_with_an_index_is_guarded_on_that_element(traces):
    def f(x):
        return np.sum(x * x) if yota.stop_gradient(x).item(2) > 0.5 else np.sum(x)

    for v in (0.9, 0.9, 0.1, 0.1):            # a Python float is guarded by its value
        x = np.array([0.3, 0.4, v])
        _, g = grad(f, x)
        np.testing.assert_allclose(g[0], 2 * x if v > 0.5 else np.ones(3))
    assert len(traces()) == 2


def test_static_call_compiles_what_a_build_callback_chooses():
    from yota.compile import Spec, static_call
    from yota.compile.trace import Template

    def build(traced):          # forward value and 2 * output, as a tuple
        tpl = Template()
        out = traced.output
        tpl.tree = (tpl.add(out, "value"), tpl.add(out * 2.0, ("array", out.shape, out.dtype)))
        return tpl

    f = lambda x: np.sin(x) * x  # noqa: E731
    for _ in range(3):
        x = np.random.rand(4)
        v, d = static_call(Spec("twice", build, dynamic=lambda: (f(x), 2.0 * f(x))),
                           f, (x,), {}, None)
        np.testing.assert_allclose(v, f(x))
        np.testing.assert_allclose(d, 2 * f(x))
    assert CACHE.misses == 1
