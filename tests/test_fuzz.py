"""Differential fuzzing: random programs over the registered primitives, every way yota runs them.

A hypothesis strategy builds a random program: inputs with broadcasting shapes, then a bounded
number of steps drawn from ``OPS`` (elementwise math, broadcasting binaries, reductions over
random axes, reshapes and transposes, basic/fancy/boolean indexing, in-place writes, matmul,
linear algebra, nn functions, Python branches and stop_gradient), and a scalar loss that weighs
several intermediate values with random constants. Each program is run

- as plain NumPy in float64 (the reference value, and central finite differences along random
  directions, with stop_gradient values frozen as yota treats them);
- by ``yota.grad(..., dynamic=True)``;
- by ``yota.grad`` in static mode (compiled, cached), called twice: the second call with new
  inputs *and* a re-created program holding new constants, which must hit the same cache entry
  (or re-trace when a guard fails) and never return stale results;
- by the tape interpreter (``yota/compile/interpret.py``) and by unoptimized generated code,
  both compiled by ``compile_variant`` and replayed on the second inputs too;
- by the yota-numba backend (its own tests' programs, or every program with
  ``YOTA_FUZZ_NUMBA=1``), first call and replay, against dynamic mode and the numpy backend.

Values must agree to rounding; gradients to a tolerance derived from the finite-difference step.
Inputs are never modified and returned arrays are never overwritten by a later call.

Normal runs draw ``YOTA_FUZZ_EXAMPLES`` programs (default 400, about 15 s here); the long profile
is ``YOTA_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py`` (see docs/testing.md). Every
counterexample found becomes a test in the "regressions" section at the end.
"""
from __future__ import annotations

import math
import os
import types
import warnings

import numpy as np
import pytest
from hypothesis import (HealthCheck, assume as _assume, currently_in_test_context,
                        given, note, reject, settings)
from hypothesis import strategies as st

import yota
from yota.compile import CACHE, compile_variant
from yota.compile.key import signature
from yota.transforms import build_grad

yota_nn = pytest.importorskip("yota_nn")
yota_reductions = pytest.importorskip("yota_reductions")
pytest.importorskip("yota_linalg")
pytest.importorskip("yota_fft")

EXAMPLES = int(os.environ.get("YOTA_FUZZ_EXAMPLES", "400"))
# The yota-numba backend: numba compiles take about a second per program, so normal runs send
# NUMBA_EXAMPLES programs of their own through it (test_random_programs_through_numba, float64
# and float32); YOTA_FUZZ_NUMBA=1 also runs every program of every test here through it.
NUMBA = os.environ.get("YOTA_FUZZ_NUMBA") == "1"
NUMBA_EXAMPLES = int(os.environ.get("YOTA_FUZZ_NUMBA_EXAMPLES", "12"))
try:
    import yota_numba
    HAVE_NUMBA = yota_numba.BACKEND.available()[0]
except ImportError:
    HAVE_NUMBA = False
FUZZ = settings(max_examples=EXAMPLES, deadline=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])

MAX_STEPS = 8
KINK_MARGIN = 1e-3      # distance from a kink / jump below which a drawn input is discarded
FD_STEP = 1e-6
BIG = 1e6               # intermediate magnitudes above this are discarded (overflow territory)


def assume(condition):
    """hypothesis's assume inside a property; a plain assertion in the regression tests."""
    if currently_in_test_context():
        return _assume(condition)
    assert condition, "a regression program no longer satisfies the fuzzer's assumptions"
    return True


# --- the operations ------------------------------------------------------------------------------
class Op:
    """One kind of step: ``fn(*values, *params)``; ``margin(*values, *params)`` is how far the
    inputs are from a kink or a jump (None: smooth); ``sg`` marks values yota treats as constants
    (stop_gradient), which finite differences must freeze."""

    def __init__(self, fn, margin=None, sg=False):
        self.fn, self.margin, self.sg = fn, margin, sg


def _ckpt_block(v):
    return np.tanh(np.sin(v) * 2.0)


_CKPT = yota.checkpoint(_ckpt_block)


def _gap_top2(a, axis):
    """Smallest gap between the largest two entries along ``axis`` (max/min ties are kinks)."""
    a = np.asarray(a, dtype=np.float64)
    if axis is None:
        a, axis = a.reshape(-1), 0
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    axes = tuple(ax % max(a.ndim, 1) for ax in axes)
    if a.ndim == 0:
        return np.inf
    moved = np.moveaxis(a, axes, tuple(range(-len(axes), 0)))
    flat = moved.reshape(moved.shape[:moved.ndim - len(axes)] + (-1,))
    if flat.shape[-1] < 2:
        return np.inf
    s = np.sort(flat, axis=-1)
    return float(min(np.min(s[..., -1] - s[..., -2]), np.min(s[..., 1] - s[..., 0])))


def _setitem_sin(a, ax, start, stop, step):
    b = np.copy(a)
    index = (slice(None),) * ax + (slice(start, stop, step),)
    b[index] = np.sin(b[index])
    return b


def _setitem_fancy(a, idx):
    b = a * 1.0
    b[idx] = np.cos(a[idx]) * 2.0
    return b


def _iadd(a, b):
    c = np.copy(a)
    if type(c) is not yota.Tracked and type(b) is yota.Tracked:
        # writing a tracked value into a plain buffer raises (it would drop the gradient); the
        # error says to make the buffer tracked, as here
        c = np.zeros_like(b, shape=np.shape(c)) + c
    c += b
    return c


def _fancy_iadd(a, idx):
    b = a * 1.0
    b[idx] += np.sin(a[idx]) * 2.0     # repeated indices: NumPy keeps one write, no sum
    return b


def _mask_write(a, t):
    b = np.copy(a)
    m = b > t
    b[m] = b[m] ** 2 + 1.0
    return b


def _transposed_view_write(a):
    b = a * 1.0
    v = np.swapaxes(b, 0, -1)          # a view: the write goes through to b
    v[0] *= 3.0
    return b


def _view_write(a):
    b = np.copy(a)
    row = b[0]                  # a view taken before the write shows it, as in NumPy
    b[0] = np.sin(b[0]) * 3.0
    return row * 2.0 + b[0]


def _branch(a, t):
    if np.sum(a) > t:           # a Python branch on a tracked value: a guard in static mode
        return np.sin(a)
    return np.cos(a) * 2.0


def _prefix(a, t):
    flat = np.ravel(a)
    k = int(np.sum(flat > t))   # an int guard; the slice length depends on the values
    return np.sum(flat[: k + 1] ** 2)


def _masked(a, t):
    return np.sum(np.sin(a[a > t]))   # value-dependent shape: a shape guard in static mode


def _eye_like(n, dtype):
    return np.eye(n, dtype=dtype)


def _inv_safe(a, eye):
    return np.linalg.inv(a * 0.1 + eye * 2.0)


def _det_safe(a, eye):
    return np.linalg.det(a * 0.1 + eye * 2.0)


def _sym(a):
    return (a + np.swapaxes(a, -1, -2)) * 0.5


def _spd(a, eye):
    return a @ np.swapaxes(a, -1, -2) + eye * 2.0


def _eig_gap(a, *_):
    w = np.linalg.eigvalsh(_sym(np.asarray(a, np.float64)))
    return float(np.min(np.diff(w, axis=-1), initial=np.inf))


def _sv_margin(a, *_):
    """Singular values: distinct (their vectors are then smooth) and away from 0."""
    sv = np.linalg.svd(np.asarray(a, np.float64), compute_uv=False)
    return float(min(np.min(sv, initial=np.inf), np.min(-np.diff(sv, axis=-1), initial=np.inf)))


def _complex_margin(a, *_):
    z = np.fft.fft(np.asarray(a, np.float64), axis=-1)
    return float(np.min(np.abs(z), initial=np.inf))   # |z| has a kink at 0


def _float_scale(a, s):
    return a * float(s)         # s is a 0-d stop_gradient value: no gradient is dropped


