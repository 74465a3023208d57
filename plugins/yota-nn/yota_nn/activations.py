"""Activations: relu, leaky_relu, sigmoid, softplus, gelu. Each is one primitive; its rule is one
fused primitive (``relu_vjp``...) so the backward pass records one op, not a chain. The fused
rules have rules of their own, so second derivatives work too.

Python-float constants keep float32 inputs float32 (NumPy's weak scalars).
"""
from __future__ import annotations

import math

import numpy as np
from yota import primitive
from yota.packs import pack_primitive

from .special import ndtr, normal_pdf


# --- relu --------------------------------------------------------------------------------------
@pack_primitive(pack="yota-nn")
def relu(x):
    """``max(x, 0)``. Its gradient at 0 is 0."""
    return np.maximum(x, 0)


@primitive(nondiff_argnums=(1,))
def relu_vjp(dy, y):
    """``dy`` where relu's output ``y`` is positive, 0 elsewhere."""
    return dy * (y > 0)


relu.defgrad(lambda dy, y, x: relu_vjp(dy, y))
relu_vjp.defgrad(lambda g, out, dy, y: relu_vjp(g, y))  # linear in dy; the mask is constant
relu_vjp.declare(zero_gradient=(1,))


# --- leaky_relu --------------------------------------------------------------------------------
def _weak(slope):
    """A NumPy scalar slope as a Python float, so it does not upcast float32 inputs."""
    return float(slope) if isinstance(slope, np.floating) else slope


@pack_primitive(pack="yota-nn")
def leaky_relu(x, negative_slope=0.01):
    """``x`` where positive, ``negative_slope * x`` elsewhere. A tracked slope passed positionally
    (an array broadcasting against x, as in PReLU) gets its gradient too."""
    negative_slope = _weak(negative_slope)
    return np.where(x > 0, x, x * negative_slope)


@primitive(nondiff_argnums=(1,))
def leaky_relu_vjp(dy, x, negative_slope):
    return np.where(x > 0, dy, dy * _weak(negative_slope))


leaky_relu.defgrads(
    lambda dy, y, x, negative_slope=0.01: leaky_relu_vjp(dy, x, negative_slope),
    lambda dy, y, x, negative_slope=0.01: dy * np.minimum(x, 0),
)
leaky_relu_vjp.defgrad(lambda g, out, dy, x, s: leaky_relu_vjp(g, x, s), argnum=0)
leaky_relu_vjp.declare(zero_gradient=(1,))  # the mask x > 0 is piecewise constant
leaky_relu_vjp.defgrad(lambda g, out, dy, x, s: np.where(x > 0, 0.0, g * dy), argnum=2)


# --- sigmoid and softplus ----------------------------------------------------------------------
@pack_primitive(pack="yota-nn")
def sigmoid(x):
    """``1 / (1 + exp(-x))`` without overflow: exp only ever sees ``-|x|``."""
    e = np.exp(-np.abs(x))
    r = 1 / (1 + e)
    return np.where(x >= 0, r, e * r)


@primitive
def sigmoid_vjp(dy, y):
    """``dy * y * (1 - y)`` from sigmoid's output ``y``."""
    return dy * y * (1 - y)


sigmoid.defgrad(lambda dy, y, x: sigmoid_vjp(dy, y))
sigmoid_vjp.defgrads(
    lambda g, out, dy, y: sigmoid_vjp(g, y),
    lambda g, out, dy, y: g * dy * (1 - 2 * y),
)


@pack_primitive(pack="yota-nn")
def softplus(x):
    """``log(1 + exp(x))`` without overflow or loss of precision:
    ``max(x, 0) + log1p(exp(-|x|))``."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


softplus.defgrad(lambda dy, y, x: dy * sigmoid(x))


# --- gelu --------------------------------------------------------------------------------------
_TANH_C = math.sqrt(2.0 / math.pi)
_TANH_A = 0.044715


def _gelu_mode(approximate):
    if approximate in ("none", False):
        return "none"
    if approximate in ("tanh", True):
        return "tanh"
    raise ValueError(
        f"yota_nn.gelu: approximate must be 'none' (exact, x * Phi(x) with erf) or 'tanh' (the "
        f"tanh approximation); True and False mean the same. Got {approximate!r}"
    )


def _tanh_parts(x):
    u = _TANH_C * (x + _TANH_A * x * x * x)
    du = _TANH_C * (1 + 3 * _TANH_A * x * x)
    return np.tanh(u), du


@pack_primitive(pack="yota-nn")
def gelu(x, approximate="none"):
    """Gaussian error linear unit: ``x * Phi(x)`` (``approximate='none'``, the default, exact via
    erf) or ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`` (``approximate='tanh'``)."""
    if _gelu_mode(approximate) == "tanh":
        t, _ = _tanh_parts(x)
        return 0.5 * x * (1 + t)
    return x * ndtr(x)


def _gelu_slope(x, mode):
    if mode == "tanh":
        t, du = _tanh_parts(x)
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du
    return ndtr(x) + x * normal_pdf(x)


@primitive
def gelu_vjp(dy, x, approximate="none"):
    return dy * _gelu_slope(x, _gelu_mode(approximate))


def gelu_curvature(x, approximate="none"):
    """gelu''(x), for second derivatives. Written with core functions (np.exp, np.tanh...) on
    possibly tracked ``x``, so third and higher derivatives follow."""
    if _gelu_mode(approximate) == "tanh":
        t, du = _tanh_parts(x)
        d2u = 6 * _TANH_C * _TANH_A * x
        return (1 - t * t) * (du + 0.5 * x * (d2u - 2 * t * du * du))
    return normal_pdf(x) * (2 - x * x)


gelu.defgrad(lambda dy, y, x, approximate="none": gelu_vjp(dy, x, approximate))
gelu_vjp.defgrads(
    lambda g, out, dy, x, approximate="none": gelu_vjp(g, x, approximate),
    lambda g, out, dy, x, approximate="none": g * dy * gelu_curvature(x, approximate),
)
