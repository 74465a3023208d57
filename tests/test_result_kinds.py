"""The kind of every result (type, dtype, shape) follows the argument's kind, never the mode.

An array for an array (a 0-d array for a 0-d array), a NumPy scalar of its type for a NumPy
scalar, a Python float for a Python float; in attrs fields and list entries alike, for every
transform (issue 13, item 6).
"""
import attrs
import numpy as np
import pytest

import yota

KINDS = {
    "float": lambda: 0.3,
    "float64": lambda: np.float64(0.3),
    "float32": lambda: np.float32(0.3),
    "0d64": lambda: np.array(0.3),
    "0d32": lambda: np.array(0.3, np.float32),
    "1d64": lambda: np.array([0.3, -0.2]),
    "1d32": lambda: np.array([0.3, -0.2], np.float32),
}


def kind(v):
    return type(v), getattr(v, "dtype", None), np.shape(v)


def expected_kind(x):
    """The rule: what a gradient w.r.t. ``x`` is."""
    if type(x) is float:
        return float, None, ()
    return type(x), np.result_type(x), np.shape(x)


def f(x, w):                   # x broadcasts against w: its gradient is a reduction
    return np.sum(np.sin(x) * w)


def both(run):
    """``run(dynamic)`` in both modes (static twice: the trace, then a replay)."""
    yota.clear_cache()
    static = run(False)
    replay = run(False)
    return static, replay, run(True)


def assert_same_kinds(results):
    static, replay, dynamic = results
    flat = [_leaves(r) for r in results]
    assert [kind(v) for v in flat[0]] == [kind(v) for v in flat[2]], (static, dynamic)
    assert [kind(v) for v in flat[1]] == [kind(v) for v in flat[2]], (replay, dynamic)
    for a, b in zip(flat[0], flat[2]):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def _leaves(r):
    if isinstance(r, (tuple, list, yota.GradientResult)):
        return [leaf for e in r for leaf in _leaves(e)]
    if isinstance(r, dict):
        return [leaf for k in sorted(r, key=repr) for leaf in _leaves(r[k])]
    if r is None:
        return []
    return [r]


@pytest.mark.parametrize("name", KINDS)
def test_grad_of_each_argument_kind(name):
    x = KINDS[name]()
    w = np.array([1.0, 2.0, 3.0]).reshape((3,) + (1,) * np.ndim(x))
    results = both(lambda dynamic: yota.grad(f, x, w, argnums=0, dynamic=dynamic))
    assert_same_kinds(results)
    for value, g in results:
        assert kind(g[0]) == expected_kind(x)


@pytest.mark.parametrize("name", KINDS)
def test_transforms_hand_over_the_same_kinds_in_both_modes(name):
    x = KINDS[name]()

    def g(x):
        return np.sum(np.sin(x) * np.cos(x) * np.array([1.0, 2.0]).reshape((2,) + (1,) * np.ndim(x)))

    def with_aux(x):
        return g(x), (x * 2, [np.exp(x)], {"x": x})

    runs = [
        lambda d: yota.value_and_grad(g, dynamic=d)(x),
        lambda d: yota.gradient(g, dynamic=d)(x),
        lambda d: yota.value_and_grad(with_aux, has_aux=True, dynamic=d)(x),
        lambda d: yota.jacobian(np.sin, dynamic=d)(x),
        lambda d: yota.jacobian(lambda x: np.stack([x, x * 2]), dynamic=d)(x),
        lambda d: yota.hessian(g, dynamic=d)(x),
    ]
    for run in runs:
        assert_same_kinds(both(run))
    _, grads = yota.value_and_grad(g)(x)
    assert kind(grads) == expected_kind(x)
    assert kind(yota.hvp(g, x, np.ones_like(x))) == expected_kind(x)
    out, vjp_fn = yota.vjp(np.sin, x)
    assert kind(vjp_fn(np.ones_like(out))[0]) == expected_kind(x)


@attrs.define
class Model:
    a: object
    b: object
    c: object
    d: object
    e: object
    f: object


def test_attrs_fields_and_list_entries_of_every_kind():
    values = [make() for make in KINDS.values()]
    model = Model(*values[:6])
    entries = list(values)

    def loss(m, items):
        total = 0.0
        for v in [m.a, m.b, m.c, m.d, m.e, m.f] + list(items):
            total = total + np.sum(np.sin(v) * np.array([1.0, 2.0]).reshape(
                (2,) + (1,) * np.ndim(v)))
        return total

    results = both(lambda dynamic: yota.grad(loss, model, entries, dynamic=dynamic))
    assert_same_kinds(results)
    _, g = results[0]
    for field, v in zip("abcdef", values):
        assert kind(g[0][(field,)]) == expected_kind(v), field
    for i, v in enumerate(values):
        assert kind(g[1][(i,)]) == expected_kind(v), i


def test_the_issues_example():
    for dynamic in (False, False, True):
        _, g = yota.grad(lambda b, w: np.sum(w * b), np.array(0.3), np.ones(3),
                         dynamic=dynamic)
        assert type(g[0]) is np.ndarray and g[0].shape == () and g[0] == 3.0
