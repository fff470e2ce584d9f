"""What `flashgen progress` does once its command line is parsed: one student, or a class."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from flashgen.atomic import OutputError, atomic_path
from flashgen.diagnostics import CourseError, Diagnostics
from flashgen.student.transport import AnkiUnavailable

#: Exit statuses (as the other commands use them).
EXIT_OK, EXIT_FAILED, EXIT_WRITE_FAILED = 0, 1, 3

Echo = Callable[..., None]


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` whole or not at all (:class:`OutputError` says why not)."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def run_student(
    course_dir: Path,
    collection: str | None,
    anki_connect: str | None,
    output_format: str,
    html_file: Path | None,
    output_file: Path | None,
    echo: Echo,
    allow_remote: bool = False,
) -> int:
    from flashgen.student.progress_json import progress_document
    from flashgen.student.progress_report import render_table, student_progress

    try:
        study, progress = student_progress(
            course_dir, collection, anki_connect, allow_remote=allow_remote
        )
    except CourseError as error:
        echo(error.diagnostics.render_text(), err=True)
        echo(f"{course_dir}: {error.diagnostics.summary()}; run `flashgen check`", err=True)
        return EXIT_FAILED
    except AnkiUnavailable as error:
        echo(f"error: {error}", err=True)
        return EXIT_FAILED
    if not any(concept.cards for concept in progress.concepts):
        echo(
            f"warning: {progress.source or 'the collection'} holds no card of course "
            f"'{progress.course_id}': import its deck (flashgen build) or run flashgen sync first",
            err=True,
        )
    if output_format == "json":
        text = json.dumps(progress_document(progress), indent=2, ensure_ascii=False) + "\n"
    else:
        text = render_table(progress)
    try:
        if html_file is not None:
            from flashgen.student.progress_html import progress_page

            write_atomically(html_file, progress_page(study, progress))
            echo(f"wrote {html_file}", err=True)
        if output_file is not None:
            write_atomically(output_file, text)
            echo(f"wrote {output_file}", err=True)
        else:
            echo(text, nl=False)
    except OutputError as error:
        echo(f"error: {error}", err=True)
        return EXIT_WRITE_FAILED
    return EXIT_OK


def run_class(
    course_dir: Path | None,
    files: Sequence[Path],
    output_format: str,
    output_file: Path | None,
    echo: Echo,
) -> int:
    from flashgen.student.class_view import (
        class_document,
        merge,
        read_documents,
        render_class_table,
    )

    diag = Diagnostics()
    course_id = None
    if course_dir is not None:
        from flashgen.student.progress_report import load_study

        try:
            course_id = load_study(course_dir).course.id
        except CourseError as error:
            echo(error.diagnostics.render_text(), err=True)
            echo(f"{course_dir}: {error.diagnostics.summary()}; run `flashgen check`", err=True)
            return EXIT_FAILED
    documents = read_documents(files, diag)
    view = merge(documents, diag, course_id) if not diag.has_errors else None
    if view is None or diag.has_errors:
        echo(diag.render_text(), err=True)
        echo(f"{diag.summary()}; no class view", err=True)
        return EXIT_FAILED
    if output_format == "json":
        text = json.dumps(class_document(view), indent=2, ensure_ascii=False) + "\n"
    else:
        text = render_class_table(view)
    if output_file is None:
        echo(text, nl=False)
        return EXIT_OK
    try:
        write_atomically(output_file, text)
    except OutputError as error:
        echo(f"error: {error}", err=True)
        return EXIT_WRITE_FAILED
    echo(f"wrote {output_file}", err=True)
    return EXIT_OK
