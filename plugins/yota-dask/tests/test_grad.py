"""yota_dask.grad against yota.grad on the gathered data: attrs models, argument layouts, both
reductions, uneven chunks, a single chunk; compiling once per shard shape; a training loop step
by step. One 2-process LocalCluster for the module."""
from __future__ import annotations

import os
import sys

import attrs
import cloudpickle
import distributed
import dask.array as da
import numpy as np
import pytest

import yota
import yota_dask
from yota.optim import Adam
from yota_nn import cross_entropy, relu

# The workers cannot import this test module: send its functions and classes by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@attrs.define
class Dense:
    W: np.ndarray
    b: np.ndarray


@attrs.define
class MLP:
    layers: list
    scale: float = 1.0


def forward(model, X):
    for layer in model.layers[:-1]:
        X = relu(X @ layer.W + layer.b)
    last = model.layers[-1]
    return (X @ last.W + last.b) * model.scale


def mean_loss(model, X, y):
    return cross_entropy(forward(model, X), y)


def sum_loss(model, X, y):
    return cross_entropy(forward(model, X), y, reduction="sum")


def make_mlp(rng, sizes=(6, 8, 3)):
    layers = [Dense(rng.standard_normal((a, b)) / np.sqrt(a), rng.standard_normal(b) * 0.1)
              for a, b in zip(sizes[:-1], sizes[1:])]
    return MLP(layers, 1.3)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 6))
    y = rng.integers(0, 3, 200)
    return make_mlp(rng), X, y


def assert_close(got, want, rtol=1e-12):
    """Relative error of every gradient leaf (max abs difference over max abs value)."""
    if want is None:
        assert got is None
        return
    if isinstance(want, dict):
        assert got.keys() == want.keys()
        for path in want:
            assert_close(got[path], want[path], rtol)
        return
    want_arr, got_arr = np.asarray(want), np.asarray(got)
    assert got_arr.dtype == want_arr.dtype and got_arr.shape == want_arr.shape
    scale = max(np.max(np.abs(want_arr)), 1e-300)
    assert np.max(np.abs(got_arr - want_arr)) <= rtol * scale


def assert_same_result(got, want, rtol=1e-12):
    (value, g), (value_ref, g_ref) = got, want
    assert abs(value - value_ref) <= rtol * abs(value_ref)
    assert type(g) is yota.GradientResult and len(g) == len(g_ref)
    for a, b in zip(g, g_ref):
        assert_close(a, b, rtol)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("x_chunks, y_chunks", [
    ((50, 50, 50, 50), (50, 50, 50, 50)),
    ((70, 70, 60), (100, 100)),           # uneven, and y rechunked to match X
    ((200,), (200,)),                     # a single chunk
])
def test_attrs_model_matches_yota_grad_on_gathered_data(client, data, reduction, x_chunks,
                                                        y_chunks):
    model, X, y = data
    loss = mean_loss if reduction == "mean" else sum_loss
    Xd = da.from_array(X, chunks=(x_chunks, -1)).persist()
    yd = da.from_array(y, chunks=(y_chunks,)).persist()
    got = yota_dask.grad(loss, model, Xd, yd, reduction=reduction, client=client)
    assert_same_result(got, yota.grad(loss, model, X, y, argnums=0))
    assert got[1][1] is None and got[1][2] is None


def weighted_loss(w, X, bias, y, *, temperature):
    """Parameters around and between the data; a NumPy array and a keyword broadcast."""
    logits = (X @ w["W"] + bias) / temperature
    return cross_entropy(logits, y) + 0.01 * np.sum(w["W"] ** 2)


def scalar_param_loss(a, X, c):
    """A float parameter; the data as a keyword argument chunked along both axes."""
    return np.mean(np.tanh(a * X) ** 2) * c


def test_argument_layouts(client, data):
    _, X, y = data
    rng = np.random.default_rng(1)
    w = {"W": rng.standard_normal((6, 3))}
    bias = rng.standard_normal(3)
    Xd = da.from_array(X, chunks=(64, -1))
    yd = da.from_array(y, chunks=(64,))
    got = yota_dask.grad(weighted_loss, w, Xd, bias, yd, temperature=2.0, client=client)
    want = yota.grad(weighted_loss, w, X, bias, y, temperature=2.0, argnums=(0, 2))
    assert_same_result(got, want)
    assert set(got[1][0]) == {("W",)} and got[1][2].shape == (3,)

    # Data passed by keyword, chunked along axis 1 too (merged into whole rows).
    got = yota_dask.grad(scalar_param_loss, 0.7, c=3.0, X=da.from_array(X, chunks=(30, 2)),
                         client=client)
    value, g = yota.grad(scalar_param_loss, 0.7, X=X, c=3.0)
    assert_same_result(got, (value, g))
    assert isinstance(got[1][0], float)