def _arctan2_margin(a, b):
    a, b = np.broadcast_arrays(a, b)
    r = np.hypot(a, b)
    cut = np.where(b < 0, np.abs(a), np.inf)   # the branch cut along the negative x-axis
    return float(min(np.min(r, initial=np.inf), np.min(cut, initial=np.inf)))


def _diff_margin(a, b):
    return float(np.min(np.abs(np.subtract(a, b)), initial=np.inf))


def _abs_margin(a, *_):
    return float(np.min(np.abs(a), initial=np.inf))


def _threshold_margin(a, t):
    return float(np.min(np.abs(np.asarray(a) - t), initial=np.inf))


OPS = {
    # elementwise, smooth on the reals
    "sin": Op(np.sin), "cos": Op(np.cos), "tanh": Op(np.tanh), "arctan": Op(np.arctan),
    "exp_tanh": Op(lambda a: np.exp(np.tanh(a))),
    "log1p_sq": Op(lambda a: np.log1p(a * a)),
    "sqrt1p": Op(lambda a: np.sqrt(a * a + 1.0)),
    "recip1p": Op(lambda a: 1.0 / (1.0 + a * a)),
    "cube": Op(lambda a: a ** 3),
    "pow15": Op(lambda a: (a * a + 1.0) ** 1.5),
    "square": Op(np.square),
    "neg": Op(lambda a: -a),
    "scale": Op(lambda a, c: a * c),
    "rsub": Op(lambda a, c: c - a),
    "sigmoid": Op(yota_nn.sigmoid), "softplus": Op(yota_nn.softplus), "gelu": Op(yota_nn.gelu),
    "ckpt": Op(lambda a: _CKPT(a)),
    # elementwise with kinks
    "abs": Op(np.abs, _abs_margin), "relu": Op(yota_nn.relu, _abs_margin),
    # binary, broadcasting
    "add": Op(np.add), "sub": Op(np.subtract), "mul": Op(np.multiply),
    "div1p": Op(lambda a, b: a / (1.0 + b * b)),
    "logaddexp": Op(np.logaddexp),
    "pow_t": Op(lambda a, b: (a * a + 1.0) ** np.tanh(b)),
    "maximum": Op(np.maximum, _diff_margin), "minimum": Op(np.minimum, _diff_margin),
    "hypot": Op(np.hypot, lambda a, b: float(np.min(np.hypot(a, b), initial=np.inf))),
    "arctan2": Op(np.arctan2, _arctan2_margin),
    "where_gt": Op(lambda a, b: np.where(a > b, a, b * 2.0), _diff_margin),
    "mse": Op(lambda a, b: yota_nn.mse(a, b)),
    "mul_c": Op(np.multiply), "add_c": Op(np.add),
    # reductions
    "sum": Op(lambda a, axis, keep: np.sum(a, axis=axis, keepdims=keep)),
    "mean": Op(lambda a, axis, keep: np.mean(a, axis=axis, keepdims=keep)),
    "max": Op(lambda a, axis, keep: np.max(a, axis=axis, keepdims=keep),
              lambda a, axis, keep: _gap_top2(a, axis)),
    "min": Op(lambda a, axis, keep: np.min(a, axis=axis, keepdims=keep),
              lambda a, axis, keep: _gap_top2(a, axis)),
    "prod": Op(lambda a, axis, keep: np.prod(a, axis=axis, keepdims=keep)),
    "var": Op(lambda a, axis, keep: np.var(a, axis=axis, keepdims=keep)),
    "std": Op(lambda a, axis, keep: np.std(a, axis=axis, keepdims=keep),
              lambda a, axis, keep: float(np.min(np.var(a, axis=axis), initial=np.inf))),
    "logsumexp": Op(lambda a, axis, keep: yota_reductions.logsumexp(a, axis=axis,
                                                                      keepdims=keep)),
    "cumsum": Op(lambda a, axis: np.cumsum(a, axis=axis)),
    "cumprod": Op(lambda a, axis: np.cumprod(a, axis=axis)),
    "norm": Op(lambda a, axis: np.linalg.norm(a, axis=axis),
               lambda a, axis: float(np.min(np.linalg.norm(a, axis=axis), initial=np.inf))),
    # shapes
    "reshape": Op(lambda a, shape: np.reshape(a, shape)),
    "transpose": Op(lambda a, perm: np.transpose(a, perm)),
    "swapaxes": Op(lambda a, i, j: np.swapaxes(a, i, j)),
    "moveaxis": Op(lambda a, i, j: np.moveaxis(a, i, j)),
    "expand_dims": Op(lambda a, axis: np.expand_dims(a, axis)),
    "squeeze": Op(lambda a, axis: np.squeeze(a, axis)),
    "ravel": Op(lambda a: a.ravel()),
    "flip": Op(lambda a, axis: np.flip(a, axis)),
    "roll": Op(lambda a, shift, axis: np.roll(a, shift, axis)),
    "broadcast_to": Op(lambda a, n: np.broadcast_to(a, (n,) + np.shape(a))),
    "tile": Op(lambda a, reps: np.tile(a, reps)),
    "repeat": Op(lambda a, reps, axis: np.repeat(a, reps, axis)),
    "concatenate": Op(lambda a, b, axis: np.concatenate([a, b], axis=axis)),
    "stack": Op(lambda a, b, axis: np.stack([a, b], axis=axis)),
    "triu": Op(lambda a, k: np.triu(a, k)),
    "diagonal": Op(lambda a: np.diagonal(a, 0, -2, -1)),
    "T": Op(lambda a: a.T),
    # indexing
    "slice": Op(lambda a, ax, start, stop, step:
                a[(slice(None),) * ax + (slice(start, stop, step),)]),
    "int_index": Op(lambda a, i: a[i]),
    "last_index": Op(lambda a, i: a[..., i]),
    "newaxis": Op(lambda a: a[:, None] if np.ndim(a) else a[None]),
    "fancy": Op(lambda a, idx, ax: a[(slice(None),) * ax + (idx,)]),
    "take": Op(lambda a, idx, ax: np.take(a, idx, axis=ax)),
    "masked": Op(_masked, _threshold_margin),
    "prefix": Op(_prefix, _threshold_margin),
    "branch": Op(_branch, lambda a, t: abs(float(np.sum(a)) - t)),
    # in-place writes
    "setitem_sin": Op(_setitem_sin), "setitem_fancy": Op(_setitem_fancy),
    "iadd": Op(_iadd), "view_write": Op(_view_write), "fancy_iadd": Op(_fancy_iadd),
    "mask_write": Op(_mask_write, _threshold_margin),
    "transposed_view_write": Op(_transposed_view_write),
    # products and linear algebra
    "matmul": Op(np.matmul), "matmul_self": Op(lambda a: a @ np.swapaxes(a, -1, -2)),
    "einsum": Op(lambda a, w: np.einsum("...i,ij->...j", a, w)),
    "inv": Op(_inv_safe), "det": Op(_det_safe),
    "solve": Op(lambda a, eye: np.linalg.solve(a * 0.1 + eye * 2.0, a)),
    "cholesky": Op(lambda a, eye: np.linalg.cholesky(_spd(a, eye))),
    "slogdet": Op(lambda a, eye: np.linalg.slogdet(a * 0.1 + eye * 2.0)[1]),
    "eigvalsh": Op(lambda a: np.linalg.eigvalsh(_sym(a)), _eig_gap),
    "eigh_vectors": Op(lambda a: np.linalg.eigh(_sym(a))[1] ** 2, _eig_gap),   # sign-free
    "svdvals": Op(lambda a: np.linalg.svd(a, compute_uv=False), _sv_margin),
    "svd_u": Op(lambda a: np.linalg.svd(a, full_matrices=False)[0] ** 2, _sv_margin),
    "pinv": Op(np.linalg.pinv, _sv_margin),
    "qr_r": Op(lambda a: np.abs(np.linalg.qr(a)[1]), _sv_margin),   # signs of R's rows vary
    "nuc_norm": Op(lambda a: np.linalg.norm(a, ord="nuc", axis=(-2, -1)), _sv_margin),
    # complex intermediates (the yota-fft pack)
    "fft_real": Op(lambda a: np.real(np.fft.fft(a, axis=-1) * (1.0 + 0.5j))),
    "fft_abs": Op(lambda a: np.abs(np.fft.fft(a, axis=-1)), _complex_margin),
    "rfft_power": Op(lambda a: np.abs(np.fft.rfft(a, axis=-1)) ** 2),
    "fft_roundtrip": Op(lambda a: np.fft.irfft(np.fft.rfft(a, axis=-1) * (0.5 - 1.0j),
                                               n=np.shape(a)[-1], axis=-1)),
    "exp_i": Op(lambda a: np.imag(np.exp(1j * a)) + np.angle(a + 2.0j)),
    # nn
    "softmax": Op(lambda a, axis: yota_nn.softmax(a, axis=axis)),
    "log_softmax": Op(lambda a, axis: yota_nn.log_softmax(a, axis=axis)),
    "cross_entropy": Op(lambda a, labels: yota_nn.cross_entropy(a, labels)),
    # values yota treats as constants
    "stop_gradient": Op(yota.stop_gradient, sg=True),
    "float_sg": Op(_float_scale),
}


