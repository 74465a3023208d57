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

from .. import tree
from ..compile import static_call
from ..compile.ir import NotCompilable
from ..compile.trace import Template, Zeros, build_grad
from ..core_pack.indexing import _Slot  # the same placeholder an index template uses
from ..errors import InputError, NotScalarError, YotaError
from ..kernel.backward import backward
from ..kernel.primitive import Primitive
from ..kernel.tape import reentered as _reentered
from ..kernel.tracked import Tracked
from ..tracing import _fn_name, check_scalar_output, gradient_result, leaf_kind, trace, unwrap

__all__ = ["value_and_grad", "gradient", "vjp", "jacobian", "hessian", "hvp", "checkpoint"]


# --- building blocks ---------------------------------------------------------------------------
def _check_argnums(who, argnums, allow_tuple=True):
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


def _float_output(who, f, out):
    value = out._value if type(out) is Tracked else out
    dtype = getattr(value, "dtype", None)
    if isinstance(value, float) or (dtype is not None and dtype.kind == "f"):
        return
    kind = dtype if dtype is not None else type(value).__name__
    raise NotScalarError(
        f"yota.{who}: {_fn_name(f)} must return a float array to be differentiated, but returned "
        f"{kind}; return a single float array (convert ints with .astype(float))")


def _plain(tape, x):
    """What the caller sees of a value computed on ``tape``: its value, 0-d arrays as scalars."""
    x = unwrap(tape, x)
    if isinstance(x, np.ndarray) and x.ndim == 0:
        return x[()]
    return x


def _plain_tree(tape, x):
    return tree.map_leaves(lambda path, leaf: _plain(tape, leaf), x)


def _mark(tape):
    return len(tape.ops), len(tape.nodes), len(tape.guards)


def _rewind(tape, mark):
    """Forget what was recorded on ``tape`` since ``mark``: repeated backward passes on one
    trace (vjp_fn, Jacobian rows) then keep the tape, and each pass's cost, constant."""
    ops, nodes, guards = mark
    del tape.ops[ops:], tape.nodes[nodes:], tape.guards[guards:]


def _seed_like(out):
    return np.ones((), dtype=out.dtype if hasattr(out, "dtype") else np.float64)


def _aval(x):
    """``(shape, dtype)`` of a value, tracked or not (Python floats are float64)."""
    value = x._value if type(x) is Tracked else x
    return np.shape(value), getattr(value, "dtype", np.dtype(np.float64))


def _is_array_input(t):
    v = t._value
    return isinstance(v, np.ndarray) or (type(v) is Tracked and isinstance(
        _innermost_value(v), np.ndarray))


def _innermost_value(t):
    while type(t) is Tracked:
        t = t._value
    return t


def _positions(argnums, nargs):
    if argnums is None:
        return list(range(nargs)), False
    single = isinstance(argnums, int)
    nums = (argnums,) if single else argnums
    return [n % nargs for n in nums], single


def _static_call(tag, f, args, kwargs, argnums, build, dynamic):
    """Compile through yota.compile (which runs ``dynamic()`` when static mode cannot apply:
    inside another trace, unkeyable arguments, a graph it cannot build)."""
    return static_call(tag, f, args, kwargs, argnums, build, dynamic)


def _static_params(traced, i):
    """``[(path, tracked input)]`` of argument ``i`` in a static trace."""
    return [(p.where[2:], p.tracked) for p in traced.diff_params(i)]


def _static_like(t, shape, dtype):
    """How yota.compile hands a result over: a float or NumPy scalar for a scalar result of a
    float input (as gradients of floats are), else a fresh array of ``shape``."""
    v = t._value
    if shape == () and not isinstance(v, np.ndarray):
        return "float" if type(v) is np.float64 else ("scalar", type(v))
    return ("array", shape, dtype)


