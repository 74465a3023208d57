"""Shape primitives: reshape, transpose, broadcasting, joining, dtype changes."""
import numpy as np

from ..errors import reject_out
from ..kernel.emit import passes_first_on
from ..kernel.primitive import Primitive, primitive
from ..kernel.unbroadcast import astype, broadcast_to, sum_to
from ..registry import ImplementationTable

IMPLEMENTS = ImplementationTable()
implements = IMPLEMENTS.implements


def _axis(axis, ndim):
    return axis + ndim if axis < 0 else axis


# --- the engine's own (yota.kernel.unbroadcast), registered here for NumPy ------------------------
IMPLEMENTS["astype"] = astype


@implements(np.copy)
@primitive(nondiff_argnums=(1,))  # *args: NumPy's options
def copy(x, *args, **kwargs):
    return np.array(x, copy=True)


copy.defgrad(lambda dy, y, x, *args, **kwargs: dy)
copy.declare(static_shape=True, fresh=True)


@implements(np.broadcast_to)
def broadcast_to_(array, shape, subok=False):
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return broadcast_to(array, shape) if np.shape(array) != shape else array


@implements(np.broadcast_arrays)
def broadcast_arrays(*args, subok=False):
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    return tuple(broadcast_to_(a, shape) for a in args)


# --- reshaping ---------------------------------------------------------------------------------
@primitive(nondiff_argnums=(1,))
def reshape(x, shape, order="C"):
    return np.reshape(x, shape, order=order)


reshape.defgrad(lambda dy, y, x, shape, order="C": reshape(dy, np.shape(x), order=order))
reshape.declare(static_shape=True, noop=passes_first_on)


@reshape.defemit("numpy")
def _emit_reshape(em, ins):
    """``x.reshape((3, 4))``, the traced output shape spelt out."""
    x = ins.args[0]
    order = ins.kwargs.get("order", ins.args[2] if len(ins.args) > 2 else "C")
    aval = em.aval(x)
    if aval is None or not aval.is_array or order != "C" or len(ins.args) < 2:
        return None
    return f"{em.ref(x)}.reshape({em.const(tuple(em.avals[ins.out].shape))})"


@implements(np.reshape)
def reshape_(a, shape=None, order="C", *, newshape=None, copy=None):
    shape = newshape if shape is None else shape
    return reshape(a, shape, order=order)


@implements(np.ravel)
def ravel(a, order="C"):
    return reshape(a, (-1,), order=order)


@implements(np.squeeze)
def squeeze(a, axis=None):
    shape = np.shape(a)
    if axis is None:
        new = tuple(n for n in shape if n != 1)
    else:
        axes = {_axis(ax, len(shape)) for ax in np.atleast_1d(axis).tolist()}
        for ax in axes:
            if shape[ax] != 1:
                raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
        new = tuple(n for i, n in enumerate(shape) if i not in axes)
    return reshape(a, new)


@implements(np.expand_dims)
def expand_dims(a, axis):
    return reshape(a, np.expand_dims(np.empty(np.shape(a), dtype=bool), axis).shape)


def _make_atleast(np_func):
    def atleast(*arys):
        out = [reshape(a, np_func(np.empty(np.shape(a), dtype=bool)).shape) for a in arys]
        return out[0] if len(out) == 1 else tuple(out)

    IMPLEMENTS[np_func] = atleast
    return atleast


atleast_1d, atleast_2d, atleast_3d = map(_make_atleast, (np.atleast_1d, np.atleast_2d,
                                                          np.atleast_3d))


@primitive
def transpose(x, axes=None):
    return np.transpose(x, axes)


@transpose.defgrad
def _transpose_grad(dy, y, x, axes=None):
    return transpose(dy, None if axes is None else tuple(np.argsort(axes)))


def _identity_transpose(args, kwargs, avals, out):
    """Transposing 0 or 1 axes, or to the same order, passes the array on."""
    if avals[0] is None or not avals[0].same(out):
        return None
    axes = args[1] if len(args) > 1 else kwargs.get("axes")
    ndim = len(out.shape)
    if (axes is None and ndim <= 1) or (axes is not None and tuple(axes) == tuple(range(ndim))):
        return args[0]
    return None


transpose.declare(static_shape=True, noop=_identity_transpose)


@transpose.defemit("numpy")
def _emit_transpose(em, ins):
    """``x.T`` or ``x.transpose((1, 0, 2))``."""
    x = ins.args[0]
    aval = em.aval(x)
    if aval is None or not aval.is_array:
        return None
    axes = ins.args[1] if len(ins.args) > 1 else ins.kwargs.get("axes")
    if axes is None:
        return f"{em.ref(x)}.T"
    return f"{em.ref(x)}.transpose({em.const(tuple(axes))})"


