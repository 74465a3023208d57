"""yota-special: a worked example of a yota pack (docs/writing-a-pack.md): three scipy.special
functions that yota-scipy does not cover, as primitives, each beside its rules.

scipy's special functions are ufuncs, so registering a primitive for one
(``registry.implement(scipy.special.erfcx, erfcx)``) is all it takes for yota to trace code that
calls ``scipy.special.erfcx(x)`` on tracked values. Each rule calls the primitive itself (never
plain scipy), so the backward pass is recorded and can be differentiated again, to any order.
For gammaln, erf, logsumexp, the scipy.stats densities and the rest, install yota-scipy.
"""
from __future__ import annotations

import numpy as np
import scipy.special as sc

import yota
from yota.packs import pack_primitive

__version__ = "0.2.0"
__all__ = ["erfcx", "dawsn", "jv"]

_TWO_OVER_SQRT_PI = 2.0 / np.sqrt(np.pi)

# erfcx(x) = exp(x^2) erfc(x): its derivative is 2x erfcx(x) - 2/sqrt(pi).
# Users may import each function (from yota_special import erfcx), so each is a pack primitive.
erfcx = pack_primitive(sc.erfcx, pack="yota-special", name="erfcx")
erfcx.defgrad(lambda dy, y, x: dy * (2 * x * y - _TWO_OVER_SQRT_PI))

# Dawson's integral F(x): F'(x) = 1 - 2x F(x).
dawsn = pack_primitive(sc.dawsn, pack="yota-special", name="dawsn")
dawsn.defgrad(lambda dy, y, x: dy * (1 - 2 * x * y))

# The Bessel function J_v(z): the order v is a constant (no rule); dJ_v/dz = (J_{v-1} - J_{v+1})/2.
jv = pack_primitive(sc.jv, pack="yota-special", name="jv", nondiff_argnums=(0,))
jv.defgrad(lambda dy, y, v, z: dy * 0.5 * (jv(v - 1, z) - jv(v + 1, z)), argnum=1)

IMPLEMENTS = {sc.erfcx: erfcx, sc.dawsn: dawsn, sc.jv: jv}

for _prim in IMPLEMENTS.values():
    _prim.declare(static_shape=True)   # ufuncs broadcast: the output shape follows the inputs'


@yota.hookimpl
def yota_register_primitives(registry):
    for scipy_func, prim in IMPLEMENTS.items():
        registry.implement(scipy_func, prim)
