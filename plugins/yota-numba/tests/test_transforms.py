"""Every transform that compiles, through the numba backend: grad, value_and_grad, gradient,
elementwise_grad, jacobian, hessian and hvp with ``backend="numba"`` give what ``backend="numpy"``
gives, on an attrs model and on arrays, in float64 and float32, on the traced inputs and
replayed on new ones; float64 gradients also against finite differences (check_grads with
``backend="numba"``). ``backend="auto"``, once ``wait_for_background()`` returns, runs the
numba tier and gives the same results. (vjp traces on every call: no backend.)

Tolerances. float64: 1e-10 relative to the largest magnitude; the two backends differ only by
the order of sums (sequential against NumPy's pairwise: a few ULP on these sizes) and by the
1-3 ULP of yota-numba's exp/log/tanh kernels, both ~1e-15. float32: 2e-5 (about 160 float32
ULP): numba's float32 math computes in float64 and rounds once and its sums accumulate in
float64, while NumPy's float32 ufuncs and pairwise sums round in float32 at every step (up to a
few ULP each, through a chain of ~20 of them).
"""
from __future__ import annotations

import warnings

import attrs
import numpy as np
import pytest

import yota
from yota.compile import CACHE
from yota.compile.tiers import wait_for_background
from yota.testing import check_grads

DTYPES = [np.float64, np.float32]


@attrs.define
class Net:
    W: np.ndarray
    b: np.ndarray
    scale: np.ndarray


def net_loss(net, X, y):
    h = np.tanh(X @ net.W + net.b)
    z = np.sin(h) * net.scale + h * h * 0.5          # an elementwise chain: one fused loop
    return np.mean((np.sum(z, axis=1) - y) ** 2) + 0.1 * np.sum(np.exp(-net.W * net.W))


def net_out(net, X):
    return np.tanh(X @ net.W + net.b) * net.scale


def chain(x):
    return np.exp(np.sin(x) * 0.5) * np.log1p(x * x) + x[::-1] * np.cos(x)


def scalar(x):
    return np.sum(np.log1p(x * x) * np.cos(x) + np.tanh(x) ** 3)


def bump(x):
    return np.tanh(x) * np.exp(-x * x)


def draw(seed, dtype):
    rng = np.random.default_rng(seed)
    net = Net(rng.normal(size=(3, 4)).astype(dtype), rng.normal(size=4).astype(dtype),
              rng.uniform(0.5, 1.5, size=4).astype(dtype))
    return (net, rng.normal(size=(5, 3)).astype(dtype), rng.normal(size=5).astype(dtype),
            rng.uniform(-1.5, 1.5, size=4).astype(dtype))


# name -> (make(backend), args(net, X, y, x)): each is called and its result compared whole
CASES = {
    "grad": (lambda b: lambda *a: yota.grad(net_loss, *a, backend=b),
             lambda net, X, y, x: (net, X, y)),
    "value_and_grad": (lambda b: yota.value_and_grad(net_loss, argnums=(0, 1), backend=b),
                       lambda net, X, y, x: (net, X, y)),
    "value_and_grad_aux": (lambda b: yota.value_and_grad(
        lambda net, X, y: (net_loss(net, X, y), net_out(net, X)), has_aux=True, backend=b),
        lambda net, X, y, x: (net, X, y)),
    "gradient": (lambda b: yota.gradient(net_loss, backend=b),
                 lambda net, X, y, x: (net, X, y)),
    "elementwise_grad": (lambda b: yota.elementwise_grad(bump, backend=b),
                         lambda net, X, y, x: (x,)),
    "jacobian": (lambda b: yota.jacobian(chain, backend=b), lambda net, X, y, x: (x,)),
    "jacobian_of_a_model": (lambda b: yota.jacobian(net_out, backend=b),
                            lambda net, X, y, x: (net, X)),
    "hessian": (lambda b: yota.hessian(scalar, backend=b), lambda net, X, y, x: (x,)),
    "hvp": (lambda b: lambda x, v: yota.hvp(scalar, x, v, backend=b),   # v: a program input
            lambda net, X, y, x: (x, np.cos(3 * x))),
}


def leaves(r, where="result"):
    """``[(where, array)]`` of a transform's result: tuples, GradientResults, dicts, models."""
    if attrs.has(type(r)):
        r = attrs.asdict(r, recurse=False)
    if isinstance(r, dict):
        return [leaf for k in sorted(r, key=repr) for leaf in leaves(r[k], f"{where}[{k!r}]")]
    if isinstance(r, (tuple, list, yota.GradientResult)):
        return [leaf for i, v in enumerate(r) for leaf in leaves(v, f"{where}[{i}]")]
    return [] if r is None else [(where, r)]


