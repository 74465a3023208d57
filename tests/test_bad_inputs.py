"""The bad-input matrix: every way a call can be wrong, in static and dynamic mode.

Each case asserts the error type and what its message tells the user, that nothing the caller
passed in was modified, and that the next call works (no half-built tape or cache entry, no
tracing state left behind). Values that are fine but unusual (empty arrays, 0-d arrays, NaN and
inf, mixed containers) are checked to go through with the documented results.
"""
from __future__ import annotations

import copy
import dataclasses
import math

import attrs
import numpy as np
import pytest

import yota
from yota.compile import CACHE, static
from yota.compile.key import signature
from yota.errors import (ConcretizationError, InputError, NotScalarError, RuleError,
                         YotaError)
from yota.kernel.tape import current_depth

MODES = ("static", "dynamic")


@pytest.fixture(params=MODES)
def mode(request):
    yota.clear_cache()
    yield request.param
    yota.clear_cache()


def grad(f, *args, mode, **kwargs):
    return yota.grad(f, *args, dynamic=mode == "dynamic", **kwargs)


def same(a, b):
    """Deep equality of arguments: arrays by dtype, shape and bits (NaN included)."""
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
                and a.tobytes() == b.tobytes())
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if attrs.has(type(a)) or hasattr(a, "__dict__"):     # objects: field by field
        return type(a) is type(b) and same(_fields(a), _fields(b))
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b


def _fields(obj):
    return attrs.asdict(obj, recurse=False) if attrs.has(type(obj)) else vars(obj)


def assert_refused(exc_type, match, f, *args, mode, **kwargs):
    """``grad(f, *args)`` raises ``exc_type`` matching ``match``, leaves the arguments as they
    were and leaves yota ready for the next call."""
    before = copy.deepcopy(args)
    with pytest.raises(exc_type, match=match) as info:
        grad(f, *args, mode=mode, **kwargs)
    for a, b in zip(args, before):
        assert same(a, b), "an argument was modified"
    assert_clean()
    return info.value


def assert_clean():
    assert current_depth() == 0, "a tape is still marked as tracing"
    assert not static._key_locks, "a compile lock was left behind"
    value, g = yota.grad(lambda x: np.sum(x * x), np.array([1.0, 2.0]))
    assert value == 5.0 and g[0].tolist() == [2.0, 4.0]


# --- the loss ------------------------------------------------------------------------------------
@pytest.mark.parametrize("f, match", [
    (lambda x: x * 2.0, r"must return a scalar float.*array of shape \(3,\).*np\.sum"),
    (lambda x: x[:2] * 2.0, r"array of shape \(2,\)"),   # (1,) and (1, 1) are accepted
    (lambda x: np.reshape(x, (1, 3)), r"array of shape \(1, 3\)"),
    (lambda x: 3, r"returned an int"),
    (lambda x: np.int64(3), r"returned an int"),
    (lambda x: np.array(3), r"returned an int"),
    (lambda x: np.sum(x > 0), r"returned an int"),
    (lambda x: True, r"returned a bool"),
    (lambda x: x[0] > 0, r"returned a bool"),
    (lambda x: "loss", r"returned a str"),
    (lambda x: None, r"returned a NoneType"),
    (lambda x: [np.sum(x)], r"returned a list"),
    (lambda x: (np.sum(x), 1.0), r"returned a tuple"),
    (lambda x: np.sum(x) * 1j, r"returned a complex.*np\.real"),
    (lambda x: 1j, r"returned a complex"),
], ids=["array", "two-elements", "1x3", "int", "np.int64", "0-d int", "count", "bool",
        "tracked bool", "str", "None", "list", "tuple", "tracked complex", "complex"])
def test_a_loss_that_is_not_one_real_float_is_refused(f, match, mode):
    assert_refused(NotScalarError, match, f, np.array([1.0, -2.0, 3.0]), mode=mode)


def test_float16_and_float32_losses_are_floats(mode):
    for dtype in (np.float16, np.float32):
        x = np.array([1.0, 2.0], dtype=dtype)
        value, g = grad(lambda x: np.sum(x * x), x, mode=mode)
        assert value == 5.0 and g[0].dtype == dtype and g[0].tolist() == [2.0, 4.0]


# --- arguments -----------------------------------------------------------------------------------
class Plain:
    def __init__(self):
        self.W = np.ones(3)


@dataclasses.dataclass
class Data:
    W: np.ndarray


@attrs.define
class Labels:
    y: np.ndarray
    name: str


@attrs.define
class Model:
    W: np.ndarray
    b: float
    frozen: np.ndarray   # integers: not differentiated


