"""Higher-order derivatives: grad of grad to any order, in static and dynamic mode.

Each tape has a depth; a primitive records on the innermost tape among its arguments and calls
itself on the values behind them, which an outer tape may track, so the outer tape records the
inner computation, backward pass included.
"""
import attrs
import numpy as np
import pytest

import yota
from yota import hessian
from yota.kernel.tape import current_depth, tracing
from yota.testing import check_grads

MODES = ["static", "dynamic"]


@pytest.fixture(params=MODES)
def mode(request):
    return request.param


def derivative(f, dynamic, argnum=0):
    """x -> d f / d x_argnum, itself differentiable (a nested grad)."""
    def df(*args):
        return yota.grad(f, *args, dynamic=dynamic, argnums=argnum)[1][argnum]

    return df


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# name -> (f, f', f'', f''', domain)
ELEMENTWISE = {
    "sin": (np.sin, np.cos, lambda x: -np.sin(x), lambda x: -np.cos(x), (-2, 2)),
    "exp": (np.exp, np.exp, np.exp, np.exp, (-1, 1)),
    "log": (np.log, lambda x: 1 / x, lambda x: -1 / x ** 2, lambda x: 2 / x ** 3, (0.5, 2)),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2,
             lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2),
             lambda x: (1 - np.tanh(x) ** 2) * (6 * np.tanh(x) ** 2 - 2), (-2, 2)),
    "sqrt": (np.sqrt, lambda x: 0.5 * x ** -0.5, lambda x: -0.25 * x ** -1.5,
             lambda x: 0.375 * x ** -2.5, (0.5, 2)),
    "cube": (lambda x: x ** 3, lambda x: 3 * x ** 2, lambda x: 6 * x, lambda x: 6 + 0 * x,
             (-2, 2)),
    "reciprocal": (lambda x: 1 / x, lambda x: -x ** -2.0, lambda x: 2 * x ** -3.0,
                   lambda x: -6 * x ** -4.0, (0.5, 2)),
    "arctan": (np.arctan, lambda x: 1 / (1 + x * x), lambda x: -2 * x / (1 + x * x) ** 2,
               lambda x: (6 * x * x - 2) / (1 + x * x) ** 3, (-2, 2)),
    "sigmoid": (sigmoid, lambda x: sigmoid(x) * (1 - sigmoid(x)),
                lambda x: sigmoid(x) * (1 - sigmoid(x)) * (1 - 2 * sigmoid(x)),
                lambda x: sigmoid(x) * (1 - sigmoid(x)) * (1 - 6 * sigmoid(x)
                                                           + 6 * sigmoid(x) ** 2), (-3, 3)),
    "x_sin_x": (lambda x: x * np.sin(x), lambda x: np.sin(x) + x * np.cos(x),
                lambda x: 2 * np.cos(x) - x * np.sin(x),
                lambda x: -3 * np.sin(x) - x * np.cos(x), (-2, 2)),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_second_and_third_derivatives_of_elementwise_functions(name, mode, total, rng):
    f, d1, d2, d3 = ELEMENTWISE[name][:4]
    lo, hi = ELEMENTWISE[name][4]
    dynamic = mode == "dynamic"
    x = rng.uniform(lo, hi, size=5)
    # Elementwise, so the gradient of total(f^(k)(x)) is f^(k+1)(x), entry by entry.
    g1 = derivative(lambda x: total(f(x)), dynamic)
    g2 = derivative(lambda x: total(g1(x)), dynamic)
    g3 = derivative(lambda x: total(g2(x)), dynamic)
    np.testing.assert_allclose(g1(x), d1(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g2(x), d2(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g3(x), d3(x), rtol=1e-10, atol=1e-10)
    # Scalars all the way down too.
    s = float(x[0])
    dd = derivative(derivative(derivative(f, dynamic), dynamic), dynamic)
    assert dd(s) == pytest.approx(float(d3(x[0])), rel=1e-10, abs=1e-10)


BINARY = {
    "multiply": (np.multiply, -2, 2), "divide": (np.divide, 0.5, 2),
    "power": (np.power, 0.5, 2), "hypot": (np.hypot, 0.5, 2), "arctan2": (np.arctan2, 0.5, 2),
    "logaddexp": (np.logaddexp, -2, 2), "subtract_square": (lambda a, b: (a - b) ** 2, -2, 2),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3))])
