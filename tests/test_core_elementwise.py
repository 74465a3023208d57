"""Finite-difference checks of every core elementwise primitive: shapes, broadcasting, dtypes."""
import numpy as np
import pytest

from yota.testing import check_grads

DTYPES = [np.float64, np.float32]
SHAPES = [(), (3,), (2, 3)]

# name -> (function, domain low, domain high)
UNARY = {
    "negative": (np.negative, -2, 2), "positive": (np.positive, -2, 2),
    "absolute": (np.abs, 0.2, 2), "fabs": (np.fabs, -2, -0.2), "square": (np.square, -2, 2),
    "reciprocal": (np.reciprocal, 0.5, 2), "sqrt": (np.sqrt, 0.5, 2), "cbrt": (np.cbrt, 0.5, 2),
    "exp": (np.exp, -1, 1), "exp2": (np.exp2, -1, 1), "expm1": (np.expm1, -1, 1),
    "log": (np.log, 0.5, 2), "log2": (np.log2, 0.5, 2), "log10": (np.log10, 0.5, 2),
    "log1p": (np.log1p, -0.5, 1), "sin": (np.sin, -2, 2), "cos": (np.cos, -2, 2),
    "tan": (np.tan, -1, 1), "arcsin": (np.arcsin, -0.8, 0.8), "arccos": (np.arccos, -0.8, 0.8),
    "arctan": (np.arctan, -2, 2), "sinh": (np.sinh, -1, 1), "cosh": (np.cosh, -1, 1),
    "tanh": (np.tanh, -2, 2), "arcsinh": (np.arcsinh, -2, 2), "arccosh": (np.arccosh, 1.2, 3),
    "arctanh": (np.arctanh, -0.8, 0.8), "deg2rad": (np.deg2rad, -90, 90),
    "rad2deg": (np.rad2deg, -1, 1), "pow2": (lambda x: x ** 2, -2, 2),
    "pow_half": (lambda x: x ** 0.5, 0.5, 2), "rpow": (lambda x: 2.0 ** x, -1, 1),
    "abs_op": (abs, 0.2, 2), "neg_op": (lambda x: -x, -1, 1),
}

BINARY = {
    "add": (np.add, -2, 2), "subtract": (np.subtract, -2, 2), "multiply": (np.multiply, -2, 2),
    "divide": (np.divide, 0.5, 2), "power": (np.power, 0.5, 2),
    "float_power": (np.float_power, 0.5, 2), "maximum": (np.maximum, -2, 2),
    "minimum": (np.minimum, -2, 2), "fmax": (np.fmax, -2, 2), "fmin": (np.fmin, -2, 2),
    "logaddexp": (np.logaddexp, -2, 2), "logaddexp2": (np.logaddexp2, -2, 2),
    "arctan2": (np.arctan2, 0.5, 2), "hypot": (np.hypot, 0.5, 2),
    "remainder": (np.remainder, 0.3, 0.45), "add_op": (lambda a, b: a + b, -2, 2),
    "sub_op": (lambda a, b: a - b, -2, 2), "mul_op": (lambda a, b: a * b, -2, 2),
    "div_op": (lambda a, b: a / b, 0.5, 2), "pow_op": (lambda a, b: a ** b, 0.5, 2),
}

BROADCAST_PAIRS = [((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 3)), ((4, 1, 3), (2, 1))]


def _draw(rng, shape, lo, hi, dtype):
    return rng.uniform(lo, hi, size=shape).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradient(name, shape, dtype, rng, total):
    fn, lo, hi = UNARY[name]
    x = _draw(rng, shape, lo, hi, dtype)
    w = rng.normal(size=shape)  # a non-trivial upstream gradient

    def loss(x):
        return total(fn(x) * w)

    check_grads(loss, x)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", BROADCAST_PAIRS)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gradient_with_broadcasting(name, shapes, dtype, rng, total):
    fn, lo, hi = BINARY[name]
    a = _draw(rng, shapes[0], lo, hi, dtype)
    b = _draw(rng, shapes[1], lo, hi, dtype)
    w = rng.normal(size=np.broadcast_shapes(*shapes))

    def loss(a, b):
        return total(fn(a, b) * w)

    check_grads(loss, a, b)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_with_a_constant_operand(name, rng, total):
    fn, lo, hi = BINARY[name]
    a = _draw(rng, (2, 3), lo, hi, np.float64)
    c = _draw(rng, (3,), lo, hi, np.float64)
    check_grads(lambda a: total(fn(a, c)), a)
    check_grads(lambda a: total(fn(c, a)), a)


def test_python_float_arguments_get_float_gradients():
    import yota

    value, g = yota.grad(lambda a, b: a * b + np.sin(a), 2.0, 3.0)
    assert isinstance(g[0], float) and isinstance(g[1], float)
    assert g[0] == pytest.approx(3.0 + np.cos(2.0))
    assert g[1] == pytest.approx(2.0)
    assert value == pytest.approx(6.0 + np.sin(2.0))


def test_float32_stays_float32_through_backward(rng, total):
    import yota

    x = rng.normal(size=(3, 4)).astype(np.float32)
    _, g = yota.grad(lambda x: total(np.tanh(x) * 2.5 + x ** 2 / 3.0), x)
    assert g[0].dtype == np.float32


@pytest.mark.parametrize("fn", [np.sign, np.floor, np.ceil, np.round, np.trunc, np.rint])
def test_piecewise_constant_functions_have_zero_gradient(fn, rng, total):
    import yota

    x = rng.uniform(-3, 3, size=(4,)) + 0.25
    _, g = yota.grad(lambda x: total(fn(x) * x), x)
    np.testing.assert_allclose(g[0], fn(x))


def test_kink_conventions(total):
    import yota

    x = np.array([0.0, 1.0, -1.0])
    _, g = yota.grad(lambda x: total(np.abs(x)), x)
    np.testing.assert_array_equal(g[0], [0.0, 1.0, -1.0])
    # maximum/minimum with ties share the gradient equally.
    _, g = yota.grad(lambda a, b: total(np.maximum(a, b)), x, np.zeros(3))
    np.testing.assert_array_equal(g[0], [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(g[1], [0.5, 0.0, 1.0])
    # sqrt at 0 gives inf, as the math does.
    with np.errstate(divide="ignore"):
        _, g = yota.grad(lambda x: total(np.sqrt(x)), np.array([0.0, 4.0]))
    assert np.isinf(g[0][0]) and g[0][1] == pytest.approx(0.25)


def test_power_with_zero_exponent_and_zero_base(total):
    import yota

    _, g = yota.grad(lambda x: total(x ** 0), np.array([0.0, 2.0]))
    np.testing.assert_array_equal(g[0], [0.0, 0.0])
    _, g = yota.grad(lambda b: total(np.zeros(2) ** b), np.array([1.0, 2.0]))
    np.testing.assert_array_equal(g[0], [0.0, 0.0])


def test_nan_and_inf_propagate_without_exceptions(total):
    import yota

    x = np.array([np.nan, np.inf, 1.0])
    with np.errstate(invalid="ignore"):
        value, g = yota.grad(lambda x: total(x * 2.0), x)
    assert np.isnan(value)
    np.testing.assert_array_equal(g[0], [2.0, 2.0, 2.0])


def test_comparisons_are_tracked_but_not_differentiable(total):
    import yota

    x = np.array([-1.0, 2.0, 3.0])
    _, g = yota.grad(lambda x: total(x * (x > 0) + (x >= 2) * 1.0 + (x == 3)), x)
    np.testing.assert_array_equal(g[0], [0.0, 1.0, 1.0])