@pytest.mark.parametrize("arg, match", [
    (np.arange(3), r"argument 0 of .* has dtype int64.*x\.astype\(float\).*argnums"),
    (np.array([True, False]), r"argument 0 of .* has dtype bool"),
    (3, r"argument 0 of .* has dtype int"),
    (None, r"argument 0 of .* is a NoneType.*leave the argument out of argnums"),
    ("text", r"argument 0 of .* is a str"),
    (Plain(), r"argument 0 of .* is a Plain.*attrs class \(@attrs\.define\)"),
], ids=["int array", "bool array", "int", "None", "str", "plain object"])
def test_an_argument_named_in_argnums_must_be_differentiable(arg, match, mode):
    assert_refused(InputError, match, lambda a, x: np.sum(x * x), arg, np.ones(3), mode=mode,
                   argnums=0)


@pytest.mark.parametrize("arg, match", [
    (np.array([1.0, None]), r"an object array as argument 0.*floating-point and complex"),
    ({"w": np.array([1.0, None])}, r"object array as argument 0 at path \('w',\)"),
], ids=["object array", "object array in dict"])
def test_object_arguments_are_refused_with_their_path(arg, match, mode):
    assert_refused(InputError, match, lambda a, x: np.sum(x * x), arg, np.ones(3), mode=mode)


@pytest.mark.filterwarnings("ignore:.*holding float arrays:RuntimeWarning")
def test_arguments_that_carry_no_gradient_are_constants(mode):
    """Integer arrays, None, strings and objects yota does not walk get ``None`` (a plain object
    holding float arrays with one warning: it may be a model yota cannot see into); the function
    still sees them as they are."""
    x = np.array([1.0, 2.0])
    seen = {}

    def f(x, labels, nothing, name, obj, data):
        seen.update(labels=type(labels), name=name, obj=obj)
        return np.sum(x * x) * obj.W[0] + np.sum(labels) * 0.0

    plain = Plain()
    args = (x, np.arange(2), None, "name", plain, Data(np.ones(2)))
    value, g = grad(f, *args, mode=mode)
    assert value == 5.0 and g[0].tolist() == [2.0, 4.0]
    assert list(g)[1:5] == [None] * 4
    assert g[5] == {}   # a dataclass is walked like an attrs instance; W does not reach the loss
    assert seen["obj"] is plain and seen["name"] == "name"


def test_containers_with_mixed_leaves_give_gradients_for_their_float_leaves_only(mode):
    params = {"a": [np.array([1.0, 2.0]), "tag", None, np.arange(3), (np.float32(3.0), 4)],
              "b": 2.0}
    before = copy.deepcopy(params)

    def f(p):
        return np.sum(p["a"][0] ** 2) * p["b"] + p["a"][4][0] * p["a"][4][1]

    value, g = grad(f, params, mode=mode)
    assert value == 5.0 * 2.0 + 12.0
    assert set(g[0]) == {("a", 0), ("a", 4, 0), ("b",)}
    assert g[0][("a", 0)].tolist() == [4.0, 8.0]
    assert g[0][("a", 4, 0)] == 4.0 and type(g[0][("a", 4, 0)]) is np.float32
    assert g[0][("b",)] == 5.0 and type(g[0][("b",)]) is float
    assert same(params, before)


def test_attrs_classes_with_and_without_float_fields(mode):
    labels = Labels(np.arange(3), "digits")
    m = Model(np.ones(3), 0.5, np.arange(3))
    value, g = grad(lambda m, lab: np.sum(m.W * lab.y) + m.b, m, labels, mode=mode)
    assert value == 3.5
    assert set(g[0]) == {("W",), ("b",)} and g[1] == {}
    assert "{} (no field reaches the output)" in repr(g)
    assert m.frozen.tolist() == [0, 1, 2] and labels.name == "digits"


@pytest.mark.parametrize("shape", [(0,), (2, 0), (0, 3)])
def test_empty_arrays_have_empty_gradients(shape, mode):
    x = np.ones(shape, dtype=np.float32)
    value, g = grad(lambda x: np.sum(x * x) + 1.0, x, mode=mode)
    assert value == 1.0
    assert g[0].shape == shape and g[0].dtype == np.float32


def test_zero_dimensional_arrays_and_numpy_scalars_keep_their_kind(mode):
    value, g = grad(lambda a, b, c: a * b * c, np.array(2.0), np.float32(3.0), 4.0, mode=mode)
    assert value == 24.0
    assert type(g[0]) is np.ndarray and g[0].shape == () and g[0] == 12.0
    assert type(g[1]) is np.float32 and g[1] == 8.0
    assert type(g[2]) is float and g[2] == 6.0


