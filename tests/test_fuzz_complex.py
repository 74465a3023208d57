"""Fuzzing complex programs (issue 14), kept apart from tests/test_fuzz.py: random chains of
complex operations on a complex argument (complex128 or complex64, an array or a scalar), ending
in a real loss that weighs the real part, the imaginary part or the modulus of each step. Each
program is checked by ``yota.testing.check_grads`` (both modes; static mode warmed up on nearby
inputs, then replayed) against finite differences in the real and in the imaginary direction,
combined as dL/dx - i dL/dy; a quarter of them at second order too.

Inputs near a kink or a branch cut (|z| ~ 0 for abs/angle, the negative real axis for sqrt and
log) are discarded, as test_fuzz.py does for its kinks.
"""
import importlib.util
import os
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from yota.testing import check_grads

# the numba backend on a few programs (numba compiles take about a second each), as test_fuzz.py
NUMBA_EXAMPLES = int(os.environ.get("YOTA_FUZZ_NUMBA_EXAMPLES", "12"))
needs_numba = pytest.mark.skipif(importlib.util.find_spec("yota_numba") is None,
                                 reason="yota-numba is not installed: pip install -e "
                                        "plugins/yota-numba")

EXAMPLES = max(20, int(os.environ.get("YOTA_FUZZ_EXAMPLES", "400")) // 8)
MARGIN = 1e-2


def _off_zero(z):
    return np.min(np.abs(z))


def _off_cut(z):   # distance from the negative real axis, where sqrt and log jump
    return np.min(np.where(np.real(z) > 0, np.abs(z), np.abs(np.imag(z))))


# name -> (operation, distance of its input from a kink or cut, or None)
UNARY = {
    "exp": (lambda z: np.exp(z / 2), None),
    "sin": (np.sin, None),
    "cosh": (lambda z: np.cosh(z / 2), None),
    "tanh": (lambda z: np.tanh(z / 2), None),
    "square": (lambda z: z * z, None),
    "cube": (lambda z: z ** 3, None),
    "conj": (np.conj, None),
    "abs": (np.abs, _off_zero),
    "angle": (np.angle, _off_zero),
    "sqrt": (np.sqrt, _off_cut),
    "log": (np.log, lambda z: min(_off_cut(z), _off_zero(z))),
    "power": (lambda z: z ** (0.5 + 0.5j), lambda z: min(_off_cut(z), _off_zero(z))),
    "reciprocal": (lambda z: 1 / (z + 2.5), lambda z: _off_zero(z + 2.5)),
    "times_i": (lambda z: z * (0.5 - 1j), None),
    "real": (np.real, None),
    "imag": (np.imag, None),
    "to_complex": (lambda z: z + 1j * np.real(z), None),
    "fft": (lambda z: np.fft.fft(z) / 2 if np.ndim(z) else z, None),
    "flip_mul": (lambda z: z * z[::-1] if np.ndim(z) else z * 2, None),
    "matmul": (lambda z: np.outer(z, np.conj(z)) @ z / 4 if np.ndim(z) else z, None),
    "einsum": (lambda z: np.einsum("i,i->", z, z) * z / 4 if np.ndim(z) else z, None),
}
READOUT = {"real": np.real, "imag": np.imag, "abs2": lambda v: np.abs(v) ** 2}


def program(steps, readouts, weights):
    def f(z):
        total, v = 0.0, z
        for (name, _), readout, w in zip(steps, readouts, weights):
            v = UNARY[name][0](v)
            total = total + w * np.sum(READOUT[readout](v))
        return total

    return f


def margins_ok(steps, z):
    v = z
    for name, _ in steps:
        op, margin = UNARY[name]
        if margin is not None and margin(v) < MARGIN:
            return False
        v = op(v)
        if not np.all(np.isfinite(v)) or np.max(np.abs(v), initial=0.0) > 1e3:
            return False
    return True


@settings(max_examples=EXAMPLES, deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from(sorted(UNARY)), st.just(None)),
                      min_size=1, max_size=4),
       readouts=st.lists(st.sampled_from(sorted(READOUT)), min_size=4, max_size=4),
       n=st.integers(0, 4), single=st.booleans(), order2=st.integers(0, 3),
       seed=st.integers(0, 2 ** 31))
def test_complex_programs(steps, readouts, n, single, order2, seed):
    rng = np.random.default_rng(seed)
    dtype = np.complex64 if single else np.complex128
    z = (rng.uniform(-1.5, 1.5, n) + 1j * rng.uniform(-1.5, 1.5, n)).astype(dtype)
    arg = z if n else dtype(z.sum() + (0.7 - 0.4j))   # n == 0: a NumPy complex scalar
    assume(margins_ok(steps, np.asarray(arg, np.complex128)))
    weights = rng.uniform(0.5, 1.5, 4)
    f = program(steps, readouts, weights)
    order = 2 if order2 == 0 and not single else 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _, g = check_grads(f, arg, order=order,
                           rtol=5e-2 if single else 1e-4, atol=5e-2 if single else 1e-5)
    assert np.asarray(g[0]).dtype == dtype


@needs_numba
@settings(max_examples=max(3, NUMBA_EXAMPLES // 4), deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from(sorted(UNARY)), st.just(None)),
                      min_size=1, max_size=4),
       readouts=st.lists(st.sampled_from(sorted(READOUT)), min_size=4, max_size=4),
       n=st.integers(1, 4), single=st.booleans(), seed=st.integers(0, 2 ** 31))
def test_complex_programs_through_numba(steps, readouts, n, single, seed):
    """The complex programs with the numba backend (complex steps run as NumPy code between
    its fused float loops), against finite differences as above, first order."""
    rng = np.random.default_rng(seed)
    dtype = np.complex64 if single else np.complex128
    z = (rng.uniform(-1.5, 1.5, n) + 1j * rng.uniform(-1.5, 1.5, n)).astype(dtype)
    assume(margins_ok(steps, np.asarray(z, np.complex128)))
    f = program(steps, readouts, rng.uniform(0.5, 1.5, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _, g = check_grads(f, z, modes="static", backend="numba",
                           rtol=5e-2 if single else 1e-4, atol=5e-2 if single else 1e-5)
    assert np.asarray(g[0]).dtype == dtype


def test_a_real_argument_through_complex_steps_gets_a_real_gradient():
    f = program([("to_complex", None), ("exp", None), ("abs", None)], ["real", "abs2", "real"],
                [1.0, 0.5, 2.0])
    _, g = check_grads(f, np.array([0.3, -0.7]))
    assert g[0].dtype == np.float64