# steps whose Python conversions or value-dependent shapes make a replay re-trace
GUARDED = {"branch", "masked", "prefix", "float_sg", "mask_write"}


# --- programs ------------------------------------------------------------------------------------
class Program:
    """Steps over references ``("x", i)`` (input), ``("v", j)`` (step output), ``("c", k)``
    (constant). Everything in ``steps`` is hashable, so the static cache keys it by value; the
    constants are arrays held in the closure of ``function()``, read at call time."""

    def __init__(self, inputs, steps, consts, outs, dtype, argnums, pyfloat=(), array0=(),
                 holder="closure"):
        self.inputs = inputs          # shapes
        self.pyfloat = pyfloat        # 0-d inputs passed as Python floats (float64 only)
        self.array0 = array0          # 0-d inputs passed as 0-d arrays (else NumPy scalars)
        self.steps = steps            # tuple of (name, refs, params)
        self.consts = consts          # list of ("normal", shape) | ("index", shape, high) | ...
        self.outs = outs              # refs weighed into the loss
        self.dtype = np.dtype(dtype)
        self.argnums = argnums
        self.holder = holder          # where the function finds its constants (HOLDERS)
        self._held = None

    def __repr__(self):
        lines = [f"inputs {self.inputs} {self.dtype} argnums={self.argnums}"
                 + (f" python floats {self.pyfloat}" if self.pyfloat else "")
                 + (f" 0-d arrays {self.array0}" if self.array0 else "")
                 + (f" constants held by {self.holder}" if self.holder != "closure" else "")]
        lines += [f"  v{j} = {name}{refs}{params}" for j, (name, refs, params) in
                  enumerate(self.steps)]
        lines.append(f"  consts {self.consts}")
        lines.append(f"  loss = sum of weighted {self.outs}")
        return "\n".join(lines)

    # values
    def draw_inputs(self, rng):
        xs = [rng.uniform(-2.0, 2.0, s).astype(self.dtype) if s != () else
              self.dtype.type(rng.uniform(-2.0, 2.0)) for s in self.inputs]
        return [float(x) if i in self.pyfloat else np.array(x) if i in self.array0 else x
                for i, x in enumerate(xs)]

    def draw_consts(self, rng):
        out = []
        for spec in self.consts:
            kind, shape = spec[0], spec[1]
            if kind == "normal":
                out.append(rng.uniform(-1.5, 1.5, shape).astype(self.dtype))
            elif kind == "index":
                out.append(rng.integers(-spec[2], spec[2], shape))
            elif kind == "labels":
                out.append(rng.integers(0, spec[2], shape))
            elif kind == "eye":
                out.append(np.eye(shape[0], dtype=self.dtype))
        return out

    def function(self, consts):
        """A new closure each time, as a user's lambda in a loop: one compiled program serves
        all of them, reading ``consts`` at call time. With another ``holder`` the constants
        sit behind an attribute (``box.consts``, ``module.consts``, ``self.consts`` of a bound
        method) of one object per program, rebound on every call of ``function``."""
        steps, outs = self.steps, self.outs
        consts = tuple(consts)
        if self.holder == "closure":
            def program(*xs):
                return run(steps, consts, outs, xs)

            return program
        if self._held is None:
            self._held = (types.ModuleType("held") if self.holder == "module" else
                          _Model(steps, outs) if self.holder == "method" else _Box())
        held = self._held
        held.consts = consts
        if self.holder == "method":
            return held.loss

        def program(*xs):
            return run(steps, held.consts, outs, xs)

        return program


HOLDERS = ("closure", "object", "module", "method")


class _Box:
    """A plain object holding a program's constants as an attribute."""


class _Model:
    """A plain class whose bound method is the program (``grad(model.loss, x)``)."""

    def __init__(self, steps, outs):
        self.steps, self.outs = steps, outs

    def loss(self, *xs):
        return run(self.steps, self.consts, self.outs, xs)


def _ref(r, xs, env, consts):
    kind, i = r
    return xs[i] if kind == "x" else env[i] if kind == "v" else consts[i]


def run(steps, consts, outs, xs, frozen=None, margins=None):
    """Run a program on tracked or plain values. ``frozen`` (step -> value) replaces the outputs
    of stop_gradient steps; ``margins`` collects each step's distance from a kink."""
    env = []
    for j, (name, refs, params) in enumerate(steps):
        op = OPS[name]
        vals = [_ref(r, xs, env, consts) for r in refs]
        if frozen is not None and op.sg:
            env.append(frozen[j])
            continue
        if margins is not None and op.margin is not None:
            margins.append(op.margin(*vals, *params))
        env.append(op.fn(*vals, *params))
    total = 0.0
    for k, r in enumerate(outs):
        total = total + np.sum(_ref(r, xs, env, consts) * consts[-1 - k])
    return total


# --- the strategy --------------------------------------------------------------------------------
_PLACEHOLDER = np.random.default_rng(12345)


class _Builder:
    """Grows a program step by step, keeping placeholder values to know every shape."""

    def __init__(self, draw, dtype):
        self.draw = draw
        self.dtype = np.dtype(dtype)
        self.inputs, self.steps, self.consts = [], [], []
        self.vals = {}            # ref -> placeholder value

    def new_input(self, shape):
        ref = ("x", len(self.inputs))
        self.inputs.append(tuple(shape))
        self.vals[ref] = _PLACEHOLDER.uniform(0.5, 1.5, shape)
        return ref

    def new_const(self, spec, value):
        ref = ("c", len(self.consts))
        self.consts.append(spec)
        self.vals[ref] = value
        return ref

    def normal_const(self, shape):
        return self.new_const(("normal", tuple(shape)), _PLACEHOLDER.uniform(-1, 1, shape))

    def shape(self, ref):
        return np.shape(self.vals[ref])

    def live(self):
        return [r for r in self.vals if r[0] != "c"]

    def pick(self, pred=lambda s: True):
        refs = [r for r in self.live() if pred(self.shape(r))]
        if not refs:
            return None
        # recent values more often, so programs are deep rather than wide
        return self.draw(st.sampled_from(refs[::-1][:4] + refs))

    def emit(self, name, refs, params=()):
        value = OPS[name].fn(*[self.vals[r] for r in refs], *params)
        ref = ("v", len(self.steps))
        self.steps.append((name, tuple(refs), tuple(params)))
        self.vals[ref] = value
        return ref


def _axis_or_none(draw, ndim, allow_tuple=True):
    if ndim == 0:
        return None
    choices = [st.none(), st.integers(-ndim, ndim - 1)]
    if allow_tuple and ndim >= 2:
        choices.append(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim,
                                unique=True).map(tuple))
    return draw(st.one_of(*choices))


def _broadcastable_shape(draw, shape):
    """A shape that broadcasts with ``shape``: some trailing axes, some of them 1."""
    k = draw(st.integers(0, len(shape)))
    tail = shape[len(shape) - k:]
    return tuple(draw(st.sampled_from([n, 1])) for n in tail)


