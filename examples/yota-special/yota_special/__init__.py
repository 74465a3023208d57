"""yota-special: scipy.special functions as yota primitives, each beside its rules.

scipy's special functions are ufuncs, so registering a primitive for one
(``registry.implement(scipy.special.erf, erf)``) is all it takes for yota to trace code that
calls ``scipy.special.erf(x)`` on tracked values. Rules call primitives (never plain scipy), so
the backward pass is recorded and can be differentiated again.
"""
from __future__ import annotations

import numpy as np
import scipy.special as sc

import yota

__version__ = "0.1.0"
__all__ = ["erf", "gammaln", "digamma", "polygamma", "expit", "logit", "xlogy"]

_TWO_OVER_SQRT_PI = 2.0 / np.sqrt(np.pi)

erf = yota.Primitive(sc.erf, name="erf")
erf.defgrad(lambda dy, y, x: dy * _TWO_OVER_SQRT_PI * np.exp(-x * x))


@yota.primitive(nondiff_argnums=(0,))
def polygamma(n, x):
    """The n-th derivative of digamma; ``n`` is an integer order, constant in the trace."""
    return sc.polygamma(n, x)


polygamma.defgrad(lambda dy, y, n, x: dy * polygamma(n + 1, x), argnum=1)

digamma = yota.Primitive(sc.psi, name="digamma")
digamma.defgrad(lambda dy, y, x: dy * polygamma(1, x))

gammaln = yota.Primitive(sc.gammaln, name="gammaln")
gammaln.defgrad(lambda dy, y, x: dy * digamma(x))

expit = yota.Primitive(sc.expit, name="expit")
expit.defgrad(lambda dy, y, x: dy * y * (1 - y))

logit = yota.Primitive(sc.logit, name="logit")
logit.defgrad(lambda dy, y, x: dy / (x * (1 - x)))

xlogy = yota.Primitive(sc.xlogy, name="xlogy")
xlogy.defgrads(
    lambda dy, yv, x, y: dy * np.log(y),
    lambda dy, yv, x, y: dy * x / y,
)

# scipy.special.digamma and scipy.special.psi are the same ufunc.
IMPLEMENTS = {sc.erf: erf, sc.psi: digamma, sc.gammaln: gammaln, sc.expit: expit,
              sc.logit: logit, sc.xlogy: xlogy}


@yota.hookimpl
def yota_register_primitives(registry):
    for scipy_func, prim in IMPLEMENTS.items():
        registry.implement(scipy_func, prim)
    registry.add_primitive(polygamma)  # no ufunc to intercept: called as yota_special.polygamma
