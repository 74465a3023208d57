"""Elementwise primitives: arithmetic, math functions, comparisons. Each beside its rules.

Rules have the signature ``rule(dy, y, *args)``; the engine sums broadcast axes afterwards, so a
rule returns the gradient at the broadcast shape.

Conventions where the derivative is not defined (each one tested):

- ``abs``/``fabs`` at 0: gradient 0 (the subgradient closest to zero); so ``sign``-like kinks
  give 0, not 1.
- ``maximum``/``minimum``/``fmax``/``fmin`` with equal arguments: the gradient is shared, half to
  each. So ``np.maximum(x, 0)`` (relu) has gradient 1/2 at x == 0.
- ``clip`` at a bound: the gradient goes to ``x`` (the bound gets it only strictly outside).
- ``sqrt``, ``log``, ``x ** 0.5``... at 0 give inf or nan, as the math does (NumPy warns).
- Piecewise constant functions (``floor``, ``ceil``, ``round``, ``sign``, ``floor_divide``,
  comparisons) have gradient 0 everywhere, jumps included.
- ``remainder``/``fmod``: gradient 1 for the dividend and ``-floor(a / b)`` (``-trunc``) for the
  divisor, i.e. the derivative away from the jumps.
- NaN and inf flow through like NumPy's own arithmetic: yota never raises on them.

Complex values (FFT results, ``x * 1j``) follow the convention in yota/backward.py: rules of
holomorphic functions are the real formulas; ``abs``, ``angle``, ``real``, ``imag`` and
``conj`` have their own.
"""
import math

import numpy as np

from ..errors import reject_out
from ..kernel.emit import infix, passes_first_on, prefix
from ..kernel.primitive import Primitive, nondifferentiable, primitive
from ..kernel.unbroadcast import real
from ..registry import ImplementationTable

IMPLEMENTS = ImplementationTable()
implements = IMPLEMENTS.implements


def ufunc(u, *rules, differentiable=True, nondiff_argnums=()):
    """A primitive for the ufunc ``u`` with one rule per argument, registered for ``u``."""
    p = Primitive(u, name=u.__name__, differentiable=differentiable,
                  nondiff_argnums=nondiff_argnums)
    p.defgrads(*rules)
    IMPLEMENTS[u] = p
    return p


def _tie_share(dy, x, y, other):
    """dy where ``x`` produced ``y``, dy/2 where both arguments tie (the gradient is shared);
    written so a float32 ``dy`` stays float32."""
    g = dy * (x == y)
    return np.where(x == other, g * 0.5, g)


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


def _times_one(args, kwargs, avals, out):
    """``x * 1`` (a constant of ones that changes neither shape nor dtype) passes ``x`` on."""
    if kwargs or len(args) != 2:
        return None
    for var, const in ((0, 1), (1, 0)):
        if avals[var] is not None and avals[const] is None and _is_one(args[const]) \
                and avals[var].same(out):
            return args[var]
    return None


def _is_one(c):
    if isinstance(c, (bool, np.bool_)):
        return False
    if isinstance(c, (int, float, np.number)):
        return c == 1
    if isinstance(c, np.ndarray) and c.dtype.kind in "fiu" and c.size:
        return bool(np.all(c == 1))
    return False


multiply.declare(noop=_times_one)
positive.declare(noop=passes_first_on)
# How the "numpy" code generator spells them: Python's operators (in place: augmented assignment)
add.defemit("numpy", infix("+", augmented=True, commutative=True))
subtract.defemit("numpy", infix("-", augmented=True))
multiply.defemit("numpy", infix("*", augmented=True, commutative=True))
divide.defemit("numpy", infix("/", augmented=True))
power.defemit("numpy", infix("**", augmented=True))
remainder.defemit("numpy", infix("%"))
negative.defemit("numpy", prefix("-"))
IMPLEMENTS[np.fmod] = ufunc(
    np.fmod, lambda dy, y, a, b: dy, lambda dy, y, a, b: -dy * np.trunc(a / b)
)
maximum = ufunc(
    np.maximum,
    lambda dy, y, a, b: _tie_share(dy, a, y, b),
    lambda dy, y, a, b: _tie_share(dy, b, y, a),
)
minimum = ufunc(
    np.minimum,
    lambda dy, y, a, b: _tie_share(dy, a, y, b),
    lambda dy, y, a, b: _tie_share(dy, b, y, a),
)
fmax = ufunc(
    np.fmax,
    lambda dy, y, a, b: _tie_share(dy, a, y, b),
    lambda dy, y, a, b: _tie_share(dy, b, y, a),
)
fmin = ufunc(
    np.fmin,
    lambda dy, y, a, b: _tie_share(dy, a, y, b),
    lambda dy, y, a, b: _tie_share(dy, b, y, a),
)
def _abs_grad(dy, y, x):
    """|x| has gradient sign(x): 0 at the kink x == 0; conj(z) / |z| for complex z."""
    if x.dtype.kind == "c":
        return dy * np.conj(x) / np.where(y == 0, 1, y)
    return dy * np.sign(x)


