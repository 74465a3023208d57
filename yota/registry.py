"""What a pack registers (``Registration``, one per pack, handed to its hook) and the registry
the plugin host fills from all of them at once (``Registry``): which NumPy callable is implemented
by which primitive, from which pack. Its tables are the kernel's dispatch tables
(``yota.kernel.dispatch``).

Filled once, at load time. Dispatching an operation is then a single dictionary lookup.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from .errors import PluginError
from .kernel.dispatch import DISPATCH
from .kernel.primitive import Primitive

if TYPE_CHECKING:
    from collections.abc import Callable

_Impl = TypeVar("_Impl")

# Functions that a known pack provides, so a missing one can say what to install.
KNOWN_PACKS = {
    "yota-reductions": (
        "sum", "mean", "prod", "max", "min", "amax", "amin", "var", "std", "logsumexp",
        "nansum", "nanmean", "nanvar", "nanstd", "nanmax", "nanmin", "ptp",
        "cumsum", "cumprod", "median", "percentile", "quantile", "average",
        "nancumsum", "nancumprod", "diff", "nanmedian", "nanpercentile", "nanquantile",
        "sort", "partition", "argpartition", "cov", "corrcoef", "trapezoid",
        "add.reduce", "add.accumulate", "multiply.reduce", "multiply.accumulate",
        "maximum.reduce", "maximum.accumulate", "minimum.reduce", "minimum.accumulate",
    ),
    "yota-linalg": (
        "matmul", "dot", "inner", "outer", "tensordot", "einsum", "trace", "diag", "kron",
        "cross", "vdot", "inv", "solve", "det", "slogdet", "norm", "cholesky", "pinv", "eigh",
        "svd", "qr", "lstsq", "matrix_power", "multi_dot", "eigvalsh", "svdvals", "matrix_rank",
        "cond", "eig", "eigvals", "polyfit",
    ),
    "yota-fft": (
        "fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2",
        "rfftn", "irfftn", "hfft", "ihfft", "fftshift", "ifftshift",
    ),
    "yota-nn": (
        "relu", "leaky_relu", "sigmoid", "softplus", "gelu", "softmax", "log_softmax",
        "cross_entropy", "mse", "logistic_loss",
    ),
    # Module-qualified: SciPy's names, as numpy_name spells them and scipy_caller finds them.
    "yota-scipy": tuple(f"scipy.special.{n}" for n in (
        "gammaln", "digamma", "psi", "polygamma", "gamma", "betaln", "erf", "erfc", "erfinv",
        "expit", "logit", "ndtr", "log_ndtr", "xlogy", "xlog1py", "i0", "i1", "iv",
        "gammainc", "gammaincc", "betainc", "stdtr", "pdtr", "bdtr",
        "multigammaln", "logsumexp", "softmax", "log_softmax",
    )) + tuple(f"scipy.stats.{d}.{m}" for d, methods in (
        ("norm", ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")),
        ("multivariate_normal", ("logpdf", "pdf")),
        ("t", ("logpdf", "pdf", "cdf", "logcdf", "sf")),
        ("gamma", ("logpdf", "pdf", "cdf", "logcdf", "sf")),
        ("beta", ("logpdf", "pdf", "cdf", "logcdf")), ("dirichlet", ("logpdf", "pdf")),
        ("poisson", ("logpmf", "pmf", "cdf", "logcdf")),
        ("bernoulli", ("logpmf", "pmf", "cdf", "logcdf")),
        ("binom", ("logpmf", "pmf", "cdf", "logcdf")),
    ) for m in methods) + tuple(f"scipy.linalg.{n}" for n in (
        "solve_triangular", "cho_factor", "cho_solve", "cholesky", "expm", "logm", "sqrtm",
    )) + tuple(f"scipy.signal.{n}" for n in (
        "convolve", "correlate", "convolve2d", "correlate2d",
    )),
}
# Where a pack's functions live when SciPy's own cannot take tracked values (np.asarray).
EQUIVALENT_MODULE = {"yota-scipy": ("scipy.", "yota_scipy.")}


def pack_for(name: str) -> str | None:
    """The pack known to provide ``name``, or None."""
    for pack, names in KNOWN_PACKS.items():
        if name in names:
            return pack
    return None


def numpy_name(func: Any) -> str:
    """'numpy.linalg.inv' style name of a NumPy callable, for messages; a ufunc method key
    ``(np.add, "reduce")`` reads 'numpy.add.reduce'."""
    if _is_ufunc_method(func):
        return f"numpy.{func[0].__name__}.{func[1]}"
    if isinstance(func, np.ufunc):
        return _ufunc_name(func)
    module = getattr(func, "__module__", None) or "numpy"
    if module.startswith("numpy") and module not in ("numpy.linalg", "numpy.fft"):
        module = "numpy"
    return f"{module}.{getattr(func, '__name__', repr(func))}"


def short_name(func: Any) -> str:
    """The name KNOWN_PACKS uses: 'sum', 'inv', 'add.reduce'."""
    if _is_ufunc_method(func):
        return f"{func[0].__name__}.{func[1]}"
    if isinstance(func, np.ufunc) and getattr(np, func.__name__, None) is not func:
        return _ufunc_name(func)      # scipy.special.gammaln: the module tells the pack
    return getattr(func, "__name__", repr(func))


def _ufunc_name(ufunc):
    """numpy.sin, or scipy.special.gammaln for SciPy's ufuncs (ufuncs carry no module)."""
    name = ufunc.__name__
    if getattr(np, name, None) is ufunc:
        return f"numpy.{name}"
    special = sys.modules.get("scipy.special")
    if special is not None and getattr(special, name, None) is ufunc:
        return f"scipy.special.{name}"
    return f"numpy.{name}"