class _Transform:
    """A transformed function. In static mode its compiled graphs live in yota.compile's cache
    under this transform's own tag (kind and options), one per input signature."""

    name = "transform"

    def __init__(self, f, argnums, dynamic):
        if not callable(f):
            raise InputError(f"yota.{self.name}: expected a function to transform, got {f!r}")
        self.f = f
        self.argnums = argnums
        self.dynamic = dynamic
        functools.update_wrapper(self, f, updated=())

    def __call__(self, *args, **kwargs):
        if self.dynamic:
            return self.run_dynamic(args, kwargs)
        return _static_call(self.tag(), self.f, args, kwargs, self.argnums, self.build,
                            lambda: self.run_dynamic(args, kwargs))

    def tag(self):
        return (self.name,)

    def run_dynamic(self, args, kwargs):
        raise NotImplementedError

    def build(self, traced):
        """Record the transform on a static trace; returns a yota.compile Template."""
        raise NotImplementedError

    def __repr__(self):
        return f"<yota.{self.name} of {_fn_name(self.f)}>"


# --- value_and_grad, gradient -----------------------------------------------------------------
class value_and_grad(_Transform):
    """``value_and_grad(f)(*args)`` -> ``(value, GradientResult)``, like ``yota.grad``.

    ``argnums`` (an int, a tuple, or None for all) picks the differentiated arguments; ``g[i]``
    is the gradient of argument ``i`` and ``None`` for the others. With ``has_aux=True``, ``f``
    returns ``(loss, aux)`` and the result is ``((value, aux), GradientResult)``; aux is not
    differentiated. ``dynamic=True`` traces on every call.
    """

    name = "value_and_grad"

    def __init__(self, f, argnums=0, has_aux=False, *, dynamic=False):
        super().__init__(f, _check_argnums(self.name, argnums), dynamic)
        self.has_aux = has_aux

    def tag(self):
        return ("value_and_grad", self.has_aux, self.name)

    def __call__(self, *args, **kwargs):
        value, aux, g = super().__call__(*args, **kwargs)
        return self.finish(value, aux, g)

    def finish(self, value, aux, g):
        return ((value, aux), g) if self.has_aux else (value, g)

    def run_dynamic(self, args, kwargs):
        tr, tape = trace(self.f, args, kwargs, self.argnums)
        out, aux = (_split_aux(self.name, self.f, tr.output) if self.has_aux
                    else (tr.output, None))
        _scalar_output(self.name, self.f, out)
        with _reentered(tape):
            grads = backward(tape, out, _seed_like(out))
        tape.outputs = [out]
        return _plain(tape, out), _plain_tree(tape, aux), gradient_result(tr, grads)

    def build(self, traced):
        out, aux = (_split_aux(self.name, self.f, traced.output) if self.has_aux
                    else (traced.output, None))
        _scalar_output(self.name, self.f, out)
        traced.output = out
        tpl = build_grad(traced)
        value, g = tpl.tree
        tpl.tree = (value, _aux_template(tpl, aux), g)
        return tpl


def _aux_template(tpl, aux):
    """aux as a template: tracked leaves become outputs; attrs instances are not templates."""
    if aux is None:
        return None
    if not isinstance(aux, (tuple, list, dict)) and tree.is_node(aux):
        raise YotaError("an attrs instance in aux is handed over by dynamic mode only")
    if type(aux) is Tracked:
        return tpl.add(aux, "value")
    if type(aux) in (tuple, list):
        return type(aux)(_aux_template(tpl, a) for a in aux)
    if type(aux) is dict:
        return {k: _aux_template(tpl, v) for k, v in aux.items()}
    if isinstance(aux, (tuple, list, dict)):
        raise YotaError("a container subclass in aux is handed over by dynamic mode only")
    return aux


class gradient(value_and_grad):
    """``gradient(f)(*args)`` -> the ``GradientResult`` of ``f`` (``g[0]`` for argument 0).

    With ``has_aux=True`` it returns ``(GradientResult, aux)``.
    """

    name = "gradient"

    def finish(self, value, aux, g):
        return (g, aux) if self.has_aux else g


# --- vjp ---------------------------------------------------------------------------------------
def vjp(f, *args, argnums=None, **kwargs):
    """``out, vjp_fn = vjp(f, *args)``: the output of ``f`` and its vector-Jacobian product.

    ``vjp_fn(ct)`` returns the ``GradientResult`` of ``sum(ct * f(*args))``: the cotangent ``ct``
    has the output's shape. It may be called many times; the forward pass is traced once. For a
    scalar output ``vjp_fn()`` uses ``ct = 1``. (Always traced: there is no graph to reuse.)
    """
    tr, tape = trace(f, args, kwargs, argnums)
    out = tr.output
    _float_output("vjp", f, out)
    tape.outputs = [out]
    shape, dtype = _aval(out)
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
# A static Jacobian unrolls one backward pass per output element into its graph; past this many
# the transform computes dynamically instead (same results, no giant program to compile).
STATIC_ROWS_MAX = 256


