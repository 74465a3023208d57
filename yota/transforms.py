"""Function transforms: value_and_grad, gradient, vjp, jacobian, hessian, hvp, checkpoint.

Each is built from the same blocks as ``yota.grad`` (``trace`` a function on a tape, record
``backward`` on that tape with a seed, turn per-variable gradients into a ``GradientResult``).
Because the backward pass is recorded with primitives, every transform also works on tracked
values of an outer tape: ``hessian`` is a Jacobian of a gradient, ``hvp`` a vector-Jacobian
product of a gradient, and all of them nest to any order.

The transforms returned as functions (``value_and_grad``, ``gradient``, ``jacobian``,
``hessian``) are objects that own their static-graph cache: in static mode (the default) a
transform compiles its whole computation, forward and backward, once per input signature.
"""
from __future__ import annotations

import functools

import numpy as np

from . import tree
from .backward import backward
from .differentiate import (_fn_name, _reentered, check_scalar_output, gradient_result,
                            leaf_kind, trace, unwrap)
from .errors import InputError, NotScalarError, YotaError
from .primitives import Primitive
from .tracked import Tracked

__all__ = ["value_and_grad", "gradient", "vjp", "jacobian", "hessian", "hvp", "checkpoint"]


# --- building blocks ---------------------------------------------------------------------------
def _check_argnums(who, argnums, allow_tuple=True):
    """Validate argnums when the transform is made (ranges are checked at call time)."""
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


def _scalar_output(who, f, out):
    """``check_scalar_output`` with the transform's name in the message."""
    try:
        check_scalar_output(f, out)
    except NotScalarError as exc:
        exc.args = (str(exc).replace("yota.grad:", f"yota.{who}:", 1),)
        raise


def _split_aux(who, f, out):
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        got = (f"a {type(out).__name__} of length {len(out)}"
               if isinstance(out, (tuple, list)) else f"a {type(out).__name__}")
        raise YotaError(
            f"yota.{who}: {_fn_name(f)} was transformed with has_aux=True, so it must return a "
            f"pair (output, aux), but it returned {got}; return (loss, aux) or drop has_aux")
    return out[0], out[1]


def _plain(tape, x):
    """What the caller sees of a value computed on ``tape``: its value, 0-d arrays as scalars."""
    x = unwrap(tape, x)
    if isinstance(x, np.ndarray) and x.ndim == 0:
        return x[()]
    return x


def _plain_tree(tape, x):
    return tree.map_leaves(lambda path, leaf: _plain(tape, leaf), x)


def _rewind(tape, mark):
    """Forget what was recorded on ``tape`` since ``mark``: repeated backward passes on one
    trace (vjp_fn, jacobian rows) then keep the tape, and each pass's cost, constant."""
    ops, nodes, guards = mark
    del tape.ops[ops:], tape.nodes[nodes:], tape.guards[guards:]


def _mark(tape):
    return len(tape.ops), len(tape.nodes), len(tape.guards)


def _seed_like(out):
    return np.ones((), dtype=out.dtype if hasattr(out, "dtype") else np.float64)


def _value_and_grads(who, f, args, kwargs, argnums, has_aux):
    """Trace ``f``, record its backward pass: ``(value, aux, GradientResult)``."""
    tr, tape = trace(f, args, kwargs, argnums)
    out, aux = _split_aux(who, f, tr.output) if has_aux else (tr.output, None)
    _scalar_output(who, f, out)
    with _reentered(tape):
        grads = backward(tape, out, _seed_like(out))
    tape.outputs = [out]
    return _plain(tape, out), _plain_tree(tape, aux), gradient_result(tr, grads)


class _Transform:
    """A transformed function. Static mode will keep the compiled graphs here, per transform."""

    name = "transform"

    def __init__(self, f, argnums, dynamic):
        if not callable(f):
            raise InputError(f"yota.{self.name}: expected a function to transform, got {f!r}")
        self.f = f
        self.argnums = argnums
        self.dynamic = dynamic
        self.cache = {}  # static graphs of this transform, keyed by input signature
        functools.update_wrapper(self, f, updated=())

    def __call__(self, *args, **kwargs):
        return self.run_dynamic(args, kwargs)

    def run_dynamic(self, args, kwargs):
        raise NotImplementedError

    def __repr__(self):
        return f"<yota.{self.name} of {_fn_name(self.f)}>"


