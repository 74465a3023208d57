"""A transform is defined once, as a description; two executors run it.

A ``Transform`` says what it computes from a trace in ``describe(traced, ex)``: it asks the
executor ``ex`` for backward passes and returns its result tree, whose leaves come from
``ex.value`` (a function value), ``ex.result`` (a derivative, handed over like an input) and
``ex.gradients`` (a ``GradientResult``).

- ``Dynamic`` evaluates the description on the live tape of this call: results are handed over
  at once, and backward passes whose results are only read are not recorded (``record=False``:
  faster, and repeated passes such as Jacobian rows do not grow the tape).
- ``Static`` compiles it (``yota.compile.static_call``): every pass is recorded, so the results
  are tracked values of the tape, and ``ex.result`` names them as outputs of the compiled
  program (a ``yota.compile.trace.Template``), handed over by the same rules at each call.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import copy
import functools

from .. import tree
from ..compile import backends, static_call
from ..compile.trace import Template, Zeros
from ..errors import InputError, YotaError
from ..kernel.backward import backward
from ..kernel.tape import reentered
from ..kernel.tracked import Tracked
from ..result import GradientResult
from ..tracing import _fn_name, hand_over, like_of, trace, zeros

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Transform", "Transformed", "Dynamic", "Static"]


class Dynamic:
    """Evaluates a description on the live tape: results are the caller's values at once.

    ``protect`` holds arrays that must not be handed over as they are (a cotangent the caller
    passed in): a result that is one of them is copied."""

    record = False

    def __init__(self, tape, protect=()):
        self.tape = tape
        self.seen = {id(p) for p in protect} if protect else set()

    def backward(self, out, seed, again=False):
        """Gradients of ``out`` weighted by ``seed``; ``again``: they will be differentiated
        on this tape (a Hessian), so the pass is recorded."""
        if again:
            with reentered(self.tape):
                return backward(self.tape, out, seed)
        return backward(self.tape, out, seed, record=False)

    def value(self, x):
        if type(x) is Tracked and x._tape is self.tape:
            x = x._value
        return hand_over(x, "value", self.seen)

    def result(self, x, like):
        if x is None:
            return zeros(like)
        if type(x) is Tracked and x._tape is self.tape:
            x = x._value
        return hand_over(x, like, self.seen)

    def tree(self, x):
        """A tree of function values (``has_aux``), every leaf handed over as a value."""
        if x is None:
            return None
        return tree.map_leaves(lambda path, leaf: self.value(leaf), x)

    def gradients(self, traced, grads):
        return gradient_result(self, traced, grads)


class Static:
    """Compiles a description: results become outputs of the program, named by a template."""

    record = True

    def __init__(self, tape):
        self.tape = tape
        self.template = Template()

    def backward(self, out, seed, again=False):
        with reentered(self.tape):
            return backward(self.tape, out, seed)

    def value(self, x):
        return self.template.add(x, "value")

    def result(self, x, like):
        return Zeros(like) if x is None else self.template.add(x, like)

    def tree(self, x):
        """aux as a template: tracked leaves become outputs; attrs instances and container
        subclasses are handed over by dynamic mode only (the compile then falls back)."""
        if x is None:
            return None
        if not isinstance(x, (tuple, list, dict)) and tree.is_node(x):
            raise YotaError("an attrs instance in aux is handed over by dynamic mode only")
        if type(x) is Tracked:
            return self.value(x)
        if type(x) in (tuple, list):
            return type(x)(self.tree(a) for a in x)
        if type(x) is dict:
            return {k: self.tree(v) for k, v in x.items()}
        if isinstance(x, (tuple, list, dict)):
            raise YotaError("a container subclass in aux is handed over by dynamic mode only")
        return x

    def gradients(self, traced, grads):
        return gradient_result(self, traced, grads)


def gradient_result(ex, traced, grads):
    """Per-variable gradients -> ``GradientResult``: one entry per argument (None for those
    not differentiated), a dict ``path -> gradient`` for trees, zeros for unused inputs."""
    out = []
    for inputs in traced.structure:
        if inputs is None:
            out.append(None)
        elif len(inputs) == 1 and inputs[0][0] == ():
            t = inputs[0][1]
            out.append(ex.result(grads.get(t._var), like_of(t)))
        else:
            out.append({path: ex.result(grads[t._var], like_of(t))
                        for path, t in inputs if t._var in grads})
    return GradientResult(out)


class Transform:
    """What a transform computes, independent of how it is run.

    ``name`` appears in messages, ``tag`` in the static cache key (with the options that change
    the compiled program). ``describe(traced, ex)`` returns the result tree (see the module
    docstring); ``dynamic`` and ``build`` are its two executions.
    """

    name = "transform"
    tag = ("transform",)
    backend = None   # a compile backend's name; None: the process default (YOTA_BACKEND)

    def describe(self, traced, ex):
        raise NotImplementedError

    def dynamic(self, f, args, kwargs, argnums):
        """Trace this call and evaluate the description on its tape, then free the tape."""
        tr, tape = trace(f, args, kwargs, argnums)
        result = self.describe(tr, Dynamic(tape))
        tape.release()
        return result

    def build(self, traced):
        """Record the description on a static trace; returns the template to compile."""
        ex = Static(traced.tape)
        ex.template.tree = self.describe(traced, ex)
        return ex.template

    def on_backend(self, backend):
        """This transform compiled by ``backend`` (a name, checked now): a copy whose tag
        holds the name, so two backends never share a compiled program."""
        if backend is None or backend == backends.DEFAULT:
            return self
        twin = copy.copy(self)
        twin.__dict__.pop("_twins", None)      # for_backend's memo is this transform's own
        twin.backend = backends.check(backend)
        twin.tag = (self.tag, twin.backend)
        return twin

    def for_backend(self, backend):
        """``on_backend``, remembered per name: for ``grad`` and ``hvp``, functions that pick
        their backend on every call (a name that does not check raises every time)."""
        if backend is None:
            return self
        twins = self.__dict__.setdefault("_twins", {})
        twin = twins.get(backend) if type(backend) is str else None
        if twin is None:
            twin = twins[backend] = self.on_backend(backend)
        return twin


class Transformed:
    """A function transformed by ``transform`` (``jacobian(f)``...): calling it runs the
    transform on ``f`` with the given arguments, compiled per signature unless ``dynamic``,
    by the compile backend named ``backend`` (None: the default, see yota.compile.backends)."""

    def __init__(self, transform, f, argnums, dynamic, backend=None):
        if not callable(f):
            raise InputError(
                f"yota.{transform.name}: expected a function to transform, got {f!r}")
        self.transform = transform.on_backend(backend)
        self.f = f
        self.argnums = argnums
        self.dynamic = dynamic
        functools.update_wrapper(self, f, updated=())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.dynamic:
            return self.transform.dynamic(self.f, args, kwargs, self.argnums)
        return static_call(self.transform, self.f, args, kwargs, self.argnums)

    def __repr__(self):
        return f"<yota.{self.transform.name} of {_fn_name(self.f)}>"
