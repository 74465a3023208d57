"""The whole test session (tests/, plugins/, examples/) compiles into a temporary on-disk
cache, never into the user's own (~/.cache/yota): a stale entry there could hide a bug, and a
test run must not leave compiled code behind. Subprocesses the tests start inherit it
(yota is not imported here: some tests watch what importing it does)."""
import os
import shutil
import tempfile

_session_cache = None


def pytest_configure(config):
    global _session_cache
    _session_cache = tempfile.mkdtemp(prefix="yota-test-cache-")   # mode 0700
    os.environ["YOTA_CACHE_DIR"] = _session_cache   # yota.compile.diskcache.ENV


def pytest_unconfigure(config):
    if _session_cache is not None:
        shutil.rmtree(_session_cache, ignore_errors=True)
