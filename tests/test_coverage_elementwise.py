"""Elementwise coverage beyond the core tests: sinc, copysign, ldexp, divmod/modf/frexp,
nan_to_num, complex intermediates (real, imag, conj, angle, abs), ufunc.outer, aliases, and the
edge cases: kinks, NaN/inf, integer promotion, float32/float16, 0-d and zero-size arrays."""
import numpy as np
import pytest

import yota
from yota.testing import check_grads

DTYPES = [np.float64, np.float32]
SHAPES = [(), (3,), (2, 3)]

# name -> (function of one array, domain low, domain high)
UNARY = {
    "sinc": (np.sinc, -2.3, 2.3),
    "sinc_near_zero": (lambda x: np.sinc(x * 1e-3), -1, 1),
    "copysign_neg": (lambda x: np.copysign(x, -1.0), 0.2, 2),
    "copysign_tracked_sign": (lambda x: np.copysign(x * 2, x - 1.0), 0.2, 2),
    "ldexp": (lambda x: np.ldexp(x, 3), -2, 2),
    "ldexp_array": (lambda x: np.ldexp(x, np.array([1, -2, 0])[: np.size(x)].reshape(
        np.shape(x)) if np.size(x) == 3 else 2), -2, 2),
    "divmod": (lambda x: np.divmod(x * 3, 0.7)[1] + np.divmod(x * 3, 0.7)[0], 0.05, 0.2),
    "modf": (lambda x: np.modf(x * 3)[0] * 2 + np.modf(x * 3)[1], 0.05, 0.3),
    "frexp": (lambda x: np.frexp(x)[0], 0.55, 0.95),
    "nan_to_num": (lambda x: np.nan_to_num(np.log(x - 1.0)), 1.2, 3),
    "true_divide": (lambda x: np.true_divide(1.0, x), 0.5, 2),
    "mod": (lambda x: np.mod(x * 4, 1.5), 0.05, 0.3),
    "fmod": (lambda x: np.fmod(x * 4, -1.5), 0.05, 0.3),
    "floor_divide_times": (lambda x: np.floor_divide(x * 4, 1.5) * x, 0.05, 0.3),
    "power_tracked_exponent": (lambda x: np.power(2.5, x) + x ** x, 0.5, 2),
    "negative_base_integer_power": (lambda x: (-x) ** 3, 0.5, 2),
    "float_power_tracked": (lambda x: np.float_power(x + 1, x), 0.5, 2),
    "real_of_complex": (lambda x: np.real(x * (1 + 2j) * x), -2, 2),
    "imag_of_complex": (lambda x: np.imag(np.exp(1j * x) * x), -2, 2),
    "imag_method": (lambda x: (np.sin(x) * 1j + x).imag * x, -2, 2),
    "conj": (lambda x: np.real(np.conj(x * (2 - 1j)) * (1 + 1j)), -2, 2),
    "conj_method": (lambda x: (x * 1j + 1).conj().imag, -2, 2),
    "abs_complex": (lambda x: np.abs(x * (3 - 4j) + 1j), -2, 2),
    "angle": (lambda x: np.angle(x + 2j * x * x + 0.5), 0.2, 2),
    "angle_deg": (lambda x: np.angle(np.exp(1j * x) * 2, deg=True), -1, 1),
    "angle_real_input": (lambda x: np.angle(x) + x, 0.2, 2),
    "complex_chain": (lambda x: np.abs(np.sqrt(np.log(x + 1j)) / (x - 2j)) ** 2, 0.5, 2),
    "complex_power": (lambda x: np.real((x + 1j) ** 2.5 + (x + 0.5j) ** x), 0.5, 2),
    "complex_trig": (lambda x: np.imag(np.sin(x * (1 + 1j)) * np.tanh(x + 0.1j)), -1, 1),
    "astype_complex": (lambda x: np.abs(x.astype(np.complex128) * 1j + 1), -2, 2),
    "exp_dtype": (lambda x: np.exp(x, dtype=np.float64), -1, 1),
}

BINARY = {
    "multiply_outer": (np.multiply.outer, -2, 2),
    "add_outer": (np.add.outer, -2, 2),
    "power_outer": (np.power.outer, 0.5, 2),
    "hypot_outer": (np.hypot.outer, 0.5, 2),
    "copysign": (np.copysign, 0.3, 2),
    "power_both": (np.power, 0.5, 2),
    "complex_divide": (lambda a, b: np.abs((a + 1j * b) / (b - 0.5j * a)), 0.5, 2),
}


