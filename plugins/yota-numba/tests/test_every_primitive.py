"""Every pack's primitives through the numba backend, fused or split out.

The cases are the per-primitive tables the packs' own tests check against finite differences
(tests/test_core_elementwise.py, tests/test_coverage_*.py, tests/test_core_shape_indexing.py,
plugins/yota-*/tests/..., examples/yota-special/tests/...), imported from those files, not
copied. Each table becomes one program (a numba compile per case would take minutes): every
case reads its own inputs through an elementwise chain that numba fuses (``u = x * 0.5; u + u``,
exactly x), and its output goes through another (``sin(y) * w + y * y``) before a sum, so the
primitive sits between fused loops whether it is fused itself or runs as NumPy code. The
gradient of every input with backend="numba" must equal backend="numpy" (so a mismatch names
the case), first call and replay on new inputs.

Tolerances are test_transforms.py's: 1e-10 (float64) and 2e-5 (float32) relative to the largest
magnitude; the backends differ by sequential against pairwise sums and the 1-3 ULP of the math
kernels. The last test checks that the programs used every registered primitive (the few that
no table reaches are listed, with why).
"""
from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import yota
from yota.compile import CACHE
from yota.registry import REGISTRY

ROOT = Path(__file__).resolve().parents[3]
USED = set()           # primitives seen in the programs the numba backend compiled
DONE = set()           # the tables whose test passed in this session


def _module(relative):
    """A test module of the repository, imported by path under a name of its own."""
    path = ROOT / relative
    name = "numba_cases_" + relative.replace("/", "_").replace("-", "_")[:-3]
    if name not in sys.modules:
        sys.path.insert(0, str(path.parent))        # for its own conftest-free helpers
        try:
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(path.parent))
    return sys.modules[name]


def _uniform(seed, shape, lo, hi, dtype):
    return np.random.default_rng(seed).uniform(lo, hi, size=shape).astype(dtype)


def _normal(seed, shape, dtype):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


# --- the tables: name -> [(case, fn, draw(seed, dtype) -> inputs)] -----------------------------
def _domain_table(relative, unary_shape=(2, 3), pairs=((2, 3), (3,))):
    """UNARY and BINARY name -> (fn, low, high) tables of elementwise functions."""
    m = _module(relative)
    cases = []
    for name, (fn, lo, hi) in sorted(m.UNARY.items()):
        cases.append((name, fn, lambda s, d, lo=lo, hi=hi: [_uniform(s, unary_shape, lo, hi, d)]))
    for name, (fn, lo, hi) in sorted(m.BINARY.items()):
        shapes = ((3,), (2,)) if name.endswith("outer") else pairs
        cases.append((name, fn, lambda s, d, lo=lo, hi=hi, sh=shapes: [
            _uniform(s, sh[0], lo, hi, d), _uniform(s + 7, sh[1], lo, hi, d)]))
    return cases


def _shape_table(relative, attr):
    """name -> (fn, input shape) tables."""
    table = getattr(_module(relative), attr)
    return [(name, fn, lambda s, d, shape=shape: [_uniform(s, shape, 0.1, 1.0, d)])
            for name, (fn, shape) in sorted(table.items())]


def _index_table():
    m = _module("tests/test_core_shape_indexing.py")
    return (_shape_table("tests/test_core_shape_indexing.py", "SHAPE_CASES")
            + [(name, fn, lambda s, d: [_uniform(s, (3, 4), 0.0, 1.0, d)])
               for name, fn in sorted(m.INDEX_CASES.items())])


def _primitive_cases(relative):
    """name -> (primitive, args, kwargs[, order]): the packs' rule tables. Float arrays are
    inputs (redrawn on replay with the same signs and scale), the rest stays as it is."""
    cases = []
    for name, (prim, args, kwargs, *_) in sorted(_module(relative).CASES.items()):
        floats = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)
                  and a.dtype.kind == "f" and a.ndim]
        if not floats:
            continue

        def fn(*xs, prim=prim, args=args, kwargs=kwargs, floats=floats):
            full = list(args)
            for i, x in zip(floats, xs):
                full[i] = x
            return prim(*full, **kwargs)

        def draw(s, d, args=args, floats=floats):
            return [(args[i] * _uniform(s + i, args[i].shape, 0.9, 1.1, np.float64)).astype(d)
                    for i in floats]

        cases.append((name, fn, draw))
    return cases


