"""`flashgen progress`: read one student's Anki, assess, and say it as a terminal table."""

from __future__ import annotations

import time
from pathlib import Path

from flashgen.diagnostics import CourseError
from flashgen.outputs.cards import StudySet, study_cards
from flashgen.outputs.concept_map import text_width
from flashgen.pipeline.load import load_course
from flashgen.student.progress import MASTERED, STATES, Progress, assess, read_history
from flashgen.student.progress_json import iso_time

STATE_LABELS = {
    "mastered": "mastered",
    "in-progress": "in progress",
    "struggling": "struggling",
    "not-started": "not started",
}


def load_study(course_dir: Path) -> StudySet:
    """The course's cards in learning order; :class:`CourseError` when the course has errors."""
    course, diag = load_course(course_dir)
    if course is None or diag.has_errors:
        raise CourseError(diag)
    return study_cards(course)


def student_progress(
    course_dir: Path,
    collection: str | None,
    anki_connect: str | None,
    now: float | None = None,
    allow_remote: bool = False,
) -> tuple[StudySet, Progress]:
    """Assess the student whose Anki ``--collection`` or ``--anki-connect`` names.

    Raises :class:`CourseError` (the course has errors) or
    :class:`~flashgen.student.transport.AnkiUnavailable` (the collection cannot be read).
    """
    from flashgen.student.connect import open_student_anki

    study = load_study(course_dir)
    anki = open_student_anki(collection, anki_connect, allow_remote=allow_remote)
    try:
        history = read_history(anki, study)
    finally:
        anki.close()
    return study, assess(study, history, time.time() if now is None else now)


def percent(value: float | None) -> str:
    return "-" if value is None else f"{round(value * 100)}%"


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - text_width(text))


def render_table(progress: Progress) -> str:
    """One line per concept in learning order, then each set with its Anki search."""
    headers = ("concept", "state", "cards", "new", "learning", "review", "lapses", "recall")
    rows = [
        (
            c.id,
            STATE_LABELS[c.state],
            str(c.cards),
            str(c.new),
            str(c.learning),
            str(c.review),
            str(c.lapses),
            percent(c.recall),
        )
        for c in progress.concepts
    ]
    widths = [max(text_width(row[i]) for row in (headers, *rows)) for i in range(len(headers))]

    def line(cells: tuple[str, ...]) -> str:
        first = [_pad(cells[0], widths[0]), _pad(cells[1], widths[1])]
        rest = [cell.rjust(width) for cell, width in zip(cells[2:], widths[2:], strict=True)]
        return "  ".join(first + rest).rstrip()

    out = [
        f"{progress.course_title}: where the student stands on {iso_time(progress.as_of)}"
        + (f" ({progress.source})" if progress.source else ""),
        "",
        line(headers),
        *(line(row) for row in rows),
        "",
    ]
    for state in STATES:
        ids = progress.in_state(state)
        out.append(f"{STATE_LABELS[state]} ({len(ids)}): {', '.join(ids) or '-'}")
        if ids:
            out.append(f"  in Anki: {progress.search(ids)}")
    out.append(
        f"ready to learn ({len(progress.ready_to_learn)}): "
        f"{', '.join(progress.ready_to_learn) or '-'}"
    )
    if progress.ready_to_learn:
        out.append(f"  in Anki: {progress.search(progress.ready_to_learn)}")
    if progress.review_first:
        out.append("review first (weak prerequisites of each struggling concept, nearest first):")
        for entry in progress.review_first:
            if entry.weak:
                out.append(f"  {entry.concept}: {', '.join(entry.weak)}")
                out.append(f"    in Anki: {progress.search(entry.weak)}")
            else:
                out.append(f"  {entry.concept}: every prerequisite is mastered; review it")
    study_next = progress.study_next
    if study_next:
        out.append(f"study next: {', '.join(study_next)}")
    elif all(c.state == MASTERED for c in progress.concepts):
        out.append("study next: nothing, every concept is mastered")
    else:
        out.append("study next: nothing new; keep up with the reviews Anki schedules")
    return "\n".join(out) + "\n"