def _draw(rng, shape, lo, hi, dtype):
    return rng.uniform(lo, hi, size=shape).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradient(name, shape, dtype, rng, total):
    fn, lo, hi = UNARY[name]
    x = _draw(rng, shape, lo, hi, dtype)
    w = rng.normal(size=np.shape(fn(x)))
    check_grads(lambda x: total(fn(x) * w), x, modes=("dynamic",))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gradient(name, dtype, rng, total):
    fn, lo, hi = BINARY[name]
    pairs = [((3,), (2,)), ((2, 1), (3,)), ((), (2,))] if name.endswith("outer") else [
        ((3,), (3,)), ((2, 1), (3,)), ((), (2,))]
    for sa, sb in pairs:
        a, b = _draw(rng, sa, lo, hi, dtype), _draw(rng, sb, lo, hi, dtype)
        w = rng.normal(size=np.shape(fn(a, b)))
        check_grads(lambda a, b: total(fn(a, b) * w), a, b, modes=("dynamic",))


@pytest.mark.parametrize("name", ["sinc", "angle", "complex_chain", "complex_trig", "abs_complex",
                                  "imag_of_complex"])
def test_static_mode_and_second_order(name, rng, total):
    fn, lo, hi = UNARY[name]
    x = _draw(rng, (3,), lo, hi, np.float64)
    check_grads(lambda x: total(fn(x) * fn(x)), x, order=2)


def test_sinc_at_zero_has_zero_gradient(total):
    _, g = yota.grad(lambda x: total(np.sinc(x)), np.array([0.0, 1.0]), dynamic=True)
    assert g[0][0] == 0.0 and g[0][1] == pytest.approx(-1.0)


def test_aliases_are_the_same_functions(total):
    assert np.true_divide is np.divide and np.mod is np.remainder and np.conj is np.conjugate
    x = np.array([0.5, 2.0])
    _, g = yota.grad(lambda x: total(np.true_divide(x, 2.0) + np.mod(x, 1.5)), x, dynamic=True)
    np.testing.assert_allclose(g[0], [1.5, 1.5])


@pytest.mark.parametrize("fn", [np.sign, np.floor, np.ceil, np.round, np.rint, np.trunc, np.fix,
                                lambda x: np.round(x, 1), lambda x: np.floor_divide(x, 0.3),
                                lambda x: np.heaviside(x, 0.5), lambda x: np.nextafter(x, 10)])
def test_piecewise_constant_functions_have_zero_gradient(fn, total):
    x = np.array([-1.26, 0.37, 2.71])
    value, g = yota.grad(lambda x: total(fn(x)), x, dynamic=True)
    np.testing.assert_array_equal(g[0], [0.0, 0.0, 0.0])
    assert value == pytest.approx(np.sum(fn(x)))


