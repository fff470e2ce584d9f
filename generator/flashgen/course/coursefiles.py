"""One rule for every file flashgen reads from a course, and one for every file it writes.

A course may come from a stranger (a pull request, a shared folder), so what flashgen reads
from it must be the course's own material and nothing else:

* a **regular file**: never a FIFO (opening one blocks forever), a device or a socket; the type
  is checked with ``stat`` before the file is opened, and the file is opened non-blocking;
* **inside the course folder**: a symbolic link may point to another file of the course, never
  out of it (a link to ``~/.ssh/id_rsa`` named ``style.css`` would ship the key in every card);
* **under a size limit**, checked before reading (a sparse 2.5 GB file is refused unread).

What flashgen writes goes through :func:`check_write_target`: never through a symbolic link
and never outside the folder it is meant for (the output folder, the course's ``.flashgen/``).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

KIB = 1024
MIB = 1024 * KIB

#: Limits per kind of file (YAML files have theirs in :data:`~.loader.MAX_FILE_BYTES`).
MAX_TEMPLATE_BYTES = 1 * MIB
MAX_MEDIA_BYTES = 10 * MIB


class CourseFileError(Exception):
    """A course file that breaks the rule; ``message`` says which part, for a diagnostic."""

    def __init__(self, path: Path, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def size_text(size: int) -> str:
    if size >= MIB:
        return f"{size / MIB:.1f} MiB"
    if size >= KIB:
        return f"{size / KIB:.0f} KiB"
    return f"{size} bytes"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def type_and_size_problem(mode: int, size: int, limit: int, what: str) -> str | None:
    if not stat.S_ISREG(mode):
        return f"{what} is {_kind(mode)}: flashgen reads only regular files"
    if size > limit:
        return (
            f"{what} is too large ({size_text(size)}; the limit for {what}s is {size_text(limit)})"
        )
    return None


def outside_problem(path: Path, root: Path) -> str | None:
    """Why ``path`` does not lie inside the course folder ``root`` (following links), or None."""
    try:
        target = path.resolve(strict=True)
    except FileNotFoundError:
        if path.is_symlink():
            return "broken symbolic link: cannot read the file"
        return "file not found"
    except (OSError, RuntimeError):  # a loop of links (RuntimeError before 3.13)
        return "symbolic link loop: cannot read the file"
    if target.is_relative_to(root.resolve()):
        return None
    return (
        f"symbolic link points outside the course folder (to {target}); "
        "copy the file into the course instead"
    )


def course_file_problem(path: Path, root: Path, limit: int, what: str) -> str | None:
    """Why ``path`` may not be read as course material (``what``: "template", ...), or None.

    Opens nothing: a FIFO is recognised by its type, not by trying to read it.
    """
    problem = outside_problem(path, root)
    if problem:
        return problem
    try:
        info = os.stat(path)
    except OSError as error:
        return f"cannot read file: {error.strerror or error}"
    return type_and_size_problem(info.st_mode, info.st_size, limit, what)


def read_regular_file(path: Path, limit: int, what: str) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes.

    The type is checked before opening, and again on the open file (it may have been swapped
    in between); the open is non-blocking, so a FIFO put there meanwhile cannot hang the build.
    Does not check where ``path`` leads: see :func:`read_course_file`.
    Raises :class:`CourseFileError`.
    """
    try:
        info = os.stat(path)
        problem = type_and_size_problem(info.st_mode, info.st_size, limit, what)
        if problem:
            raise CourseFileError(path, problem)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(fd)
            problem = type_and_size_problem(info.st_mode, info.st_size, limit, what)
            if problem:
                raise CourseFileError(path, problem)
            data = handle.read(limit + 1)
    except OSError as error:
        raise CourseFileError(path, f"cannot read file: {error.strerror or error}") from None
    if len(data) > limit:
        raise CourseFileError(path, f"{what} is too large (the limit is {size_text(limit)})")
    return data


def read_course_file(path: Path, root: Path, limit: int, what: str) -> bytes:
    """:func:`read_regular_file` for a file that must also lie inside the course ``root``."""
    problem = outside_problem(path, root)
    if problem:
        raise CourseFileError(path, problem)
    return read_regular_file(path, limit, what)


# --- writing ---------------------------------------------------------------------------------