def _activations_table():
    table = _module("plugins/yota-nn/tests/test_activations.py").REFERENCES
    return [(name, fn, lambda s, d: [(_uniform(s, (3, 4), 0.2, 2.0, d)
                                      * np.where(_uniform(s + 1, (3, 4), 0, 1, d) < 0.5, -1, 1)
                                      ).astype(d)])
            for name, (fn, _) in sorted(table.items())]


def _linalg_table():
    table = _module("plugins/yota-linalg/tests/test_rules.py").SECOND_ORDER
    return [(name, fn, lambda s, d, shapes=shapes: [_normal(s + k, sh, d)
                                                     for k, sh in enumerate(shapes)])
            for name, (fn, shapes) in sorted(table.items())]


def _fft_table():
    table = _module("plugins/yota-fft/tests/test_fft.py").CASES
    return [(name, lambda x, fn=fn: fn(x, None), lambda s, d, shape=shape: [
        _normal(s, shape, d)]) for name, (fn, shape) in sorted(table.items())]


def _scipy_table():
    cases = []
    for name, (fn, low, high) in sorted(_module(
            "plugins/yota-scipy/tests/test_special.py").UFUNCS.items()):
        cases.append((name, fn, lambda s, d, low=low, high=high: [
            _uniform(s + k, (3,), lo, hi, d) for k, (lo, hi) in enumerate(zip(low, high))]))
    for name, (fn, lo, hi) in sorted(_module(
            "examples/yota-special/tests/test_special.py").UNARY.items()):
        cases.append((name, fn, lambda s, d, lo=lo, hi=hi: [_uniform(s, (3,), lo, hi, d)]))
    return cases


TABLES = {
    "core_elementwise": lambda: _domain_table("tests/test_core_elementwise.py"),
    "coverage_elementwise": lambda: _domain_table("tests/test_coverage_elementwise.py",
                                                  unary_shape=(3,), pairs=((3,), (3,))),
    "core_shape_indexing": _index_table,
    "coverage_shape": lambda: _shape_table("tests/test_coverage_shape.py", "CASES"),
    "nn": lambda: (_primitive_cases("plugins/yota-nn/tests/test_rules.py")
                   + _activations_table()),
    "reductions": lambda: _primitive_cases("plugins/yota-reductions/tests/test_rules.py"),
    "linalg": _linalg_table,
    "fft": _fft_table,
    "scipy_special": _scipy_table,
}
# float32 too where numba's loop dtypes matter most (each table is 5-20 s of numba compiles)
FLOAT32 = {"core_elementwise"}


def program(cases):
    """The loss over every case. The chains before the primitives come first; the outputs of
    one shape and dtype are stacked and go through one chain after them: a few large loops
    instead of one per case (numba's cost is mostly per loop compiled)."""
    def loss(*xs):
        args = [x * 0.5 for x in xs]
        args = [u + u for u in args]                     # fused chains before the primitives
        groups, k = {}, 0
        for _, fn, n, w in cases:
            y = fn(*args[k:k + n])
            k += n
            y = y[0] if isinstance(y, tuple) else y
            y = np.real(y * (1.0 + 0.5j)) if np.iscomplexobj(y) else y
            group = groups.setdefault((np.shape(y), np.result_type(y)), ([], []))
            group[0].append(y)
            group[1].append(w)
        total = 0.0
        for ys, ws in groups.values():
            y, w = np.stack(ys), np.stack(ws)
            total = total + np.sum(np.sin(y) * w + y * y)   # one fused chain per group
        return total

    return loss


def _close(a, b, dtype, what):
    rtol = 1e-10 if dtype == np.float64 else 2e-5
    scale = max(1.0, float(np.max(np.abs(b), initial=0.0)))
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale, err_msg=what)


def _params(tables):
    return [pytest.param(t, d, id=f"{t}-{np.dtype(d).name}") for t in tables
            for d in (np.float64, np.float32) if d == np.float64 or t in FLOAT32]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("table,dtype", _params(TABLES))
