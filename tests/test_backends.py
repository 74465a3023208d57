"""Compile backends as plugins, and the tiers of ``backend="auto"``.

Backends come from real distributions installed into a temporary folder (as in
test_plugin_isolation.py): a pack's ``yota_register_backends`` hook (or ``add_backend`` in its
primitives hook) provides one, selected with ``backend=`` on every compiling transform or with
``YOTA_BACKEND``; a missing one says which pack to install. The ``"slow"`` backend of these
tests lowers through the interpreter after a sleep: with ``"auto:slow"`` NumPy code serves the
first calls and the slow program replaces it once compiled (``wait_for_background`` makes that
deterministic); a backend that declines or raises leaves NumPy code in place with one warning.
"""
from __future__ import annotations

import importlib
import multiprocessing
import os
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import yota
from yota.cli import main as cli_main
from yota.compile import CACHE, backends, static, tiers, wait_for_background
from yota.errors import BackendError
from yota.packs import host

SLOW = """
import threading
import time

import numpy as np
import yota
from yota.compile.backends import INTERPRET
from yota.compile.ir import NotCompilable


class Slow:
    name = "{name}"

    def __init__(self):
        self.delay = 0.0
        self.behaviour = "ok"      # "decline" or "raise"
        self.lowered = 0
        self.ready = True
        self.calls = []            # the thread of every call of a lowered function

    def available(self):
        return (True, "") if self.ready else (False, "it needs a GPU, and there is none")

    def lower(self, program, template, fname):
        self.lowered += 1
        time.sleep(self.delay)
        if self.behaviour == "decline":
            raise NotCompilable("its loops do not fit")
        if self.behaviour == "raise":
            raise RuntimeError("slow exploded")
        fn, _ = INTERPRET.lower(program, template, fname)

        def counted(*inputs):
            self.calls.append(threading.current_thread().name)
            return fn(*inputs)

        return counted, "# slow code for " + fname + "\\n"


BACKEND = Slow()


@yota.hookimpl
def {hook}(registry):
    registry.add_backend(BACKEND)
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    """``site.install(dist, module, source)``: an installed distribution with an entry point in
    the group ``yota``; plugins reload on the way in and out."""
    root = tmp_path / "site-packages"
    root.mkdir()
    modules = []

    class Site:
        path = root

        def install(self, dist, module, body, version="0.1"):
            (root / f"{module}.py").write_text(textwrap.dedent(body))
            info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
            info.mkdir()
            (info / "METADATA").write_text(
                f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
            (info / "entry_points.txt").write_text(f"[yota]\n{module} = {module}\n")
            modules.append(module)
            importlib.invalidate_caches()

        def reload(self):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                host.reload()
            return [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]

    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setattr(host, "_explicit", [])
    yield Site()
    wait_for_background()
    monkeypatch.undo()
    for m in modules:
        sys.modules.pop(m, None)
    importlib.invalidate_caches()
    host.reload()


@pytest.fixture
def slow(site):
    """The "slow" backend of the installed pack yota-slow."""
    site.install("yota-slow", "yota_slow_pack",
                 SLOW.format(name="slow", hook="yota_register_backends"))
    assert site.reload() == []
    return sys.modules["yota_slow_pack"].BACKEND


def loss(w, x):
    return np.sum(np.tanh(w * x) ** 2) + np.sum(w * w)


W = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
X = np.linspace(0.5, 2.0, 3)


def same(a, b):
    (va, ga), (vb, gb) = a, b
    assert va == vb
    np.testing.assert_array_equal(ga[0], gb[0])


def variants(spec_tag_start):
    return [v for key, e in CACHE.entries.items() if key[0] == spec_tag_start
            for v in e.variants]


# --- providing and selecting a backend ---------------------------------------------------------
def test_the_core_provides_numpy_and_interpret():
    assert backends.get("numpy") is backends.NUMPY
    assert backends.get("interpret") is backends.INTERPRET
    assert host.PLUGINS[host.CORE_NAME].backends == ["interpret", "numpy"]


def test_a_pack_provides_a_backend_through_its_hook(slow):
    expected = yota.grad(loss, W, X, backend="numpy")
    got = yota.grad(loss, W, X, backend="slow")
    same(got, expected)
    assert slow.lowered == 1
    yota.grad(loss, W, X, backend="slow")   # cached: not lowered again
    assert slow.lowered == 1
    assert host.PLUGINS["yota-slow"].backends == ["slow"]


def test_add_backend_also_works_from_the_primitives_hook(site):
    site.install("yota-slow", "yota_slow_pack",
                 SLOW.format(name="slow", hook="yota_register_primitives"))
    assert site.reload() == []
    same(yota.grad(loss, W, X, backend="slow"), yota.grad(loss, W, X))


def test_show_code_names_the_backend(slow, capsys):
    yota.show_code(loss, W, X, backend="slow")
    assert capsys.readouterr().out == "# backend: slow\n# slow code for yota_loss\n"
    yota.show_code(loss, W, X, backend="interpret")
    out = capsys.readouterr().out
    assert out.startswith("# backend: interpret\nparams: ")
    yota.show_code(loss, W, X)
    assert capsys.readouterr().out.startswith("def yota_loss(w, x):")


def test_two_backends_never_share_a_compiled_program(slow):
    CACHE.clear()
    yota.grad(loss, W, X)
    yota.grad(loss, W, X, backend="slow")
    yota.grad(loss, W, X, backend="interpret")
    keys = [k for k in CACHE.entries if k[0] in ("grad", ("grad", "slow"),
                                                 ("grad", "interpret"))]
    assert len(keys) == 3
    made = sorted(v.backend for k in keys for v in CACHE.entries[k].variants)
    assert made == ["interpret", "numpy", "slow"]


def test_every_compiling_transform_takes_a_backend(slow):
    f = lambda x: np.tanh(x) * x   # noqa: E731
    s = lambda x: np.sum(np.tanh(x) * x)   # noqa: E731
    x = np.array([0.3, -1.2, 2.0])
    before = slow.lowered
    np.testing.assert_array_equal(yota.jacobian(f, backend="slow")(x), yota.jacobian(f)(x))
    np.testing.assert_array_equal(yota.hessian(s, backend="slow")(x), yota.hessian(s)(x))
    same(yota.value_and_grad(s, backend="slow")(x), yota.value_and_grad(s)(x))
    np.testing.assert_array_equal(yota.gradient(s, backend="slow")(x),
                                  yota.gradient(s)(x))
    assert slow.lowered == before + 4


@pytest.mark.parametrize("make", [
    lambda: yota.grad(loss, W, X, backend="nope"),
    lambda: yota.grad(loss, W, X, backend="nope", dynamic=True),
    lambda: yota.value_and_grad(loss, backend="nope"),
    lambda: yota.gradient(loss, backend="nope"),
    lambda: yota.jacobian(np.tanh, backend="nope"),
    lambda: yota.hessian(loss, backend="nope"),
    lambda: yota.show_code(loss, W, X, backend="nope"),
])
def test_an_unknown_backend_is_a_clear_error(make):
    with pytest.raises(BackendError, match=(
            r"^yota: backend='nope': no compile backend is named 'nope'; the installed ones "
            r"are .*interpret, (numba, )?numpy.*auto\. A pack provides one with "
            r"registry.add_backend \(docs/writing-a-pack.md\)$")):
        make()


def test_a_backend_name_must_be_a_string():
    with pytest.raises(BackendError, match=r"backend=3: expected the name of a compile "
                                           r"backend \(a str such as 'numpy'"):
        yota.value_and_grad(loss, backend=3)


def test_an_uninstalled_backend_names_the_pack_to_install(monkeypatch):
    monkeypatch.setitem(backends.KNOWN, "fastcc", "yota-fastcc")
    with pytest.raises(BackendError, match=(
            r"^yota: backend='fastcc': the 'fastcc' compile backend is provided by the "
            r"yota-fastcc pack: install it with pip install yota-fastcc \(from a yota source "
            r"checkout: pip install -e plugins/yota-fastcc\)$")):
        yota.grad(loss, W, X, backend="fastcc")


def test_numba_without_its_pack_says_to_install_yota_numba():
    host.ensure_loaded()
    if "numba" in host.REGISTRY.backends:
        pytest.skip("yota-numba is installed here")
    with pytest.raises(BackendError, match=r"pip install yota-numba \(from a yota source "
                                           r"checkout: pip install -e plugins/yota-numba\)"):
        yota.grad(loss, W, X, backend="numba")


def test_a_backend_whose_pack_failed_to_load_says_so(site, monkeypatch):
    monkeypatch.setitem(backends.KNOWN, "fastcc", "yota-fastcc")
    site.install("yota-fastcc", "yota_fastcc_pack", "raise ImportError('no C compiler')\n")
    warned = site.reload()
    assert any("'yota-fastcc' was skipped" in w for w in warned)
    with pytest.raises(BackendError, match=(
            r"the 'fastcc' compile backend comes from the yota-fastcc pack, which failed to "
            r"load \(ImportError: no C compiler\); `yota plugins` lists the packs")):
        yota.grad(loss, W, X, backend="fastcc")
    # an unknown name mentions the packs that failed, which may have provided it
    with pytest.raises(BackendError, match=r"pack\(s\) yota-fastcc failed to load and may "
                                           r"provide it"):
        yota.grad(loss, W, X, backend="other")


def test_a_backend_whose_hook_fails_skips_its_pack(site):
    site.install("yota-slow", "yota_slow_pack", SLOW.format(
        name="slow", hook="yota_register_backends").replace(
        "    registry.add_backend(BACKEND)", "    raise RuntimeError('no backend today')"))
    warned = site.reload()
    assert any("plugin 'yota-slow' was skipped because it raised while running its "
               "yota_register_backends hook (RuntimeError: no backend today)" in w
               for w in warned)


def test_a_disabled_pack_says_so(site, monkeypatch):
    monkeypatch.setitem(backends.KNOWN, "slow", "yota-slow")
    site.install("yota-slow", "yota_slow_pack",
                 SLOW.format(name="slow", hook="yota_register_backends"))
    monkeypatch.setenv("YOTA_DISABLE_PLUGINS", "yota-slow")
    site.reload()
    with pytest.raises(BackendError, match=r"the 'slow' compile backend comes from the "
                                           r"yota-slow pack, which YOTA_DISABLE_PLUGINS "
                                           r"disables"):
        yota.grad(loss, W, X, backend="slow")


def test_an_unavailable_backend_says_why(slow, capsys):
    slow.ready = False
    with pytest.raises(BackendError, match=r"^yota: backend='slow': the 'slow' compile backend "
                                           r"of pack yota-slow is not available here: it "
                                           r"needs a GPU, and there is none$"):
        yota.grad(loss, W, X, backend="slow")
    cli_main(["plugins"])
    assert backend_rows(capsys.readouterr().out)["slow"] == [
        "yota-slow", "no: it needs a GPU, and there is none"]


def test_two_packs_with_one_backend_name_use_neither(site):
    site.install("yota-slow", "yota_slow_pack",
                 SLOW.format(name="slow", hook="yota_register_backends"))
    site.install("yota-slow2", "yota_slow2_pack",
                 SLOW.format(name="slow", hook="yota_register_backends"))
    site.reload()
    with pytest.raises(BackendError, match=r"packs yota-slow and yota-slow2 both provide a "
                                           r"compile backend named 'slow', so neither is used; "
                                           r"disable one with YOTA_DISABLE_PLUGINS=yota-slow2"):
        yota.grad(loss, W, X, backend="slow")


@pytest.mark.parametrize("body, message", [
    ("registry.add_backend(object())", r"registered <object object at .*> as a compile "
     r"backend; a backend needs a name \(a str that is a Python identifier\) and a "
     r"lower\(program, template, fname\) method"),
    ("BACKEND.name = 'auto'; registry.add_backend(BACKEND)",
     r"registered a compile backend named 'auto', a name yota reserves"),
])
def test_an_invalid_backend_skips_its_pack(site, body, message):
    site.install("yota-slow", "yota_slow_pack", SLOW.format(
        name="slow", hook="yota_register_backends").replace(
        "    registry.add_backend(BACKEND)", "    " + body))
    warned = site.reload()
    assert any("'yota-slow' was skipped" in w for w in warned)
    assert host.PLUGINS["yota-slow"].status == "failed"
    assert pytest.importorskip("re").search(message, host.PLUGINS["yota-slow"].error)


def backend_rows(out):
    """``yota plugins``' backend table: name -> [pack, availability]."""
    table = out[out.index("BACKEND"):].splitlines()
    assert table[0].split() == ["BACKEND", "PACK", "AVAILABLE"]
    return {line.split()[0]: line.split(None, 2)[1:] for line in table[1:-1]}


