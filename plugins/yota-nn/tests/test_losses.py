"""Losses: gradients (both modes, first and second order), values against textbook formulas,
the fused one-op rule, float32 all the way, and every input error."""
from __future__ import annotations

import numpy as np
import pytest

import yota
from yota.kernel.backward import backward
from yota.tracing import trace
from yota.testing import check_grads
from yota_nn import cross_entropy, logistic_loss, mse, relu

REDUCTIONS = ["mean", "sum", "none"]


def _data(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _reduced(losses, reduction, w):
    """A scalar from any reduction; 'none' is weighed so each element's gradient differs."""
    return np.sum(losses * w) if reduction == "none" else losses * 3.0


def _ce_reference(logits, labels, axis, reduction):
    x = np.moveaxis(logits.astype(np.float64), axis, -1)
    logp = x - np.log(np.sum(np.exp(x), axis=-1, keepdims=True))
    losses = -np.take_along_axis(logp, labels[..., None], axis=-1)[..., 0]
    return {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]


# --- cross_entropy -----------------------------------------------------------------------------
CE_CASES = [((4, 5), -1), ((4, 5), 1), ((5, 4), 0), ((2, 3, 4), -1), ((2, 3, 4), 1), ((3,), 0),
            ((1, 2), -1)]


def _labels(shape, axis, seed=2):
    n_classes = shape[axis]
    rest = tuple(n for i, n in enumerate(shape) if i != axis % len(shape))
    return np.random.default_rng(seed).integers(0, n_classes, size=rest)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape,axis", CE_CASES)
def test_cross_entropy_gradient(shape, axis, reduction, dtype):
    logits, labels = _data(shape, dtype), _labels(shape, axis)
    w = _data(labels.shape, dtype, seed=3)
    check_grads(lambda x: _reduced(cross_entropy(x, labels, axis, reduction), reduction, w),
                logits, argnums=(0,))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_second_derivatives(reduction):
    logits, labels = _data((4, 3)), np.array([0, 2, 1, 2])
    w = _data(4, seed=3)
    check_grads(lambda x: _reduced(cross_entropy(x, labels, reduction=reduction), reduction, w),
                logits, order=2, argnums=(0,))
    check_grads(lambda x: _reduced(cross_entropy(x.T, labels, axis=0, reduction=reduction),
                                   reduction, w), logits, order=2, argnums=(0,))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape,axis", CE_CASES)
def test_cross_entropy_value(shape, axis, reduction, dtype):
    logits, labels = _data(shape, dtype), _labels(shape, axis)
    got = cross_entropy(logits, labels, axis=axis, reduction=reduction)
    assert np.asarray(got).dtype == dtype
    np.testing.assert_allclose(got, _ce_reference(logits, labels, axis, reduction),
                               rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_cross_entropy_is_stable_and_exact_for_large_logits():
    logits = np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]], np.float32)
    labels = np.array([1, 2])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = cross_entropy(logits, labels, reduction="none")
        _, g = yota.grad(lambda x: cross_entropy(x, labels), logits)
    np.testing.assert_allclose(value, [1000.0, np.log(3)], rtol=1e-6)
    np.testing.assert_allclose(g[0], [[0.5, -0.5, 0.0], [1 / 6, 1 / 6, -1 / 3]], rtol=1e-6)


def test_cross_entropy_gradient_is_one_fused_op():
    """Forward: one op. Backward: one op, (softmax - onehot) * dy / n, not a chain."""
    logits, labels = _data((8, 10), np.float32), _labels((8, 10), -1)
    tr, tape = trace(lambda x: cross_entropy(x, labels), (logits,), {})
    n_forward = len(tape.ops)
    backward(tape, tr.output, np.ones((), np.float32))
    names = [op.prim.name for op in tape.ops]
    assert names == ["cross_entropy", "cross_entropy_vjp"]
    g = tape.ops[-1].out._value
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    p[np.arange(8), labels] -= 1
    np.testing.assert_allclose(g, p / 8, rtol=1e-5, atol=1e-7)
    assert n_forward == 1 and g.dtype == np.float32


