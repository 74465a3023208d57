"""scipy.special: its ufuncs as primitives, each beside its rules, and the functions SciPy writes
in Python (logsumexp, softmax, log_softmax, polygamma, multigammaln) rebuilt from primitives.

The ufunc primitives are registered for SciPy's ufuncs, so ``scipy.special.gammaln(x)`` on a
tracked value reaches them through NumPy's ``__array_ufunc__``. Every rule is written with
primitives or NumPy calls yota knows, so gradients differentiate again (any order).
"""
from __future__ import annotations

import math

import numpy as np
import scipy.special as sc

from yota import NoRuleError, stop_gradient
from yota.packs import pack_primitive

__all__ = ["gammaln", "digamma", "psi", "polygamma", "gamma", "betaln", "erf", "erfc",
           "erfinv", "expit", "logit", "ndtr", "log_ndtr", "xlogy", "xlog1py", "i0", "i1",
           "iv", "gammainc", "gammaincc", "betainc", "stdtr", "pdtr", "bdtr", "multigammaln",
           "logsumexp", "softmax", "log_softmax"]

PACK = "yota-scipy"
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_HALF_SQRT_PI = math.sqrt(math.pi) / 2.0
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _ufunc(ufunc, name, nondiff_argnums=()):
    return pack_primitive(ufunc, pack=PACK, name=name, nondiff_argnums=nondiff_argnums)


# --- the gamma family: each rule calls the next primitive of the chain ---------------------------
@pack_primitive(pack=PACK, nondiff_argnums=(0,))
def polygamma(n, x):
    """The n-th derivative of digamma; ``n`` is an integer order (no gradient)."""
    return sc.polygamma(n, x)


polygamma.defgrad(lambda dy, y, n, x: dy * polygamma(n + 1, x), argnum=1)

digamma = _ufunc(sc.psi, "digamma")
digamma.defgrad(lambda dy, y, x: dy * polygamma(1, x))
psi = digamma

gammaln = _ufunc(sc.gammaln, "gammaln")
gammaln.defgrad(lambda dy, y, x: dy * digamma(x))

gamma = _ufunc(sc.gamma, "gamma")
gamma.defgrad(lambda dy, y, x: dy * y * digamma(x))

betaln = _ufunc(sc.betaln, "betaln")
betaln.defgrads(lambda dy, y, a, b: dy * (digamma(a) - digamma(a + b)),
                lambda dy, y, a, b: dy * (digamma(b) - digamma(a + b)))

# --- error function and the normal CDF -----------------------------------------------------------
erf = _ufunc(sc.erf, "erf")
erf.defgrad(lambda dy, y, x: dy * _TWO_OVER_SQRT_PI * np.exp(-x * x))

erfc = _ufunc(sc.erfc, "erfc")
erfc.defgrad(lambda dy, y, x: dy * -_TWO_OVER_SQRT_PI * np.exp(-x * x))

erfinv = _ufunc(sc.erfinv, "erfinv")
erfinv.defgrad(lambda dy, y, x: dy * _HALF_SQRT_PI * np.exp(y * y))

ndtr = _ufunc(sc.ndtr, "ndtr")
ndtr.defgrad(lambda dy, y, x: dy * _INV_SQRT_2PI * np.exp(-0.5 * x * x))

log_ndtr = _ufunc(sc.log_ndtr, "log_ndtr")
# pdf / cdf, as one exponent: stays finite far in the left tail where both underflow.
log_ndtr.defgrad(lambda dy, y, x: dy * _INV_SQRT_2PI * np.exp(-0.5 * x * x - y))

# --- logistic ------------------------------------------------------------------------------------
expit = _ufunc(sc.expit, "expit")
expit.defgrad(lambda dy, y, x: dy * y * (1 - y))

logit = _ufunc(sc.logit, "logit")
logit.defgrad(lambda dy, y, x: dy / (x * (1 - x)))

# --- x log y -------------------------------------------------------------------------------------
xlogy = _ufunc(sc.xlogy, "xlogy")
xlogy.defgrads(lambda dy, out, x, y: dy * np.log(y), lambda dy, out, x, y: dy * x / y)

xlog1py = _ufunc(sc.xlog1py, "xlog1py")
xlog1py.defgrads(lambda dy, out, x, y: dy * np.log1p(y), lambda dy, out, x, y: dy * x / (1 + y))

# --- modified Bessel functions of the first kind -------------------------------------------------
iv = _ufunc(sc.iv, "iv", nondiff_argnums=(0,))   # the order v: no gradient
iv.defgrad(lambda dy, y, v, x: dy * 0.5 * (iv(v - 1, x) + iv(v + 1, x)), argnum=1)

i0 = _ufunc(sc.i0, "i0")
i0.defgrad(lambda dy, y, x: dy * i1(x))

i1 = _ufunc(sc.i1, "i1")


def _i2(x):
    """I2(x), which is below 1e-200 for |x| < 1e-100, where SciPy's iv(2, x) returns NaN on
    subnormal x: 0 there, computed on a safe stand-in so no NaN reaches a higher derivative."""
    tiny = np.abs(x) < 1e-100
    return np.where(tiny, 0.0, iv(2.0, np.where(tiny, 1.0, x)))


# I1' = (I0 + I2) / 2, finite at 0 (unlike I0 - I1/x).
i1.defgrad(lambda dy, y, x: dy * 0.5 * (i0(x) + _i2(x)))


