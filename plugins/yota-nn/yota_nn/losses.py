"""Losses: cross_entropy (integer labels), mse and logistic_loss, with ``reduction`` 'mean' (the
default), 'sum' or 'none'.

Each loss is one primitive whose rule is one fused primitive: cross_entropy's gradient is
``(softmax(logits) - onehot(labels)) * dy / n``, computed in one pass over the logits. Inputs are
checked where the value is computed, so plain arrays get the same clear errors as tracked ones.
"""
from __future__ import annotations

import operator

import numpy as np
from yota import InputError, nondifferentiable, primitive
from yota.packs import pack_primitive

from .activations import sigmoid, sigmoid_vjp
from .softmaxes import softmax, softmax_vjp, sum_along

AxisError = getattr(np, "exceptions", np).AxisError
REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(fn, reduction):
    if not (isinstance(reduction, str) and reduction in REDUCTIONS):
        raise ValueError(
            f"yota_nn.{fn}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(losses, reduction):
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def _scale(dy, reduction, n):
    """The factor on each element's gradient: ``dy / n`` for the mean, ``dy`` otherwise."""
    if reduction == "mean":
        return dy / n if n else dy
    return dy


def _float(x):
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(np.float64)


def _pair_shape(fn, a_name, a, b_name, b):
    """The broadcast shape of two arrays compared elementwise; refuses broadcasting that grows
    both (an (n, 1) column against an (n,) row would compare every pair)."""
    a_shape, b_shape = np.shape(a), np.shape(b)
    try:
        shape = np.broadcast_shapes(a_shape, b_shape)
    except ValueError:
        shape = None
    if shape is None or (shape != a_shape and shape != b_shape):
        what = "do not broadcast" if shape is None else f"broadcast to {shape}"
        raise ValueError(
            f"yota_nn.{fn}: {a_name} has shape {a_shape} and {b_name} has shape {b_shape}, which "
            f"{what}; reshape one so that the shapes match (e.g. {a_name}.reshape(-1))")
    return shape


def _size(shape):
    n = 1
    for d in shape:
        n *= d
    return n


# --- cross_entropy -----------------------------------------------------------------------------
def _class_axis(logits, axis):
    ndim = logits.ndim
    if ndim == 0:
        raise ValueError("yota_nn.cross_entropy: logits must have a class axis; got a scalar")
    try:
        ax = operator.index(axis)
    except TypeError:
        raise TypeError(
            f"yota_nn.cross_entropy: axis must be one int (the class axis), got {axis!r}"
        ) from None
    if not -ndim <= ax < ndim:
        raise AxisError(ax, ndim, "yota_nn.cross_entropy")
    return ax % ndim


def _check_labels(logits, labels, ax):
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise InputError(
            f"yota_nn.cross_entropy: labels must be integer class indices, got {labels.dtype} "
            "labels. Convert whole-number labels with labels.astype(int); for class "
            "probabilities (soft labels) use -np.sum(targets * log_softmax(logits, axis), axis)")
    expected = logits.shape[:ax] + logits.shape[ax + 1:]
    if labels.shape != expected:
        raise ValueError(
            f"yota_nn.cross_entropy: labels has shape {labels.shape}, but logits of shape "
            f"{logits.shape} need labels of shape {expected}: one class index per row, the "
            f"class axis {ax} removed")
    n_classes = logits.shape[ax]
    if labels.size:
        lo, hi = labels.min(), labels.max()
        if lo < 0 or hi >= n_classes:
            raise ValueError(
                f"yota_nn.cross_entropy: label {lo if lo < 0 else hi} is out of range: the "
                f"logits have {n_classes} classes along axis {ax}, so labels must be in "
                f"[0, {n_classes - 1}]")
    return labels


def _as_rows(x, ax):
    """``x`` with the class axis last, as a 2-D (rows, classes) array (a view when it can be),
    and a function putting a same-shaped result back in ``x``'s layout."""
    moved = x if ax == x.ndim - 1 else np.moveaxis(x, ax, -1)
    rows = moved.reshape(-1, moved.shape[-1])

    def back(r):
        r = r.reshape(moved.shape)
        return r if ax == x.ndim - 1 else np.moveaxis(r, -1, ax)

    return rows, back


@pack_primitive(pack="yota-nn", nondiff_argnums=(1,))
def cross_entropy(logits, labels, axis=-1, reduction="mean"):
    """Softmax cross-entropy of ``logits`` against integer class ``labels`` (one per row, the
    class axis ``axis`` removed): ``logsumexp(logits) - logits[label]``, stable. ``labels`` get no
    gradient."""
    logits = _float(logits)
    ax = _class_axis(logits, axis)
    labels = _check_labels(logits, labels, ax)
    _check_reduction("cross_entropy", reduction)
    x, _ = _as_rows(logits, ax)
    shifted = x - x.max(axis=1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=1))
    losses = lse - shifted[np.arange(len(x)), labels.reshape(-1)]
    if reduction == "none":
        return losses.reshape(labels.shape)
    if reduction == "sum" or not len(x):
        return losses.sum() if reduction == "sum" else losses.mean()  # empty: nan, as NumPy
    return losses.sum() / len(x)  # the mean (np.mean costs microseconds on small arrays)


@nondifferentiable
def one_hot(labels, n_classes, axis):
    """Booleans: ``True`` at each label's class along ``axis``."""
    classes = np.arange(n_classes).reshape((n_classes,) + (1,) * (np.ndim(labels) - axis))
    return np.expand_dims(labels, axis) == classes


def _ce_scale(dy, reduction, labels, ax):
    if reduction == "none":
        return np.expand_dims(dy, ax)
    return _scale(dy, reduction, np.size(labels))


