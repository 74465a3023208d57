"""Rearranging elements: flip, roll, rot90, tile, repeat, pad, take, diagonal, triu, meshgrid...

Almost all are compositions of the core primitives (getitem with slices or index arrays,
reshape, broadcast_to, concatenate, where), so their gradients, higher derivatives and static
graphs come for free. ``diagonal`` and constant ``pad`` are primitives of their own because
their gradients are a plain slice or scatter and NumPy's results are views worth keeping.
"""
from __future__ import annotations

import numpy as np

from ..errors import YotaError, reject_out
from ..kernel.primitive import primitive
from ..registry import ImplementationTable
from ..kernel.tracked import Tracked
from .indexing import getitem_, index_add
from .shape import _axis, array_split, broadcast_arrays, broadcast_to_, concatenate_
from .shape import copy as copy_array
from .shape import moveaxis, ravel, reshape, transpose_

IMPLEMENTS = ImplementationTable()
implements = IMPLEMENTS.implements


def _axes(axis, ndim):
    """A tuple of non-negative axes from None, an int or a sequence (NumPy's checks)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for ax in axes:
        if not -ndim <= ax < ndim:
            raise np.exceptions.AxisError(ax, ndim)
        out.append(_axis(int(ax), ndim))
    if len(set(out)) != len(out):
        raise ValueError("repeated axis")
    return tuple(out)


def _along(ax, index):
    return (slice(None),) * ax + (index,)


def _dtype(x):
    return x.dtype if type(x) is Tracked else np.result_type(x)


def _concrete_ints(x):
    """Integers that decide a shape: a tracked value is read (and guarded) once."""
    if type(x) is Tracked:
        return np.asarray(x.tolist())
    return np.asarray(x)


# --- flips and rotations -----------------------------------------------------------------------
@implements(np.flip)
def flip(m, axis=None):
    axes = _axes(axis, np.ndim(m))
    if not axes:
        return m[...]
    index = [slice(None)] * np.ndim(m)
    for ax in axes:
        index[ax] = slice(None, None, -1)
    return m[tuple(index)]


@implements(np.fliplr)
def fliplr(m):
    if np.ndim(m) < 2:
        raise ValueError("Input must be >= 2-d.")
    return m[:, ::-1]


@implements(np.flipud)
def flipud(m):
    if np.ndim(m) < 1:
        raise ValueError("Input must be >= 1-d.")
    return m[::-1]


@implements(np.rot90)
def rot90(m, k=1, axes=(0, 1)):
    ndim = np.ndim(m)
    axes = tuple(axes)
    if len(axes) != 2:
        raise ValueError("len(axes) must be 2.")
    if axes[0] == axes[1] or abs(axes[0] - axes[1]) == ndim:
        raise ValueError("Axes must be different.")
    if not (-ndim <= axes[0] < ndim and -ndim <= axes[1] < ndim):
        raise ValueError(f"Axes={axes} out of range for array of ndim={ndim}.")
    k %= 4
    if k == 0:
        return m[...]
    if k == 2:
        return flip(flip(m, axes[0]), axes[1])
    perm = list(range(ndim))
    a0, a1 = _axis(axes[0], ndim), _axis(axes[1], ndim)
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return transpose_(flip(m, axes[1]), perm)
    return flip(transpose_(m, perm), axes[1])


@implements(np.roll)
def roll(a, shift, axis=None):
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), np.shape(a))
    axes = np.atleast_1d(axis).tolist()
    shifts = np.atleast_1d(_concrete_ints(shift)).tolist()
    if len(shifts) == 1:
        shifts = shifts * len(axes)
    if len(axes) == 1:
        axes = axes * len(shifts)
    if len(axes) != len(shifts):
        raise ValueError("'shift' and 'axis' should be scalars or 1D sequences")
    total = {}
    for ax, s in zip(axes, shifts):
        ax = _axes(ax, np.ndim(a))[0]
        total[ax] = total.get(ax, 0) + s
    out = a
    for ax, s in total.items():
        n = np.shape(a)[ax]
        s = s % n if n else 0
        if s:
            out = concatenate_([out[_along(ax, slice(n - s, None))],
                                out[_along(ax, slice(None, n - s))]], axis=ax)
    return out if out is not a else a[...]


# --- repeating ---------------------------------------------------------------------------------
@implements(np.tile)
def tile(A, reps):
    reps = (int(reps),) if np.ndim(reps) == 0 else tuple(int(r) for r in reps)
    shape = np.shape(A)
    if len(shape) < len(reps):
        shape = (1,) * (len(reps) - len(shape)) + shape
    reps = (1,) * (len(shape) - len(reps)) + reps
    a = reshape(A, shape) if shape != np.shape(A) else A
    if all(r == 1 for r in reps):
        return copy_array(a)
    spread = reshape(a, tuple(x for n in shape for x in (1, n)))
    big = broadcast_to_(spread, tuple(x for r, n in zip(reps, shape) for x in (r, n)))
    return reshape(big, tuple(r * n for r, n in zip(reps, shape)))


@implements(np.repeat)
def repeat(a, repeats, axis=None):
    if axis is None:
        a, axis = ravel(a), 0
    ax = _axes(axis, np.ndim(a))[0]
    shape = np.shape(a)
    counts = _concrete_ints(repeats)
    if counts.size == 1:
        r = int(counts.reshape(()))
        if r < 0:
            raise ValueError("repeats may not contain negative values.")
        spread = reshape(a, shape[:ax + 1] + (1,) + shape[ax + 1:])
        big = broadcast_to_(spread, shape[:ax + 1] + (r,) + shape[ax + 1:])
        return reshape(big, shape[:ax] + (shape[ax] * r,) + shape[ax + 1:])
    index = np.repeat(np.arange(shape[ax]), counts)  # NumPy checks the counts
    return getitem_(a, _along(ax, index))


@implements(np.resize)
def resize(a, new_shape):
    new_shape = (new_shape,) if isinstance(new_shape, (int, np.integer)) else tuple(new_shape)
    total = int(np.prod(new_shape))
    flat = ravel(a)
    if np.size(a) == 0 or total == 0:
        return np.zeros(new_shape, _dtype(a))
    return reshape(getitem_(flat, np.arange(total) % np.size(a)), new_shape)


# --- padding -----------------------------------------------------------------------------------
def _pairs(width, ndim, name):
    pairs = np.broadcast_to(np.asarray(width), (ndim, 2)) if np.ndim(width) <= 2 else None
    if pairs is None:
        raise ValueError(f"{name} must be a scalar, a pair or one pair per axis")
    return pairs


@primitive
def pad_constant(x, *, width, value):
    return np.pad(x, width, mode="constant", constant_values=value)


pad_constant.defgrad(lambda dy, y, x, width, value: dy[tuple(
    slice(before, before + n) for (before, _), n in zip(width, np.shape(x)))])


_INDEX_MODES = ("edge", "reflect", "symmetric", "wrap")


@implements(np.pad)
def pad(array, pad_width, mode="constant", **kwargs):
    ndim = np.ndim(array)
    width = tuple((int(b), int(e)) for b, e in _pairs(_concrete_ints(pad_width), ndim,
                                                        "pad_width"))
    if any(b < 0 or e < 0 for b, e in width):
        raise ValueError("index can't contain negative values")
    if not width:  # a 0-d array has nothing to pad
        return copy_array(array)
    if mode in ("constant", "empty"):
        value = kwargs.get("constant_values", 0) if mode == "constant" else 0
        if type(value) is Tracked:  # a tracked fill: the border carries its gradient
            if np.ndim(value):
                raise YotaError("yota: np.pad with a tracked constant_values supports one "
                                "scalar; pad with 0 and add the border yourself")
            border = np.pad(np.zeros(np.shape(array)), width, constant_values=1)
            return pad_constant(array, width=width, value=0) + value * border
        value = tuple(map(tuple, _pairs(value, ndim, "constant_values").tolist()))
        return pad_constant(array, width=width, value=value)
    if mode in _INDEX_MODES:
        options = {k: v for k, v in kwargs.items() if k == "reflect_type"}
        if options.get("reflect_type", "even") != "even":
            raise YotaError("yota: np.pad reflect_type='odd' is not supported; use the default "
                            "'even'")
        out = array
        for ax, (before, after) in enumerate(width):
            if before or after:
                index = np.pad(np.arange(np.shape(array)[ax]), (before, after), mode=mode)
                out = getitem_(out, _along(ax, index))
        return out if out is not array else copy_array(array)
    if mode in _STAT_MODES:
        return _pad_with_statistic(array, width, _STAT_MODES[mode], kwargs.get("stat_length"))
    if mode == "linear_ramp":
        return _pad_linear_ramp(array, width, kwargs.get("end_values", 0))
    raise YotaError(
        f"yota: np.pad mode={mode!r} has no yota implementation; supported modes are "
        "'constant', 'empty', 'edge', 'reflect', 'symmetric', 'wrap', 'mean', 'median', "
        "'minimum', 'maximum' and 'linear_ramp' (compose others from np.concatenate and "
        "reductions)")


# Statistics of the edge region, through NumPy's reductions (the reductions pack's rules).
_STAT_MODES = {"mean": np.mean, "median": np.median, "minimum": np.min, "maximum": np.max}


def _pad_with_statistic(array, width, stat, stat_length):
    """Axis by axis, as NumPy pads: the statistic of the first (last) ``stat_length`` entries,
    repeated over the border; later axes see the borders of earlier ones."""
    ndim = np.ndim(array)
    lengths = _pairs(stat_length, ndim, "stat_length") if stat_length is not None else None
    out = array
    for ax, (before, after) in enumerate(width):
        if not (before or after):
            continue
        n = np.shape(out)[ax]
        lo, hi = (n, n) if lengths is None else (min(int(lengths[ax][0]), n),
                                                 min(int(lengths[ax][1]), n))
        parts = []
        if before:
            edge = stat(out[_along(ax, slice(0, lo))], axis=ax, keepdims=True)
            parts.append(np.repeat(edge, before, axis=ax))
        parts.append(out)
        if after:
            edge = stat(out[_along(ax, slice(n - hi, n))], axis=ax, keepdims=True)
            parts.append(np.repeat(edge, after, axis=ax))
        out = concatenate_(parts, axis=ax)
    return out


def _pad_linear_ramp(array, width, end_values):
    """Ramps from the end values to the edge, as NumPy's linspace(end, edge, width,
    endpoint=False) (reversed after the array)."""
    ndim = np.ndim(array)
    ends = _pairs(end_values, ndim, "end_values")
    dtype = np.result_type(_dtype(array))
    out = array
    for ax, (before, after) in enumerate(width):
        if not (before or after):
            continue
        n = np.shape(out)[ax]
        shape = [1] * ndim
        shape[ax] = -1
        parts = []
        if before:
            end = np.asarray(ends[ax][0], dtype)
            edge = out[_along(ax, slice(0, 1))]
            parts.append(np.arange(before, dtype=dtype).reshape(shape) * ((edge - end) / before)
                         + end)
        parts.append(out)
        if after:
            end = np.asarray(ends[ax][1], dtype)
            edge = out[_along(ax, slice(n - 1, n))]
            ramp = np.arange(after, dtype=dtype).reshape(shape) * ((edge - end) / after) + end
            parts.append(flip(ramp, axis=ax))
        out = concatenate_(parts, axis=ax)
    return out


# --- selecting ---------------------------------------------------------------------------------
@implements(np.take)
def take(a, indices, axis=None, out=None, mode="raise"):
    reject_out("take", out)
    if axis is None:
        a, axis = ravel(a), 0
    ax = _axes(axis, np.ndim(a))[0]
    n = np.shape(a)[ax]
    if mode == "wrap":
        indices = np.mod(indices, n)
    elif mode == "clip":
        indices = np.clip(indices, 0, n - 1)
    return getitem_(a, _along(ax, indices))


def along_axis_index(arr, indices, axis):
    """The advanced index NumPy's take_along_axis/put_along_axis use."""
    ndim = np.ndim(arr)
    if np.ndim(indices) != ndim:
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    ax = _axes(axis, ndim)[0]
    index = []
    for dim, n in enumerate(np.shape(arr)):
        if dim == ax:
            index.append(indices)
        else:
            index.append(np.arange(n).reshape((1,) * dim + (-1,) + (1,) * (ndim - dim - 1)))
    return tuple(index)


