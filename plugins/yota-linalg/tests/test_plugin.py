"""The pack is found through its entry point; disabled, its functions say what to install."""
import numpy as np
import pytest

import yota
import yota.plugins


@pytest.fixture
def linalg_disabled(monkeypatch):
    monkeypatch.setenv("YOTA_DISABLE_PLUGINS", "yota-linalg")
    yota.plugins.reload()
    yield
    monkeypatch.delenv("YOTA_DISABLE_PLUGINS")
    yota.plugins.reload()


def test_pack_is_loaded_and_provides_matmul():
    yota.plugins.ensure_loaded()
    assert yota.plugins.PLUGINS["yota-linalg"].status == "loaded"
    assert yota.plugins.plugin_of(np.matmul) == "yota-linalg"
    assert yota.plugins.plugin_of(np.linalg.inv) == "yota-linalg"
    assert yota.plugins.plugin_of("einsum") == "yota-linalg"


def test_disabled_pack_says_what_to_install(linalg_disabled):
    a, b = np.ones((2, 3)), np.ones((3, 2))
    assert yota.plugins.PLUGINS["yota-linalg"].status == "disabled"
    with pytest.raises(yota.NoRuleError, match=r"numpy.matmul .*pip install yota-linalg"):
        yota.grad(lambda a: (a @ b)[0, 0], a)
    with pytest.raises(yota.NoRuleError, match=r"numpy.linalg.inv .*pip install yota-linalg"):
        yota.grad(lambda a: np.linalg.inv(a)[0, 0], np.eye(2))
    with pytest.raises(yota.NoRuleError, match=r"numpy.einsum .*pip install yota-linalg"):
        yota.grad(lambda a: np.einsum("ij->", a), a)
    for fn in (np.linalg.eigh, np.linalg.eigvalsh, np.linalg.svd, np.linalg.qr, np.linalg.pinv):
        with pytest.raises(yota.NoRuleError,
                           match=rf"numpy.linalg.{fn.__name__} .*pip install yota-linalg"):
            yota.grad(lambda a: fn(a)[0][0], np.eye(2))


def test_enabled_again_after_reload():
    a, b = np.ones((2, 3)), np.ones((3, 2))
    _, g = yota.grad(lambda a: (a @ b)[0, 0], a)
    np.testing.assert_allclose(g[0], [[1, 1, 1], [0, 0, 0]])