def test_nan_and_inf_propagate_without_an_exception(mode):
    x = np.array([np.nan, np.inf, -np.inf, 1.0])
    before = x.copy()
    with np.errstate(all="ignore"):
        value, g = grad(lambda x: np.sum(x * 3.0), x, mode=mode)
        assert np.isnan(value) and g[0].tolist() == [3.0] * 4
        value, g = grad(lambda x: np.sum(x * x), x, mode=mode)
        assert np.isnan(g[0][0]) and g[0][1] == np.inf and g[0][2] == -np.inf and g[0][3] == 2
        # a branch on a NaN: the guard compares NaN with NaN as equal, and replays
        f = lambda x: np.sum(x * 2.0) if np.sum(x) > 0 else np.sum(x)  # noqa: E731
        for y in (x, x * 2, np.ones(4)):
            expected = yota.grad(f, y, dynamic=True)
            got = grad(f, y, mode=mode)
            np.testing.assert_array_equal(got[1][0], expected[1][0])
    assert same(x, before)


# --- Python numbers from tracked values ----------------------------------------------------------
@pytest.mark.parametrize("f, call", [
    (lambda x: float(x[0]) * x[1], r"float\(x\)"),
    (lambda x: x[0].item() * x[1], r"x\.item\(\)"),
    (lambda x: x.item(0) * x[1], r"x\.item\(\)"),
    (lambda x: x.tolist()[0] * x[1], r"x\.tolist\(\)"),
    (lambda x: complex(x[0]).real * x[1], r"complex\(x\)"),
    (lambda x: math.exp(x[0]) * x[1], r"float\(x\)"),
    (lambda x: float("%f" % x[0]) * x[1], r"float\(x\)"),
    (lambda x: float(f"{x[0]:.3f}") * x[1], r'f"\{x:\.3f\}"'),
], ids=["float", "item", "item(i)", "tolist", "complex", "math.exp", "% format", "f-string"])
def test_python_numbers_from_values_with_a_gradient_are_refused(f, call, mode):
    err = assert_refused(ConcretizationError, call + r".*silently drop.*math\.\* functions.*"
                         r"if x\[0\] > 0: works.*yota\.stop_gradient", f, np.array([1.5, 2.0]),
                         mode=mode)
    assert isinstance(err, TypeError)


def test_conversions_that_drop_no_gradient_are_allowed(mode):
    x = np.array([1.5, 2.0, -1.0])
    cases = [
        (lambda x: float(yota.stop_gradient(x[0])) * x[1], [0.0, 1.5, 0.0]),
        (lambda x: yota.stop_gradient(x).item(0) * x[1], [0.0, 1.5, 0.0]),
        (lambda x: np.sum(x[: int(np.sum(x > 0))]), [1.0, 1.0, 0.0]),        # int of a count
        (lambda x: x[1] * float(np.sum(x > 0)), [0.0, 2.0, 0.0]),           # float of ints
        (lambda x: x[1] * int(x[0]), [0.0, 1.0, 0.0]),                      # int: steps
        (lambda x: x[1] if x[0] > 0 else x[2], [0.0, 1.0, 0.0]),            # bool
        (lambda x: np.sum(x[range(int(np.sum(x > 0)))]), [1.0, 1.0, 0.0]),  # index
        (lambda x: x[1] * round(x[0]), [0.0, 2.0, 0.0]),                    # round: an int
        (lambda x: x[1] * round(x[0], 1), [0.0, 1.5, 0.0]),                 # steps, no slope
    ]
    for f, expected in cases:
        _, g = grad(f, x, mode=mode)
        assert g[0].tolist() == expected


def test_formatting_a_value_without_a_gradient_works(mode, capsys):
    def f(x):
        print(f"{np.sum(x > 0):d} {yota.stop_gradient(np.sum(x)):.2f} {x!s:.0}|")
        return np.sum(x)

    grad(f, np.ones(2), mode=mode)
    assert capsys.readouterr().out == "2 2.00 |\n"
    with pytest.raises(TypeError, match=r"unsupported format string '\.2f' for a tracked array"):
        grad(lambda x: float(f"{x:.2f}"), np.ones(2), mode=mode)


def test_float_of_a_non_differentiated_argument_is_allowed(mode):
    # static mode lifts the data argument as an input read at call time; float() of it drops
    # nothing and is guarded
    for scale in (2.0, 3.0):
        _, g = grad(lambda x, s: x[0] * float(s[0]), np.array([1.0]), np.array([scale]),
                    mode=mode, argnums=0)
        assert g[0].tolist() == [scale]


# --- gradient rules that return the wrong thing --------------------------------------------------
def _primitive_with_rule(rule, argnum=0):
    @yota.primitive
    def twice(x, y):
        return 2 * x * y

    twice.defgrads(lambda dy, out, x, y: dy * 2 * y, lambda dy, out, x, y: dy * 2 * x)
    twice.defgrad(rule, argnum=argnum)
    return twice


