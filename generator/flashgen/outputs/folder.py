"""Output folders: flashgen deletes or replaces only what it wrote there.

Each output folder holds a marker, :data:`MARKER`, listing the files and folders flashgen
wrote into it. A build replaces those and deletes those it no longer writes (a course's PDFs of
another naming); anything else in the folder, such as ``<id>-guide-annotated.pdf``, is the
user's and stays. A folder that is not empty and has no marker is someone else's: flashgen
refuses it rather than mix its files in. The course folder, a folder around it or inside it
(but for its ``output/``, which is never read as course material), the working directory, the
home folder and ``/`` are refused outright.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from flashgen.atomic import _alive, atomic_path
from flashgen.course.coursefiles import check_write_target

MARKER = ".flashgen-output"
#: What the folders of earlier flashgen versions (before the marker) could hold, so that an
#: ``output/`` built by one is not refused: decks, PDFs, the build cache, temporaries.
_EARLIER_OUTPUTS = ("*.apkg", "*-cards.pdf", "*-guide.pdf", "*-cards-*.pdf", "*-guide-*.pdf")
_EARLIER_HIDDEN = (".cache", ".flashgen-*")
#: What a preview site holds (``flashgen preview -o``).
SITE_ENTRIES = ("index.html", "preview.css", "preview.js", "concepts", "media", "mathjax")


#: The one folder inside a course that may hold outputs (the default when flashgen runs from
#: inside the course): the reader never reads it as course material.
COURSE_OUTPUT = "output"


def _plain_folder(path: Path) -> bool:
    return not path.is_symlink() and (path.is_dir() or not os.path.lexists(path))


class OutputFolderRefused(Exception):
    """flashgen will not write into this folder; the message says why and what to do."""


def _where(path: Path) -> Path:
    return Path(os.path.abspath(path)).resolve()


def placement_problem(output_dir: Path, course_dir: Path | None) -> str | None:
    """Why ``output_dir`` may not be written at all, whatever it holds."""
    out = _where(output_dir)
    if out == Path(out.anchor):
        return f"{output_dir} is the root folder"
    if course_dir is not None:
        course = _where(course_dir)
        if out == course:
            return f"{output_dir} is the course folder"
        if course.is_relative_to(out):
            return f"{output_dir} holds the course folder {course_dir}"
        own = course / COURSE_OUTPUT
        if out.is_relative_to(course) and not (out.is_relative_to(own) and _plain_folder(own)):
            return (
                f"{output_dir} is inside the course folder {course_dir}; write the outputs "
                f"outside the course, or into its {COURSE_OUTPUT}/ folder"
            )
    for name, folder in (("working directory", Path.cwd()), ("home folder", Path.home())):
        with contextlib.suppress(OSError, RuntimeError):
            folder = _where(folder)
            if out == folder:
                return f"{output_dir} is the {name}"
            if folder.is_relative_to(out):
                return f"{output_dir} holds the {name}"
    return None


def _looks_like_earlier_output(entry: Path) -> bool:
    if entry.is_dir() and not entry.is_symlink():
        return entry.name in (*_EARLIER_HIDDEN, *SITE_ENTRIES) or (entry / MARKER).is_file()
    patterns = (*_EARLIER_OUTPUTS, *_EARLIER_HIDDEN, *SITE_ENTRIES)
    return any(fnmatch.fnmatchcase(entry.name, pattern) for pattern in patterns)


def check_output_folder(output_dir: Path, course_dir: Path | None) -> None:
    """Raise :class:`OutputFolderRefused` unless flashgen may write into ``output_dir``."""
    problem = placement_problem(output_dir, course_dir)
    if problem:
        raise OutputFolderRefused(f"refusing to write into {problem}")
    if output_dir.is_symlink() or (output_dir.exists() and not output_dir.is_dir()):
        raise OutputFolderRefused(f"{output_dir} is not a folder")
    if not output_dir.is_dir() or (output_dir / MARKER).is_file():
        return
    foreign = sorted(e.name for e in output_dir.iterdir() if not _looks_like_earlier_output(e))
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise OutputFolderRefused(
            f"{output_dir} is not empty ({shown}) and was not written by flashgen (it has no "
            f"{MARKER} file); give a new or empty folder with -o"
        )


def written_before(output_dir: Path) -> set[str]:
    """The names the marker of ``output_dir`` lists (empty when there is none)."""
    try:
        data = json.loads((output_dir / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    names = data.get("written") if isinstance(data, dict) else None
    if not isinstance(names, list):
        return set()
    return {n for n in names if isinstance(n, str) and n and "/" not in n and n not in (".", "..")}


def record_written(output_dir: Path, names: Iterable[str], keep_earlier: bool = True) -> None:
    """Add ``names`` (entries of ``output_dir``) to its marker."""
    listed = set(names) | (written_before(output_dir) if keep_earlier else set())
    listed = {name for name in listed if os.path.lexists(output_dir / name)}
    text = json.dumps({"written": sorted(listed)}, indent=1) + "\n"
    check_write_target(output_dir / MARKER, output_dir)
    with contextlib.suppress(OSError):
        if (output_dir / MARKER).read_text(encoding="utf-8") == text:
            return
    with atomic_path(output_dir / MARKER) as temporary:
        temporary.write_text(text, encoding="utf-8")


# --- the preview site: a folder replaced whole, except the user's own entries ----------------


def staging_prefix(site_dir: Path, kind: str) -> str:
    return f".{site_dir.name}-{kind}-"


def remove_stale_staging(site_dir: Path) -> None:
    """Delete the staging folders that previews killed mid-way left beside ``site_dir``
    (named ``.<site>-new-<pid>-…`` and ``.<site>-old-<pid>-…``; their process is gone)."""
    parent = site_dir.parent
    for kind in ("new", "old"):
        prefix = staging_prefix(site_dir, kind)
        with contextlib.suppress(OSError):
            for entry in parent.iterdir():
                if not entry.name.startswith(prefix) or entry.is_symlink() or not entry.is_dir():
                    continue
                pid = entry.name[len(prefix) :].split("-", 1)[0]
                if pid.isdigit() and not _alive(int(pid)):
                    shutil.rmtree(entry, ignore_errors=True)


def carry_over_foreign(old_site: Path, new_site: Path) -> None:
    """Move the entries of ``old_site`` that flashgen did not write into ``new_site``."""
    ours = written_before(old_site) | {MARKER}
    for entry in old_site.iterdir():
        if entry.name not in ours and not os.path.lexists(new_site / entry.name):
            entry.rename(new_site / entry.name)
