"""The public transforms: ``grad`` and the function transforms built on the same blocks."""
from .functions import checkpoint, gradient, hessian, hvp, jacobian, value_and_grad, vjp
from .grad import grad, grad_dynamic, show_code, source

__all__ = ["grad", "grad_dynamic", "show_code", "source", "value_and_grad", "gradient", "vjp",
           "jacobian", "hessian", "hvp", "checkpoint"]