def test_a_table_of_primitives_through_numba(table, dtype):
    raw = TABLES[table]()
    cases, inputs_of = [], []
    for seed, (name, fn, draw) in enumerate(raw):
        xs = draw(seed, dtype)
        out = fn(*xs)
        out = out[0] if isinstance(out, tuple) else out
        w = _normal(seed + 100, np.shape(out), np.float64).astype(dtype)
        cases.append((name, fn, len(xs), w))
        inputs_of.append(draw)
    loss = program(cases)
    owner = [name for name, _, n, _ in cases for _ in range(n)]
    yota.clear_cache()
    for call, seed0 in enumerate((0, 1000)):      # first call, then a replay on new inputs
        xs = [x for seed, draw in enumerate(inputs_of) for x in draw(seed0 + seed, dtype)]
        v_np, g_np = yota.grad(loss, *xs, backend="numpy")
        v_nb, g_nb = yota.grad(loss, *xs, backend="numba")
        _close(v_nb, v_np, dtype, f"{table}: value (call {call + 1})")
        for i, name in enumerate(owner):
            assert np.asarray(g_nb[i]).dtype == np.asarray(g_np[i]).dtype, f"{name}: dtype"
            _close(g_nb[i], g_np[i], dtype, f"{table}: case {name!r}, input {i} (call "
                                            f"{call + 1})")
    entries = [e for key, e in CACHE.entries.items()
               if isinstance(key[0], tuple) and key[0][-1] == "numba"]
    assert entries and not any(e.dynamic for e in entries), (
        f"{table}: the program was not compiled (static mode fell back to dynamic mode)")
    variants = [v for e in entries for v in e.variants]
    assert {v.backend for v in variants} == {"numba"}
    for v in variants:
        USED.update(ins.prim for ins in v.program.instrs)
    DONE.add(table)


# Registered primitives no table reaches in a compiled program, and why: the tables above are
# the packs' gradient tables, so what no gradient flows through is not in them (a gap to fill
# with a table of masks and indices), and what the optimizer removes is never compiled.
_NO_GRADIENT = ("floor ceil rint fix heaviside spacing nextafter logical_and logical_or "
                "logical_xor logical_not isinf isfinite bitwise_or bitwise_xor invert "
                "left_shift right_shift argmin count_nonzero any all isclose flatnonzero "
                "searchsorted digitize").split()
NOT_REACHED = {
    **{f"yota-core:{n}": "no gradient flows through it: not in a gradient table"
       for n in _NO_GRADIENT},
    "yota-core:positive": "a no-op: the optimizer removes it",
    "yota-core:stop_gradient": "a constant to the backward pass: removed when compiled",
    "yota-core:i0": "in tests/test_fuzz_functions.py's chains, not in a table",
    **{f"yota-linalg:{n}": "no table case calls it (eig, lstsq's s and rank, logdet)"
       for n in ("logdet", "slogdet_sign", "eig_w", "eig_v", "lstsq_s", "lstsq_rank",
                 "matrix_rank")},
    **{f"yota-nn:{n}": "the losses are tested by shape lists, not a table"
       for n in ("log_softmax", "cross_entropy", "mse", "logistic_loss")},
    **{f"yota-reductions:{n}": "the reductions pack's other tables are not by primitive"
       for n in ("tie_share", "logsumexp", "shifted", "linear_scan", "cumprod",
                 "running_arg", "diff", "argpartition", "partition_index", "weighted_pick",
                 "gram")},
    **{f"yota-scipy:{n}": "yota-scipy's stats, linalg and signal tests are not a table"
       for n in ("gammainc", "gammaincc", "betainc", "stdtr", "pdtr", "bdtr",
                 "solve_triangular", "expm", "logm", "sqrtm", "convolve_full")},
}


def test_the_tables_reached_every_registered_primitive():
    if DONE != set(TABLES):
        pytest.skip("needs every table test above to pass in this session (they record the "
                    f"primitives they compiled); passed: {sorted(DONE)}")
    missing = {}
    for pack, prims in REGISTRY.by_pack.items():
        for name, prim in prims.items():
            if prim not in USED and f"{pack}:{name}" not in NOT_REACHED:
                missing.setdefault(pack, []).append(name)
    assert not missing, (f"primitives no table compiled through numba: {missing}; add a case "
                         "to the pack's table (or to NOT_REACHED, saying why)")
    stale = [k for k in NOT_REACHED if REGISTRY.by_pack.get(k.split(":")[0], {}).get(
        k.split(":")[1]) in USED]
    assert not stale, f"NOT_REACHED lists primitives the tables reach now: {stale}"
