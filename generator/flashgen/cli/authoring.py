"""The instructor's commands: check, build, diff, preview, init, new, schema, stats."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from flashgen.atomic import OutputError
from flashgen.cli.main import (
    CARD_SIZE_CHOICES,
    COURSE_DIR,
    EXIT_BAD_OUTPUT_FOLDER,
    EXIT_MISSING_EXTRA,
    EXIT_WRITE_FAILED,
    OUTPUT_FORMAT,
    PAPER_CHOICES,
    VERBOSE,
    course_for,
    main,
    report,
)
from flashgen.course.schema import QUESTION_TYPES
from flashgen.diagnostics import CourseError, display_path, plural
from flashgen.outputs.folder import OutputFolderRefused, check_output_folder
from flashgen.pipeline.build import OUTPUT_KINDS
from flashgen.pipeline.build import build as run_build
from flashgen.terminal import StepBar
from flashgen.terminal import wanted as progress_wanted


@main.command()
@COURSE_DIR
@OUTPUT_FORMAT
@click.option(
    "--strict",
    is_flag=True,
    help="Fail (exit status 1) on warnings too, for CI; see docs/quality.md to silence one.",
)
@VERBOSE
def check(course_dir: Path | None, output_format: str, strict: bool, verbose: bool) -> None:
    """Check the course in COURSE_DIR and report every problem.

    Each problem is printed as `path:line:column: error|warning: message`. Errors are
    things that must be fixed before building (YAML syntax, unknown or missing keys, wrong
    types, duplicate ids, prerequisites that do not exist, prerequisite cycles, ambiguous
    multiple-choice answers, cloze texts without a deletion); warnings are worth a look.

    Question-quality rules (docs/quality.md) warn about item-writing flaws that let students
    answer without knowing: the correct option is the longest, word clues, "all of the
    above", ... Each ends with its rule name in brackets; silence one for a question with
    `allow: [rule-name]`, or set it per course in course.yaml under `quality:`.

    Exit status: 0 when there are no errors (warnings allowed), 1 when there are errors
    (with --strict: errors or warnings).
    """
    from flashgen.pipeline.build import check as run_check

    course_dir, _ = course_for(course_dir)
    loaded = run_check(course_dir)
    course, diag = loaded.course, loaded.diagnostics
    if verbose:
        click.echo(loaded.memo.summary(), err=True)
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
    failed = diag.has_errors or (strict and bool(diag.warnings))
    sys.exit(1 if failed else 0)


@main.command()
@COURSE_DIR
@click.option(
    "-o",
    "--output",
    "output_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder to write into (default: output; inside a course, beside course.yaml).",
)
@click.option(
    "--only",
    type=click.Choice(OUTPUT_KINDS),
    help="Build only the Anki deck (apkg) or only the PDFs (pdf).",
)
@click.option(
    "--paper",
    type=click.Choice(PAPER_CHOICES),
    default="a4",
    show_default=True,
    help="Paper size of the PDFs.",
)
@click.option(
    "--card-size",
    type=click.Choice(list(CARD_SIZE_CHOICES)),
    default="eighth",
    show_default=True,
    help="Size of the printed cards: "
    + "; ".join(f"{name}: {text}" for name, text in CARD_SIZE_CHOICES.items())
    + ".",
)
@click.option(
    "--rename-decks",
    is_flag=True,
    help="Give decks the course's current (corrected) titles. Students who imported before "
    "keep their cards in the old deck and get new cards in the new one.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only problems.")
@VERBOSE
def build(
    course_dir: Path | None,
    output_dir: Path | None,
    only: str | None,
    paper: str,
    card_size: str,
    rename_decks: bool,
    quiet: bool,
    verbose: bool,
) -> None:
    """Check the course in COURSE_DIR and build it into OUTPUT.

    \b
    Writes:
      OUTPUT/<course-id>.apkg       the Anki deck: import it with File > Import
      OUTPUT/<course-id>-cards.pdf  flashcards to print double-sided (flip on
                                    long edge) and cut out
      OUTPUT/<course-id>-guide.pdf  study guide: reviewing with a Leitner box,
                                    concept map, concepts in order with their
                                    questions, answer key
      (over 20,000 cards: -cards-<chapter-id>.pdf and -guide-<chapter-id>.pdf
      for each chapter instead; see docs/pdf.md)

    Rebuild and re-import after every edit: notes are matched by their ids, so edited
    notes update in place, new ones are added, and every review is kept. The build keeps
    COURSE_DIR/flashgen.ledger (commit it): what students already have, so that unchanged
    notes stay untouched, removed ones are marked retired and deck names stay put
    (`flashgen diff` shows what the next import does). Set SOURCE_DATE_EPOCH for
    byte-identical output.

    The course is checked first; with any error nothing is written. An output whose inputs
    did not change since flashgen wrote it is left untouched ("up to date"). What each
    concept file gave is kept in flashgen's cache folder ($FLASHGEN_CACHE_DIR, else
    ~/.cache/flashgen) and reused by every command.

    OUTPUT must be new, empty or written by flashgen before (it keeps a .flashgen-output
    file listing what it wrote; only those files are ever replaced or deleted), and outside
    the course folder (but for the course's own output/ folder).

    \b
    Exit status: 0 built, 1 the course has errors, 2 bad command line
    (or an OUTPUT folder flashgen may not write into), 3 an output file
    could not be written.
    """
    course_dir, base = course_for(course_dir, quiet)
    output_dir = output_dir or base / "output"
    kinds = (only,) if only else OUTPUT_KINDS
    try:
        with StepBar(1 + len(kinds), enabled=progress_wanted(quiet)) as progress:
            result = run_build(
                course_dir,
                output_dir,
                kinds,
                progress,
                paper=paper,
                card_size=card_size,
                rename_decks=rename_decks,
            )
    except CourseError as error:
        report(error.diagnostics)
        click.echo(f"{course_dir}: {error.diagnostics.summary()}; nothing written", err=True)
        sys.exit(1)
    except OutputFolderRefused as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_BAD_OUTPUT_FOLDER)
    except OutputError as error:
        click.echo(f"error: {error} (the previous file, if any, is unchanged)", err=True)
        sys.exit(EXIT_WRITE_FAILED)
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        click.echo(f"error: cannot write{where}: {error.strerror or error}", err=True)
        sys.exit(EXIT_WRITE_FAILED)
    report(result.diagnostics)
    if verbose and result.memo is not None:
        click.echo(result.memo.summary(), err=True)
    if not quiet:
        for path in result.written:
            if path in result.unchanged:
                click.echo(f"{path} is up to date (nothing changed)")
            else:
                click.echo(f"wrote {path}")
        for note in result.notes:
            click.echo(note)
        if result.ledger is not None:
            click.echo(f"wrote {result.ledger} (commit it with the course)")
        if result.changes is not None:
            click.echo(result.changes.summary())


@main.command()
@COURSE_DIR
@OUTPUT_FORMAT
@click.option("--rename-decks", is_flag=True, help="As `build --rename-decks` would.")
def diff(course_dir: Path | None, output_format: str, rename_decks: bool) -> None:
    """What importing the next build of COURSE_DIR does to a student who has
    the last published deck: notes new, updated (and which fields), unchanged and retired,
    decks renamed, note types changed. Compares the course with its publication ledger
    (COURSE_DIR/flashgen.ledger, kept by `flashgen build`); writes nothing.

    Exit status: 0, or 1 when the course or its ledger has errors.
    """
    import json

    from flashgen.pipeline.build import plan

    course_dir, _ = course_for(course_dir)
    try:
        changes, diag = plan(course_dir, rename_decks)
    except CourseError as error:
        report(error.diagnostics)
        click.echo(f"{course_dir}: {error.diagnostics.summary()}", err=True)
        sys.exit(1)
    report(diag)
    if output_format == "json":
        click.echo(json.dumps(changes.as_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(changes.render_text())


@main.command()
@COURSE_DIR
@click.option(
    "-o",
    "--output",
    "site_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder of the preview site (default: output/preview beside the build output); "
    "flashgen's own files in it are replaced, others kept.",
)
@click.option("--serve", is_flag=True, help="Serve the preview and rebuild it on every change.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port for --serve on 127.0.0.1; 0 picks a free one (printed).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only problems.")
def preview(
    course_dir: Path | None, site_dir: Path | None, serve: bool, port: int, quiet: bool
) -> None:
    """Show every card of COURSE_DIR as Anki renders it, in a web page.

    Builds the deck, imports it into a throw-away Anki collection with the official `anki`
    package (in the flashgen folder: pip install '.[preview]'), and writes a static site:
    OUTPUT/index.html (chapters, concepts in learning order, the concept map) and one page per
    concept with each card's front and back. Click a choice on a quiz front, then "Show answer".

    With --serve, the site is served on http://127.0.0.1:PORT/ and rebuilt whenever a YAML
    file, image or template changes; open pages reload by themselves. A course with errors
    keeps the last good preview up and shows the errors in the page and here. Ctrl+C stops.

    OUTPUT must be new, empty or a preview flashgen wrote, outside the course folder (but
    for its output/ folder); files of your own in it are kept.

    \b
    Exit status: 0 written, 1 the course has errors, 2 bad command line
    (a busy --port, or an OUTPUT folder flashgen may not write into),
    3 the site could not be written, 4 the preview extra is not installed.
    """
    from flashgen.outputs.preview import (
        PortInUse,
        PreviewServer,
        PreviewUnavailable,
        build_preview,
        serve_forever,
    )

    course_dir, base = course_for(course_dir, quiet)
    site_dir = site_dir or base / "output" / "preview"
    try:
        check_output_folder(site_dir, course_dir)
        if serve:
            server = PreviewServer(
                course_dir, site_dir, port=port, log=lambda line: click.echo(line, err=True)
            )
            click.echo(f"serving {server.url}  (site in {site_dir}; Ctrl+C stops)", err=True)
            serve_forever(server)
            return
        with StepBar(4, enabled=progress_wanted(quiet), label="preview") as progress:
            result = build_preview(course_dir, site_dir, progress)
    except PortInUse as error:
        raise click.BadParameter(str(error), param_hint="'--port'") from None
    except PreviewUnavailable as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_MISSING_EXTRA)
    except OutputFolderRefused as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_BAD_OUTPUT_FOLDER)
    except CourseError as error:
        report(error.diagnostics)
        click.echo(f"{course_dir}: {error.diagnostics.summary()}; no preview written", err=True)
        sys.exit(1)
    except OSError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_WRITE_FAILED)
    report(result.diagnostics)
    if not quiet:
        pages = plural(result.pages - 1, "concept page")
        click.echo(f"wrote {site_dir / 'index.html'} ({pages}, {plural(result.cards, 'card')})")


@main.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--id", "course_id", help="Course id (default: from the folder name).")
@click.option("--title", help="Course title (default: from the folder name).")
def init(directory: Path, course_id: str | None, title: str | None) -> None:
    """Create a new course in DIRECTORY (which must be new or empty).

    Writes course.yaml with one chapter, an example concept with one question of each type,
    a README for the course, and the JSON Schema files that editors use to complete keys and
    flag typos (.flashgen/). The new course passes `flashgen check` and builds.
    """
    from flashgen.course.scaffold import ScaffoldError, init_course

    try:
        written = init_course(directory, course_id=course_id, title=title)
    except ScaffoldError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(
        f"\nNext:\n  cd {shlex.quote(str(directory))}\n"
        "  flashgen preview --serve\n"
        "  flashgen new concept my-concept --chapter ch1 --after spaced-repetition"
    )


@main.group()
def new() -> None:
    """Add something to a course: `flashgen new concept ID --chapter CH`."""


@new.command("concept")
@click.argument("concept_id")
@click.option("-c", "--chapter", required=True, help="Chapter id (from course.yaml).")
@click.option(
    "-a",
    "--after",
    multiple=True,
    help="A prerequisite concept id; repeat it or separate ids with commas.",
)
@click.option("--title", help="Concept title (default: from the id).")
@click.option(
    "-t",
    "--question",
    "kinds",
    multiple=True,
    type=click.Choice(QUESTION_TYPES),
    help="Question stub to add; repeat for several (default: one of each type).",
)
@click.option("--no-questions", is_flag=True, help="Add no question stubs.")
@click.option(
    "--course",
    "course_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="The course folder (default: the one this folder is in).",
)
def new_concept(
    concept_id: str,
    chapter: str,
    after: tuple[str, ...],
    title: str | None,
    kinds: tuple[str, ...],
    no_questions: bool,
    course_dir: Path | None,
) -> None:
    """Write a concept file CONCEPT_ID.yaml into the chapter's folder.

    The file names its prerequisites and holds question stubs with fresh ids, marked TODO;
    it passes `flashgen check` as written. An id that already exists is refused.
    """
    from flashgen.course.scaffold import ScaffoldError
    from flashgen.course.scaffold import new_concept as write_concept

    course_dir, _ = course_for(course_dir)
    prerequisites = [p.strip() for item in after for p in item.split(",") if p.strip()]
    try:
        path = write_concept(
            course_dir,
            concept_id,
            chapter,
            after=prerequisites,
            title=title,
            kinds=() if no_questions else (kinds or QUESTION_TYPES),
        )
    except ScaffoldError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    click.echo(f"wrote {display_path(path)}")


@main.command()
@COURSE_DIR
@click.option(
    "--print",
    "print_kind",
    type=click.Choice(["course", "concept"]),
    help="Print one schema to standard output instead of writing files.",
)
def schema(course_dir: Path | None, print_kind: str | None) -> None:
    """Write the JSON Schema of course.yaml and of concept files into COURSE_DIR/.flashgen/.

    Editors read it through the first line of each YAML file,
    `# yaml-language-server: $schema=...`, to complete keys and flag typos while you type
    (see docs/editor.md). Run it again after upgrading flashgen.
    """
    from flashgen.course import jsonschema

    if print_kind:
        click.echo(jsonschema.dumps(jsonschema.schemas()[print_kind]), nl=False)
        return
    course_dir, _ = course_for(course_dir)
    if not (course_dir / "course.yaml").is_file():
        click.echo(f"error: {course_dir}/course.yaml not found: is this a course folder?", err=True)
        sys.exit(1)
    try:
        changed = jsonschema.write_course_schemas(course_dir)
    except (OSError, OutputError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_WRITE_FAILED)
    for path in changed:
        click.echo(f"wrote {path}")
    if not changed:
        click.echo(f"{course_dir / jsonschema.COURSE_SCHEMA_DIR}: up to date")


@main.command()
@COURSE_DIR
@OUTPUT_FORMAT
def stats(course_dir: Path | None, output_format: str) -> None:
    """Count concepts and questions per chapter and type; show foundations, the longest
    prerequisite chain and concepts without questions.

    Exit status: 0, or 1 when the course has errors (counted as far as it could be read).
    """
    import json

    from flashgen.course.stats import as_json, course_stats, render_text
    from flashgen.pipeline.load import load

    course_dir, _ = course_for(course_dir)
    loaded = load(course_dir)
    loaded.memo.save()
    course, diag = loaded.course, loaded.diagnostics
    if course is None:
        report(diag)
        click.echo(f"{course_dir}: {diag.summary()}", err=True)
        sys.exit(1)
    result = course_stats(course)
    if output_format == "json":
        click.echo(json.dumps(as_json(result), indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(result))
    if diag.has_errors:
        click.echo(f"{course_dir}: {diag.summary()}; run `flashgen check`", err=True)
        sys.exit(1)