def _is_ufunc_method(key):
    return type(key) is tuple and len(key) == 2 and isinstance(key[0], np.ufunc)


def install_hint(pack: str) -> str:
    """A command that installs ``pack``: its published name, and the form that works from a
    source checkout of yota (the packs live in ``plugins/``)."""
    return f"pip install {pack} (from a yota source checkout: pip install -e plugins/{pack})"


def missing_rule_message(what, short_name, loaded=()):
    """Why ``what`` cannot be traced and what to do; never suggests installing a pack that is
    in ``loaded``."""
    pack = pack_for(short_name)
    if pack is not None and pack in loaded:
        hint = (
            f"the {pack} pack is loaded but does not implement {what}; look for its own "
            f"function (yota rules {short_name}), or write a primitive with @yota.primitive"
        )
    elif pack is not None:
        hint = (
            f"it is provided by the {pack} pack: install it with {install_hint(pack)} "
            "or enable it if it is disabled (YOTA_DISABLE_PLUGINS)"
        )
    else:
        hint = (
            "no known pack provides it: write a primitive with @yota.primitive and a rule with "
            ".defgrad, or compute it from functions yota knows"
        )
    return f"yota: {what} has no yota implementation, so it cannot be traced; {hint}."


class ImplementationTable(dict[Any, Any]):
    """NumPy callable -> yota implementation, as a pack's module collects them before its hook
    hands them to ``registry.implement``. ``@TABLE.implements(np.flip, np.flipud)`` fills it."""

    def implements(self, *numpy_funcs: Any) -> Callable[[_Impl], _Impl]:
        def register(impl: _Impl) -> _Impl:
            for f in numpy_funcs:
                self[f] = impl
            return impl

        return register



def _original(numpy_func):
    """The NumPy function itself, for one yota wrapped to add a hook (``np.full``, whose fill
    value NumPy does not dispatch on: ``yota.core_pack.fills``); ``("like", f)`` alike."""
    if type(numpy_func) is tuple:
        return tuple(_original(f) for f in numpy_func)
    return getattr(numpy_func, "__yota_original__", numpy_func)


