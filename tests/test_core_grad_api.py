"""grad's contract: attrs models and containers, GradientResult, the tape, user primitives."""
import attrs
import numpy as np
import pytest

import yota
from yota.errors import NoRuleError
from yota.kernel.tape import Tape, tracing
from yota.testing import GradientMismatch, check_grads


@attrs.define
class Dense:
    W: np.ndarray
    b: np.ndarray
    name: str = "dense"
    units: int = 3


@attrs.frozen
class FrozenDense:
    W: np.ndarray
    b: np.ndarray


@attrs.define
class Net:
    layers: list
    scale: float
    head: FrozenDense
    extras: dict = attrs.Factory(dict)


def _net(rng):
    return Net(
        layers=[Dense(rng.normal(size=(3, 3)), rng.normal(size=3)) for _ in range(2)],
        scale=0.5,
        head=FrozenDense(rng.normal(size=(2, 3)), rng.normal(size=2)),
        extras={"gain": np.array([1.5, 2.0]), "steps": np.array([1, 2])},
    )


def _net_loss(net, x, total):
    h = x
    for layer in net.layers:
        h = np.tanh((layer.W * h).__getitem__((slice(None), 0)) + layer.b)
    return total((net.head.W * h).__getitem__((slice(None), 1)) * net.extras["gain"]) * net.scale


def test_nested_attrs_model_gradients_match_finite_differences(rng, total):
    net, x = _net(rng), rng.normal(size=3)
    value, g = check_grads(lambda net, x: _net_loss(net, x, total), net, x)
    assert set(g[0]) == {
        ("layers", 0, "W"), ("layers", 0, "b"), ("layers", 1, "W"), ("layers", 1, "b"),
        ("scale",), ("head", "W"), ("extras", "gain"),
    }
    assert isinstance(g[0][("scale",)], float)
    assert g[1].shape == (3,)


def test_fields_that_do_not_reach_the_loss_have_no_entry_and_inputs_are_untouched(rng, total):
    m = Dense(rng.normal(size=(3, 4)), rng.normal(size=3))
    W_before, b_before = m.W.copy(), m.b.copy()
    x = rng.normal(size=4)
    _, g = yota.grad(lambda m, x: total(m.W * x), m, x)
    assert list(g[0]) == [("W",)]
    np.testing.assert_allclose(g[0][("W",)], np.broadcast_to(x, (3, 4)))
    np.testing.assert_array_equal(m.W, W_before)
    np.testing.assert_array_equal(m.b, b_before)
    assert type(m.W) is np.ndarray


def test_containers_of_arrays(rng, total):
    params = {"a": rng.normal(size=2), "b": [rng.normal(size=3), 2.0], "n": 3}
    value, g = check_grads(
        lambda p: total(p["a"] * p["b"][1]) + total(np.sin(p["b"][0])) * p["n"], params)
    assert set(g[0]) == {("a",), ("b", 0), ("b", 1)}
    tup = (rng.normal(size=2), rng.normal(size=2))
    check_grads(lambda t: total(t[0] * t[1]), tup)


def test_non_differentiable_arguments_give_none(rng, total):
    x = rng.normal(size=3)
    labels = np.array([0, 2, 1])
    _, g = yota.grad(lambda x, labels, name, nothing: total(x[labels]), x, labels, "n", None)
    assert g[1] is None and g[2] is None and g[3] is None
    np.testing.assert_array_equal(g[0], [1.0, 1.0, 1.0])
    assert len(g) == 4 and list(g)[1:] == [None, None, None]


def test_unused_inputs_get_zeros_of_their_dtype(rng):
    x = rng.normal(size=(2, 2)).astype(np.float32)
    value, g = yota.grad(lambda x, y: y * 2.0, x, 3.0)
    assert g[0].dtype == np.float32 and not g[0].any()
    assert g[1] == 2.0 and value == 6.0


def test_loss_independent_of_inputs(rng):
    value, g = yota.grad(lambda x: np.float64(1.5), rng.normal(size=3))
    assert value == 1.5 and not g[0].any()


def test_values_used_several_times_accumulate(total):
    x = np.array([1.0, 2.0])
    _, g = yota.grad(lambda x: total(x * x + x + np.sin(x) * x), x)
    np.testing.assert_allclose(g[0], 2 * x + 1 + np.cos(x) * x + np.sin(x))


def test_branch_that_does_not_reach_the_output_is_skipped(total):
    x = np.array([1.0, 2.0])

    def f(x):
        unused = np.exp(x) * 3.0  # noqa: F841 - recorded, never reaches the output
        return total(x * 2.0)

    _, g = yota.grad(f, x)
    np.testing.assert_array_equal(g[0], [2.0, 2.0])