def test_yota_plugins_lists_the_backends(slow, capsys):
    cli_main(["plugins"])
    out = capsys.readouterr().out
    rows = backend_rows(out)
    assert rows["interpret"] == rows["numpy"] == ["yota-core", "yes"]
    assert rows["slow"] == ["yota-slow", "yes"]
    assert out.splitlines()[-1] == ('default backend: numpy (set with YOTA_BACKEND; "auto" '
                                    'switches to a fused backend once it has compiled)')
    if "numba" not in host.REGISTRY.backends:
        assert rows["numba"] == [
            "yota-numba", "no: the 'numba' compile backend is provided by the yota-numba "
            "pack: install it with pip install yota-numba (from a yota source checkout: pip "
            "install -e plugins/yota-numba)"]


def test_a_backend_that_declines_leaves_the_program_to_numpy(slow, capsys):
    slow.behaviour = "decline"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same(yota.grad(loss, W, X, backend="slow"), yota.grad(loss, W, X))
    yota.show_code(loss, W, X, backend="slow")
    out = capsys.readouterr().out
    assert out.startswith("# backend: numpy (slow declined it (its loops do not fit))\n"
                          "def yota_loss(w, x):")


def test_a_backend_that_raises_warns_once_and_uses_numpy(slow):
    slow.behaviour = "raise"
    with pytest.warns(RuntimeWarning, match=r"yota: loss runs on the numpy backend: the 'slow' "
                                            r"backend raised RuntimeError: slow exploded\. "
                                            r"Results are unaffected") as caught:
        got = yota.grad(loss, W, X, backend="slow")
        yota.grad(loss, W, X, backend="slow")
    assert len(caught) == 1
    same(got, yota.grad(loss, W, X))


