"""Function transforms: value_and_grad, gradient, vjp, jacobian, hessian, hvp, checkpoint."""
import gc
import tracemalloc

import attrs
import numpy as np
import pytest

import yota
from yota import (checkpoint, gradient, hessian, hvp, jacobian, value_and_grad, vjp)
from yota.errors import InputError, NotScalarError, YotaError
from yota.testing import check_grads


@pytest.fixture(params=["static", "dynamic"])
def dynamic(request):
    return request.param == "dynamic"


def fd_jacobian(f, x, h=1e-6):
    """Central finite differences of any-shaped ``f`` w.r.t. array ``x``: out.shape + x.shape."""
    x = np.asarray(x, np.float64)
    out_shape = np.shape(f(x))
    jac = np.zeros(out_shape + x.shape)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = h
        jac[(...,) + i] = (np.asarray(f(x + step)) - np.asarray(f(x - step))) / (2 * h)
    return jac


# --- value_and_grad and gradient ---------------------------------------------------------------
def test_value_and_grad_matches_grad(rng, total, dynamic):
    a, b = rng.normal(size=3), rng.normal(size=(2, 3))

    def f(a, b, scale=1.0):
        return total(np.sin(a) * b) * scale

    vg = value_and_grad(f, argnums=(0, 1), dynamic=dynamic)
    value, g = vg(a, b, scale=2.0)
    ref_value, ref = yota.grad(f, a, b, scale=2.0, dynamic=True)
    assert value == pytest.approx(ref_value)
    np.testing.assert_allclose(g[0], ref[0])
    np.testing.assert_allclose(g[1], ref[1])
    np.testing.assert_allclose(g[0], 2 * np.cos(a) * b.sum(0))


def test_argnums_int_differentiates_only_that_argument(rng, total, dynamic):
    a, b = rng.normal(size=3), rng.normal(size=3)
    g = gradient(lambda a, b: total(a * b), argnums=1, dynamic=dynamic)(a, b)
    assert type(g) is np.ndarray     # the gradient itself, as autograd and JAX return it
    np.testing.assert_allclose(g, a)


def test_has_aux_returns_plain_aux(rng, total, dynamic):
    x = rng.normal(size=4)

    def loss(x):
        y = np.tanh(x)
        return total(y * y), {"y": y, "n": 4}

    (value, aux), g = value_and_grad(loss, has_aux=True, dynamic=dynamic)(x)
    assert isinstance(aux["y"], np.ndarray) and aux["n"] == 4
    np.testing.assert_allclose(aux["y"], np.tanh(x))
    np.testing.assert_allclose(g, 2 * np.tanh(x) * (1 - np.tanh(x) ** 2))
    g2, aux2 = gradient(loss, has_aux=True, dynamic=dynamic)(x)
    np.testing.assert_allclose(g2, g)
    np.testing.assert_allclose(aux2["y"], aux["y"])


def test_has_aux_function_not_returning_a_pair_is_named(rng, total):
    x = rng.normal(size=3)

    def loss(x):
        return total(x * x)

    with pytest.raises(YotaError, match=r"yota.value_and_grad: .*loss.* has_aux=True.*must "
                                        r"return a pair \(output, aux\).*returned a Tracked"):
        value_and_grad(loss, has_aux=True)(x)

    def three(x):
        return total(x), x, x

    with pytest.raises(YotaError, match="yota.gradient: .*returned a tuple of length 3"):
        gradient(three, has_aux=True)(x)


def test_non_scalar_output_names_the_transform_and_points_to_vjp(rng):
    x = rng.normal(size=3)
    with pytest.raises(NotScalarError, match=r"yota.value_and_grad: .* must return a scalar "
                                             r"float.*shape \(3,\).*yota.vjp"):
        value_and_grad(np.sin)(x)
    with pytest.raises(NotScalarError, match=r"yota.gradient: "):
        gradient(lambda x: x * 2)(x)
    with pytest.raises(NotScalarError, match=r"yota.hessian: "):
        hessian(lambda x: x * 2)(x)


