"""The ``flashgen`` command: a thin layer that parses options, calls a stage, reports."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__
from .build import OUTPUT_KINDS
from .build import build as run_build
from .checks import load_course
from .diagnostics import CourseError, Diagnostics, plural

COURSE_DIR = click.argument(
    "course_dir",
    default="cards",
    type=click.Path(path_type=Path, file_okay=True, dir_okay=True),
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="flashgen")
def main() -> None:
    """Turn a course kept as YAML files into an Anki deck and printable flashcards.

    A course is a folder holding course.yaml (id, title, chapters) and one YAML file per
    concept, each naming the concepts to learn before it. Start with `flashgen check` to see
    whether the course is sound.

    \b
    Examples:
      flashgen check                 check the course in ./cards
      flashgen check path/to/course  check another course
    """


@main.command()
@COURSE_DIR
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for editors and CI tools.",
)
def check(course_dir: Path, output_format: str) -> None:
    """Check the course in COURSE_DIR (default: cards) and report every problem.

    Each problem is printed as `path:line:column: error|warning: message`. Errors are
    things that must be fixed before building (YAML syntax, unknown or missing keys, wrong
    types, duplicate ids, prerequisites that do not exist, prerequisite cycles, ambiguous
    multiple-choice answers, cloze texts without a deletion); warnings are worth a look.

    Exit status: 0 when there are no errors (warnings allowed), 1 when there are errors.
    """
    course, diag = load_course(course_dir)
    if output_format == "json":
        click.echo(diag.render_json())
    else:
        if len(diag):
            click.echo(diag.render_text())
        if course is not None and not diag.has_errors:
            concepts = plural(len(course.concepts), "concept")
            questions = plural(course.question_count, "question")
            click.echo(f"{course_dir}: {concepts}, {questions}; {diag.summary()}")
        else:
            click.echo(f"{course_dir}: {diag.summary()}")
    sys.exit(1 if diag.has_errors else 0)


def report(diag: Diagnostics) -> None:
    """Print diagnostics to standard error (used by commands that write files)."""
    if len(diag):
        click.echo(diag.render_text(), err=True)


#: Exit status when an output file cannot be written (permissions, full disk, ...).
EXIT_WRITE_FAILED = 3


@main.command()
@COURSE_DIR
@click.option(
    "-o",
    "--output",
    "output_dir",
    default="output",
    show_default=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder to write into (created if missing).",
)
@click.option(
    "--only",
    type=click.Choice(OUTPUT_KINDS),
    help="Build only the Anki deck (apkg) or only the PDFs (pdf).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only problems.")
def build(course_dir: Path, output_dir: Path, only: str | None, quiet: bool) -> None:
    """Check the course in COURSE_DIR (default: cards) and build it into OUTPUT.

    \b
    Writes:
      OUTPUT/<course-id>.apkg   the Anki deck: import it with File > Import
    \b
    Rebuild and re-import after every edit: notes are matched by their ids, so edited
    notes update in place, new ones are added, and every review is kept. Set
    SOURCE_DATE_EPOCH for byte-identical output.

    The course is checked first; with any error nothing is written.

    \b
    Exit status: 0 built, 1 the course has errors, 2 bad command line,
    3 an output file could not be written.
    """
    kinds = (only,) if only else OUTPUT_KINDS
    try:
        result = run_build(course_dir, output_dir, kinds)
    except CourseError as error:
        report(error.diagnostics)
        click.echo(f"{course_dir}: {error.diagnostics.summary()}; nothing written", err=True)
        sys.exit(1)
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        click.echo(f"error: cannot write{where}: {error.strerror or error}", err=True)
        sys.exit(EXIT_WRITE_FAILED)
    report(result.diagnostics)
    if not quiet:
        for path in result.written:
            click.echo(f"wrote {path}")