def test_the_interpret_mode_knob_still_works(monkeypatch, capsys):
    monkeypatch.setattr(static, "MODE", "interpret")
    CACHE.clear()
    same(yota.grad(loss, W, X), yota.grad(loss, W, X, dynamic=True))
    assert [v.backend for v in variants("grad")] == ["interpret"]
    CACHE.clear()


def run_python(code, **env):
    full = dict(os.environ, **env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full,
                          capture_output=True, text=True, timeout=120)


def test_yota_backend_picks_the_process_default():
    done = run_python("""
        import numpy as np, yota
        from yota.compile import backends
        print(backends.DEFAULT)
        yota.show_code(lambda x: np.sum(x * x), np.ones(3))
        v, g = yota.grad(lambda x: np.sum(x * x), np.ones(3))
        print(v, g[0])
        """, YOTA_BACKEND="interpret")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "interpret"
    assert lines[1] == "# backend: interpret"
    assert lines[-1] == "3.0 [2. 2. 2.]"


def test_an_unknown_yota_backend_is_a_clear_error():
    done = run_python("""
        import numpy as np, yota
        yota.grad(lambda x: np.sum(x * x), np.ones(3))
        """, YOTA_BACKEND="nope")
    assert done.returncode == 1
    assert ("yota.errors.BackendError: yota: YOTA_BACKEND=nope: no compile backend is named "
            "'nope'") in done.stderr


