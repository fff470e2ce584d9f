"""The pipeline every command runs: discover → load → model → checks/graph → render → outputs.

``check`` stops after the checks, ``diff`` after rendering the deck, ``build`` writes the deck
and the PDFs, ``preview`` builds a deck to show; ``sync`` and ``progress`` ask
:func:`published_package` for the notes a build would publish. Every stage's results come from
one memo (:mod:`flashgen.pipeline.cache`), so a command after another reuses what did not
change, and an output whose inputs did not change and whose file is intact is left untouched.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from flashgen.course.coursefiles import CourseFileError
from flashgen.diagnostics import CourseError, Diagnostics, Location
from flashgen.outputs.folder import check_output_folder, record_written
from flashgen.pipeline.cache import Memo
from flashgen.pipeline.load import Loaded, load
from flashgen.pipeline.template_checks import check_templates
from flashgen.pipeline.write import (
    BuildResult,
    InputKey,
    remove_old_cache,
    write_deck,
    write_pdfs,
)

if TYPE_CHECKING:
    from flashgen.outputs.cards import StudySet
    from flashgen.outputs.package import AnkiPackage
    from flashgen.outputs.publication import Changes, Publication

OUTPUT_KINDS = ("apkg", "pdf")


def build_timestamp() -> int:
    """``SOURCE_DATE_EPOCH`` when set (reproducible builds), else the current time.

    Note modification times come from this: Anki updates an already imported note only when
    the package's note is newer, so an unset value must mean "now".
    """
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return int(time.time())
    if not value.isdigit():
        diag = Diagnostics()
        message = f"SOURCE_DATE_EPOCH must be a whole number of seconds, not {value!r}"
        diag.error(Location(Path("SOURCE_DATE_EPOCH")), message)
        raise CourseError(diag)
    return int(value)


def reproducible() -> bool:
    return bool(os.environ.get("SOURCE_DATE_EPOCH", "").strip())


def check(course_dir: Path, memo: Memo | None = None) -> Loaded:
    """``flashgen check``: the course through the checks, the course's own templates, the
    formulas the PDFs would print as LaTeX source, and cloze numbers against the ledger."""
    from flashgen.outputs.publication import check_cloze_numbers
    from flashgen.render.formulas import check_course_formulas, concept_formulas

    loaded = load(course_dir, memo=memo)
    course, diag = loaded.course, loaded.diagnostics
    if course is not None:
        diag.extend(check_templates(course_dir, course if not diag.has_errors else None))
        uses = [use for concept in course.concepts for use in concept_formulas(concept)]
        check_course_formulas(uses, diag)
        if not diag.has_errors:
            check_cloze_numbers(course_dir, course, diag)
    loaded.memo.save()
    return loaded


def build(
    course_dir: Path,
    output_dir: Path,
    only: Collection[str] = OUTPUT_KINDS,
    progress: Callable[[str], None] = lambda step: None,
    paper: str = "a4",
    card_size: str = "eighth",
    rename_decks: bool = False,
    update_ledger: bool = True,
    memo: Memo | None = None,
) -> BuildResult:
    """Check the course, then write each requested output atomically (those whose inputs
    changed or whose files are not the ones written).

    The deck follows the course's publication ledger (:mod:`flashgen.outputs.ledger`), which
    is updated, atomically, once the deck is written (``update_ledger=False``: read only, as
    the preview does; nothing is then remembered about the outputs). Raises
    :class:`CourseError` (and writes nothing) when the course or the ledger has errors,
    :class:`~flashgen.outputs.folder.OutputFolderRefused` for a folder flashgen may not write
    into.
    """
    check_output_folder(output_dir, course_dir)
    timestamp = build_timestamp()
    try:
        progress("checking")
        loaded = load(course_dir, exclude=(output_dir,), memo=memo, render=True)
        course = loaded.course
        if course is None or loaded.diagnostics.has_errors:
            loaded.memo.save()
            raise CourseError(loaded.diagnostics)
        from flashgen.pipeline.notes import render  # genanki: once the course is good

        rendered = render(loaded)
        key = InputKey.of(loaded, rendered, timestamp if reproducible() else None)
        result = BuildResult(diagnostics=loaded.diagnostics, memo=loaded.memo, rendered=rendered)
        # PDFs are typeset (in memory) before anything is written, so that a template error
        # still leaves every output untouched.
        pdfs = None
        if "pdf" in only:
            pdfs = write_pdfs(
                loaded, rendered, key, output_dir, timestamp, paper, card_size, progress
            )
        if "apkg" in only:
            write_deck(
                loaded, rendered, key, output_dir, timestamp, rename_decks, update_ledger,
                result, progress,
            )  # fmt: skip
        if pdfs is not None:
            pdfs.write(result, remember=update_ledger)
    except CourseFileError as error:  # a course file changed into a bad one during the build
        diag = Diagnostics()
        diag.error(Location(error.path), error.message)
        raise CourseError(diag) from None
    loaded.memo.save()
    remove_old_cache(output_dir)
    record_written(output_dir, [path.name for path in result.written])
    return result


@dataclass
class PublishedPackage:
    """The deck the next build publishes, in memory: the ledger applied, nothing written."""

    study: StudySet
    package: AnkiPackage
    publication: Publication
    media: dict[str, Path]
    diagnostics: Diagnostics
    #: The memo it was made through (its counters say what was reused).
    memo: Memo | None = None


def published_package(
    course_dir: Path, rename_decks: bool = False, memo: Memo | None = None
) -> PublishedPackage:
    """The course's package as the next ``flashgen build`` writes it, with the publication
    ledger applied (read only): ``flashgen diff`` and ``flashgen sync`` start from this.
    Raises :class:`CourseError` when the course or its ledger has errors."""
    from flashgen.outputs.publication import prepare

    timestamp = build_timestamp()
    loaded = load(course_dir, memo=memo, render=True)
    course = loaded.course
    if course is None or loaded.diagnostics.has_errors:
        loaded.memo.save()
        raise CourseError(loaded.diagnostics)
    from flashgen.pipeline.notes import render

    rendered = render(loaded)
    package = rendered.package(course_dir)
    prepared = prepare(package, course, course_dir, timestamp, rename_decks, announce=False)
    loaded.diagnostics.extend(prepared.publication.diagnostics)
    loaded.memo.save()
    return PublishedPackage(
        rendered.study,
        package,
        prepared.publication,
        rendered.media,
        loaded.diagnostics,
        loaded.memo,
    )


def plan(course_dir: Path, rename_decks: bool = False) -> tuple[Changes, Diagnostics]:
    """``flashgen diff``: what importing the next build does to a student who has the last
    published deck, from the course and its ledger; nothing is written."""
    published = published_package(course_dir, rename_decks)
    return published.publication.changes, published.diagnostics
