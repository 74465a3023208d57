"""The pack author's kit: check_grads, check_primitive, rule completeness, strategies, plugin."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import yota
from yota import strategies as ys
from yota.testing import (GradientMismatch, MissingRules, check_grads, check_primitive,
                          check_rules_complete, missing_rules, pack_primitives, vdot)


# --- a throwaway pack with deliberate mistakes -------------------------------------------------
@yota.primitive
def good_cube(x):
    return x ** 3


good_cube.defgrad(lambda dy, y, x: dy * 3 * x * x)


@yota.primitive
def bad_square(x):
    return x * x


bad_square.defgrad(lambda dy, y, x: dy * x)  # wrong: the derivative is 2x


@yota.primitive
def scale(x, s):
    return x * s


scale.defgrad(lambda dy, y, x, s: dy * s)  # argument 1 (s) has no rule


@yota.nondifferentiable
def _detach(x):
    return x


@yota.primitive
def detached_cube(x):
    return x ** 3


# Right at first order, but the rule hides x from the tape: second derivatives come out zero.
detached_cube.defgrad(lambda dy, y, x: dy * 3 * _detach(x) ** 2)


@yota.primitive
def forgets_dy(x):
    return np.sin(x)


forgets_dy.defgrad(lambda dy, y, x: np.cos(x))  # right only when the upstream gradient is 1


@yota.primitive
def join(*xs):
    return np.concatenate(xs)


class ThrowawayPack:
    """A plugin object: what a module with a hook implementation looks like to yota."""

    @yota.hookimpl
    def yota_register_primitives(self, registry):
        for p in (good_cube, bad_square, scale, detached_cube, forgets_dy, join):
            registry.add_primitive(p)


@pytest.fixture
def throwaway(yota_register_pack):
    info = yota_register_pack(ThrowawayPack(), "yota-throwaway")
    assert info.status == "loaded" and info.primitives == 6
    return "yota-throwaway"


def test_the_kit_lists_the_packs_primitives(throwaway):
    assert set(pack_primitives(throwaway)) == {
        "good_cube", "bad_square", "scale", "detached_cube", "forgets_dy", "join"}


def test_a_missing_rule_is_named_with_primitive_and_argument(throwaway):
    with pytest.raises(MissingRules) as info:
        check_rules_complete(throwaway)
    msg = str(info.value)
    assert "pack 'yota-throwaway'" in msg
    assert ("primitive 'scale' has no gradient rule for argument 1 (s); add "
            "@scale.defgrad(argnum=1), or declare it with nondiff_argnums=(1,)") in msg
    assert "primitive 'join' has no gradient rule for argument 0 (*xs); use @join.defgrad_each" \
        in msg
    assert "good_cube" not in msg and "bad_square" not in msg


def test_a_wrong_rule_is_caught_and_named(throwaway, rng):
    x = rng.uniform(0.5, 1.5, size=(2, 3))
    check_primitive(good_cube, x)
    with pytest.raises(GradientMismatch) as info:
        check_primitive(bad_square, x)
    msg = str(info.value)
    assert "primitive 'bad_square' (pack 'yota-throwaway')" in msg
    assert "argument 0 (x)" in msg
    assert "mode 'static'" in msg and "worst relative error" in msg


def test_a_rule_that_ignores_the_incoming_gradient_is_caught(throwaway, rng):
    with pytest.raises(GradientMismatch, match=r"primitive 'forgets_dy'.*argument 0 \(x\)"):
        check_primitive(forgets_dy, rng.normal(size=4))


def test_a_wrong_second_derivative_is_caught_only_at_order_2(throwaway, rng):
    x = rng.uniform(0.5, 1.5, size=3)
    check_primitive(detached_cube, x, order=1)
    with pytest.raises(GradientMismatch, match=r"primitive 'detached_cube'.*order 2, argument 0 "
                                               r"\(x\): gradient differs"):
        check_primitive(detached_cube, x, order=2)


def test_check_primitive_names_the_second_argument(throwaway, rng):
    scale.defgrad(lambda dy, y, x, s: dy * x * 2, argnum=1)  # wrong on purpose
    try:
        with pytest.raises(GradientMismatch, match=r"primitive 'scale' .*argument 1 \(s\)"):
            check_primitive(scale, rng.normal(size=3), rng.normal(size=3))
    finally:
        del scale.rules[1]


# --- check_grads -------------------------------------------------------------------------------
def test_check_grads_runs_both_modes_by_default(rng, total):
    seen = []

    def f(x):
        seen.append(type(x) is yota.Tracked)
        return total(np.sin(x))

    check_grads(f, rng.normal(size=3))
    traced = sum(seen)
    seen.clear()
    check_grads(f, rng.normal(size=3), modes=("dynamic",))
    assert sum(seen) == 1          # one traced call in dynamic mode
    assert traced >= 2             # static mode traced as well
    seen.clear()
    check_grads(f, rng.normal(size=3), dynamic=True)  # the older spelling: one mode
    assert sum(seen) == 1


def test_check_grads_names_mode_argument_and_path(rng, total):
    @yota.primitive
    def half_wrong(x):
        return x * x

    half_wrong.defgrad(lambda dy, y, x: dy * x)
    params = {"w": rng.uniform(0.5, 1.0, size=2), "b": 0.3}
    with pytest.raises(GradientMismatch, match=r"check_grads\(loss\): mode 'dynamic', argument 1 "
                                               r"at path \('w',\): gradient differs from central "
                                               r"finite differences, worst relative error 0\.5"):
        def loss(x, p):
            return total(half_wrong(p["w"]) * x) + p["b"]

        check_grads(loss, np.ones(2), params, modes="dynamic")


def test_large_arguments_are_checked_along_random_directions(rng, total):
    x = rng.uniform(0.5, 1.5, size=(10, 10))
    check_grads(lambda x: total(good_cube(x)), x)
    with pytest.raises(GradientMismatch, match="along a random direction"):
        check_grads(lambda x: total(bad_square(x)), x)


def test_float32_gets_looser_tolerances_and_keeps_its_dtype(rng, total):
    x = rng.uniform(0.5, 1.5, size=4).astype(np.float32)
    value, g = check_grads(lambda x: total(np.log(x) * x), x, order=2)
    assert g[0].dtype == np.float32


def test_check_grads_rejects_bad_options(rng, total):
    with pytest.raises(ValueError, match=r"modes must be a non-empty subset of \('static', "
                                         r"'dynamic'\), got \('fast',\)"):
        check_grads(total, np.ones(2), modes=("fast",))
    with pytest.raises(ValueError, match="order must be an int >= 1, got 0"):
        check_grads(total, np.ones(2), order=0)


def test_check_grads_checks_the_value_too(rng):
    def moody(x):
        return vdot(x, np.ones(2)) + (0.0 if type(x) is yota.Tracked else 1.0)

    with pytest.raises(GradientMismatch, match=r"value .* differs from f\(\*args\)"):
        check_grads(moody, np.ones(2), modes="dynamic")


# --- missing_rules details ---------------------------------------------------------------------
def test_missing_rules_reads_signatures():
    @yota.primitive(nondiff_argnums=(1,))
    def gather(x, *index_parts):
        return x

    gather.defgrad(lambda dy, y, x, *parts: dy)
    assert missing_rules(gather) == []  # *index_parts declared non-differentiable

    @yota.primitive
    def with_options(x, axis=0, keepdims=False):
        return x

    with_options.defgrad(lambda dy, y, x, axis=0, keepdims=False: dy)
    assert missing_rules(with_options) == []  # options with defaults need no rule
    assert missing_rules(yota.nondifferentiable(lambda x, y: x)) == []
    ufunc_prim = yota.Primitive(np.hypot, name="hypot2")
    assert missing_rules(ufunc_prim) == [(0, "x1"), (1, "x2")]


def test_unknown_pack_is_a_clear_error():
    with pytest.raises(LookupError, match=r"no plugin named 'yota-nope' is loaded \(loaded: .*"
                                          r"yota-core.*\); install it"):
        pack_primitives("yota-nope")


def test_the_core_keeps_the_contract_it_asks_of_packs():
    """Shape, dtype, exponent and index arguments are declared non-differentiable."""
    check_rules_complete("yota-core")


# --- strategies --------------------------------------------------------------------------------
@settings(max_examples=50, deadline=None)
@given(ys.broadcasting_pairs())
def test_broadcasting_pairs_broadcast(pair):
    a, b = pair
    np.broadcast_shapes(a, b)


@settings(max_examples=50, deadline=None)
@given(ys.elementwise_args(nargs=3, low=[0.5, -1.0, 2.0], high=[1.0, 1.0, 3.0]))
def test_elementwise_args_share_a_dtype_and_stay_in_their_domains(args):
    assert len({a.dtype for a in args}) == 1
    assert args[0].dtype in (np.float32, np.float64)
    np.broadcast_shapes(*(a.shape for a in args))
    for a, lo, hi in zip(args, [0.5, -1.0, 2.0], [1.0, 1.0, 3.0]):
        assert np.all(a >= lo) and np.all(a <= hi)


@settings(max_examples=30, deadline=None)
@given(ys.arrays(ys.shapes(max_dims=2), ys.float_dtypes(), low=-1, high=1),
       st.sampled_from([np.sin, np.tanh, np.exp]))
def test_strategies_drive_check_primitive(x, fn):
    check_primitive(fn, x, modes="dynamic")


# --- the pytest plugin -------------------------------------------------------------------------
def test_the_pytest_plugin_is_registered_through_its_entry_point(tmp_path):
    (tmp_path / "test_pack.py").write_text(textwrap.dedent("""
        import numpy as np

        def test_fixtures(yota_kit):
            yota_kit.check_primitive(np.sin, np.linspace(-1, 1, 3))
            assert "sin" in yota_kit.primitives("yota-core")
            assert yota_kit.strategies.shapes() is not None
    """))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
    header = subprocess.run(
        [sys.executable, "-m", "pytest", "--co", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300).stdout
    assert "yota packs: yota-core" in header


def test_disable_packs_fixture_restores_afterwards(yota_disable_packs):
    infos = yota_disable_packs("yota-linalg")
    if "yota-linalg" in infos:
        assert infos["yota-linalg"].status == "disabled"
