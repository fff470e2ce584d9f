"""Write output files so that readers only ever see a complete file.

A build writes into a temporary file beside the target and renames it over the target; a
rename within one folder is atomic, so an interrupted or failed build leaves the previous
output untouched, and two builds racing into one folder each replace the file whole.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

TEMP_PREFIX = ".flashgen-tmp-"


class OutputError(Exception):
    """An output file could not be written; the previous file at ``path`` is unchanged."""

    def __init__(self, path: Path, error: OSError):
        super().__init__(f"cannot write {path}: {error.strerror or error}")
        self.path = path
        self.reason = error.strerror or str(error)


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target`` atomically."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            raise IsADirectoryError(21, "a folder is in the way", str(target))
        remove_stale_temporaries(target.parent)
        fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=target.parent)
        os.close(fd)
    except OSError as error:
        raise OutputError(target, error) from error
    temporary = Path(name)
    try:
        try:
            yield temporary
            with open(temporary, "rb+") as handle:
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o644 & ~_umask())
            os.replace(temporary, target)
        except OSError as error:
            raise OutputError(target, error) from error
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


def remove_stale_temporaries(folder: Path) -> None:
    """Delete temporary files left by builds that were killed (their process is gone)."""
    try:
        entries = list(folder.glob(f"{TEMP_PREFIX}*"))
    except OSError:
        return
    for entry in entries:
        pid_text = entry.name[len(TEMP_PREFIX) :].split("-", 1)[0]
        if pid_text.isdigit() and _alive(int(pid_text)):
            continue
        with contextlib.suppress(OSError):
            entry.unlink()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
