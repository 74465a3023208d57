"""Optimizers: update the float fields of a model from the gradient ``grad`` returned for it.

One line per training step::

    model = sgd(model, grad(loss, model, X, y), lr=0.1)        # plain SGD, no state
    opt = Adam(lr=1e-3)
    model = opt(model, grad(loss, model, X, y))                # opt.last_value: the loss

An optimizer accepts what ``grad`` returns, the ``(value, GradientResult)`` tuple, and uses the
gradient of argument ``argnum`` (0 by default: the model comes first); it also accepts a bare
``GradientResult`` or a path dict ``{('layers', 0, 'W'): array}`` (``g[0]``). When it is given the
tuple it keeps the loss in ``opt.last_value`` (the tuple's first item: ``(loss, aux)`` for
``value_and_grad(f, has_aux=True)``); ``opt.step(model, g)`` returns ``(model, value)``.

The model is an attrs instance (mutable or frozen), a list/tuple/dict of them, nested at will, or a
bare array or float. Updates are functional: **no array is written in place**. The optimizer
returns a new model (containers and attrs instances copied, frozen ones too) whose updated leaves
are new arrays of the same dtype; the model passed in, and every array in it, is left as it was.
Leaves that received no gradient (not float, frozen, or not reaching the loss) are carried over as
the very same objects.

Complex parameters: ``grad`` returns dL/dx - i dL/dy for z = x + iy (JAX's and autograd's
convention), whose conjugate is the steepest-ascent direction. Optimizers conjugate it first and
then run their usual update, so ``z = z - lr * conj(g)`` for SGD; Adam and RMSProp keep their
second moments real, from ``|g|**2`` (as PyTorch does); ``clip_value`` clips the real and the
imaginary parts, ``clip_norm`` uses ``|g|``.

Per-parameter state (momentum, moments, step counts) is created lazily, keyed by field path, in
``opt.state``; those arrays are the optimizer's own and are updated in place. ``opt.state_dict()``
is a plain dict of copies that ``np.savez`` round-trips; ``opt.load_state_dict(np.load(file))``
restores it.
"""
from __future__ import annotations

import fnmatch
import json
import math
import numbers

from typing import TYPE_CHECKING, Any, Union

import numpy as np

from . import tree
from .errors import InputError, a_or_an
from .kernel.tracked import Tracked
from .result import GradientResult
from .transforms import grad

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    #: A learning rate: a number, or a schedule ``step -> lr``.
    LearningRate = Union[float, Callable[[int], float]]
    #: What ``freeze=`` takes: a path prefix, a dotted pattern, a predicate, or a list of these.
    FreezePattern = Union[tuple[Any, ...], str, Callable[[tuple[Any, ...]], bool],
                          list[Any], None]

__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "RMSProp", "sgd",
    "Schedule", "constant", "step_decay", "exponential", "cosine",
]


# --- learning-rate schedules -------------------------------------------------------------------
class Schedule:
    """A learning rate as a function of the step (0 for the first update)."""

    name = "schedule"

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{self.name}({args})"


class _Constant(Schedule):
    name = "constant"

    def __init__(self, lr):
        self.lr = _positive("constant", "lr", lr)

    def __call__(self, step):
        return self.lr