def _jacobian_rows(tape, out, inputs, rewind):
    """Rows ``d out[j] / d input`` for every input, one backward pass per output element.

    With ``rewind`` each row is taken off the tape (unwrapped) and the tape forgets its backward
    pass at once (dynamic mode); otherwise the rows stay tracked values of the tape, so a static
    graph, or an outer derivative of this tape, sees them. Returns ``{var: [row or None]}``.
    """
    shape, dtype = _aval(out)
    n_rows = int(np.prod(shape, dtype=int))
    if not rewind and n_rows > STATIC_ROWS_MAX:
        raise NotCompilable(
            f"{n_rows} backward passes would be unrolled into one graph (more than "
            f"yota.transforms.functions.STATIC_ROWS_MAX = {STATIC_ROWS_MAX}); computed dynamically")
    rows = {t._var: [] for t in inputs}
    if type(out) is not Tracked or out._tape is not tape:
        n = int(np.prod(shape, dtype=int))
        return {var: [None] * n for var in rows}
    for j in range(int(np.prod(shape, dtype=int))):
        seed = np.zeros(shape, dtype)
        seed[np.unravel_index(j, shape)] = 1
        mark = _mark(tape)
        with _reentered(tape):
            grads = backward(tape, out, seed)
        for var, r in rows.items():
            g = grads.get(var)
            r.append(unwrap(tape, g) if rewind and g is not None else g)
        if rewind:
            _rewind(tape, mark)
    return rows


def _stack(rows, out_shape, t):
    """Rows of one input -> its Jacobian block, ``out_shape + input shape`` (None: all zeros)."""
    arg_shape, dtype = _aval(t)
    if all(r is None for r in rows):
        return None
    rows = [np.zeros(arg_shape, dtype) if r is None else r for r in rows]
    if out_shape == ():
        return rows[0]
    if any(type(r) is Tracked for r in rows):
        return np.reshape(np.stack(rows), out_shape + arg_shape)
    return np.stack([np.asarray(r, dtype) for r in rows]).reshape(out_shape + arg_shape)


def _own(x, t, out_shape):
    """A Jacobian block the caller owns (zeros for None); arrays for array inputs."""
    arg_shape, dtype = _aval(t)
    shape = out_shape + arg_shape
    if type(x) is Tracked:
        return x
    if x is None:
        x = np.zeros(shape, dtype)
    if shape == () and not _is_array_input(t):
        value = _innermost_value(t._value)
        return float(x) if type(value) in (float, np.float64) else dtype.type(x)
    x = np.asarray(x, dtype)
    return x.copy() if x.base is not None or not x.flags.owndata else x


class jacobian(_Transform):
    """``jacobian(f, argnums=0)(*args)``: d f(*args) / d args[argnums].

    The result has shape ``out.shape + arg.shape``: a tuple of such arrays for a tuple of
    argnums (or ``argnums=None``, every argument), a dict ``path -> array`` for an
    attrs/list/dict argument. The forward pass is traced once and one backward pass recorded
    per output element; in static mode the whole Jacobian is one compiled graph (up to
    STATIC_ROWS_MAX output elements). Nested in another derivative (``jacobian(jacobian(f))``,
    a Jacobian inside ``grad``) the rows are recorded for the outer tape.
    """

    name = "jacobian"

    def __init__(self, f, argnums=0, *, dynamic=False):
        super().__init__(f, _check_argnums(self.name, argnums), dynamic)

    def run_dynamic(self, args, kwargs):
        tr, tape = trace(self.f, args, kwargs, self.argnums)
        out = tr.output
        _float_output(self.name, self.f, out)
        tape.outputs = [out]
        nums, single = _positions(self.argnums, len(args))
        per_arg = [tr.structure[i] or [] for i in nums]
        return self._assemble(tape, out, per_arg, single, rewind=True,
                              finish=lambda x, t, shape: _own(unwrap(tape, x), t, shape))

    def build(self, traced):
        out = traced.output
        _float_output(self.name, self.f, out)
        nums, single = _positions(self.argnums, len(traced.args))
        tpl = Template()

        def finish(x, t, shape):
            like = _static_like(t, shape + _aval(t)[0], _aval(t)[1])
            return Zeros(like) if x is None else tpl.add(x, like)

        per_arg = [_static_params(traced, i) for i in nums]
        tpl.tree = self._assemble(traced.tape, out, per_arg, single, rewind=False, finish=finish)
        return tpl

    def _assemble(self, tape, out, per_arg, single, rewind, finish):
        out_shape = _aval(out)[0]
        rows = _jacobian_rows(tape, out, [t for inputs in per_arg for _, t in inputs], rewind)
        blocks = []
        for inputs in per_arg:
            if len(inputs) == 1 and inputs[0][0] == ():
                (_, t), = inputs
                blocks.append(finish(_stack(rows[t._var], out_shape, t), t, out_shape))
            else:
                blocks.append({path: finish(_stack(rows[t._var], out_shape, t), t, out_shape)
                               for path, t in inputs})
        return blocks[0] if single else tuple(blocks)


