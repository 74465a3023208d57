"""yota-numba's kernels on disk (yota_numba.cache), with real second processes.

Each test runs PROGRAM (a gradient whose backward pass fuses into numba loops) in fresh Python
processes sharing one YOTA_CACHE_DIR. A process reports numba's own compile events (every
function numba compiles, helpers included) and yota_numba.cache.counts, and the result's bytes,
so "the second process compiles nothing" and "the results are bit-identical" are observed, not
assumed.
"""
from __future__ import annotations

import json
import os
import pickle
import shutil
import stat
import subprocess
import sys

import numpy as np
import pytest

PROGRAM = r"""
import json, sys
import numpy as np
from numba.core import event
import yota
from yota_numba import cache

events = []


class Recorder(event.Listener):
    def on_start(self, e):
        events.append(e.data["dispatcher"].py_func.__name__)

    def on_end(self, e):
        pass


event.register("numba:compile", Recorder())

def loss(x, w):
    for _ in range(3):
        x = np.tanh(x) * w + 0.5 * x
    return np.sum(x * x)

x = np.linspace(-2.0, 2.0, 7)
w = np.linspace(0.5, 1.5, 7)
value, grads = yota.grad(loss, x, w, argnums=(0, 1), backend="numba")
print(json.dumps({"events": events, "counts": dict(cache.counts),
                  "bits": [np.asarray(v).tobytes().hex() for v in (value, *grads)]}))
"""