@implements(np.take_along_axis)
def take_along_axis(arr, indices, axis=-1):
    if axis is None:
        if np.ndim(indices) != 1:
            raise ValueError("when axis=None, `indices` must have a single dimension.")
        arr, axis = ravel(arr), 0
    return getitem_(arr, along_axis_index(arr, indices, axis))


@primitive
def diagonal(a, offset=0, axis1=0, axis2=1):
    return np.diagonal(a, offset, axis1, axis2)


def _diagonal_index(n1, n2, offset):
    if offset >= 0:
        k = max(0, min(n1, n2 - offset))
        return np.arange(k), np.arange(k) + offset
    k = max(0, min(n1 + offset, n2))
    return np.arange(k) - offset, np.arange(k)


@diagonal.defgrad
def _diagonal_grad(dy, y, a, offset=0, axis1=0, axis2=1):
    ndim = np.ndim(a)
    ax1, ax2 = _axis(axis1, ndim), _axis(axis2, ndim)
    shape = np.shape(a)
    rest = tuple(n for i, n in enumerate(shape) if i not in (ax1, ax2))
    rows, cols = _diagonal_index(shape[ax1], shape[ax2], offset)
    moved = index_add(dy, index=(Ellipsis, rows, cols), shape=rest + (shape[ax1], shape[ax2]))
    return moveaxis(moved, (-2, -1), (ax1, ax2))


