"""The public transforms, each defined once and run by two executors.

``executors`` holds the idea: a ``Transform`` describes its outputs from a trace, the dynamic
executor evaluates that description on the live tape, the static one compiles it
(``yota.compile``). ``blocks`` has the checks and seeds they share; ``gradients`` (``grad``,
``value_and_grad``, ``gradient``), ``jacobians`` (``jacobian``, ``hessian``), ``products``
(``vjp``, ``hvp``) and ``checkpoints`` (``checkpoint``) define the transforms; autograd's
conveniences live in ``conveniences`` (``flatten``, ``make_hvp``), ``implicit``
(``fixed_point``) and ``odeint`` (``odeint``, with an adjoint gradient).
"""
from .checkpoints import checkpoint
from .gradients import GRAD, elementwise_grad, grad, gradient, show_code, source, value_and_grad
from .conveniences import flatten, make_hvp
from .implicit import fixed_point
from .jacobians import hessian, jacobian
from .odeint import odeint
from .products import hvp, vjp

__all__ = ["grad", "show_code", "source", "value_and_grad", "gradient", "vjp", "jacobian",
           "hessian", "hvp", "checkpoint", "GRAD", "build_grad", "elementwise_grad", "flatten",
           "make_hvp", "fixed_point", "odeint"]

build_grad = GRAD.build  # the static build of ``grad`` (for compiling one variant by hand)
