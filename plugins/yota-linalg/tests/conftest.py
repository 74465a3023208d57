"""Shared helpers: a weighted-sum loss that needs no reductions pack, and well-conditioned draws."""
import numpy as np
import pytest

from yota.testing import check_grads



def weighted_sum(y, w):
    """sum(y * w) as a dot product of the flattened arrays (matmul is checked on its own)."""
    return np.reshape(y, (-1,)) @ np.reshape(w, (-1,))


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def check(rng):
    """check(f, *args): finite-difference check of sum(f(*args) * w) for a random w, which makes
    the upstream gradient of f non-trivial. Returns f's plain value."""
    def run(f, *args, **kwargs):
        out = f(*args)
        w = rng.normal(size=np.shape(out))

        def loss(*xs):
            return weighted_sum(f(*xs), w)

        loss.__name__ = getattr(f, "__name__", "f")
        check_grads(loss, *args, **kwargs)
        return out

    return run


@pytest.fixture
def draw(rng):
    """draw(shape, dtype): normal entries."""
    return lambda shape, dtype=np.float64: rng.normal(size=shape).astype(dtype)


@pytest.fixture
def spd(rng):
    """spd(shape, dtype): symmetric positive definite matrices B B^T + n I (stacks allowed)."""
    def make(shape, dtype=np.float64):
        b = rng.normal(size=shape)
        return (b @ np.swapaxes(b, -1, -2) + shape[-1] * np.eye(shape[-1])).astype(dtype)

    return make


@pytest.fixture
def well_conditioned(rng):
    """Nonsymmetric matrices close to n I: far from singular."""
    def make(shape, dtype=np.float64):
        return (rng.normal(size=shape) + 2 * shape[-1] ** 0.5 * np.eye(shape[-1])).astype(dtype)

    return make