@implements(np.diagonal)
def diagonal_(a, offset=0, axis1=0, axis2=1):
    ndim = np.ndim(a)
    if ndim < 2:
        raise ValueError("diag requires an array of at least two dimensions")
    ax1, ax2 = _axes(axis1, ndim)[0], _axes(axis2, ndim)[0]
    if ax1 == ax2:
        raise ValueError("axis1 and axis2 cannot be the same")
    return diagonal(a, int(offset), ax1, ax2)


def _triangle(m, k, lower):
    shape = np.shape(m)
    if len(shape) < 2:  # NumPy treats a 1-d input as the rows of a square matrix
        m = broadcast_to_(m, (shape[0], shape[0]))
        shape = (shape[0], shape[0])
    mask = np.tri(shape[-2], shape[-1], k=k if lower else k - 1, dtype=bool)
    if not lower:
        mask = ~mask
    return np.where(mask, m, np.zeros((), _dtype(m)))


@implements(np.tril)
def tril(m, k=0):
    return _triangle(m, int(k), lower=True)


@implements(np.triu)
def triu(m, k=0):
    return _triangle(m, int(k), lower=False)


@implements(np.select)
def select(condlist, choicelist, default=0):
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if len(condlist) == 0:
        raise ValueError("select with an empty condition list is not possible")
    result = default
    for cond, choice in zip(reversed(list(condlist)), reversed(list(choicelist))):
        result = np.where(cond, choice, result)  # the first true condition wins
    return result