def _factor_shape(draw, size):
    dims = []
    rest = size
    while rest > 1 and len(dims) < 3:
        divisors = [d for d in range(2, rest + 1) if rest % d == 0]
        d = draw(st.sampled_from(divisors))
        dims.append(d)
        rest //= d
    if rest > 1:
        dims.append(rest)
    if draw(st.booleans()):
        dims.insert(draw(st.integers(0, len(dims))), 1)
    dims = tuple(dims)
    if dims and draw(st.booleans()):
        i = draw(st.integers(0, len(dims) - 1))
        dims = dims[:i] + (-1,) + dims[i + 1:]
    return dims


KINDS = {
    "unary": ("sin", "cos", "tanh", "arctan", "exp_tanh", "log1p_sq", "sqrt1p", "recip1p",
              "cube", "pow15", "square", "neg", "scale", "rsub", "sigmoid", "softplus", "gelu",
              "ckpt", "abs", "relu"),
    "binary": ("add", "sub", "mul", "div1p", "logaddexp", "pow_t", "maximum", "minimum",
               "hypot", "arctan2", "where_gt", "mse", "mul_c", "add_c"),
    "reduce": ("sum", "mean", "max", "min", "prod", "var", "std", "logsumexp", "cumsum",
               "cumprod", "norm"),
    "shape": ("reshape", "transpose", "swapaxes", "moveaxis", "expand_dims", "squeeze", "ravel",
              "flip", "roll", "broadcast_to", "tile", "repeat", "concatenate", "stack", "triu",
              "diagonal", "T"),
    "index": ("slice", "int_index", "last_index", "newaxis", "fancy", "take", "masked",
              "prefix"),
    "inplace": ("setitem_sin", "setitem_fancy", "iadd", "view_write", "fancy_iadd",
                "mask_write", "transposed_view_write"),
    "linalg": ("matmul", "matmul_self", "einsum", "inv", "det", "solve", "cholesky", "slogdet",
               "eigvalsh", "eigh_vectors", "svdvals", "svd_u", "pinv", "qr_r", "nuc_norm"),
    "complex": ("fft_real", "fft_abs", "rfft_power", "fft_roundtrip", "exp_i"),
    "nn": ("softmax", "log_softmax", "cross_entropy"),
    "control": ("branch",),
    "sg": ("stop_gradient",),
}
KIND_OF = {name: kind for kind, names in KINDS.items() for name in names}
# uniform over operations, so each one shows up often; YOTA_FUZZ_OPS=svd_u,pinv,... (names or
# kinds: linalg,complex) narrows the search to some of them
STEP_NAMES = tuple(KIND_OF)
if os.environ.get("YOTA_FUZZ_OPS"):
    STEP_NAMES = tuple(n for part in os.environ["YOTA_FUZZ_OPS"].split(",")
                       for n in KINDS.get(part.strip(), (part.strip(),)))
    assert all(n in KIND_OF for n in STEP_NAMES), f"unknown operations in {STEP_NAMES}"


def _step(draw, b):
    """Append one random step (or none when the drawn operation does not apply)."""
    name = draw(st.sampled_from(STEP_NAMES))
    kind = KIND_OF[name]
    a = b.pick()
    s = b.shape(a)
    nd = len(s)
    if kind == "unary":
        params = (draw(st.sampled_from([-1.5, 0.5, 2.0, 3.0])),) if name in ("scale",
                                                                          "rsub") else ()
        return b.emit(name, [a], params)
    if kind == "binary":
        if name in ("mul_c", "add_c"):
            c = b.normal_const(_broadcastable_shape(draw, s))
            return b.emit(name, draw(st.permutations([a, c])))
        if name == "mse":
            other = b.pick(lambda t: t == s) or b.normal_const(s)
            return b.emit(name, [a, other])
        other = b.pick(lambda t: _broadcasts(t, s))
        if other is None or draw(st.booleans()):
            other = b.new_input(_broadcastable_shape(draw, s))
        return b.emit(name, draw(st.permutations([a, other])))
    if kind == "reduce":
        if name in ("cumsum", "cumprod", "norm"):
            axis = draw(st.integers(-nd, nd - 1)) if nd else None
            if name == "norm" and axis is None and nd > 2:
                axis = 0
            return b.emit(name, [a], (axis,))
        axis = _axis_or_none(draw, nd, allow_tuple=name != "logsumexp")
        return b.emit(name, [a], (axis, draw(st.booleans())))
    if kind == "shape":
        size = int(np.prod(s))
        if name == "reshape":
            return b.emit(name, [a], (_factor_shape(draw, size),))
        if name == "transpose":
            perm = tuple(draw(st.permutations(range(nd)))) if nd else None
            return b.emit(name, [a], (perm if draw(st.integers(0, 2)) else None,))
        if name in ("swapaxes", "moveaxis") and nd:
            return b.emit(name, [a], (draw(st.integers(-nd, nd - 1)),
                                      draw(st.integers(-nd, nd - 1))))
        if name == "expand_dims":
            return b.emit(name, [a], (draw(st.integers(-nd - 1, nd)),))
        if name == "squeeze" and 1 in s:
            return b.emit(name, [a], (draw(st.sampled_from([i for i, n in enumerate(s)
                                                             if n == 1])),))
        if name == "ravel" or name == "T":
            return b.emit(name, [a])
        if name == "flip":
            return b.emit(name, [a], (_axis_or_none(draw, nd),))
        if name == "roll":
            axis = draw(st.integers(-nd, nd - 1)) if nd and draw(st.booleans()) else None
            return b.emit(name, [a], (draw(st.integers(-3, 3)), axis))
        if name == "broadcast_to" and nd < 3:
            return b.emit(name, [a], (draw(st.integers(1, 3)),))
        if name == "tile" and nd < 3:
            reps = tuple(draw(st.lists(st.integers(1, 2), min_size=1, max_size=2)))
            return b.emit(name, [a], (reps,))
        if name == "repeat" and size <= 24:
            axis = draw(st.integers(-nd, nd - 1)) if nd and draw(st.booleans()) else None
            return b.emit(name, [a], (draw(st.integers(1, 3)), axis))
        if name in ("concatenate", "stack") and nd:
            axis = draw(st.integers(-nd, nd - 1))
            if name == "stack":
                other = b.pick(lambda t: t == s)
                return b.emit(name, [a, other], (draw(st.integers(-nd - 1, nd)),))
            ax = axis % nd
            other = b.pick(lambda t: len(t) == nd and all(
                n == m for i, (n, m) in enumerate(zip(t, s)) if i != ax))
            return b.emit(name, [a, other], (axis,))
        if name in ("triu", "diagonal") and nd >= 2:
            return b.emit(name, [a], (draw(st.integers(-1, 1)),) if name == "triu" else ())
        return None
    if kind == "index":
        if name in ("masked", "prefix"):
            return b.emit(name, [a], (draw(st.sampled_from([-0.5, 0.0, 0.7])),))
        if name == "newaxis":
            return b.emit(name, [a])
        if not nd:
            return None
        if name == "slice":
            ax = draw(st.integers(0, nd - 1))
            n = s[ax]
            start = draw(st.one_of(st.none(), st.integers(-n, n - 1)))
            step = draw(st.sampled_from([None, 1, 2, -1, -2]))
            stop = draw(st.one_of(st.none(), st.integers(-n - 1, n)))
            if len(range(n)[slice(start, stop, step)]) == 0:
                return None
            return b.emit(name, [a], (ax, start, stop, step))
        if name == "int_index":
            return b.emit(name, [a], (draw(st.integers(-s[0], s[0] - 1)),))
        if name == "last_index":
            return b.emit(name, [a], (draw(st.integers(-s[-1], s[-1] - 1)),))
        ax = draw(st.integers(0, nd - 1))
        k = draw(st.integers(1, 5))
        idx = b.new_const(("index", (k,), s[ax]), _PLACEHOLDER.integers(0, s[ax], k))
        return b.emit(name, [a, idx], (ax,))
    if kind == "inplace":
        if not nd:
            return None
        if name == "setitem_sin":
            ax = draw(st.integers(0, nd - 1))
            n = s[ax]
            return b.emit(name, [a], (ax, draw(st.integers(-n, n - 1)), None,
                                      draw(st.sampled_from([None, 2]))))
        if name in ("setitem_fancy", "fancy_iadd"):
            k = draw(st.integers(1, 4))
            idx = b.new_const(("index", (k,), s[0]), _PLACEHOLDER.integers(0, s[0], k))
            return b.emit(name, [a, idx])
        if name == "mask_write":
            return b.emit(name, [a], (draw(st.sampled_from([-0.5, 0.0, 0.7])),))
        if name == "iadd":
            other = b.pick(lambda t: len(t) <= nd and _broadcasts(t, s) and
                           np.broadcast_shapes(t, s) == s)
            return b.emit(name, [a, other])
        return b.emit(name, [a])
    if kind == "linalg":
        if not nd:
            return None
        if name == "matmul":
            wshape = (s[-1],) if draw(st.booleans()) else (s[-1], draw(st.integers(1, 3)))
            w = b.new_input(wshape) if draw(st.booleans()) else b.normal_const(wshape)
            return b.emit(name, [a, w])
        if name == "einsum":
            return b.emit(name, [a, b.new_input((s[-1], draw(st.integers(1, 3))))])
        if nd < 2:
            return None
        if name == "matmul_self":
            return b.emit(name, [a])
        if name in ("svdvals", "svd_u", "pinv", "qr_r", "nuc_norm"):
            return b.emit(name, [a])
        if s[-1] != s[-2] or s[-1] > 3:
            return None
        if name in ("eigvalsh", "eigh_vectors"):
            return b.emit(name, [a])
        eye = b.new_const(("eye", (s[-1],)), np.eye(s[-1]))
        return b.emit(name, [a, eye])
    if kind == "complex":
        if not nd and name != "exp_i":
            return None
        return b.emit(name, [a])
    if kind == "nn":
        if not nd:
            return None
        if name == "cross_entropy":
            labels = b.new_const(("labels", s[:-1], s[-1]), np.zeros(s[:-1], dtype=np.intp))
            return b.emit(name, [a, labels])
        return b.emit(name, [a], (draw(st.integers(-nd, nd - 1)),))
    if kind == "control":
        return b.emit(name, [a], (draw(st.sampled_from([-0.5, 0.0, 0.7])),))
    if kind == "sg":
        sg = b.emit("stop_gradient", [a])
        if draw(st.booleans()):
            scalar = b.emit("mean", [sg], (None, False))
            return b.emit("float_sg", [b.pick(), scalar])
        return b.emit("mul", [b.pick(), sg])
    raise AssertionError(kind)


