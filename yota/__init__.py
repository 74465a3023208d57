"""yota: reverse-mode automatic differentiation for plain NumPy code."""
from .differentiate import grad
from .errors import (ConcretizationError, InPlaceError, InputError, NoRuleError,
                     NotScalarError, PluginError, RuleError, YotaError)
from .hookspecs import hookimpl
from .packs import pack_primitive
from .primitives import Primitive, defgrad, nondifferentiable, primitive, stop_gradient
from .result import GradientResult
from .tape import Tape
from .tracked import Tracked
from .transforms import checkpoint, gradient, hessian, hvp, jacobian, value_and_grad, vjp
from . import optim  # yota.optim.Adam after a plain `import yota`
from .compile import clear_cache, show_code

__version__ = "0.1.0"

__all__ = [
    "grad", "primitive", "defgrad", "nondifferentiable", "pack_primitive", "Primitive",
    "GradientResult",
    "Tape", "Tracked", "hookimpl", "YotaError", "NoRuleError", "NotScalarError",
    "InPlaceError", "InputError", "RuleError", "PluginError", "ConcretizationError",
    "stop_gradient",
    "value_and_grad", "gradient", "vjp", "jacobian", "hessian", "hvp", "checkpoint",
    "clear_cache", "show_code",
]
