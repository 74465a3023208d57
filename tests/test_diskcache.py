"""The on-disk cache backends share (yota.compile.diskcache), on real files.

It holds code that will be loaded and run, so: the directory is created owner-only; a directory
or entry is used only if it belongs to the user and nobody else can write it; a corrupt or
truncated entry is ignored and rebuilt, never a crash; concurrent processes writing one entry
never corrupt it (temporary file, then an atomic rename).
"""
from __future__ import annotations

import multiprocessing
import os
import stat
import warnings

import pytest

from yota.compile import diskcache
from yota.compile.diskcache import DiskCache

OTHER_USER = 65534   # nobody


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv(diskcache.ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(diskcache, "_warned", set())
    return tmp_path / "cache"


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def entry_file(cache, key):
    return os.path.join(cache.directory, key + ".bin")


def test_the_directory_is_per_user_and_owner_only(root, monkeypatch):
    cache = DiskCache("demo")
    assert cache.directory == str(root / "demo")
    old = os.umask(0)   # even with a permissive umask
    try:
        assert cache.store(cache.key("program"), b"code")
    finally:
        os.umask(old)
    assert mode(root) == 0o700 and mode(root / "demo") == 0o700
    assert mode(entry_file(cache, cache.key("program"))) == 0o600
    monkeypatch.delenv(diskcache.ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(root / "xdg"))
    assert diskcache.root() == str(root / "xdg" / "yota")


def test_an_entry_round_trips_and_a_second_process_does_not_build_again(root):
    cache = DiskCache("demo")
    key = cache.key("def f(x): ...", ("float64", (3,)))
    built = []
    assert cache.get(key, lambda: built.append(1) or {"fn": [1, 2]}) == {"fn": [1, 2]}
    assert DiskCache("demo").get(key, lambda: built.append(1) or "again") == {"fn": [1, 2]}
    assert built == [1]


def test_keys_name_the_program_the_backend_and_the_versions(monkeypatch):
    a = DiskCache("demo")
    assert a.key("p") == a.key("p")
    assert a.key("p") != a.key("q") != DiskCache("other").key("q")
    assert a.key("ab", "c") != a.key("a", "bc")
    before = a.key("p")
    monkeypatch.setattr(diskcache.np, "__version__", "0.0.1")
    assert a.key("p") != before
    with pytest.raises(ValueError, match=r"a cache key is letters, digits"):
        a.load("../escape")


@pytest.mark.parametrize("where", ["root", "directory"])
def test_a_directory_others_can_write_turns_the_cache_off(root, where):
    cache = DiskCache("demo")
    key = cache.key("p")
    cache.store(key, b"code")
    path = root if where == "root" else root / "demo"
    os.chmod(path, 0o777)
    with pytest.warns(RuntimeWarning, match=(
            r"yota: the on-disk compile cache is off for demo: .* is writable by group or "
            r"others \(mode 777\)\. Set YOTA_CACHE_DIR to a directory only you can write to"
    )) as caught:
        assert cache.load(key) is None
        assert cache.store(key, b"other") is False
        assert cache.get(key, lambda: "built") == "built"
    assert len(caught) == 1   # once, not at every use
    os.chmod(path, 0o700)
    assert cache.load(key) == b"code"


def test_a_directory_of_another_user_turns_the_cache_off(root):
    if os.getuid() != 0:
        pytest.skip("changing a file's owner needs root")
    cache = DiskCache("demo")
    key = cache.key("p")
    cache.store(key, b"code")
    os.chown(root / "demo", OTHER_USER, -1)
    with pytest.warns(RuntimeWarning, match=r"belongs to user id 65534, not to this user"):
        assert cache.load(key) is None


def test_an_entry_others_can_write_or_another_user_owns_is_ignored(root):
    cache = DiskCache("demo")
    key = cache.key("p")
    cache.store(key, b"code")
    file = entry_file(cache, key)
    os.chmod(file, 0o622)
    with pytest.warns(RuntimeWarning, match=r"yota: ignoring the compile cache entry .* is "
                                            r"writable by group or others \(mode 622\)"):
        assert cache.load(key) is None
    os.chmod(file, 0o600)
    assert cache.load(key) == b"code"
    if os.getuid() == 0:
        os.chown(file, OTHER_USER, -1)
        with pytest.warns(RuntimeWarning, match=r"belongs to user id 65534"):
            assert cache.load(key) is None


def test_a_symbolic_link_is_not_followed(root, tmp_path):
    cache = DiskCache("demo")
    key = cache.key("p")
    cache.store(key, b"code")
    elsewhere = tmp_path / "planted.bin"
    os.replace(entry_file(cache, key), elsewhere)
    os.symlink(elsewhere, entry_file(cache, key))
    assert cache.load(key) is None
    # a cache directory that is a link is refused too
    link = tmp_path / "link"
    os.symlink(root / "demo", link)
    with pytest.warns(RuntimeWarning, match=r"is not a directory"):
        assert DiskCache("demo", directory=str(link)).load(key) is None


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "empty", "garbage",
                                    "not a pickle"])
def test_a_corrupt_or_truncated_entry_is_ignored_and_rebuilt(root, damage):
    cache = DiskCache("demo")
    key = cache.key("p")
    cache.store_object(key, {"fn": list(range(100))})
    file = entry_file(cache, key)
    raw = open(file, "rb").read()
    if damage == "flip a byte":
        raw = raw[:-5] + bytes([raw[-5] ^ 1]) + raw[-4:]
    elif damage == "truncate":
        raw = raw[:len(raw) // 2]
    elif damage == "empty":
        raw = b""
    elif damage == "garbage":
        raw = os.urandom(300)
    if damage == "not a pickle":   # intact checksum, content that does not load
        cache.store(key, b"\x80\x05this is no pickle")
    else:
        with open(file, "wb") as fh:
            fh.write(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.load_object(key) is None
        assert not os.path.exists(file)
        assert cache.get(key, lambda: "rebuilt") == "rebuilt"
    assert cache.load_object(key) == "rebuilt"


def _writer(directory, key, payload_byte, rounds):
    cache = DiskCache("demo", directory=directory)
    data = bytes([payload_byte]) * 200_000
    for _ in range(rounds):
        assert cache.store(key, data)
        got = cache.load(key)
        assert got is not None and len(got) == len(data) and len(set(got)) == 1
    return True


def test_concurrent_processes_writing_one_entry_do_not_corrupt_it(root):
    cache = DiskCache("demo")
    key = cache.key("shared program")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        results = [pool.apply_async(_writer, (cache.directory, key, b, 40)) for b in range(4)]
        assert all(r.get(timeout=120) for r in results)
    final = cache.load(key)
    assert final is not None and len(final) == 200_000 and len(set(final)) == 1
    assert os.listdir(cache.directory) == [key + ".bin"]   # no temporary file left behind


@pytest.mark.parametrize("value, off", [("1", True), ("yes", True), ("0", False), ("", False)])
def test_yota_no_disk_cache_turns_it_off_without_a_warning(root, monkeypatch, value, off):
    monkeypatch.setenv(diskcache.OFF_ENV, value)
    cache = DiskCache("demo")
    key = cache.key("p")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.store(key, b"code") is not off
        assert cache.load(key) == (None if off else b"code")
    assert os.path.exists(root) is not off   # off: not even the directory is created