def test_argnums_out_of_range_and_of_the_wrong_type(rng, total):
    x = rng.normal(size=3)
    with pytest.raises(InputError, match=r"argnums=2 .* out of range: it was called with 1 "
                                         r"positional argument"):
        value_and_grad(lambda x: total(x), argnums=2)(x)
    with pytest.raises(InputError, match=r"argnums=\(0, 3\) .* out of range"):
        jacobian(np.sin, argnums=(0, 3))(x)
    with pytest.raises(InputError, match=r"yota.value_and_grad: argnums must be an int or a "
                                         r"tuple of ints, got 'x'"):
        value_and_grad(lambda x: x, argnums="x")
    with pytest.raises(InputError, match=r"yota.hessian: argnums must be an int, got \(0, 1\)"):
        hessian(lambda x: x, argnums=(0, 1))
    with pytest.raises(InputError, match=r"yota.jacobian: expected a function"):
        jacobian(3)


def test_negative_argnums_count_from_the_end(rng, total):
    a, b = rng.normal(size=2), rng.normal(size=2)
    g = gradient(lambda a, b: total(a * b * b), argnums=-1)(a, b)
    np.testing.assert_allclose(g, 2 * a * b)


def test_transforms_keep_the_function_name():
    def my_loss(x):
        return x

    assert value_and_grad(my_loss).__name__ == "my_loss"
    assert "my_loss" in repr(jacobian(my_loss))


# --- vjp ---------------------------------------------------------------------------------------
def test_vjp_of_a_non_scalar_output(rng):
    x, y = rng.normal(size=3), rng.normal(size=(2, 3))

    def f(x, y):
        return np.sin(x) * y + x

    out, vjp_fn = vjp(f, x, y)
    np.testing.assert_allclose(out, f(x, y))
    ct = rng.normal(size=(2, 3))
    g = vjp_fn(ct)
    np.testing.assert_allclose(g[0], (ct * (np.cos(x) * y + 1)).sum(0))
    np.testing.assert_allclose(g[1], ct * np.sin(x))
    # A second cotangent reuses the trace and gives its own answer.
    g2 = vjp_fn(2 * ct)
    np.testing.assert_allclose(g2[0], 2 * g[0])
    np.testing.assert_allclose(vjp_fn(ct)[1], g[1])


def test_vjp_agrees_with_the_jacobian(rng):
    x = rng.normal(size=4)

    def f(x):
        return np.stack([x[0] * x[1], np.sin(x[2]) + x[3] ** 2, np.exp(x[0])])

    _, vjp_fn = vjp(f, x)
    jac = fd_jacobian(f, x)
    for ct in np.eye(3):
        np.testing.assert_allclose(vjp_fn(ct)[0], ct @ jac, rtol=1e-6, atol=1e-8)


def test_vjp_needs_a_cotangent_for_non_scalar_outputs(rng, total):
    x = rng.normal(size=3)
    _, vjp_fn = vjp(np.sin, x)
    with pytest.raises(NotScalarError, match=r"yota.vjp: .*sin.* returned an array of shape "
                                             r"\(3,\), so vjp_fn needs a cotangent of that shape"):
        vjp_fn()
    with pytest.raises(InputError, match=r"yota.vjp: the cotangent for .* has shape \(2,\), but "
                                         r"the output has shape \(3,\)"):
        vjp_fn(np.ones(2))
    out, vjp_scalar = vjp(lambda x: total(x * x), x)
    np.testing.assert_allclose(vjp_scalar()[0], 2 * x)
    with pytest.raises(NotScalarError, match=r"yota.vjp: .* must return a float array"):
        vjp(lambda x: np.argmax(x), x)


def test_vjp_keeps_float32(rng):
    x = rng.normal(size=3).astype(np.float32)
    out, vjp_fn = vjp(np.tanh, x)
    g = vjp_fn(np.ones(3))  # a float64 cotangent takes the output's dtype
    assert out.dtype == np.float32 and g[0].dtype == np.float32


# --- jacobian ----------------------------------------------------------------------------------
def test_jacobian_matches_finite_differences(rng, dynamic):
    x = rng.uniform(0.5, 1.5, size=(2, 3))
    w = rng.normal(size=3)

    def f(x):
        return np.log(x) * w + x[0] * x[1]

    jac = jacobian(f, dynamic=dynamic)(x)
    assert jac.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(jac, fd_jacobian(f, x), rtol=1e-6, atol=1e-8)