# --- value_and_grad, gradient -----------------------------------------------------------------
class value_and_grad(_Transform):
    """``value_and_grad(f)(*args)`` -> ``(value, GradientResult)``, like ``yota.grad``.

    ``argnums`` (an int or a tuple) picks the differentiated arguments; ``g[i]`` is the
    gradient of argument ``i`` and ``None`` for the others. With ``has_aux=True``, ``f`` returns
    ``(loss, aux)`` and the result is ``((value, aux), GradientResult)``; aux is not
    differentiated.
    """

    name = "value_and_grad"

    def __init__(self, f, argnums=0, has_aux=False, *, dynamic=False):
        super().__init__(f, _check_argnums(self.name, argnums), dynamic)
        self.has_aux = has_aux

    def run_dynamic(self, args, kwargs):
        value, aux, g = _value_and_grads(self.name, self.f, args, kwargs, self.argnums,
                                         self.has_aux)
        return ((value, aux), g) if self.has_aux else (value, g)


class gradient(value_and_grad):
    """``gradient(f)(*args)`` -> the ``GradientResult`` of ``f`` (``g[0]`` for argument 0).

    With ``has_aux=True`` it returns ``(GradientResult, aux)``.
    """

    name = "gradient"

    def __call__(self, *args, **kwargs):
        out = super().__call__(*args, **kwargs)
        if self.has_aux:
            (_, aux), g = out
            return g, aux
        return out[1]


# --- vjp ---------------------------------------------------------------------------------------
def vjp(f, *args, argnums=None, **kwargs):
    """``out, vjp_fn = vjp(f, *args)``: the output of ``f`` and its vector-Jacobian product.

    ``vjp_fn(ct)`` returns the ``GradientResult`` of ``sum(ct * f(*args))``: the cotangent ``ct``
    has the output's shape. It may be called many times; the forward pass is traced once. For a
    scalar output ``vjp_fn()`` uses ``ct = 1``.
    """
    tr, tape = trace(f, args, kwargs, argnums)
    out = tr.output
    _float_output("vjp", f, out)
    tape.outputs = [out]
    shape = np.shape(out)
    dtype = out.dtype if hasattr(out, "dtype") else np.dtype(np.float64)
    name = _fn_name(f)

    def vjp_fn(ct=None):
        if ct is None:
            if shape != ():
                raise NotScalarError(
                    f"yota.vjp: {name} returned an array of shape {shape}, so vjp_fn needs a "
                    f"cotangent of that shape, e.g. vjp_fn(np.ones({shape})); only scalar "
                    "outputs have a default cotangent")
            ct = np.ones((), dtype)
        ct = _cotangent("vjp", name, ct, shape, dtype)
        mark = _mark(tape)
        with _reentered(tape):
            grads = backward(tape, out, ct)
        result = gradient_result(tr, grads)
        _rewind(tape, mark)
        return result

    return _plain(tape, out), vjp_fn


def _float_output(who, f, out):
    value = out._value if type(out) is Tracked else out
    dtype = getattr(value, "dtype", None)
    if isinstance(value, float) or (dtype is not None and dtype.kind == "f"):
        return
    kind = dtype if dtype is not None else type(value).__name__
    raise NotScalarError(
        f"yota.{who}: {_fn_name(f)} must return a float array to be differentiated, but returned "
        f"{kind}; return a single float array (convert ints with .astype(float))")


def _cotangent(who, name, ct, shape, dtype):
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


