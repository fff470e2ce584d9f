"""Finding a student's collection file: a path, a profile folder, or a profile name.

Anki keeps one folder per profile under its base folder, each with a ``collection.anki2``:

* Linux: ``$XDG_DATA_HOME/Anki2`` (default ``~/.local/share/Anki2``);
* macOS: ``~/Library/Application Support/Anki2``;
* Windows: ``%APPDATA%\\Anki2``;
* anywhere: ``$ANKI_BASE`` when set (Anki's own override, like its ``-b`` option).

``prefs21.db`` in the base folder lists the profiles (table ``profiles``, one row each, plus
the ``_global`` row whose pickled settings name the last profile opened). The pickles are read
with an unpickler that builds no objects of any class, so a damaged or hostile file can only
fail to name a profile.
"""

from __future__ import annotations

import io
import os
import pickle
import sqlite3
import sys
from collections.abc import Mapping
from pathlib import Path

COLLECTION_FILE = "collection.anki2"
PREFS_FILE = "prefs21.db"
GLOBAL_ROW = "_global"


class ProfileError(Exception):
    """No collection could be found; the message says what was looked at."""


def anki_base(
    platform: str | None = None,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> Path:
    """Anki's base folder on this (or the given) platform."""
    platform = sys.platform if platform is None else platform
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    if env.get("ANKI_BASE"):
        return Path(env["ANKI_BASE"])
    if platform.startswith("win"):
        appdata = env.get("APPDATA")
        return (Path(appdata) if appdata else home / "AppData" / "Roaming") / "Anki2"
    if platform == "darwin":
        return home / "Library" / "Application Support" / "Anki2"
    data = env.get("XDG_DATA_HOME")
    return (Path(data) if data else home / ".local" / "share") / "Anki2"


class _NoObjects(pickle.Unpickler):
    """Reads plain values (dicts, lists, strings, numbers); anything else becomes ``None``."""

    def find_class(self, module: str, name: str) -> object:
        return _Nothing


class _Nothing:
    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __setstate__(self, state: object) -> None:
        pass


def _unpickle(data: bytes) -> object:
    try:
        return _NoObjects(io.BytesIO(data)).load()
    except Exception:  # a damaged row names no profile
        return None


def profile_names(base: Path) -> tuple[list[str], str | None]:
    """The profiles listed in ``prefs21.db`` and the one opened last (``None``: not known)."""
    prefs = base / PREFS_FILE
    if not prefs.is_file():
        return [], None
    try:
        with sqlite3.connect(f"file:{prefs}?mode=ro", uri=True, timeout=1) as db:
            rows = db.execute("select name, data from profiles").fetchall()
    except sqlite3.Error:
        return [], None
    names, last = [], None
    for name, data in rows:
        if name == GLOBAL_ROW:
            meta = _unpickle(data)
            if isinstance(meta, dict) and isinstance(meta.get("last_loaded_profile_name"), str):
                last = meta["last_loaded_profile_name"]
        else:
            names.append(str(name))
    return sorted(names), last


def default_profile(base: Path) -> str:
    """The profile Anki would open: the last one opened, else the only one, else ``User 1``."""
    names, last = profile_names(base)
    if not names and base.is_dir():
        names = sorted(p.name for p in base.iterdir() if (p / COLLECTION_FILE).is_file())
    if last in names:
        return last
    if len(names) == 1:
        return names[0]
    if not names:
        raise ProfileError(f"no Anki profile found in {base}; give the collection file's path")
    raise ProfileError(
        f"{base} has several Anki profiles ({', '.join(names)}) and does not say which was "
        "used last; name one: --collection 'PROFILE'"
    )


def find_collection(name: str | None, base: Path | None = None) -> Path:
    """The collection file meant by ``--collection``: a file, a profile folder, a profile
    name, or (``None`` or ``""``) the default profile."""
    if name:
        given = Path(name).expanduser()
        if given.is_file():
            return given
        if (given / COLLECTION_FILE).is_file():
            return given / COLLECTION_FILE
        if given.suffix == ".anki2" or len(given.parts) > 1:
            raise ProfileError(f"{name}: no such collection file")
    base = anki_base() if base is None else base
    profile = name or default_profile(base)
    path = base / profile / COLLECTION_FILE
    if not path.is_file():
        names, _ = profile_names(base)
        known = f" (profiles: {', '.join(names)})" if names else ""
        raise ProfileError(f"no Anki profile {profile!r} with a collection in {base}{known}")
    return path
