"""The publication ledger: what every student who imported the course's deck already has.

Anki's importer decides everything from what the package carries: a note is updated only when
its modification time is greater than the one in the student's collection (and then its tags
are replaced), decks are matched by name, and nothing is ever deleted. A rebuilt deck can only
treat students well if the build remembers what it published before. The ledger is that memory:
one plain-text line per note ever published (its GUID, a fingerprint of everything the student
sees, the time that content last changed, its cloze numbers, whether it was retired), one line
per deck name and per note type. It lives in the course folder and is committed with it, like
a lock file, so that every instructor's clone and CI build from the same history.

:func:`flashgen.outputs.publication.publish` applies a ledger to a freshly assembled package
(modification times, kept deck names, retired notes, removed cloze deletions) and returns the
updated ledger and what a re-import will do. This module is the file: :func:`read_ledger`
reads and checks it, :func:`write_ledger` replaces it atomically.
"""

from __future__ import annotations

import functools
import hashlib
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flashgen.atomic import atomic_path
from flashgen.diagnostics import Diagnostics, Location
from flashgen.outputs.notetypes import KINDS

LEDGER_NAME = "flashgen.ledger"
#: About 200 bytes a note: room for a quarter of a million notes.
MAX_LEDGER_BYTES = 64 * 1024 * 1024
FORMAT = 1
HEADER = (
    f"# flashgen publication ledger, format {FORMAT}: what students who imported the deck have.\n"
    "# Commit it with the course. `flashgen build` updates it; do not edit it by hand.\n"
    "# Lines: docs/format.md (The publication ledger).\n"
)
RETIRED_TAG = "flashgen::retired"
#: The ledger's tag for the parent (course) deck; chapter decks use the chapter id.
COURSE_DECK = "-"
_CLOZE_NUMBER = re.compile(r"{{c(\d+)::", re.DOTALL)
_TIME = "%Y-%m-%dT%H:%M:%SZ"


@dataclass
class NoteEntry:
    concept: str
    question: str  #: ``""`` for the concept's own note
    guid: str
    kind: str
    fingerprint: str
    changed: int
    clozes: tuple[int, ...]
    retired: int | None
    deck: str

    @property
    def key(self) -> str:
        return self.concept + (f"/{self.question}" if self.question else "")


@dataclass
class NoteTypeEntry:
    kind: str
    fingerprint: str
    changed: int
    name: str


@dataclass
class Ledger:
    course_id: str
    decks: dict[str, str] = field(default_factory=dict)
    note_types: dict[str, NoteTypeEntry] = field(default_factory=dict)
    notes: dict[str, NoteEntry] = field(default_factory=dict)
    #: The line of the ``course`` line in the file read (for messages).
    course_line: int = 1

    def render(self) -> str:
        lines = [HEADER, f"course\t{self.course_id}\n"]
        for tag, name in sorted(self.decks.items()):
            lines.append(f"deck\t{tag}\t{name}\n")
        for kind, entry in sorted(self.note_types.items()):
            lines.append(
                f"notetype\t{kind}\t{entry.fingerprint}\t{_time(entry.changed)}\t{entry.name}\n"
            )
        for entry in sorted(self.notes.values(), key=lambda e: (e.concept, e.question, e.guid)):
            clozes = ",".join(map(str, entry.clozes)) or "-"
            retired = "-" if entry.retired is None else _time(entry.retired)
            lines.append(
                f"note\t{entry.key}\t{entry.guid}\t{entry.kind}\t{entry.fingerprint}\t"
                f"{_time(entry.changed)}\t{clozes}\t{retired}\t{entry.deck}\n"
            )
        return "".join(lines)


def ledger_path(course_dir: Path) -> Path:
    return course_dir / LEDGER_NAME


@functools.lru_cache(maxsize=4096)  # a ledger holds few distinct times, each many times
def _time(seconds: int) -> str:
    return time.strftime(_TIME, time.gmtime(seconds))


def date_text(seconds: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(seconds))


@functools.lru_cache(maxsize=4096)
def _parse_time(text: str) -> int | None:
    import calendar

    try:
        return calendar.timegm(time.strptime(text, _TIME))
    except ValueError:
        return None


# --- Reading --------------------------------------------------------------------------------

_COLUMNS = {"course": 2, "deck": 3, "notetype": 5, "note": 9}


