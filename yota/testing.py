"""Checking gradients against central finite differences, for yota's tests and pack authors."""
from __future__ import annotations

import numpy as np

from . import tree
from .differentiate import grad

__all__ = ["check_grads", "numerical_grad", "GradientMismatch"]


class GradientMismatch(AssertionError):
    """yota's gradient and the finite-difference estimate disagree."""


def numerical_grad(f, args, argnum, eps=None):
    """Central finite differences of scalar ``f(*args)`` w.r.t. every float leaf of
    ``args[argnum]``, computed in float64. Returns ``{path: gradient}``."""
    args = [_to64(a) for a in args]
    out = {}
    for path, leaf in tree.leaves(args[argnum]):
        if not _is_float(leaf):
            continue
        base = np.array(leaf, dtype=np.float64)
        h = eps if eps is not None else 1e-6 * max(1.0, float(np.max(np.abs(base), initial=0.0)))
        g = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            vals = []
            for sign in (1, -1):
                probe = base.copy()
                probe[i] += sign * h
                leaf_value = probe if isinstance(leaf, np.ndarray) else float(probe)
                new_args = list(args)
                new_args[argnum] = (tree.replace_paths(args[argnum], {path: leaf_value})
                                    if path else leaf_value)
                vals.append(float(f(*new_args)))
            g[i] = (vals[0] - vals[1]) / (2 * h)
        out[path] = g
    return out


def check_grads(f, *args, rtol=None, atol=None, dynamic=True, argnums=None):
    """Compare ``yota.grad(f, *args)`` with central finite differences (in float64).

    Also checks that each gradient has its argument's shape and dtype. Raises GradientMismatch
    naming the argument, the path and the worst relative error.
    """
    value, g = grad(f, *args, dynamic=dynamic)
    low = any(_is_float(leaf) and np.result_type(leaf) != np.float64
              for a in args for _, leaf in tree.leaves(a))
    rtol = rtol if rtol is not None else (2e-2 if low else 1e-5)
    atol = atol if atol is not None else (2e-3 if low else 1e-6)
    name = getattr(f, "__name__", repr(f))
    expected_value = f(*args)
    if not np.allclose(value, expected_value, rtol=rtol, atol=atol, equal_nan=True):
        raise GradientMismatch(f"{name}: value {value!r} differs from f(*args) = "
                               f"{expected_value!r}")
    nums = range(len(args)) if argnums is None else argnums
    for i in nums:
        for path, expected in numerical_grad(f, args, i).items():
            got = _lookup(g[i], path)
            leaf = tree.get_path(args[i], path)
            where = f"{name}: argument {i}" + (f" at path {path!r}" if path else "")
            if got is None:
                got = np.zeros_like(expected)
            got_arr = np.asarray(got)
            if got_arr.shape != np.shape(leaf):
                raise GradientMismatch(f"{where}: gradient has shape {got_arr.shape}, argument "
                                       f"has shape {np.shape(leaf)}")
            if isinstance(leaf, np.ndarray) and got_arr.dtype != leaf.dtype:
                raise GradientMismatch(f"{where}: gradient has dtype {got_arr.dtype}, argument "
                                       f"has dtype {leaf.dtype}")
            if not np.allclose(got_arr, expected, rtol=rtol, atol=atol, equal_nan=True):
                err = np.abs(got_arr - expected) / (np.abs(expected) + atol)
                raise GradientMismatch(
                    f"{where}: gradient differs from finite differences (worst relative error "
                    f"{np.nanmax(err):.3g})\nyota:\n{got_arr}\nfinite differences:\n{expected}")
    return value, g


def _lookup(gi, path):
    if isinstance(gi, dict):
        return gi.get(path)
    return gi


def _is_float(x):
    return (isinstance(x, np.ndarray) and x.dtype.kind == "f") or isinstance(
        x, (float, np.floating))


def _to64(a):
    return tree.map_leaves(
        lambda p, leaf: np.asarray(leaf, np.float64) if isinstance(leaf, np.ndarray)
        and leaf.dtype.kind == "f" else leaf, a)
