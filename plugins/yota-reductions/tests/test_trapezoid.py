"""np.trapezoid: NumPy's values; gradients in y, x and dx against finite differences."""
import numpy as np
import pytest

import yota
from yota.testing import check_grads

Y = np.array([[0.3, -1.0, 2.0, 1.0], [0.5, 1.5, -0.2, 0.1]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_trapezoid(dtype):
    y = Y.astype(dtype)
    x = np.array([0.0, 0.4, 1.0, 1.1], dtype)
    got = yota.value_and_grad(lambda y: np.sum(np.trapezoid(y, x=x)))(y)[0]
    np.testing.assert_allclose(got, np.sum(np.trapezoid(y, x=x)), rtol=1e-6)
    order = 2 if dtype == np.float64 else 1
    check_grads(lambda y: np.sum(np.trapezoid(y ** 2)), y, order=order)
    check_grads(lambda y: np.trapezoid(y[0] ** 2), y, order=order)
    check_grads(lambda y: np.sum(np.trapezoid(y ** 2, axis=0)), y, order=order)
    check_grads(lambda y, dx: np.sum(np.trapezoid(y ** 2, dx=dx)), y, np.array(0.3, dtype),
                order=order)
    check_grads(lambda y, x: np.sum(np.trapezoid(y ** 2, x=x)), y, x, order=order)
    check_grads(lambda y, x: np.sum(np.trapezoid(y ** 2, x=x, axis=0)), y, y * 3, order=order)