def _broadcasts(t, s):
    try:
        np.broadcast_shapes(t, s)
        return True
    except ValueError:
        return False


@st.composite
def programs(draw, max_steps=MAX_STEPS, dtypes=(np.float64,)):
    dtype = draw(st.sampled_from(dtypes))
    b = _Builder(draw, dtype)
    for shape in draw(_input_shapes(draw(st.integers(1, 2)))):
        b.new_input(shape)
    for _ in range(draw(st.integers(1, max_steps))):
        try:
            _step(draw, b)
        except (ValueError, IndexError, TypeError, np.exceptions.AxisError):
            continue  # the drawn step does not apply to these shapes: draw another
        if b.steps and np.size(b.vals[("v", len(b.steps) - 1)]) > 512:
            break
    assume(b.steps)
    # every step's output is weighed into the loss: no step is dead code
    outs = [("v", j) for j in range(len(b.steps))][::-1]
    for r in reversed(outs):
        b.normal_const(b.shape(r))      # the loss weights: consts[-1 - k] for outs[k]
    nargs = len(b.inputs)
    argnums = draw(st.one_of(st.none(), st.sampled_from(
        [0] + [tuple(range(k, nargs)) for k in range(nargs)] if nargs > 1 else [0])))
    kinds = [draw(st.sampled_from(["scalar", "array", "float"] if dtype == np.float64 else
                                  ["scalar", "array"])) if s == () else None for s in b.inputs]
    return Program(b.inputs, tuple(b.steps), b.consts, tuple(outs), dtype, argnums,
                   pyfloat=tuple(i for i, k in enumerate(kinds) if k == "float"),
                   array0=tuple(i for i, k in enumerate(kinds) if k == "array"),
                   holder=draw(st.sampled_from(HOLDERS)))


def _input_shapes(n):
    from hypothesis.extra import numpy as hnp

    return hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=3, min_side=1,
                                             max_side=4).map(lambda bs: bs.input_shapes)


# --- running and comparing -----------------------------------------------------------------------
def _nums(prog):
    n = len(prog.inputs)
    if prog.argnums is None:
        return list(range(n))
    return [prog.argnums] if isinstance(prog.argnums, int) else list(prog.argnums)


def reference(prog, xs, consts):
    """Plain NumPy, float64: value, stop_gradient values, smallest kink margin, magnitude."""
    xs64 = [x if type(x) is float else np.asarray(x, np.float64) for x in xs]
    c64 = [c.astype(np.float64) if c.dtype.kind == "f" else c for c in consts]
    margins, frozen = [], {}
    try:
        env_value = run_recording(prog, xs64, c64, margins, frozen)
    except (TypeError, AttributeError):
        if not prog.pyfloat:
            raise
        reject()   # x[None] and friends: a Python float is no array (shapes were planned on one)
    return env_value, frozen, min(margins, default=np.inf)


def run_recording(prog, xs, consts, margins, frozen):
    """``run`` that also records stop_gradient outputs and checks magnitudes."""
    env = []
    with np.errstate(all="ignore"):
        for j, (name, refs, params) in enumerate(prog.steps):
            op = OPS[name]
            vals = [_ref(r, xs, env, consts) for r in refs]
            if op.margin is not None:
                margins.append(op.margin(*vals, *params))
            out = op.fn(*vals, *params)
            if op.sg:
                frozen[j] = out
            assume(np.all(np.isfinite(out)) and np.all(np.abs(out) < BIG))
            env.append(out)
    return run(prog.steps, consts, prog.outs, xs, frozen)


def richardson(at, h):
    """Central differences of ``at`` with steps h and 2h: ``(estimate, error bound)``. Their
    difference, 3 c h^2, bounds the truncation error of the estimate while h is small enough
    for the Taylor expansion to hold."""
    d1 = (at(h) - at(-h)) / (2 * h)
    d2 = (at(2 * h) - at(-2 * h)) / (4 * h)
    return (4 * d1 - d2) / 3, np.abs(d2 - d1)


def fd_verdict(at, got, tol, h=FD_STEP):
    """Compare the directional derivative(s) ``got`` with finite differences of ``at``:
    ``("agree" | "wrong" | "ill-conditioned", estimate, bound)``.

    Outside the range where its Taylor expansion holds (``sin(sin(x ** 9))`` near 3 turns by
    0.06 rad over one step) the error bound of ``richardson`` is too optimistic. So a
    disagreement is believed only if the estimates with steps h / 4 and 4 h agree with the one
    at h to within a quarter of the disagreement: then the finite differences have converged
    and the gradient is wrong. Otherwise the program is ill-conditioned at this scale and
    finite differences cannot judge it (the caller discards it). A wrong rule on a program
    that finite differences resolve is still "wrong" (see the regression tests)."""
    fd, err = richardson(at, h)
    bound = tol + 4 * err
    off = np.abs(got - fd)
    if np.all(off <= bound):
        return "agree", fd, bound
    spread = np.maximum(np.abs(richardson(at, h / 4)[0] - fd),
                        np.abs(richardson(at, 4 * h)[0] - fd))
    if np.any((off > bound) & (spread > off / 4)):
        return "ill-conditioned", fd, bound
    return "wrong", fd, bound


