"""Arrays behind attributes (issue 13, item 2): ``cfg.scale``, ``self.W``, ``module.W`` are read
at call time in static mode, like globals and closure cells: rebinding them or writing into them
after the first call changes the result, as in dynamic mode."""
import dataclasses
import dis
import types

import numpy as np
import pytest

import yota
from yota.compile import key as key_mod
from yota.compile.cache import CACHE
from yota.compile.key import signature

X = np.array([0.5, -1.0, 2.0])


class Config:
    """A plain object (not attrs): keyed by identity, its attributes were frozen before."""

    def __init__(self, scale):
        self.scale = scale


CFG = Config(np.array([1.0, 2.0, 3.0]))
WEIGHTS = types.ModuleType("weights")   # a real module object, as `import weights` gives
WEIGHTS.W = np.array([1.0, 1.0, 1.0])


def global_object_loss(x):
    return np.sum(np.sin(x) * CFG.scale)


def module_loss(x):
    return np.sum(x ** 2 * WEIGHTS.W)


def _both(f, *args):
    """Static and dynamic gradients of f, checked equal; returns the static one."""
    _, g = yota.grad(f, *args)
    _, gd = yota.grad(f, *args, dynamic=True)
    np.testing.assert_allclose(g[0], gd[0], rtol=1e-12)
    return g[0]


@pytest.fixture(autouse=True)
def _fresh():
    yota.clear_cache()
    old_scale, old_w = CFG.scale, WEIGHTS.W
    yield
    CFG.scale, WEIGHTS.W = old_scale, old_w
    yota.clear_cache()


def test_a_global_objects_array_rebound_or_written_is_read_at_call_time():
    np.testing.assert_allclose(_both(global_object_loss, X), np.cos(X) * [1, 2, 3])
    CFG.scale = np.array([-1.0, 0.5, 4.0])                  # rebinding
    np.testing.assert_allclose(_both(global_object_loss, X), np.cos(X) * [-1, 0.5, 4])
    CFG.scale[:] = [7.0, 8.0, 9.0]                          # writing in place
    np.testing.assert_allclose(_both(global_object_loss, X), np.cos(X) * [7, 8, 9])
    assert CACHE.misses == 1                                # one trace: same shapes
    CFG.scale = np.array([1.0, 2.0])                        # a new shape: a new signature
    with pytest.raises(ValueError):
        yota.grad(global_object_loss, X)


def test_a_modules_array_rebound_or_written_is_read_at_call_time():
    np.testing.assert_allclose(_both(module_loss, X), 2 * X)
    WEIGHTS.W = np.array([3.0, 0.0, -1.0])
    np.testing.assert_allclose(_both(module_loss, X), 2 * X * [3, 0, -1])
    WEIGHTS.W *= 2
    np.testing.assert_allclose(_both(module_loss, X), 2 * X * [6, 0, -2])
    assert CACHE.misses == 1


class Model:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def loss(self, x):
        return np.sum(np.tanh(x @ self.W + self.b))


def test_self_W_in_a_bound_method_of_a_plain_class():
    rng = np.random.default_rng(0)
    model = Model(rng.standard_normal((3, 2)), np.zeros(2))

    def expected(x):
        return (1 - np.tanh(x @ model.W + model.b) ** 2) @ model.W.T

    np.testing.assert_allclose(_both(model.loss, X), expected(X))
    model.W = rng.standard_normal((3, 2))                   # an optimizer step rebinds
    np.testing.assert_allclose(_both(model.loss, X), expected(X))
    model.b += 0.5                                          # or writes in place
    np.testing.assert_allclose(_both(model.loss, X), expected(X))
    other = Model(rng.standard_normal((3, 2)), np.ones(2))  # another instance: same program
    np.testing.assert_allclose(_both(other.loss, X),
                               (1 - np.tanh(X @ other.W + 1) ** 2) @ other.W.T)
    assert CACHE.misses == 2   # key by identity of self (unchanged), one trace per instance
    assert isinstance(model.W, np.ndarray)   # tracing never touched the caller's object