# --- distribution functions: rules in x (and in the Poisson rate, the binomial p) --------------
def _not_done(function, argument):
    """The rule of a shape parameter whose derivative has no closed form: an error, never 0."""
    def rule(dy, y, *args):
        raise NoRuleError(
            f"yota-scipy: the gradient of scipy.special.{function} with respect to {argument} "
            "is not implemented (it has no closed form); its other arguments have rules. Keep "
            f"{argument} a constant, or wrap it in yota.stop_gradient")
    return rule


def _log_gamma_density(a, x):
    return xlogy(a - 1.0, x) - x - gammaln(a)


gammainc = _ufunc(sc.gammainc, "gammainc")     # regularized lower incomplete gamma P(a, x)
gammainc.defgrads(_not_done("gammainc", "a"),
                  lambda dy, y, a, x: dy * np.exp(_log_gamma_density(a, x)))

gammaincc = _ufunc(sc.gammaincc, "gammaincc")
gammaincc.defgrads(_not_done("gammaincc", "a"),
                   lambda dy, y, a, x: -dy * np.exp(_log_gamma_density(a, x)))

betainc = _ufunc(sc.betainc, "betainc")        # regularized incomplete beta I_x(a, b)
betainc.defgrads(_not_done("betainc", "a"), _not_done("betainc", "b"),
                 lambda dy, y, a, b, x: dy * np.exp(xlogy(a - 1.0, x) + xlog1py(b - 1.0, -x)
                                                    - betaln(a, b)))


def t_logpdf(t, df):
    """log of Student's t density (no loc/scale), shared with yota_scipy.stats."""
    half = (df + 1.0) / 2.0
    return (gammaln(half) - gammaln(df / 2.0) - 0.5 * np.log(df * math.pi)
            - half * np.log1p(t * t / df))


stdtr = _ufunc(sc.stdtr, "stdtr")              # Student's t CDF
stdtr.defgrads(_not_done("stdtr", "df"), lambda dy, y, df, t: dy * np.exp(t_logpdf(t, df)))

pdtr = _ufunc(sc.pdtr, "pdtr", nondiff_argnums=(0,))      # Poisson CDF; k counts
pdtr.defgrad(lambda dy, y, k, m: -dy * np.exp(xlogy(np.floor(k), m) - m
                                              - gammaln(np.floor(k) + 1.0)), argnum=1)

bdtr = _ufunc(sc.bdtr, "bdtr", nondiff_argnums=(0, 1))    # binomial CDF; k, n counts


@bdtr.defgrad(argnum=2)
def _bdtr_grad(dy, y, k, n, p):
    """d/dp P(K <= k) = -n pmf(k; n - 1, p); zero once k >= n (the CDF is 1)."""
    k = np.floor(k)
    inside = (k >= 0) & (k < n)
    k = np.clip(k, 0.0, n - 1.0)
    log_pmf = (gammaln(n + 0.0) - gammaln(k + 1.0) - gammaln(n - k) + xlogy(k, p)
               + xlog1py(n - 1.0 - k, -p))
    return np.where(inside, -dy * n * np.exp(log_pmf), 0.0)


UFUNCS = {sc.gammaln: gammaln, sc.psi: digamma, sc.gamma: gamma, sc.betaln: betaln,
          sc.erf: erf, sc.erfc: erfc, sc.erfinv: erfinv, sc.ndtr: ndtr, sc.log_ndtr: log_ndtr,
          sc.expit: expit, sc.logit: logit, sc.xlogy: xlogy, sc.xlog1py: xlog1py, sc.iv: iv,
          sc.i0: i0, sc.i1: i1, sc.gammainc: gammainc, sc.gammaincc: gammaincc,
          sc.betainc: betainc, sc.stdtr: stdtr, sc.pdtr: pdtr, sc.bdtr: bdtr}
PRIMITIVES = tuple(UFUNCS.values()) + (polygamma,)


# --- SciPy's Python functions, rebuilt from primitives --------------------------------------------
def multigammaln(a, d):
    """log of the multivariate gamma function of dimension ``d`` (an integer)."""
    d = int(d)
    total = d * (d - 1) / 4.0 * math.log(math.pi)
    for j in range(d):
        total = total + gammaln(a - j / 2.0)
    return total


def _shift(a, axis):
    """max(a) over ``axis`` (kept), 0 where it is not finite; a constant: any shift is exact."""
    m = stop_gradient(np.max(a, axis=axis, keepdims=True))
    return np.where(np.isfinite(m), m, 0)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """scipy.special.logsumexp: log(sum(b * exp(a))) over ``axis``, shifted by the maximum."""
    m = _shift(a, axis)
    e = np.exp(a - m)
    if b is not None:
        e = b * e
    s = np.sum(e, axis=axis, keepdims=True)
    if return_sign:
        sign = np.sign(stop_gradient(s))
        s = np.abs(s)
    out = np.log(s) + m
    if not keepdims:
        out = np.squeeze(out, axis=axis)
        if return_sign:
            sign = np.squeeze(sign, axis=axis)
    return (out, sign) if return_sign else out


def log_softmax(x, axis=None):
    """scipy.special.log_softmax: x - logsumexp(x) over ``axis``."""
    return x - logsumexp(x, axis=axis, keepdims=True)


def softmax(x, axis=None):
    """scipy.special.softmax: exp(log_softmax(x))."""
    return np.exp(log_softmax(x, axis=axis))
