"""The commands that talk to a student's Anki: sync and progress."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from flashgen.cli.main import (
    COURSE_DIR,
    OUTPUT_FORMAT,
    course_for,
    main,
)


@main.command()
@COURSE_DIR
@click.option(
    "--collection",
    metavar="PATH|PROFILE",
    is_flag=False,
    flag_value="",
    help="The student's collection file, profile folder or Anki profile name (alone: the "
    "profile Anki opens by default). Anki must be closed.",
)
@click.option(
    "--anki-connect",
    metavar="URL",
    is_flag=False,
    flag_value="http://127.0.0.1:8765",
    help="Talk to the running Anki through the AnkiConnect add-on (alone: http://127.0.0.1:8765).",
)
@click.option(
    "--anki-connect-remote",
    is_flag=True,
    help="Allow an --anki-connect URL on another computer (whoever reaches AnkiConnect's port "
    "controls the whole collection; by default only this computer is asked).",
)
@click.option("--apply", is_flag=True, help="Do it (after Anki's own backup); default: dry run.")
@click.option(
    "--delete-retired",
    is_flag=True,
    help="Delete retired notes (listed first) instead of suspending their cards.",
)
def sync(
    course_dir: Path | None,
    collection: str | None,
    anki_connect: str | None,
    anki_connect_remote: bool,
    apply: bool,
    delete_retired: bool,
) -> None:
    """Bring one student's Anki in line with COURSE_DIR, doing what an import cannot.

    Adds new notes; updates changed notes' fields and adds flashgen's tags (the student's own
    tags, flags and notes stay); updates note types; suspends retired notes' cards (or
    deletes the notes with --delete-retired); moves cards out of renamed decks; puts new
    cards (never reviewed ones) into the course's learning order. Review history and the
    scheduling of reviewed cards are never touched.

    A dry run by default: prints the plan in the words of `flashgen diff`. With --apply it
    makes Anki's own backup of the collection (in the collection's backups folder), does the
    plan, and checks that everything applied.

    \b
    Examples:
      flashgen sync cards --collection             the plan, default profile
      flashgen sync cards --collection "User 1" --apply
      flashgen sync cards --collection col.anki2 --apply --delete-retired
      flashgen sync cards --anki-connect --apply   Anki open, with AnkiConnect

    Exit status: 0 done (or nothing to do), 1 the course has errors, the
    collection cannot be opened or part of the plan did not apply, 2 bad
    command line.
    """
    from flashgen.student.sync import run_sync

    if collection is not None and anki_connect is not None:
        raise click.UsageError("give --collection or --anki-connect, not both")
    if collection is None and anki_connect is None:
        raise click.UsageError(
            "say which Anki: --collection PATH|PROFILE (Anki closed) or --anki-connect (Anki open)"
        )
    if anki_connect_remote and anki_connect is None:
        raise click.UsageError("--anki-connect-remote goes with --anki-connect URL")
    course_dir, _ = course_for(course_dir)
    sys.exit(run_sync(course_dir, collection, anki_connect, apply, delete_retired, click.echo,
                      anki_connect_remote))  # fmt: skip


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path), metavar="[COURSE_DIR]")
@click.option(
    "--collection",
    metavar="PATH|PROFILE",
    is_flag=False,
    flag_value="",
    help="The student's collection file, profile folder or profile name (alone: "
    "the profile Anki opens by default). Anki must be closed; it is only read.",
)
@click.option(
    "--anki-connect",
    metavar="URL",
    is_flag=False,
    flag_value="http://127.0.0.1:8765",
    help="Read the running Anki through AnkiConnect (alone: http://127.0.0.1:8765).",
)
@click.option(
    "--anki-connect-remote",
    is_flag=True,
    help="Allow an --anki-connect URL on another computer (whoever reaches AnkiConnect's port "
    "controls the whole collection; by default only this computer is asked).",
)
@click.option(
    "--from-json",
    "from_json",
    is_flag=True,
    help="Merge students' `--format json` files (given after it) into a class view.",
)
@OUTPUT_FORMAT
@click.option(
    "--html",
    "html_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the concept map coloured by state, with what to study next.",
)
@click.option(
    "-o",
    "--output",
    "output_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the table or JSON to this file (atomically) instead of printing it.",
)
def progress(
    paths: tuple[Path, ...],
    collection: str | None,
    anki_connect: str | None,
    anki_connect_remote: bool,
    from_json: bool,
    output_format: str,
    html_file: Path | None,
    output_file: Path | None,
) -> None:
    """Where a student stands in COURSE_DIR's prerequisite graph, from their Anki.

    For each concept: its cards (new, learning, review), lapses and the probability of
    recalling it now (Anki's FSRS memory state, or an FSRS estimate from the review log),
    and its state: mastered, in progress, struggling or not started. Then what is ready to
    learn (every prerequisite mastered) and, for each struggling concept, its weak
    prerequisites to review first; each set with an Anki search that opens its cards.
    States, thresholds and the JSON format: docs/progress.md.

    \b
    Examples:
      flashgen progress cards --collection              default Anki profile
      flashgen progress cards --collection ~/col.anki2 --html progress.html
      flashgen progress cards --anki-connect            Anki open (AnkiConnect)
      flashgen progress cards --collection --format json -o me.json
      flashgen progress cards --from-json class/*.json  class view of shared files

    \b
    Exit status: 0, 1 the course has errors or the student's Anki or a JSON file
    cannot be read, 2 bad command line, 3 an output file could not be written.
    """
    from flashgen.student.progress_command import run_class, run_student

    sources = [collection is not None, anki_connect is not None, from_json]
    if sum(sources) != 1:
        raise click.UsageError(
            "say whose progress: --collection PATH|PROFILE (Anki closed), --anki-connect "
            "(Anki open) or --from-json FILE... (students' exported files)"
        )
    if anki_connect_remote and anki_connect is None:
        raise click.UsageError("--anki-connect-remote goes with --anki-connect URL")
    if from_json:
        if html_file is not None:
            raise click.UsageError("--html draws one student's map; not with --from-json")
        files = [p for p in paths if not p.is_dir()]
        folders = [p for p in paths if p.is_dir()]
        if not files:
            raise click.UsageError("--from-json needs the students' JSON files after it")
        if len(folders) > 1:
            raise click.UsageError("name at most one course folder")
        course_dir = folders[0] if folders else None
        sys.exit(run_class(course_dir, files, output_format, output_file, click.echo))
    if len(paths) > 1:
        raise click.UsageError(f"one course folder, not {len(paths)} paths")
    course_dir, _ = course_for(paths[0] if paths else None)
    sys.exit(run_student(course_dir, collection, anki_connect, output_format, html_file,
                         output_file, click.echo, anki_connect_remote))  # fmt: skip
