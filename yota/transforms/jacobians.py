"""``jacobian`` and ``hessian``: one backward pass per output element, stacked.

In dynamic mode the rows are only read, so their passes are not recorded and the tape does not
grow with them; in static mode (and so for a compiled graph) every row is recorded. Nested in
another derivative, the rows are values of the outer tape and record there.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..compile.ir import NotCompilable
from ..errors import InputError
from ..kernel.tracked import Tracked
from ..tracing import _fn_name, like_of
from .blocks import aval, check_argnums, float_output, scalar_output, seed_like, unit_seed
from .executors import Transform, Transformed

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["jacobian", "hessian", "Jacobian", "Hessian", "STATIC_ROWS_MAX"]

# A static Jacobian unrolls one backward pass per output element into its graph; past this many
# the transform computes dynamically instead (same results, no giant program to compile).
STATIC_ROWS_MAX = 256


def jacobian_rows(ex, out, inputs):
    """Rows ``d out[j] / d input`` for every input, one backward pass per output element.

    Returns ``{var: [row or None]}``; rows are what ``ex.backward`` gives (values in dynamic
    mode, tracked values of the tape in static mode).
    """
    shape, dtype = aval(out)
    n_rows = int(np.prod(shape, dtype=int))
    if ex.record and n_rows > STATIC_ROWS_MAX:
        raise NotCompilable(
            f"{n_rows} backward passes would be unrolled into one graph (more than "
            f"yota.transforms.jacobians.STATIC_ROWS_MAX = {STATIC_ROWS_MAX}); computed "
            "dynamically")
    rows = {t._var: [] for t in inputs}
    if type(out) is not Tracked or out._tape is not ex.tape:
        return {var: [None] * n_rows for var in rows}
    for j in range(n_rows):
        grads = ex.backward(out, unit_seed(shape, dtype, j))
        for var, r in rows.items():
            r.append(grads.get(var))
    return rows


def stack(rows, out_shape, t):
    """Rows of one input -> its Jacobian block, ``out_shape + input shape`` (None: all zeros)."""
    arg_shape, dtype = aval(t)
    if all(r is None for r in rows):
        return None
    rows = [np.zeros(arg_shape, dtype) if r is None else r for r in rows]
    if out_shape == ():
        return rows[0]
    if any(type(r) is Tracked for r in rows):
        return np.reshape(np.stack(rows), out_shape + arg_shape)
    return np.stack([np.asarray(r, dtype) for r in rows]).reshape(out_shape + arg_shape)


class Jacobian(Transform):
    """``d f(*args) / d args[argnums]``, one block per differentiated input."""

    name = "jacobian"
    tag = ("jacobian",)

    def __init__(self, single):
        self.single = single  # one argnum: its block alone, else a tuple of blocks

    def describe(self, traced, ex):
        out = traced.output
        if type(out) in (tuple, list) and out:   # a tuple of arrays: one Jacobian per output
            return tuple(self.blocks(traced, ex, o) for o in out)
        return self.blocks(traced, ex, out)

    def blocks(self, traced, ex, out):
        float_output(self.name, traced.fn, out)
        structure = traced.structure
        per_arg = [structure[i] or [] for i in traced.nums]
        out_shape = aval(out)[0]
        rows = jacobian_rows(ex, out, [t for inputs in per_arg for _, t in inputs])

        def block(t):
            return ex.result(stack(rows[t._var], out_shape, t), like_of(t, out_shape))

        blocks = [block(inputs[0][1]) if len(inputs) == 1 and inputs[0][0] == ()
                  else {path: block(t) for path, t in inputs} for inputs in per_arg]
        return blocks[0] if self.single else tuple(blocks)


class jacobian(Transformed):
    """``jacobian(f, argnums=0)(*args)``: d f(*args) / d args[argnums].

    The result has shape ``out.shape + arg.shape``: a tuple of such arrays for a tuple of
    argnums (or ``argnums=None``, every argument), a dict ``path -> array`` for an
    attrs/list/dict argument. A function returning a tuple of arrays gets a tuple with one
    such result per output. The forward pass is traced once and one backward pass recorded
    per output element; in static mode the whole Jacobian is one compiled graph (up to
    STATIC_ROWS_MAX output elements). Nested in another derivative (``jacobian(jacobian(f))``,
    a Jacobian inside ``grad``) the rows are recorded for the outer tape.
    """

    name = "jacobian"

    def __init__(self, f: Callable[..., Any], argnums: int | tuple[int, ...] = 0, *, dynamic: bool = False,
                 backend: str | None = None) -> None:
        argnums = check_argnums(self.name, argnums)
        super().__init__(_JACOBIAN[isinstance(argnums, int)], f, argnums, dynamic, backend)


_JACOBIAN = {True: Jacobian(single=True), False: Jacobian(single=False)}


class Hessian(Transform):
    """Second derivatives of a scalar function w.r.t. one array or float argument: the
    Jacobian of its gradient, recorded on the same tape."""

    name = "hessian"
    tag = ("hessian",)

    def __init__(self, argnums):
        self.argnums = argnums  # as the caller wrote it, for messages

    def describe(self, traced, ex):
        (i,) = traced.nums
        inputs = traced.structure[i] or []
        if len(inputs) != 1 or inputs[0][0] != ():
            raise InputError(
                f"yota.hessian: argument {self.argnums} of {_fn_name(traced.fn)} must be one float "
                "array or float; for attrs models or containers, flatten the parameters into "
                "one array first")
        t = inputs[0][1]
        out = traced.output
        scalar_output(self.name, traced.fn, out)
        g = ex.backward(out, seed_like(out), again=True).get(t._var)
        arg_shape = aval(t)[0]
        like = like_of(t, arg_shape)
        if g is None:
            return ex.result(None, like)
        rows = jacobian_rows(ex, g, [t])[t._var]
        return ex.result(stack(rows, arg_shape, t), like)


class hessian(Transformed):
    """``hessian(f, argnums=0)(*args)``: second derivatives of scalar ``f`` w.r.t. one array or
    float argument, shape ``arg.shape + arg.shape``.

    One traced forward pass, the gradient recorded on the same tape, then one backward pass of
    the gradient per entry: the Jacobian of the gradient.
    """

    name = "hessian"

    def __init__(self, f: Callable[..., Any], argnums: int | tuple[int, ...] = 0, *, dynamic: bool = False,
                 backend: str | None = None) -> None:
        argnums = check_argnums(self.name, argnums, allow_tuple=False)
        super().__init__(Hessian(argnums), f, argnums, dynamic, backend)