# --- tiers: backend="auto" ---------------------------------------------------------------------
def test_auto_serves_numpy_code_then_switches(slow, capsys):
    slow.delay = 0.3
    expected = yota.grad(loss, W, X, dynamic=True)
    start = time.perf_counter()
    first = yota.grad(loss, W, X, backend="auto:slow")
    assert time.perf_counter() - start < 0.3   # not waiting for the slow compile
    (variant,) = variants(("grad", "auto:slow"))
    assert variant.backend == "numpy"
    yota.show_code(loss, W, X, backend="auto:slow")
    shown = capsys.readouterr().out
    if tiers.pending():   # still compiling (on a loaded machine it may be done already)
        assert shown.startswith("# backend: numpy (auto: slow compiling in the background)\n"
                                "def yota_loss(w, x):")
    assert wait_for_background(timeout=30)
    (variant,) = variants(("grad", "auto:slow"))
    assert variant.backend == "slow"
    yota.show_code(loss, W, X, backend="auto:slow")
    shown = capsys.readouterr().out
    assert shown.startswith("# backend: slow (auto: switched from numpy after compiling for ")
    assert shown.endswith("# slow code for yota_loss\n")
    after = yota.grad(loss, W, X, backend="auto:slow")
    same(first, expected)
    same(after, expected)
    assert slow.lowered == 1


def test_the_background_job_makes_the_first_call(slow):
    """A backend may finish compiling on a first call (numba specializes on layouts): the
    background job makes it, on the compiling call's inputs, not the caller's hot path."""
    expected = yota.grad(loss, W, X, dynamic=True)
    yota.grad(loss, W, X, backend="auto:slow")
    assert wait_for_background(timeout=30)
    assert slow.calls == ["yota-background-compile"]
    same(yota.grad(loss, W, X, backend="auto:slow"), expected)
    assert slow.calls == ["yota-background-compile", threading.current_thread().name]


def test_an_explicit_backend_compiles_on_the_first_call(slow):
    slow.delay = 0.2
    yota.grad(loss, W, X, backend="slow")
    assert slow.lowered == 1 and tiers.pending() == 0
    assert [v.backend for v in variants(("grad", "slow"))] == ["slow"]


