"""Write output files so that readers only ever see a complete file.

A build writes into a temporary file beside the target and renames it over the target; a
rename within one folder is atomic, so an interrupted or failed build leaves the previous
output untouched, and two builds racing into one folder each replace the file whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


#: How :func:`write_sealed` files start; a file without it (or with another) is not ours.
SEAL = b"flashgen-cache\x00"


def write_sealed(path: Path, value: Any, magic: bytes = SEAL) -> None:
    """Write ``value`` (:mod:`marshal` types only) atomically, after ``magic`` and a SHA-256
    of the rest, so that :func:`read_sealed` can tell a whole file from a damaged one."""
    payload = marshal.dumps(value)
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        handle.write(magic + hashlib.sha256(payload).digest())
        handle.write(payload)


def read_sealed(path: Path, magic: bytes = SEAL) -> Any:
    """What :func:`write_sealed` wrote, or ``None`` when missing, truncated or corrupt."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head = len(magic) + 32
    if len(data) < head or not data.startswith(magic):
        return None
    if hashlib.sha256(data[head:]).digest() != data[len(magic) : head]:
        return None
    try:
        return marshal.loads(data[head:])
    except (EOFError, ValueError, TypeError):
        return None


def tie_to_build(parent: int) -> None:
    """A worker process's initializer: tie the worker's life to the build's, so that a killed
    build leaves no worker behind writing or holding its outputs, and let go of the build's
    standard output and error, which its caller may be waiting on."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the build died before the line above
        os._exit(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
