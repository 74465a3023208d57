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

KIT = settings(max_examples=15, deadline=None)

# function -> (domain low, domain high) per argument; inside the domain, away from poles.
UNARY = {
    "erf": (sc.erf, -2.0, 2.0),
    "gammaln": (sc.gammaln, 0.5, 4.0),
    "digamma": (sc.digamma, 0.5, 4.0),
    "expit": (sc.expit, -4.0, 4.0),
    "logit": (sc.logit, 0.1, 0.9),
    "trigamma": (lambda x: yota_special.polygamma(1, x), 0.5, 4.0),
}


def test_the_pack_is_found_through_its_entry_point():
    yota.plugins.ensure_loaded()
    info = yota.plugins.PLUGINS["yota-special"]
    assert info.status == "loaded"
    assert info.version == metadata.version("yota-special") == yota_special.__version__
    assert set(pack_primitives("yota-special")) == {
        "erf", "gammaln", "digamma", "polygamma", "expit", "logit", "xlogy"}


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


@KIT
@given(ys.elementwise_args(nargs=2, low=[-2.0, 0.5], high=[2.0, 3.0]))
def test_xlogy_with_broadcasting_to_second_order(args):
    check_primitive(sc.xlogy, *args, order=2)


def test_third_order_through_the_polygamma_chain(yota_kit):
    """gammaln -> digamma -> polygamma(1) -> polygamma(2): each rule calls the next primitive."""
    x = np.array([0.7, 1.5, 3.2])
    yota_kit.check_primitive(sc.gammaln, x, order=3)

    def d(f):
        return lambda x: yota.grad(f, x, dynamic=True)[1][0]

    third = d(d(d(lambda x: sc.gammaln(x))))
    assert third(1.5) == pytest.approx(sc.polygamma(2, 1.5), rel=1e-12)


@KIT
@given(st.floats(0.2, 5.0))
def test_user_code_calling_scipy_directly(x):
    """No yota import in the user's function: scipy's ufuncs dispatch to the pack."""
    def log_beta_like(a):
        return sc.gammaln(a) * 2.0 - sc.gammaln(2.0 * a) + sc.xlogy(a, a)

    value, g = yota.grad(log_beta_like, x)
    assert value == pytest.approx(log_beta_like(x))
    expected = 2 * sc.digamma(x) - 2 * sc.digamma(2 * x) + np.log(x) + 1
    assert g[0] == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_float32_gradients_stay_float32(yota_kit):
    x = np.linspace(-1, 1, 5).astype(np.float32)
    value, g = yota.grad(lambda x: yota.testing.vdot(sc.erf(x), np.ones(5)), x)
    assert g[0].dtype == np.float32
    np.testing.assert_allclose(g[0], 2 / np.sqrt(np.pi) * np.exp(-x.astype(float) ** 2),
                               rtol=1e-6)


def test_disabling_the_pack_gives_a_clear_error(yota_disable_packs):
    infos = yota_disable_packs("yota-special")
    assert infos["yota-special"].status == "disabled"
    with pytest.raises(yota.NoRuleError, match=r"numpy.erf has no yota implementation"):
        yota.grad(lambda x: sc.erf(x), 0.5)