@pytest.mark.parametrize("behaviour, why", [
    ("decline", r"slow declined it \(its loops do not fit\)"),
    ("raise", r"slow raised RuntimeError: slow exploded"),
])
def test_a_failing_background_compile_stays_on_numpy_with_one_warning(slow, capsys, behaviour,
                                                                      why):
    slow.behaviour = behaviour
    expected = yota.grad(loss, W, X, dynamic=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = yota.grad(loss, W, X, backend="auto:slow")
        assert wait_for_background(timeout=30)
        again = yota.grad(loss, W, X, backend="auto:slow")
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1, messages
    assert pytest.importorskip("re").fullmatch(
        r"yota: loss stays on the numpy backend: the background compile with the 'slow' "
        r"backend failed: " + why + r"\. Results are unaffected", messages[0])
    same(first, expected)
    same(again, expected)
    (variant,) = variants(("grad", "auto:slow"))
    assert variant.backend == "numpy"
    yota.show_code(loss, W, X, backend="auto:slow")
    assert capsys.readouterr().out.startswith("# backend: numpy (auto: stays on numpy, ")


def test_a_program_too_large_for_auto_stays_on_numpy(slow, monkeypatch, capsys):
    monkeypatch.setattr(tiers, "AUTO_MAX_INSTRUCTIONS", 2)
    yota.grad(loss, W, X, backend="auto:slow")
    assert tiers.pending() == 0 and slow.lowered == 0
    yota.show_code(loss, W, X, backend="auto:slow")
    assert capsys.readouterr().out.startswith(
        "# backend: numpy (auto: stays on numpy, the program has ")


def test_auto_without_a_fused_backend_is_numpy_code():
    host.ensure_loaded()
    if backends.auto_target() is not None:
        pytest.skip("a fused backend is installed here")
    CACHE.clear()
    same(yota.grad(loss, W, X, backend="auto"), yota.grad(loss, W, X, dynamic=True))
    assert [v.backend for v in variants(("grad", "auto"))] == ["numpy"]
    assert tiers.pending() == 0


def test_readers_in_a_thread_pool_see_one_tier_or_the_other(slow):
    slow.delay = 0.05
    expected = yota.grad(loss, W, X, dynamic=True)
    ws = [W + i for i in range(4)]
    wanted = [yota.grad(loss, w, X, dynamic=True) for w in ws]
    stop = threading.Event()

    def hammer(i):
        got = []
        while not stop.is_set() or not got:
            got.append(yota.grad(loss, ws[i % 4], X, backend="auto:slow"))
        return i, got

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(hammer, i) for i in range(4)]
        time.sleep(0.05)
        assert wait_for_background(timeout=30)
        time.sleep(0.05)
        stop.set()
        for fut in futures:
            i, got = fut.result()
            for r in got:
                same(r, wanted[i % 4])
    (variant,) = variants(("grad", "auto:slow"))
    assert variant.backend == "slow"
    same(yota.grad(loss, W, X, backend="auto:slow"), expected)


def test_wait_for_background_times_out(slow):
    slow.delay = 0.5
    yota.grad(loss, W, X, backend="auto:slow")
    assert wait_for_background(timeout=0.01) is False
    assert wait_for_background(timeout=30) is True


def _child_waits():
    return wait_for_background(timeout=5)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_wait_for_its_parents_compiles(slow):
    slow.delay = 1.0
    yota.grad(loss, W, X, backend="auto:slow")
    assert tiers.pending() == 1
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply(_child_waits) is True
    assert wait_for_background(timeout=30)


def test_a_backends_hook_without_registry_returns_its_backends(site):
    site.install("yota-slow", "yota_slow_pack", SLOW.format(
        name="slow", hook="yota_register_backends").replace(
        "def yota_register_backends(registry):\n    registry.add_backend(BACKEND)",
        "def yota_register_backends():\n    return [BACKEND]"))
    assert site.reload() == []
    assert host.PLUGINS["yota-slow"].backends == ["slow"]
    same(yota.grad(loss, W, X, backend="slow"), yota.grad(loss, W, X))


def test_yota_backend_auto_tiers_a_whole_process(site):
    site.install("yota-slow", "yota_slow_pack",
                 SLOW.format(name="slow", hook="yota_register_backends"))
    done = run_python("""
        import numpy as np, yota
        from yota.compile import wait_for_background
        f = lambda x: np.sum(np.tanh(x) * x)
        first = yota.grad(f, np.ones(3))
        assert wait_for_background(30)
        yota.show_code(f, np.ones(3))
        second = yota.grad(f, np.ones(3))
        assert first[0] == second[0] and (first[1][0] == second[1][0]).all()
        """, YOTA_BACKEND="auto:slow", PYTHONPATH=str(site.path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# backend: slow (auto: switched from numpy after compiling")
