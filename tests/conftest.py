import numpy as np
import pytest

import yota


@yota.primitive
def total(y):
    """Sum of all elements; a test-local primitive so core tests need no pack."""
    return np.asarray(y).sum()


total.defgrad(lambda dy, s, y: np.broadcast_to(dy, np.shape(y)))


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(name="total")
def total_fixture():
    return total