def run(cache_dir, **env):
    """One fresh process running PROGRAM; its report, and its stderr (warnings)."""
    environ = {k: v for k, v in os.environ.items() if k != "YOTA_NO_DISK_CACHE"}
    environ.update(YOTA_CACHE_DIR=str(cache_dir), **env)
    done = subprocess.run([sys.executable, "-c", PROGRAM], env=environ, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, f"the program failed:\n{done.stderr}"
    return json.loads(done.stdout.splitlines()[-1]), done.stderr


def entries(cache_dir):
    return sorted((cache_dir / "numba").glob("*.bin"))


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """A cache the first process filled, and that process's report (copied by each test)."""
    cache_dir = tmp_path_factory.mktemp("warm") / "cache"
    report, _ = run(cache_dir)
    return cache_dir, report


@pytest.fixture
def cache_dir(warm, tmp_path):
    """A private copy of the warm cache (permissions kept)."""
    copy = tmp_path / "cache"
    shutil.copytree(warm[0], copy)
    return copy


def test_the_first_process_compiles_and_stores_into_an_owner_only_directory(warm):
    cache_dir, first = warm
    assert first["counts"]["compiled"] >= 1, f"nothing was fused: {first}"
    assert first["counts"]["stored"] == first["counts"]["compiled"], first
    assert "loaded" not in first["counts"], first
    assert len(entries(cache_dir)) == first["counts"]["stored"]
    for path in [cache_dir, cache_dir / "numba"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    for path in entries(cache_dir):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_second_process_compiles_nothing_and_gives_the_same_bits(warm, cache_dir):
    first = warm[1]
    second, _ = run(cache_dir)
    assert second["events"] == [], f"numba compiled {second['events']} in the second process"
    assert second["counts"] == {"loaded": first["counts"]["stored"]}, second
    assert second["bits"] == first["bits"]


@pytest.mark.parametrize("damage", ["corrupt", "truncated"])
def test_a_damaged_entry_is_compiled_again_and_replaced(warm, cache_dir, damage):
    first = warm[1]
    for path in entries(cache_dir):
        raw = path.read_bytes()
        raw = (raw[:-100] + bytes([raw[-100] ^ 0xFF]) + raw[-99:] if damage == "corrupt"
               else raw[:len(raw) // 3])
        path.write_bytes(raw)
    again, err = run(cache_dir)
    assert again["counts"] == first["counts"], again           # compiled and stored again
    assert again["bits"] == first["bits"]
    assert "Traceback" not in err and "Warning" not in err, err
    third, _ = run(cache_dir)                                    # and the new entries load
    assert third["counts"] == {"loaded": first["counts"]["stored"]}, third


@pytest.mark.parametrize("where", ["directory", "entry"])
def test_what_others_can_write_is_not_used_with_a_warning(warm, cache_dir, where):
    first = warm[1]
    paths = [cache_dir / "numba"] if where == "directory" else entries(cache_dir)
    for path in paths:
        os.chmod(path, 0o770 if where == "directory" else 0o660)
    report, err = run(cache_dir)
    assert "loaded" not in report["counts"], report
    assert report["counts"]["compiled"] == first["counts"]["compiled"], report
    assert report["bits"] == first["bits"]
    message = ("the on-disk compile cache is off for numba" if where == "directory"
               else "ignoring the compile cache entry")
    assert message in err and "is writable by group or others" in err, err
    assert err.count("RuntimeWarning") == (1 if where == "directory" else len(paths)), err


def test_an_entry_for_another_cpu_is_not_loaded(warm, cache_dir):
    """numba's CPU name is part of the key: a process compiling for another CPU compiles."""
    report, _ = run(cache_dir, NUMBA_CPU_NAME="generic")
    assert "loaded" not in report["counts"] and report["counts"]["compiled"] >= 1, report
    for got, want in zip(report["bits"], warm[1]["bits"]):
        assert np.allclose(np.frombuffer(bytes.fromhex(got)), np.frombuffer(bytes.fromhex(want)))


def test_yota_no_disk_cache_turns_it_off(tmp_path):
    report, _ = run(tmp_path / "cache", YOTA_NO_DISK_CACHE="1")
    assert report["counts"].get("compiled", 0) >= 1 and "stored" not in report["counts"], report
    assert not (tmp_path / "cache").exists()


def test_two_processes_compiling_at_once_both_succeed_and_leave_a_loadable_entry(tmp_path):
    cache_dir = tmp_path / "cache"
    environ = {k: v for k, v in os.environ.items() if k != "YOTA_NO_DISK_CACHE"}
    environ["YOTA_CACHE_DIR"] = str(cache_dir)
    procs = [subprocess.Popen([sys.executable, "-c", PROGRAM], env=environ, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, f"a concurrent process failed:\n{err}"
        reports.append(json.loads(out.splitlines()[-1]))
    assert reports[0]["bits"] == reports[1]["bits"]
    assert not [f for f in os.listdir(cache_dir / "numba") if not f.endswith(".bin")]
    after, _ = run(cache_dir)
    assert after["events"] == [] and "compiled" not in after["counts"], after
    assert after["bits"] == reports[0]["bits"]


def test_an_entry_that_does_not_fit_under_its_key_is_a_miss(tmp_path,
                                                                            monkeypatch):
    """An entry repeats the CPU description and signature it was built for, and loading checks
    them; an entry that does not unpickle or rebuild is a miss too (planted entries with
    intact checksums, in this process)."""
    from numba.core.registry import cpu_target

    from yota_numba import cache
    from yota_numba.kernels import JIT_OPTIONS
    import numba

    monkeypatch.setenv("YOTA_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("YOTA_NO_DISK_CACHE", raising=False)

    def kernel(a, out):
        for i in range(a.shape[0]):
            out[i] = a[i] * 2.0 + 1.0

    fresh = lambda: numba.njit(**JIT_OPTIONS)(kernel)
    store = cache.KernelCache(cache.kernel_key("test kernel", {}))
    a = np.arange(4.0)
    first = fresh()
    first._cache = store
    out = np.empty(4)
    first(a, out)
    sig = first.signatures[0]
    ctx = cpu_target.target_context
    key = store._entry_key(sig, ctx.codegen())
    magic, stored_sig, payload = pickle.loads(cache.STORE.load(key))
    assert store.load_overload(sig, ctx) is not None

    planted = {
        "another CPU": pickle.dumps((("x86_64-unknown-linux-gnu", "another-cpu", ""),
                                     stored_sig, payload)),
        "another signature": pickle.dumps((magic, "(float32 array,)", payload)),
        "not a pickle": b"\x80\x05 intact checksum, no pickle",
        "not a compile result": pickle.dumps((magic, stored_sig, ("no", "payload"))),
    }
    for what, data in planted.items():
        assert cache.STORE.store(key, data)
        before = cache.counts["rejected"]
        assert store.load_overload(sig, ctx) is None, what
        assert cache.counts["rejected"] == before + 1, what
    second = fresh()                    # a miss compiles, stores, and the entry loads again
    second._cache = store
    second(a, out)
    assert np.array_equal(out, a * 2.0 + 1.0)
    assert store.load_overload(sig, ctx) is not None


def test_the_test_session_compiles_into_a_temporary_cache():
    """The repository's conftest.py points YOTA_CACHE_DIR at a temporary directory: tests never
    read or fill the user's own cache."""
    import tempfile

    from yota.compile import diskcache

    root = os.path.realpath(diskcache.root())
    assert root.startswith(os.path.realpath(tempfile.gettempdir()) + os.sep), root
    assert os.path.basename(root).startswith("yota-test-cache-"), root


def test_a_kernel_calling_a_helper_without_a_source_file_is_not_kept():
    """Its globals could change with its code unchanged (numba freezes them), so no key."""
    from yota_numba import cache, table

    ns = {}
    exec("def scale(x):\n    return x * SCALE\n", ns)
    assert cache.kernel_key("t0 = scale_0(x0)", {"scale_0": ns["scale"]}) is None
    file_backed = cache.kernel_key("t0 = maximum_0(x0, x1)", {"maximum_0": table._maximum})
    assert file_backed is not None
    assert file_backed != cache.kernel_key("t0 = maximum_0(x0, x1)",
                                           {"maximum_0": table._minimum})