class hessian(_Transform):
    """``hessian(f, argnums=0)(*args)``: second derivatives of scalar ``f`` w.r.t. one array or
    float argument, shape ``arg.shape + arg.shape``.

    One traced forward pass, the gradient recorded on the same tape, then one backward pass of
    the gradient per entry: the Jacobian of the gradient.
    """

    name = "hessian"

    def __init__(self, f, argnums=0, *, dynamic=False):
        super().__init__(f, _check_argnums(self.name, argnums, allow_tuple=False), dynamic)

    def _input(self, inputs, nargs):
        if len(inputs) != 1 or inputs[0][0] != ():
            raise InputError(
                f"yota.hessian: argument {self.argnums} of {_fn_name(self.f)} must be one float "
                "array or float; for attrs models or containers, flatten the parameters into "
                "one array first")
        return inputs[0][1]

    def _hessian(self, tape, out, t, rewind, finish):
        _scalar_output(self.name, self.f, out)
        with _reentered(tape):
            grads = backward(tape, out, _seed_like(out))
        g = grads.get(t._var)
        arg_shape = _aval(t)[0]
        if g is None:
            return finish(None, t, arg_shape)
        rows = _jacobian_rows(tape, g, [t], rewind)[t._var]
        return finish(_stack(rows, arg_shape, t), t, arg_shape)

    def run_dynamic(self, args, kwargs):
        tr, tape = trace(self.f, args, kwargs, self.argnums)
        (i,), _ = _positions(self.argnums, len(args))
        t = self._input(tr.structure[i] or [], len(args))
        tape.outputs = [tr.output]
        return self._hessian(tape, tr.output, t, rewind=True,
                             finish=lambda x, t, shape: _own(unwrap(tape, x), t, shape))

    def build(self, traced):
        (i,), _ = _positions(self.argnums, len(traced.args))
        t = self._input(_static_params(traced, i), len(traced.args))
        tpl = Template()

        def finish(x, t, shape):
            like = _static_like(t, shape + _aval(t)[0], _aval(t)[1])
            return Zeros(like) if x is None else tpl.add(x, like)

        tpl.tree = self._hessian(traced.tape, traced.output, t, rewind=False, finish=finish)
        return tpl


def hvp(f, x, v, **kwargs):
    """Hessian-vector product ``H(x) @ v`` of scalar ``f`` without forming the Hessian.

    One forward pass, the gradient recorded on the same tape, then one backward pass of the
    gradient with ``v`` as its cotangent (the Hessian is symmetric, so this vjp is ``H v``).
    ``x`` is an array or a float, ``v`` has its shape; keyword arguments go to ``f``.
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
    tr, tape = trace(f, (x,), kwargs, 0)
    out = tr.output
    _scalar_output("hvp", f, out)
    (_, t), = tr.structure[0]
    with _reentered(tape):
        grads = backward(tape, out, _seed_like(out))
        g = grads.get(t._var)
        if type(g) is not Tracked or g._tape is not tape:
            return _own(None, t, ())
        ct = _cotangent("hvp", _fn_name(f), v, *_aval(g))
        hv = backward(tape, g, ct).get(t._var)
    return _own(unwrap(tape, hv), t, ())


# --- checkpoint --------------------------------------------------------------------------------
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
    grads = backward(tape, tr.output, ct, record=False)
    result = list(gradient_result(tr, grads))
    tape.release()
    return result
