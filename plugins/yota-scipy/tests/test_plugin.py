"""What a user sees: the pack is found, its rules are complete, it installs beside the example
pack without conflicts, and SciPy's own functions on tracked values say what to call instead."""
from importlib import metadata

import numpy as np
import pytest
import scipy.linalg
import scipy.special as sc
import scipy.stats

import yota
import yota_scipy
import yota_scipy.special
from yota.testing import check_rules_complete, pack_primitives


def test_the_pack_is_found_through_its_entry_point():
    yota.plugins.ensure_loaded()
    info = yota.plugins.PLUGINS["yota-scipy"]
    assert info.status == "loaded"
    assert info.version == metadata.version("yota-scipy") == yota_scipy.__version__
    assert {"gammaln", "digamma", "polygamma", "solve_triangular", "expm", "convolve_full"} <= set(
        pack_primitives("yota-scipy"))


def test_every_primitive_has_a_rule_for_every_differentiable_argument():
    check_rules_complete("yota-scipy")


def test_every_primitive_declares_a_static_shape():
    assert all(p.static_shape is True for p in pack_primitives("yota-scipy").values())


def test_no_conflict_with_other_installed_packs():
    """yota-special (the guide's example) claims other scipy.special ufuncs than this pack."""
    yota.plugins.ensure_loaded()
    from yota.registry import REGISTRY
    assert not [c for c in REGISTRY.conflicts if "yota-scipy" in str(c.message())]


def test_submodules_after_a_plain_import():
    assert yota_scipy.stats.norm.logpdf(0.0) == pytest.approx(-0.5 * np.log(2 * np.pi))
    with pytest.raises(AttributeError):
        yota_scipy.optimize


@pytest.mark.parametrize("call,scipy_name,ours", [
    (lambda x: scipy.stats.norm.logpdf(x, 0.0, 1.0), "scipy.stats.norm.logpdf",
     "yota_scipy.stats.norm.logpdf"),
    (lambda x: scipy.stats.multivariate_normal.logpdf(x, np.zeros(2)),
     "scipy.stats.multivariate_normal.logpdf", "yota_scipy.stats.multivariate_normal.logpdf"),
    (lambda x: scipy.stats.poisson.logpmf(2, x), "scipy.stats.poisson.logpmf",
     "yota_scipy.stats.poisson.logpmf"),
    (lambda x: sc.logsumexp(x), "scipy.special.logsumexp", "yota_scipy.special.logsumexp"),
    (lambda x: sc.softmax(x), "scipy.special.softmax", "yota_scipy.special.softmax"),
    (lambda x: scipy.linalg.expm(np.diag(x)), "scipy.linalg.expm", "yota_scipy.linalg.expm"),
])
def test_scipy_functions_on_tracked_values_name_their_equivalent(call, scipy_name, ours):
    x = np.array([0.3, 0.6])
    with pytest.raises(yota.YotaError) as info:
        yota.grad(lambda x: np.sum(call(x)), x)
    message = str(info.value)
    assert f"yota: {scipy_name} converts its arguments to plain arrays" in message
    assert f"call {ours} instead" in message


def test_a_scipy_function_without_equivalent_says_so():
    with pytest.raises(yota.YotaError, match=r"scipy.linalg.det converts its arguments .* no known "
                                             r"pack provides"):
        yota.grad(lambda a: scipy.linalg.det(a), np.eye(2))


def test_plain_numpy_conversions_keep_the_generic_message():
    with pytest.raises(yota.YotaError,
                       match=r"converting a tracked value that carries a gradient to a plain"):
        yota.grad(lambda x: np.sum(np.asarray(x)), np.ones(2))


def test_disabled_pack_names_the_scipy_function_and_the_install_hint(yota_disable_packs):
    yota_disable_packs("yota-scipy")
    with pytest.raises(yota.NoRuleError) as info:
        yota.grad(lambda x: sc.gammaln(x), 1.5)
    message = str(info.value)
    assert "scipy.special.gammaln has no yota implementation" in message
    assert "numpy.gammaln" not in message
    assert "provided by the yota-scipy pack" in message
    assert "pip install -e plugins/yota-scipy" in message
    with pytest.raises(yota.NoRuleError, match="the yota-scipy pack is disabled"):
        yota.grad(lambda x: yota_scipy.special.gammaln(x), 1.5)
    with pytest.raises(yota.YotaError, match=r"call yota_scipy.stats.norm.cdf instead \(from the "
                                             r"yota-scipy pack, which is not loaded"):
        yota.grad(lambda x: scipy.stats.norm.cdf(x), 1.5)


def test_an_unregistered_scipy_ufunc_is_named_by_its_module():
    with pytest.raises(yota.NoRuleError, match=r"yota: scipy.special.exp10 has no yota "
                                               r"implementation.*no known pack provides it"):
        yota.grad(lambda x: sc.exp10(x), 2.5)