@pytest.mark.parametrize("rule, argnum, match", [
    (lambda dy, out, x, y: np.ones(7), 0,
     r"rule of twice for argument 0 returned shape \(7,\).*argument's shape \(3,\)"),
    (lambda dy, out, x, y: np.ones((3, 2)), 1,
     r"rule of twice for argument 1 returned shape \(3, 2\).*argument's shape \(3,\)"),
    (lambda dy, out, x, y: np.ones(3, dtype=object), 0,
     r"rule of twice for argument 0 returned dtype object for a float64 argument"),
    (lambda dy, out, x, y: np.array(["a", "b", "c"]), 0,
     r"rule of twice for argument 0 returned dtype <U1"),
    (lambda dy, out, x, y: "oops", 0, r"rule of twice for argument 0 returned str"),
    (lambda dy, out, x, y: None, 1, r"rule of twice for argument 1 returned NoneType"),
    (lambda dy, out, x, y: [1.0, 2.0, 3.0], 0, r"rule of twice for argument 0 returned list"),
], ids=["too long", "extra axis", "object dtype", "string dtype", "str", "None", "list"])
def test_a_rule_returning_the_wrong_shape_or_dtype_names_primitive_and_argument(
        rule, argnum, match, mode):
    twice = _primitive_with_rule(rule, argnum)
    assert_refused(RuleError, match, lambda x, y: np.sum(twice(x, y)), np.ones(3),
                   np.full(3, 2.0), mode=mode)


def test_a_rule_may_return_a_broadcastable_or_lower_precision_gradient(mode):
    twice = _primitive_with_rule(lambda dy, out, x, y: np.float32(2.0) * dy * y)
    x = np.ones((2, 3))
    _, g = grad(lambda x, y: np.sum(twice(x, y)), x, np.full(3, 2.0), mode=mode)
    assert g[0].dtype == np.float64 and g[0].shape == (2, 3) and np.all(g[0] == 4.0)
    assert g[1].shape == (3,) and np.all(g[1] == 4.0)


# --- the user's own exceptions -------------------------------------------------------------------
class Boom(Exception):
    pass


def test_an_exception_inside_tracing_comes_out_unchanged_and_poisons_nothing(mode):
    raised = Boom("mine", 42)

    def f(x):
        y = np.sin(x) * 2.0
        if np.sum(y) > -100:
            raise raised
        return np.sum(y)

    x = np.ones(3)
    for _ in range(2):                       # the second call raises the same way
        err = assert_refused(Boom, r"^\('mine', 42\)$", f, x, mode=mode)
        assert err is raised and err.args == ("mine", 42)
    key, _ = signature(f, (x,), {}, None)
    assert CACHE.get(key) is None, "a half-built entry is left in the cache"


def test_an_exception_on_a_retrace_keeps_the_compiled_variant(mode):
    def f(x):
        if x[0] > 0:
            return np.sum(x * x)
        raise Boom("negative")

    assert grad(f, np.array([1.0, 2.0]), mode=mode)[1][0].tolist() == [2.0, 4.0]
    assert_refused(Boom, "negative", f, np.array([-1.0, 2.0]), mode=mode)
    assert grad(f, np.array([3.0, 1.0]), mode=mode)[1][0].tolist() == [6.0, 2.0]


def test_an_exception_in_an_inner_gradient_unwinds_both_tapes(mode):
    def inner(x):
        raise Boom("inner")

    def outer(x):
        return np.sum(yota.grad(inner, x * 2.0, dynamic=mode == "dynamic")[1][0])

    assert_refused(Boom, "inner", outer, np.ones(2), mode=mode)


def test_a_yota_error_names_the_traced_function_once(mode):
    def my_loss(x):
        return float(x[0])

    def outer(x):
        return my_loss(x) + np.sum(x)

    err = assert_refused(YotaError, r"\[while tracing test_a_yota_error_names.*outer\]$", outer,
                         np.ones(2), mode=mode)
    assert str(err).count("[while tracing") == 1


def test_writes_inside_f_never_reach_the_callers_arrays(mode):
    x = np.array([1.0, 2.0, 3.0])
    data = {"w": np.array([4.0, 5.0])}

    def f(x, data):
        x[0] = 10.0
        x += 1.0
        w = data["w"]
        w *= 2.0
        return np.sum(x * x) + np.sum(w)

    before = copy.deepcopy((x, data))
    for _ in range(2):
        value, g = grad(f, x, data, mode=mode)
        assert value == 11 ** 2 + 3 ** 2 + 4 ** 2 + 18.0
        assert g[0].tolist() == [0.0, 6.0, 8.0] and g[1][("w",)].tolist() == [2.0, 2.0]
        assert same((x, data), before)