def assert_close(got, want, dtype, what):
    rtol = 1e-10 if dtype == np.float64 else 2e-5
    g, w = leaves(got), leaves(want)
    assert [p for p, _ in g] == [p for p, _ in w], f"{what}: results differ in structure"
    for (where, a), (_, b) in zip(g, w):
        assert type(a) is type(b), f"{what} {where}: {type(a).__name__} vs {type(b).__name__}"
        assert np.asarray(a).dtype == np.asarray(b).dtype, f"{what} {where}: dtype"
        scale = max(1.0, float(np.max(np.abs(b), initial=0.0)))
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale, err_msg=f"{what} {where}")


@pytest.fixture(autouse=True)
def _fresh_cache():
    yota.clear_cache()
    yield
    wait_for_background()
    yota.clear_cache()


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_numba_equals_numpy_first_call_and_replay(name, dtype):
    make, pick = CASES[name]
    numba_t, numpy_t = make("numba"), make("numpy")
    for seed in (0, 1):      # the first call compiles; the second replays on new inputs
        args = pick(*draw(seed, dtype))
        want = numpy_t(*args)
        assert_close(numba_t(*args), want, dtype, f"{name} call {seed + 1}")
    assert CACHE.misses == 2, "the replay was traced again"
    assert tiers("numba") == ["numba"], "the numba transform did not run numba code"


def tiers(backend):
    """The backends of the cached variants of transforms made with ``backend=``."""
    return [v.backend for key, e in CACHE.entries.items()
            if isinstance(key[0], tuple) and key[0][-1] == backend for v in e.variants]


@pytest.mark.parametrize("name", sorted(CASES))
def test_auto_runs_the_numba_tier_once_compiled(name):
    make, pick = CASES[name]
    auto, numpy_t = make("auto"), make("numpy")
    args = pick(*draw(2, np.float64))
    want = numpy_t(*args)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)   # a failed background compile warns
        assert_close(auto(*args), want, np.float64, f"{name} (auto, first call)")
        assert wait_for_background(timeout=120), "the background compile did not finish"
        assert tiers("auto") == ["numba"], f"{name}: auto runs {tiers('auto')} after its compile"
        assert_close(auto(*args), want, np.float64, f"{name} (auto, numba tier)")
        args2 = pick(*draw(3, np.float64))
        assert_close(auto(*args2), numpy_t(*args2), np.float64, f"{name} (auto, replay)")


def test_numba_gradients_against_finite_differences():
    net, X, y, x = draw(4, np.float64)
    check_grads(net_loss, net, X, y, modes="static", backend="numba")
    check_grads(bump_sum, x, modes="static", backend="numba", order=2)


def bump_sum(x):
    return np.sum(bump(x) * np.sin(x))


def test_check_grads_with_numba_catches_a_wrong_lowering(monkeypatch):
    """check_grads(backend="numba") really runs numba's code: a lowering of sin that is off by
    0.1% (the fused loop's, not NumPy's) fails it, and the numpy backend still passes."""
    from yota.core_pack import elementwise

    wrong = lambda in_dtypes, out_dtype: "(math.sin({0}) * 1.001)"  # noqa: E731
    monkeypatch.setitem(elementwise.sin.emitters, "numba", wrong)
    x = np.linspace(-1.0, 1.0, 5)
    f = lambda x: np.sum(np.sin(x * 2.0) * x)  # noqa: E731
    check_grads(f, x, modes="static", backend="numpy")
    with pytest.raises(AssertionError, match=r"backend 'numba'"):
        check_grads(f, x, modes="static", backend="numba")


def test_auto_compiles_the_kernels_in_the_background():
    """numba compiles a kernel on its first call: once wait_for_background() returns, the
    numba tier's kernels are compiled, none is left for the caller's hot path."""
    import numba

    x = np.linspace(0.0, 1.0, 10)
    yota.grad(bump_sum, x, backend="auto")
    assert wait_for_background(timeout=120)
    (variant,) = [v for key, e in CACHE.entries.items()
                  if isinstance(key[0], tuple) and key[0][-1] == "auto" for v in e.variants]
    assert variant.backend == "numba"
    kernels = [k for k in variant.fn.__globals__.values()
               if isinstance(k, numba.core.dispatcher.Dispatcher)]
    assert kernels, "no numba kernel in the numba tier's function"
    assert all(k.signatures for k in kernels), "a kernel is left to compile on the hot path"
