"""The digits MLP example trains: loss falls, accuracy far above chance, runs reproduce, and
static and dynamic modes agree. Small subsets and few epochs keep this quick."""
import importlib.util
import pathlib

import numpy as np
import pytest

import yota

pytest.importorskip("sklearn")
TRAIN_PY = pathlib.Path(__file__).resolve().parents[1] / "examples" / "mlp" / "train.py"


@pytest.fixture(scope="module")
def mlp():
    spec = importlib.util.spec_from_file_location("mlp_train", TRAIN_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def small(mlp):
    X_train, y_train, X_test, y_test = mlp.load_data()
    return X_train[:400], y_train[:400], X_test[:200], y_test[:200]


def _params(model):
    return {path: leaf for path, leaf in yota.tree.leaves(model) if isinstance(leaf, np.ndarray)}


LR = {"adam": 0.01, "momentum": 0.1}  # higher than the defaults: few steps here


def _run(mlp, data, *, epochs=4, seed=0, dynamic=True, optimizer="adam", hidden=(32,)):
    sizes = [data[0].shape[1], *hidden, 10]
    model = mlp.MLP.init(np.random.default_rng(seed), sizes)
    opt = mlp.make_optimizer(optimizer, LR[optimizer])
    return mlp.train(model, data, epochs=epochs, batch_size=32, opt=opt, seed=seed,
                     dynamic=dynamic, progress=False)


def test_digits_split_is_fixed_and_scaled(mlp):
    X_train, y_train, X_test, y_test = mlp.load_data()
    assert X_train.shape == (1437, 64) and X_test.shape == (360, 64)
    assert X_train.dtype == np.float32 and 0.0 <= X_train.min() and X_train.max() <= 1.0
    again = mlp.load_data()
    np.testing.assert_array_equal(again[1], y_train)
    assert set(np.unique(y_test)) == set(range(10))


@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_few_epochs_on_a_subset_learn(mlp, small, optimizer):
    model, history = _run(mlp, small, optimizer=optimizer)
    assert history["loss"][-1] < 0.3 * history["loss"][0]
    assert history["test_acc"][-1] > 0.7          # chance is 0.1
    assert mlp.accuracy(model, small[2], small[3]) == history["test_acc"][-1]


def test_tanh_and_two_hidden_layers_learn(mlp, small):
    sizes = [64, 32, 16, 10]
    model = mlp.MLP.init(np.random.default_rng(1), sizes, activation="tanh")
    assert [layer.W.shape for layer in model.layers] == [(64, 32), (32, 16), (16, 10)]
    model, history = mlp.train(model, small, epochs=3, batch_size=32,
                               opt=mlp.make_optimizer("adam", 0.01), dynamic=True, progress=False)
    assert history["loss"][-1] < history["loss"][0]
    assert history["test_acc"][-1] > 0.5


def test_same_seed_gives_the_same_model_twice(mlp, small):
    first, h1 = _run(mlp, small, epochs=2, seed=3)
    second, h2 = _run(mlp, small, epochs=2, seed=3)
    for path, leaf in _params(first).items():
        np.testing.assert_array_equal(leaf, yota.tree.get_path(second, path))
    assert h1["loss"] == h2["loss"]
    other, _ = _run(mlp, small, epochs=2, seed=4)
    assert not np.array_equal(other.layers[0].W, first.layers[0].W)


def test_static_and_dynamic_modes_give_the_same_parameters(mlp, small):
    data = tuple(a[:160] for a in small[:2]) + small[2:]
    static, hs = _run(mlp, data, epochs=2, dynamic=False)
    dynamic, hd = _run(mlp, data, epochs=2, dynamic=True)
    for path, leaf in _params(static).items():
        np.testing.assert_allclose(leaf, yota.tree.get_path(dynamic, path), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(hs["loss"], hd["loss"], rtol=1e-5)


def test_command_line_on_an_npz_file_writes_the_plot(mlp, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    X_train, y_train, X_test, y_test = mlp.load_data()
    images = lambda X: (X[:300] * 255).astype(np.uint8).reshape(-1, 8, 8)  # noqa: E731
    np.savez(tmp_path / "d.npz", X_train=images(X_train), y_train=y_train[:300],
             X_test=images(X_test), y_test=y_test[:300])
    png = tmp_path / "plots" / "run.png"
    mlp.main(["--data", str(tmp_path / "d.npz"), "--epochs", "2", "--hidden", "16",
              "--optimizer", "rmsprop", "--schedule", "cosine", "--plot", str(png),
              "--no-progress", "--dynamic"])
    out = capsys.readouterr().out
    assert ("300 training and 300 test examples; MLP [64, 16, 10] (relu), dynamic mode\n"
            "RMSProp(lr=cosine(") in out
    assert f"plot: {png}" in out and "s per epoch" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_npz_without_the_expected_arrays_is_a_clear_error(mlp, tmp_path):
    np.savez(tmp_path / "bad.npz", X=np.zeros((2, 4)))
    with pytest.raises(SystemExit, match=r"lacks X_test, X_train, y_test, y_train"):
        mlp.load_data(tmp_path / "bad.npz")


def test_backend_option_picks_the_compile_backend(mlp, small):
    assert mlp.parse_args([]).backend == "numpy"
    data = small[0][:64], small[1][:64], small[2][:32], small[3][:32]
    sizes = [data[0].shape[1], 16, 10]
    runs = {}
    for backend in ("numpy", "interpret"):
        model = mlp.MLP.init(np.random.default_rng(0), sizes)
        opt = mlp.make_optimizer("adam", LR["adam"])
        runs[backend] = mlp.train(model, data, epochs=1, batch_size=32, opt=opt,
                                  progress=False, backend=backend)
    np.testing.assert_allclose(runs["numpy"][1]["loss"], runs["interpret"][1]["loss"],
                               rtol=1e-6)


def test_an_unknown_backend_is_refused_before_training(mlp, capsys):
    with pytest.raises(SystemExit):
        mlp.parse_args(["--backend", "nope"])
    assert "error: yota: backend='nope': no compile backend is named 'nope'" in \
        capsys.readouterr().err