@implements(np.transpose)
def transpose_(a, axes=None):
    if axes is not None:
        axes = tuple(_axis(ax, np.ndim(a)) for ax in axes)
    return transpose(a, axes)


@implements(np.swapaxes)
def swapaxes(a, axis1, axis2):
    axes = list(range(np.ndim(a)))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(a, tuple(axes))


@implements(np.moveaxis)
def moveaxis(a, source, destination):
    ndim = np.ndim(a)
    src = [_axis(ax, ndim) for ax in np.atleast_1d(source).tolist()]
    dst = [_axis(ax, ndim) for ax in np.atleast_1d(destination).tolist()]
    perm = [n for n in range(ndim) if n not in src]
    for d, s in sorted(zip(dst, src)):
        perm.insert(d, s)
    return transpose(a, tuple(perm))


@implements(np.shape)
def shape_(a):
    return a.shape


@implements(np.ndim)
def ndim_(a):
    return a.ndim


@implements(np.size)
def size_(a, axis=None):
    return a.size if axis is None else a.shape[axis]


# --- joining and splitting ---------------------------------------------------------------------
@primitive
def concatenate(*arrays, axis=0):
    return np.concatenate(arrays, axis=axis)


concatenate.declare(static_shape=True, fresh=True)


@concatenate.defgrad_each
def _concatenate_grad(argnum, dy, y, *arrays, axis=0):
    ax = _axis(axis, np.ndim(y))
    start = sum(np.shape(a)[ax] for a in arrays[:argnum])
    stop = start + np.shape(arrays[argnum])[ax]
    return dy[(slice(None),) * ax + (slice(start, stop),)]


@implements(np.concatenate)
def concatenate_(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    reject_out("concatenate", out)
    arrays = list(arrays)
    if axis is None:
        return concatenate(*[ravel(a) for a in arrays], axis=0)
    if dtype is not None:
        arrays = [astype(a, dtype) for a in arrays]
    return concatenate(*arrays, axis=axis)


@primitive
def stack(*arrays, axis=0):
    return np.stack(arrays, axis=axis)


stack.declare(static_shape=True, fresh=True)


@stack.defgrad_each
def _stack_grad(argnum, dy, y, *arrays, axis=0):
    ax = _axis(axis, np.ndim(y))
    return dy[(slice(None),) * ax + (argnum,)]


@implements(np.stack)
def stack_(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    reject_out("stack", out)
    arrays = list(arrays)
    if dtype is not None:
        arrays = [astype(a, dtype) for a in arrays]
    return stack(*arrays, axis=axis)


@implements(np.vstack, np.row_stack) if hasattr(np, "row_stack") else implements(np.vstack)
def vstack(tup, *, dtype=None, casting="same_kind"):
    return concatenate_([atleast_2d(a) for a in tup], axis=0, dtype=dtype)


@implements(np.hstack)
def hstack(tup, *, dtype=None, casting="same_kind"):
    arrs = [atleast_1d(a) for a in tup]
    return concatenate_(arrs, axis=0 if np.ndim(arrs[0]) == 1 else 1, dtype=dtype)


@implements(np.dstack)
def dstack(tup):
    return concatenate_([atleast_3d(a) for a in tup], axis=2)


@implements(np.column_stack)
def column_stack(tup):
    cols = [a if np.ndim(a) >= 2 else reshape(a, (-1, 1)) for a in tup]
    return concatenate_(cols, axis=1)


@implements(np.array_split)
def array_split(ary, indices_or_sections, axis=0):
    n = np.shape(ary)[axis]
    if isinstance(indices_or_sections, int):
        sections = indices_or_sections
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        each, extra = divmod(n, sections)
        sizes = [each + 1] * extra + [each] * (sections - extra)
        bounds = np.cumsum([0] + sizes).tolist()
    else:
        bounds = [0] + list(indices_or_sections) + [n]
    ax = _axis(axis, np.ndim(ary))
    return [ary[(slice(None),) * ax + (slice(lo, hi),)] for lo, hi in zip(bounds[:-1], bounds[1:])]


@implements(np.split)
def split(ary, indices_or_sections, axis=0):
    if isinstance(indices_or_sections, int) and np.shape(ary)[axis] % indices_or_sections:
        raise ValueError("array split does not result in an equal division")
    return array_split(ary, indices_or_sections, axis)


__all__ = [n for n, v in dict(globals()).items() if isinstance(v, Primitive)]
