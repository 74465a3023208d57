"""autograd's conveniences: ``flatten`` (parameters to one vector and back) and ``make_hvp``
(Hessian-vector products at one point, reusing one trace). ``elementwise_grad`` is a
``ValueAndGrad`` (``gradients``)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import tree
from ..errors import InputError
from ..kernel.tracked import Tracked
from ..tracing import _fn_name, leaf_kind, like_of, trace
from .blocks import cotangent, scalar_output, seed_like
from .executors import Dynamic

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["flatten", "make_hvp"]


def flatten(value: Any) -> tuple[np.ndarray[Any, Any], Callable[[Any], Any]]:
    """``vector, unflatten = flatten(params)``: the float leaves of ``params`` (an array, a float,
    an attrs/dataclass model, lists, tuples and dicts of them) in one 1-d array, and the function
    that rebuilds ``params`` from such a vector, as autograd's ``flatten`` and JAX's
    ``ravel_pytree``.

    The vector has the leaves' common float dtype (float32 and float64 leaves give float64);
    ``unflatten`` gives each leaf back its shape and dtype, and keeps leaves that are not floats
    (ints, strings) as they were. Both may be traced: ``unflatten`` of a tracked vector is
    differentiable, so ``f(unflatten(v))`` can be differentiated w.r.t. ``v``.
    """
    spots = []   # (path, shape, dtype, kind) of each float leaf, in tree.leaves' order
    pieces = []
    for path, leaf in tree.leaves(value, trainable=True):   # constant fields stay as they are
        if leaf_kind(leaf) != "diff":
            continue
        kind = ("float" if isinstance(leaf, float) and type(leaf) is not Tracked else  # type: ignore[comparison-overlap]
                type(leaf) if isinstance(leaf, np.floating) else "array")
        spots.append((path, np.shape(leaf), np.dtype(leaf.dtype if hasattr(leaf, "dtype")
                                                     else np.float64), kind))
        pieces.append(leaf)
    dtype = np.result_type(*[s[2] for s in spots]) if spots else np.dtype(np.float64)
    if any(type(p) is Tracked for p in pieces):
        vector = np.concatenate([np.reshape(p, (-1,)).astype(dtype) for p in pieces])
    else:
        vector = np.concatenate([np.ravel(np.asarray(p, dtype)) for p in pieces]) if pieces \
            else np.zeros(0, dtype)
    size = vector.shape[0]
    bounds = {}
    start = 0
    for path, shape, leaf_dtype, kind in spots:
        n = int(np.prod(shape, dtype=int))
        bounds[path] = (start, start + n, shape, leaf_dtype, kind)
        start += n

    def unflatten(v):
        if np.shape(v) != (size,):
            raise InputError(
                f"yota.flatten: unflatten expects a vector of shape ({size},) like the one "
                f"flatten returned, got shape {np.shape(v)}")
        plain = type(v) is not Tracked
        if plain:
            v = np.asarray(v)

        def leaf_at(path, leaf):
            if path not in bounds:
                return leaf
            a, b, shape, leaf_dtype, kind = bounds[path]
            piece = np.reshape(v[a:b], shape)
            if piece.dtype != leaf_dtype:
                piece = piece.astype(leaf_dtype)
            if not plain:
                return piece
            if kind == "float":
                return float(piece)
            if kind != "array":
                return kind(piece)
            return np.array(piece)   # a copy: the leaves never share memory with v

        return tree.map_leaves(leaf_at, value)

    return vector, unflatten


def make_hvp(f: Callable[..., Any], argnum: int = 0) -> Callable[..., tuple[Callable[[Any], Any], Any]]:
    """``make_hvp(f)(*args)`` -> ``(hvp_fn, gradient)``, as autograd's ``make_hvp``:
    ``hvp_fn(v)`` is the Hessian-vector product ``H v`` of scalar ``f`` w.r.t. argument
    ``argnum`` (a float array or float) at ``args``, and ``gradient`` is ``f``'s gradient there.

    ``f`` is traced once and its gradient recorded once; every ``hvp_fn(v)`` is one backward
    pass of that gradient, not recorded, so the tape keeps its size however many products are
    taken. Always traced (there is no graph to reuse).
    """
    if not callable(f):
        raise InputError(f"yota.make_hvp: expected a function to transform, got {f!r}")
    if isinstance(argnum, bool) or not isinstance(argnum, int):
        raise InputError(f"yota.make_hvp: argnum must be an int, got {argnum!r}")

    def at(*args, **kwargs):
        if not -len(args) <= argnum < len(args):
            raise InputError(
                f"yota.make_hvp: argnum={argnum} for {_fn_name(f)} is out of range: it was "
                f"called with {len(args)} positional argument(s)")
        x = args[argnum]
        if type(x) is not Tracked and leaf_kind(x) != "diff":
            raise InputError(
                f"yota.make_hvp: argument {argnum} must be a float array or a float to "
                f"differentiate {_fn_name(f)} at, got {type(x).__name__}"
                + (f" of dtype {x.dtype}" if hasattr(x, "dtype") else ""))
        tr, tape = trace(f, args, kwargs, argnum)
        out = tr.output
        scalar_output("make_hvp", f, out)
        (_, t), = tr.structure[argnum % len(args)]
        ex = Dynamic(tape)
        g = ex.backward(out, seed_like(out), again=True).get(t._var)
        like = like_of(t)
        gradient = ex.result(g, like)
        shape = np.shape(x)
        name = _fn_name(f)

        def hvp_fn(v):
            if type(g) is not Tracked or g._tape is not tape:   # the gradient is constant
                if np.shape(v) != shape:
                    raise InputError(f"yota.make_hvp: v has shape {np.shape(v)} but the "
                                     f"argument has shape {shape}")
                return Dynamic(tape).result(None, like)
            ct = cotangent("make_hvp", name, v, g.shape, g.dtype)
            run = Dynamic(tape, protect=(ct,))
            return run.result(run.backward(g, ct).get(t._var), like)

        return hvp_fn, gradient

    return at
