"""Mismatches the correctness tests found in yota-numba, each kept as a small program against
the numpy backend (see tests/test_fuzz.py's regressions for the fuzzer's finds)."""
import numpy as np
import pytest

import yota


def _transposed_sum(x):
    u = x * 0.5
    a = u + u                    # a fresh buffer, dying in the next loop...
    s = a + a.T                  # ...which reads it through a view too
    return np.sum(np.sin(s) * s)


def _flipped_product(x):
    a = np.tanh(x) * 2.0
    s = a * a[::-1] + a
    return np.sum(np.cos(s) * s)


@pytest.mark.parametrize("f", [_transposed_sum, _flipped_product])
def test_a_loop_never_writes_over_an_input_another_input_views(f):
    """The loop computing ``a + a.T`` wrote its output into ``a``'s dying buffer while reading
    ``a.T`` from it: a silently wrong value (8.742 for 8.542) and gradient. Found by the
    per-primitive tables (linalg's eigh, qr and svd cases) and, independently, fixed in main
    from a fuzzer find (y * 2 + y.T): an input's buffer is reused only if no other input of
    the loop shares it."""
    x = np.random.default_rng(0).normal(size=(3, 3))
    for _ in range(2):
        want, got = yota.grad(f, x, backend="numpy"), yota.grad(f, x, backend="numba")
        np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
        np.testing.assert_allclose(got[1][0], want[1][0], rtol=1e-12, atol=1e-12)
        x = x + 0.25