# --- building and cutting ----------------------------------------------------------------------
@implements(np.meshgrid)
def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    ndim = len(xi)
    ones = (1,) * ndim
    out = [reshape(x, ones[:i] + (-1,) + ones[i + 1:]) for i, x in enumerate(xi)]
    if indexing == "xy" and ndim > 1:
        out[0] = reshape(out[0], (1, -1) + ones[2:])
        out[1] = reshape(out[1], (-1, 1) + ones[2:])
    if not sparse:
        out = list(broadcast_arrays(*out))
    if copy:
        out = [copy_array(o) for o in out]
    return tuple(out)


@implements(np.append)
def append(arr, values, axis=None):
    if axis is None:
        return concatenate_([ravel(arr), ravel(values)], axis=0)
    return concatenate_([arr, values], axis=axis)


@implements(np.delete)
def delete(arr, obj, axis=None):
    if axis is None:
        arr, axis = ravel(arr), 0
    ax = _axes(axis, np.ndim(arr))[0]
    keep = np.ones(np.shape(arr)[ax], dtype=bool)
    keep[_concrete_ints(obj) if not isinstance(obj, slice) else obj] = False
    return getitem_(arr, _along(ax, keep))


@implements(np.insert)
def insert(arr, obj, values, axis=None):
    """NumPy's own insert run on positions: which element of ``arr`` or of ``values`` lands
    where (values broadcast as NumPy broadcasts them), then one gather."""
    if type(obj) is Tracked:
        obj = _concrete_ints(obj)
    shape, vshape = np.shape(arr), np.shape(values)
    size = int(np.prod(shape, dtype=int))
    positions = np.insert(np.arange(size).reshape(shape), obj,
                          size + np.arange(int(np.prod(vshape, dtype=int))).reshape(vshape),
                          axis=axis)
    dtype = np.result_type(_dtype(arr))
    pool = concatenate_([ravel(arr), ravel(values).astype(dtype) if type(values) is Tracked
                         else np.ravel(np.asarray(values, dtype))])
    return getitem_(pool, positions)