def test_mlp_float32_never_upcasts():
    """Every value of a small MLP's forward and backward pass stays float32."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 8)).astype(np.float32)
    y = rng.integers(0, 3, size=16)
    params = [rng.standard_normal(s).astype(np.float32) * 0.5 for s in ((8, 6), (6,), (6, 3))]

    def loss(params, X, y):
        W1, b1, W2 = params
        return cross_entropy(relu(np.matmul(X, W1) + b1) @ W2, y)

    tr, tape = trace(loss, (params, X, y), {}, argnums=0)
    backward(tape, tr.output, np.ones((), np.float32))
    dtypes = {op.prim.name: op.out.dtype for op in tape.ops if op.out.dtype.kind == "f"}
    assert set(dtypes.values()) == {np.dtype(np.float32)}, dtypes
    check_grads(loss, params, X, y, argnums=(0,))


# --- mse ---------------------------------------------------------------------------------------
MSE_SHAPES = [((5,), (5,)), ((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 4), ()), ((4,), (3, 4)),
              ((2, 1, 3), (2, 4, 3))]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("pshape,tshape", MSE_SHAPES)
def test_mse_gradient_for_both_arguments(pshape, tshape, reduction, dtype):
    pred, target = _data(pshape, dtype), _data(tshape, dtype, seed=1)
    w = _data(np.broadcast_shapes(pshape, tshape), dtype, seed=3)
    check_grads(lambda p, t: _reduced(mse(p, t, reduction), reduction, w), pred, target)


def test_mse_second_derivatives_and_values():
    pred, target = _data((3, 4)), _data((3, 4), seed=1)
    w = _data((3, 4), seed=3)
    for reduction in REDUCTIONS:
        check_grads(lambda p, t: _reduced(mse(p, t, reduction=reduction), reduction, w),
                    pred, target, order=2)
        expected = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction](
            (pred - target) ** 2)
        np.testing.assert_allclose(mse(pred, target, reduction), expected, rtol=1e-14)
    assert mse(pred.astype(np.float32), target.astype(np.float32)).dtype == np.float32


def test_mse_refuses_broadcasting_that_grows_both_arguments():
    with pytest.raises(ValueError, match=r"yota_nn\.mse: pred has shape \(4, 1\) and target has "
                                         r"shape \(4,\), which broadcast to \(4, 4\); reshape"):
        mse(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ValueError, match=r"which do not broadcast"):
        yota.grad(lambda p: mse(p, np.zeros(3)), np.zeros(4))


# --- logistic_loss -----------------------------------------------------------------------------
def _targets(shape, seed=4):
    return (np.random.default_rng(seed).random(shape) > 0.5).astype(np.float64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(5,), (3, 4), ()])
def test_logistic_loss_gradient(shape, reduction, dtype):
    z, t = _data(shape, dtype), _targets(shape).astype(dtype)
    w = _data(shape, dtype, seed=3)
    check_grads(lambda z: _reduced(logistic_loss(z, t, reduction), reduction, w), z)
    # soft targets (probabilities) differentiate too; kept inside [0, 1] for finite differences
    soft = np.asarray(0.2 + 0.6 * np.random.default_rng(5).random(shape), dtype)
    check_grads(lambda z, t: _reduced(logistic_loss(z, t, reduction), reduction, w), z, soft)


def test_logistic_loss_second_derivatives_and_broadcast_targets():
    z, t = _data((3, 4)), _targets((4,))
    check_grads(lambda z: logistic_loss(z, t), z, order=2)
    check_grads(lambda z, t: np.sum(logistic_loss(z, t, "none") * z), z, 0.25 + 0.5 * t,
                order=2)


def test_logistic_loss_value_and_stability():
    z = np.array([-1000.0, -3.0, 0.0, 2.0, 1000.0], np.float32)
    t = np.array([0.0, 1.0, 1.0, 0.0, 1.0], np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        got = logistic_loss(z, t, reduction="none")
        _, g = yota.grad(lambda z: logistic_loss(z, t, "sum"), z)
    expected = [0.0, np.log1p(np.exp(3.0)), np.log(2), np.log1p(np.exp(2.0)), 0.0]
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert got.dtype == g[0].dtype == np.float32
    sig = 1 / (1 + np.exp(-z[1:4].astype(np.float64)))
    np.testing.assert_allclose(g[0], [0.0, *(sig - t[1:4]), 0.0], rtol=1e-6)
    # integer and boolean targets work and take the logits' dtype
    assert logistic_loss(z[1:4], np.array([1, 1, 0])).dtype == np.float32
    assert logistic_loss(z[1:4], np.array([True, True, False])) == logistic_loss(z[1:4], t[1:4])


# --- errors ------------------------------------------------------------------------------------
def test_cross_entropy_refuses_float_labels():
    logits = _data((3, 4))
    for labels in (np.array([0.0, 1.0, 2.0]), np.array([True, False, True])):
        with pytest.raises(yota.InputError, match=r"yota_nn\.cross_entropy: labels must be "
                                                   r"integer class indices, got (float64|bool) "
                                                   r"labels.*astype\(int\)"):
            yota.grad(lambda x: cross_entropy(x, labels), logits)
    with pytest.raises(TypeError, match="integer class indices"):  # plain arrays too
        cross_entropy(logits, [0.5, 1.0, 2.0])


def test_cross_entropy_refuses_out_of_range_labels():
    logits = _data((3, 4))
    for bad, shown in (([0, 4, 1], 4), ([0, -1, 1], -1)):
        with pytest.raises(ValueError, match=rf"yota_nn\.cross_entropy: label {shown} is out of "
                                             r"range: the logits have 4 classes along axis 1, so "
                                             r"labels must be in \[0, 3\]"):
            yota.grad(lambda x: cross_entropy(x, np.array(bad)), logits)


def test_cross_entropy_refuses_labels_of_the_wrong_shape():
    logits = _data((3, 4))
    with pytest.raises(ValueError, match=r"yota_nn\.cross_entropy: labels has shape \(3, 1\), "
                                         r"but logits of shape \(3, 4\) need labels of shape "
                                         r"\(3,\)"):
        yota.grad(lambda x: cross_entropy(x, np.zeros((3, 1), int)), logits)
    with pytest.raises(ValueError, match=r"labels has shape \(3,\).*need labels of shape \(4,\)"):
        cross_entropy(logits, np.zeros(3, int), axis=0)
    with pytest.raises(ValueError, match=r"logits must have a class axis; got a scalar"):
        cross_entropy(np.float64(1.0), np.array(0))
    with pytest.raises(np.exceptions.AxisError, match=r"yota_nn\.cross_entropy: axis 2 is out"):
        cross_entropy(logits, np.zeros(3, int), axis=2)
    with pytest.raises(TypeError, match=r"axis must be one int \(the class axis\), got \(0, 1\)"):
        cross_entropy(logits, np.zeros(3, int), axis=(0, 1))


@pytest.mark.parametrize("fn,args", [
    (cross_entropy, (np.zeros((2, 3)), np.array([0, 1]))),
    (mse, (np.zeros(3), np.ones(3))),
    (logistic_loss, (np.zeros(3), np.ones(3))),
], ids=["cross_entropy", "mse", "logistic_loss"])
def test_unknown_reduction(fn, args):
    with pytest.raises(ValueError, match=rf"yota_nn\.{fn.__name__}: reduction must be 'mean', "
                                         r"'sum' or 'none', got 'avg'"):
        yota.grad(lambda x: fn(x, *args[1:], reduction="avg"), args[0])


def test_logistic_loss_refuses_targets_outside_zero_one():
    z = _data((3,))
    with pytest.raises(ValueError, match=r"yota_nn\.logistic_loss: targets must be in \[0, 1\].*"
                                         r"found -1\.0; for labels in \{-1, 1\} pass "
                                         r"\(labels \+ 1\) / 2"):
        yota.grad(lambda z: logistic_loss(z, np.array([1.0, -1.0, 1.0])), z)
    with pytest.raises(ValueError, match=r"logits has shape \(3,\) and targets has shape \(2,\)"):
        logistic_loss(z, np.array([1.0, 0.0]))
    with pytest.raises(yota.InputError, match=r"targets must be numbers in \[0, 1\], got <U1"):
        logistic_loss(z, np.array(["a", "b", "c"]))
