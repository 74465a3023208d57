"""Walking and rebuilding arguments: every kind of attrs class comes back whole and untouched."""
import functools

import attrs
import numpy as np
import pytest

from yota import tree


@attrs.define
class Slotted:
    w: np.ndarray
    n: int = 1


@attrs.frozen
class Frozen:
    w: np.ndarray
    inner: Slotted


@attrs.define(slots=False)
class WithDict:
    w: np.ndarray

    @functools.cached_property
    def doubled(self):
        return self.w * 2


@attrs.define
class Private:
    _w: np.ndarray


@pytest.mark.parametrize("obj", [
    Slotted(np.ones(2)),
    Frozen(np.ones(2), Slotted(np.zeros(1), 3)),
    WithDict(np.ones(2)),
    Private(np.ones(2)),
    [Slotted(np.ones(2)), {"k": (np.ones(1), 2.0)}],
])
def test_map_leaves_rebuilds_a_copy_and_leaves_the_original_alone(obj):
    before = list(tree.leaves(obj))
    doubled = tree.map_leaves(
        lambda p, leaf: leaf * 2 if isinstance(leaf, (np.ndarray, float)) else leaf, obj)
    assert type(doubled) is type(obj)
    after = list(tree.leaves(obj))
    assert [p for p, _ in before] == [p for p, _ in after] == [p for p, _ in tree.leaves(doubled)]
    for (_, old), (_, now), (_, new) in zip(before, after, tree.leaves(doubled)):
        assert now is old
        if isinstance(old, np.ndarray):
            np.testing.assert_array_equal(new, old * 2)


def test_clone_keeps_non_field_state_and_computed_cached_properties():
    obj = WithDict(np.ones(2))
    obj.note = "kept"
    _ = obj.doubled
    clone = tree.map_leaves(lambda p, leaf: leaf + 1, obj)
    assert clone.note == "kept"
    np.testing.assert_array_equal(clone.w, [2.0, 2.0])
    assert clone is not obj and obj.w.tolist() == [1.0, 1.0]


def test_paths_name_fields_positions_and_keys():
    obj = {"layers": [Private(np.ones(1)), Frozen(np.ones(1), Slotted(np.ones(1)))]}
    assert [p for p, _ in tree.leaves(obj)] == [
        ("layers", 0, "_w"), ("layers", 1, "w"), ("layers", 1, "inner", "w"),
        ("layers", 1, "inner", "n")]
    assert tree.get_path(obj, ("layers", 1, "inner", "n")) == 1
    new = tree.replace_paths(obj, {("layers", 1, "inner", "n"): 5})
    assert new["layers"][1].inner.n == 5 and obj["layers"][1].inner.n == 1
