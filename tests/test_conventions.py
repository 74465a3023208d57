"""Issue 18, conventions: transforms return what autograd and JAX return, gradients in the
arguments' own structure, a loss of size one, and autograd's conveniences (elementwise_grad,
flatten, make_hvp, fixed_point, odeint), each against finite differences in both modes."""
import attrs
import numpy as np
import pytest
import scipy.optimize

import yota
from yota import GradientResult
from yota.errors import InputError, NoRuleError, NotScalarError


@pytest.fixture(params=["static", "dynamic"])
def dynamic(request):
    return request.param == "dynamic"


def fd(f, x, h=1e-6):
    """Central finite differences of scalar ``f`` w.r.t. array ``x``."""
    x = np.asarray(x, np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = h
        g[i] = (float(np.sum(f(x + step))) - float(np.sum(f(x - step)))) / (2 * h)
    return g


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


@attrs.define
class Layer:
    W: np.ndarray
    b: np.ndarray
    scale: float = 1.0
    steps: int = 3


# --- 1. value_and_grad and gradient return the gradient itself --------------------------------
def test_scipy_minimize_takes_value_and_grad_as_written(dynamic):
    x0 = np.array([-1.2, 1.0, 0.8])
    res = scipy.optimize.minimize(yota.value_and_grad(rosenbrock, dynamic=dynamic), x0,
                                  jac=True, method="BFGS")
    assert res.success
    np.testing.assert_allclose(res.x, np.ones(3), atol=1e-4)
    res = scipy.optimize.minimize(rosenbrock, x0, jac=yota.gradient(rosenbrock, dynamic=dynamic),
                                  method="L-BFGS-B")
    np.testing.assert_allclose(res.x, np.ones(3), atol=1e-3)


def test_gradient_of_an_array_a_float_and_a_numpy_scalar(dynamic):
    x = np.array([0.5, -1.0])
    value, g = yota.value_and_grad(rosenbrock, dynamic=dynamic)(x)
    assert type(g) is np.ndarray and g.shape == (2,)
    np.testing.assert_allclose(g, fd(rosenbrock, x), rtol=1e-6)
    assert float(value) == pytest.approx(rosenbrock(x))
    g = yota.gradient(lambda s: s ** 3, dynamic=dynamic)(2.0)
    assert type(g) is float and g == pytest.approx(12.0)
    g = yota.gradient(lambda s: s ** 3, dynamic=dynamic)(np.float32(2.0))
    assert type(g) is np.float32 and g == pytest.approx(12.0)


def test_gradient_of_a_model_is_a_model(dynamic):
    layer = Layer(np.ones((2, 3)), np.zeros(2))
    x = np.arange(3.0)

    def loss(layer, x):
        return np.sum(np.tanh(layer.W @ x + layer.b))

    g = yota.gradient(loss, dynamic=dynamic)(layer, x)
    assert type(g) is Layer
    flat = yota.grad(loss, layer, x, argnums=0)[1][0]
    np.testing.assert_allclose(g.W, flat[("W",)])
    np.testing.assert_allclose(g.b, flat[("b",)])
    assert g.scale == 0.0 and type(g.scale) is float   # no gradient reached it: zero
    assert g.steps is None                               # not a float: no gradient
    assert layer.steps == 3 and np.all(layer.W == 1)     # the argument is untouched


def test_gradient_of_containers_keeps_their_structure(dynamic):
    params = [np.ones(2), (np.full(2, 2.0), {"c": np.array(3.0), "unused": np.ones(4)})]

    def loss(p):
        return np.sum(p[0] * p[1][0]) * p[1][1]["c"]

    g = yota.gradient(loss, dynamic=dynamic)(params)
    assert type(g) is list and type(g[1]) is tuple and type(g[1][1]) is dict
    np.testing.assert_allclose(g[0], [6.0, 6.0])
    np.testing.assert_allclose(g[1][0], [3.0, 3.0])
    np.testing.assert_allclose(g[1][1]["c"], 4.0)
    np.testing.assert_array_equal(g[1][1]["unused"], np.zeros(4))


@attrs.frozen
class Frozen:
    w: np.ndarray
    name: str = "frozen"


def test_gradient_of_frozen_models_and_namedtuples(dynamic):
    import collections

    Pair = collections.namedtuple("Pair", "left right")
    params = Pair(Frozen(np.array([1.0, 2.0])), np.float32(3.0))

    def loss(p):
        return np.sum(p.left.w ** 2) * p.right

    g = yota.gradient(loss, dynamic=dynamic)(params)
    assert type(g) is Pair and type(g.left) is Frozen and g.left.name is None
    np.testing.assert_allclose(g.left.w, [6.0, 12.0])
    assert type(g.right) is np.float32 and g.right == pytest.approx(5.0)


def test_tuple_argnums_give_a_tuple(dynamic):
    a, b = np.array([1.0, 2.0]), 3.0
    value, (ga, gb) = yota.value_and_grad(lambda a, b: np.sum(a * b), argnums=(0, 1),
                                          dynamic=dynamic)(a, b)
    np.testing.assert_allclose(ga, [3.0, 3.0])
    assert gb == pytest.approx(3.0) and type(gb) is float
    g = yota.gradient(lambda a, b: np.sum(a * b), argnums=None, dynamic=dynamic)(a, b)
    assert type(g) is tuple and len(g) == 2
    (g1,) = yota.gradient(lambda a, b: np.sum(a * b), argnums=(1,), dynamic=dynamic)(a, b)
    assert g1 == pytest.approx(3.0)


def test_has_aux_keeps_working(dynamic):
    def loss(x):
        return np.sum(x ** 2), {"norm": np.sqrt(np.sum(x ** 2))}

    x = np.array([3.0, 4.0])
    (value, aux), g = yota.value_and_grad(loss, has_aux=True, dynamic=dynamic)(x)
    np.testing.assert_allclose(g, 2 * x)
    assert float(aux["norm"]) == pytest.approx(5.0) and float(value) == pytest.approx(25.0)
    g, aux = yota.gradient(loss, has_aux=True, dynamic=dynamic)(x)
    np.testing.assert_allclose(g, 2 * x)


def test_grad_keeps_value_and_gradient_result(dynamic):
    value, g = yota.grad(lambda a, b: np.sum(a * b), np.ones(2), np.ones(2), dynamic=dynamic)
    assert type(g) is GradientResult and len(g) == 2


def test_grad_without_arguments_points_to_gradient():
    with pytest.raises(InputError, match=r"yota.grad\(f, \*args\) differentiates f at the "
                       r"arguments given, and none were given; .*use yota.gradient\(f\)"):
        yota.grad(rosenbrock)
    with pytest.raises(InputError, match=r"yota.gradient\(f\)"):
        yota.grad(rosenbrock, dynamic=True)


# --- 2. GradientResult.tree ------------------------------------------------------------------
def test_tree_gives_the_arguments_structure(dynamic):
    layers = [Layer(np.ones((2, 2)), np.ones(2)), Layer(np.ones((2, 2)), np.ones(2))]

    def loss(layers, x):
        for layer in layers:
            x = np.tanh(layer.W @ x + layer.b)
        return np.sum(x)

    x = np.array([0.1, 0.2])
    _, g = yota.grad(loss, layers, x, dynamic=dynamic)
    assert isinstance(g[0], dict)              # path dicts stay the default
    tree = g.tree(0)
    assert type(tree) is list and all(type(t) is Layer for t in tree)
    np.testing.assert_allclose(tree[1].W, g[0][(1, "W")])
    assert tree[0].scale == 0.0 and tree[0].steps is None
    assert g.tree(1) is g[1]                   # an array argument: its gradient
    np.testing.assert_allclose(g.tree(0, like=layers)[0].b, g[0][(0, "b")])


def test_tree_of_a_vjp_result_and_without_the_argument():
    out, vjp_fn = yota.vjp(lambda p: p["a"] * 2.0, {"a": np.ones(2), "b": np.ones(1)})
    tree = vjp_fn(np.ones(2)).tree(0)
    np.testing.assert_allclose(tree["a"], [2.0, 2.0])
    np.testing.assert_array_equal(tree["b"], [0.0])
    g = GradientResult([{(0,): np.ones(2)}])
    with pytest.raises(InputError, match=r"GradientResult.tree\(0\): this result does not know "
                       r"argument 0's structure; pass the argument: g.tree\(0, like=model\)"):
        g.tree(0)
    assert g.tree(0, like=[np.zeros(2), 1.0]) [1] == 0.0


# --- 3. a loss of size one -------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1,), (1, 1)])
def test_a_loss_of_size_one_is_its_single_element(dynamic, shape):
    x = np.array([1.0, 2.0])

    def loss(x):
        return np.reshape(np.sum(x ** 2), shape)

    value, g = yota.value_and_grad(loss, dynamic=dynamic)(x)
    np.testing.assert_allclose(g, 2 * x)
    assert type(value) is np.ndarray and value.shape == shape   # as returned, like autograd
    value, gr = yota.grad(loss, x, dynamic=dynamic)
    np.testing.assert_allclose(gr[0], 2 * x)
    np.testing.assert_allclose(yota.hessian(loss, dynamic=dynamic)(x), 2 * np.eye(2))
    np.testing.assert_allclose(yota.hvp(loss, x, np.ones(2)), [2.0, 2.0])


def test_a_larger_loss_stays_an_error(dynamic):
    with pytest.raises(NotScalarError, match=r"yota.gradient: .* must return a scalar float to "
                       r"be differentiated, but returned an array of shape \(2,\)"):
        yota.gradient(lambda x: x * 2, dynamic=dynamic)(np.ones(2))
    with pytest.raises(NotScalarError, match=r"returned an array of shape \(1, 2\)"):
        yota.grad(lambda x: np.reshape(x, (1, 2)), np.ones(2), dynamic=dynamic)


# --- 4. autograd's conveniences ---------------------------------------------------------------
def test_elementwise_grad(dynamic):
    x = np.linspace(-2, 2, 7)
    g = yota.elementwise_grad(np.tanh, dynamic=dynamic)(x)
    np.testing.assert_allclose(g, 1 - np.tanh(x) ** 2)
    np.testing.assert_allclose(yota.elementwise_grad(lambda x: x ** 3, dynamic=dynamic)(x),
                               fd(lambda x: x ** 3, x), rtol=1e-6)
    assert yota.elementwise_grad(np.sin, dynamic=dynamic)(0.0) == pytest.approx(1.0)


def test_flatten_round_trips_models_and_containers():
    layer = Layer(np.arange(6.0).reshape(2, 3), np.ones(2, np.float32), scale=2.5)
    params = {"layer": layer, "rest": [np.array(7.0), (np.float32(8.0), np.zeros((0, 2)))]}
    vector, unflatten = yota.flatten(params)
    assert vector.shape == (6 + 2 + 1 + 1 + 1,) and vector.dtype == np.float64
    np.testing.assert_array_equal(vector[:6], np.arange(6.0))
    back = unflatten(vector)
    assert type(back["layer"]) is Layer and back["layer"].steps == 3
    assert back["layer"].b.dtype == np.float32 and type(back["layer"].scale) is float
    assert type(back["rest"][1][0]) is np.float32 and back["rest"][1][1].shape == (0, 2)
    np.testing.assert_array_equal(back["layer"].W, layer.W)
    new = unflatten(vector * 2)
    assert new["layer"].scale == 5.0 and layer.scale == 2.5
    back["layer"].W[0, 0] = 99.0
    assert vector[0] == 0.0                      # the leaves do not share memory with it
    with pytest.raises(InputError, match=r"yota.flatten: unflatten expects a vector of shape "
                       r"\(11,\) like the one flatten returned, got shape \(3,\)"):
        unflatten(np.zeros(3))
    v, unf = yota.flatten(np.ones((2, 2)))
    assert v.shape == (4,) and unf(v).shape == (2, 2)


def test_unflatten_is_differentiable(dynamic):
    layer = Layer(np.array([[0.5, -1.0], [0.3, 0.2]]), np.array([0.1, -0.1]), scale=1.5)
    x = np.array([1.0, 2.0])
    vector, unflatten = yota.flatten(layer)

    def loss(v):
        m = unflatten(v)
        return np.sum(np.tanh(m.W @ x + m.b)) * m.scale

    np.testing.assert_allclose(yota.gradient(loss, dynamic=dynamic)(vector), fd(loss, vector),
                               rtol=1e-6)


def test_make_hvp_reuses_one_trace():
    def f(x):
        return np.sum(np.sin(x) * x ** 2) + np.prod(x)

    x = np.array([0.5, 1.0, -0.3])
    hvp_fn, g = yota.make_hvp(f)(x)
    np.testing.assert_allclose(g, fd(f, x), rtol=1e-6)
    H = yota.hessian(f)(x)
    for v in np.eye(3):
        np.testing.assert_allclose(hvp_fn(v), H @ v)
    np.testing.assert_allclose(hvp_fn(np.ones(3)), fd(lambda y: yota.gradient(f)(y) @ np.ones(3),
                                                      x), rtol=1e-5)
    hvp_fn, g = yota.make_hvp(lambda a, s: s * np.sum(a ** 2), argnum=1)(np.ones(2), 3.0)
    assert g == pytest.approx(2.0) and hvp_fn(1.0) == 0.0
    with pytest.raises(InputError, match=r"yota.make_hvp: argument 0 must be a float array"):
        yota.make_hvp(f)(np.arange(3))


def newton_sqrt_iter(a):
    return lambda x: 0.5 * (x + a / x)


def distance(x, y):
    return np.max(np.abs(x - y))


def test_fixed_point_against_finite_differences(dynamic):
    def sqrt(a):
        return yota.fixed_point(newton_sqrt_iter, a, 1.0, distance, 1e-12)

    assert sqrt(2.0) == pytest.approx(np.sqrt(2.0))
    assert yota.gradient(sqrt, dynamic=dynamic)(2.0) == pytest.approx(0.5 / np.sqrt(2.0))

    def loss(a):
        x = yota.fixed_point(lambda a: (lambda x: 0.5 * np.cos(a * x) + 0.1 * a), a,
                             np.zeros(3), distance, 1e-13)
        return np.sum(x ** 2)

    for a in (np.array([0.3, 0.5, 0.7]), np.array([1.1, -0.4, 0.2])):   # two replays
        np.testing.assert_allclose(yota.gradient(loss, dynamic=dynamic)(a), fd(loss, a),
                                   rtol=1e-6)


def test_fixed_point_of_a_model(dynamic):
    def step(p):
        return lambda x: 0.5 * np.tanh(p["W"] @ x) + p["b"]

    def loss(W, b):
        return np.sum(yota.fixed_point(step, {"W": W, "b": b}, np.zeros(2), distance, 1e-13))

    W, b = np.array([[0.5, -0.3], [0.2, 0.4]]), np.array([0.1, -0.2])
    gW, gb = yota.gradient(loss, argnums=(0, 1), dynamic=dynamic)(W, b)
    np.testing.assert_allclose(gW, fd(lambda W: loss(W, b), W), rtol=1e-6)
    np.testing.assert_allclose(gb, fd(lambda b: loss(W, b), b), rtol=1e-6)


def test_fixed_point_that_does_not_converge():
    with pytest.raises(InputError, match=r"yota.fixed_point: the iteration did not reach "
                       r"distance <= 1e-12 in 5 steps"):
        yota.fixed_point(lambda a: (lambda x: x + a), 1.0, 0.0, distance, 1e-12, max_iter=5)


def dynamics(y, t, W, c):
    return np.tanh(W @ y) * c - 0.1 * y * t


def test_odeint_solves_a_linear_ode():
    t = np.linspace(0.0, 2.0, 5)
    ys = yota.odeint(lambda y, t, k: -k * y, np.array([1.0, 2.0]), t, 0.7)
    assert ys.shape == (5, 2)
    np.testing.assert_allclose(ys, np.exp(-0.7 * t)[:, None] * [1.0, 2.0], rtol=1e-6)


def test_odeint_adjoint_gradient_against_finite_differences(dynamic):
    t = np.linspace(0.0, 1.0, 4)
    y0, W, c = np.array([0.5, -0.3]), np.array([[0.1, -1.0], [1.0, 0.2]]), 0.7

    def loss(y0, W, c):
        ys = yota.odeint(dynamics, y0, t, W, c)
        return np.sum(ys ** 2 * np.arange(4.0)[:, None])

    for scale in (1.0, 1.5):   # two calls: the static program replays
        args = (y0 * scale, W * scale, c * scale)
        value, (gy, gW, gc) = yota.value_and_grad(loss, argnums=(0, 1, 2),
                                                  dynamic=dynamic)(*args)
        assert value == pytest.approx(loss(*args))
        np.testing.assert_allclose(gy, fd(lambda y: loss(y, *args[1:]), args[0]), rtol=1e-6)
        np.testing.assert_allclose(gW, fd(lambda W: loss(args[0], W, args[2]), args[1]),
                                   rtol=1e-6)
        assert type(gc) is float
        assert gc == pytest.approx(float(fd(lambda c: loss(*args[:2], c), args[2])), rel=1e-6)


def test_odeint_checks_its_times():
    with pytest.raises(InputError, match=r"yota.odeint: the times t must be strictly increasing"):
        yota.odeint(dynamics, np.ones(2), np.array([0.0, 1.0, 0.5]), np.eye(2), 1.0)
    with pytest.raises(InputError, match=r"yota.odeint: steps must be a positive int"):
        yota.odeint(dynamics, np.ones(2), np.array([0.0, 1.0]), np.eye(2), 1.0, steps=0)


def test_fixed_point_and_odeint_are_first_order_and_say_so():
    def sqrt(a):
        return yota.fixed_point(newton_sqrt_iter, a, 1.0, distance, 1e-12)

    with pytest.raises(NoRuleError, match=r"yota.fixed_point is differentiable to first order "
                       r"only"):
        yota.hessian(sqrt, dynamic=True)(2.0)
    with pytest.raises(NoRuleError, match=r"yota.odeint is differentiable to first order only"):
        yota.hessian(lambda y0: np.sum(yota.odeint(lambda y, t: -y, y0, np.array([0.0, 1.0]))),
                     dynamic=True)(np.ones(2))
