"""``flashgen build``: the pipeline from course folder to output files, as a list of steps."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

from flashgen.atomic import atomic_path
from flashgen.course.checks import load_course
from flashgen.course.coursefiles import CourseFileError
from flashgen.diagnostics import CourseError, Diagnostics, Location
from flashgen.outputs.cards import StudySet, study_cards
from flashgen.outputs.folder import check_output_folder, record_written, written_before
from flashgen.pipeline.cache import CACHE_DIR
from flashgen.render.templates import template_environment, template_error

if TYPE_CHECKING:  # the ledger needs genanki's note types: imported where a deck is built
    from flashgen.outputs.package import AnkiPackage
    from flashgen.outputs.publication import Changes, Publication

OUTPUT_KINDS = ("apkg", "pdf")


@dataclass
class BuildResult:
    written: list[Path] = field(default_factory=list)
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    #: Those of ``written`` that were already up to date and left untouched (see
    #: :mod:`flashgen.pipeline.cache`).
    unchanged: list[Path] = field(default_factory=list)
    study: StudySet | None = None
    #: What a student's re-import of the deck does (``None``: no deck built or it was up to
    #: date).
    changes: Changes | None = None
    #: The publication ledger written (``None``: not written, it already said this).
    ledger: Path | None = None


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
    paper: str = "a4",
    card_size: str = "eighth",
    rename_decks: bool = False,
    update_ledger: bool = True,
) -> BuildResult:
    """Check the course, then write each requested output atomically.

    The deck follows the course's publication ledger (:mod:`flashgen.ledger`), which is
    updated, atomically, once the deck is written (``update_ledger=False``: read only, as the
    preview does). Raises :class:`CourseError` (and writes nothing) when the course or the
    ledger has errors, :class:`~flashgen.outputs.folder.OutputFolderRefused` for a folder flashgen
    may not write into.
    """
    check_output_folder(output_dir, course_dir)
    try:
        result = _build(
            course_dir, output_dir, only, progress, paper, card_size, rename_decks, update_ledger
        )
    except CourseFileError as error:  # a course file changed into a bad one during the build
        diag = Diagnostics()
        diag.error(Location(error.path), error.message)
        raise CourseError(diag) from None
    written = [path.name for path in result.written]
    if (output_dir / CACHE_DIR).is_dir():
        written.append(CACHE_DIR)
    record_written(output_dir, written)
    return result


def _build(
    course_dir: Path,
    output_dir: Path,
    only: Collection[str],
    progress: Callable[[str], None],
    paper: str,
    card_size: str,
    rename_decks: bool,
    update_ledger: bool,
) -> BuildResult:
    timestamp = build_timestamp()
    progress("checking")
    if set(only) == {"apkg"}:
        return _deck_only(course_dir, output_dir, timestamp, progress, rename_decks, update_ledger)
    # Imported here: typesetting and genanki cost a noticeable share of a no-op rebuild.
    from flashgen.outputs import apkg, pdf
    from flashgen.outputs.ledger import write_ledger
    from flashgen.outputs.publication import prepare

    course, diag = load_course(course_dir, exclude=(output_dir,))
    if course is None or diag.has_errors:
        raise CourseError(diag)
    result = BuildResult(diagnostics=diag)
    study = result.study = study_cards(course)
    env = template_environment(course_dir)
    # PDFs are typeset (in memory) before anything is written, so that a template error
    # still leaves every output untouched.
    pdfs = None
    if "pdf" in only:
        progress("typesetting PDFs")
        pdfs = pdf.render_pdfs(study, course_dir, timestamp, paper=paper, card_size=card_size)
        diag.extend(pdfs.diagnostics)
    if "apkg" in only:
        progress("writing Anki deck")
        try:
            package, notes = apkg.build_package(study, env)
        except jinja2.TemplateError as error:
            raise CourseError(template_error(error)) from None
        prepared = prepare(package, course, course_dir, timestamp, rename_decks, update_ledger)
        diag.extend(prepared.publication.diagnostics)
        result.changes = prepared.publication.changes
        target = output_dir / apkg.apkg_name(course)
        with atomic_path(target) as temporary:
            apkg.write_apkg(package, notes.media, temporary, timestamp)
        result.written.append(target)
        if update_ledger and write_ledger(prepared.path, prepared.publication.ledger):
            result.ledger = prepared.path
    if pdfs is not None:
        names = []
        try:
            for key in pdfs.names():
                target = output_dir / pdf.pdf_name(course, key)
                with atomic_path(target) as temporary:
                    pdfs.write(key, temporary)
                result.written.append(target)
                names.append(target.name)
        finally:
            pdfs.close()
        # A course that grew past the split limit (or shrank below it) must not leave its
        # PDFs of the other naming behind.
        # Only files flashgen wrote: a user's <id>-guide-annotated.pdf has the same shape.
        ours = written_before(output_dir)
        for stale in pdf.stale_pdfs(output_dir, course, ("cards", "guide"), names):
            if stale.name in ours:
                stale.unlink(missing_ok=True)
    return result


def _deck_only(
    course_dir: Path,
    output_dir: Path,
    timestamp: int,
    progress: Callable[[str], None],
    rename_decks: bool,
    update_ledger: bool,
) -> BuildResult:
    """The deck alone, through the build cache: per-file work is cached and parallel, and an
    up-to-date deck is left untouched (see :mod:`flashgen.pipeline.cache`)."""
    from flashgen.pipeline.cache import build_deck

    reproducible = bool(os.environ.get("SOURCE_DATE_EPOCH", "").strip())
    try:
        deck = build_deck(
            course_dir, output_dir, timestamp, reproducible, progress, rename_decks, update_ledger
        )
    except jinja2.TemplateError as error:
        raise CourseError(template_error(error)) from None
    if deck.course is None or deck.diagnostics.has_errors or deck.target is None:
        raise CourseError(deck.diagnostics)
    result = _DeckResult(course_dir, output_dir, diagnostics=deck.diagnostics)
    result.changes, result.ledger = deck.changes, deck.ledger
    result.written.append(deck.target)
    if deck.unchanged:
        result.unchanged.append(deck.target)
    return result


class _DeckResult(BuildResult):
    """A deck-only result: its study set is read from the course only if someone asks."""

    def __init__(self, course_dir: Path, output_dir: Path, **values: object):
        self._source = (course_dir, output_dir)
        self._study: StudySet | None = None
        super().__init__(**values)  # type: ignore[arg-type]

    @property  # type: ignore[override]
    def study(self) -> StudySet | None:
        if self._study is None:
            course_dir, output_dir = self._source
            course, _ = load_course(course_dir, exclude=(output_dir,))
            self._study = None if course is None else study_cards(course)
        return self._study

    @study.setter
    def study(self, value: StudySet | None) -> None:
        self._study = value


@dataclass
class PublishedPackage:
    """The deck the next build publishes, in memory: the ledger applied, nothing written."""

    study: StudySet
    package: AnkiPackage
    publication: Publication
    media: dict[str, Path]
    diagnostics: Diagnostics


def published_package(course_dir: Path, rename_decks: bool = False) -> PublishedPackage:
    """The course's package as the next ``flashgen build`` writes it, with the publication
    ledger applied (read only). ``flashgen diff`` and ``flashgen sync`` start from this."""
    from flashgen.outputs import apkg
    from flashgen.outputs.publication import prepare

    timestamp = build_timestamp()
    course, diag = load_course(course_dir)
    if course is None or diag.has_errors:
        raise CourseError(diag)
    study = study_cards(course)
    try:
        package, html = apkg.build_package(study, template_environment(course_dir))
    except jinja2.TemplateError as error:
        raise CourseError(template_error(error)) from None
    prepared = prepare(package, course, course_dir, timestamp, rename_decks, announce=False)
    diag.extend(prepared.publication.diagnostics)
    return PublishedPackage(study, package, prepared.publication, html.media, diag)


def plan(course_dir: Path, rename_decks: bool = False) -> tuple[Changes, Diagnostics]:
    """``flashgen diff``: what importing the next build does to a student who has the last
    published deck, from the course and its ledger; nothing is written."""
    published = published_package(course_dir, rename_decks)
    return published.publication.changes, published.diagnostics
