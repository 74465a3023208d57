"""Plugin isolation with real distributions: throwaway packs installed into a temporary folder.

Each pack is a module plus a ``<name>-<version>.dist-info`` folder with ``METADATA`` and an
``entry_points.txt`` declaring it in the group ``yota``, on a folder prepended to ``sys.path``:
exactly what ``pip install`` leaves behind, found by ``importlib.metadata`` like any installed
pack. A pack that breaks (at import, in its hook, by registering something invalid) is skipped
with a warning naming it while every other pack keeps working; two packs claiming one function
lose that function only, with a warning naming both distributions, whatever the install order; the environment variables disable a
named pack or every entry point. Also: importing yota and the first ``grad`` stay cheap.
"""
from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import yota
import yota.extend
from yota.packs import host as plugins
from yota.errors import NoRuleError, PluginError

HOOK = """
import numpy as np
import yota

{body}
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    """``site.install(dist, module, source)`` writes an installed distribution with an entry
    point ``group yota``; plugins reload on the way in and out."""
    root = tmp_path / "site-packages"
    root.mkdir()
    modules = []

    class Site:
        path = root

        def install(self, dist, module, body, entry=None, version="0.1"):
            (root / f"{module}.py").write_text(HOOK.format(body=textwrap.dedent(body)))
            info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
            info.mkdir()
            (info / "METADATA").write_text(
                f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
            (info / "entry_points.txt").write_text(f"[yota]\n{entry or module} = {module}\n")
            modules.append(module)
            importlib.invalidate_caches()

        def reload(self):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                plugins.reload()
            return [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]

    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setattr(plugins, "_explicit", [])
    yield Site()
    monkeypatch.undo()
    for m in modules:
        sys.modules.pop(m, None)
    importlib.invalidate_caches()
    plugins.reload()


# Pack bodies -------------------------------------------------------------------------------------
GOOD = """
@yota.primitive
def cube(x):
    return x ** 3

cube.defgrad(lambda dy, y, x: dy * 3 * x ** 2)

@yota.hookimpl
def yota_register_primitives(registry):
    registry.implement(np.ediff1d, cube)        # a silly mapping, easy to observe
"""

BROKEN_AT_IMPORT = """
raise ImportError("this pack needs a library that is not installed")
"""

BROKEN_IN_HOOK = """
@yota.primitive
def half(x):
    return x / 2

@yota.hookimpl
def yota_register_primitives(registry):
    registry.implement(np.unwrap, half)    # registered, then the hook fails: rolled back
    raise RuntimeError("hook exploded")
"""

INVALID_REGISTRATION = """
@yota.hookimpl
def yota_register_primitives(registry):
    registry.add_primitive(np.sin)         # not a Primitive
"""

CLAIMS_SIN = """
@yota.primitive
def my_sin(x):
    return np.sin(x)

my_sin.defgrad(lambda dy, y, x: dy * np.cos(x))

@yota.hookimpl
def yota_register_primitives(registry):
    registry.implement(np.{func}, my_sin)
