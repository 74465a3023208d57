"""Elementwise primitives: arithmetic, math functions, comparisons. Each beside its rules.

Rules have the signature ``rule(dy, y, *args)``; the engine sums broadcast axes afterwards, so a
rule returns the gradient at the broadcast shape.
"""
import numpy as np

from ..errors import reject_out
from ..primitives import Primitive

IMPLEMENTS = {}


def ufunc(u, *rules, differentiable=True):
    """A primitive for the ufunc ``u`` with one rule per argument, registered for ``u``."""
    p = Primitive(u, name=u.__name__, differentiable=differentiable)
    p.defgrads(*rules)
    IMPLEMENTS[u] = p
    return p


def _tie_share(x, y, other):
    """1 where ``x`` produced ``y``, 1/2 where both arguments tie (the gradient is shared)."""
    return (x == y) / (1.0 + (x == other))


def _safe_log(a):
    return np.log(np.where(a == 0, 1.0, a))


# --- arithmetic --------------------------------------------------------------------------------
add = ufunc(np.add, lambda dy, y, a, b: dy, lambda dy, y, a, b: dy)
subtract = ufunc(np.subtract, lambda dy, y, a, b: dy, lambda dy, y, a, b: -dy)
multiply = ufunc(np.multiply, lambda dy, y, a, b: dy * b, lambda dy, y, a, b: dy * a)
divide = ufunc(np.true_divide, lambda dy, y, a, b: dy / b, lambda dy, y, a, b: -dy * y / b)
negative = ufunc(np.negative, lambda dy, y, x: -dy)
positive = ufunc(np.positive, lambda dy, y, x: dy)
def _power_grad_base(dy, y, a, b):
    if isinstance(b, (int, float)):  # the common x ** 2: no masking needed
        return dy * b * a ** (b - 1) if b != 0 else dy * 0.0
    return dy * b * a ** np.where(b, b - 1, 1.0)  # b == 0 gives 0, not 0 * a ** -1


power = ufunc(np.power, _power_grad_base, lambda dy, y, a, b: dy * y * _safe_log(a))
float_power = ufunc(
    np.float_power,
    lambda dy, y, a, b: dy * b * np.float_power(a, np.where(b, b - 1, 1.0)),
    lambda dy, y, a, b: dy * y * _safe_log(a),
)
remainder = ufunc(
    np.remainder, lambda dy, y, a, b: dy, lambda dy, y, a, b: -dy * np.floor_divide(a, b)
)
IMPLEMENTS[np.fmod] = ufunc(
    np.fmod, lambda dy, y, a, b: dy, lambda dy, y, a, b: -dy * np.trunc(a / b)
)
maximum = ufunc(
    np.maximum,
    lambda dy, y, a, b: dy * _tie_share(a, y, b),
    lambda dy, y, a, b: dy * _tie_share(b, y, a),
)
minimum = ufunc(
    np.minimum,
    lambda dy, y, a, b: dy * _tie_share(a, y, b),
    lambda dy, y, a, b: dy * _tie_share(b, y, a),
)
fmax = ufunc(
    np.fmax,
    lambda dy, y, a, b: dy * _tie_share(a, y, b),
    lambda dy, y, a, b: dy * _tie_share(b, y, a),
)
fmin = ufunc(
    np.fmin,
    lambda dy, y, a, b: dy * _tie_share(a, y, b),
    lambda dy, y, a, b: dy * _tie_share(b, y, a),
)
# |x| has gradient sign(x): 0 at the kink x == 0 (the subgradient closest to zero).
absolute = ufunc(np.absolute, lambda dy, y, x: dy * np.sign(x))
fabs = ufunc(np.fabs, lambda dy, y, x: dy * np.sign(x))
square = ufunc(np.square, lambda dy, y, x: dy * 2 * x)
reciprocal = ufunc(np.reciprocal, lambda dy, y, x: -dy * y * y)