def write_problem(target: Path, folder: Path) -> str | None:
    """Why flashgen must not write ``target``, meant to lie in ``folder``, or None.

    ``target`` must be inside ``folder`` (no ``..``), no part of the way from ``folder`` down
    may be a symbolic link, and ``target`` itself must not be one (writing through it would
    overwrite whatever it points to).
    """
    folder_abs = Path(os.path.abspath(folder))
    target_abs = Path(os.path.abspath(target))
    if not target_abs.is_relative_to(folder_abs) or target_abs == folder_abs:
        return f"{target} is not inside {folder}"
    here, shown = folder_abs, folder
    for part in target_abs.relative_to(folder_abs).parts:
        here, shown = here / part, shown / part
        if here.is_symlink():
            return (
                f"{shown} is a symbolic link; flashgen does not write through links "
                "(remove it, and flashgen writes a regular file)"
            )
        if here != target_abs and here.exists() and not here.is_dir():
            return f"{shown} is not a folder"
    if target_abs.exists() and not target_abs.is_file():
        return f"{target} exists and is not a regular file"
    return None


class WriteRefused(OSError):
    """A file flashgen was asked to write would be written through a link or out of place."""

    def __init__(self, target: Path, message: str):
        super().__init__(1, message, str(target))
        self.message = message

    def __str__(self) -> str:
        return self.message


def check_write_target(target: Path, folder: Path) -> None:
    """Raise :class:`WriteRefused` when :func:`write_problem` finds one."""
    problem = write_problem(target, folder)
    if problem:
        raise WriteRefused(target, problem)


# --- media -----------------------------------------------------------------------------------

#: The image types a course may pack, told by content (never by the file name), with the
#: file name suffixes each may carry; a file whose suffix does not fit gets the first one.
IMAGE_TYPES: dict[str, tuple[str, ...]] = {
    "PNG": (".png",),
    "JPEG": (".jpg", ".jpeg"),
    "GIF": (".gif",),
    "WebP": (".webp",),
    "SVG": (".svg",),
}

_SVG_START = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<svg[\s>]", re.S
)
#: What an SVG may not hold: it is shown in an <img> (no scripts run there) in Anki, but the
#: preview serves media from its own origin, where an SVG opened directly is a web page.
_SVG_UNSAFE = re.compile(
    r"<\s*(?:[\w.-]+:)?(?:script|foreignobject|iframe|embed|object|handler|listener)\b"
    r"|<!\s*(?:doctype|entity)"
    r"|\bon[a-z]+\s*="
    r"|(?:xlink:)?href\s*=\s*[\"']?\s*(?!#)[^\s\"'>]"
    r"|url\s*\(\s*[\"']?\s*(?!#)[^\s\"')]"
    r"|@import"
    r"|javascript:",
    re.I,
)


def image_type(data: bytes) -> str | None:
    """The image type of ``data`` by its first bytes (magic numbers), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    if _SVG_START.match(data[:4096]):
        return "SVG"
    return None


def media_problem(data: bytes) -> str | None:
    """Why ``data`` may not be packed as an image, or None."""
    kind = image_type(data)
    if kind is None:
        return "is not a PNG, JPEG, GIF, WebP or SVG image (told by its content, not its name)"
    if kind == "SVG":
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return "is an SVG image that is not valid UTF-8"
        unsafe = _SVG_UNSAFE.search(text)
        if unsafe:
            return (
                f"is an SVG image holding '{unsafe.group(0).strip()}': SVG images may not hold "
                "scripts, event handlers, foreign objects, entities or links to other files"
            )
    return None


def read_media(path: Path) -> tuple[bytes, str]:
    """The bytes of an image file and the file name suffix it is packed under.

    Raises :class:`CourseFileError` for anything but a regular file of at most
    :data:`MAX_MEDIA_BYTES` holding an image of :data:`IMAGE_TYPES`.
    """
    data = read_regular_file(path, MAX_MEDIA_BYTES, "image")
    problem = media_problem(data)
    if problem:
        raise CourseFileError(path, f"image {problem}")
    suffixes = IMAGE_TYPES[image_type(data) or ""]
    suffix = path.suffix.lower()
    return data, suffix if suffix in suffixes else suffixes[0]