"""


def cube_works():
    def f(x):
        y = np.ediff1d(x)            # the core alone (no reductions pack) sums two entries
        return y[0] + y[1]

    value, g = yota.grad(f, np.array([1.0, 2.0]))
    return value == 9.0 and g[0].tolist() == [3.0, 12.0]


def core_and_packs_work():
    value, g = yota.grad(lambda x: np.sum(np.sin(x) ** 2), np.array([0.5]))
    assert g[0][0] == pytest.approx(np.sin(1.0))
    value, g = yota.grad(lambda x: np.mean(x @ x.T), np.ones((2, 2)))   # linalg, reductions
    assert g[0].tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_a_real_distribution_is_found_and_loaded(site):
    site.install("yota-cube", "yota_cube_pack", GOOD)
    assert site.reload() == []
    info = plugins.PLUGINS["yota-cube"]
    assert (info.status, info.version, info.primitives, info.functions) == ("loaded", "0.1", 1, 1)
    assert plugins.plugin_of(np.ediff1d) == "yota-cube"
    assert cube_works()


@pytest.mark.parametrize("body, when, detail", [
    (BROKEN_AT_IMPORT, "importing it", r"ImportError: this pack needs a library"),
    (BROKEN_IN_HOOK, "running its yota_register_primitives hook", r"RuntimeError: hook exploded"),
    (INVALID_REGISTRATION, "running its yota_register_primitives hook",
     r"PluginError: .*registered <ufunc 'sin'>, not a Primitive"),
], ids=["import", "hook", "invalid registration"])
def test_a_broken_pack_is_skipped_with_a_warning_naming_it(site, body, when, detail):
    site.install("yota-cube", "yota_cube_pack", GOOD)
    site.install("yota-broken", "yota_broken_pack", body)
    messages = site.reload()
    assert len(messages) == 1, messages
    assert re.search(rf"plugin 'yota-broken' was skipped because it raised while {when} "
                     rf"\({detail}.*\); the other plugins still work\. Disable it with "
                     r"YOTA_DISABLE_PLUGINS=yota-broken", messages[0]), messages[0]
    info = plugins.PLUGINS["yota-broken"]
    assert info.status == "failed" and info.version == "0.1"
    assert cube_works()
    core_and_packs_work()
    if body is BROKEN_IN_HOOK:   # what it registered before failing was rolled back
        with pytest.raises(NoRuleError, match=r"numpy\.unwrap has no yota implementation"):
            yota.grad(lambda x: np.sum(np.unwrap(x)), np.ones(2))
    assert site.reload() == messages   # the same on every reload, never silently different


def test_two_packs_claiming_one_function_disable_only_that_function(site):
    site.install("yota-sin-a", "yota_sin_a", CLAIMS_SIN.format(func="ediff1d"))
    site.install("yota-sin-b", "yota_sin_b", CLAIMS_SIN.format(func="ediff1d"))
    message = (r"plugins 'yota-sin-a' and 'yota-sin-b' both implement numpy\.ediff1d, so neither of "
               r"their versions is used and numpy\.ediff1d has no yota implementation until one of "
               r"them is disabled \(YOTA_DISABLE_PLUGINS=yota-sin-b\) or registers it with "
               r"override=True")
    messages = site.reload()
    assert len(messages) == 1 and re.search(message, messages[0]), messages
    with pytest.raises(NoRuleError, match=message):   # every use says so, none picks one
        cube_works()
    core_and_packs_work()


# Two packs that each define a primitive ``sigmoid`` (as yota-nn does) and each implement
# np.ptp (as yota-reductions does), with other functions of their own.
RIVAL = """
import yota.extend

@yota.extend.pack_primitive(pack="{dist}")
def sigmoid(x):
    return {scale} / (1 + np.exp(-x))

sigmoid.defgrad(lambda dy, y, x: dy * y * (1 - y / {scale}))

@yota.primitive
def ptp_(x):
    return np.ptp(x)

ptp_.defgrad(lambda dy, y, x: dy * 0.0)

@yota.primitive
def {own}(x):
    return x * {scale}

{own}.defgrad(lambda dy, y, x: dy * {scale})

@yota.hookimpl
def yota_register_primitives(registry):
    registry.add_primitive(sigmoid)
    registry.implement(np.ptp, ptp_)
    registry.implement(np.{func}, {own})
