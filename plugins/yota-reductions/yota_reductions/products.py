"""prod. Its gradient at x_i is the product of the *other* elements, computed from running products
from both ends: no division by x_i, so it is exact with one zero, several zeros, or none.
"""
from __future__ import annotations

import numpy as np
from yota import NoRuleError, primitive

from .sums import expand


def _to_last(x, axes):
    """``x`` with the reduced axes moved last and merged into one, and a function undoing it."""
    x = np.asarray(x)
    reduced = tuple(range(x.ndim)) if axes is None else axes
    kept = tuple(i for i in range(x.ndim) if i not in reduced)
    perm = kept + reduced
    moved = np.transpose(x, perm)
    outer = moved.shape[: len(kept)]
    flat = moved.reshape(outer + (-1,)) if reduced else moved[..., None]

    def undo(a):
        return np.transpose(a.reshape(moved.shape), np.argsort(perm))

    return flat, undo


def _exclusive_products(m):
    """``(left, right)``: the products of the elements before and after each one, along the last
    axis."""
    left = np.ones_like(m)
    right = np.ones_like(m)
    np.cumprod(m[..., :-1], axis=-1, out=left[..., 1:])
    np.cumprod(m[..., :0:-1], axis=-1, out=right[..., -2::-1])
    return left, right


@primitive(name="prod")
def prod_p(x, axis=None, keepdims=False, dtype=None):
    return np.prod(x, axis=axis, dtype=dtype, keepdims=keepdims)


@primitive(nondiff_argnums=(1,))
def prod_others(x, axes):
    """For each element of ``x``, the product of the others it is reduced with over ``axes``."""
    m, undo = _to_last(x, axes)
    left, right = _exclusive_products(m)
    return undo(left * right)


prod_p.defgrad(lambda dy, y, x, axis=None, keepdims=False, dtype=None:
               expand(dy, x.shape, axis) * prod_others(x, axis))


@primitive(nondiff_argnums=(2,))
def prod_others_vjp(g, x, axes):
    """The vjp of ``prod_others`` (second derivatives of prod):
    ``out_k = sum over i != k of g_i * prod(x_j for j not in {i, k})``.

    Two scans along the reduced axis (one Python step per element, each vectorised over the
    other axes): ``acc`` carries the sum over i < k (then i > k) of g_i times the product of the
    x_j between, and the products on the far side of k finish each term. No division.
    """
    m, undo = _to_last(x, axes)
    gm, _ = _to_last(g, axes)
    left, right = _exclusive_products(m)
    out = np.zeros(np.broadcast_shapes(m.shape, gm.shape), np.result_type(m, gm))
    n = m.shape[-1]
    acc = np.zeros_like(out[..., 0])
    for k in range(n):
        out[..., k] = acc * right[..., k]
        acc = acc * m[..., k] + gm[..., k] * left[..., k]
    acc = np.zeros_like(out[..., 0])
    for k in reversed(range(n)):
        out[..., k] += acc * left[..., k]
        acc = acc * m[..., k] + gm[..., k] * right[..., k]
    return undo(out)


# The Jacobian of prod_others, H_ki = prod of x_j for j not in {i, k}, is symmetric: its vjp is
# prod_others_vjp, which is linear in g with the same H, so that is its own rule for g. Third
# derivatives of prod through x are not implemented: that rule raises and says so.
prod_others.defgrad(lambda g, y, x, axes: prod_others_vjp(g, x, axes))
prod_others_vjp.defgrad(lambda gg, y, g, x, axes: prod_others_vjp(gg, x, axes))


@prod_others_vjp.defgrad(argnum=1)
def _no_third_derivative(gg, y, g, x, axes):
    raise NoRuleError(
        "yota: third derivatives of numpy.prod are not implemented (prod_others_vjp has no "
        "rule for x); differentiate at most twice through prod, or for positive x write the "
        "product as np.exp(np.sum(np.log(x)))")
