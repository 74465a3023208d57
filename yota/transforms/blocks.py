"""The checks and seeds every transform shares, each written once.

Argument numbers are validated here when a transform is made (their range, at call time, by
``yota.tracing.normalize_argnums``); outputs are checked with the transform's name in the
message; seeds and cotangents start the backward passes.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError, NotScalarError, YotaError, a_or_an
from ..kernel.tracked import Tracked
from ..tracing import _fn_name, check_scalar_output

__all__ = ["check_argnums", "scalar_output", "float_output", "split_aux", "seed_like",
           "unit_seed", "cotangent", "aval"]


def check_argnums(who, argnums, allow_tuple=True):
    """Validate argnums when the transform is made (ranges are checked at call time)."""
    if argnums is None and allow_tuple:  # every argument, as yota.grad's default
        return None
    if isinstance(argnums, bool) or not (
            isinstance(argnums, int) or (allow_tuple and isinstance(argnums, (tuple, list)))):
        what = "an int or a tuple of ints" if allow_tuple else "an int"
        raise InputError(f"yota.{who}: argnums must be {what}, got {argnums!r}")
    if isinstance(argnums, (tuple, list)):
        if not argnums or not all(isinstance(n, int) and not isinstance(n, bool)
                                  for n in argnums):
            raise InputError(
                f"yota.{who}: argnums must be an int or a non-empty tuple of ints, got "
                f"{argnums!r}")
        return tuple(argnums)
    return argnums


def scalar_output(who, f, out):
    """``check_scalar_output`` with the transform's name in the message."""
    if who == "grad":
        return check_scalar_output(f, out)
    try:
        check_scalar_output(f, out)
    except NotScalarError as exc:
        exc.args = (str(exc).replace("yota.grad:", f"yota.{who}:", 1),)
        raise


def float_output(who, f, out):
    """The output of a Jacobian or a vjp: any float array."""
    value = out._value if type(out) is Tracked else out
    dtype = getattr(value, "dtype", None)
    if isinstance(value, float) or (dtype is not None and dtype.kind == "f"):
        return
    kind = dtype if dtype is not None else type(value).__name__
    raise NotScalarError(
        f"yota.{who}: {_fn_name(f)} must return a float array to be differentiated, but returned "
        f"{kind}; return a single float array (convert ints with .astype(float))")


def split_aux(who, f, out):
    """``(output, aux)`` of a function transformed with ``has_aux=True``."""
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        got = (f"{a_or_an(type(out).__name__)} of length {len(out)}"
               if isinstance(out, (tuple, list)) else a_or_an(type(out).__name__))
        raise YotaError(
            f"yota.{who}: {_fn_name(f)} was transformed with has_aux=True, so it must return a "
            f"pair (output, aux), but it returned {got}; return (loss, aux) or drop has_aux")
    return out[0], out[1]


def seed_like(out):
    """The seed of a scalar output's backward pass: one, in the output's dtype and shape (a
    loss of shape ``(1,)`` or ``(1, 1)`` is seeded as its single element)."""
    return np.ones(getattr(out, "shape", ()), dtype=out.dtype if hasattr(out, "dtype") else
                   np.float64)


def unit_seed(shape, dtype, j):
    """The seed selecting output element ``j`` (flat index): one Jacobian row."""
    seed = np.zeros(shape, dtype)
    seed[np.unravel_index(j, shape)] = 1
    return seed


def cotangent(who, name, ct, shape, dtype):
    """Check a cotangent against the output it weighs; plain ones take the output's dtype."""
    if type(ct) is not Tracked:
        ct = np.asarray(ct)
        if ct.dtype.kind not in "fiub":
            raise InputError(f"yota.{who}: the cotangent for {name} must be a real float array, "
                             f"got dtype {ct.dtype}")
        ct = ct.astype(dtype, copy=False)
    if np.shape(ct) != shape:
        raise InputError(
            f"yota.{who}: the cotangent for {name} has shape {np.shape(ct)}, but the output has "
            f"shape {shape}; pass an array shaped like the output")
    return ct


def aval(x):
    """``(shape, dtype)`` of a value, tracked or not (Python floats are float64)."""
    value = x._value if type(x) is Tracked else x
    return np.shape(value), getattr(value, "dtype", np.dtype(np.float64))
