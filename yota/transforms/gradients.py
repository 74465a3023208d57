"""``grad``, ``value_and_grad`` and ``gradient``: one transform, ``ValueAndGrad``.

``grad(f, *args)`` is ``value_and_grad(f, argnums=None)`` run on ``args``: the same description,
with its own cache tag so that its key stays the cheapest one.
"""
from __future__ import annotations

from ..compile import source as compiled_source
from ..compile import static_call
from .blocks import check_argnums, scalar_output, seed_like, split_aux
from .executors import Transform, Transformed

__all__ = ["grad", "value_and_grad", "gradient", "show_code", "source", "ValueAndGrad"]


class ValueAndGrad(Transform):
    """The value of a scalar function and its ``GradientResult``.

    ``returns``: ``"both"`` gives ``(value, g)`` (``((value, aux), g)`` with ``has_aux``),
    ``"gradient"`` gives ``g`` (``(g, aux)``).
    """

    def __init__(self, name, has_aux=False, returns="both", tag=None):
        self.name, self.has_aux, self.returns = name, has_aux, returns
        self.tag = tag or ("value_and_grad", has_aux, name)

    def describe(self, traced, ex):
        out, aux = (split_aux(self.name, traced.fn, traced.output) if self.has_aux
                    else (traced.output, None))
        scalar_output(self.name, traced.fn, out)
        value = ex.value(out) if self.returns == "both" else None
        aux = ex.tree(aux) if self.has_aux else None
        g = ex.gradients(traced, ex.backward(out, seed_like(out)))
        if self.returns == "gradient":
            return (g, aux) if self.has_aux else g
        return ((value, aux), g) if self.has_aux else (value, g)


GRAD = ValueAndGrad("grad", tag="grad")   # compiled by the default backend
_GRAD_ON = {}                              # backend name -> GRAD.on_backend(name)


def grad_spec(backend):
    """The ``grad`` transform compiled by ``backend`` (None: the default)."""
    if backend is None:
        return GRAD
    spec = _GRAD_ON.get(backend) if type(backend) is str else None
    if spec is None:
        spec = GRAD.on_backend(backend)   # checks the name: an unknown one raises each time
        _GRAD_ON[backend] = spec
    return spec


def grad(f, *args, dynamic=False, argnums=None, backend=None, **kwargs):
    """Value and gradients of a scalar function: ``val, g = grad(f, *args)``.

    ``g[i]`` is the gradient w.r.t. argument ``i`` (see GradientResult). Keyword arguments
    other than ``dynamic``, ``argnums`` and ``backend`` are passed to ``f`` and never
    differentiated. ``dynamic=True`` re-traces on every call; the default static mode compiles
    once per input signature, with the compile backend ``backend`` ("numpy", "numba", "auto";
    default: ``YOTA_BACKEND``, else "numpy").
    """
    spec = GRAD if backend is None else grad_spec(backend)
    if dynamic:
        return spec.dynamic(f, args, kwargs, argnums)
    return static_call(spec, f, args, kwargs, argnums)


class value_and_grad(Transformed):
    """``value_and_grad(f)(*args)`` -> ``(value, GradientResult)``, like ``yota.grad``.

    ``argnums`` (an int, a tuple, or None for all) picks the differentiated arguments; ``g[i]``
    is the gradient of argument ``i`` and ``None`` for the others. With ``has_aux=True``, ``f``
    returns ``(loss, aux)`` and the result is ``((value, aux), GradientResult)``; aux is not
    differentiated. ``dynamic=True`` traces on every call; ``backend`` picks the compile
    backend (as in ``grad``).
    """

    name = "value_and_grad"
    returns = "both"

    def __init__(self, f, argnums=0, has_aux=False, *, dynamic=False, backend=None):
        spec = ValueAndGrad(self.name, has_aux, self.returns)
        super().__init__(spec, f, check_argnums(self.name, argnums), dynamic, backend)
        self.has_aux = has_aux


class gradient(value_and_grad):
    """``gradient(f)(*args)`` -> the ``GradientResult`` of ``f`` (``g[0]`` for argument 0).

    With ``has_aux=True`` it returns ``(GradientResult, aux)``.
    """

    name = "gradient"
    returns = "gradient"


def source(f, *args, argnums=None, backend=None, **kwargs):
    """The generated source of every compiled variant for this call's signature."""
    return compiled_source(grad_spec(backend), f, args, kwargs, argnums)


def show_code(f, *args, argnums=None, backend=None, **kwargs):
    """Print the code that ``grad(f, *args, backend=backend)`` runs in static mode, under a
    line naming the backend that generated it (and, for "auto", which tier is active)."""
    print(source(f, *args, argnums=argnums, backend=backend, **kwargs), end="")
