"""``grad``: the value and the gradients of a scalar function, ``val, g = grad(f, *args)``."""
from __future__ import annotations

import numpy as np

from ..compile import source as compiled_source
from ..compile import static_grad
from ..kernel.backward import backward
from ..tracing import check_scalar_output, gradient_result, trace, unwrap

__all__ = ["grad", "grad_dynamic", "show_code", "source"]


def grad(f, *args, dynamic=False, argnums=None, **kwargs):
    """Value and gradients of a scalar function: ``val, g = grad(f, *args)``.

    ``g[i]`` is the gradient w.r.t. argument ``i`` (see GradientResult). Keyword arguments
    other than ``dynamic`` and ``argnums`` are passed to ``f`` and never differentiated.
    ``dynamic=True`` re-traces on every call; the default static mode compiles once per input
    signature.
    """
    if dynamic:
        return grad_dynamic(f, args, kwargs, argnums)
    return static_grad(f, args, kwargs, argnums, grad_dynamic)


def grad_dynamic(f, args, kwargs, argnums=None):
    tr, tape = trace(f, args, kwargs, argnums)
    out = tr.output
    check_scalar_output(f, out)
    seed = np.ones((), dtype=out.dtype if hasattr(out, "dtype") else np.float64)
    grads = backward(tape, out, seed, record=False)
    value = unwrap(tape, out)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    result = gradient_result(tr, grads)
    tape.release()
    return value, result


def source(f, *args, argnums=None, **kwargs):
    """The generated source of every compiled variant for this call's signature."""
    return compiled_source(f, args, kwargs, argnums, grad_dynamic)


def show_code(f, *args, argnums=None, **kwargs):
    """Print the straight-line NumPy code that ``grad(f, *args)`` runs in static mode."""
    print(source(f, *args, argnums=argnums, **kwargs), end="")
