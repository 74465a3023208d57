"""check_rules_complete and pack_primitives fail, saying why, when the pack is not loaded
(disabled, failed, not installed) instead of passing having checked nothing; and they see a
pack's own primitives when another pack uses the same names."""
import types

import numpy as np
import pytest

import yota
from yota.packs import host as plugins
from yota.testing import (MissingRules, PackNotLoaded, check_rules_complete, find_primitive,
                          pack_primitives)


def _add(name, hook):
    module = types.ModuleType(name)
    module.yota_register_primitives = yota.hookimpl(hook)
    plugins._explicit.append((name, module))


def test_a_disabled_pack_fails_the_check(yota_disable_packs):
    yota_disable_packs("yota-nn")
    with pytest.raises(PackNotLoaded, match=r"yota: plugin 'yota-nn' is disabled "
                                            r"\(YOTA_DISABLE_PLUGINS\), so its rules cannot be "
                                            r"checked; remove it from YOTA_DISABLE_PLUGINS, then "
                                            r"call yota.plugins.reload\(\)"):
        check_rules_complete("yota-nn")


def test_a_failed_pack_fails_the_check(fresh_plugins):
    def broken(registry):
        raise RuntimeError("no libfoo")

    _add("yota-broken", broken)
    with pytest.warns(RuntimeWarning):
        plugins.reload()
    with pytest.raises(AssertionError, match=r"yota: plugin 'yota-broken' failed to load "
                                             r"\(RuntimeError: no libfoo\), so its rules cannot "
                                             r"be checked"):
        check_rules_complete("yota-broken")


def test_a_pack_that_is_not_installed_fails_the_check():
    with pytest.raises(PackNotLoaded, match=r"no plugin named 'yota-nope' is loaded \(loaded: "
                                            r".*yota-core.*\); install it \(pip install "
                                            r"yota-nope \(from a yota source checkout: pip "
                                            r"install -e plugins/yota-nope\)\)"):
        check_rules_complete("yota-nope")


def test_each_pack_is_checked_with_its_own_primitive_of_a_shared_name(fresh_plugins):
    ruled = yota.primitive(lambda x: x * 2.0, name="sigmoid")
    ruled.defgrad(lambda dy, y, x: dy * 2.0)
    unruled = yota.primitive(lambda x: x * 3.0, name="sigmoid")
    _add("yota-ruled", lambda registry: registry.add_primitive(ruled))
    _add("yota-unruled", lambda registry: registry.add_primitive(unruled))
    plugins.reload()
    assert pack_primitives("yota-ruled") == {"sigmoid": ruled}
    assert pack_primitives("yota-unruled") == {"sigmoid": unruled}
    check_rules_complete("yota-ruled")
    check_rules_complete("yota-nn")
    with pytest.raises(MissingRules, match=r"pack 'yota-unruled': primitive 'sigmoid' has no "
                                           r"gradient rule for argument 0"):
        check_rules_complete("yota-unruled")
    assert find_primitive("yota-unruled:sigmoid") == (unruled, "yota-unruled")
    assert find_primitive(ruled) == (ruled, "yota-ruled")
    assert find_primitive(np.sin)[1] == "yota-core"


def test_the_pytest_header_counts_conflicts(fresh_plugins):
    from yota.pytest_plugin import pytest_report_header

    class Config:
        def getoption(self, name, default=None):
            return False

    assert "conflict" not in pytest_report_header(Config())
    _add("yota-p", lambda registry: registry.implement(np.i0, lambda x: x))
    _add("yota-q", lambda registry: registry.implement(np.i0, lambda x: x))
    with pytest.warns(RuntimeWarning):
        plugins.reload()
    header = pytest_report_header(Config())
    assert header.startswith("yota packs: yota-core")
    assert header.endswith("; 1 conflict(s) between packs (run `yota plugins` to see them)")
