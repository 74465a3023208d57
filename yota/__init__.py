"""yota: reverse-mode automatic differentiation for plain NumPy code.

The public API, and nothing else. The layers below it, each importing only from the ones before
it: errors -> kernel -> packs' API -> core_pack -> packs' host -> tree, result -> tracing ->
compile -> transforms -> optim -> testing, cli (see docs/architecture.md).
"""
from .errors import (ConcretizationError, InPlaceError, InputError, NoRuleError,
                     NotScalarError, PluginError, RuleError, YotaError)
from .kernel import Primitive, Tape, Tracked, defgrad, nondifferentiable, primitive, stop_gradient
from .hookspecs import hookimpl
from .packs import pack_primitive
from .result import GradientResult
from .tree import constant_field
from .transforms import (checkpoint, elementwise_grad, fixed_point, flatten, grad, gradient,
                         hessian, hvp, jacobian, make_hvp, odeint, show_code, value_and_grad,
                         vjp)
from .compile import clear_cache
from . import optim  # yota.optim.Adam after a plain `import yota`
from . import plugins  # yota.plugins.reload() after a plain `import yota`

__version__ = "0.2.0"  # the one place: pyproject.toml reads it (tool.setuptools.dynamic)

__all__ = [
    "grad", "primitive", "defgrad", "nondifferentiable", "pack_primitive", "Primitive",
    "GradientResult", "constant_field",
    "Tape", "Tracked", "hookimpl", "YotaError", "NoRuleError", "NotScalarError",
    "InPlaceError", "InputError", "RuleError", "PluginError", "ConcretizationError",
    "stop_gradient",
    "value_and_grad", "gradient", "vjp", "jacobian", "hessian", "hvp", "checkpoint",
    "clear_cache", "show_code",
    "elementwise_grad", "flatten", "make_hvp", "fixed_point", "odeint",
]