def judge(verdict, message):
    """Discard an ill-conditioned program; fail on a wrong gradient."""
    assume(verdict != "ill-conditioned")
    assert verdict == "agree", message


def finite_difference(prog, xs, consts, frozen, i, u):
    """The loss along ``u`` at input ``i`` (float64, stop_gradient values frozen), as a function
    of the step, for ``fd_verdict``."""
    xs64 = [np.asarray(x, np.float64) for x in xs]
    c64 = [c.astype(np.float64) if c.dtype.kind == "f" else c for c in consts]

    def at(t):
        probe = list(xs64)
        probe[i] = xs64[i] + t * u
        if not isinstance(xs[i], np.ndarray):
            probe[i] = np.float64(probe[i])
        with np.errstate(all="ignore"):
            return float(run(prog.steps, c64, prog.outs, probe, frozen))

    return at


def _leaf(g, i):
    return np.asarray(g[i])


def _same(a, b, what, rtol=1e-9):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(1.0, float(np.max(np.abs(b), initial=0.0)))
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale, err_msg=what)


def _same_result(r, expected, nums, what, rtol=1e-9):
    v, g = r
    ev, eg = expected
    _same(v, ev, f"{what}: value", rtol)
    for i in nums:
        _same(_leaf(g, i), _leaf(eg, i), f"{what}: gradient of input {i}", rtol)


def _snapshot(result):
    v, g = result
    return v, [None if x is None else np.array(x, copy=True) for x in g]


def check_program(prog, seed, data_seed2=None, numba=NUMBA):
    """Run ``prog`` every way and compare (the body of the fuzz test; regression tests call it
    with the programs hypothesis found); ``numba``: the yota-numba backend too."""
    yota.clear_cache()   # each example on its own: variants of earlier ones do not pile up
    rng = np.random.default_rng(seed)
    xs, consts = prog.draw_inputs(rng), prog.draw_consts(rng)
    f = prog.function(consts)
    nums = _nums(prog)
    ref_value, frozen, margin = reference(prog, xs, consts)
    assume(margin > KINK_MARGIN)
    originals = [np.array(x, copy=True) for x in xs]
    low = prog.dtype != np.float64

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # NaN-free by construction
        dyn = yota.grad(f, *xs, argnums=prog.argnums, dynamic=True)
        static = yota.grad(f, *xs, argnums=prog.argnums)
    key, inputs = signature(f, tuple(xs), {}, prog.argnums)
    entry = CACHE.get(key)
    assert entry is not None and not entry.dynamic, "static mode did not compile this program"

    # values and gradients: dynamic against the reference and finite differences
    _same(dyn[0], ref_value, "dynamic value vs NumPy", rtol=1e-4 if low else 1e-9)
    for i in nums:
        gi = _leaf(dyn[1], i)
        assert gi.shape == np.shape(xs[i]), f"gradient {i} has shape {gi.shape}"
        assert gi.dtype == np.asarray(xs[i]).dtype, f"gradient {i} has dtype {gi.dtype}"
        kind = type(xs[i])   # documented: the argument's kind (a NumPy scalar for one)
        assert type(dyn[1][i]) is kind, (
            f"gradient {i} is a {type(dyn[1][i]).__name__} for a {type(xs[i]).__name__}")
    if not low:
        for i in nums:
            gi = _leaf(dyn[1], i)
            for _ in range(2):
                u = rng.standard_normal(np.shape(xs[i]))
                at = finite_difference(prog, xs, consts, frozen, i, u)
                got = float(np.sum(gi * u))
                scale = 1.0 + float(np.sum(np.abs(gi * u)))
                verdict, fd, bound = fd_verdict(at, got, 1e-6 * scale)
                judge(verdict, f"input {i}: <grad, u> = {got!r}, finite differences {fd!r} "
                               f"(+- {bound:.2g})")
    else:   # float32 against the same program in float64
        prog64 = Program(prog.inputs, prog.steps, prog.consts, prog.outs, np.float64,
                         prog.argnums, array0=prog.array0)
        f64 = prog64.function([c.astype(np.float64) if c.dtype.kind == "f" else c
                               for c in consts])
        g64 = yota.grad(f64, *[np.asarray(x, np.float64) for x in xs], argnums=prog.argnums,
                        dynamic=True)[1]
        for i in nums:
            _same(_leaf(dyn[1], i), _leaf(g64, i), f"float32 gradient {i} vs float64",
                  rtol=2e-2)

    # static, the interpreter and unoptimized code against dynamic mode
    tight = 1e-5 if low else 1e-9   # modes may round differently (0-d arrays vs scalars...)
    _same_result(static, dyn, nums, "static vs dynamic", tight)
    variants = {}
    for label, kw in (("interpreter", {"mode": "interpret"}),
                      ("unoptimized code", {"mode": "codegen", "optimize": False})):
        try:
            variant = compile_variant(f, tuple(xs), {}, prog.argnums, inputs, build_grad, **kw)
        except Exception:   # static mode retries with constants baked in; so do we
            variant = compile_variant(f, tuple(xs), {}, prog.argnums, inputs, build_grad,
                                      lift=False, **kw)
        r = variant.fn(*inputs)
        assert r.__class__ is tuple, f"{label}: a guard failed on the traced inputs"
        _same_result(r, dyn, nums, f"{label} vs dynamic", tight)
        variants[label] = variant
    if numba:
        # the program static mode compiled, lowered by yota-numba (replayed below), and the
        # public path: grad(backend="numba") has its own cache entry, guards and re-traces
        variant = _numba_variant(f, tuple(xs), prog.argnums, inputs)
        r = variant.fn(*inputs)
        assert r.__class__ is tuple, "numba: a guard failed on the traced inputs"
        _same_result(r, dyn, nums, "numba vs dynamic", tight)
        _same_result(r, static, nums, "numba vs the numpy backend", tight)
        variants["numba"] = variant
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            _same_result(yota.grad(f, *xs, argnums=prog.argnums, backend="numba"), dyn, nums,
                         "grad(backend='numba') vs dynamic", tight)
    first = _snapshot(static)

    # second call: new inputs and a re-created program with new constants, same signature
    rng2 = np.random.default_rng(seed + 1 if data_seed2 is None else data_seed2)
    xs2, consts2 = prog.draw_inputs(rng2), prog.draw_consts(rng2)
    f2 = prog.function(consts2)
    _, _, margin2 = reference(prog, xs2, consts2)
    assume(margin2 > KINK_MARGIN)    # e.g. a singular matrix: no gradient in any mode
    key2, inputs2 = signature(f2, tuple(xs2), {}, prog.argnums)
    # scalars that are not differentiated are keyed by value (docs/static-graphs.md)
    by_value = any(not isinstance(x, np.ndarray) and i not in nums for i, x in enumerate(xs))
    assert key2 == key or by_value, "a re-created program changed the cache key"
    misses = CACHE.misses
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        dyn2 = yota.grad(f2, *xs2, argnums=prog.argnums, dynamic=True)
        static2 = yota.grad(f2, *xs2, argnums=prog.argnums)
    _same_result(static2, dyn2, nums, "static replay vs dynamic on new inputs", tight)
    if not by_value and not any(name in GUARDED for name, _, _ in prog.steps):
        assert CACHE.misses == misses, "a program with no guards was traced again"
    if numba:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            _same_result(yota.grad(f2, *xs2, argnums=prog.argnums, backend="numba"), dyn2,
                         nums, "grad(backend='numba') on new inputs vs dynamic", tight)
    for label, variant in variants.items() if key2 == key else ():
        r = variant.fn(*inputs2)
        if r.__class__ is tuple:        # else a guard failed: static mode re-traces
            _same_result(r, dyn2, nums, f"{label} replay vs dynamic on new inputs", tight)

    # the same inputs inside containers: gradients by path, in both modes
    f = prog.function(consts)   # constants behind an attribute: rebound to the first ones
    if prog.argnums is None:
        for dynamic in (True, False):
            _, gt = yota.grad(lambda tree: f(*tree["xs"]), {"xs": list(xs)}, dynamic=dynamic)
            for i in nums:
                got = gt[0].get(("xs", i), np.zeros(np.shape(xs[i])))
                _same(got, _leaf(dyn[1], i), f"input {i} in a container (dynamic={dynamic})",
                      tight)

    # nothing the user passed in was modified, and earlier results were not overwritten
    for x, x0 in zip(xs, originals):
        np.testing.assert_array_equal(x, x0)
    v, g = first
    _same_result((static[0], static[1]), (v, g), nums, "first result after a second call",
                 rtol=0)
    return dyn


