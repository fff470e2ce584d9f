"""``flashgen build``: the pipeline from course folder to output files, as a list of steps."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from . import apkg
from .atomic import atomic_path
from .cards import StudySet, study_cards
from .checks import load_course
from .diagnostics import CourseError, Diagnostics, Location
from .templates import template_environment

OUTPUT_KINDS = ("apkg", "pdf")


@dataclass
class BuildResult:
    written: list[Path] = field(default_factory=list)
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    study: StudySet | None = None


def build_timestamp(diag: Diagnostics | None = None) -> int:
    """``SOURCE_DATE_EPOCH`` when set (reproducible builds), else the current time.

    Note modification times come from this: Anki updates an already imported note only when
    the package's note is newer, so an unset value must mean "now".
    """
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return int(time.time())
    if not value.isdigit():
        raise CourseError(
            _single_error(f"SOURCE_DATE_EPOCH must be a whole number of seconds, not {value!r}")
        )
    return int(value)


def _single_error(message: str) -> Diagnostics:
    diag = Diagnostics()
    diag.error(Location(Path("SOURCE_DATE_EPOCH")), message)
    return diag


def build(
    course_dir: Path,
    output_dir: Path,
    only: Collection[str] = OUTPUT_KINDS,
    progress: Callable[[str], None] = lambda step: None,
) -> BuildResult:
    """Check the course, then write each requested output atomically.

    Raises :class:`CourseError` (and writes nothing) when the course has errors.
    """
    timestamp = build_timestamp()
    progress("checking")
    course, diag = load_course(course_dir, exclude=(output_dir,))
    if course is None or diag.has_errors:
        raise CourseError(diag)
    result = BuildResult(diagnostics=diag)
    study = result.study = study_cards(course)
    env = template_environment(course_dir)
    if "apkg" in only:
        progress("writing Anki deck")
        package, notes = apkg.build_package(study, env)
        target = output_dir / apkg.apkg_name(course)
        with atomic_path(target) as temporary:
            apkg.write_apkg(package, notes.media, temporary, timestamp)
        result.written.append(target)
    return result