class Registration:
    """What one pack's hook registered, recorded and not yet in effect. The host collects one per
    pack and decides only after every pack has been collected (``yota.packs.conflicts``), so
    what wins never depends on the order packs load in. The calling convention is 0.1's:
    ``registry.implement(np_func, impl, override=...)``, ``registry.add_primitive(prim)``."""

    def __init__(self, pack: str) -> None:
        self.pack = pack
        self.claims: dict[Any, tuple[Any, bool]] = {}   # NumPy callable -> (impl, override)
        self.primitives: dict[str, Primitive] = {}     # name -> Primitive, of this pack
        self.backends: dict[str, Any] = {}   # name -> compile backend (yota.compile.backends)

    @property
    def plugin(self) -> str:
        """The pack registering (0.1's ``registry.plugin``)."""
        return self.pack

    def implement(self, numpy_func: Any, impl: _Impl, *, override: bool = False) -> _Impl:
        """Route ``numpy_func`` (a ufunc or a NumPy function) to ``impl`` for tracked values.
        ``override=True`` replaces another pack's version on purpose."""
        numpy_func = _original(numpy_func)
        self.claims[numpy_func] = (impl, bool(override))
        if isinstance(impl, Primitive):
            self.add_primitive(impl)
        return impl

    def add_primitive(self, prim: Primitive, *, override: bool = False) -> Primitive:
        """List a primitive (also one with no NumPy counterpart, such as yota_nn.relu). Its name
        belongs to this pack: another pack may have a primitive of the same name."""
        if not isinstance(prim, Primitive):
            raise PluginError(f"yota: plugin {self.pack!r} registered {prim!r}, not a Primitive")
        self.primitives[prim.name] = prim
        if prim.pack is None:   # named in the kernel's error messages (it knows no registry)
            prim.pack = self.pack
        return prim

    def add_backend(self, backend: _Impl) -> _Impl:
        """Provide a compile backend: an object with a ``name`` and ``lower(program, template,
        fname) -> (fn, source)`` (docs/writing-a-pack.md, "Compile backends")."""
        name = getattr(backend, "name", None)
        if not isinstance(name, str) or not name.isidentifier() or \
                not callable(getattr(backend, "lower", None)):
            raise PluginError(
                f"yota: plugin {self.pack!r} registered {backend!r} as a compile backend; a "
                "backend needs a name (a str that is a Python identifier) and a lower(program, "
                "template, fname) method")
        if name in ("auto", "default"):
            raise PluginError(f"yota: plugin {self.pack!r} registered a compile backend named "
                              f"{name!r}, a name yota reserves for choosing backends")
        self.backends[name] = backend
        return backend


class Registry:
    """The packs' registrations once resolved: NumPy callables -> implementations (the kernel's
    dispatch tables), primitives by pack, and who provides what. Filled by the host in one go."""

    def __init__(self):
        self.ufuncs = DISPATCH.ufuncs        # np.ufunc -> callable taking the ufunc's arguments
        self.functions = DISPATCH.functions  # NumPy function -> callable with NumPy's signature
        self.primitives = {}    # name -> Primitive, for names exactly one pack uses
        self.by_pack = {}       # pack -> {name: Primitive}
        self.shared = {}        # name -> packs that each have a primitive of that name
        self.provider = {}      # NumPy callable or unshared primitive name -> pack
        self.active = {}        # Primitive -> pack, for every primitive of a loaded pack
        self.conflicts = []     # yota.packs.conflicts.Conflict, one per contested function
        self.loaded: frozenset[str] = frozenset()
        self.backends = {}      # backend name -> (backend, pack), names exactly one pack uses
        self.shared_backends = {}   # backend name -> the packs that each provide one

    def install_backends(self, by_pack):
        """``by_pack``: pack -> {name: backend}. A name two packs provide belongs to neither
        (selecting it says so), whatever the order they loaded in."""
        owners: dict[str, list[tuple[str, Any]]] = {}
        for pack, backends in by_pack.items():
            for name, backend in backends.items():
                owners.setdefault(name, []).append((pack, backend))
        self.backends = {n: (b, p) for n, [(p, b)] in
                         ((n, o) for n, o in owners.items() if len(o) == 1)}
        self.shared_backends = {n: tuple(sorted(p for p, _ in o))
                                for n, o in owners.items() if len(o) > 1}

    def clear(self):
        self.install({}, {}, {}, {}, [], ())
        self.install_backends({})

    def install(self, ufuncs, functions, provider, by_pack, conflicts, loaded):
        """Replace everything (the dispatch dicts in place: the kernel holds references)."""
        DISPATCH.install(ufuncs, functions)
        names: dict[str, dict[str, Primitive]] = {}
        for pack, prims in by_pack.items():
            for name, prim in prims.items():
                names.setdefault(name, {}).setdefault(pack, prim)
        self.by_pack = {pack: dict(prims) for pack, prims in by_pack.items()}
        self.primitives = {}
        self.shared = {}
        self.provider = dict(provider)
        for name, owners in names.items():
            if len(set(map(id, owners.values()))) == 1:
                pack = next(iter(owners))
                self.primitives[name] = owners[pack]
                self.provider[name] = pack
            else:
                self.shared[name] = tuple(sorted(owners))
        self.active = {prim: pack for pack, prims in by_pack.items() for prim in prims.values()}
        self.conflicts = list(conflicts)
        self.loaded = frozenset(loaded)

    def primitive(self, name):
        """A primitive by ``name`` or ``pack:name`` (needed when several packs use the name)."""
        if ":" in name:
            pack, _, short = name.partition(":")
            return self.by_pack.get(pack, {}).get(short)
        return self.primitives.get(name)

    def conflict_for(self, key):
        for conflict in self.conflicts:
            if conflict.key is key or conflict.key == key:
                return conflict
        return None

    ufunc = staticmethod(DISPATCH.ufunc)
    function = staticmethod(DISPATCH.function)