def test_value_and_grad_and_the_default_client(client, data):
    model, X, y = data
    Xd, yd = da.from_array(X, chunks=(80, -1)), da.from_array(y, chunks=(80,))
    want = yota.grad(mean_loss, model, X, y, argnums=0)
    with client.as_current():
        got = yota_dask.value_and_grad(mean_loss)(model, Xd, yd)
    assert_same_result(got, want)


def traced_loss(model, X, y, log=None):
    """Appends a line per trace: the body of a static-mode loss runs only when it compiles."""
    with open(log, "a") as f:
        f.write(f"{os.getpid()} {X.shape[0]}\n")
    return mean_loss(model, X, y)


def test_each_worker_compiles_once_per_shard_shape(client, data, tmp_path):
    model, X, y = data
    log = str(tmp_path / "traces.txt")
    Xd = da.from_array(X, chunks=((60, 60, 40, 40), -1)).persist()
    yd = da.from_array(y, chunks=((60, 60, 40, 40),)).persist()
    for _ in range(4):
        yota_dask.grad(traced_loss, model, Xd, yd, log=log, argnums=0, client=client)
        model = attrs.evolve(model, scale=model.scale)   # a new model object every step
    lines = open(log).read().split("\n")[:-1]
    assert len(lines) == len(set(lines))          # no (worker, shape) traced twice
    assert {line.split()[1] for line in lines} == {"60", "40"}
    assert len(lines) <= 4


def test_training_loop_matches_single_process_step_by_step(client, data):
    model, X, y = data
    Xd = da.from_array(X, chunks=(45, -1)).persist()
    yd = da.from_array(y, chunks=(45,)).persist()
    local, distributed = Adam(lr=0.05), Adam(lr=0.05)
    m_local = m_dist = model
    for _ in range(5):
        m_local = local(m_local, yota.grad(mean_loss, m_local, X, y, argnums=0))
        m_dist = distributed(m_dist, yota_dask.grad(mean_loss, m_dist, Xd, yd, argnums=0,
                                                    client=client))
        assert abs(distributed.last_value - local.last_value) <= 1e-12 * local.last_value
        for a, b in zip(m_dist.layers, m_local.layers):
            np.testing.assert_allclose(a.W, b.W, rtol=1e-10, atol=1e-13)
            np.testing.assert_allclose(a.b, b.b, rtol=1e-10, atol=1e-13)
    assert local.last_value < yota.grad(mean_loss, model, X, y)[0]


def test_persist_puts_each_shard_on_one_worker_and_balances_them(client, data):
    model, X, y = data
    Xd = da.from_array(X, chunks=(25, -1))
    yd = da.from_array(y, chunks=(40,))                  # rechunked to X's rows
    Xp, yp = yota_dask.persist(Xd, yd, client=client)
    assert Xp.chunks == Xd.chunks and yp.chunks == ((25,) * 8,)
    with client.as_current():
        distributed.wait([Xp, yp])
    where = {}
    for arr in (Xp, yp):
        for future in distributed.futures_of(arr):
            (worker,) = client.who_has([future])[future.key]
            where.setdefault(future.key[1], set()).add(worker)
    assert all(len(workers) == 1 for workers in where.values())         # X_i beside y_i
    owners = [next(iter(where[i])) for i in range(8)]
    assert owners[:4] == [owners[0]] * 4 and owners[4:] == [owners[4]] * 4
    assert owners[0] != owners[4]
    assert_same_result(yota_dask.grad(mean_loss, model, Xp, yp, argnums=0, client=client),
                       yota.grad(mean_loss, model, X, y, argnums=0))
    with pytest.raises(yota.InputError, match=r"yota_dask.persist: argument 1 is a ndarray, not a "
                       r"dask array; wrap it with dask.array.from_array"):
        yota_dask.persist(Xd, y, client=client)