"""


@pytest.mark.parametrize("order", ["a first", "b first"])
def test_rival_packs_leave_everything_else_working_in_either_install_order(site, order):
    packs = [("yota-rival-a", "yota_rival_a", None, dict(scale=2.0, own="double", func="ediff1d")),
             ("yota-rival-b", "yota_rival_b", None, dict(scale=3.0, own="triple",
                                                         func="unwrap"))]
    # the order of installing and of entry-point names (which decides loading order) both flip
    for (dist, module, _, fmt), entry in zip(packs if order == "a first" else packs[::-1],
                                             ("a_entry", "z_entry")):
        site.install(dist, module, RIVAL.format(dist=dist, **fmt), entry=entry)
    messages = site.reload()
    assert len(messages) == 1, messages   # np.ptp only: a shared primitive name is no conflict
    assert re.search(r"plugins 'yota-reductions', 'yota-rival-a' and 'yota-rival-b' all "
                     r"implement numpy\.ptp, so none of their versions is used", messages[0])
    import yota_nn
    import yota_rival_a
    import yota_rival_b

    x = np.array([0.5, -1.0])
    for sigmoid, scale in ((yota_rival_a.sigmoid, 2.0), (yota_rival_b.sigmoid, 3.0),
                           (yota_nn.sigmoid, 1.0)):
        value, g = yota.grad(lambda v: np.sum(sigmoid(v)), x)
        s = scale / (1 + np.exp(-x))
        np.testing.assert_allclose(g[0], s * (1 - s / scale))
    assert yota.grad(lambda v: np.sum(np.ediff1d(v)), x)[1][0].tolist() == [2.0, 2.0]
    assert yota.grad(lambda v: np.sum(np.unwrap(v)), x)[1][0].tolist() == [3.0, 3.0]
    with pytest.raises(NoRuleError, match=r"numpy\.ptp, so none of their versions is used"):
        yota.grad(lambda v: np.ptp(v), x)
    assert yota.grad(lambda v: np.sum(np.sin(v)), x)[1][0].tolist() == np.cos(x).tolist()
    core_and_packs_work()
    assert all(plugins.PLUGINS[d].status == "loaded" for d in ("yota-rival-a", "yota-rival-b"))

    env = dict(os.environ, PYTHONPATH=str(site.path) + os.pathsep +
               os.environ.get("PYTHONPATH", ""))
    env.pop("YOTA_DISABLE_PLUGINS", None)
    proc = subprocess.run([sys.executable, "-m", "yota", "plugins"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    rows = {line.split()[0]: line.split()[1:] for line in proc.stdout.splitlines() if line}
    assert rows["yota-rival-a"][:2] == ["0.1", "loaded"]
    assert "conflict: yota: plugins 'yota-reductions', 'yota-rival-a' and 'yota-rival-b' all " \
           "implement numpy.ptp" in proc.stdout
    assert "shared primitive name sigmoid: yota-nn, yota-rival-a, yota-rival-b (each pack " \
           "uses its own: yota-nn:sigmoid, yota-rival-a:sigmoid, yota-rival-b:sigmoid)" \
           in proc.stdout


def test_a_distribution_with_two_entry_points_loads_the_first_and_says_so(site):
    site.install("yota-cube", "yota_cube_pack", GOOD)
    info = next(site.path.glob("yota_cube-*.dist-info"))
    (info / "entry_points.txt").write_text("[yota]\na = yota_cube_pack\nb = yota_cube_pack\n")
    messages = site.reload()
    assert messages == ["yota: two entry points in group 'yota' are named 'yota-cube'; only the "
                        "first is loaded. Rename one of the distributions' entry points."]
    assert cube_works()
    core_and_packs_work()


def test_plugin_of_names_the_pack_of_a_shared_primitive_name(site):
    site.install("yota-soft-a", "yota_soft_a", ADDS_SOFTSIGN)
    site.install("yota-soft-b", "yota_soft_b", ADDS_SOFTSIGN)
    site.reload()
    import yota_soft_b

    assert plugins.plugin_of(yota_soft_b.softsign) == "yota-soft-b"
    assert plugins.plugin_of("yota-soft-a:softsign") == "yota-soft-a"
    assert plugins.plugin_of("softsign") is None     # ambiguous: say which pack's
    assert plugins.plugin_of("yota-nn:sigmoid") == "yota-nn"


def test_a_pack_claiming_a_core_function_leaves_the_core_in_place(site):
    site.install("yota-sin-a", "yota_sin_a", CLAIMS_SIN.format(func="sin"))
    messages = site.reload()
    assert len(messages) == 1 and re.search(
        r"plugin 'yota-sin-a' implements numpy\.sin, which 'yota-core' already implements, "
        r"without override=True", messages[0]), messages
    assert plugins.plugin_of(np.sin) == "yota-core"
    core_and_packs_work()


ADDS_SOFTSIGN = """
@yota.primitive
def softsign(x):
    return x / (1 + np.abs(x))

softsign.defgrad(lambda dy, y, x: dy / (1 + np.abs(x)) ** 2)

