"""Fuzzing what static mode must never freeze (issue 13): random draws inside the function and
Python scalars that change every call. Kept apart from tests/test_fuzz.py, whose program
strategy (``programs()``) and finite-difference judge this module reuses.

A drawn program ``base(*xs)`` of test_fuzz.py is wrapped in a function that

- **draws random numbers**: from a ``RandomState`` or a ``Generator`` held in a closure, a
  module global, an argument or an attribute (a bound method), from the global ``np.random``
  state, or from ``default_rng(seed)`` / ``RandomState(seed)`` created inside; the draws are
  noise added to or multiplied with an input, a dropout-like mask, or steer nothing. The
  generator is built twice from one seed: one sequence of calls (new inputs each call) runs in
  static mode, the other in dynamic mode, and every value and gradient must be equal, and so
  must the generators' states after each call; a third, eager run in plain NumPy must leave
  the same state and give the same values. A function created around a fixed-seed generator
  inside is deterministic and is also checked against finite differences;
- **takes Python scalars that change every call** (ints or floats, as arguments or in a
  closure re-created every call): in arithmetic (lifted into a program input after
  ``LIFT_AFTER`` re-traces), or steering a branch, a slice length, an axis, an index, a
  ``range`` or a ``np.repeat`` count (keyed by value). Every call must equal dynamic mode,
  gradients must agree with finite differences, and a function whose scalars only do
  arithmetic must stop re-tracing once they are lifted.

``YOTA_FUZZ_EXAMPLES`` sets the number of examples (a tenth of it per test, at least 20).
"""
from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(__file__))   # pytest imports test modules by path
from test_fuzz import (FUZZ, GUARDED, KINK_MARGIN, NUMBA_EXAMPLES, OPS, _nums, _same, assume,
                       fd_verdict, judge, needs_numba, programs, reference, run)
from test_static_random import _same_state

import yota
from yota.compile import CACHE, scalars

EXAMPLES = max(20, int(os.environ.get("YOTA_FUZZ_EXAMPLES", "400")) // 10)
SETTINGS = settings(FUZZ, max_examples=EXAMPLES)
CALLS = 4            # calls of one random function, with new inputs each time
SCALAR_CALLS = 7     # calls of one function with changing scalars (lifting happens on the 4th)


@pytest.fixture(autouse=True)
def _fresh_cache():
    yota.clear_cache()
    state = np.random.get_state()   # source "np_global" seeds the global generator
    yield
    np.random.set_state(state)
    yota.clear_cache()


def _exactly(a, b, what):
    assert type(a) is type(b), f"{what}: {type(a).__name__} vs {type(b).__name__}"
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=what)


# --- random draws --------------------------------------------------------------------------------
SOURCES = ("closure", "global", "argument", "attribute", "np_global", "inside")
KINDS = ("RandomState", "Generator")
USES = ("add", "mul", "mask", "unused")
_RNG = None   # the module-global generator of source "global" (rebound by each build)


def _new(kind, seed):
    return np.random.RandomState(seed) if kind == "RandomState" else np.random.default_rng(seed)


def _state_of(g):
    return g.get_state() if isinstance(g, np.random.RandomState) else g.bit_generator.state


def _effective(xs, rng, use):
    """The inputs the program sees: the first one perturbed by draws from ``rng``."""
    x0 = xs[0]
    shape = np.shape(x0)
    if use == "add":
        x0 = x0 + 0.1 * np.asarray(rng.normal(0.0, 1.0, size=shape))
    elif use == "mul":
        x0 = x0 * (1.0 + 0.1 * np.asarray(rng.normal(0.0, 1.0, size=shape)))
    elif use == "mask":   # dropout: keep with probability 0.7, scale by 1 / 0.7
        x0 = x0 * (np.asarray(rng.uniform(0.0, 1.0, size=shape)) < 0.7) / 0.7
    else:                 # drawn, steering nothing
        rng.normal(0.0, 1.0, size=3)
    return (x0,) + tuple(xs[1:])


class _Holder:
    def __init__(self, rng, loss):
        self.rng, self._loss = rng, loss

    def loss(self, *xs):
        return self._loss(xs, self.rng)


