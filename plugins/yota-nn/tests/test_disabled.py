"""Disabling the pack: its functions, imported directly, refuse tracked values with a message
that says the pack is disabled; on plain arrays they still compute (that is just NumPy)."""
from __future__ import annotations

import numpy as np
import pytest

import yota
import yota.plugins
import yota_nn
from yota.registry import pack_for


@pytest.fixture
def disable(monkeypatch):
    def disable(*packs):
        monkeypatch.setenv("YOTA_DISABLE_PLUGINS", ",".join(packs))
        yota.plugins.reload()

    yield disable
    monkeypatch.undo()
    yota.plugins.reload()


CALLS = {
    "relu": lambda x: yota_nn.relu(x),
    "leaky_relu": lambda x: yota_nn.leaky_relu(x, 0.1),
    "sigmoid": lambda x: yota_nn.sigmoid(x),
    "softplus": lambda x: yota_nn.softplus(x),
    "gelu": lambda x: yota_nn.gelu(x),
    "softmax": lambda x: yota_nn.softmax(x),
    "log_softmax": lambda x: yota_nn.log_softmax(x),
    "cross_entropy": lambda x: yota_nn.cross_entropy(x, np.array([0, 2])),
    "mse": lambda x: yota_nn.mse(x, np.ones((2, 3))),
    "logistic_loss": lambda x: yota_nn.logistic_loss(x, np.ones((2, 3))),
}


def test_every_function_is_listed_as_a_known_pack_name():
    assert set(CALLS) == set(yota_nn.__all__)
    assert {pack_for(name) for name in yota_nn.__all__} == {"yota-nn"}


@pytest.mark.parametrize("dynamic", [True, False])
@pytest.mark.parametrize("name", sorted(CALLS))
def test_disabled_pack_refuses_tracked_values(disable, name, dynamic):
    disable("yota-nn")
    x = np.arange(6.0).reshape(2, 3) / 6
    call = CALLS[name]
    with pytest.raises(yota.NoRuleError,
                       match=rf"yota: yota_nn\.{name} was called on a tracked value, but the "
                             r"yota-nn pack is disabled \(YOTA_DISABLE_PLUGINS\), so yota will not "
                             r"use its gradient rule\. Enable the pack .* pip install yota-nn"):
        yota.grad(lambda x: np.sum(call(x)), x, dynamic=dynamic)
    plain = call(x)  # NumPy arrays: computed as usual
    assert np.all(np.isfinite(plain))


def test_entry_point_name_disables_too(disable):
    disable("nn")
    with pytest.raises(yota.NoRuleError, match="yota-nn pack is disabled"):
        yota.grad(lambda x: yota_nn.cross_entropy(x, np.array([1])), np.zeros((1, 2)))


def test_works_without_the_reductions_pack(disable):
    """The MLP loss needs nothing from yota-reductions: cross_entropy reduces by itself."""
    disable("yota-reductions")
    x = np.array([[0.0, 1.0, -1.0], [2.0, 0.5, 0.0]])
    value, g = yota.grad(lambda x: yota_nn.cross_entropy(yota_nn.relu(x), np.array([1, 0])), x)
    assert value == pytest.approx(yota_nn.cross_entropy(np.maximum(x, 0), np.array([1, 0])))
    assert g[0].shape == x.shape
    with pytest.raises(yota.NoRuleError, match="pip install yota-reductions"):
        yota.grad(lambda x: np.sum(yota_nn.relu(x)), x)