absolute = ufunc(np.absolute, _abs_grad)
fabs = ufunc(np.fabs, lambda dy, y, x: dy * np.sign(x))
square = ufunc(np.square, lambda dy, y, x: dy * 2 * x)
reciprocal = ufunc(np.reciprocal, lambda dy, y, x: -dy * y * y)

# --- exponentials and logarithms ---------------------------------------------------------------
sqrt = ufunc(np.sqrt, lambda dy, y, x: dy * 0.5 / y)
cbrt = ufunc(np.cbrt, lambda dy, y, x: dy / (3 * y * y))
exp = ufunc(np.exp, lambda dy, y, x: dy * y)
exp2 = ufunc(np.exp2, lambda dy, y, x: dy * y * math.log(2.0))
expm1 = ufunc(np.expm1, lambda dy, y, x: dy * (y + 1))
log = ufunc(np.log, lambda dy, y, x: dy / x)
log2 = ufunc(np.log2, lambda dy, y, x: dy / (x * math.log(2.0)))
log10 = ufunc(np.log10, lambda dy, y, x: dy / (x * math.log(10.0)))
log1p = ufunc(np.log1p, lambda dy, y, x: dy / (x + 1))
logaddexp = ufunc(
    np.logaddexp, lambda dy, y, a, b: dy * np.exp(a - y), lambda dy, y, a, b: dy * np.exp(b - y)
)
logaddexp2 = ufunc(
    np.logaddexp2,
    lambda dy, y, a, b: dy * np.exp2(a - y),
    lambda dy, y, a, b: dy * np.exp2(b - y),
)
copysign = ufunc(
    np.copysign,
    lambda dy, y, a, b: dy * np.sign(a) * np.where(np.signbit(b), -1, 1),
    nondiff_argnums=(1,),
).declare(zero_gradient=(1,))  # only the sign of b is used: gradient 0
ldexp = ufunc(np.ldexp, lambda dy, y, a, e: np.ldexp(dy, e),
              nondiff_argnums=(1,))  # e is an integer array

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


@primitive
def sinc(x):
    return np.sinc(x)


@sinc.defgrad
def _sinc_grad(dy, y, x):
    # d/dx sin(pi x) / (pi x) = (cos(pi x) - sinc(x)) / x, and 0 at x == 0 (sinc is even).
    safe = np.where(x == 0, 1, x)
    return dy * np.where(x == 0, 0, (np.cos(np.pi * x) - y) / safe)


IMPLEMENTS[np.sinc] = sinc


@primitive
def i0(x):
    """np.i0, the modified Bessel function of order 0; its derivative is i1."""
    return np.i0(x)


_I1_NODES = np.linspace(0.0, np.pi, 129)
_I1_WEIGHTS = np.full(129, 1.0 / 128)
_I1_WEIGHTS[[0, -1]] = 0.5 / 128


@primitive
def i1(x):
    """The modified Bessel function of order 1, which NumPy lacks: (1/pi) times the integral of
    exp(x cos t) cos t over [0, pi], by the trapezoidal rule (spectrally accurate for this
    periodic integrand; 128 panels reach float64 precision wherever exp(|x|) is finite)."""
    x = np.asarray(x, dtype=np.result_type(x, 1.0))
    s = np.abs(x)[..., None]
    cos = np.cos(_I1_NODES)
    inner = np.exp(s * (cos - 1.0)) * cos @ _I1_WEIGHTS
    with np.errstate(over="ignore", invalid="ignore"):
        quadrature = np.sign(x) * np.exp(np.abs(x)) * inner
    series = x / 2 * (1 + x * x / 8 * (1 + x * x / 24))   # where the integral cancels
    return np.where(np.abs(x) < 1e-2, series, quadrature).astype(x.dtype)


i0.defgrad(lambda dy, y, x: dy * i1(x))
i1.defgrad(lambda dy, y, x: dy * np.where(x == 0, 0.5, i0(x) - y / np.where(x == 0, 1, x)))
i0.declare(static_shape=True, fresh=True)
i1.declare(static_shape=True, fresh=True)
IMPLEMENTS[np.i0] = i0


