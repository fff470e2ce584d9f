"""The ``flashgen`` group and what its commands share: options, course lookup, exit codes."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from flashgen import __version__
from flashgen.course.discovery import find_course
from flashgen.course.reader import COURSE_FILE
from flashgen.diagnostics import Diagnostics

COURSE_DIR = click.argument(
    "course_dir",
    required=False,
    type=click.Path(path_type=Path, file_okay=True, dir_okay=True),
)

VERBOSE = click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Also say what was reused from the cache and what was computed (on standard error).",
)

OUTPUT_FORMAT = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for editors and CI tools.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 80})
@click.version_option(__version__, "-V", "--version", prog_name="flashgen")
def main() -> None:
    """Turn a course kept as YAML files into an Anki deck and printable flashcards.

    A course is a folder holding course.yaml (id, title, chapters) and one YAML file per
    concept, each naming the concepts to learn before it, with questions about it. Every
    command takes the course folder as its argument; without it, the course is the nearest
    folder at or above the working folder that holds course.yaml (or a cards/ folder that
    does), as git finds its repository.

    \b
    The loop:
      flashgen init my-course     start a new course (passes check, builds)
      cd my-course                commands find the course from inside it
      flashgen new concept kv-cache --chapter ch1 --after spaced-repetition
      flashgen check              every problem, located: path:line:col
      flashgen preview --serve    every card as Anki shows it, live in a browser
      flashgen build              output/<id>.apkg, -cards.pdf, -guide.pdf
      flashgen diff               what the next import does to students
    \b
    Format: docs/format.md. Each command's options: flashgen COMMAND --help.
    """


def course_for(course_dir: Path | None, quiet: bool = False) -> tuple[Path, Path]:
    """The course named on the command line, else the nearest one found upwards from here
    (announced on standard error); and the folder that default outputs go into."""
    if course_dir is not None:
        return course_dir, Path(".")
    found = find_course()
    if not found.found:
        click.echo(
            f"error: no course here: no {COURSE_FILE} in {Path.cwd()} or a folder above it "
            f"(nor in a cards/ folder); name the course folder, or start one with "
            f"`flashgen init DIR`",
            err=True,
        )
        sys.exit(1)
    if not quiet:
        click.echo(f"using course {found.course_dir}", err=True)
    return found.course_dir, found.base


def report(diag: Diagnostics) -> None:
    """Print diagnostics to standard error (used by commands that write files)."""
    if len(diag):
        click.echo(diag.render_text(), err=True)


#: The PDF options, spelled out here so that the command line does not import the typesetter
#: (tests/outputs/test_pdf.py checks them against flashgen.outputs.pdf).
PAPER_CHOICES = ["a4", "letter"]
CARD_SIZE_CHOICES = {
    "eighth": "8 a page (2 x 4), about A7",
    "index": "5 x 3 in index cards, 3 a page",
    "business": "85 x 55 mm business cards, 10 a page on A4",
}

#: Exit status when an output file cannot be written (permissions, full disk, ...).
EXIT_WRITE_FAILED = 3
#: Exit status when ``-o`` names a folder flashgen may not write into (like a bad option).
EXIT_BAD_OUTPUT_FOLDER = 2

#: Exit status when the preview extra (anki, watchfiles) is not installed.
EXIT_MISSING_EXTRA = 4
