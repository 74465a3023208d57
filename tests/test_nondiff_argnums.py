"""A gradient reaching a ``nondiff_argnums`` position is an error, never silent zeros (issue 13,
item 3): in both modes, at every order; lifted data and cut values pass."""
import types

import numpy as np
import pytest

import yota
from yota.errors import NoRuleError
from yota.packs import host as plugins


def _scale_primitive():
    @yota.primitive(nondiff_argnums=(1,))
    def scale(x, s):
        return x * s

    scale.defgrad(lambda dy, y, x, s: dy * s)
    return scale


X = np.array([3.0, 2.9])
MESSAGE = (r"primitive scale, argument 1 \(s\) is declared "
           r"non-differentiable \(nondiff_argnums=\(1,\)\).*depends on what is differentiated"
           r".*@scale\.defgrad\(argnum=1\).*yota\.stop_gradient")


@pytest.mark.parametrize("dynamic", [True, False])
def test_a_float_that_depends_on_the_input_at_a_nondiff_position_is_an_error(dynamic):
    scale = _scale_primitive()
    # finite differences of this loss are far from the [sin(sum x)] * 2 that zeros would give
    with pytest.raises(NoRuleError, match=MESSAGE):
        yota.grad(lambda x: np.sum(scale(x, np.sin(np.sum(x)))), X, dynamic=dynamic)


@pytest.mark.parametrize("dynamic", [True, False])
def test_a_differentiated_argument_passed_straight_to_a_nondiff_position_is_an_error(dynamic):
    scale = _scale_primitive()
    with pytest.raises(NoRuleError, match=MESSAGE):
        yota.grad(lambda x, s: np.sum(scale(x, s)), X, 2.0, dynamic=dynamic)


@pytest.mark.parametrize("dynamic", [True, False])
def test_second_order_through_a_nondiff_position_is_an_error(dynamic):
    scale = _scale_primitive()

    def first(x, s):
        return yota.grad(lambda x: np.sum(scale(x, s) ** 2), x, dynamic=dynamic)[1][0]

    # the inner gradient 2 x s^2 depends on s, which only the outer grad differentiates
    with pytest.raises(NoRuleError, match=MESSAGE):
        yota.grad(lambda s: np.sum(first(X, s)), 2.0, dynamic=dynamic)
    with pytest.raises(NoRuleError, match=MESSAGE):
        yota.grad(lambda x: np.sum(first(x, np.sum(x))), X, dynamic=dynamic)


@pytest.mark.parametrize("dynamic", [True, False])
def test_data_and_cut_values_at_a_nondiff_position_pass(dynamic):
    scale = _scale_primitive()
    # not differentiated: static mode lifts it to a tape input, and it must not count
    _, g = yota.grad(lambda x, s: np.sum(scale(x, s)), X, np.array(2.0), argnums=0,
                     dynamic=dynamic)
    np.testing.assert_allclose(g[0], [2.0, 2.0])
    closure = np.array([1.5, 0.5])
    _, g = yota.grad(lambda x: np.sum(scale(x, closure * 2)), X, dynamic=dynamic)
    np.testing.assert_allclose(g[0], [3.0, 1.0])
    _, g = yota.grad(lambda x: np.sum(scale(x, yota.stop_gradient(np.sum(x)))), X,
                     dynamic=dynamic)
    np.testing.assert_allclose(g[0], [np.sum(X)] * 2)
    # second order through the first-order rule only: s is data there
    _, g = yota.grad(lambda x: np.sum(yota.grad(lambda x: np.sum(scale(x, 3.0) ** 2), x,
                                                dynamic=dynamic)[1][0]), X, dynamic=dynamic)
    np.testing.assert_allclose(g[0], [18.0, 18.0])


@pytest.mark.parametrize("dynamic", [True, False])
def test_zero_gradient_declares_a_piecewise_constant_argument(dynamic):
    @yota.primitive(nondiff_argnums=(1,))
    def masked(x, t):
        return x * (t > 0)

    masked.defgrad(lambda dy, y, x, t: dy * (t > 0))
    masked.declare(zero_gradient=(1,))
    _, g = yota.grad(lambda x: np.sum(masked(x, x - 2.95)), X, dynamic=dynamic)
    np.testing.assert_allclose(g[0], [1.0, 0.0])
    with pytest.raises(ValueError, match=r"only positions in nondiff_argnums=\(1,\)"):
        masked.declare(zero_gradient=(0,))


def test_the_message_names_the_pack_that_registers_the_primitive(fresh_plugins):
    scale = _scale_primitive()
    module = types.ModuleType("demo_pack")
    module.yota_register_primitives = yota.hookimpl(lambda registry:
                                                    registry.add_primitive(scale))
    plugins._explicit.append(("yota-demo", module))
    plugins.reload()
    for dynamic in (True, False):
        with pytest.raises(NoRuleError, match=r"primitive scale \(pack yota-demo\), argument 1 "
                                              r"\(s\)"):
            yota.grad(lambda x: np.sum(scale(x, np.sum(x))), X, dynamic=dynamic)


def test_relu_and_copysign_keep_their_second_derivatives():
    # their float nondiff arguments are masks and signs, declared zero_gradient
    x = np.array([0.7, -1.2, 2.0])
    for dynamic in (True, False):
        _, g = yota.grad(lambda x: np.sum(yota.grad(
            lambda x: np.sum(np.copysign(x, x - 1.0) ** 2), x, dynamic=dynamic)[1][0]), x,
            dynamic=dynamic)
        np.testing.assert_allclose(g[0], [2.0, 2.0, 2.0])


def test_a_long_tape_is_walked_once_per_backward_pass():
    scale = _scale_primitive()
    calls = []
    original = yota.Tape.carries_gradient

    def counting(self, var, settled=None):
        calls.append(var)
        before = len(settled) if settled is not None else 0
        result = original(self, var, settled)
        calls.append(len(settled) - before if settled is not None else 0)
        return result

    def f(x, c):
        for _ in range(200):   # data at the nondiff position, each one a step longer
            c = c * 1.0
            x = scale(x, c)
        return np.sum(x)

    yota.Tape.carries_gradient = counting
    try:
        yota.grad(f, X, np.array(1.0), argnums=0)
    finally:
        yota.Tape.carries_gradient = original
    visited = sum(calls[1::2])
    assert len(calls) == 2 * 200 and visited <= 201   # once in all, not 200 * 201 / 2