def read_ledger(path: Path, diag: Diagnostics) -> Ledger | None:
    """The ledger at ``path``; ``None`` when there is none or it is damaged (then every
    problem is in ``diag``, located at its line and column)."""
    from flashgen.course.coursefiles import CourseFileError, read_course_file

    if not path.exists() and not path.is_symlink():
        return None
    try:
        data = read_course_file(path, path.parent, MAX_LEDGER_BYTES, "publication ledger")
    except CourseFileError as error:
        diag.error(Location(path, 1, 1), error.message)
        return None
    except OSError as error:
        diag.error(Location(path, 1, 1), f"cannot read the ledger: {error.strerror or error}")
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        diag.error(Location(path, line, column), "the ledger is not UTF-8 text")
        return None
    before = len(diag.errors)
    ledger: Ledger | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")

        def error(index: int, message: str, number: int = number, cells: list[str] = cells):
            index = min(index, len(cells) - 1)
            column = sum(len(cell) + 1 for cell in cells[:index]) + 1
            diag.error(Location(path, number, column), message)

        kind = cells[0]
        expected = _COLUMNS.get(kind)
        if expected is None:
            error(0, f"unknown ledger line '{kind[:40]}' (expected course, deck, notetype or note)")
            continue
        if len(cells) != expected:
            error(
                min(len(cells), expected) - 1 if len(cells) > expected else 0,
                f"a '{kind}' line has {expected} tab-separated columns, this one {len(cells)}",
            )
            continue
        if kind == "course":
            if ledger is not None:
                error(0, "a second 'course' line")
            else:
                ledger = Ledger(cells[1], course_line=number)
            continue
        if ledger is None:
            error(0, "the ledger must start with a 'course' line")
            return None
        if kind == "deck":
            if cells[1] in ledger.decks:
                error(1, f"a second deck line for '{cells[1]}'")
            ledger.decks[cells[1]] = cells[2]
        elif kind == "notetype":
            _, note_kind, fingerprint, changed, name = cells
            when = _parse_time(changed)
            if note_kind not in KINDS:
                error(1, f"unknown note type '{note_kind}'")
            elif not _is_fingerprint(fingerprint):
                error(2, "not a fingerprint (groups of 8 hex digits separated by dots)")
            elif when is None:
                error(3, f"not a time like 2026-01-31T12:00:00Z: '{changed[:40]}'")
            else:
                ledger.note_types[note_kind] = NoteTypeEntry(note_kind, fingerprint, when, name)
        else:
            entry = _note_entry(cells, error)
            if entry is None:
                continue
            if entry.guid in ledger.notes:
                error(2, f"GUID {entry.guid} appears twice")
                continue
            ledger.notes[entry.guid] = entry
    if ledger is None and len(diag.errors) == before:
        diag.error(Location(path, 1, 1), "the ledger has no 'course' line")
    return ledger if len(diag.errors) == before else None


def _is_fingerprint(text: str) -> bool:
    """Groups of 8 lower-case hex digits separated by dots."""
    return (
        not text.strip("0123456789abcdef.")
        and (len(text) + 1) % 9 == 0
        and all(text[i] == "." for i in range(8, len(text), 9))
        and text.count(".") == len(text) // 9
    )


def _note_entry(cells: list[str], error: Any) -> NoteEntry | None:
    _, key, guid, kind, fingerprint, changed, clozes, retired, deck = cells
    concept, _, question = key.partition("/")
    when = _parse_time(changed)
    if not concept:
        error(1, "a note line needs the concept id (and /question id)")
    elif not guid or " " in guid:
        error(2, "a note line needs the note's GUID")
    elif kind not in KINDS:
        error(3, f"unknown note type '{kind[:40]}'")
    elif not _is_fingerprint(fingerprint):
        error(4, "not a fingerprint (groups of 8 hex digits separated by dots)")
    elif when is None:
        error(5, f"not a time like 2026-01-31T12:00:00Z: '{changed[:40]}'")
    elif clozes != "-" and not re.fullmatch(r"[1-9][0-9]*(,[1-9][0-9]*)*", clozes):
        error(6, f"cloze numbers are '-' or a list like 1,2: '{clozes[:40]}'")
    elif retired != "-" and _parse_time(retired) is None:
        error(7, f"'-' or the time the note was retired, like 2026-01-31T12:00:00Z: '{retired}'")
    elif not deck:
        error(8, "a note line needs the deck it was published under")
    else:
        return NoteEntry(
            concept,
            question,
            guid,
            kind,
            fingerprint,
            when,
            tuple(int(n) for n in clozes.split(",")) if clozes != "-" else (),
            None if retired == "-" else _parse_time(retired),
            deck,
        )
    return None


def write_ledger(path: Path, ledger: Ledger) -> bool:
    """Replace the ledger atomically (a failed write leaves the old one); ``False`` when the
    file already says exactly this."""
    text = ledger.render()
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    from flashgen.course.coursefiles import check_write_target

    check_write_target(path, path.parent)
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return True


# --- Publishing -----------------------------------------------------------------------------


def fingerprint(parts: Iterable[str]) -> str:
    """One 8-hex-digit hash per part, so that a diff can say which field changed."""
    return ".".join(hashlib.sha256(part.encode("utf-8")).hexdigest()[:8] for part in parts)


def cloze_numbers(text: str) -> tuple[int, ...]:
    return tuple(sorted({int(n) for n in _CLOZE_NUMBER.findall(text) if int(n) > 0}))