# --- jacobian, hessian, hvp --------------------------------------------------------------------
class jacobian(_Transform):
    """``jacobian(f, argnums=0)(*args)``: d f(*args) / d args[argnums].

    The result has shape ``out.shape + arg.shape`` (a tuple of such arrays for a tuple of
    argnums; a dict ``path -> array`` for an attrs/list/dict argument). The forward pass is
    traced once and one backward pass is recorded per output element, on the same tape, so
    Jacobians of Jacobians (and of gradients: ``hessian``) work.
    """

    name = "jacobian"

    def __init__(self, f, argnums=0, *, dynamic=False):
        super().__init__(f, _check_argnums(self.name, argnums), dynamic)

    def run_dynamic(self, args, kwargs):
        single = isinstance(self.argnums, int)
        nums = (self.argnums,) if single else self.argnums
        tr, tape = trace(self.f, args, kwargs, nums)
        out = tr.output
        _float_output(self.name, self.f, out)
        tape.outputs = [out]
        shape = np.shape(out)
        dtype = out.dtype if hasattr(out, "dtype") else np.dtype(np.float64)
        rows = []
        for i in range(int(np.prod(shape, dtype=int))):
            seed = np.zeros(shape, dtype)
            seed[np.unravel_index(i, shape)] = 1
            mark = _mark(tape)
            with _reentered(tape):
                grads = backward(tape, out, seed)
            rows.append(gradient_result(tr, grads))
            _rewind(tape, mark)
        jacs = tuple(_stack_rows(rows, n % len(args), tr, shape) for n in nums)
        return jacs[0] if single else jacs


def _stack_rows(rows, k, tr, shape):
    """Rows of d out[i] / d arg -> one array ``out.shape + arg.shape`` (a dict for trees)."""
    inputs = tr.structure[k]
    if len(inputs) == 1 and inputs[0][0] == ():
        return _stack([r[k] for r in rows], shape, inputs[0][1])
    return {path: _stack([r[k].get(path) for r in rows], shape, t) for path, t in inputs}


def _stack(rows, shape, t):
    """Stack rows (arrays, floats, tracked values of an outer tape) into shape + arg shape."""
    arg_shape = np.shape(t._value)
    dtype = t._value.dtype if hasattr(t._value, "dtype") else np.dtype(np.float64)
    rows = [np.zeros(arg_shape, dtype) if r is None else r for r in rows]
    if not rows:
        return np.zeros(shape + arg_shape, dtype)
    if any(type(r) is Tracked for r in rows):
        return np.reshape(np.stack(rows), shape + arg_shape)
    return np.asarray(np.stack([np.asarray(r, dtype) for r in rows]).reshape(shape + arg_shape))


class _gradient_of(_Transform):
    """The gradient of ``f`` w.r.t. one argument, as a function (what hessian differentiates)."""

    name = "hessian"

    def run_dynamic(self, args, kwargs):
        _, _, g = _value_and_grads(self.name, self.f, args, kwargs, self.argnums, False)
        return g[self.argnums]


class hessian(jacobian):
    """``hessian(f, argnums=0)(*args)``: second derivatives of scalar ``f`` w.r.t. one argument,
    shape ``arg.shape + arg.shape``: the Jacobian of the gradient, one traced forward pass."""

    name = "hessian"

    def __init__(self, f, argnums=0, *, dynamic=False):
        _check_argnums(self.name, argnums, allow_tuple=False)
        grad_f = _gradient_of(f, argnums, dynamic=True)
        super().__init__(grad_f, argnums, dynamic=dynamic)
        self.__wrapped__ = f


def hvp(f, x, v, **kwargs):
    """Hessian-vector product ``H(x) @ v`` of scalar ``f`` without forming the Hessian.

    One forward pass, the gradient recorded on the tape, then one backward pass of the gradient
    with ``v`` as its cotangent (the Hessian is symmetric, so this vjp is ``H v``). ``x`` is an
    array or a float, ``v`` has its shape; keyword arguments go to ``f``.
    """
    if type(x) is not Tracked and leaf_kind(x) != "diff":
        raise InputError(
            f"yota.hvp: x must be a float array or a float to differentiate "
            f"{_fn_name(f)} at, got {type(x).__name__}"
            + (f" of dtype {x.dtype}" if hasattr(x, "dtype") else ""))
    if np.shape(v) != np.shape(x):
        raise InputError(
            f"yota.hvp: v has shape {np.shape(v)} but x has shape {np.shape(x)}; the vector "
            "multiplying the Hessian must be shaped like x")
    grad_f = _gradient_of(f, 0, dynamic=True)
    _, vjp_fn = vjp(grad_f, x, **kwargs)
    return vjp_fn(v)[0]


# --- checkpoint --------------------------------------------------------------------------------
class _Slot:
    """Where the n-th tracked leaf of a checkpointed call's arguments goes."""

    __slots__ = ("n",)

    def __init__(self, n):
        self.n = n

    def __repr__(self):
        return f"_Slot({self.n})"