def build_random(prog, consts, source, kind, use, seed):
    """``(f, extra_args, state)``: a fresh generator seeded with ``seed`` and the function that
    draws from it; ``state()`` reads the generator's state (None for one created inside)."""
    global _RNG
    steps, outs = prog.steps, prog.outs

    def loss(xs, rng):
        return run(steps, consts, outs, _effective(xs, rng, use))

    if source == "closure":
        rng = _new(kind, seed)
        return (lambda *xs: loss(xs, rng)), (), lambda: _state_of(rng)
    if source == "global":
        _RNG = _new(kind, seed)
        return (lambda *xs: loss(xs, _RNG)), (), lambda: _state_of(_RNG)
    if source == "argument":
        rng = _new(kind, seed)
        return (lambda *args: loss(args[:-1], args[-1])), (rng,), lambda: _state_of(rng)
    if source == "attribute":
        h = _Holder(_new(kind, seed), loss)
        return h.loss, (), lambda: _state_of(h.rng)
    if source == "np_global":
        np.random.seed(seed)
        return (lambda *xs: loss(xs, np.random)), (), np.random.get_state
    return (lambda *xs: loss(xs, _new(kind, seed))), (), lambda: None   # created inside


def check_random_program(prog, source, kind, use, seed):
    """Static mode gives exactly what dynamic mode and plain NumPy give, call after call."""
    yota.clear_cache()
    rng = np.random.default_rng(seed)
    consts = prog.draw_consts(rng)
    calls = [prog.draw_inputs(rng) for _ in range(CALLS)]
    nargs = len(prog.inputs)
    nums = _nums(prog)
    argnums = prog.argnums if source != "argument" or prog.argnums is not None else \
        tuple(range(nargs))
    gen_seed = int(rng.integers(2 ** 31))
    deterministic = source == "inside"

    # the reference: plain NumPy on a third same-seeded generator (values and states)
    f, extra, state = build_random(prog, consts, source, kind, use, gen_seed)
    eager, eager_states = [], []
    with np.errstate(all="ignore"):
        for xs in calls:
            eager.append(f(*xs, *extra))
            eager_states.append(state())
    assume(all(np.isfinite(v) and abs(v) < 1e6 for v in eager))
    if deterministic:   # no kinks near the drawn inputs (the draws are the same every call)
        for xs in calls:
            _, _, margin = reference(prog, list(_effective(xs, _new(kind, gen_seed), use)),
                                     consts)
            assume(margin > KINK_MARGIN)

    results = {}
    for dynamic in (False, True):
        f, extra, state = build_random(prog, consts, source, kind, use, gen_seed)
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for k, xs in enumerate(calls):
                v, g = yota.grad(f, *xs, *extra, argnums=argnums, dynamic=dynamic)
                out.append((v, [None if g[i] is None else np.array(g[i], copy=True)
                                for i in nums]))
                assert _same_state(state(), eager_states[k]), (
                    f"call {k}: the generator's state differs from plain NumPy's "
                    f"(dynamic={dynamic})")
        results[dynamic] = out

    for k, ((sv, sg), (dv, dg), ev) in enumerate(zip(results[False], results[True], eager)):
        what = f"call {k}"
        _same(dv, ev, f"{what}: dynamic value vs plain NumPy")
        if deterministic:   # compiled: rounding may differ from the eager run
            _same(sv, dv, f"{what}: static value vs dynamic")
            for i, a, b in zip(nums, sg, dg):
                _same(a, b, f"{what}: static gradient {i} vs dynamic")
        else:               # runs eagerly in static mode too: the very same numbers
            _exactly(sv, dv, f"{what}: static value vs dynamic")
            for i, a, b in zip(nums, sg, dg):
                _exactly(a, b, f"{what}: static gradient {i} vs dynamic")
    if deterministic:       # the same numbers every call: finite differences can judge it
        f, extra, _ = build_random(prog, consts, source, kind, use, gen_seed)
        xs = calls[0]
        _, g = results[True][0]
        _fd_check(lambda probe: f(*probe), xs, nums, g, rng)


def _fd_check(loss, xs, nums, grads, rng):
    """``grads`` (one per input in ``nums``) against finite differences of ``loss(xs)``."""
    for i, gi in zip(nums, grads):
        u = rng.standard_normal(np.shape(xs[i]))

        def at(t, i=i, u=u):
            probe = list(xs)
            probe[i] = np.asarray(xs[i], np.float64) + t * u
            if not isinstance(xs[i], np.ndarray):
                probe[i] = np.float64(probe[i])
            with np.errstate(all="ignore"):
                return float(loss(probe))

        got = float(np.sum(np.asarray(gi) * u))
        verdict, fd, bound = fd_verdict(at, got, 1e-6 * (1.0 + float(np.sum(np.abs(gi * u)))))
        judge(verdict, f"input {i}: <grad, u> = {got!r}, finite differences {fd!r} "
                       f"(+- {bound:.2g})")


