"""yota-scipy: SciPy for yota, in namespaces that mirror SciPy's.

    import scipy.special as sc          # SciPy's ufuncs work on tracked values directly
    import yota_scipy.stats as st       # the rest: SciPy converts inputs with np.asarray
    st.norm.logpdf(x, mu, sigma)

``yota_scipy.special`` (its ufuncs are registered for SciPy's, so ``scipy.special.gammaln(x)``
differentiates), ``yota_scipy.stats`` (log-densities, densities, CDFs), ``yota_scipy.linalg``
and ``yota_scipy.signal``. Every function works on plain arrays too, returning what SciPy
returns. Loaded by yota through the entry point ``scipy`` in the group ``yota``.
"""
from __future__ import annotations

import importlib

from yota import hookimpl

from . import special

__version__ = "0.2.0"
__all__ = ["special", "stats", "linalg", "signal"]
_SUBMODULES = ("stats", "linalg", "signal")


def __getattr__(name):
    # yota_scipy.stats after a plain `import yota_scipy`, as with scipy itself.
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _modules():
    from . import linalg, signal, stats
    return (special, stats, linalg, signal)


@hookimpl
def yota_register_primitives(registry):
    for ufunc, prim in special.UFUNCS.items():
        registry.implement(ufunc, prim)
    for module in _modules():
        for prim in module.PRIMITIVES:
            prim.declare(static_shape=True)   # output shapes follow from input shapes
            registry.add_primitive(prim)