@primitive(nondiff_argnums=(2,))
def cross_entropy_vjp(dy, logits, labels, axis=-1, reduction="mean"):
    """``(softmax(logits) - onehot(labels)) * dy`` (``/ n`` for the mean), in one pass."""
    logits, labels = _float(logits), np.asarray(labels)
    ax = axis % logits.ndim
    x, back = _as_rows(logits, ax)
    p = np.exp(x - x.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(p)), labels.reshape(-1)] -= 1
    if reduction == "none":
        p *= np.reshape(dy, (-1, 1))
    else:
        p *= _scale(dy, reduction, len(p))
    return back(p)


cross_entropy.defgrad(lambda dy, y, logits, labels, axis=-1, reduction="mean":
                      cross_entropy_vjp(dy, logits, labels, axis=axis, reduction=reduction))


@cross_entropy_vjp.defgrad
def _ce_vjp_dy(g, out, dy, logits, labels, axis=-1, reduction="mean"):
    ax = axis % logits.ndim
    gq = g * (softmax(logits, ax) - one_hot(labels, logits.shape[ax], ax))
    if reduction == "none":
        return np.reshape(sum_along(gq, ax), dy.shape)
    return _scale(gq, reduction, np.size(labels))  # the engine sums it down to dy's shape ()


@cross_entropy_vjp.defgrad(argnum=1)
def _ce_vjp_logits(g, out, dy, logits, labels, axis=-1, reduction="mean"):
    ax = axis % logits.ndim
    return softmax_vjp(g * _ce_scale(dy, reduction, labels, ax), softmax(logits, ax), ax)


# --- mse ---------------------------------------------------------------------------------------
@pack_primitive(pack="yota-nn")
def mse(pred, target, reduction="mean"):
    """Mean squared error, ``mean((pred - target) ** 2)``. Both arguments get gradients."""
    _check_reduction("mse", reduction)
    _pair_shape("mse", "pred", pred, "target", target)
    d = np.subtract(pred, target)
    return _reduce(d * d, reduction)


def _pair_size(a, b):
    return _size(np.broadcast_shapes(np.shape(a), np.shape(b)))


@primitive
def mse_vjp(dy, pred, target, reduction="mean", sign=1.0):
    """``sign * 2 * (pred - target) * dy`` (``/ n`` for the mean)."""
    d = np.subtract(pred, target)
    return d * (_scale(dy, reduction, d.size) * (2.0 * sign))


mse.defgrads(
    lambda dy, y, pred, target, reduction="mean": mse_vjp(dy, pred, target, reduction=reduction),
    lambda dy, y, pred, target, reduction="mean": mse_vjp(dy, pred, target, reduction=reduction,
                                                          sign=-1.0),
)


def _mse_vjp_input(direction):
    """Rule of mse_vjp for pred (direction 1) or target (-1): it is linear in both."""
    def rule(g, out, dy, pred, target, reduction="mean", sign=1.0):
        return g * (_scale(dy, reduction, _pair_size(pred, target)) * (2.0 * sign * direction))

    return rule


mse_vjp.defgrads(
    lambda g, out, dy, pred, target, reduction="mean", sign=1.0: _scale(
        g * (pred - target), reduction, _pair_size(pred, target)) * (2.0 * sign),
    _mse_vjp_input(1.0),
    _mse_vjp_input(-1.0),
)


# --- logistic_loss -----------------------------------------------------------------------------
def _check_targets(logits, targets):
    targets = np.asarray(targets)
    if targets.dtype.kind in "biu":
        targets = targets.astype(logits.dtype)
    elif targets.dtype.kind != "f":
        raise InputError(
            f"yota_nn.logistic_loss: targets must be numbers in [0, 1], got {targets.dtype}")
    _pair_shape("logistic_loss", "logits", logits, "targets", targets)
    outside = (targets < 0) | (targets > 1)
    if outside.any():
        raise ValueError(
            f"yota_nn.logistic_loss: targets must be in [0, 1] (1 for the positive class, 0 for "
            f"the negative; probabilities are fine), found {targets[outside].flat[0].item()!r}; "
            "for labels in {-1, 1} pass (labels + 1) / 2")
    return targets


@pack_primitive(pack="yota-nn")
def logistic_loss(logits, targets, reduction="mean"):
    """Binary cross-entropy from logits: ``softplus(z) - t * z``, stable for any ``z``. The
    targets are 0 or 1 (or probabilities); float targets get a gradient too."""
    z = _float(logits)
    t = _check_targets(z, targets)
    _check_reduction("logistic_loss", reduction)
    losses = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
    return _reduce(losses, reduction)


@primitive
def logistic_vjp(dy, logits, targets, reduction="mean"):
    """``(sigmoid(z) - t) * dy`` (``/ n`` for the mean)."""
    r = sigmoid.impl(logits) - targets
    return r * _scale(dy, reduction, r.size)


logistic_loss.defgrads(
    lambda dy, y, z, t, reduction="mean": logistic_vjp(dy, z, t, reduction=reduction),
    lambda dy, y, z, t, reduction="mean": -(z * _scale(dy, reduction, _pair_size(z, t))),
)
logistic_vjp.defgrads(
    lambda g, out, dy, z, t, reduction="mean": _scale(g * (sigmoid(z) - t), reduction,
                                                      _pair_size(z, t)),
    lambda g, out, dy, z, t, reduction="mean": sigmoid_vjp(
        g * _scale(dy, reduction, _pair_size(z, t)), sigmoid(z)),
    lambda g, out, dy, z, t, reduction="mean": -(g * _scale(dy, reduction, _pair_size(z, t))),
)
