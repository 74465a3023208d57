"""The tracked value: wraps an array or float during tracing and records every call on a tape.

Operators, ndarray methods and NumPy's ``__array_ufunc__``/``__array_function__`` protocols all end
in the dispatch table (dispatch.py), which maps each NumPy callable to a yota implementation made of primitives.
"""
from __future__ import annotations

import dis
import linecache
import operator
import os
import re
import sys

import numpy as np

from ..errors import ConcretizationError, InPlaceError, YotaError, reject_out
from .dispatch import DISPATCH

_ufuncs = DISPATCH.ufuncs      # the dict itself: a lookup per operator, nothing more


def _ufunc(u):
    try:
        return _ufuncs[u]
    except KeyError:
        return DISPATCH.ufunc(u)  # raises the "no implementation" error


def _binary(u):
    def op(self, other):
        return _ufunc(u)(self, other)

    def rop(self, other):
        return _ufunc(u)(other, self)

    op.__name__ = rop.__name__ = u.__name__
    return op, rop


def _unary(u):
    def op(self):
        return _ufunc(u)(self)

    op.__name__ = u.__name__
    return op


def _inplace(op):
    def iop(self, other):
        return DISPATCH.function(op)(self, other)

    iop.__name__ = op.__name__
    return iop


_STORE_SUBSCR = dis.opmap["STORE_SUBSCR"]
_SUBSCR = {dis.opmap[n] for n in ("BINARY_SUBSCR",) if n in dis.opmap}


def _refuse_store_into_plain_array(t):
    """``buf[i] = x`` with a plain ndarray ``buf`` converts x with float(): the gradient would be
    silently dropped. NumPy offers no hook, but the caller's current bytecode tells."""
    try:
        frame = sys._getframe(2)
        storing = frame.f_code.co_code[frame.f_lasti] == _STORE_SUBSCR
    except (AttributeError, IndexError, ValueError):
        return
    if storing and t.dtype.kind in "fc":
        raise YotaError(
            "yota: a tracked value is being written into a plain ndarray (buf[i] = value), which "
            "would silently drop its gradient; make the buffer tracked (buf = np.zeros_like(x), "
            "or np.zeros(shape, like=x)) and write into it, or collect the pieces in a list and "
            "np.stack them"
        )


def _concretization_message(kind):
    name = kind if isinstance(kind, str) else kind[0]
    spec = kind[1] if name == "format" else ""
    call, escape = {
        "float": ("float(x)", "float(yota.stop_gradient(x))"),
        "complex": ("complex(x)", "complex(yota.stop_gradient(x))"),
        "tolist": ("x.tolist()", "yota.stop_gradient(x).tolist()"),
        "format": (f'f"{{x:{spec}}}"', f'f"{{yota.stop_gradient(x):{spec}}}"'),
    }.get(name, ("x.item()", "yota.stop_gradient(x).item()"))
    return (
        f"yota: {call} on a tracked value that carries a gradient would silently drop it (a "
        "Python number is invisible to yota; math.* functions call float() too). Keep it an "
        "array: use x or x[i] in NumPy expressions (np.exp instead of math.exp), and compare "
        "arrays directly for control flow (if x[0] > 0: works). To use the value without its "
        f"gradient on purpose, write {escape}; to log "
        "it, return it as aux (yota.value_and_grad(f, has_aux=True)) or print it after grad "
        "returns"
    )


_ARRAY_MESSAGE = (
    "yota: converting a tracked value that carries a gradient to a plain ndarray (np.asarray, "
    "np.array, indexing a plain array with it, or a NumPy function yota does not intercept) "
    "would silently drop its gradient. Use NumPy functions on it directly (np.stack instead of "
    "np.array([...]), or np.array([...], like=x) with x any tracked value), or wrap the computation in a @yota.primitive with a gradient rule; to "
    "use the value without its gradient on purpose, write np.asarray(yota.stop_gradient(x)). "
    "Writing a tracked value into a plain ndarray (buf[i] = value) lands here too: make the "
    "buffer tracked (buf = np.zeros_like(x), or np.zeros(shape, like=x)) and write into it, or "
    "collect the pieces in a list and np.stack them"
)


