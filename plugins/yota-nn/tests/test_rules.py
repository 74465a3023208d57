"""Every rule of every primitive in the pack, the fused backward primitives included, checked
alone against finite differences to second order (so the rules of the rules are checked too)."""
from __future__ import annotations

import numpy as np
import pytest

from yota.testing import check_grads, check_primitive, check_rules_complete
from yota_nn import activations, losses, softmaxes as sm


def _data(shape, seed=0, low=0.2, high=2.0):
    """Values in +-[low, high], away from the kinks at 0."""
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def test_every_argument_has_a_rule_or_is_declared_non_differentiable():
    check_rules_complete("yota-nn")


X, DY = _data((3, 4)), _data((3, 4), seed=1)
Y = np.random.default_rng(2).uniform(0.1, 0.9, size=(3, 4))   # a sigmoid/softmax-like output
LABELS = np.array([1, 0, 3])

CASES = {
    "relu_vjp": (activations.relu_vjp, (DY, X), {}),
    "leaky_relu_vjp": (activations.leaky_relu_vjp, (DY, X, np.array([0.1, 0.2, 0.3, 0.4])), {}),
    "sigmoid_vjp": (activations.sigmoid_vjp, (DY, Y), {}),
    "gelu_vjp": (activations.gelu_vjp, (DY, X), {}),
    "gelu_vjp_tanh": (activations.gelu_vjp, (DY, X), {"approximate": "tanh"}),
    "softmax_vjp": (sm.softmax_vjp, (DY, Y), {"axis": -1}),
    "softmax_vjp_axis0": (sm.softmax_vjp, (DY, Y), {"axis": 0}),
    "log_softmax_vjp": (sm.log_softmax_vjp, (DY, np.log(Y)), {"axis": 1}),
    "sum_along": (sm.sum_along, (X, 0), {}),
    "cross_entropy_vjp_mean": (losses.cross_entropy_vjp, (np.float64(0.7), X, LABELS), {}),
    "cross_entropy_vjp_sum": (losses.cross_entropy_vjp, (np.float64(0.7), X, LABELS),
                              {"reduction": "sum"}),
    "cross_entropy_vjp_none": (losses.cross_entropy_vjp, (DY[:, 0], X, LABELS),
                               {"reduction": "none"}),
    "cross_entropy_vjp_axis0": (losses.cross_entropy_vjp, (DY[0], X, np.array([2, 0, 1, 1])),
                                {"axis": 0, "reduction": "none"}),
    "mse_vjp_mean": (losses.mse_vjp, (np.float64(0.7), X, DY[0]), {}),
    "mse_vjp_none": (losses.mse_vjp, (DY, X, DY[0]), {"reduction": "none", "sign": -1.0}),
    "logistic_vjp_mean": (losses.logistic_vjp, (np.float64(0.7), X, Y), {}),
    "logistic_vjp_none": (losses.logistic_vjp, (DY, X, Y[0]), {"reduction": "none"}),
}
# Arguments whose finite differences are not the gradient: the masks of relu/leaky_relu are
# piecewise constant (declared non-differentiable, so both sides are 0).


@pytest.mark.parametrize("name", sorted(CASES))
def test_fused_rule_primitives(name):
    prim, args, kwargs = CASES[name]
    check_primitive(prim, *args, order=2, **kwargs)


def test_rules_of_rules_see_a_tracked_incoming_gradient():
    """A loss whose own gradient depends on x makes dy a tracked value in second order."""
    x = _data((3, 4))
    w = _data((3, 4), seed=5)
    for f in (activations.relu, activations.sigmoid, lambda x: sm.log_softmax(x, 0)):
        check_grads(lambda x: np.sum(f(x) ** 2 * w), x, order=2)
    check_grads(lambda x: losses.cross_entropy(x, LABELS) ** 2, x, order=2)
    check_grads(lambda x: np.sum(losses.cross_entropy(x, LABELS, reduction="none") ** 2), x,
                order=2)
    check_grads(lambda x: losses.mse(x, Y) ** 2, x, order=2)
    check_grads(lambda x: losses.logistic_loss(x, Y) ** 2, x, order=2)