class checkpoint:
    """``checkpoint(f)`` computes like ``f`` but keeps only its output on the tape.

    The call is recorded as one primitive that runs ``f`` on plain arrays, so none of ``f``'s
    intermediate values are stored. Its gradient rule is another primitive that traces ``f``
    again from the saved inputs and runs its backward pass, all in one go, then drops that
    temporary tape: memory for the backward pass of a deep chain of checkpointed blocks is one
    block's worth. Higher derivatives through a checkpoint are exact (they re-trace ``f``).
    ``f`` must return one float array; arguments may be arrays or attrs/list/dict trees.
    """

    def __init__(self, f):
        if not callable(f):
            raise InputError(f"yota.checkpoint: expected a function, got {f!r}")
        self.f = f
        name = _fn_name(f)
        self._forward = Primitive(self._run, name=f"checkpoint({name})")
        self._forward.defgrad_each(self._forward_rule)
        self._vjp = Primitive(self._run_vjp, name=f"checkpoint_vjp({name})")
        self._vjp.defgrad_each(self._vjp_rule)
        self._last = None  # (dy, leaves, grads): the rules of one op share one recomputation
        functools.update_wrapper(self, f, updated=())

    def __repr__(self):
        return f"<yota.checkpoint of {_fn_name(self.f)}>"

    def __call__(self, *args, **kwargs):
        leaves = []

        def cut(path, leaf):
            if type(leaf) is Tracked:
                leaves.append(leaf)
                return _Slot(len(leaves) - 1)
            return leaf

        template = tree.map_leaves(cut, (args, kwargs))
        if not leaves:
            return self.f(*args, **kwargs)
        return self._forward(*leaves, template=template)

    def _call(self, leaves, template):
        args, kwargs = tree.map_leaves(
            lambda path, leaf: leaves[leaf.n] if type(leaf) is _Slot else leaf, template)
        return self.f(*args, **kwargs)

    def _run(self, *leaves, template):
        out = self._call(leaves, template)
        if type(out) is Tracked:
            raise YotaError(
                f"yota.checkpoint: {_fn_name(self.f)} computed with a tracked value it was not "
                "given as an argument (a closure over a traced array or a global); pass every "
                "array it differentiates through as an argument")
        if not hasattr(out, "dtype") and not isinstance(out, float):
            raise YotaError(
                f"yota.checkpoint: {_fn_name(self.f)} returned a {type(out).__name__}; a "
                "checkpointed function returns one array. Checkpoint each output separately")
        return out

    def _forward_rule(self, argnum, dy, y, *leaves, template):
        return self._vjp(dy, *leaves, template=template, argnum=argnum)

    def _run_vjp(self, dy, *leaves, template, argnum):
        # Plain arrays here: re-trace f, run its backward pass, keep only the gradients.
        last = self._last
        if (last is None or last[0] is not dy or len(last[1]) != len(leaves)
                or any(a is not b for a, b in zip(last[1], leaves)) or argnum not in last[2]):
            grads = _traced_vjp(lambda *ls: self._call(ls, template), leaves, dy)
            last = self._last = (dy, leaves, {i: g for i, g in enumerate(grads)
                                              if g is not None})
        g = last[2].pop(argnum)
        if not last[2]:
            self._last = None
        return g

    def _vjp_rule(self, k, ddy, g, dy, *leaves, template, argnum):
        # Second order and up: differentiate the (re-traced) vjp itself, on tracked values.
        def vjp_of(dy, *ls):
            return _traced_vjp(lambda *l2: self._call(l2, template), ls, dy)[argnum]

        return _traced_vjp(vjp_of, (dy,) + leaves, ddy)[k]


def _traced_vjp(fn, args, ct):
    """Gradients of ``sum(ct * fn(*args))`` w.r.t. every argument (zeros where unused)."""
    tr, tape = trace(fn, args, {}, None)
    with _reentered(tape):
        grads = backward(tape, tr.output, ct)
    result = list(gradient_result(tr, grads))
    _release(tape)
    return result


def _release(tape):
    """Free a temporary tape now: its values and tracked nodes point at each other (a reference
    cycle), so without this they would wait for the cyclic garbage collector."""
    tape.ops.clear()
    tape.nodes.clear()
    tape.inputs.clear()
    tape.outputs.clear()