@implements(np.rollaxis)
def rollaxis(a, axis, start=0):
    """A transpose: NumPy's axis order, from np.rollaxis on the axes' numbers."""
    n = np.ndim(a)
    axes = list(range(n))
    ax = _axes(axis, n)[0]
    if not -n <= start <= n:
        raise np.exceptions.AxisError(f"start arg requires {-n} <= start < {n + 1}")
    start = start + n if start < 0 else start
    if ax < start:
        start -= 1
    if ax == start:
        return a[...]
    axes.remove(ax)
    axes.insert(start, ax)
    return transpose_(a, tuple(axes))


@implements(np.block)
def block(arrays):
    def depth(x):
        return 1 + depth(x[0]) if isinstance(x, list) and x else 0

    def leaves(x):
        if isinstance(x, list):
            for e in x:
                yield from leaves(e)
        else:
            yield x

    if isinstance(arrays, tuple):
        raise TypeError("arrays is a tuple. Only lists can be used to arrange blocks, and "
                        "np.block does not allow implicit conversion from tuple to ndarray.")
    d = depth(arrays)
    ndim = max([d] + [np.ndim(a) for a in leaves(arrays)])

    def build(x, level):
        if isinstance(x, list):
            return concatenate_([build(e, level + 1) for e in x], axis=-(d - level))
        shape = np.shape(x)
        return reshape(x, (1,) * (ndim - len(shape)) + shape) if len(shape) < ndim else x

    return build(arrays, 0) if d else copy_array(arrays)


def _split_along(name, axis, min_ndim):
    def split_(ary, indices_or_sections):
        if np.ndim(ary) < min_ndim:
            raise ValueError(f"{name} only works on arrays of {min_ndim} or more dimensions")
        ax = axis if not (name == "hsplit" and np.ndim(ary) == 1) else 0
        if isinstance(indices_or_sections, (int, np.integer)) and \
                np.shape(ary)[ax] % indices_or_sections:
            raise ValueError("array split does not result in an equal division")
        return array_split(ary, indices_or_sections, ax)

    return split_


IMPLEMENTS[np.hsplit] = _split_along("hsplit", 1, 1)
IMPLEMENTS[np.vsplit] = _split_along("vsplit", 0, 2)
IMPLEMENTS[np.dsplit] = _split_along("dsplit", 2, 3)


# --- dtype queries: answered from the dtypes, nothing recorded ---------------------------------
def _dtypes(args):
    return [a.dtype if type(a) is Tracked else a for a in args]


IMPLEMENTS[np.result_type] = lambda *args: np.result_type(*_dtypes(args))
IMPLEMENTS[np.iscomplexobj] = lambda x: _dtype(x).kind == "c"
IMPLEMENTS[np.isrealobj] = lambda x: _dtype(x).kind != "c"
IMPLEMENTS[np.iscomplex] = lambda x: np.imag(x) != 0
IMPLEMENTS[np.isreal] = lambda x: np.imag(x) == 0
