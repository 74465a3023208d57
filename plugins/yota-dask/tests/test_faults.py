"""Faults on a cluster of its own (a worker process gets killed here): a worker dying mid-step
does not change the training loop, a raising loss raises on the client with the worker's
traceback, a NaN shard gives NaN."""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback

import cloudpickle
import dask.array as da
import numpy as np
import pytest

import yota
import yota_dask
from yota.optim import SGD

cloudpickle.register_pickle_by_value(sys.modules[__name__])


def logistic(w, X, y, marker=None):
    """Mean logistic loss. With ``marker`` (a path prefix), the first shard to claim
    ``marker + ".claim"`` writes its process id to ``marker + ".pid"`` and stalls, so the test can
    kill that worker while it is computing."""
    if marker is not None:
        try:
            os.close(os.open(marker + ".claim", os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            pass
        else:
            with open(marker + ".tmp", "w") as f:
                f.write(str(os.getpid()))
            os.replace(marker + ".tmp", marker + ".pid")
            time.sleep(30)        # killed long before this ends
    z = X @ w
    return np.mean(np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0) - y * z)


def raising_loss(w, X, y):
    if X.shape[0] < 25:
        raise ValueError("shard too small for this loss")
    return logistic(w, X, y)


@pytest.fixture(scope="module")
def own_client(new_cluster):
    with new_cluster() as client:
        yield client


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((120, 4))
    y = (X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.3 * rng.standard_normal(120) > 0).astype(float)
    return X, y


def _kill_when_stalled(marker):
    deadline = time.monotonic() + 20
    while not os.path.exists(marker + ".pid"):
        if time.monotonic() > deadline:
            return
        time.sleep(0.01)
    os.kill(int(open(marker + ".pid").read()), signal.SIGKILL)


def test_worker_killed_mid_step_does_not_change_the_loop(own_client, problem, tmp_path):
    X, y = problem
    Xd = da.from_array(X, chunks=(30, -1)).persist()
    yd = da.from_array(y, chunks=(30,)).persist()
    own_client.wait_for_workers(2)
    marker = str(tmp_path / "stall")
    local, dist = SGD(0.5), SGD(0.5)
    w_local = w_dist = np.zeros(4)
    for step in range(4):
        w_local = local(w_local, yota.grad(logistic, w_local, X, y, argnums=0))
        kwargs = {}
        if step == 2:      # this step loses a worker while a shard is computing on it
            kwargs = {"marker": marker, "dynamic": True}
            killer = threading.Thread(target=_kill_when_stalled, args=(marker,))
            killer.start()
        w_dist = dist(w_dist, yota_dask.grad(logistic, w_dist, Xd, yd, argnums=0,
                                             client=own_client, **kwargs))
        if step == 2:
            killer.join()
            assert os.path.exists(marker + ".pid")     # the stall happened and was killed
        np.testing.assert_allclose(w_dist, w_local, rtol=1e-12, atol=1e-15)
        assert abs(dist.last_value - local.last_value) <= 1e-12 * local.last_value


def test_a_raising_loss_raises_on_the_client_with_the_worker_traceback(own_client, problem):
    X, y = problem
    Xd = da.from_array(X, chunks=((50, 50, 20), -1))
    yd = da.from_array(y, chunks=((50, 50, 20),))
    with pytest.raises(ValueError, match="shard too small for this loss") as info:
        yota_dask.grad(raising_loss, np.zeros(4), Xd, yd, client=own_client)
    frames = traceback.extract_tb(info.value.__traceback__)
    assert any(frame.name == "raising_loss" for frame in frames)
    assert any(frame.name == "shard_gradient" for frame in frames)


def test_a_nan_shard_gives_nan(own_client, problem):
    X, y = problem
    X = X.copy()
    X[100, 2] = np.nan
    value, g = yota_dask.grad(logistic, np.ones(4), da.from_array(X, chunks=(30, -1)),
                              da.from_array(y, chunks=(30,)), client=own_client)
    ref_value, ref_g = yota.grad(logistic, np.ones(4), X, y, argnums=0)
    assert np.isnan(value) and np.isnan(ref_value)
    np.testing.assert_array_equal(np.isnan(g[0]), np.isnan(ref_g[0]))