def test_jacobian_of_several_arguments_and_of_floats(rng):
    a, b = rng.normal(size=3), 0.7
    ja, jb = jacobian(lambda a, b: np.sin(a) * b, argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ja, np.diag(np.cos(a) * b))
    np.testing.assert_allclose(jb, np.sin(a))
    assert ja.shape == (3, 3) and jb.shape == (3,)
    js = jacobian(lambda b: b * b * b)(2.0)  # scalar in, scalar out
    assert np.shape(js) == () and js == pytest.approx(12.0)


def test_jacobian_of_a_tree_argument_is_a_dict(rng):
    @attrs.define
    class Affine:
        w: np.ndarray
        b: float

    m = Affine(rng.normal(size=2), 0.5)
    x = rng.normal(size=2)
    jac = jacobian(lambda m, x: np.tanh(m.w * x + m.b))(m, x)
    d = 1 - np.tanh(m.w * x + m.b) ** 2
    np.testing.assert_allclose(jac[("w",)], np.diag(d * x))
    np.testing.assert_allclose(jac[("b",)], d)


def test_jacobian_of_an_output_that_ignores_the_input(rng):
    x = rng.normal(size=3)
    jac = jacobian(lambda x: np.ones(2))(x)
    np.testing.assert_array_equal(jac, np.zeros((2, 3)))


def test_jacobian_of_a_jacobian(rng):
    x = rng.uniform(0.5, 1.5, size=3)
    jj = jacobian(jacobian(lambda x: np.sin(x) * x[0]))(x)
    fd = fd_jacobian(lambda x: jacobian(lambda x: np.sin(x) * x[0])(x), x)
    np.testing.assert_allclose(jj, fd, rtol=1e-6, atol=1e-8)


# --- hessian and hvp ---------------------------------------------------------------------------
def _quartic(total, c):
    def f(x):
        return total(c * x ** 4) + x[0] * x[1] * x[2] + total(np.sin(x))

    def exact_hessian(x):
        h = np.diag(12 * c * x ** 2 - np.sin(x))
        h[0, 1] = h[1, 0] = x[2]
        h[0, 2] = h[2, 0] = x[1]
        h[1, 2] = h[2, 1] = x[0]
        return h

    return f, exact_hessian


def test_hessian_matches_the_exact_one(rng, total, dynamic):
    c = rng.uniform(0.5, 1.0, size=3)
    f, exact = _quartic(total, c)
    x = rng.normal(size=3)
    np.testing.assert_allclose(hessian(f, dynamic=dynamic)(x), exact(x), rtol=1e-12, atol=1e-12)


def test_hessian_of_a_second_argument_and_float32(rng, total):
    a = rng.normal(size=2).astype(np.float32)
    h = hessian(lambda k, a: total(np.exp(a * k)), argnums=1)(2.0, a)
    assert h.dtype == np.float32 and h.shape == (2, 2)
    np.testing.assert_allclose(h, np.diag(4 * np.exp(2 * a)), rtol=1e-5)


def test_hvp_is_the_hessian_times_v(rng, total, dynamic):
    c = rng.uniform(0.5, 1.0, size=3)
    f, exact = _quartic(total, c)
    x, v = rng.normal(size=3), rng.normal(size=3)
    np.testing.assert_allclose(hvp(f, x, v, dynamic=dynamic), exact(x) @ v, rtol=1e-12)


def test_hvp_does_not_form_the_hessian(rng, total):
    """One gradient and one backward pass of it, whatever the size: count the rule calls."""
    calls = []

    @yota.primitive
    def cube(x):
        return x ** 3

    @cube.defgrad
    def cube_grad(dy, y, x):
        calls.append(np.shape(x))
        return dy * 3 * x * x

    f = lambda x: total(cube(x))  # noqa: E731
    x, v = rng.normal(size=40), rng.normal(size=40)
    np.testing.assert_allclose(hvp(f, x, v), 6 * x * v)
    assert len(calls) == 1  # the gradient, traced once; its backward needs no cube rule
    calls.clear()
    np.testing.assert_allclose(hessian(f)(x), np.diag(6 * x))
    assert len(calls) == 1  # the Hessian too traces the gradient once, then 40 backward passes