# --- exponentials and logarithms ---------------------------------------------------------------
sqrt = ufunc(np.sqrt, lambda dy, y, x: dy * 0.5 / y)
cbrt = ufunc(np.cbrt, lambda dy, y, x: dy / (3 * y * y))
exp = ufunc(np.exp, lambda dy, y, x: dy * y)
exp2 = ufunc(np.exp2, lambda dy, y, x: dy * y * np.log(2.0))
expm1 = ufunc(np.expm1, lambda dy, y, x: dy * (y + 1))
log = ufunc(np.log, lambda dy, y, x: dy / x)
log2 = ufunc(np.log2, lambda dy, y, x: dy / (x * np.log(2.0)))
log10 = ufunc(np.log10, lambda dy, y, x: dy / (x * np.log(10.0)))
log1p = ufunc(np.log1p, lambda dy, y, x: dy / (x + 1))
logaddexp = ufunc(
    np.logaddexp, lambda dy, y, a, b: dy * np.exp(a - y), lambda dy, y, a, b: dy * np.exp(b - y)
)
logaddexp2 = ufunc(
    np.logaddexp2,
    lambda dy, y, a, b: dy * np.exp2(a - y),
    lambda dy, y, a, b: dy * np.exp2(b - y),
)

# --- trigonometric and hyperbolic --------------------------------------------------------------
sin = ufunc(np.sin, lambda dy, y, x: dy * np.cos(x))
cos = ufunc(np.cos, lambda dy, y, x: -dy * np.sin(x))
tan = ufunc(np.tan, lambda dy, y, x: dy * (1 + y * y))
arcsin = ufunc(np.arcsin, lambda dy, y, x: dy / np.sqrt(1 - x * x))
arccos = ufunc(np.arccos, lambda dy, y, x: -dy / np.sqrt(1 - x * x))
arctan = ufunc(np.arctan, lambda dy, y, x: dy / (1 + x * x))
arctan2 = ufunc(
    np.arctan2,
    lambda dy, y, a, b: dy * b / (a * a + b * b),
    lambda dy, y, a, b: -dy * a / (a * a + b * b),
)
hypot = ufunc(np.hypot, lambda dy, y, a, b: dy * a / y, lambda dy, y, a, b: dy * b / y)
sinh = ufunc(np.sinh, lambda dy, y, x: dy * np.cosh(x))
cosh = ufunc(np.cosh, lambda dy, y, x: dy * np.sinh(x))
tanh = ufunc(np.tanh, lambda dy, y, x: dy * (1 - y * y))
arcsinh = ufunc(np.arcsinh, lambda dy, y, x: dy / np.sqrt(x * x + 1))
arccosh = ufunc(np.arccosh, lambda dy, y, x: dy / np.sqrt(x * x - 1))
arctanh = ufunc(np.arctanh, lambda dy, y, x: dy / (1 - x * x))
deg2rad = ufunc(np.deg2rad, lambda dy, y, x: dy * (np.pi / 180))
rad2deg = ufunc(np.rad2deg, lambda dy, y, x: dy * (180 / np.pi))
IMPLEMENTS[np.radians] = deg2rad
IMPLEMENTS[np.degrees] = rad2deg

# --- piecewise constant: recorded (static graphs recompute them), gradient zero ----------------
for _u in (np.sign, np.floor, np.ceil, np.trunc, np.rint, np.floor_divide, np.heaviside,
           np.spacing):
    ufunc(_u, differentiable=False)

# --- comparisons and logic: tracked, never differentiable --------------------------------------
for _u in (np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal,
           np.logical_and, np.logical_or, np.logical_xor, np.logical_not, np.isnan, np.isinf,
           np.isfinite, np.signbit, np.bitwise_and, np.bitwise_or, np.bitwise_xor, np.invert,
           np.left_shift, np.right_shift):
    ufunc(_u, differentiable=False)

_round = Primitive(lambda x, decimals=0: np.round(x, decimals), name="round", differentiable=False)


def round_(a, decimals=0, out=None):
    reject_out("round", out)
    return _round(a, decimals=decimals)


IMPLEMENTS[np.round] = round_
if hasattr(np, "around"):
    IMPLEMENTS[np.around] = IMPLEMENTS[np.round]