def test_returned_arrays_belong_to_the_caller(total):
    x = np.array([1.0, 2.0])
    _, g1 = yota.grad(lambda x: total(x * 2.0), x)
    _, g2 = yota.grad(lambda x: total(x * 3.0), x)
    np.testing.assert_array_equal(g1[0], [2.0, 2.0])
    g1[0][0] = 99.0  # writable
    _, g3 = yota.grad(lambda x: total(x.reshape(2, 1)), x)
    assert g3[0].flags.writeable and g3[0].flags.owndata
    np.testing.assert_array_equal(g2[0], [3.0, 3.0])


def test_user_primitive_and_its_rule(rng):
    @yota.primitive
    def relu(x):
        return np.maximum(x, 0)

    @relu.defgrad
    def relu_grad(dy, y, x):
        return dy * (x > 0)

    x = rng.normal(size=5)
    w = rng.normal(size=5)
    check_grads(lambda x: _dot(relu(x), w), x)
    assert relu(np.array([-1.0, 2.0])).tolist() == [0.0, 2.0]  # plain call runs NumPy


def _dot(a, w):
    return sum(a[i] * w[i] for i in range(len(w)))


def test_functional_defgrad_and_second_argument_rules():
    def scale(x, s):
        return x * s

    scale = yota.primitive(scale)
    yota.defgrad(scale, lambda dy, y, x, s: dy * s)
    scale.defgrad(lambda dy, y, x, s: dy * x, argnum=1)
    check_grads(lambda x, s: _dot(scale(x, s), np.ones(3)), np.arange(3.0), 2.0)


def test_nondiff_argnums_and_nondifferentiable_functions():
    @yota.primitive(nondiff_argnums=(1,))
    def shift(x, by):
        return x + by

    shift.defgrad(lambda dy, y, x, by: dy)
    value, g = yota.grad(lambda x, b: _dot(shift(x, b), np.ones(2)), np.ones(2), np.ones(2),
                         argnums=0)
    np.testing.assert_array_equal(g[0], [1.0, 1.0])
    with pytest.raises(NoRuleError, match="argument 1 \\(by\\) is declared non-differentiable"):
        yota.grad(lambda x, b: _dot(shift(x, b), np.ones(2)), np.ones(2), np.ones(2))

    @yota.nondifferentiable
    def rank(x):
        return np.argsort(np.argsort(x)).astype(float)

    value, g = yota.grad(lambda x: _dot(rank(x) * x, np.ones(3)), np.array([3.0, 1.0, 2.0]))
    np.testing.assert_array_equal(g[0], [2.0, 0.0, 1.0])


def test_check_grads_catches_a_wrong_rule():
    @yota.primitive
    def cube(x):
        return x ** 3

    cube.defgrad(lambda dy, y, x: 3 * x * x)  # forgets dy: right only under an upstream of 1

    with pytest.raises(GradientMismatch, match="argument 0"):
        check_grads(lambda x: _dot(cube(x), np.array([2.0, -1.0])), np.array([1.0, 2.0]))


def test_tape_is_plain_readable_data(total):
    with tracing() as tape:
        x = tape.input(np.ones(3))
        y = np.sin(x) * 2.0
    tape.outputs = [y]
    text = repr(tape)
    assert "inputs: %0: float64[3]" in text
    assert "%1 = sin(%0)" in text and "%2 = multiply(%1, 2.0)" in text
    assert "outputs: %2" in text
    assert [op.prim.name for op in tape.ops] == ["sin", "multiply"]
    assert isinstance(tape, Tape) and len(tape) == 2


def test_conversions_to_python_values_are_recorded_as_guards():
    with tracing() as tape:
        x = tape.input(np.array([1.0, -2.0]))
        flag = bool(x[0] > 0)
        as_float = float(yota.stop_gradient(x[1]))   # float(x[1]) would drop its gradient
    assert flag is True and as_float == -2.0
    assert [(g.kind, g.value) for g in tape.guards] == [("bool", True), ("float", -2.0)]


def test_gradient_result_repr_is_readable(rng, total):
    m = Dense(rng.normal(size=(3, 4)), rng.normal(size=3))
    _, g = yota.grad(lambda m, x, k: total(m.W) * x, m, 2.0, 3)
    text = repr(g)
    assert "('W',)" in text and "[1] " in text and "None (not differentiated)" in text


def test_argnums_selects_arguments(rng, total):
    x, y = rng.normal(size=3), rng.normal(size=3)
    _, g = yota.grad(lambda x, y: total(x * y), x, y, argnums=1)
    assert g[0] is None
    np.testing.assert_allclose(g[1], x)


def test_keyword_arguments_are_passed_through_as_constants(total):
    _, g = yota.grad(lambda x, scale=1.0: total(x * scale), np.ones(2), scale=4.0)
    np.testing.assert_array_equal(g[0], [4.0, 4.0])


def test_dynamic_keyword_is_accepted(total):
    for dynamic in (True, False):
        value, g = yota.grad(lambda x: total(x * x), np.array([3.0]), dynamic=dynamic)
        assert value == 9.0 and g[0].tolist() == [6.0]
