"""Which course a command works on when none is named: found the way git finds its repository.

From the working folder upwards, the first folder that holds ``course.yaml`` is the course; a
folder whose ``cards/`` holds one (this repository's layout) counts too. So an instructor can
run ``flashgen check`` from anywhere inside the course, and ``flashgen build`` from the root of
a repository keeping its course in ``cards/``, without naming the folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from flashgen.course.reader import COURSE_FILE

#: Where a course is looked for in each folder on the way up, in this order.
COURSE_FOLDERS = (".", "cards")

#: The course used when none is found: missing, it makes the usual "does not exist" error.
DEFAULT_COURSE = Path("cards")


@dataclass(frozen=True)
class FoundCourse:
    """A course found from the working folder."""

    #: The course folder, relative to the working folder (as the instructor would type it).
    course_dir: Path
    #: The folder it was found from: default outputs (``output/``) go here, so that building
    #: from a subfolder of the course does not scatter output folders through it.
    base: Path
    #: False when nothing was found and ``course_dir`` is :data:`DEFAULT_COURSE`.
    found: bool = True


def relative(path: Path, start: Path) -> Path:
    """``path`` relative to ``start`` (``..`` allowed); absolute when on another drive."""
    try:
        return Path(os.path.relpath(path, start))
    except ValueError:
        return path


def find_course(start: Path | None = None) -> FoundCourse:
    """The nearest course at or above ``start`` (default: the working folder)."""
    cwd = Path.cwd()
    here = (start or cwd).resolve()
    for folder in (here, *here.parents):
        for name in COURSE_FOLDERS:
            candidate = folder / name
            if (candidate / COURSE_FILE).is_file():
                return FoundCourse(relative(candidate, cwd), relative(folder, cwd))
    return FoundCourse(DEFAULT_COURSE, Path("."), found=False)
