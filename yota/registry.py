"""The registry packs fill: which NumPy callable is implemented by which primitive, and from
which plugin. Its tables are the kernel's dispatch tables (``yota.kernel.dispatch``).

Plugins fill it once, at load time. Dispatching an operation is then a single dictionary lookup.
"""
from __future__ import annotations

import numpy as np

from .errors import PluginConflictError, PluginError
from .kernel.dispatch import DISPATCH
from .kernel.primitive import Primitive

# Functions that a known pack provides, so a missing one can say what to install.
KNOWN_PACKS = {
    "yota-reductions": (
        "sum", "mean", "prod", "max", "min", "amax", "amin", "var", "std", "logsumexp",
        "nansum", "nanmean", "nanvar", "nanstd", "nanmax", "nanmin", "ptp",
        "cumsum", "cumprod", "median", "percentile", "quantile", "average",
        "nancumsum", "nancumprod", "diff", "nanmedian", "nanpercentile", "nanquantile",
        "sort", "partition", "argpartition", "cov", "corrcoef",
        "add.reduce", "add.accumulate", "multiply.reduce", "multiply.accumulate",
        "maximum.reduce", "maximum.accumulate", "minimum.reduce", "minimum.accumulate",
    ),
    "yota-linalg": (
        "matmul", "dot", "inner", "outer", "tensordot", "einsum", "trace", "diag", "kron",
        "cross", "vdot", "inv", "solve", "det", "slogdet", "norm", "cholesky", "pinv", "eigh",
        "svd", "qr", "lstsq", "matrix_power", "multi_dot", "eigvalsh", "svdvals", "matrix_rank",
        "cond",
    ),
    "yota-fft": (
        "fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2",
        "rfftn", "irfftn", "hfft", "ihfft", "fftshift", "ifftshift",
    ),
    "yota-nn": (
        "relu", "leaky_relu", "sigmoid", "softplus", "gelu", "softmax", "log_softmax",
        "cross_entropy", "mse", "logistic_loss",
    ),
}


def pack_for(name):
    """The pack known to provide ``name``, or None."""
    for pack, names in KNOWN_PACKS.items():
        if name in names:
            return pack
    return None


def numpy_name(func):
    """'numpy.linalg.inv' style name of a NumPy callable, for messages; a ufunc method key
    ``(np.add, "reduce")`` reads 'numpy.add.reduce'."""
    if _is_ufunc_method(func):
        return f"numpy.{func[0].__name__}.{func[1]}"
    if isinstance(func, np.ufunc):
        return f"numpy.{func.__name__}"
    module = getattr(func, "__module__", None) or "numpy"
    if module.startswith("numpy") and module not in ("numpy.linalg", "numpy.fft"):
        module = "numpy"
    return f"{module}.{getattr(func, '__name__', repr(func))}"


def short_name(func):
    """The name KNOWN_PACKS uses: 'sum', 'inv', 'add.reduce'."""
    if _is_ufunc_method(func):
        return f"{func[0].__name__}.{func[1]}"
    return getattr(func, "__name__", repr(func))


def _is_ufunc_method(key):
    return type(key) is tuple and len(key) == 2 and isinstance(key[0], np.ufunc)


def missing_rule_message(what, short_name):
    pack = pack_for(short_name)
    if pack is not None:
        hint = (
            f"it is provided by the {pack} pack: install it (pip install {pack}) "
            "or enable it if it is disabled (YOTA_DISABLE_PLUGINS)"
        )
    else:
        hint = (
            "no known pack provides it: write a primitive with @yota.primitive and a rule with "
            ".defgrad, or compute it from functions yota knows"
        )
    return f"yota: {what} has no yota implementation, so it cannot be traced; {hint}."


class ImplementationTable(dict):
    """NumPy callable -> yota implementation, as a pack's module collects them before its hook
    hands them to ``registry.implement``. ``@TABLE.implements(np.flip, np.flipud)`` fills it."""

    def implements(self, *numpy_funcs):
        def register(impl):
            for f in numpy_funcs:
                self[f] = impl
            return impl

        return register


class Registry:
    """NumPy callables -> yota implementations, and who registered each."""

    def __init__(self):
        self.ufuncs = DISPATCH.ufuncs        # np.ufunc -> callable taking the ufunc's arguments
        self.functions = DISPATCH.functions  # NumPy function -> callable with NumPy's signature
        self.primitives = {}    # name -> Primitive, for listing and lookup
        self.provider = {}      # NumPy callable or primitive name -> plugin name
        self.plugin = None      # the plugin registering right now

    def tables(self):
        """The dicts that make up the registry (cleared and restored in place: tracked.py
        holds a direct reference to ``ufuncs`` for speed)."""
        return (self.ufuncs, self.functions, self.primitives, self.provider)

    def snapshot(self):
        return tuple(dict(t) for t in self.tables())

    def restore(self, snapshot):
        for table, saved in zip(self.tables(), snapshot):
            table.clear()
            table.update(saved)

    def implement(self, numpy_func, impl, *, override=False):
        """Route ``numpy_func`` (a ufunc or a NumPy function) to ``impl`` when given tracked values.

        Two plugins claiming the same function is an error unless the later one says override=True.
        """
        table = self.ufuncs if isinstance(numpy_func, np.ufunc) else self.functions
        owner = self.provider.get(numpy_func)
        if numpy_func in table and not override and owner != self.plugin:
            raise PluginConflictError(
                f"yota: plugins {owner!r} and {self.plugin!r} both implement "
                f"{numpy_name(numpy_func)}; uninstall or disable one (YOTA_DISABLE_PLUGINS), "
                "or register with override=True to replace it on purpose"
            )
        table[numpy_func] = impl
        self.provider[numpy_func] = self.plugin
        if isinstance(impl, Primitive):
            self.add_primitive(impl)
        return impl

    def add_primitive(self, prim, *, override=False):
        """List a primitive (also one with no NumPy counterpart, such as yota_nn.relu)."""
        if not isinstance(prim, Primitive):
            raise PluginError(f"yota: plugin {self.plugin!r} registered {prim!r}, not a Primitive")
        existing = self.primitives.get(prim.name)
        if existing is not None and existing is not prim and not override:
            owner = self.provider.get(prim.name)
            if owner != self.plugin:
                raise PluginConflictError(
                    f"yota: plugins {owner!r} and {self.plugin!r} both register a primitive "
                    f"named {prim.name!r}; rename one or register with override=True"
                )
        self.primitives[prim.name] = prim
        self.provider[prim.name] = self.plugin
        if prim.pack is None:   # named in the kernel's error messages (it knows no registry)
            prim.pack = self.plugin
        return prim

    ufunc = staticmethod(DISPATCH.ufunc)
    function = staticmethod(DISPATCH.function)


def _explain_missing(func):
    return missing_rule_message(numpy_name(func), short_name(func))


DISPATCH.explain_missing = _explain_missing
REGISTRY = Registry()
