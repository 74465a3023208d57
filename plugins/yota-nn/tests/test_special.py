"""The erfc behind the exact gelu, against the standard library's math.erfc."""
from __future__ import annotations

import math

import numpy as np
import pytest

from yota_nn.special import erfc, ndtr


def _reference(x):
    return np.array([math.erfc(float(v)) for v in x])


@pytest.mark.parametrize("dtype,ulps", [(np.float64, 20), (np.float32, 6)])
def test_erfc_accuracy(dtype, ulps):
    x = np.concatenate([np.linspace(-6.0, 27.0, 20001), np.logspace(-10, 1.2, 500),
                        -np.logspace(-10, 0.7, 500), [0.0]]).astype(dtype)
    got = erfc(x)
    assert got.dtype == dtype
    ref = _reference(x)
    normal = ref > np.finfo(dtype).tiny  # subnormal results have few significant bits
    rel = np.abs(got[normal] - ref[normal]) / ref[normal]
    assert rel.max() < ulps * np.finfo(dtype).eps, (rel.max(), x[normal][rel.argmax()])
    # below the normal range the result is tiny or 0, never garbage
    assert np.all(np.abs(got[~normal] - ref[~normal]) <= 2 * np.finfo(dtype).tiny)


def test_special_values():
    x = np.array([np.inf, -np.inf, np.nan, 0.0, 30.0, -30.0, 1e300])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        got = erfc(x)
    np.testing.assert_array_equal(got[[0, 1, 3, 4, 5, 6]], [0.0, 2.0, 1.0, 0.0, 2.0, 0.0])
    assert np.isnan(got[2])


def test_ndtr_keeps_relative_precision_in_the_left_tail():
    for x in (-5.0, -10.0, -20.0, -37.0):
        expected = 0.5 * math.erfc(-x * math.sqrt(0.5))
        assert ndtr(np.array([x]))[0] == pytest.approx(expected, rel=1e-12)
    assert ndtr(np.array([0.0]))[0] == 0.5


def test_integer_input():
    np.testing.assert_allclose(erfc(np.array([0, 1, -1])), [1.0, math.erfc(1), math.erfc(-1)],
                               rtol=1e-14)