def test_closure_objects_nested_chains_and_frozen_or_slotted_objects():
    @dataclasses.dataclass(frozen=True, eq=False)
    class Frozen:
        scale: np.ndarray

    class Slotted:
        __slots__ = ("inner",)

    holder = Slotted()
    holder.inner = Config(np.array([1.0, 2.0, 3.0]))
    frozen = Frozen(np.array([2.0, 2.0, 2.0]))

    def loss(x):
        return np.sum(x * holder.inner.scale * frozen.scale)

    np.testing.assert_allclose(_both(loss, X), [2.0, 4.0, 6.0])
    holder.inner.scale = np.array([0.0, 1.0, 0.0])
    object.__setattr__(frozen, "scale", np.array([5.0, 5.0, 5.0]))
    np.testing.assert_allclose(_both(loss, X), [0.0, 5.0, 0.0])
    holder.inner = Config(np.array([1.0, 1.0, 1.0]))
    np.testing.assert_allclose(_both(loss, X), [5.0, 5.0, 5.0])
    assert CACHE.misses == 1


def test_python_numbers_behind_attributes_are_keyed_by_value():
    cfg = Config(2.0)

    def loss(x):
        return np.sum(x * cfg.scale)

    np.testing.assert_allclose(_both(loss, X), [2.0] * 3)
    cfg.scale = 3.0
    np.testing.assert_allclose(_both(loss, X), [3.0] * 3)


def test_properties_and_methods_are_code_not_walked():
    class WithProperty:
        def __init__(self):
            self._w = np.array([1.0, 2.0, 3.0])
            self.calls = 0

        @property
        def w(self):
            self.calls += 0   # reading it must not run it at key time
            return self._w

    obj = WithProperty()
    reads = []
    type(obj).w = property(lambda self: reads.append(1) or self._w)

    def loss(x):
        return np.sum(x * obj.w)

    np.testing.assert_allclose(_both(loss, X), [1.0, 2.0, 3.0])
    n = len(reads)
    signature(loss, (X,), {}, None)
    assert len(reads) == n   # the key ran no property


def test_a_function_that_sets_an_attribute_it_reads_runs_in_dynamic_mode():
    state = Config(np.array([1.0, 1.0, 1.0]))

    def loss(x):
        state.scale = state.scale * 2   # a side effect a compiled program would not repeat
        return np.sum(x * state.scale)

    for expected in (2.0, 4.0, 8.0):
        _, g = yota.grad(loss, X)
        np.testing.assert_allclose(g[0], [expected] * 3)
    np.testing.assert_allclose(state.scale, [8.0] * 3)


def test_the_key_reads_the_code_once_and_stays_small(monkeypatch):
    model = Model(np.ones((3, 2)), np.zeros(2))
    yota.grad(model.loss, X)
    yota.grad(global_object_loss, X)
    key1, inputs = signature(model.loss, (X,), {}, None)
    calls = []
    monkeypatch.setattr(dis, "get_instructions", lambda *a, **k: calls.append(a) or iter(()))
    for _ in range(100):
        key2, _ = signature(model.loss, (X,), {}, None)
        signature(global_object_loss, (X,), {}, None)
    assert not calls                 # chains are found once per code object, then cached
    assert key2 == key1
    assert [v is w for v, w in zip(inputs, (model.W, model.b, X))]
    assert len(inputs) == 3 and len(key1) < 40   # W, b and x: nothing else is walked
    chains = key_mod.attribute_chains(Model.loss.__code__)
    assert set(chains) <= {("self", "self", ("W",)), ("self", "self", ("b",)),
                           ("global", "np", ("sum",)), ("global", "np", ("tanh",))}
    assert ("self", "self", ("W",)) in chains and ("self", "self", ("b",)) in chains
    assert ("global", "WEIGHTS", ("W",)) in key_mod.attribute_chains(module_loss.__code__)
