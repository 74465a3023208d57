"""The pack's primitives declare static output shapes: compiled programs carry no shape guard."""
import numpy as np

import yota
from yota.transforms import source
from yota_nn import cross_entropy, relu, softmax


def test_compiled_nn_losses_need_no_shape_guards():
    def loss(W, X, y):
        h = relu(W @ X)
        return cross_entropy(h.T, y) + np.sum(softmax(h, axis=0)) * 0.0

    rng = np.random.default_rng(0)
    W, X, y = rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), np.array([0, 1, 2, 1, 0])
    code = source(loss, W, X, y)
    assert "def " in code
    assert ".shape !=" not in code, code
    _, g = yota.grad(loss, W, X, y)
    _, dg = yota.grad(loss, W, X, y, dynamic=True)
    np.testing.assert_allclose(g[0], dg[0])