def test_third_order_of_binary_functions_with_broadcasting(name, shapes, total, rng):
    fn, lo, hi = BINARY[name]
    a, b = (rng.uniform(lo, hi, size=s) for s in shapes)
    check_grads(lambda a, b: total(fn(a, b)), a, b, order=3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_second_order_keeps_the_dtype(dtype, total, rng, mode):
    x = rng.uniform(0.5, 1.5, size=4).astype(dtype)
    d2 = derivative(lambda x: total(derivative(lambda x: total(np.log(x) * x), False)(x)),
                    mode == "dynamic")(x)
    assert d2.dtype == dtype
    np.testing.assert_allclose(d2, 1 / x, rtol=1e-5 if dtype == np.float32 else 1e-12)
    check_grads(lambda x: total(np.exp(np.sin(x))), x, order=2)


def test_nested_tapes_do_not_confuse_their_variables(mode):
    """Perturbation confusion (Siskind and Pearlmutter): d/dx [x * d/dy (x + y)] = 1, not 2."""
    dynamic = mode == "dynamic"
    D = lambda f: derivative(f, dynamic)  # noqa: E731
    assert D(lambda x: x * D(lambda y: x + y)(1.0))(1.0) == pytest.approx(1.0)
    assert D(lambda x: x * D(lambda y: x * y)(2.0))(3.0) == pytest.approx(6.0)
    # Each level sees only its own input: d/dx d/dy (x * y ** 2) = 2y.
    mixed = D(lambda x: D(lambda y: x * y ** 2)(1.5))(0.3)
    assert mixed == pytest.approx(3.0)


def test_mixed_third_partials(total, rng, mode):
    dynamic = mode == "dynamic"
    x, y, z = 0.4, 1.3, -0.7

    def f(x, y, z):
        return np.sin(x * y) * np.exp(z) + x * y * z * z

    def dxyz(x, y, z):
        fz = derivative(f, dynamic, argnum=2)
        fyz = derivative(fz, dynamic, argnum=1)
        return derivative(fyz, dynamic, argnum=0)(x, y, z)

    exact = (np.cos(x * y) - x * y * np.sin(x * y)) * np.exp(z) + 2 * z
    assert dxyz(x, y, z) == pytest.approx(exact, rel=1e-12)


def test_the_outer_tape_records_the_inner_backward_pass(total):
    with tracing() as outer:
        assert current_depth() == 1
        x = outer.input(np.array([0.3, 0.8]))
        depth_inside = []

        def inner(y):
            depth_inside.append(current_depth())
            return total(np.sin(y))

        _, g = yota.grad(inner, x, dynamic=True)
        assert current_depth() == 1
    assert depth_inside == [2]
    assert type(g[0]) is yota.Tracked and g[0]._tape is outer  # a value of the outer tape
    names = [op.prim.name for op in outer.ops]
    assert "sin" in names and "cos" in names  # forward and backward of the inner grad
    np.testing.assert_allclose(g[0]._value, np.cos([0.3, 0.8]))


def test_an_inner_gradient_that_does_not_depend_on_x(total, rng, mode):
    x = rng.normal(size=3)
    dynamic = mode == "dynamic"
    g = derivative(lambda x: total(derivative(lambda x: total(3 * x), dynamic)(x) * 2.0),
                   dynamic)(x)
    np.testing.assert_array_equal(g, np.zeros(3))


# --- a small MLP: Hessian against finite differences -------------------------------------------
SIZES = (3, 4, 2)


def _unpack(theta):
    """A flat parameter vector -> W1 (3x4), b1 (4), W2 (4x2), b2 (2)."""
    n_in, n_hid, n_out = SIZES
    shapes = [(n_in, n_hid), (n_hid,), (n_hid, n_out), (n_out,)]
    out, start = [], 0
    for s in shapes:
        size = int(np.prod(s))
        out.append(np.reshape(theta[start:start + size], s))
        start += size
    return out


def _mlp_loss(theta, X, Y):
    W1, b1, W2, b2 = _unpack(theta)
    H = np.tanh(X @ W1 + b1)
    P = H @ W2 + b2
    return np.sum((P - Y) ** 2) / len(X)


def fd_hessian(f, x, h=1e-4):
    """Second-order central differences of function values only (independent of yota)."""
    n = x.size
    H = np.zeros((n, n))
    E = np.eye(n) * h
    for i in range(n):
        for j in range(i, n):
            H[i, j] = H[j, i] = (f(x + E[i] + E[j]) - f(x + E[i] - E[j])
                                 - f(x - E[i] + E[j]) + f(x - E[i] - E[j])) / (4 * h * h)
    return H


@pytest.fixture
def mlp_data(rng):
    pytest.importorskip("yota_linalg", reason="the MLP needs the yota-linalg pack")
    pytest.importorskip("yota_reductions", reason="the MLP needs the yota-reductions pack")
    n_params = 3 * 4 + 4 + 4 * 2 + 2
    return rng.normal(size=n_params) * 0.5, rng.normal(size=(5, 3)), rng.normal(size=(5, 2))


def test_hessian_of_an_mlp_loss_matches_finite_differences(mlp_data, mode):
    theta, X, Y = mlp_data
    H = hessian(lambda t: _mlp_loss(t, X, Y), dynamic=mode == "dynamic")(theta)
    expected = fd_hessian(lambda t: _mlp_loss(t, X, Y), theta)
    assert H.shape == (theta.size, theta.size)
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    np.testing.assert_allclose(H, expected, rtol=1e-5, atol=1e-6)
    # The Hessian-vector product agrees without forming it.
    v = np.random.default_rng(1).normal(size=theta.size)
    np.testing.assert_allclose(yota.hvp(lambda t: _mlp_loss(t, X, Y), theta, v), H @ v,
                               rtol=1e-10, atol=1e-12)


def test_mlp_loss_third_order_check(mlp_data):
    theta, X, Y = mlp_data
    check_grads(lambda t: _mlp_loss(t, X, Y), theta, order=3)


# --- a gradient penalty (WGAN-GP): the gradient of a gradient norm -----------------------------
@attrs.define
class Critic:
    W: np.ndarray
    b: np.ndarray
    v: np.ndarray


def _critic(c, X):
    return np.tanh(X @ c.W + c.b) @ c.v


def gradient_penalty(c, X, dynamic):
    """mean_i (|| d critic(x_i) / d x_i || - 1) ** 2: samples are independent, so the gradient of
    the summed scores w.r.t. X holds each sample's input gradient in its row."""
    _, g = yota.grad(lambda X: np.sum(_critic(c, X)), X, dynamic=dynamic)
    norms = np.sqrt(np.sum(g[0] ** 2, axis=1))
    return np.mean((norms - 1) ** 2)


def test_gradient_of_a_gradient_penalty(mlp_data, rng, mode):
    dynamic = mode == "dynamic"
    c = Critic(rng.normal(size=(3, 5)), rng.normal(size=5), rng.normal(size=5))
    X = rng.normal(size=(4, 3))
    value, g = check_grads(lambda c, X: gradient_penalty(c, X, dynamic), c, X, order=1)
    assert set(g[0]) == {("W",), ("b",), ("v",)}
    assert value > 0
    # The penalty's gradient is a second derivative of the critic: an exact check on v, where
    # the input gradient is linear: d critic / d x_i = W (s_i * v), s_i = 1 - tanh^2.
    S = 1 - np.tanh(X @ c.W + c.b) ** 2
    G = (S * c.v) @ c.W.T
    norms = np.linalg.norm(G, axis=1)
    dv = np.mean(((2 * (norms - 1) / norms)[:, None, None] * (G[:, :, None] * c.W[None]
                                                              * S[:, None, :])).sum(1), axis=0)
    np.testing.assert_allclose(g[0][("v",)], dv, rtol=1e-10)


def test_meta_learning_step_through_an_inner_update(mlp_data, rng, mode):
    """MAML-style: the loss after one gradient step, differentiated w.r.t. the start point."""
    dynamic = mode == "dynamic"
    theta, X, Y = mlp_data
    params = {"theta": theta, "lr": 0.1}

    def after_one_step(p):
        _, g = yota.grad(_mlp_loss, p["theta"], X, Y, dynamic=dynamic, argnums=0)
        return _mlp_loss(p["theta"] - p["lr"] * g[0], X, Y)

    check_grads(after_one_step, params)


@attrs.define
class Linear:
    W: np.ndarray
    b: np.ndarray


def test_inner_gradient_of_an_attrs_model(mlp_data, rng, mode):
    """The inner grad returns a dict of paths whose values are tracked by the outer tape."""
    dynamic = mode == "dynamic"
    _, X, Y = mlp_data

    def loss(m):
        return np.mean((np.tanh(X @ m.W + m.b) - Y) ** 2)

    def after_step(m, lr):
        _, g = yota.grad(loss, m, dynamic=dynamic)
        return loss(Linear(m.W - lr * g[0][("W",)], m.b - lr * g[0][("b",)]))

    m = Linear(rng.normal(size=(3, 2)), rng.normal(size=2))
    _, g = check_grads(after_step, m, 0.3)
    assert set(g[0]) == {("W",), ("b",)} and isinstance(g[1], float)


def test_python_branches_inside_an_inner_gradient(mlp_data, mode):
    """float(stop_gradient(x)) inside the inner function is a guard on both tapes; both
    branches check out."""
    dynamic = mode == "dynamic"

    def inner(x):
        if float(yota.stop_gradient(x[0])) > 0:
            return np.sum(x ** 3)
        return np.sum(np.sin(x))

    def outer(x):
        return np.sum(yota.grad(inner, x, dynamic=dynamic)[1][0] ** 2)

    _, g = check_grads(outer, np.array([0.5, 1.0]), order=2)
    np.testing.assert_allclose(g[0], [2 * 3 * 0.25 * 6 * 0.5, 2 * 3 * 1.0 * 6 * 1.0])
    _, g = check_grads(outer, np.array([-0.5, 1.0]))
    np.testing.assert_allclose(g[0], -2 * np.cos([-0.5, 1.0]) * np.sin([-0.5, 1.0]))
