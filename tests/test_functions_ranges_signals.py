"""linspace/logspace/geomspace, convolve/correlate, interp and gradient: NumPy's values, and
gradients against finite differences (second order, both modes, float64 and float32)."""
import numpy as np
import pytest

import yota
from yota.testing import check_grads

DTYPES = [np.float64, np.float32]


def value(f, *args):
    return yota.value_and_grad(f, argnums=tuple(range(len(args))))(*args)[0]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(num=5), dict(num=5, endpoint=False), dict(num=1),
                                dict(num=4, axis=1), dict(num=3, axis=-1)])
def test_linspace(kw, dtype):
    a, b = np.array([0.5, -1.0], dtype), np.array([2.0, 3.0], dtype)
    w = np.arange(1.0, 1 + np.linspace(a, b, **kw).size).reshape(np.linspace(a, b, **kw).shape)
    np.testing.assert_allclose(value(lambda a, b: np.sum(np.linspace(a, b, **kw) * w), a, b),
                               np.sum(np.linspace(a, b, **kw) * w), rtol=1e-6)
    check_grads(lambda a, b: np.sum(np.sin(np.linspace(a, b, **kw))), a, b, order=2)
    scalar_kw = {k: v for k, v in kw.items() if k != "axis"}
    check_grads(lambda a: np.sum(np.sin(np.linspace(a[0], 2.0, **scalar_kw))), a)


def test_linspace_retstep_and_dtype():
    a = np.array(0.5)
    y, step = np.linspace(a, 2.0, 4, retstep=True)
    _, g = yota.grad(lambda a: np.linspace(a, 2.0, 4, retstep=True)[1] * 3.0, a)
    np.testing.assert_allclose(g[0], -1.0)
    _, g = yota.grad(lambda a: np.sum(np.linspace(a, 2.0, 4, dtype=np.float32)), a)
    np.testing.assert_allclose(g[0], 2.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_logspace_and_geomspace(dtype):
    a, b = np.array([0.5, -1.0], dtype), np.array([2.0, 1.0], dtype)
    check_grads(lambda a, b: np.sum(np.logspace(a, b, 4, base=2.0)), a, b, order=2)
    check_grads(lambda a, b, c: np.sum(np.logspace(a, b, 4, base=c)), a, b,
                np.array([1.5, 3.0], dtype), order=2)
    s, e = np.array([-0.5, 1.0], dtype), np.array([-2.0, 3.0], dtype)
    for kw in (dict(num=4), dict(num=4, endpoint=False, axis=1), dict(num=1)):
        np.testing.assert_allclose(value(lambda s, e: np.sum(np.geomspace(s, e, **kw)), s, e),
                                   np.sum(np.geomspace(s, e, **kw)), rtol=1e-6)
        check_grads(lambda s, e: np.sum(np.geomspace(s, e, **kw) ** 2), s, e, order=2)
    with pytest.raises(ValueError, match="zero"):
        yota.grad(lambda s: np.sum(np.geomspace(s, 2.0, 3)), np.array(0.0))


@pytest.mark.parametrize("fn", [np.convolve, np.correlate])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("n, m", [(5, 3), (3, 5), (4, 4), (1, 3), (2, 5), (1, 1)])
def test_convolve_correlate(fn, mode, n, m):
    rng = np.random.default_rng(n * 10 + m)
    a, v = rng.normal(size=n), rng.normal(size=m)
    w = rng.normal(size=len(fn(a, v, mode)))
    np.testing.assert_allclose(value(lambda a, v: fn(a, v, mode) @ w, a, v), fn(a, v, mode) @ w)
    check_grads(lambda a, v: np.sin(fn(a, v, mode)) @ w, a, v, order=2)


def test_convolve_float32_and_complex():
    rng = np.random.default_rng(0)
    a, v = rng.normal(size=5).astype(np.float32), rng.normal(size=3).astype(np.float32)
    check_grads(lambda a, v: np.sum(np.convolve(a, v, "same") ** 2), a, v)
    y = rng.normal(size=5)
    check_grads(lambda a, v, y: np.sum(np.abs(np.correlate(a + 1j * y, v)) ** 2), a, v, y,
                order=2)
    ref = np.correlate(a + 1j * y, v + 2j * y[:3], "full")
    got = yota.value_and_grad(lambda a: np.sum(np.abs(np.correlate(a + 1j * y, v + 2j * y[:3],
                                                                   "full")) ** 2))(a)[0]
    np.testing.assert_allclose(got, np.sum(np.abs(ref) ** 2), rtol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_interp(dtype):
    xp = np.array([0.0, 0.5, 1.5, 2.0], dtype)
    fp = np.array([1.0, -1.0, 2.0, 0.5], dtype)
    x = np.array([-0.3, 0.2, 0.7, 1.6, 1.99, 2.5], dtype)
    check_grads(lambda x, xp, fp: np.sum(np.interp(x, xp, fp) ** 2), x, xp, fp, order=2)
    check_grads(lambda x: np.sum(np.interp(x, xp, fp, left=-3.0, right=4.0) ** 2), x)
    check_grads(lambda fp: np.sum(np.interp(x, xp, fp) ** 2), fp)
    knots = np.concatenate([x, [0.5, 2.0, 0.0]])
    np.testing.assert_allclose(value(lambda x: np.sum(np.interp(x, xp, fp) * x), knots),
                               np.sum(np.interp(knots, xp, fp) * knots), rtol=1e-6)


def test_interp_single_knot_and_period():
    x = np.array([-1.0, 0.0, 2.0])
    check_grads(lambda x, f: np.sum(np.interp(x * 2, [0.0], f) * x), x, np.array([3.0]))
    with pytest.raises(yota.YotaError, match="period"):
        yota.grad(lambda x: np.sum(np.interp(x, [0.0, 1.0], [1.0, 2.0], period=2.0)), x)


GRADIENT_CASES = [((), {}), ((0.5,), {}), (("co",), dict(axis=0)), ((0.5, 2.0), {}),
                  (("co", "even"), {}), ((), dict(axis=1)), ((), dict(axis=-1)),
                  ((), dict(axis=(1, 0)))]


@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("args, kw", GRADIENT_CASES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_gradient(args, kw, edge_order, dtype):
    f = np.random.default_rng(0).normal(size=(5, 4)).astype(dtype)
    named = {"co": np.array([0.0, 0.3, 1.0, 1.2, 2.0]), "even": np.arange(4.0)}
    args = tuple(named.get(a, a) if isinstance(a, str) else a for a in args)

    def loss(f, *args):
        g = np.gradient(f, *args, edge_order=edge_order, **kw)
        return sum(np.sum(np.sin(gi)) for gi in (g if isinstance(g, tuple) else (g,)))

    ref = np.gradient(f, *args, edge_order=edge_order, **kw)
    expected = sum(np.sum(np.sin(r)) for r in (ref if isinstance(ref, tuple) else (ref,)))
    np.testing.assert_allclose(value(loss, f, *args), expected, rtol=1e-5)
    check_grads(loss, f, *args, order=2 if dtype == np.float64 else 1)


def test_gradient_tracked_coordinates_and_errors():
    f = np.sin(np.linspace(0, 2, 6))
    check_grads(lambda f, x: np.sum(np.gradient(f, x, edge_order=2) ** 2), f,
                np.array([0.0, 0.3, 0.7, 1.2, 1.3, 2.0]), order=2)
    with pytest.raises(ValueError, match="too small"):
        yota.grad(lambda f: np.sum(np.gradient(f[:2], edge_order=2)), f)