def test_hvp_errors(rng, total, dynamic):
    f = lambda x: total(x * x)  # noqa: E731
    with pytest.raises(InputError, match=r"yota.hvp: v has shape \(2,\) but x has shape \(3,\)"):
        hvp(f, np.ones(3), np.ones(2), dynamic=dynamic)
    with pytest.raises(InputError, match=r"yota.hvp: x must be a float array .* dtype int64"):
        hvp(f, np.arange(3), np.ones(3), dynamic=dynamic)
    with pytest.raises(NotScalarError, match=r"yota.hvp: \S*<lambda> must return a scalar"):
        hvp(lambda x: x * x, np.ones(3), np.ones(3), dynamic=dynamic)
    with pytest.raises(InputError, match=r"yota.hvp: the cotangent for \S*<lambda> must be a "):
        hvp(f, np.ones(3), np.array(["a", "b", "c"]), dynamic=dynamic)


def test_hessian_inside_grad_third_derivative(rng, total):
    x = rng.uniform(0.5, 1.5, size=3)

    def trace_of_hessian(x):
        h = hessian(lambda x: total(np.sin(x) * x * x))(x)
        return h[0, 0] + h[1, 1] + h[2, 2]

    _, g = yota.grad(trace_of_hessian, x, dynamic=True)
    third = -x * x * np.cos(x) - 6 * x * np.sin(x) + 6 * np.cos(x)
    np.testing.assert_allclose(g[0], third, rtol=1e-10)


# --- checkpoint --------------------------------------------------------------------------------
def _block(x, w):
    for _ in range(4):
        x = np.tanh(x * w) + 0.5 * np.sin(x)
    return x


def test_checkpoint_gives_the_same_gradients(rng, total, dynamic):
    x, w = rng.normal(size=5), rng.normal(size=5)
    block = checkpoint(_block)

    def plain(x, w):
        return total(_block(_block(x, w), w) ** 2)

    def saved(x, w):
        return total(block(block(x, w), w) ** 2)

    v1, g1 = yota.grad(plain, x, w, dynamic=dynamic)
    v2, g2 = yota.grad(saved, x, w, dynamic=dynamic)
    assert v1 == pytest.approx(v2)
    np.testing.assert_allclose(g2[0], g1[0], rtol=1e-12)
    np.testing.assert_allclose(g2[1], g1[1], rtol=1e-12)
    check_grads(saved, x, w)


def test_checkpoint_second_and_third_order(rng, total):
    x, w = rng.normal(size=3), rng.normal(size=3)
    block = checkpoint(_block)
    h1 = hessian(lambda x: total(block(x, w) ** 2))(x)
    h2 = hessian(lambda x: total(_block(x, w) ** 2))(x)
    np.testing.assert_allclose(h1, h2, rtol=1e-10, atol=1e-12)
    check_grads(lambda x, w: total(block(x, w) ** 2), x, w, order=3, modes="dynamic")


def test_checkpoint_takes_trees_and_keywords(rng, total):
    params = {"w": rng.normal(size=3), "b": [rng.normal(size=3)]}
    x = rng.normal(size=3)

    @checkpoint
    def layer(p, x, *, gain):
        return np.tanh(p["w"] * x + p["b"][0]) * gain

    value, g = check_grads(lambda p, x, gain: total(layer(p, x, gain=gain)), params, x, 1.5)
    assert set(g[0]) == {("w",), ("b", 0)}
    assert layer.__name__ == "layer"
    np.testing.assert_allclose(layer(params, x, gain=2.0),
                               np.tanh(params["w"] * x + params["b"][0]) * 2.0)


def test_checkpoint_records_one_op_and_no_intermediates(rng, total):
    block = checkpoint(_block)
    with yota.kernel.tape.tracing() as tape:
        x = tape.input(rng.normal(size=4))
        block(x, 0.5)
    assert [op.prim.name for op in tape.ops] == ["checkpoint(_block)"]