def _numba_variant(f, args, argnums, inputs):
    """The program static mode compiles, lowered by the yota-numba backend."""
    from types import SimpleNamespace

    from yota.compile import passes
    from yota.compile.trace import trace_program
    from yota_numba import BACKEND

    try:
        program, template = trace_program(f, args, {}, argnums, inputs, build_grad)
    except Exception:
        program, template = trace_program(f, args, {}, argnums, inputs, build_grad, lift=False)
    fn, _ = BACKEND.lower(passes.optimize(program), template, "fuzzed")
    return SimpleNamespace(fn=fn)


@pytest.fixture(autouse=True)
def _fresh_cache():
    yota.clear_cache()
    yield
    yota.clear_cache()


@FUZZ
@given(prog=programs(), seed=st.integers(0, 2**32 - 1))
def test_random_programs_agree_in_every_mode(prog, seed):
    note(repr(prog))
    check_program(prog, seed)


@settings(FUZZ, max_examples=max(10, EXAMPLES // 4))
@given(prog=programs(max_steps=4, dtypes=(np.float32,)), seed=st.integers(0, 2**32 - 1))
def test_random_programs_in_float32_keep_their_dtype(prog, seed):
    note(repr(prog))
    check_program(prog, seed)


needs_numba = pytest.mark.skipif(not HAVE_NUMBA, reason="yota-numba (numba, scipy) is not "
                                 "installed: pip install -e plugins/yota-numba")


@needs_numba
@settings(FUZZ, max_examples=NUMBA_EXAMPLES)
@given(prog=programs(), seed=st.integers(0, 2**32 - 1))
def test_random_programs_through_numba(prog, seed):
    """check_program with the numba backend: first call and replay on new inputs, against the
    numpy backend, dynamic mode and (through dynamic mode) finite differences."""
    note(repr(prog))
    check_program(prog, seed, numba=True)


@needs_numba
@settings(FUZZ, max_examples=max(4, NUMBA_EXAMPLES // 2))
@given(prog=programs(max_steps=4, dtypes=(np.float32,)), seed=st.integers(0, 2**32 - 1))
def test_random_programs_in_float32_through_numba(prog, seed):
    note(repr(prog))
    check_program(prog, seed, numba=True)


SECOND_ORDER_EXCLUDED = {"stop_gradient", "float_sg"}   # cut on purpose: FD cannot follow


@settings(FUZZ, max_examples=max(10, EXAMPLES // 4))
@given(prog=programs(max_steps=4), seed=st.integers(0, 2**32 - 1))
def test_random_programs_second_order(prog, seed):
    """The gradient of <grad f, u> (a Hessian-vector product) in both modes against finite
    differences of yota's first-order gradient (checked above)."""
    note(repr(prog))
    assume(not any(name in SECOND_ORDER_EXCLUDED for name, _, _ in prog.steps))
    rng = np.random.default_rng(seed)
    xs, consts = prog.draw_inputs(rng), prog.draw_consts(rng)
    _, _, margin = reference(prog, xs, consts)
    assume(margin > 10 * KINK_MARGIN)
    f = prog.function(consts)
    nums = _nums(prog)
    us = {i: rng.standard_normal(np.shape(xs[i])) for i in nums}

    def h(*a):
        _, g = yota.grad(f, *a, argnums=prog.argnums)
        total = 0.0
        for i in nums:
            total = total + np.sum(g[i] * us[i])
        return total

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        dyn = yota.grad(h, *xs, argnums=prog.argnums, dynamic=True)
        static = yota.grad(h, *xs, argnums=prog.argnums)
    _same_result(static, dyn, nums, "second order: static vs dynamic")
    xs64 = [np.asarray(x, np.float64) for x in xs]
    for i in nums:
        gi = _leaf(dyn[1], i)
        v = rng.standard_normal(np.shape(xs[i]))

        def at(t):
            probe = list(xs64)
            probe[i] = xs64[i] + t * v
            if not isinstance(xs[i], np.ndarray):
                probe[i] = np.float64(probe[i])
            with np.errstate(all="ignore"):
                return float(h(*probe))

        got = float(np.sum(gi * v))
        scale = 1.0 + float(np.sum(np.abs(gi * v)))
        verdict, fd, bound = fd_verdict(at, got, 1e-5 * scale, h=1e-5)
        judge(verdict, f"input {i}: <d<grad f, u>, v> = {got!r}, finite differences {fd!r} "
                       f"(+- {bound:.2g})")


def run_last(steps, consts, xs):
    """The program's last step as a function of the inputs (no loss): for the transforms."""
    env = []
    for name, refs, params in steps:
        env.append(OPS[name].fn(*[_ref(r, xs, env, consts) for r in refs], *params))
    return env[-1]


@settings(FUZZ, max_examples=max(10, EXAMPLES // 4))
@given(prog=programs(max_steps=5), seed=st.integers(0, 2**32 - 1))
def test_random_programs_through_the_transforms(prog, seed):
    """jacobian (both modes, replayed), vjp and value_and_grad(has_aux=True) of the program's
    last value agree with each other and with finite differences."""
    note(repr(prog))
    assume(not any(name in SECOND_ORDER_EXCLUDED for name, _, _ in prog.steps))
    rng = np.random.default_rng(seed)
    xs, consts = prog.draw_inputs(rng), prog.draw_consts(rng)
    _, _, margin = reference(prog, xs, consts)
    assume(margin > 10 * KINK_MARGIN)
    steps, cs = prog.steps, tuple(consts)
    out = np.asarray(run_last(steps, cs, [np.asarray(x, np.float64) for x in xs]))
    assume(out.dtype.kind == "f" and 0 < out.size <= 64)
    i = _nums(prog)[0]
    F = lambda *a: run_last(steps, cs, a)  # noqa: E731

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        jd = np.asarray(yota.jacobian(F, argnums=i, dynamic=True)(*xs))
        jac = yota.jacobian(F, argnums=i)
        js = np.asarray(jac(*xs))
        assert jd.shape == out.shape + np.shape(xs[i])
        _same(js, jd, "jacobian: static vs dynamic")
        # along a random direction, against finite differences
        u = rng.standard_normal(np.shape(xs[i]))
        xs64 = [np.asarray(x, np.float64) for x in xs]

        def at(t):
            probe = list(xs64)
            probe[i] = xs64[i] + t * u
            return np.asarray(run_last(steps, cs, probe), np.float64)

        got = np.tensordot(jd, u, axes=np.ndim(u)) if np.ndim(u) else jd * u
        scale = 1.0 + np.max(np.abs(jd), initial=0.0) * np.sum(np.abs(u))
        judge(fd_verdict(at, got, 1e-6 * scale)[0], "jacobian differs from finite differences")
        # vjp with a random cotangent, and value_and_grad with aux
        ct = rng.standard_normal(out.shape)
        value, vjp_fn = yota.vjp(F, *xs, argnums=i)
        _same(value, out, "vjp value")
        want = np.tensordot(ct, jd, axes=out.ndim) if out.ndim else ct * jd
        _same(vjp_fn(ct)[i], want, "vjp vs jacobian")
        vg = yota.value_and_grad(lambda *a: (np.sum(F(*a) * ct), F(*a)), argnums=i,
                                 has_aux=True)
        for _ in range(2):
            (v, aux), g = vg(*xs)
            _same(aux, out, "aux")
            _same(g, want, "value_and_grad vs jacobian")
        # the compiled jacobian replays on new inputs of the same signature
        xs2 = prog.draw_inputs(np.random.default_rng(seed + 1))
        assume(reference(prog, xs2, consts)[2] > 10 * KINK_MARGIN)
        _same(jac(*xs2), yota.jacobian(F, argnums=i, dynamic=True)(*xs2),
              "jacobian replayed on new inputs")


# --- regressions: counterexamples found by fuzzing and by the bad-input matrix -----------------
def test_regression_python_float_parameter_next_to_a_float64_constant():
    """Generated code named a dtype constant ``float64`` over the ``float64`` helper that turns
    Python float parameters into NumPy scalars ('Float64DType' object is not callable)."""
    prog = Program([(), ()], (("mul", (("x", 0), ("x", 1)), ()),), [("normal", ())],
                   (("v", 0),), np.float64, None, pyfloat=(1,), array0=(0,))
    check_program(prog, seed=3)
    for names in ("float64, zeros, asarray", "index, array, c"):   # parameters named so too
        ns = {"np": np}
        exec(f"def f({names}): return np.sum({names.split(',')[0]} * "
             f"{names.split(',')[1]})", ns)
        args = (4.0, np.ones(2), np.ones(3))
        for a, b in zip(yota.grad(ns["f"], *args)[1], yota.grad(ns["f"], *args,
                                                                dynamic=True)[1]):
            np.testing.assert_array_equal(a, b)


FS = [np.sin, np.cos, np.exp]


def test_regression_module_level_loop_over_functions_replays_no_stale_program():
    """``for f in fs: grad(lambda x: np.sum(f(x)), x)`` at module level: the lambda reads f as
    a global, which the cache key did not see; every f got the first one's program."""
    x = np.array([0.3, 0.7])
    namespace = {"np": np, "yota": yota, "FS": FS, "x": x, "out": []}
    exec("for f in FS:\n"
         "    out.append(yota.grad(lambda x: np.sum(f(x)), x))\n", namespace)
    expected = [np.cos(x), -np.sin(x), np.exp(x)]
    for (value, g), f, want in zip(namespace["out"], FS, expected):
        assert value == pytest.approx(np.sum(f(x)))
        np.testing.assert_allclose(g[0], want)


def test_regression_global_arrays_rebound_or_written_are_read_at_call_time():
    namespace = {"np": np, "W": np.ones(3)}
    exec("def loss(x):\n    return np.sum(x * W)\n", namespace)
    loss, x = namespace["loss"], np.ones(3)
    assert yota.grad(loss, x)[1][0].tolist() == [1.0] * 3
    namespace["W"] = np.full(3, 2.0)
    assert yota.grad(loss, x)[1][0].tolist() == [2.0] * 3
    namespace["W"][:] = 5.0
    assert yota.grad(loss, x)[1][0].tolist() == [5.0] * 3
    assert CACHE.misses == 1


def test_regression_negative_zero_is_not_zero_for_the_cache():
    """0.0 == -0.0, so a non-differentiated -0.0 hit the program compiled for 0.0 (and a float
    guard let it through): arctan2(-0.0, -1) is -pi, not pi."""
    f = lambda x, s: np.sum(np.arctan2(s, x) * x)  # noqa: E731
    g = lambda x: np.sum(x * np.arctan2(float(yota.stop_gradient(x[0])), -1.0))  # noqa: E731
    x = np.array([-1.0, -2.0])
    for s in (0.0, -0.0, np.float64(-0.0), np.float64(0.0), float("nan"), float("nan")):
        (v, gr), (dv, dgr) = yota.grad(f, x, s, argnums=0), yota.grad(f, x, s, argnums=0,
                                                                       dynamic=True)
        np.testing.assert_array_equal(v, dv)     # NaN equals NaN here
        np.testing.assert_array_equal(gr[0], dgr[0])
    for v in (0.0, -0.0, 0.0, -0.0):
        y = np.array([v, 1.0])
        assert yota.grad(g, y)[0] == yota.grad(g, y, dynamic=True)[0]


def test_regression_fast_oscillation_is_ill_conditioned_not_a_wrong_gradient():
    """``sin(sin(((cumsum(x) ** 3) ** 1.5) ** 2))`` near 3: yota's gradient is exact (it equals
    the analytic one here), but the Richardson bound of finite differences was too optimistic
    (+-260 against an error of 2,136), so the long profile failed. Such programs are now
    discarded as ill-conditioned; a wrong gradient on them is not believed either way."""
    def f(x):
        return np.sum(np.sin(np.sin(((np.cumsum(x) ** 3) ** 1.5) ** 2)) * 1.1)

    def exact(x):   # one element: cumsum(x) == x
        inner = x ** 9
        return 1.1 * np.cos(np.sin(inner)) * np.cos(inner) * 9 * x ** 8

    rng = np.random.default_rng(0)
    verdicts, old_failures = [], 0
    for _ in range(400):
        x, u = rng.uniform(3.0, 4.6, 1), rng.standard_normal(1)   # x ** 9 below BIG
        got = float(exact(x) @ u)
        if len(verdicts) < 20:
            np.testing.assert_allclose(yota.grad(f, x)[1][0], exact(x), rtol=1e-9)
        tol = 1e-6 * (1.0 + abs(got))
        verdicts.append(fd_verdict(lambda t: f(x + t * u), got, tol)[0])
        fd, err = richardson(lambda t: f(x + t * u), FD_STEP)
        old_failures += abs(got - fd) > tol + 4 * err   # the check the long profile had
    assert old_failures > 0
    assert "wrong" not in verdicts
    assert verdicts.count("ill-conditioned") == old_failures   # discarded, not failed
    assert verdicts.count("agree") > len(verdicts) // 2


def test_the_fuzzer_still_catches_a_deliberately_wrong_rule(monkeypatch):
    """The screening of ill-conditioned programs must not make the check unable to fail: a
    sin rule off by 0.1% is caught on plain programs, in both the verdict and check_program."""
    sin_p = yota.registry.REGISTRY.ufuncs[np.sin]
    monkeypatch.setitem(sin_p.rules, 0, lambda dy, y, x: dy * np.cos(x) * 1.001)
    prog = Program([(3,)], (("sin", (("x", 0),), ()),), [("normal", (3,))], (("v", 0),),
                   np.float64, None)
    with pytest.raises(AssertionError, match="finite differences"):
        check_program(prog, seed=5)
    x, u = np.array([0.3, -1.2, 2.0]), np.array([1.0, 0.5, -0.25])
    got = float(np.cos(x) @ u) * 1.001
    assert fd_verdict(lambda t: float(np.sum(np.sin(x + t * u))), got, 1e-6)[0] == "wrong"


@needs_numba
def test_regression_numba_reads_a_sum_to_a_0d_array():
    """The numpy code of sum_to down to shape () summed every axis into a NumPy scalar, where
    the traced value (and so its aval) is a 0-d array; a yota-numba loop reading it as ``in[()]``
    failed to compile (getitem(float64, Tuple()))."""
    steps = (("expand_dims", (("x", 0),), (0,)), ("sin", (("v", 0),), ()),
             ("cos", (("v", 1),), ()), ("sin", (("v", 2),), ()), ("sin", (("v", 3),), ()),
             ("prod", (("v", 4),), (None, False)), ("add", (("v", 5), ("v", 0)), ()))
    prog = Program([(1,)], steps, [("normal", (1, 1))] * 5 + [("normal", ()), ("normal", (1, 1))],
                   tuple(("v", j) for j in range(7))[::-1], np.float64, None)
    check_program(prog, seed=0, numba=True)


@pytest.mark.parametrize("holder", HOLDERS)
def test_regression_constants_behind_attributes_are_read_at_call_time(holder):
    """The fuzzer's programs with constants held by a plain object, a module or ``self``: the
    second call rebinds them on the same object and must not replay the first ones."""
    prog = Program([(3,)], (("mul_c", (("x", 0), ("c", 0)), ()), ("sin", (("v", 0),), ())),
                   [("normal", (3,)), ("normal", (3,)), ("normal", (3,))],
                   (("v", 1), ("v", 0)), np.float64, None, holder=holder)
    check_program(prog, seed=11)
