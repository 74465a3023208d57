"""Every error the core raises on purpose: its type and what its message tells the user."""
import numpy as np
import pytest

import yota
from yota.errors import (InPlaceError, InputError, NoRuleError, NotScalarError, RuleError,
                         YotaError)


def loss_of_array(x):
    return x * 2.0


@pytest.mark.parametrize("f, match", [
    (loss_of_array, r"loss_of_array must return a scalar float.*shape \(3,\).*np\.sum"),
    (lambda x: (x > 0)[0], r"returned a bool"),
    (lambda x: "loss", r"returned a str"),
    (lambda x: None, r"returned a NoneType"),
    (lambda x: 3, r"returned an int"),
    (lambda x: x[0] * 1j, r"returned a complex"),
])
def test_loss_must_be_a_real_scalar_float(f, match):
    with pytest.raises(NotScalarError, match=match):
        yota.grad(f, np.ones(3))


def test_object_inputs_are_refused_with_the_argument_named():
    with pytest.raises(InputError, match=r"object array as argument 0 at path \('w',\)"):
        yota.grad(lambda p: 1.0, {"w": np.array([1.0, None])})


def test_explicitly_differentiating_an_integer_array_says_to_pass_floats():
    with pytest.raises(InputError, match=r"argument 0 of .* int64.*pass a float array"):
        yota.grad(lambda x: x[0] * 1.0, np.arange(3), argnums=0)


def test_argnums_out_of_range():
    with pytest.raises(InputError, match=r"argnums=3 .* out of range.*2 positional"):
        yota.grad(lambda a, b: a, 1.0, 2.0, argnums=3)


def setitem_loss(x):
    z = x * (1 + 1j)
    z.real[0] = 1.0   # a view yota cannot write through to z: refused
    return np.abs(z[1])


@pytest.mark.parametrize("f, match", [
    (setitem_loss, r"x\[\.\.\.\] = value writes into a view .* made by real.*copy the "
                   r"view first.*while tracing setitem_loss"),
    (lambda x: np.exp(x, out=np.empty(3))[0], r"numpy\.exp\(\.\.\., out=\.\.\.\)"),
    (lambda x: np.clip(x, 0, 1, out=x)[0], r"numpy\.clip\(\.\.\., out=\.\.\.\)"),
    (lambda x: np.concatenate([x, x], out=np.empty(6))[0], r"numpy\.concatenate"),
    (lambda x: x.sort(), r"ndarray\.sort\(\) sorts in place.*np\.sort"),
])
def test_in_place_writes_are_refused(f, match):
    with pytest.raises(InPlaceError, match=match):
        yota.grad(f, np.ones(3))


def test_dropping_the_graph_through_asarray_is_refused():
    with pytest.raises(YotaError, match=r"np\.asarray.*silently drop its gradient"):
        yota.grad(lambda x: np.asarray(x)[0], np.ones(3))


def test_function_without_an_implementation_names_it_and_the_pack():
    with pytest.raises(NoRuleError, match=r"numpy\.linalg\.inv .*pip install yota-linalg"):
        from yota.registry import missing_rule_message
        raise NoRuleError(missing_rule_message("numpy.linalg.inv", "inv"))
    with pytest.raises(NoRuleError, match=r"numpy\.ediff1d has no yota implementation.*@yota\.primitive"):
        yota.grad(lambda x: np.ediff1d(x)[0], np.ones(3))


def test_primitive_without_a_rule_names_primitive_and_argument():
    @yota.primitive
    def mystery(x, y):
        return x * y

    mystery.defgrad(lambda dy, out, x, y: dy * y)
    with pytest.raises(NoRuleError, match=r"mystery has no gradient rule for argument 1.*"
                                          r"@mystery\.defgrad\(argnum=1\)"):
        yota.grad(lambda x, y: mystery(x, y)[0], np.ones(2), np.ones(2))
    # A constant second argument needs no rule.
    value, g = yota.grad(lambda x: mystery(x, np.ones(2))[0], np.ones(2))
    assert g[0].tolist() == [1.0, 0.0]


def test_rule_returning_the_wrong_shape_is_caught():
    @yota.primitive
    def double(x):
        return 2 * x

    double.defgrad(lambda dy, y, x: np.ones(7))
    with pytest.raises(RuleError, match=r"rule of double for argument 0 returned shape \(7,\).*"
                                        r"argument's shape \(3,\)"):
        yota.grad(lambda x: double(x)[0], np.ones(3))


def test_rule_returning_a_non_array_is_caught():
    @yota.primitive
    def double(x):
        return 2 * x

    double.defgrad(lambda dy, y, x: "oops")
    with pytest.raises(RuleError, match=r"rule of double for argument 0 returned str"):
        yota.grad(lambda x: double(x)[0], np.ones(3))


def test_primitive_returning_a_tuple_is_refused():
    @yota.primitive
    def pair(x):
        return x, x

    with pytest.raises(YotaError, match=r"primitive pair returned a tuple.*one primitive per"):
        yota.grad(lambda x: pair(x)[0], np.ones(2))


def test_tracked_keyword_argument_is_refused():
    @yota.primitive
    def scale(x, s=1.0):
        return x * s

    with pytest.raises(YotaError, match=r"scale was given a tracked value as a keyword"):
        yota.grad(lambda x: scale(x, s=x)[0], np.ones(2))


def test_defgrad_needs_a_primitive():
    with pytest.raises(TypeError, match=r"'sum' is not a primitive.*@yota\.primitive"):
        yota.defgrad(sum, lambda dy, y, x: dy)


def test_errors_leave_no_state_behind(total):
    from yota.kernel.tape import current_depth

    with pytest.raises(InPlaceError):
        yota.grad(setitem_loss, np.ones(3))
    assert current_depth() == 0
    _, g = yota.grad(lambda x: total(x * 3.0), np.ones(2))
    assert g[0].tolist() == [3.0, 3.0]


def test_user_exceptions_come_out_unchanged():
    class Boom(Exception):
        pass

    def f(x):
        raise Boom("mine")

    with pytest.raises(Boom, match="^mine$"):
        yota.grad(f, np.ones(2))
