import numpy as np
import pytest

import yota
from yota.packs import host as plugins


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


@pytest.fixture
def fresh_plugins(monkeypatch):
    """Reload plugins for one test, and restore the normal set afterwards."""
    monkeypatch.setattr(plugins, "_explicit", [])
    yield plugins
    monkeypatch.undo()
    plugins.reload()