@implements(np.nan_to_num)
def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """Replaced entries get gradient 0, the others pass it through."""
    if x.dtype.kind not in "fc":
        return x
    info = np.finfo(x.dtype)
    posinf = info.max if posinf is None else posinf
    neginf = info.min if neginf is None else neginf
    if x.dtype.kind == "c":
        return (nan_to_num(real_(x), nan=nan, posinf=posinf, neginf=neginf)
                + 1j * nan_to_num(imag_(x), nan=nan, posinf=posinf, neginf=neginf))
    out = np.where(np.isnan(x), np.asarray(nan, x.dtype), x)
    out = np.where(np.isposinf(x), np.asarray(posinf, x.dtype), out)
    return np.where(np.isneginf(x), np.asarray(neginf, x.dtype), out)


# --- piecewise constant: recorded (static graphs recompute them), gradient zero ----------------
for _u in (np.sign, np.floor, np.ceil, np.trunc, np.rint, np.floor_divide, np.heaviside,
           np.spacing, np.nextafter):
    ufunc(_u, differentiable=False)
IMPLEMENTS[np.floor_divide].defemit("numpy", infix("//"))

fix = nondifferentiable(lambda x: np.fix(x), name="fix")
IMPLEMENTS[np.fix] = fix
_isposinf = nondifferentiable(lambda x: np.isposinf(x), name="isposinf")
_isneginf = nondifferentiable(lambda x: np.isneginf(x), name="isneginf")
IMPLEMENTS[np.isposinf] = _isposinf
IMPLEMENTS[np.isneginf] = _isneginf


# --- ufuncs with two outputs: one primitive per output -----------------------------------------
def divmod_(a, b):
    return np.floor_divide(a, b), np.remainder(a, b)


def modf(x):
    whole = np.trunc(x)
    return x - whole, whole


_frexp_exponent = nondifferentiable(lambda x: np.frexp(x)[1], name="frexp_exponent")


def frexp(x):
    e = _frexp_exponent(x)
    return np.ldexp(x, -e), e


IMPLEMENTS[np.divmod] = divmod_
IMPLEMENTS[np.modf] = modf
IMPLEMENTS[np.frexp] = frexp

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


# --- complex values ----------------------------------------------------------------------------
conjugate = ufunc(np.conjugate, lambda dy, y, x: np.conj(dy))


@primitive
def imag(x):
    return np.imag(x)


imag.defgrad(lambda dy, y, x: dy * -1j)    # y = Im z: dL/db = dy, held as -i dL/db


@implements(np.real)
def real_(val):
    """The array itself for real input, as NumPy returns it."""
    return real(val) if val.dtype.kind == "c" else val


@implements(np.imag)
def imag_(val):
    if val.dtype.kind == "c":
        return imag(val)
    return np.zeros(val.shape, val.dtype)


@primitive
def angle(z, deg=False):
    return np.angle(z, deg=deg)


@angle.defgrad
def _angle_grad(dy, y, z, deg=False):
    # theta = atan2(b, a): dtheta/da = -b/r^2, dtheta/db = a/r^2, so -i conj(z) / r^2.
    r2 = real(z * np.conj(z))
    g = dy * -1j * np.conj(z) / np.where(r2 == 0, 1, r2)
    return g * (180 / np.pi) if deg else g


_real_angle = nondifferentiable(lambda x, deg=False: np.angle(x, deg=deg), name="angle")


@implements(np.angle)
def angle_(z, deg=False):
    """0 or pi for real input: piecewise constant, gradient 0."""
    return angle(z, deg=deg) if z.dtype.kind == "c" else _real_angle(z, deg=deg)


@implements(np.real_if_close)
def real_if_close(a, tol=100):
    """The real part when every imaginary part is within ``tol`` machine epsilons of 0 (a
    decision on values: static mode guards it and re-traces when it changes)."""
    if a.dtype.kind != "c":
        return a
    eps = np.finfo(a.dtype).eps
    if tol > 1:
        tol = tol * eps
    if bool(np.all(np.abs(imag(a)) < tol)):
        return real(a)
    return a


# --- ufunc methods: outer for every binary ufunc above -----------------------------------------
def _outer(u):
    def outer(a, b, **kwargs):
        reject_out(f"{u.__name__}.outer", kwargs.pop("out", None))
        a_shape = np.shape(a)
        return IMPLEMENTS[u](np.reshape(a, a_shape + (1,) * np.ndim(b)), b, **kwargs)

    return outer


for _u in list(IMPLEMENTS):
    if isinstance(_u, np.ufunc) and _u.nin == 2 and _u.nout == 1:
        IMPLEMENTS[(_u, "outer")] = _outer(_u)