class _StepDecay(Schedule):
    name = "step_decay"

    def __init__(self, lr, every, factor):
        self.lr = _positive("step_decay", "lr", lr)
        self.every = _count("step_decay", "every", every)
        self.factor = _positive("step_decay", "factor", factor)

    def __call__(self, step):
        return self.lr * self.factor ** (step // self.every)


class _Exponential(Schedule):
    name = "exponential"

    def __init__(self, lr, rate, every):
        self.lr = _positive("exponential", "lr", lr)
        self.rate = _positive("exponential", "rate", rate)
        self.every = _count("exponential", "every", every)

    def __call__(self, step):
        return self.lr * self.rate ** (step / self.every)


class _Cosine(Schedule):
    name = "cosine"

    def __init__(self, lr, total, warmup, final):
        self.lr = _positive("cosine", "lr", lr)
        self.total = _count("cosine", "total", total)
        self.warmup = _count("cosine", "warmup", warmup, minimum=0)
        self.final = _positive("cosine", "final", final)
        if self.warmup >= self.total:
            raise ValueError(f"yota.optim.cosine: warmup={warmup} must be smaller than "
                             f"total={total} steps")

    def __call__(self, step):
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        decay = self.total - self.warmup
        done = min(step - self.warmup, decay) / decay
        return self.final + (self.lr - self.final) * 0.5 * (1 + math.cos(math.pi * done))


def constant(lr: float) -> Schedule:
    """``lr`` at every step (what a plain float means)."""
    return _Constant(lr)


def step_decay(lr: float, every: int, factor: float = 0.1) -> Schedule:
    """``lr * factor ** (step // every)``: multiply by ``factor`` every ``every`` steps."""
    return _StepDecay(lr, every, factor)


def exponential(lr: float, rate: float, every: int = 1) -> Schedule:
    """``lr * rate ** (step / every)``: a smooth decay by ``rate`` per ``every`` steps."""
    return _Exponential(lr, rate, every)


def cosine(lr: float, total: int, warmup: int = 0, final: float = 0.0) -> Schedule:
    """Linear warm-up to ``lr`` over ``warmup`` steps (``lr * (step + 1) / warmup``), then a
    half cosine from ``lr`` down to ``final`` at step ``total``; ``final`` after that."""
    return _Cosine(lr, total, warmup, final)


def _positive(where, name, x):
    if type(x) is Tracked:   # a learning rate being differentiated (meta-learning)
        return x
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not float(x) >= 0:
        raise ValueError(f"yota.optim.{where}: {name} must be a number >= 0, got {x!r}")
    return float(x)


def _count(where, name, x, minimum=1):
    if isinstance(x, bool) or not isinstance(x, numbers.Integral) or x < minimum:
        raise ValueError(f"yota.optim.{where}: {name} must be an integer >= {minimum}, got {x!r}")
    return int(x)


# --- freezing by path pattern --------------------------------------------------------------------
def _path_matcher(who, patterns):
    """A predicate ``path -> bool`` for ``freeze=``; see Optimizer for the pattern forms."""
    if patterns is None or patterns == ():
        patterns = []
    elif isinstance(patterns, (str, tuple)) or callable(patterns):
        patterns = [patterns]  # one pattern; several go in a list
    patterns = list(patterns)
    tests = []
    for pat in patterns:
        if callable(pat):
            tests.append(pat)
        elif isinstance(pat, str):
            tests.append(lambda path, pat=pat: fnmatch.fnmatchcase(_dotted(path), pat)
                         or fnmatch.fnmatchcase(_dotted(path), pat + ".*"))
        elif isinstance(pat, tuple):
            tests.append(lambda path, pat=pat: _prefix_match(path, pat))
        else:
            raise ValueError(
                f"yota.optim.{who}: freeze pattern {pat!r} is {a_or_an(type(pat).__name__)}; use a tuple "
                "path prefix like ('encoder',) or ('layers', '*', 'b'), a dotted string like "
                "'layers.*.b', or a function path -> bool")
    return patterns, tests


def _dotted(path):
    return ".".join(str(k) for k in path)


def _prefix_match(path, prefix):
    if len(prefix) > len(path):
        return False
    for want, have in zip(prefix, path):
        if isinstance(want, str) and any(c in want for c in "*?["):
            if not fnmatch.fnmatchcase(str(have), want):
                return False
        elif want != have or type(want) is not type(have):
            return False
    return True


# --- reading what grad returned ----------------------------------------------------------------
def _shaped_like(grads, model):
    """Is ``grads`` a gradient in the model's own structure (an instance of the model's class,
    or the same kind of container), as ``yota.value_and_grad`` returns it?"""
    return tree.is_node(model) and type(grads) is type(model) and not isinstance(grads, dict)


def _gradient_dict(who, model, grads, argnum):
    """``(value, {path: gradient})`` from a grad tuple, a GradientResult, a dict, an array, or
    what ``value_and_grad``/``gradient`` return: the gradient in the model's own structure,
    alone or after the value (``(value, g)``, ``((value, aux), g)``)."""
    value = None
    if isinstance(grads, tuple) and len(grads) == 2 and (
            isinstance(grads[1], GradientResult) or _shaped_like(grads[1], model)):
        value, grads = grads
    if _shaped_like(grads, model):
        return value, {path: g for path, g in tree.leaves(grads) if g is not None}
    if isinstance(grads, GradientResult):
        if not -len(grads) <= argnum < len(grads):
            raise InputError(
                f"yota.optim.{who}: argnum={argnum} but the gradient holds {len(grads)} "
                f"argument(s); pass the position of the model in the call to grad")
        grads = grads[argnum]
        if grads is None:
            raise InputError(
                f"yota.optim.{who}: argument {argnum} of the grad call was not "
                f"differentiated: {_why_not_differentiated(model)}")
    if isinstance(grads, dict):
        if not tree.is_node(model):
            raise InputError(
                f"yota.optim.{who}: the gradient is a dict of field paths but the model is "
                f"{a_or_an(type(model).__name__)}; for a bare array pass its gradient array")
        return value, grads
    if tree.is_node(model):
        raise InputError(
            f"yota.optim.{who}: the model is {a_or_an(type(model).__name__)} but its gradient is "
            f"{a_or_an(type(grads).__name__)}, not a dict of field paths; was the gradient computed for "
            "another argument? pass argnum= to pick the model's position in the grad call")
    if grads is None:
        return value, {}
    return value, {(): grads}


def _why_not_differentiated(model):
    """Why grad gave no gradient for ``model``, and the way out."""
    if tree.is_node(model) or isinstance(model, (float, np.floating, np.ndarray)):
        if not any(True for _ in _float_paths(model)):
            return (f"the model ({a_or_an(type(model).__name__)}) holds no float field or float "
                    "array; is it the argument at that position of the grad call (argnum=)?")
        return ("the model has float fields, so the grad call left that position out of "
                "argnums, or the optimizer was given another argument's position (argnum=)")
    return (f"the model is {a_or_an(type(model).__name__)}, which yota does not walk (it walks "
            "floats, float arrays, attrs and dataclass instances, lists, tuples and dicts); "
            "make its class an attrs class (@attrs.define) or a dataclass")


def _float_paths(model):
    """The paths of the leaves an optimizer may update (constant fields left out)."""
    return (path for path, leaf in tree.leaves(model, trainable=True)
            if isinstance(leaf, (float, complex, np.floating, np.complexfloating)) or
            (isinstance(leaf, np.ndarray) and leaf.dtype.kind in "fc"))


def _leaf(who, model, path):
    try:
        return tree.get_path(model, path)
    except (KeyError, IndexError, AttributeError, TypeError):
        raise InputError(
            f"yota.optim.{who}: the gradient has an entry for path {path!r}, which the model "
            "does not have; was the gradient computed for another model or argument "
            "(argnum=)?") from None


def _zeros_like(p):
    if type(p) is Tracked:   # traced (meta-learning): a tracked buffer takes in-place updates
        return np.zeros_like(p)
    return np.zeros(np.shape(p), np.result_type(p))


def _real_zeros_like(p):
    """Zeros for a second moment: real also for a complex parameter (tracked while the step
    itself is differentiated, as ``_zeros_like``)."""
    if type(p) is Tracked:
        return np.zeros_like(np.real(p))
    return np.zeros(np.shape(p), np.zeros((), np.result_type(p)).real.dtype)


def _abs2(g):
    """``g * g``, or ``|g|**2`` (real) for complex ``g``."""
    return (g.real * g.real + g.imag * g.imag) if np.iscomplexobj(g) else g * g


def _as_param(p):
    """The parameter as the update computes with it: an array, a NumPy float or complex, or a
    tracked value when the step itself is differentiated (meta-learning)."""
    if isinstance(p, np.ndarray) or type(p) is Tracked:
        return p
    return np.complex128(p) if isinstance(p, complex) else np.float64(p)


def _cast_like(new, old):
    """``new`` with the type and dtype of the parameter it replaces."""
    if type(new) is Tracked or type(old) is Tracked:
        return new   # a step being differentiated keeps its tracked result
    if isinstance(old, np.ndarray):
        return np.asarray(new, dtype=old.dtype)
    if isinstance(old, np.generic):
        return old.dtype.type(new)
    return complex(new) if isinstance(old, complex) else float(new)


# --- the optimizers ----------------------------------------------------------------------------
class Optimizer:
    """Base class: gradient selection, freezing, clipping, weight decay, state, schedule.

    Subclasses implement ``_update(path, param, grad, lr) -> new param`` for one parameter
    (an array or a NumPy float; it must not write into ``param``) and
    ``_init_state(param) -> {name: zeros}``, and name their state in ``_slots``.

    - ``lr``: a float or a schedule, a callable ``step -> lr`` (``constant``, ``step_decay``,
      ``exponential``, ``cosine`` or your own); ``step`` counts the updates done so far.
    - ``weight_decay``: added to the gradient as ``weight_decay * param`` (L2), decoupled in
      AdamW.
    - ``clip_value``: each gradient element clipped to ``[-clip_value, clip_value]``; then
      ``clip_norm``: all gradients scaled by ``clip_norm / norm`` when their global L2 norm
      exceeds it (``last_grad_norm`` keeps the norm before scaling).
    - ``freeze``: parameters left untouched, with no state and no part in the norm. One pattern
      or a list of them. A pattern is a tuple path prefix (``('encoder',)``; its string items
      may hold ``*``/``?`` wildcards: ``('layers', '*', 'b')``), a dotted string matched with
      fnmatch (``'encoder'`` matches ``encoder`` and everything under it, ``'layers.*.b'``),
      or a function ``path -> bool``. A pattern that matches no float field of the model
      raises an error (it catches typos).
    """

    _slots: tuple[str, ...] = ()

    def __init__(self, lr: LearningRate, *, weight_decay: float = 0.0,
                 clip_norm: float | None = None, clip_value: float | None = None,
                 freeze: FreezePattern = None) -> None:
        who = type(self).__name__
        if callable(lr):
            self.lr = lr
        else:
            self.lr = _positive(who, "lr", lr)
        self.weight_decay = _positive(who, "weight_decay", weight_decay)
        self.clip_norm = None if clip_norm is None else _positive(who, "clip_norm", clip_norm)
        self.clip_value = None if clip_value is None else _positive(who, "clip_value", clip_value)
        self.freeze, self._frozen_tests = _path_matcher(who, freeze)
        self.step_count = 0
        self.state: dict[tuple[Any, ...], dict[str, Any]] = {}   # path -> {slot name: array}
        self._loaded: set[tuple[Any, ...]] = set()   # loaded state not yet checked on the model
        self.last_value: Any = None
        self.last_grad_norm: float | None = None

    # --- the public step -------------------------------------------------------------------
    def __call__(self, model: Any, grads: Any, argnum: int = 0) -> Any:
        """The updated model: a new object (the same one if nothing was updated); nothing is
        written in place.

        ``grads``: ``grad``'s ``(value, GradientResult)``, a GradientResult (argument
        ``argnum`` is used), a path dict, or an array for a bare-array model.
        """
        who = type(self).__name__
        value, gdict = _gradient_dict(who, model, grads, argnum)
        self.last_value = value
        params = self._select(who, model, gdict)
        grads_list = self._clip([np.conj(g) if np.iscomplexobj(g) else g for _, _, g in params])
        lr = self.current_lr()
        updates = {}
        for (path, p, _), g in zip(params, grads_list):
            new = self._update(path, _as_param(p), g, lr)
            updates[path] = _cast_like(new, p)
        self.step_count += 1
        if not tree.is_node(model):
            return updates.get((), model)
        return tree.replace_paths(model, updates) if updates else model

    def step(self, model: Any, grads: Any, argnum: int = 0) -> tuple[Any, Any]:
        """``(updated model, loss value)``; the value is None unless ``grads`` is grad's tuple."""
        model = self(model, grads, argnum)
        return model, self.last_value

    def minimize(self, loss: Callable[..., Any], model: Any, *data: Any,
                 **kwargs: Any) -> tuple[Any, Any]:
        """One training step on ``loss(model, *data)``: ``(updated model, loss value)``.

        Only the model, the first argument, is differentiated (``argnums=0``): no gradient is
        computed for the data. ``kwargs`` go to ``yota.grad`` (``dynamic=``, ``backend=``) and
        through it to ``loss``. A method of its own, not ``step(loss, ...)``: a model may be
        callable, so the first argument cannot tell a loss from a model.
        """
        if not callable(loss):
            raise TypeError(
                f"yota.optim.{type(self).__name__}.minimize: the first argument is the loss "
                f"function, got {a_or_an(type(loss).__name__)}; call opt.minimize(loss, model, *data) "
                "(opt.step(model, grad_result) takes a gradient computed already)")
        return self.step(model, grad(loss, model, *data, argnums=0, **kwargs))

    def current_lr(self) -> float:
        """The learning rate the next update uses."""
        if callable(self.lr):
            lr = self.lr(self.step_count)
            return _positive(type(self).__name__, f"lr schedule's value at step "
                             f"{self.step_count}", lr)
        return self.lr

    # --- selection and clipping ------------------------------------------------------------
    def _frozen(self, path):
        return any(test(path) for test in self._frozen_tests)

    def _select(self, who, model, gdict):
        """``[(path, param, grad)]`` for the parameters to update."""
        if self._frozen_tests:
            self._check_freeze(who, model)
        out = []
        for path, g in gdict.items():
            p = _leaf(who, model, path)
            if g is None or self._frozen(path):
                continue
            if np.shape(g) != np.shape(p):
                raise InputError(
                    f"yota.optim.{who}: the gradient for {path!r} has shape {np.shape(g)} but "
                    f"the parameter has shape {np.shape(p)}; was the gradient computed for "
                    "another model?")
            out.append((path, p, g))
        return out

    def _check_freeze(self, who, model):
        paths = list(_float_paths(model))
        for pat, test in zip(self.freeze, self._frozen_tests):
            if not callable(pat) and not any(test(path) for path in paths):
                shown = ", ".join(_dotted(p) or "()" for p in paths[:8])
                raise InputError(
                    f"yota.optim.{who}: freeze pattern {pat!r} matches no float field of the "
                    f"model (fields: {shown}{', ...' if len(paths) > 8 else ''})")

    def _clip(self, grads):
        if self.clip_value is not None:
            c = self.clip_value
            grads = [np.clip(g.real, -c, c) + 1j * np.clip(g.imag, -c, c)
                     if np.iscomplexobj(g) else np.clip(g, -c, c) for g in grads]
        if self.clip_norm is not None:
            norm = math.sqrt(sum(float(np.sum(_abs2(np.asarray(g, np.complex128)
                                                    if np.iscomplexobj(g) else g),
                                              dtype=np.float64))
                                 for g in grads))
            self.last_grad_norm = norm
            if norm > self.clip_norm:
                scale = self.clip_norm / norm
                grads = [g * scale for g in grads]
        return grads

    # --- state ------------------------------------------------------------------------------
    def _state_for(self, path, p):
        """The state of the parameter at ``path``, made by ``_init_state`` on first use. Its
        arrays are the optimizer's own, updated in place (``state_dict`` hands out copies)."""
        s = self.state.get(path)
        if s is None:
            s = self.state[path] = self._init_state(p)
        elif path in self._loaded:
            self._check_loaded(path, p, s)
        return s

    def _check_loaded(self, path, p, s):
        """State loaded from a file must fit the parameter it now updates."""
        self._loaded.discard(path)
        for name, want in self._init_state(p).items():
            have = s.get(name)
            if have is not None and np.shape(have) != np.shape(want):
                who = type(self).__name__
                raise InputError(
                    f"yota.optim.{who}: the loaded state {name!r} for {_dotted(path) or '()'} "
                    f"has shape {np.shape(have)} but the parameter {path!r} has shape "
                    f"{np.shape(p)}; was the state saved for a model of another size?")

    def _init_state(self, p):
        return {}

    def _update(self, path, p, g, lr):
        """The new value of parameter ``p`` (at ``path``) after one step with gradient ``g``."""
        raise NotImplementedError

    def _l2(self, g, p):
        return g + self.weight_decay * p if self.weight_decay else g

    def state_dict(self) -> dict[str, np.ndarray]:
        """The state as a plain dict of arrays (copies), for ``np.savez(file, **d)``.

        Keys: ``optimizer`` (the class name), ``step`` and ``<slot>:<path as JSON>`` such as
        ``m:["layers", 0, "W"]``.
        """
        out = {"optimizer": np.array(type(self).__name__), "step": np.array(self.step_count)}
        for path, slots in self.state.items():
            key = _encode_path(type(self).__name__, path)
            for name, arr in slots.items():
                out[f"{name}:{key}"] = np.array(arr, copy=True)
        return out

    def load_state_dict(self, d: Mapping[str, Any]) -> None:
        """Restore what ``state_dict`` returned (a dict, or the NpzFile ``np.load`` gives)."""
        who = type(self).__name__
        d = {k: np.asarray(d[k]) for k in d.keys()}
        kind = d.pop("optimizer", None)
        if kind is not None and str(kind) != who:
            raise ValueError(f"yota.optim.{who}.load_state_dict: the state was saved by "
                             f"{kind}, not {who}; load it into {a_or_an(kind)}")
        if "step" not in d:
            raise ValueError(f"yota.optim.{who}.load_state_dict: no 'step' entry; pass what "
                             "state_dict() returned (or np.load of the saved file)")
        step = int(d.pop("step"))
        state: dict[tuple[Any, ...], dict[str, Any]] = {}
        for key, arr in d.items():
            name, sep, path = key.partition(":")
            if not sep or name not in self._slots:
                raise ValueError(f"yota.optim.{who}.load_state_dict: unexpected entry "
                                 f"{key!r}; {who} keeps {', '.join(self._slots) or 'no state'}")
            state.setdefault(tuple(json.loads(path)), {})[name] = np.array(arr, copy=True)
        self.step_count, self.state = step, state
        self._loaded = set(state)   # checked against the model's shapes on first use

    def __repr__(self):
        keys = ["lr"] + self._hyper + ["weight_decay", "clip_norm", "clip_value", "freeze"]
        shown = [f"{k}={getattr(self, k)!r}" for k in keys
                 if k == "lr" or getattr(self, k) not in (None, 0.0, [], ())
                 or k in self._hyper]
        return f"{type(self).__name__}({', '.join(shown)})"

    _hyper: list[str] = []


def _encode_path(who, path):
    for k in path:
        if isinstance(k, bool) or not isinstance(k, (str, int)):
            raise ValueError(
                f"yota.optim.{who}.state_dict: path {path!r} holds the key {k!r}; saved state "
                "supports string and integer keys (attribute names, positions, str dict keys)")
    return json.dumps(list(path))


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (PyTorch's convention)::

        g = grad + weight_decay * p
        v = momentum * v + g                      (v starts at 0)
        p = p - lr * (g + momentum * v)           if nesterov
        p = p - lr * v                            otherwise
    """

    _slots = ("momentum",)
    _hyper = ["momentum", "nesterov"]

    def __init__(self, lr: LearningRate, momentum: float = 0.0, *, nesterov: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(lr, **kwargs)
        self.momentum = _positive("SGD", "momentum", momentum)
        self.nesterov = bool(nesterov)
        if self.nesterov and not self.momentum:
            raise ValueError("yota.optim.SGD: nesterov=True needs momentum > 0")

    def _init_state(self, p):
        return {"momentum": _zeros_like(p)} if self.momentum else {}

    def _update(self, path, p, g, lr):
        g = self._l2(g, p)
        if self.momentum:
            s = self._state_for(path, p)
            v = s["momentum"]
            v *= self.momentum
            v += g
            s["momentum"] = v   # a tracked buffer's in-place write rebinds the name only
            g = g + self.momentum * v if self.nesterov else v
        return p - lr * g


class Adam(Optimizer):
    """Adam (Kingma and Ba), with bias correction; weight decay is L2 (see AdamW)::

        g = grad + weight_decay * p;  t += 1      (t counted per parameter)
        m = b1 * m + (1 - b1) * g;  v = b2 * v + (1 - b2) * |g|**2
        p = p - lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps)
    """

    _slots = ("m", "v", "t")
    _hyper = ["betas", "eps"]

    def __init__(self, lr: LearningRate = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, **kwargs: Any) -> None:
        super().__init__(lr, **kwargs)
        who = type(self).__name__
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"yota.optim.{who}: betas must lie in [0, 1), got {betas!r}")
        self.betas = (float(b1), float(b2))
        self.eps = _positive(who, "eps", eps)

    def _gradient(self, g, p):
        return self._l2(g, p)

    def _init_state(self, p):
        return {"m": _zeros_like(p), "v": _real_zeros_like(p), "t": np.zeros((), np.int64)}

    def _update(self, path, p, g, lr):
        g = self._gradient(g, p)
        b1, b2 = self.betas
        s = self._state_for(path, p)
        m, v, t = s["m"], s["v"], s["t"]
        t += 1
        n = int(t)
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * _abs2(g)
        s["m"], s["v"] = m, v   # a tracked buffer's in-place write rebinds the name only
        # lr * m_hat / (sqrt(v_hat) + eps), with the bias corrections folded into scalars
        denom = np.sqrt(v) * (1 / math.sqrt(1 - b2 ** n)) + self.eps
        return self._decay(p, lr) - (lr / (1 - b1 ** n)) * (m / denom)

    def _decay(self, p, lr):
        return p


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter): ``p = p * (1 - lr * wd)``
    before the Adam step, and no L2 term in the gradient. ``weight_decay`` defaults to 0.01."""

    def __init__(self, lr: LearningRate = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, *, weight_decay: float = 0.01, **kwargs: Any) -> None:
        super().__init__(lr, betas, eps, weight_decay=weight_decay, **kwargs)

    def _gradient(self, g, p):
        return g

    def _decay(self, p, lr):
        return p * (1 - lr * self.weight_decay) if self.weight_decay else p


class RMSProp(Optimizer):
    """RMSProp (PyTorch's convention)::

        g = grad + weight_decay * p
        s = alpha * s + (1 - alpha) * |g|**2      (s starts at 0)
        u = g / (sqrt(s) + eps)
        b = momentum * b + u;  p = p - lr * b     if momentum, else p = p - lr * u
    """

    _slots = ("square_avg", "momentum")
    _hyper = ["alpha", "eps", "momentum"]

    def __init__(self, lr: LearningRate = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 momentum: float = 0.0, **kwargs: Any) -> None:
        super().__init__(lr, **kwargs)
        if not 0 <= alpha < 1:
            raise ValueError(f"yota.optim.RMSProp: alpha must lie in [0, 1), got {alpha!r}")
        self.alpha = float(alpha)
        self.eps = _positive("RMSProp", "eps", eps)
        self.momentum = _positive("RMSProp", "momentum", momentum)

    def _init_state(self, p):
        s = {"square_avg": _real_zeros_like(p)}
        if self.momentum:
            s["momentum"] = _zeros_like(p)
        return s

    def _update(self, path, p, g, lr):
        g = self._l2(g, p)
        s = self._state_for(path, p)
        sq = s["square_avg"]
        sq *= self.alpha
        sq += (1 - self.alpha) * _abs2(g)
        s["square_avg"] = sq   # a tracked buffer's in-place write rebinds the name only
        u = g / (np.sqrt(sq) + self.eps)
        if self.momentum:
            b = s["momentum"]
            b *= self.momentum
            b += u
            u = s["momentum"] = b
        return p - lr * u


def sgd(model: Any, grads: Any, lr: float, *, argnum: int = 0, weight_decay: float = 0.0,
        clip_norm: float | None = None, clip_value: float | None = None,
        freeze: FreezePattern = None) -> Any:
    """One plain SGD step, no state: ``model = sgd(model, grad(loss, model, X, y), lr=0.1)``.

    Returns the updated model (a new object; nothing is written in place). For momentum, a
    schedule or the loss value, use an ``SGD`` object: ``opt = SGD(0.1, momentum=0.9)``.
    """
    if callable(lr):
        raise ValueError("yota.optim.sgd: lr must be a float here (the function keeps no step "
                         "count); for a schedule use opt = SGD(schedule) and model = opt(model, g)")
    opt = SGD(lr, weight_decay=weight_decay, clip_norm=clip_norm, clip_value=clip_value,
              freeze=freeze)
    return opt(model, grads, argnum)
