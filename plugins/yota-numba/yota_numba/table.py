"""How each elementwise primitive is computed on one element inside a fused numba loop.

An entry is ``entry(in_dtypes, out_dtype) -> lowering or None``: given the NumPy loop's input
dtypes (after NumPy's own type resolution, weak Python scalars included) and the output dtype,
it returns either a format string over the argument expressions (``"({0} + {1})"``) or a
numba-compiled scalar function called with the arguments; None declines (the instruction then
runs as NumPy code). Arguments arrive already cast to ``in_dtypes``; the result is cast to
``out_dtype`` afterwards, so an entry never worries about dtypes beyond choosing a lowering.

The core's primitives are listed here, keyed by their NumPy ufunc (the core must not depend on
numba). Any other primitive gives itself an entry with ``prim.defemit("numba", entry)``: that
entry wins over this table.
"""
from __future__ import annotations

import numba
import numpy as np

from . import mathlib

FLOATS = frozenset("fd")          # float32, float64 (float16 and longdouble stay with NumPy)
INTS = frozenset("bhilqBHILQ")    # fixed-width integers


def _codes(in_dtypes, out_dtype):
    return [d.char for d in in_dtypes], out_dtype.char


def on(kinds, lowering, out_kinds=None):
    """An entry accepting loops whose input dtypes are all in ``kinds`` (dtype chars)."""
    out_kinds = kinds if out_kinds is None else out_kinds

    def entry(in_dtypes, out_dtype):
        ins, out = _codes(in_dtypes, out_dtype)
        if all(c in kinds for c in ins) and out in out_kinds:
            return lowering
        return None

    return entry


def float_math(f64_kernel):
    """A transcendental computed by a vectorizable float64 kernel (float32 rounds once)."""
    return on(FLOATS, f64_kernel)


_jit = numba.njit(inline="always", error_model="numpy")


@_jit
def _maximum(a, b):
    return a if ((a > b) | (a != a)) else b    # NumPy: NaN wins; equal (+-0) gives b


@_jit
def _minimum(a, b):
    return a if ((a < b) | (a != a)) else b    # | not or: no branch, the loop vectorizes


@_jit
def _f64_exp(a):
    return mathlib.exp64(np.float64(a))


@_jit
def _f64_log(a):
    return mathlib.log64(np.float64(a))


@_jit
def _f64_tanh(a):
    return mathlib.tanh64(np.float64(a))


NUMBERS = FLOATS | INTS
BOOL = frozenset("?")
ANY = NUMBERS | BOOL

CORE = {
    np.add: on(NUMBERS, "({0} + {1})"),
    np.subtract: on(NUMBERS, "({0} - {1})"),
    np.multiply: on(NUMBERS, "({0} * {1})"),
    np.true_divide: on(FLOATS, "({0} / {1})"),
    np.negative: on(NUMBERS, "(-{0})"),
    np.positive: on(NUMBERS, "(+{0})"),
    np.square: on(NUMBERS, "({0} * {0})"),
    np.reciprocal: on(FLOATS, "(1.0 / {0})"),
    np.absolute: on(FLOATS, "abs({0})"),
    np.fabs: on(FLOATS, "abs({0})"),
    np.sqrt: on(FLOATS, "np.sqrt({0})"),
    np.power: on(FLOATS, "({0} ** {1})"),
    np.maximum: on(NUMBERS, _maximum),
    np.minimum: on(NUMBERS, _minimum),
    np.exp: float_math(_f64_exp),
    np.log: float_math(_f64_log),
    np.tanh: float_math(_f64_tanh),
    np.sin: on(FLOATS, "np.sin({0})"),
    np.cos: on(FLOATS, "np.cos({0})"),
    np.greater: on(ANY, "({0} > {1})", BOOL),
    np.greater_equal: on(ANY, "({0} >= {1})", BOOL),
    np.less: on(ANY, "({0} < {1})", BOOL),
    np.less_equal: on(ANY, "({0} <= {1})", BOOL),
    np.equal: on(ANY, "({0} == {1})", BOOL),
    np.not_equal: on(ANY, "({0} != {1})", BOOL),
    np.logical_and: on(BOOL, "({0} and {1})"),
    np.logical_or: on(BOOL, "({0} or {1})"),
    np.logical_not: on(BOOL, "(not {0})"),
    np.isnan: on(FLOATS, "np.isnan({0})", BOOL),
    np.isfinite: on(FLOATS, "np.isfinite({0})", BOOL),
}


def _where_entry(in_dtypes, out_dtype):
    return "({1} if {0} else {2})" if out_dtype.char in ANY else None


# ``where(c, x, y)``: the condition is read as a truth value, x and y in the output's dtype
_where_entry.loop = lambda arg_dtypes, out_dtype: (
    [arg_dtypes[0], out_dtype, out_dtype], out_dtype)


def _core_primitives():
    """Entries of core primitives that are not ufuncs, keyed by the primitive's name."""
    return {"where": _where_entry}


BY_NAME = _core_primitives()


def entry_for(prim):
    """The primitive's own ``numba`` entry, else the core table's, else None."""
    own = prim.emitters.get("numba")
    if own is not None:
        return own
    impl = prim.impl
    if isinstance(impl, np.ufunc):
        return CORE.get(impl)
    if getattr(impl, "__module__", "").startswith("yota.core_pack"):
        return BY_NAME.get(prim.name)
    return None


def loop_dtypes(prim, args, arg_dtypes, out_dtype):
    """NumPy's loop for this call: (input dtypes, output dtype), or None when unknown.

    ``arg_dtypes`` holds a dtype per argument, or the Python type (float, int, bool) of a weak
    Python scalar. For ufuncs NumPy resolves it (``resolve_dtypes``); other primitives compute
    in their output dtype."""
    impl = prim.impl
    custom = getattr(entry_for(prim), "loop", None)
    if custom is not None:
        return custom(arg_dtypes, out_dtype)
    if isinstance(impl, np.ufunc):
        try:
            resolved = impl.resolve_dtypes(tuple(arg_dtypes) + (None,))
        except Exception:
            return None
        ins, out = resolved[:-1], resolved[-1]
        if out != out_dtype:
            return None
        return list(ins), out
    return [out_dtype] * len(arg_dtypes), out_dtype
