"""The digits MLP example on Dask workers (--workers / --scheduler) trains the same model as in
one process: same seed, same minibatches, gradients equal up to float32 rounding."""
from __future__ import annotations

import importlib.util
import pathlib
import sys

import cloudpickle
import numpy as np
import pytest

pytest.importorskip("sklearn")
TRAIN_PY = pathlib.Path(__file__).resolve().parents[3] / "examples" / "mlp" / "train.py"


@pytest.fixture(scope="module")
def mlp():
    spec = importlib.util.spec_from_file_location("mlp_train_dask", TRAIN_PY)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module      # cloudpickle registers modules by name
    spec.loader.exec_module(module)
    # Run as a script, train.py is __main__ and travels by value; loaded here, it must be told.
    cloudpickle.register_pickle_by_value(module)
    yield module
    cloudpickle.unregister_pickle_by_value(module)
    del sys.modules[spec.name]


def _train(mlp, data, client):
    model = mlp.MLP.init(np.random.default_rng(0), [64, 32, 10])
    return mlp.train(model, data, epochs=2, batch_size=32, opt=mlp.make_optimizer("adam", 0.01),
                     seed=0, progress=False, client=client)


def test_training_on_workers_matches_one_process(mlp, client):
    X_train, y_train, X_test, y_test = mlp.load_data()
    data = X_train[:320], y_train[:320], X_test, y_test
    local, h_local = _train(mlp, data, None)
    dist, h_dist = _train(mlp, data, client)
    for a, b in zip(dist.layers, local.layers):
        np.testing.assert_allclose(a.W, b.W, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(h_dist["loss"], h_local["loss"], rtol=1e-5)
    assert h_dist["test_acc"] == h_local["test_acc"] and h_local["test_acc"][-1] > 0.5


def test_command_line_workers_and_scheduler_options(mlp, client, tmp_path, capsys):
    X_train, y_train, X_test, y_test = mlp.load_data()
    np.savez(tmp_path / "d.npz", X_train=X_train[:64], y_train=y_train[:64], X_test=X_test[:50],
             y_test=y_test[:50])
    mlp.main(["--data", str(tmp_path / "d.npz"), "--epochs", "1", "--hidden", "8",
              "--workers", "2", "--no-progress", "--plot", str(tmp_path / "p.png")])
    out = capsys.readouterr().out
    assert "gradients on 2 Dask worker(s)" in out and "test accuracy" in out
    # --scheduler uses a running cluster, and leaves it running.
    mlp.main(["--data", str(tmp_path / "d.npz"), "--epochs", "1", "--hidden", "8",
              "--scheduler", client.scheduler.address, "--no-progress",
              "--plot", str(tmp_path / "p.png")])
    assert "gradients on 2 Dask worker(s)" in capsys.readouterr().out
    assert client.submit(sum, [1, 2]).result() == 3
    with pytest.raises(SystemExit):
        mlp.parse_args(["--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"])