def _explain_missing(func):
    conflict = REGISTRY.conflict_for(func)
    if conflict is not None and conflict.winner is None:
        return conflict.message()
    return missing_rule_message(numpy_name(func), short_name(func), REGISTRY.loaded)


def scipy_caller(frame):
    """The public name of the SciPy function that ``frame`` (or a caller) runs in, as users
    call it ('scipy.stats.norm.logpdf', 'scipy.special.logsumexp'), or None. Walks the stack
    outwards, skipping NumPy's and yota's frames, through the SciPy frames the user's call went
    through; the first name a known pack provides wins, else the outermost public one. Only
    called on an error path."""
    names = []
    while frame is not None:
        module = frame.f_globals.get("__name__") or ""
        if module.startswith("scipy."):
            name = _public_scipy_name(module, frame)
            if name is not None:
                names.append(name)
        elif not (module.startswith("numpy") or (not names and module.startswith("yota."))):
            break     # the user's frame: NumPy's helpers and yota's own frames are skipped
        frame = frame.f_back
    for name in reversed(names):
        if pack_for(name) is not None:
            return name
    return names[-1] if names else None


def _public_scipy_name(module, frame):
    """scipy.<subpackage>.<function>, or .<distribution>.<method> for a method of a SciPy
    distribution object (``self`` is norm_gen, multivariate_normal_gen...)."""
    sub = module.split(".")[1]
    func = frame.f_code.co_name
    if sub.startswith("_") or func.startswith("_") or func in ("wrapper", "<lambda>"):
        return None
    owner = frame.f_locals.get("self")
    if owner is not None:
        dist = getattr(owner, "name", None)
        if not isinstance(dist, str):
            dist = type(owner).__name__.removesuffix("_gen").removesuffix("_frozen")
        return f"scipy.{sub}.{dist}.{func}"
    return f"scipy.{sub}.{func}"


def _explain_conversion(message):
    """The message of a tracked value converted to an ndarray, naming the SciPy function that
    did it and its yota_scipy equivalent when there is one."""
    name = scipy_caller(sys._getframe(1))
    if name is None:
        return message
    pack = pack_for(name)
    if pack is None:
        return (f"yota: {name} converts its arguments to plain arrays (np.asarray), which would "
                "silently drop the gradient of a tracked value, and no known pack provides a "
                "version for tracked values: write a @yota.primitive with a gradient rule, or "
                "compute it from NumPy functions yota knows.")
    old, new = EQUIVALENT_MODULE[pack]
    equivalent = new + name[len(old):]
    where = ("" if pack in REGISTRY.loaded else
             f" (from the {pack} pack, which is not loaded: install it with "
             f"{install_hint(pack)}, or enable it if it is disabled (YOTA_DISABLE_PLUGINS))")
    return (f"yota: {name} converts its arguments to plain arrays (np.asarray), which would "
            f"silently drop the gradient of a tracked value; call {equivalent} instead{where}, "
            "which takes tracked values and plain arrays alike.")


DISPATCH.explain_missing = _explain_missing
DISPATCH.explain_conversion = _explain_conversion
REGISTRY = Registry()