def test_checkpoint_errors(rng, total):
    w = rng.normal(size=3)

    @checkpoint
    def closes_over(x):
        return x * w_tracked[0]

    def loss(w):
        global w_tracked
        w_tracked = [w]
        return total(closes_over(np.ones(3) * w))

    with pytest.raises(YotaError, match=r"yota.checkpoint: .*closes_over computed with a "
                                        r"tracked value it was not given as an argument"):
        yota.grad(loss, w, dynamic=True)

    @checkpoint
    def two(x):
        return x, x

    with pytest.raises(YotaError, match=r"yota.checkpoint: .*two returned a tuple; a "
                                        r"checkpointed function returns one array"):
        yota.grad(lambda x: total(two(x)), w, dynamic=True)


def _peak_bytes(fn, *args):
    gc.collect()
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_checkpoint_saves_memory(rng, total):
    """A chain of 8 blocks of 8 ops each on 20,000 floats: without checkpoints the tape keeps
    every intermediate (and the backward pass's values); with them, one value per block plus
    one block's worth while its gradient is recomputed."""
    x = rng.normal(size=20_000)
    block = checkpoint(_block)

    def deep(x, blk):
        for _ in range(8):
            x = blk(x, 0.9)
        return total(x)

    g_plain = yota.grad(deep, x, _block, dynamic=True)[1][0]
    g_saved = yota.grad(deep, x, block, dynamic=True)[1][0]
    np.testing.assert_allclose(g_saved, g_plain, rtol=1e-10)
    plain = _peak_bytes(lambda: yota.grad(deep, x, _block, dynamic=True))
    saved = _peak_bytes(lambda: yota.grad(deep, x, block, dynamic=True))
    array_bytes = x.nbytes
    print(f"peak memory: plain {plain / 1e6:.1f} MB, checkpointed {saved / 1e6:.1f} MB")
    assert plain > 60 * array_bytes      # the plain tape holds the intermediates...
    assert saved < plain / 3             # ...checkpoints keep a small fraction of them


# --- static mode: one compiled graph per transform and signature -------------------------------
@pytest.mark.parametrize("make", [
    lambda f: value_and_grad(f, argnums=(0, 1)),
    lambda f: gradient(f, argnums=1),
    lambda f: jacobian(lambda a, b: np.sin(a) * b, argnums=(0, 1)),
    lambda f: hessian(f),
], ids=["value_and_grad", "gradient", "jacobian", "hessian"])
def test_static_transforms_compile_once_and_replay(make, rng, total):
    from yota.compile import CACHE

    def f(a, b):
        return total(np.sin(a) * b * b)

    static = make(f)
    dynamic = make(f)
    dynamic.dynamic = True
    a, b = rng.normal(size=3), rng.normal(size=3)
    static(a, b)  # compile
    misses = CACHE.misses
    for _ in range(3):
        a, b = rng.normal(size=3), rng.normal(size=3)
        got, want = static(a, b), dynamic(a, b)
        for x, y in zip(_flat(got), _flat(want)):
            np.testing.assert_allclose(x, y, rtol=1e-12)
    assert CACHE.misses == misses  # replayed, never traced again


def _flat(result):
    if isinstance(result, (tuple, list, yota.GradientResult)):
        return [leaf for r in result for leaf in _flat(r)]
    return [] if result is None else [result]


def test_static_value_and_grad_reads_closures_and_aux_at_call_time(rng, total):
    X = rng.normal(size=3)
    vg = value_and_grad(lambda w: (total(w * X), {"X": X * 1.0}), has_aux=True)
    w = rng.normal(size=3)
    (_, aux), g = vg(w)
    np.testing.assert_allclose(g, X)
    X = rng.normal(size=3)  # the lambda sees the new X; the compiled graph must too
    (_, aux), g = vg(w)
    np.testing.assert_allclose(g, X)
    np.testing.assert_allclose(aux["X"], X)