def _no_sg(prog):
    return not any(OPS[name].sg for name, _, _ in prog.steps)


@SETTINGS
@given(prog=programs(max_steps=4), source=st.sampled_from(SOURCES), kind=st.sampled_from(KINDS),
       use=st.sampled_from(USES), seed=st.integers(0, 2 ** 32 - 1))
def test_random_draws_inside_agree_with_eager_numpy(prog, source, kind, use, seed):
    assume(source != "inside" or _no_sg(prog))   # its finite differences would not freeze them
    note(f"{prog!r}\nsource={source} kind={kind} use={use}")
    check_random_program(prog, source, kind, use, seed)


# --- Python scalars that change every call -------------------------------------------------------
SCALAR_USES = ("arith", "divide", "branch", "slice", "axis", "index", "range", "repeat")
ARITHMETIC = {"arith", "divide"}


def scalar_loss(prog, consts, use):
    """``loss(xs, s)``: the program on inputs scaled by ``s``, plus a term where ``s`` does
    what ``use`` says (control flow, a shape, an axis, an index)."""
    steps, outs = prog.steps, prog.outs

    def loss(xs, s, frozen=None):
        x0 = xs[0] * (0.5 + 0.1 * s) + 0.01 * s
        total = run(steps, consts, outs, (x0,) + tuple(xs[1:]), frozen)
        a = np.ravel(xs[0]) if np.ndim(xs[0]) else np.reshape(xs[0], (1,))
        if use == "arith":
            return total * s + s ** 2
        if use == "divide":
            return total / (abs(s) + 1)
        if use == "branch":
            return total + (np.sum(np.sin(a)) if s > 3 else np.sum(a ** 2))
        if use == "slice":
            return total + np.sum(np.sin(a[:int(s) % a.size + 1]))
        if use == "axis":
            b = np.reshape(a, (1, a.size))
            return total + np.sum(np.cumsum(b, axis=int(s) % 2) ** 2)
        if use == "index":
            return total + np.sin(a[int(s) % a.size])
        if use == "range":
            for k in range(int(s) % 3):
                total = total + np.sum(np.sin(a * k))
            return total
        return total + np.sum(np.cos(np.repeat(a, int(s) % 3 + 1)))   # repeat

    return loss


@SETTINGS
@given(prog=programs(max_steps=4), use=st.sampled_from(SCALAR_USES),
       where=st.sampled_from(("argument", "closure")), integer=st.booleans(),
       values=st.lists(st.integers(1, 12), min_size=SCALAR_CALLS, max_size=SCALAR_CALLS),
       seed=st.integers(0, 2 ** 32 - 1))
def test_changing_python_scalars_agree_with_dynamic_mode(prog, use, where, integer, values,
                                                         seed):
    note(f"{prog!r}\nuse={use} where={where} values={values} integer={integer}")
    check_scalar_program(prog, use, where, [v if integer else v * 0.37 for v in values], seed)


