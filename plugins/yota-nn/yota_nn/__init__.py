"""yota-nn: neural-network functions for yota, each one primitive with a fused gradient rule.

    from yota_nn import relu, cross_entropy

Activations: relu, leaky_relu, sigmoid, softplus, gelu (tanh itself is np.tanh, in the core).
Along an axis: softmax, log_softmax. Losses (reduction 'mean', 'sum' or 'none'): cross_entropy
with integer labels, mse, logistic_loss. All work on plain arrays too (no tracing), giving the
same numbers; float32 inputs stay float32.
"""
from __future__ import annotations

from yota import hookimpl

from . import activations, losses, softmaxes
from .activations import gelu, leaky_relu, relu, sigmoid, softplus
from .losses import cross_entropy, logistic_loss, mse
from .softmaxes import log_softmax, softmax

__all__ = ["relu", "leaky_relu", "sigmoid", "softplus", "gelu", "softmax", "log_softmax",
           "cross_entropy", "mse", "logistic_loss"]

PRIMITIVES = (
    relu, activations.relu_vjp, leaky_relu, activations.leaky_relu_vjp,
    sigmoid, activations.sigmoid_vjp, softplus, gelu, activations.gelu_vjp,
    softmax, softmaxes.softmax_vjp, log_softmax, softmaxes.log_softmax_vjp,
    softmaxes.sum_along,
    cross_entropy, losses.cross_entropy_vjp, losses.one_hot, mse, losses.mse_vjp,
    logistic_loss, losses.logistic_vjp,
)


# Output shapes follow from input shapes and options, so static graphs need no shape guards.
for _prim in PRIMITIVES:
    _prim.declare(static_shape=True)


@hookimpl
def yota_register_primitives(registry):
    for prim in PRIMITIVES:
        registry.add_primitive(prim)