def test_errors_are_the_same_in_static_mode(rng, total):
    x = rng.normal(size=3)
    with pytest.raises(YotaError, match=r"yota.value_and_grad: .*has_aux=True"):
        value_and_grad(lambda x: total(x), has_aux=True)(x)
    with pytest.raises(NotScalarError, match=r"yota.hessian: "):
        hessian(lambda x: x * 2)(x)
    with pytest.raises(InputError, match=r"yota.hessian: argument 0 of .* must be one float "
                                         r"array or float"):
        hessian(lambda p: total(p["a"] ** 3))({"a": x})


def test_argnums_none_means_every_argument(rng, total, dynamic):
    a, b = rng.normal(size=2), rng.normal(size=2)
    g = gradient(lambda a, b: total(a * b), argnums=None, dynamic=dynamic)(a, b)
    np.testing.assert_allclose(g[0], b)
    np.testing.assert_allclose(g[1], a)
    ja, jb = jacobian(lambda a, b: a * b, argnums=None, dynamic=dynamic)(a, b)
    np.testing.assert_allclose(ja, np.diag(b))
    np.testing.assert_allclose(jb, np.diag(a))


def test_large_static_jacobians_compute_dynamically(rng, monkeypatch):
    from yota.transforms import jacobians as transforms
    from yota.compile import CACHE, clear_cache

    clear_cache()
    monkeypatch.setattr(transforms, "STATIC_ROWS_MAX", 4)
    x = rng.normal(size=6)
    jac = jacobian(lambda x: np.sin(x) * 2.0)(x)
    np.testing.assert_allclose(jac, np.diag(2 * np.cos(x)))
    entries = [e for k, e in CACHE.entries.items() if k[0] == ("jacobian",)]
    assert entries and all(e.dynamic for e in entries)


# --- one hand-over for both executors ----------------------------------------------------------
def test_two_arguments_never_share_one_gradient_array(dynamic):
    # add's rule passes one array to both arguments; dynamic mode handed it out twice
    x, y = np.array([0.1, 0.2]), np.array([0.3, 0.4])
    f = lambda a, b: np.sum(np.exp(a + b))  # noqa: E731
    _, g = yota.grad(f, x, y, dynamic=dynamic)
    assert not np.shares_memory(g[0], g[1])
    g = gradient(f, argnums=(0, 1), dynamic=dynamic)(x, y)
    assert not np.shares_memory(g[0], g[1])
    g[0][:] = 0.0
    np.testing.assert_allclose(g[1], np.exp(x + y))


def test_vjp_never_hands_the_cotangent_back():
    x, y, ct = np.array([0.1, 0.2]), np.array([0.3, 0.4]), np.array([1.0, 2.0])
    _, vjp_fn = vjp(lambda a, b: a + b, x, y)
    g = vjp_fn(ct)
    assert g[0] is not ct and g[1] is not ct and not np.shares_memory(g[0], g[1])
    g[0][:] = 7.0
    np.testing.assert_allclose(ct, [1.0, 2.0])
    np.testing.assert_allclose(vjp_fn(ct)[1], [1.0, 2.0])


def test_dynamic_jacobian_rows_and_vjp_calls_do_not_grow_the_tape(monkeypatch):
    from yota import tracing
    from yota.transforms import products

    tapes = []
    real_trace = tracing.trace

    def spy(*a, **k):
        tr, tape = real_trace(*a, **k)
        tapes.append((tape, len(tape.ops)))
        return tr, tape

    monkeypatch.setattr(products, "trace", spy)
    x = np.array([0.1, 0.2, 0.3])
    _, vjp_fn = vjp(lambda a: np.sin(a) * a, x)
    for _ in range(3):
        vjp_fn(np.ones(3))
    (tape, n), = tapes
    assert len(tape.ops) == n


def test_grad_is_value_and_grad_of_every_argument(dynamic):
    x, n = np.array([0.5, 1.5]), 2.0
    f = lambda a, s: np.sum(a ** 2) * s  # noqa: E731
    v1, g1 = yota.grad(f, x, n, dynamic=dynamic)
    v2, g2 = value_and_grad(f, argnums=None, dynamic=dynamic)(x, n)
    assert v1 == v2 and type(g1[1]) is type(g2[1]) is float
    np.testing.assert_allclose(g1[0], g2[0])