@yota.hookimpl
def yota_register_primitives(registry):
    registry.add_primitive(softsign)
"""


def test_two_packs_adding_primitives_of_one_name_both_load(site):
    site.install("yota-soft-a", "yota_soft_a", ADDS_SOFTSIGN)
    site.install("yota-soft-b", "yota_soft_b", ADDS_SOFTSIGN)
    assert site.reload() == []
    assert plugins.REGISTRY.shared["softsign"] == ("yota-soft-a", "yota-soft-b")
    import yota_soft_a

    assert yota.grad(lambda x: yota_soft_a.softsign(x), 1.0)[1][0] == 0.25


def test_disabling_the_conflicting_pack_resolves_the_conflict(site, monkeypatch):
    site.install("yota-sin-a", "yota_sin_a", CLAIMS_SIN.format(func="ediff1d"))
    site.install("yota-sin-b", "yota_sin_b", CLAIMS_SIN.format(func="ediff1d"))
    monkeypatch.setenv("YOTA_DISABLE_PLUGINS", "yota-sin-b")
    assert site.reload() == []
    assert plugins.PLUGINS["yota-sin-b"].status == "disabled"
    assert plugins.plugin_of(np.ediff1d) == "yota-sin-a"


def test_environment_variables_disable_a_named_pack_or_every_entry_point(site, monkeypatch):
    site.install("yota-cube", "yota_cube_pack", GOOD, entry="cube")
    for name in ("yota-cube", "cube", " cube , yota-nn "):   # distribution or entry point name
        monkeypatch.setenv("YOTA_DISABLE_PLUGINS", name)
        site.reload()
        assert plugins.PLUGINS["yota-cube"].status == "disabled"
        with pytest.raises(NoRuleError, match=r"numpy\.ediff1d has no yota implementation"):
            cube_works()
    assert plugins.PLUGINS["yota-nn"].status == "disabled"
    monkeypatch.delenv("YOTA_DISABLE_PLUGINS")
    for value in ("1", "true", "yes"):
        monkeypatch.setenv("YOTA_DISABLE_PLUGIN_AUTOLOAD", value)
        site.reload()
        assert set(plugins.PLUGINS) == {"yota-core"}
        with pytest.raises(NoRuleError, match=r"numpy\.sum .*yota-reductions pack"):
            yota.grad(lambda x: np.sum(x), np.ones(2))
    # explicitly registered packs still load without autoloading
    import yota_cube_pack

    plugins.register(yota_cube_pack, name="by-hand")
    assert cube_works()
    for value in ("", "0", "false"):
        monkeypatch.setenv("YOTA_DISABLE_PLUGIN_AUTOLOAD", value)
        site.reload()
        assert plugins.PLUGINS["yota-cube"].status == "loaded"


# --- import and first-grad cost ------------------------------------------------------------------
IMPORT_AND_FIRST_GRAD = """
import time
t0 = time.perf_counter()
import numpy as np
t1 = time.perf_counter()
import yota
t2 = time.perf_counter()
yota.grad(lambda x: np.sum(np.tanh(x) ** 2), np.ones(3))
t3 = time.perf_counter()
yota.grad(lambda x: np.sum(np.tanh(x) ** 2), np.ones(3))
t4 = time.perf_counter()
from yota.plugins import PLUGINS
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3, len(PLUGINS))
"""

BUDGET_S = 1.5   # 3x the README budget (0.5 s; measured 0.2-0.4 s), for busy machines


def test_import_and_first_grad_stay_within_the_budget():
    """Measured in a fresh interpreter with every installed pack (the best of three runs, so a
    busy machine does not fail it); the README states the budget and the measured figure."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("YOTA_")}
    runs = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", IMPORT_AND_FIRST_GRAD], env=env,
                             capture_output=True, text=True, timeout=120, check=True).stdout
        t_np, t_import, t_first, t_second, n = out.split()
        runs.append((float(t_import) + float(t_first), float(t_second), int(n)))
    best = min(runs)
    assert best[2] >= 5, "not every pack was loaded"
    assert best[0] < BUDGET_S, f"import yota + first grad took {best[0]:.3f} s"
