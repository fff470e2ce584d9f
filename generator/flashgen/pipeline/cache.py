"""The pipeline's one memo: every stage's results, keyed by their content, kept between runs.

Each stage asks :meth:`Memo.memo` for a result by *kind* (``"concept"``: a concept file read,
validated and checked on its own; ``"notes"``: a concept's rendered note fields; ``"output"``:
what an output file was last written from; and any kind an output module adds for its parts)
and a key made of the bytes the result depends on. A key names everything that shapes the
result, so a hit is always right and nothing is ever invalidated by hand.

On disk (:func:`cache_root`, under ``courses/<digest of the course folder>/``) each kind is one
file: a magic string, a SHA-256 of the rest, and a :mod:`marshal` table from key digest to the
:mod:`pickle` of the value (unpickled only when asked for). The table's context holds the cache
format and the versions of flashgen, Python and every library that shapes a result, and the
course id: a file that is missing, truncated, corrupt, from another version or another course
is ignored and rewritten, never trusted. Files are replaced atomically; a run that used a kind
keeps only the entries it used (so the cache never outgrows the course), and a run that only
hit leaves the file untouched. Failing to write the cache costs speed only.

The counters (:attr:`Memo.hits`, :attr:`Memo.misses`) are what ``--verbose`` prints.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flashgen import __version__
from flashgen.atomic import OutputError, read_sealed, write_sealed

#: Bump whenever a stored value's shape or meaning changes.
FORMAT = 5
MAGIC = b"flashgen-memo\x00"
#: Kinds whose entries are kept even when a run did not use them (each names an output file).
KEPT_KINDS = frozenset({"output"})
#: A table's value for an entry whose bytes were let go once unpickled: the file still holds
#: them (a large course's entries would otherwise be in memory twice, as bytes and as values).
ON_DISK = b""
#: Kinds of large values asked for about once a run: their bytes are let go once unpickled.
RELEASED_KINDS = frozenset({"concept", "notes"})
#: Libraries whose versions shape what is cached.
LIBRARIES = ("pyyaml", "markdown-it-py", "mdit-py-plugins", "nh3", "genanki", "jinja2", "typst")

T = TypeVar("T")


def cache_root() -> Path:
    """``$FLASHGEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/flashgen``, else ``~/.cache/flashgen``.

    Outside the course and its outputs, so that ``check`` and ``diff`` (which write nothing)
    share it with ``build`` and ``preview``.
    """
    configured = os.environ.get("FLASHGEN_CACHE_DIR", "").strip()
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "flashgen"


def versions() -> tuple[str, ...]:
    """Versions of everything that shapes a cached result, from the installed packages'
    metadata folder names (``genanki-0.13.1.dist-info``): one folder listing per entry of
    ``sys.path``, where :mod:`importlib.metadata` would take a tenth of a no-op build."""
    wanted = {_normal(name): name for name in LIBRARIES}
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            stem, dot, suffix = name.rpartition(".")
            if not dot or suffix not in ("dist-info", "egg-info"):
                continue
            project, _, version = stem.partition("-")
            key = _normal(project)
            if key in wanted and key not in found:
                found[key] = version
    listed = (f"{wanted[key]}={found.get(key, '?')}" for key in sorted(wanted))
    return (f"flashgen={__version__}", _code_stamp(), f"python={sys.version_info[:2]}", *listed)


def _code_stamp() -> str:
    """flashgen's own modules by name, size and time: an edited checkout (same version
    number, other code) must not reuse what the old code computed."""
    package = Path(__file__).resolve().parent.parent
    stamp = hashlib.sha256()
    for here, dirs, files in os.walk(package):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                info = os.stat(os.path.join(here, name))
                stamp.update(f"{here}/{name}:{info.st_size}:{info.st_mtime_ns}\n".encode())
    return f"code={stamp.hexdigest()[:16]}"


def _normal(project: str) -> str:
    return project.lower().replace("-", "_").replace(".", "_")


def digest(*parts: bytes | str) -> bytes:
    """A key from its parts (each length-prefixed, so that no two lists of parts collide)."""
    hasher = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        hasher.update(len(data).to_bytes(8, "little"))
        hasher.update(data)
    return hasher.digest()


class Memo:
    """Results by kind and key, read from and saved to one folder (``None``: memory only)."""

    def __init__(self, folder: Path | None, context: tuple[str, ...]):
        self.folder = folder
        self.context = context
        self.hits: Counter[str] = Counter()
        self.misses: Counter[str] = Counter()
        self._stored: dict[str, dict[bytes, bytes]] = {}
        self._used: dict[str, set[bytes]] = {}
        #: Keys stored by this run: asking for them again is not a reuse.
        self._fresh: set[tuple[str, bytes]] = set()
        self._changed: set[str] = set()

    @classmethod
    def for_course(cls, course_dir: Path, course_id: str, root: Path | None = None) -> Memo:
        """The memo of the course in ``course_dir`` (its folder named by the resolved path)."""
        name = hashlib.sha256(str(course_dir.resolve()).encode()).hexdigest()[:16]
        folder = (root or cache_root()) / "courses" / name
        return cls(folder, (f"format={FORMAT}", *versions(), f"course={course_id}"))

    # --- asking ---

    def get(self, kind: str, key: bytes) -> tuple[bool, Any]:
        """``(True, value)`` for a stored result, else ``(False, None)``; counted."""
        table = self._table(kind)
        data = table.get(key)
        if data is ON_DISK:
            data = self._restore(kind).get(key)
        if data is not None:
            try:
                value = pickle.loads(data)
            except Exception:  # a value pickled by other code: as if missing
                del table[key]
                self._changed.add(kind)
            else:
                if (kind, key) not in self._fresh:
                    self.hits[kind] += 1
                    if self.folder is not None and kind in RELEASED_KINDS:
                        table[key] = ON_DISK  # read again only if the file is rewritten
                self._used[kind].add(key)
                return True, value
        self.misses[kind] += 1
        return False, None

    def put(self, kind: str, key: bytes, value: Any) -> None:
        self.put_pickled(kind, key, pickle.dumps(value, pickle.HIGHEST_PROTOCOL))

    def put_pickled(self, kind: str, key: bytes, data: bytes) -> None:
        """Store a value already pickled (by a worker process)."""
        table = self._table(kind)
        if table.get(key) is ON_DISK:
            table = self._restore(kind)
        if table.get(key) != data:
            table[key] = data
            self._changed.add(kind)
        self._used[kind].add(key)
        self._fresh.add((kind, key))

    def memo(self, kind: str, key: bytes, compute: Callable[[], T]) -> T:
        """The stored result for ``key``, else ``compute()``'s, stored."""
        found, value = self.get(kind, key)
        if found:
            return value  # type: ignore[no-any-return]
        value = compute()
        self.put(kind, key, value)
        return value

    def forget(self, kind: str, key: bytes) -> None:
        if self._table(kind).pop(key, None) is not None:
            self._changed.add(kind)
        self._used[kind].discard(key)

    def summary(self) -> str:
        """``cache: concept 499 hit, 1 computed; notes ...`` (for ``--verbose``)."""
        kinds = sorted(set(self.hits) | set(self.misses))
        if not kinds:
            return "cache: not used"
        return "cache: " + "; ".join(
            f"{kind} {self.hits[kind]} reused, {self.misses[kind]} computed" for kind in kinds
        )

    # --- the files ---

    def _table(self, kind: str) -> dict[bytes, bytes]:
        table = self._stored.get(kind)
        if table is None:
            table = self._stored[kind] = self._read(kind)
            self._used[kind] = set()
        return table

    def _read(self, kind: str) -> dict[bytes, bytes]:
        if self.folder is None:
            return {}
        stored = read_sealed(self.folder / kind, MAGIC)
        if not (isinstance(stored, tuple) and len(stored) == 2 and stored[0] == self.context):
            return {}
        entries = stored[1]
        return entries if isinstance(entries, dict) else {}

    def _restore(self, kind: str) -> dict[bytes, bytes]:
        """The table of ``kind`` with every entry let go read again from its file (an entry
        the file no longer holds is dropped)."""
        table = self._stored[kind]
        on_disk = self._read(kind)
        for key in [key for key, data in table.items() if data is ON_DISK]:
            data = on_disk.get(key)
            if data is None:
                del table[key]
                self._used[kind].discard(key)
                self._changed.add(kind)
            else:
                table[key] = data
        return table

    def save(self) -> None:
        """Write every kind that changed or holds entries this run did not use."""
        if self.folder is None:
            return
        for kind, table in self._stored.items():
            used = self._used[kind]
            if kind not in KEPT_KINDS and len(used) != len(table):
                for key in [key for key in table if key not in used]:
                    del table[key]
                self._changed.add(kind)
            if kind not in self._changed:
                continue
            if ON_DISK in table.values():
                table = self._restore(kind)
            with contextlib.suppress(OSError, OutputError):
                write_sealed(self.folder / kind, (self.context, table), MAGIC)
        self._changed.clear()