_NUMPY_DIR = os.path.dirname(np.__file__) + os.sep
_CONVERTING = re.compile(r"\b(?:np|numpy)\.(?:asarray|array|asanyarray|ascontiguousarray|"
                         r"asfortranarray|fromiter|copy)(?=\()")


def _array_message():
    """_ARRAY_MESSAGE led by what converted the value: the NumPy function (the outermost frame
    in NumPy's own code), indexing or writing into a plain array, or the user's line."""
    frame = sys._getframe(2)   # the frame whose code asked NumPy for a plain array
    numpy_frame = None
    while frame is not None and frame.f_code.co_filename.startswith(_NUMPY_DIR):
        numpy_frame, frame = frame, frame.f_back
    if numpy_frame is not None:
        module = numpy_frame.f_globals.get("__name__", "numpy")
        name = getattr(numpy_frame.f_code, "co_qualname", numpy_frame.f_code.co_name)
        cause = (f"{_public_numpy_name(module, name.split('.')[0])} converts its "
                 "arguments with np.asarray and yota does not intercept it")
    else:
        cause = "a call converts it to a plain ndarray"
        try:
            op = frame.f_code.co_code[frame.f_lasti]
            if op in _SUBSCR:
                cause = "indexing a plain array with it converts it to a plain ndarray"
            elif op == _STORE_SUBSCR:
                cause = ("writing it into a plain ndarray (buf[i] = value) converts it to a "
                         "plain ndarray")
        except (AttributeError, IndexError, ValueError):
            pass
    if frame is not None:
        line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
        calls = _CONVERTING.findall(line) if cause.startswith("a call") else []
        if len(set(calls)) == 1:
            cause = f"{calls[0]}(...) converts it to a plain ndarray"
        where = f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"
        cause += f" (`{line}`, {where})" if line else f" ({where})"
    return f"yota: {cause}; {_ARRAY_MESSAGE[len('yota: '):]}"


def _public_numpy_name(module, name):
    """``numpy.percentile`` rather than ``numpy.lib._function_base_impl.percentile``."""
    parts = module.split(".")
    for n in range(1, len(parts) + 1):
        candidate = sys.modules.get(".".join(parts[:n]))
        if candidate is not None and getattr(candidate, name, None) is not None:
            return f"{'.'.join(parts[:n])}.{name}"
    return f"{module}.{name}"


def _method(func):
    def method(self, *args, **kwargs):
        return func(self, *args, **kwargs)

    method.__name__ = func.__name__
    method.__doc__ = f"Same as numpy.{func.__name__}(self, ...), recorded on the tape."
    return method