@needs_numba
@settings(SETTINGS, max_examples=max(3, NUMBA_EXAMPLES // 8))
@given(prog=programs(max_steps=4), use=st.sampled_from(SCALAR_USES),
       where=st.sampled_from(("argument", "closure")), integer=st.booleans(),
       values=st.lists(st.integers(1, 12), min_size=SCALAR_CALLS, max_size=SCALAR_CALLS),
       seed=st.integers(0, 2 ** 32 - 1))
def test_changing_python_scalars_through_numba(prog, use, where, integer, values, seed):
    """The same with the numba backend: its kernels spell constants in their source, so a
    scalar frozen into a kernel would show here (each re-trace compiles new kernels)."""
    note(f"{prog!r}\nuse={use} where={where} values={values} integer={integer}")
    check_scalar_program(prog, use, where, [v if integer else v * 0.37 for v in values], seed,
                         backend="numba")


def check_scalar_program(prog, use, where, values, seed, backend=None):
    yota.clear_cache()
    rng = np.random.default_rng(seed)
    consts = prog.draw_consts(rng)
    loss = scalar_loss(prog, consts, use)
    nums = _nums(prog)
    nargs = len(prog.inputs)
    argnums = prog.argnums if where == "closure" or prog.argnums is not None else \
        tuple(range(nargs))
    calls = [prog.draw_inputs(rng) for _ in values]
    for xs, s in zip(calls, values):   # no kinks near any call's inputs, nothing overflows
        x0 = xs[0] * (0.5 + 0.1 * s) + 0.01 * s
        _, _, margin = reference(prog, [x0] + list(xs[1:]), consts)
        assume(margin > KINK_MARGIN)

    def function(s):   # argument: one function; closure: a new one every call, as in a loop
        if where == "argument":
            return lambda *args: loss(args[:-1], args[-1]), (s,)
        return (lambda *xs: loss(xs, s)), ()

    by_value_inputs = any(not isinstance(x, np.ndarray) and i not in nums
                          for i, x in enumerate(calls[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for k, (xs, s) in enumerate(zip(calls, values)):
            f, extra = function(s)
            sv, sg = yota.grad(f, *xs, *extra, argnums=argnums, backend=backend)
            dv, dg = yota.grad(f, *xs, *extra, argnums=argnums, dynamic=True)
            what = f"call {k} (s={s!r})"
            assert type(sv) is type(dv), f"{what}: the value's type"
            _same(sv, dv, f"{what}: static value vs dynamic")
            for i in nums:
                assert type(sg[i]) is type(dg[i]), f"{what}: gradient {i}'s type"
                assert np.asarray(sg[i]).dtype == np.asarray(dg[i]).dtype
                _same(sg[i], dg[i], f"{what}: static gradient {i} vs dynamic")
            if k in (0, len(values) - 1):
                frozen = _frozen(prog, consts, xs, s)
                _fd_check(lambda probe, s=s: loss(probe, s, frozen), xs, nums,
                          [dg[i] for i in nums], rng)
    distinct = len(set(values))
    if (use in ARITHMETIC and not by_value_inputs and distinct == len(values)
            and not any(name in GUARDED for name, _, _ in prog.steps)):
        # traced once, re-traced LIFT_AFTER times, then once with the scalars lifted
        assert CACHE.misses <= 2 + scalars.LIFT_AFTER, (
            f"{CACHE.misses} traces for {len(values)} calls: the scalars were not lifted")


def _frozen(prog, consts, xs, s):
    """The stop_gradient values of the program at the inputs it sees (frozen for finite
    differences, as yota treats them)."""
    x0 = xs[0] * (0.5 + 0.1 * s) + 0.01 * s
    return reference(prog, [x0] + list(xs[1:]), consts)[1]


# --- the fuzzer can fail -------------------------------------------------------------------------
def _small_program():
    from test_fuzz import Program

    return Program([(3,)], (("sin", (("x", 0),), ()), ("cube", (("v", 0),), ())),
                   [("normal", (3,)), ("normal", (3,))], (("v", 1), ("v", 0)), np.float64, None)


@pytest.mark.parametrize("source", ["closure", "attribute", "np_global"])
def test_the_fuzzer_catches_frozen_draws(monkeypatch, source):
    """With the random-draw watch blind, static mode compiles the draws of the first trace and
    replays them: the fuzzer must report a mismatch with dynamic mode."""
    from yota.compile import randomness

    check_random_program(_small_program(), source, "Generator", "add", 5)   # fine as it is
    monkeypatch.setattr(randomness.Watch, "drew", lambda self: None)
    with pytest.raises(AssertionError, match="state differs|static value vs dynamic"):
        check_random_program(_small_program(), source, "Generator", "add", 5)


@pytest.mark.parametrize("where", ["argument", "closure"])
def test_the_fuzzer_catches_stale_lifted_scalars(monkeypatch, where):
    """With lifted scalars replaced by the value they had when first lifted (a compiled program
    that bakes them in), the fuzzer must report a mismatch with dynamic mode."""
    from yota.compile import key

    values = [0.37 * v for v in range(1, SCALAR_CALLS + 1)]
    check_scalar_program(_small_program(), "arith", where, values, 5)   # fine as it is
    first = {}
    original = key._LiftingKey.append

    def stale(self, part):
        n = len(self.vals)
        original(self, part)
        if len(self.vals) > n:   # a lifted value: replace it with the first one seen
            self.vals[-1] = first.setdefault(self.count, self.vals[-1])

    monkeypatch.setattr(key._LiftingKey, "append", stale)
    yota.clear_cache()
    with pytest.raises(AssertionError, match="static value vs dynamic"):
        check_scalar_program(_small_program(), "arith", where, values, 5)
