"""Guards: the Python values tracing saw, checked again on every replay.

When traced code turns a tracked value into a Python value (``if x > 0``, ``float(x)``,
``int(n)``, ``x.item()``, ``x.tolist()``, an index, ``np.asarray(i)`` or ``plain_table[i]`` of a
value without gradient), the compiled graph is only valid while that
conversion gives the same result. A compiled program recomputes the value and compares; a
mismatch makes the cache re-trace and compile another variant.
"""
from __future__ import annotations

import math
import operator

import numpy as np

# kind -> the conversion tracing applied (a kind may be ("item", args) for x.item(i)).
CONVERT = {
    "bool": bool,
    "int": int,
    "float": float,
    "index": operator.index,
    "complex": complex,
    "item": lambda v: v.item(),
    "tolist": lambda v: v.tolist(),
}


def converter(kind):
    """The function that redoes the conversion named by ``kind``."""
    if isinstance(kind, tuple):  # ("item", args)
        name, args = kind
        if name == "item":
            return lambda v: v.item(*args)
        kind = name
    return CONVERT[kind]


def same(seen, recorded):
    """Does the value seen now match the one tracing recorded? NaN matches NaN; 0.0 and -0.0
    do not match (1 / x, arctan2 and copysign tell them apart)."""
    if seen == recorded:
        return seen != 0 or not isinstance(seen, (float, complex)) or repr(seen) == repr(recorded)
    return _nan_equal(seen, recorded)


def _nan_equal(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return math.isnan(a) and math.isnan(b)
    if isinstance(a, complex) and isinstance(b, complex):
        return _nan_equal(a.real, b.real) and _nan_equal(a.imag, b.imag)
    if isinstance(a, list) and isinstance(b, list):
        try:
            return bool(np.array_equal(np.array(a), np.array(b), equal_nan=True))
        except TypeError:
            return False
    return False


def holds(guard, value):
    """True when ``guard`` (a GuardCheck) still holds for the variable's current ``value``."""
    if guard.kind == "shape":  # an output whose shape depends on values (boolean masks)
        return np.shape(value) == guard.value
    if guard.kind == "equal":  # an array baked into the program as a constant
        return value is not None and bool(
            np.array_equal(value, guard.value, equal_nan=value.dtype.kind in "fc"))
    if guard.kind == "array":  # np.asarray(x): what NumPy computed from it is a constant
        return (value is not None and value.dtype == guard.value.dtype
                and bool(np.array_equal(value, guard.value,
                                        equal_nan=value.dtype.kind in "fc")))
    try:
        seen = converter(guard.kind)(value)
    except (TypeError, ValueError):
        return False
    return same(seen, guard.value)


def describe(guard, value=None):
    """A readable reason for a failed guard, for the re-trace log."""
    if guard.kind == "shape":
        now = f", now {np.shape(value)}" if value is not None else ""
        return f"%{guard.var} had shape {guard.value} when traced{now}"
    if guard.kind == "equal":
        return (f"the values of input %{guard.var}, a non-differentiated array compiled as a "
                "constant, changed")
    if guard.kind == "array":
        return (f"np.asarray(%{guard.var}) (a tracked value made a plain array, e.g. to index "
                "a plain array) changed")
    text = f"{_kind_name(guard.kind)}(%{guard.var}) was {guard.value!r} when traced"
    if value is not None:
        try:
            text += f", now {converter(guard.kind)(value)!r}"
        except Exception:
            pass
    return text


def _kind_name(kind):
    return kind[0] if isinstance(kind, tuple) else kind


def simple_check(guard):
    """Python source ``expr`` such that ``expr`` is True when the guard FAILS, for the common
    bool/int/index guards on values recorded as plain literals; None when a helper is needed."""
    kind, value = guard.kind, guard.value
    if kind == "shape":
        return f"{{v}}.shape != {value!r}"
    if kind == "bool" and type(value) is bool:
        return "not {v}" if value else "{v}"
    if kind in ("int", "index") and type(value) is int:
        fn = "int" if kind == "int" else "index"
        return f"{fn}({{v}}) != {value!r}"
    return None
