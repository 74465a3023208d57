"""The on-disk cache compile backends share, so a second process does not compile again.

What it holds is code that will be loaded and run (a backend's pickles), so it trusts only what
the user alone could have written:

- the directory is per user (``$YOTA_CACHE_DIR``, else ``$XDG_CACHE_HOME/yota``, else
  ``~/.cache/yota``), one subdirectory per backend, created with owner-only permissions;
  ``YOTA_NO_DISK_CACHE=1`` turns the cache off (every load misses, nothing is written);
- a directory or entry is used only if it belongs to the user and is not writable by group or
  others (and is not a symbolic link); otherwise the cache is off, with one warning;
- every entry carries its length and a SHA-256 of its content: a corrupt or truncated entry is
  ignored (and rebuilt by the caller), never a crash;
- an entry is written to a temporary file in the same directory and renamed over the old one
  (``os.replace``, atomic), so concurrent processes writing one entry never mix their bytes.

Keys name the program and every version it depends on (``DiskCache.key``).
"""
from __future__ import annotations

import hashlib
import logging
import os
import pickle
import platform
import stat
import struct
import sys
import tempfile
import warnings
from importlib import metadata

import numpy as np

log = logging.getLogger("yota.compile")

ENV = "YOTA_CACHE_DIR"
OFF_ENV = "YOTA_NO_DISK_CACHE"
MAGIC = b"yota-cache-1\n"
_HEADER = struct.Struct("<Q32s")   # payload length, SHA-256 of the payload
_warned = set()


class InsecureCache(Exception):
    """A cache directory or entry that someone other than the user could have written."""


def root():
    """The per-user cache directory (not created here)."""
    configured = os.environ.get(ENV, "").strip()
    if configured:
        return os.path.abspath(os.path.expanduser(configured))
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.join(
        os.path.expanduser("~"), ".cache")
    return os.path.join(base, "yota")


def disabled():
    """Is the cache turned off (``YOTA_NO_DISK_CACHE`` set to anything but "", "0")?"""
    return os.environ.get(OFF_ENV, "").strip() not in ("", "0")


def versions():
    """What a compiled program depends on besides its own text."""
    return (f"yota {_yota_version()}", f"numpy {np.__version__}", f"python {sys.version}",
            platform.machine())


def _yota_version():
    try:
        return metadata.version("yota-ad")
    except metadata.PackageNotFoundError:
        return "unknown"


def secure_directory(path):
    """Create ``path`` (owner-only) if needed and check it: owned by this user, a real
    directory, not writable by group or others. Returns ``path``; raises InsecureCache."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise InsecureCache(f"cannot create {path}: {exc}") from None
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise InsecureCache(f"{path} is not a directory")
    _check_owner(path, st)
    return path


def _check_owner(path, st):
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise InsecureCache(f"{path} belongs to user id {st.st_uid}, not to this user "
                            f"({os.getuid()})")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise InsecureCache(f"{path} is writable by group or others "
                            f"(mode {stat.S_IMODE(st.st_mode):o})")


class DiskCache:
    """Entries of one backend: ``load(key)`` / ``store(key, data)`` for bytes,
    ``load_object`` / ``store_object`` for pickles, ``get(key, build)`` for both at once.
    ``directory`` (None: ``root()/name``) is where they live."""

    def __init__(self, name, directory=None):
        self.name = name
        self._directory = directory

    @property
    def directory(self):
        return self._directory or os.path.join(root(), self.name)

    def key(self, *parts):
        """A file-name-safe key for ``parts`` (the program's text, options...) and versions()."""
        h = hashlib.sha256()
        for part in (self.name,) + versions() + parts:
            data = part if isinstance(part, bytes) else repr(part).encode()
            h.update(struct.pack("<Q", len(data)))
            h.update(data)
        return h.hexdigest()

    def path(self):
        """The checked directory, or None: turned off (``disabled()``), or it cannot be
        trusted (with one warning)."""
        if disabled():
            return None
        directory = self.directory
        try:
            secure_directory(os.path.dirname(directory))
            return secure_directory(directory)
        except InsecureCache as exc:
            self._warn(f"yota: the on-disk compile cache is off for {self.name}: {exc}. Set "
                       f"{ENV} to a directory only you can write to")
            return None

    def load(self, key):
        """The bytes stored under ``key``, or None: missing, untrusted, corrupt or truncated
        (a damaged entry is removed, so the caller's rebuild replaces it)."""
        directory = self.path()
        if directory is None:
            return None
        file = os.path.join(directory, _name(key))
        try:
            fd = os.open(file, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.info("yota: cache entry %s unreadable (%s)", file, exc)
            return None
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            try:
                if not stat.S_ISREG(st.st_mode):
                    raise InsecureCache(f"{file} is not a regular file")
                _check_owner(file, st)
            except InsecureCache as exc:
                self._warn(f"yota: ignoring the compile cache entry {file}: {exc}")
                return None
            raw = fh.read()
        data = _unpack(raw)
        if data is None:
            log.info("yota: cache entry %s is corrupt or truncated; it will be rebuilt", file)
            _remove(file)
        return data

    def store(self, key, data):
        """Write ``data`` under ``key`` atomically; False if the cache is off or the write
        failed (the cache is an optimization: a failure is logged, never raised)."""
        directory = self.path()
        if directory is None:
            return False
        try:
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)   # mode 0600
        except OSError as exc:
            log.info("yota: cannot write to the compile cache %s (%s)", directory, exc)
            return False
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(_pack(data))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, os.path.join(directory, _name(key)))
            return True
        except OSError as exc:
            log.info("yota: cannot write to the compile cache %s (%s)", directory, exc)
            _remove(tmp)
            return False

    def load_object(self, key):
        """The object pickled under ``key``, or None (an entry that does not unpickle is
        treated as corrupt)."""
        data = self.load(key)
        if data is None:
            return None
        try:
            return pickle.loads(data)
        except Exception as exc:
            log.info("yota: cache entry %s does not load (%s); it will be rebuilt",
                     key, exc)
            _remove(os.path.join(self.directory, _name(key)))
            return None

    def store_object(self, key, obj):
        return self.store(key, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))

    def get(self, key, build):
        """The object cached under ``key``, else ``build()``'s result, cached for next time."""
        obj = self.load_object(key)
        if obj is None:
            obj = build()
            self.store_object(key, obj)
        return obj

    def _warn(self, message):
        if message not in _warned:
            _warned.add(message)
            log.warning(message)
            warnings.warn(message, RuntimeWarning, stacklevel=3)


def _name(key):
    if not key or not all(c.isalnum() or c in "-_" for c in key):
        raise ValueError(f"a cache key is letters, digits, '-' and '_' (DiskCache.key), "
                         f"got {key!r}")
    return key + ".bin"


def _pack(data):
    return MAGIC + _HEADER.pack(len(data), hashlib.sha256(data).digest()) + data


def _unpack(raw):
    head = len(MAGIC) + _HEADER.size
    if len(raw) < head or not raw.startswith(MAGIC):
        return None
    length, digest = _HEADER.unpack_from(raw, len(MAGIC))
    data = raw[head:]
    if len(data) != length or hashlib.sha256(data).digest() != digest:
        return None
    return data


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass
