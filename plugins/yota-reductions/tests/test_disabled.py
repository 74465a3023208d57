"""Disabling the pack removes its functions, with a message that says what to do."""
from __future__ import annotations

import numpy as np
import pytest

import yota
import yota.plugins
from yota.registry import KNOWN_PACKS, REGISTRY
from yota_reductions import logsumexp


@pytest.fixture
def reductions_disabled(monkeypatch):
    monkeypatch.setenv("YOTA_DISABLE_PLUGINS", "yota-reductions")
    yota.plugins.reload()
    yield
    monkeypatch.undo()
    yota.plugins.reload()


@pytest.mark.parametrize("dynamic", [True, False])
@pytest.mark.parametrize("f", [np.sum, np.mean, np.max, np.amin, np.prod, np.var, np.std,
                               np.cumprod, np.diff, np.median, np.sort, np.cov],
                         ids=lambda f: f.__name__)
def test_numpy_reductions_say_which_pack_to_install(reductions_disabled, f, dynamic):
    x = np.arange(3.0)
    with pytest.raises(yota.NoRuleError,
                       match=rf"numpy\.{f.__name__} has no yota implementation.*"
                             r"pip install yota-reductions"):
        yota.grad(lambda x: f(x), x, dynamic=dynamic)


def test_imported_logsumexp_refuses_tracked_values_while_disabled(reductions_disabled):
    x = np.arange(3.0)
    with pytest.raises(yota.NoRuleError,
                       match=r"yota_reductions\.logsumexp was called on a tracked value, but "
                             r"the yota-reductions pack is disabled \(YOTA_DISABLE_PLUGINS\)"):
        yota.grad(lambda x: logsumexp(x), x, dynamic=True)
    with pytest.raises(yota.NoRuleError, match="pack is disabled"):
        yota.grad(lambda x: logsumexp(x * 2.0), x)  # static mode traces the same way
    # Plain arrays are NumPy's business: still computed.
    assert logsumexp(x) == pytest.approx(np.log(np.sum(np.exp(x))))


def test_enabled_again_after_reload(reductions_disabled, monkeypatch):
    monkeypatch.delenv("YOTA_DISABLE_PLUGINS")
    yota.plugins.reload()
    value, g = yota.grad(lambda x: logsumexp(x) + np.sum(x), np.zeros(2), dynamic=True)
    assert value == pytest.approx(np.log(2))
    np.testing.assert_allclose(g[0], [1.5, 1.5])


def test_every_name_known_packs_lists_is_provided_by_the_pack():
    """The "install yota-reductions" hint is only given for what the pack really provides."""
    yota.plugins.ensure_loaded()
    for name in KNOWN_PACKS["yota-reductions"]:
        if "." in name:
            ufunc, method = name.split(".")
            key = (getattr(np, ufunc), method)
        else:
            key = getattr(np, name, name)   # logsumexp: a primitive of the pack
        assert REGISTRY.provider.get(key) == "yota-reductions", name


def test_the_pack_implements_nothing_known_packs_leaves_out():
    from yota.registry import short_name
    from yota_reductions import numpy_api

    missing = [short_name(k) for k in numpy_api.IMPLEMENTS
               if short_name(k) not in KNOWN_PACKS["yota-reductions"]]
    assert not missing
