"""Content-addressed caches: one key function, one cache folder, one lock.

A cache key is the hash of everything that determines a result — sources (file parts are
hashed by content, not by name or time), tool versions, options — so a changed input is a
new entry and an unchanged one is found again by any process. Two stores sit on it:

- :func:`build_once`: a folder per key (Verilator builds, compiled runtime objects), built
  in a temporary folder and renamed into place, so an interrupted build leaves nothing;
- :class:`ResultStore`: a JSON file of named records, each carrying the key it was computed
  for (synthesis results of a benchmark sweep), merged under a lock on every write.

Everything lives under :func:`cache_dir`: ``$HWGEN_CACHE``, else ``.hwgen-cache/`` in the
repository root. This module uses only the standard library and :mod:`hwgen.errors`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence, Union

from hwgen.errors import HwgenError

#: What a key is made of: text, raw bytes, or a file (hashed by its content).
HashPart = Union[str, bytes, Path]
#: Writes a cache entry into the (temporary) folder it is given.
BuildFunction = Callable[[Path], None]

ENV_VAR = "HWGEN_CACHE"


class CacheError(HwgenError):
    """A cache entry could not be made (the build did not produce what it promised)."""


def cache_dir() -> Path:
    """$HWGEN_CACHE, else .hwgen-cache/ next to the hwgen package (the repository root); created if missing."""
    env = os.environ.get(ENV_VAR)
    path = Path(env) if env else Path(__file__).resolve().parents[1] / ".hwgen-cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


def content_hash(parts: Sequence[HashPart]) -> str:
    """A 20-hex-digit key of strings, bytes and file contents, in order.

    Each part is length-prefixed, so ``["ab", "c"]`` and ``["a", "bc"]`` differ; a str and
    the bytes of its UTF-8 encoding (or a file holding them) give the same key.
    """
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            data = part.read_bytes()
        elif isinstance(part, str):
            data = part.encode()
        elif isinstance(part, (bytes, bytearray)):
            data = bytes(part)
        else:
            raise TypeError(f"a cache key part is str, bytes or Path, not {type(part).__name__}")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()[:20]


_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) against other processes and threads."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _THREAD_LOCKS_GUARD:  # flock is per open file: threads of one process also need a lock
        thread_lock = _THREAD_LOCKS.setdefault(str(path.resolve()), threading.Lock())
    with thread_lock, open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_once(kind: str, key: str, product: str, build: BuildFunction,
               error: type[HwgenError] = CacheError) -> Path:
    """Return cache_dir()/kind/key/, running ``build(tmp_dir)`` first if ``product`` is missing there.

    ``build`` writes into a fresh temporary folder which is renamed into place when it
    succeeds, so an interrupted build never leaves a half-written entry; a file lock makes
    concurrent workers wait for one build instead of doing it twice. A build that finishes
    without ``product`` raises ``error``.
    """
    root = cache_dir() / kind
    final = root / key
    if (final / product).exists():
        return final
    with locked(root / f"{key}.lock"):
        if (final / product).exists():
            return final
        tmp = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=root))
        try:
            build(tmp)
            if not (tmp / product).exists():
                raise error(f"build of {kind} finished without producing {product}")
            if final.exists():
                shutil.rmtree(final)
            tmp.rename(final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return final


class ResultStore:
    """Named JSON records in one file, each stored with the key of the inputs it was computed from.

    :meth:`get` returns a record only while its key still matches; :meth:`put` merges into
    what is on disk under a lock (so runs one after another, or side by side, keep every
    record) and replaces the file atomically.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock_path = self.path.with_name(self.path.name + ".lock")

    def records(self) -> dict[str, dict]:
        """Every record on disk, by name (empty when the file does not exist yet)."""
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text())
        except json.JSONDecodeError as err:
            raise CacheError(f"{self.path}: not a results file ({err}); delete it to start afresh") from None
        return data if isinstance(data, dict) else {}

    def get(self, name: str, key: Optional[str] = None) -> Optional[dict]:
        """The record ``name``; with ``key``, only if it was stored for that key."""
        record = self.records().get(name)
        if record is None or (key is not None and record.get("hash") != key):
            return None
        return record

    def put(self, name: str, record: dict, key: Optional[str] = None) -> dict:
        """Store ``record`` as ``name`` (with ``"hash": key`` when given); returns what was stored."""
        record = {**record, "hash": key} if key is not None else dict(record)
        with locked(self._lock_path):
            data = self.records()
            data[name] = record
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
            tmp.replace(self.path)
        return record
