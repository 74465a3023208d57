"""Optimizer steps through the numba backend. A step compiles where its gradient does:
``opt.minimize(loss, model, *data, backend="numba")`` (its keywords go to ``yota.grad``), and a
differentiated step (meta-learning), whose whole update is traced into the compiled program.
Several steps of every optimizer with backend="numba" stay with backend="numpy", in float64 and
float32; the tolerances are test_transforms.py's (the backends differ by the order of sums and
the math kernels' few ULP), applied to every step's model, not only the last.
"""
from __future__ import annotations

import attrs
import numpy as np
import pytest

import yota
from yota.compile import CACHE
from yota.optim import SGD, Adam, AdamW, RMSProp, cosine
from yota.testing import check_grads

STEPS = 4


@attrs.define
class Net:
    W: np.ndarray
    b: np.ndarray


def loss(net, X, y):
    h = np.tanh(X @ net.W + net.b)
    return np.mean((np.sum(np.sin(h) * 1.5 + h * h, axis=1) - y) ** 2)


def data(dtype):
    rng = np.random.default_rng(7)
    net = Net(rng.normal(size=(3, 4)).astype(dtype), rng.normal(size=4).astype(dtype))
    return net, rng.normal(size=(6, 3)).astype(dtype), rng.normal(size=6).astype(dtype)


OPTIMIZERS = {
    "sgd_nesterov": lambda: SGD(0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam_clipped": lambda: Adam(cosine(0.05, total=STEPS, warmup=1), clip_norm=0.5),
    "adamw": lambda: AdamW(0.02, weight_decay=0.1, clip_value=0.3),
    "rmsprop": lambda: RMSProp(0.01, momentum=0.5),
}


def close(a, b, dtype, what):
    rtol = 1e-10 if dtype == np.float64 else 2e-5
    assert np.asarray(a).dtype == np.asarray(b).dtype, f"{what}: dtype"
    scale = max(1.0, float(np.max(np.abs(b), initial=0.0)))
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale, err_msg=what)


@pytest.fixture(autouse=True)
def _fresh_cache():
    yota.clear_cache()
    yield
    yota.clear_cache()


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_steps_with_numba_follow_numpy(name, dtype):
    net0, X, y = data(dtype)
    runs = {}
    for backend in ("numpy", "numba"):
        opt, net, trail = OPTIMIZERS[name](), net0, []
        for _ in range(STEPS):
            net, value = opt.minimize(loss, net, X, y, backend=backend)
            trail.append((value, net))
        runs[backend] = trail
    for k, ((v1, n1), (v2, n2)) in enumerate(zip(runs["numba"], runs["numpy"])):
        close(v1, v2, dtype, f"{name}: loss at step {k}")
        close(n1.W, n2.W, dtype, f"{name}: W after step {k + 1}")
        close(n1.b, n2.b, dtype, f"{name}: b after step {k + 1}")
    assert runs["numba"][-1][0] < runs["numba"][0][0], f"{name}: the loss did not go down"
    numba_variants = [v.backend for key, e in CACHE.entries.items()
                      if isinstance(key[0], tuple) and key[0][-1] == "numba" for v in e.variants]
    assert numba_variants == ["numba"], "minimize(backend='numba') did not compile with numba"


def after_one_step(net, lr, X, y):
    """Meta-learning: the loss after an Adam step, as a function of the initial model and
    the learning rate; the update itself is traced and compiled."""
    net, _ = Adam(lr).minimize(loss, net, X, y)
    return loss(net, X, y)


def test_a_differentiated_step_compiles_with_numba():
    net, X, y = data(np.float64)
    lr = np.float64(0.05)
    want = yota.grad(after_one_step, net, lr, X, y, argnums=(0, 1), backend="numpy")
    got = yota.grad(after_one_step, net, lr, X, y, argnums=(0, 1), backend="numba")
    close(got[0], want[0], np.float64, "meta-loss")
    for path in want[1][0]:
        close(got[1][0][path], want[1][0][path], np.float64, f"d meta-loss / d {path}")
    close(got[1][1], want[1][1], np.float64, "d meta-loss / d lr")
    check_grads(after_one_step, net, lr, X, y, argnums=(0, 1), modes="static",
                backend="numba")