# --- kinks: the documented conventions (yota/core_pack/elementwise.py) -------------------------
def test_kink_conventions(total):
    x = np.array([0.0, 2.0, -2.0])
    grad = lambda f, *a: yota.grad(f, *a, dynamic=True)[1]  # noqa: E731
    np.testing.assert_array_equal(grad(lambda x: total(np.maximum(x, 0.0)), x)[0],
                                  [0.5, 1.0, 0.0])            # relu at 0: shared tie
    np.testing.assert_array_equal(grad(lambda x: total(np.abs(x)), x)[0], [0.0, 1.0, -1.0])
    np.testing.assert_array_equal(grad(lambda x: total(np.fabs(x)), x)[0], [0.0, 1.0, -1.0])
    np.testing.assert_allclose(grad(lambda x: total(np.abs(x * (1 + 1j))), x)[0],
                               [0.0, np.sqrt(2), -np.sqrt(2)])
    np.testing.assert_array_equal(grad(lambda x: total(np.clip(x, 0.0, 2.0)), x)[0],
                                  [1.0, 1.0, 0.0])             # clip at a bound: to x
    np.testing.assert_array_equal(grad(lambda x: total(np.fmin(x, 2.0)), x)[0], [1.0, 0.5, 1.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        g = grad(lambda x: total(np.sqrt(x)), np.array([0.0, 4.0]))[0]
        assert np.isposinf(g[0]) and g[1] == 0.25
        g = grad(lambda x: total(np.log(x)), np.array([0.0]))[0]
        assert np.isposinf(g[0])
        g = grad(lambda x: total(x ** 0.5), np.array([0.0]))[0]
        assert np.isposinf(g[0])


def test_nan_and_inf_propagate_without_yota_raising(total):
    x = np.array([np.nan, np.inf, -np.inf, 1.0])
    with np.errstate(all="ignore"):
        for f in (np.sin, np.exp, np.tanh, np.abs, np.sqrt, lambda x: x ** 2, np.log1p,
                  lambda x: np.maximum(x, 0.0), lambda x: np.where(x > 0, x, 0.0),
                  lambda x: np.clip(x, -1.0, 1.0), lambda x: np.real(np.exp(1j * x))):
            value, g = yota.grad(lambda x: total(f(x) * np.array([0.0, 0.0, 0.0, 1.0])), x,
                                 dynamic=True)
            assert g[0].shape == (4,)
        value, g = yota.grad(lambda x: total(x * 3.0), x, dynamic=True)
        assert np.isnan(value)
        np.testing.assert_array_equal(g[0], [3.0, 3.0, 3.0, 3.0])
        np.testing.assert_array_equal(
            yota.grad(lambda x: total(np.nan_to_num(x)), x, dynamic=True)[1][0],
            [0.0, 0.0, 0.0, 1.0])


# --- dtypes ------------------------------------------------------------------------------------
def test_integer_operands_are_promoted_like_numpy(total):
    ints = np.array([1, 2, 3])

    def f(x):
        a = np.sqrt(ints) * x              # int -> float64, like NumPy
        b = x / ints + ints ** 2 * x       # int constant operands
        c = np.sin(np.argmax(x) + ints)    # an int tracked value through a float function
        assert a.dtype == np.float64 and c.dtype == np.float64
        return total(a + b + c)

    check_grads(f, np.array([0.5, 1.5, 0.2]))


def test_int_and_bool_arguments_are_constants_unless_asked_for(total):
    value, g = yota.grad(lambda x, n: total(x * n), np.ones(3), np.arange(3))
    assert g[1] is None
    np.testing.assert_array_equal(g[0], [0.0, 1.0, 2.0])
    with pytest.raises(yota.InputError, match="int64.*pass a float array"):
        yota.grad(lambda x, n: total(x * n), np.ones(3), np.arange(3), argnums=1)


@pytest.mark.parametrize("f", [
    lambda x: np.tanh(x) * 2.5 + x ** 2 / 3.0, lambda x: np.exp2(x) + np.log2(x + 3),
    lambda x: np.log10(x + 3) + np.deg2rad(x), lambda x: np.sinc(x),
    lambda x: np.abs(x * (1 + 2j)), lambda x: np.hypot(x, 2.0) + np.arctan2(x, 3.0),
    lambda x: np.where(x > 0, x, 0.1 * x) ** 3, lambda x: np.maximum(x, 0.0) + np.sqrt(x * x + 1),
])
def test_float32_stays_float32_through_the_backward_pass(f, total):
    x = np.array([0.5, -1.25, 2.0], dtype=np.float32)
    tape_dtypes = set()

    def loss(x):
        out = total(f(x))
        return out

    from yota.tracing import trace
    from yota.kernel.backward import backward

    tr, tape = trace(loss, (x,), {})
    backward(tape, tr.output, np.ones((), np.float32))
    for op in tape.ops[tape.forward_ops:]:
        tape_dtypes.add(op.out.dtype)
    assert not tape_dtypes & {np.dtype(np.float64), np.dtype(np.complex128)}, tape_dtypes
    _, g = yota.grad(loss, x, dynamic=True)
    assert g[0].dtype == np.float32


def test_float16_works(total):
    x = np.array([0.5, -1.0, 2.0], dtype=np.float16)
    value, g = yota.grad(lambda x: total(np.sin(x) * x + x ** 2), x, dynamic=True)
    assert g[0].dtype == np.float16
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(g[0], np.cos(x64) * x64 + np.sin(x64) + 2 * x64, rtol=2e-2)


# --- 0-d and zero-size -------------------------------------------------------------------------
ZERO_SIZE_FNS = [np.sin, np.exp, np.abs, np.sinc, lambda x: x ** 2, lambda x: np.maximum(x, 0.5),
                 lambda x: np.angle(x + 1j), lambda x: np.real(x * 1j + x),
                 lambda x: np.copysign(x, -1.0), lambda x: np.multiply.outer(x, x),
                 lambda x: np.modf(x)[0], lambda x: np.nan_to_num(x),
                 lambda x: np.where(x > 0, x, 0.0), lambda x: np.clip(x, 0.1, 0.9)]


@pytest.mark.parametrize("fn", ZERO_SIZE_FNS)
def test_zero_size_and_zero_d(fn, total):
    _, g = yota.grad(lambda x: total(fn(x)) + 0.0, np.zeros((0, 2)), dynamic=True)
    assert g[0].shape == (0, 2)
    _, g = yota.grad(lambda x: total(fn(x)) * 1.0, np.array(0.3), dynamic=True)
    assert np.shape(g[0]) == ()
    _, g = yota.grad(lambda x: total(fn(x)) * 1.0, 0.3, dynamic=True)
    assert isinstance(g[0], float)
