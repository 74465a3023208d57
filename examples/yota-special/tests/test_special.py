"""yota-special's own tests, written with yota's kit for pack authors."""
from importlib import metadata

import numpy as np
import pytest
import scipy.special as sc
from hypothesis import given, settings
from hypothesis import strategies as st

import yota
import yota_special
from yota import strategies as ys
from yota.testing import check_primitive, check_rules_complete, pack_primitives

KIT = settings(max_examples=10, deadline=None)

# function -> (domain low, domain high); erfcx grows like exp(x^2) on the left.
UNARY = {
    "erfcx": (sc.erfcx, -1.0, 3.0),
    "dawsn": (sc.dawsn, -3.0, 3.0),
    "jv": (lambda z: sc.jv(1.5, z), 0.2, 4.0),
}


def test_the_pack_is_found_through_its_entry_point():
    yota.plugins.ensure_loaded()
    info = yota.plugins.PLUGINS["yota-special"]
    assert info.status == "loaded"
    assert info.version == metadata.version("yota-special") == yota_special.__version__
    assert set(pack_primitives("yota-special")) == {"erfcx", "dawsn", "jv"}


def test_every_primitive_has_a_rule_for_every_differentiable_argument():
    check_rules_complete("yota-special")


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_functions_to_second_order(name):
    fn, low, high = UNARY[name]

    @KIT
    @given(ys.elementwise_args(nargs=1, low=low, high=high))
    def check(args):
        check_primitive(fn, *args, order=2)

    check()


def test_third_order_of_jv(yota_kit):
    """jv's rule calls jv: every derivative is another combination of Bessel functions."""
    z = np.array([0.7, 1.5, 3.2])
    yota_kit.check_primitive(lambda z: sc.jv(2.0, z), z, order=3)

    def d(f):
        return lambda z: yota.grad(f, z, dynamic=True)[1][0]

    second = d(d(lambda z: sc.jv(0.0, z)))
    assert second(1.5) == pytest.approx(sc.jvp(0.0, 1.5, 2), rel=1e-12)


@KIT
@given(st.floats(0.2, 3.0))
def test_user_code_calling_scipy_directly(x):
    """No yota import in the user's function: scipy's ufuncs dispatch to the pack."""
    def f(a):
        return sc.dawsn(a) * 2.0 + sc.erfcx(a) * a

    value, g = yota.grad(f, x)
    assert value == pytest.approx(f(x))
    expected = 2 * (1 - 2 * x * sc.dawsn(x)) + sc.erfcx(x) + x * (
        2 * x * sc.erfcx(x) - 2 / np.sqrt(np.pi))
    assert g[0] == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_float32_gradients_stay_float32():
    x = np.linspace(-1, 1, 5).astype(np.float32)
    value, g = yota.grad(lambda x: yota.testing.vdot(sc.dawsn(x), np.ones(5)), x)
    assert g[0].dtype == np.float32
    np.testing.assert_allclose(g[0], 1 - 2 * x * sc.dawsn(x.astype(float)), rtol=1e-5)


def test_disabling_the_pack_gives_a_clear_error(yota_disable_packs):
    infos = yota_disable_packs("yota-special")
    assert infos["yota-special"].status == "disabled"
    with pytest.raises(yota.NoRuleError, match=r"scipy.special.dawsn has no yota implementation"):
        yota.grad(lambda x: sc.dawsn(x), 0.5)
    with pytest.raises(yota.NoRuleError, match=r"yota-special pack is disabled"):
        yota.grad(lambda x: yota_special.jv(1.0, x), 0.5)