class Tracked:
    """A value being traced: ``_value`` (ndarray, NumPy scalar, or a Tracked of an outer tape),
    the ``_tape`` that records what is computed from it, and its variable number ``_var``."""

    __slots__ = ("_value", "_tape", "_var", "__weakref__")
    __array_priority__ = 1000.0
    __hash__ = object.__hash__

    def __init__(self, value, tape, var):
        self._value = value
        self._tape = tape
        self._var = var

    # --- what the value looks like; reading these never loses the gradient -----------------
    shape = property(lambda self: self._value.shape)
    ndim = property(lambda self: self._value.ndim)
    size = property(lambda self: self._value.size)
    dtype = property(lambda self: self._value.dtype)
    T = property(lambda self: np.transpose(self))
    mT = property(lambda self: np.swapaxes(self, -1, -2))

    def __len__(self):
        return len(self._value)

    def __iter__(self):
        for i in range(len(self._value)):
            yield self[i]

    def __repr__(self):
        return f"Tracked({self._value!r}, var=%{self._var})"

    def __round__(self, ndigits=None):
        # round(x) is an int (piecewise constant: gradient 0), round(x, 2) a rounded array
        if ndigits is None:
            return int(np.round(self))
        return np.round(self, ndigits)

    def __format__(self, spec):
        # f"{loss:.4f}" inside a traced function: the number, if it carries no gradient;
        # otherwise the ConcretizationError that says how to log it (not a bare TypeError)
        if not spec:
            return repr(self)
        if self.ndim:
            raise TypeError(f"unsupported format string {spec!r} for a tracked array "
                            "(as for NumPy arrays)")
        try:
            return format(self.item(), spec)
        except ConcretizationError:
            raise ConcretizationError(_concretization_message(("format", spec))) from None

    # --- NumPy protocols ---------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "__call__":
            if kwargs:  # out= (a tracked out is written in place), where=, dtype=
                return DISPATCH.function("ufunc_with_keywords")(ufunc, method, inputs, kwargs)
            return _ufunc(ufunc)(*inputs)
        if "out" in kwargs:
            reject_out(f"{ufunc.__name__}.{method}", kwargs.pop("out"))
        return DISPATCH.function((ufunc, method))(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        impl = DISPATCH.functions.get(func)
        if impl is None:
            creator = DISPATCH.functions.get(("like", func))  # np.zeros(shape, like=x)...
            if creator is not None:
                return creator(self, *args, **kwargs)
            impl = DISPATCH.function(func)
        return impl(*args, **kwargs)

    def __array__(self, dtype=None, copy=None):
        # np.asarray(i), plain_table[i], np.take(plain_table, i): NumPy wants a plain array.
        # Integers and booleans carry no gradient, nor does a float that is stop_gradient'ed
        # or data: they convert, and the conversion is guarded by value (a compiled program
        # built on the plain array is only valid while it is the same). A float that carries a
        # gradient would silently drop it: refused.
        tape = self._tape
        tape.refresh(self)
        value = self._value
        if value.dtype.kind in "fc" and tape.carries_gradient(self._var):
            raise YotaError(DISPATCH.explain_conversion(_array_message()))
        if type(value) is Tracked:  # a value of an outer tape: converted (and guarded) there
            value = value.__array__()
        tape.concretized(self, "array", np.array(value))
        return np.array(value, dtype=dtype, copy=copy is not False)

    # --- conversions to Python values: recorded, so static graphs can guard them ------------
    def _concrete(self, kind, convert, drops_gradient=False):
        tape = self._tape
        tape.refresh(self)  # a view whose base was written since derives itself again
        if drops_gradient and self._value.dtype.kind in "fc" and tape.carries_gradient(self._var):
            raise ConcretizationError(_concretization_message(kind))
        result = convert(self._value)
        tape.concretized(self, kind, result)
        return result

    # bool, int and index serve control flow and indices: piecewise constant, gradient 0 is
    # right. A float or complex Python number made from a value that carries a gradient would
    # take part in the computation without it: refused (see _concretization_message).
    def __bool__(self):
        return self._concrete("bool", bool)

    def __float__(self):
        _refuse_store_into_plain_array(self)
        return self._concrete("float", float, True)

    def __int__(self):
        return self._concrete("int", int)

    def __index__(self):
        return self._concrete("index", operator.index)

    def __complex__(self):
        _refuse_store_into_plain_array(self)
        return self._concrete("complex", complex, True)

    def item(self, *args):
        # the guard names the arguments too, so a static replay converts the same element
        return self._concrete(("item", args) if args else "item", lambda v: v.item(*args), True)

    def tolist(self):
        return self._concrete("tolist", lambda v: v.tolist(), True)

    # --- indexing ----------------------------------------------------------------------------
    def __getitem__(self, index):
        return DISPATCH.function(operator.getitem)(self, index)

    def __setitem__(self, index, value):
        # A functional update recorded on the tape, then this object is rebound to the result
        # (yota/core_pack/inplace.py), so every holder of it sees the write, as in NumPy.
        DISPATCH.function(operator.setitem)(self, index, value)

    # --- arithmetic --------------------------------------------------------------------------
    __add__, __radd__ = _binary(np.add)
    __sub__, __rsub__ = _binary(np.subtract)
    __mul__, __rmul__ = _binary(np.multiply)
    __truediv__, __rtruediv__ = _binary(np.true_divide)
    __floordiv__, __rfloordiv__ = _binary(np.floor_divide)
    __mod__, __rmod__ = _binary(np.remainder)
    __pow__, __rpow__ = _binary(np.power)
    __matmul__, __rmatmul__ = _binary(np.matmul)
    __and__, __rand__ = _binary(np.bitwise_and)
    __or__, __ror__ = _binary(np.bitwise_or)
    __xor__, __rxor__ = _binary(np.bitwise_xor)
    __lt__ = _binary(np.less)[0]
    __le__ = _binary(np.less_equal)[0]
    __gt__ = _binary(np.greater)[0]
    __ge__ = _binary(np.greater_equal)[0]
    __eq__ = _binary(np.equal)[0]
    __ne__ = _binary(np.not_equal)[0]
    __neg__ = _unary(np.negative)
    __pos__ = _unary(np.positive)
    __abs__ = _unary(np.absolute)
    __invert__ = _unary(np.invert)

    # x += y writes into x (NumPy semantics: every holder of x sees it); see core_pack/inplace.py
    __iadd__ = _inplace(operator.iadd)
    __isub__ = _inplace(operator.isub)
    __imul__ = _inplace(operator.imul)
    __itruediv__ = _inplace(operator.itruediv)
    __ifloordiv__ = _inplace(operator.ifloordiv)
    __imod__ = _inplace(operator.imod)
    __ipow__ = _inplace(operator.ipow)
    __imatmul__ = _inplace(operator.imatmul)
    __iand__ = _inplace(operator.iand)
    __ior__ = _inplace(operator.ior)
    __ixor__ = _inplace(operator.ixor)
    __ilshift__ = _inplace(operator.ilshift)
    __irshift__ = _inplace(operator.irshift)

    # --- ndarray methods people call ---------------------------------------------------------
    sum = _method(np.sum)
    mean = _method(np.mean)
    prod = _method(np.prod)
    max = _method(np.max)
    min = _method(np.min)
    var = _method(np.var)
    std = _method(np.std)
    cumsum = _method(np.cumsum)
    cumprod = _method(np.cumprod)
    argmax = _method(np.argmax)
    argmin = _method(np.argmin)
    argsort = _method(np.argsort)
    any = _method(np.any)
    all = _method(np.all)
    dot = _method(np.dot)
    swapaxes = _method(np.swapaxes)
    clip = _method(np.clip)
    squeeze = _method(np.squeeze)
    ravel = _method(np.ravel)
    round = _method(np.round)
    trace = _method(np.trace)
    diagonal = _method(np.diagonal)
    repeat = _method(np.repeat)
    take = _method(np.take)
    nonzero = _method(np.nonzero)
    conj = conjugate = _method(np.conjugate)
    real = property(lambda self: np.real(self))
    imag = property(lambda self: np.imag(self))

    def fill(self, value):
        DISPATCH.function("fill")(self, value)

    def put(self, indices, values, mode="raise"):
        np.put(self, indices, values, mode=mode)

    def partition(self, kth, axis=-1, kind="introselect", order=None):
        """In place, as ndarray.partition: recorded as a write of np.partition(x, kth)."""
        self[...] = np.partition(self, kth, axis=axis)

    @property
    def flat(self):
        """x.flat[i] reads np.ravel(x)[i]; x.flat[i] = v writes the elements it names."""
        return _Flat(self)

    def sort(self, *args, **kwargs):
        raise InPlaceError("yota: ndarray.sort() sorts in place, which cannot be recorded; "
                           "use y = np.sort(x) instead")

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = shape[0]
        return np.reshape(self, shape, order=order)

    def transpose(self, *axes):
        if len(axes) == 1 and not isinstance(axes[0], int):
            axes = axes[0]
        return np.transpose(self, axes or None)

    def flatten(self, order="C"):
        return np.reshape(self, (-1,), order=order)

    def astype(self, dtype, copy=True, **kwargs):
        return DISPATCH.function("astype")(self, dtype)

    def copy(self, order="C"):
        return np.copy(self)

    def __copy__(self):  # a recorded copy: writes into x must not show in its copies
        return np.copy(self)

    def __deepcopy__(self, memo):
        return np.copy(self)


class _Flat:
    """The ``flat`` view of a tracked array: indexing, assignment, iteration and len."""

    __slots__ = ("base",)

    def __init__(self, base):
        self.base = base

    def __getitem__(self, index):
        return np.ravel(self.base)[index]

    def __setitem__(self, index, value):
        base = self.base
        positions = np.arange(base.size).reshape(-1)[index]
        self.base[np.unravel_index(positions, base.shape)] = value

    def __iter__(self):
        return iter(np.ravel(self.base))

    def __len__(self):
        return self.base.size

