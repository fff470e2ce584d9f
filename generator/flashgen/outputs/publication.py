"""Publishing a deck against the ledger (:mod:`flashgen.outputs.ledger`): modification times
from the ledger, deck names kept when a title is corrected, retired notes, removed cloze
deletions; and what importing the new deck does to a student who has the last one
(:class:`Changes`, shown by ``flashgen diff`` and ``build``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any, Protocol

from flashgen.diagnostics import Diagnostics, Location
from flashgen.outputs.ledger import (
    COURSE_DECK,
    LEDGER_NAME,
    RETIRED_TAG,
    Ledger,
    NoteEntry,
    NoteTypeEntry,
    cloze_numbers,
    date_text,
    fingerprint,
    ledger_path,
    read_ledger,
)
from flashgen.outputs.notetypes import FIELDS
from flashgen.outputs.package import AnkiPackage, chapter_deck_leaf, deck_name


@dataclass
class NoteChange:
    key: str
    guid: str
    #: "new", "updated", "unchanged" or "retired"
    status: str
    fields: tuple[str, ...] = ()


_STATUSES = ("new", "updated", "unchanged", "retired")


@dataclass
class Changes:
    """What importing the new deck does to a student who has the last published one."""

    notes: list[NoteChange] = field(default_factory=list)
    #: ``(old name, new name)``
    renamed_decks: list[tuple[str, str]] = field(default_factory=list)
    note_types: list[str] = field(default_factory=list)
    first_publication: bool = False

    def count(self, status: str) -> int:
        return sum(1 for note in self.notes if note.status == status)

    def summary(self) -> str:
        from flashgen.diagnostics import plural

        if self.first_publication:
            return f"first publication: {plural(self.count('new'), 'new note')}"
        parts = [
            f"{self.count('new')} new",
            f"{self.count('updated')} updated",
            f"{self.count('unchanged')} unchanged",
            f"{self.count('retired')} retired",
        ]
        text = "students who re-import get: " + ", ".join(parts) + " notes"
        if self.renamed_decks:
            text += f"; {plural(len(self.renamed_decks), 'deck')} renamed"
        if self.note_types:
            text += f"; {plural(len(self.note_types), 'note type')} changed"
        return text

    def as_json(self) -> dict[str, Any]:
        by_status: dict[str, list[Any]] = {s: [] for s in _STATUSES}
        for note in self.notes:
            item: dict[str, Any] = {"note": note.key, "guid": note.guid}
            if note.status == "updated":
                item["fields"] = list(note.fields)
            by_status[note.status].append(item)
        return {
            "first_publication": self.first_publication,
            "notes": by_status,
            "counts": {status: len(items) for status, items in by_status.items()},
            "renamed_decks": [{"from": old, "to": new} for old, new in self.renamed_decks],
            "note_types_changed": self.note_types,
        }

    def render_text(self) -> str:
        lines = [self.summary()]
        for status in ("new", "updated", "retired"):
            for note in self.notes:
                if note.status == status:
                    extra = f" ({', '.join(note.fields)})" if note.fields else ""
                    lines.append(f"  {status:8} {note.key}{extra}")
        for old, new in self.renamed_decks:
            lines.append(f"  deck     '{old}' -> '{new}' (existing cards stay in '{old}')")
        for kind in self.note_types:
            lines.append(f"  notetype {kind}: templates or style changed")
        return "\n".join(lines)


@dataclass
class Publication:
    ledger: Ledger
    changes: Changes
    diagnostics: Diagnostics


@dataclass
class TitleSource:
    """Where the course id and the course and chapter titles are written, for messages."""

    course_title: Location
    chapter_titles: Mapping[str, Location]
    course_id: Location


def title_locations(course_file: Path, chapter_ids: Sequence[str]) -> TitleSource:
    from flashgen.course.loader import load_yaml

    course_title = course_id = Location(course_file, 1, 1)
    chapters: dict[str, Location] = {}
    data = load_yaml(course_file, Diagnostics())
    if isinstance(data, dict) and hasattr(data, "value_location"):
        if "title" in data:
            course_title = data.value_location("title")
        if "id" in data:
            course_id = data.value_location("id")
        items = data.get("chapters")
        if isinstance(items, list):
            for item in items:
                if isinstance(item, dict) and hasattr(item, "value_location") and "title" in item:
                    chapters[str(item.get("id"))] = item.value_location("title")
    return TitleSource(course_title, chapters, course_id)


def publish(
    package: AnkiPackage,
    course_id: str,
    course_title: str,
    chapters: Sequence[tuple[str, str]],
    previous: Ledger | None,
    timestamp: int,
    titles: TitleSource,
    rename_decks: bool = False,
) -> Publication:
    """Apply the ledger to ``package`` (in place) and return the new ledger.

    ``chapters`` are ``(id, title)`` in course order; ``package.decks`` holds one deck per
    chapter in that order, each note as ``(kind, guid, fields, tags, due, key)``.
    """
    from flashgen.render.markdown import escape_anki_markup

    diag = Diagnostics()
    old = previous or Ledger(course_id)
    new = Ledger(course_id)
    changes = Changes(first_publication=previous is None)

    # Deck names: kept as published unless the instructor asks for the rename.
    wanted_parent = deck_name(course_title)
    parent = _deck_choice(
        old.decks.get(COURSE_DECK), wanted_parent, rename_decks, titles.course_title,
        "the course title", changes, diag,
    )  # fmt: skip
    new.decks[COURSE_DECK] = parent
    names: dict[str, str] = {}
    contexts: dict[str, tuple[str, str]] = {}
    previous_number, inserted = "0" * max(2, len(str(len(chapters)))), 0
    for index, (chapter_id, title) in enumerate(chapters):
        wanted = f"{parent}::{deck_name(chapter_deck_leaf(index, len(chapters), title))}"
        where = titles.chapter_titles.get(chapter_id, titles.course_title)
        published = old.decks.get(chapter_id)
        later_published = any(c in old.decks for c, _ in chapters[index + 1 :])
        if published is None and later_published and not rename_decks:
            # A chapter inserted before published ones: numbered after the chapter before it
            # ("02.1"), so that decks still sort in course order without renaming any.
            inserted += 1
            number = f"{previous_number}.{inserted}"
            wanted = f"{parent}::{deck_name(f'{number} {title}')}"
            diag.warning(
                where,
                f"chapter '{chapter_id}' comes before chapters already published: its deck is "
                f"'{wanted}', which sorts in course order without renaming published decks "
                "(`flashgen build --rename-decks` renumbers them all; students' decks split)",
            )
        names[chapter_id] = _deck_choice(
            old.decks.get(chapter_id), wanted, rename_decks, where,
            f"the title (or number) of chapter '{chapter_id}'", changes, diag,
        )  # fmt: skip
        new.decks[chapter_id] = names[chapter_id]
        if published is not None:
            previous_number = names[chapter_id].rpartition("::")[2].split(" ", 1)[0]
            inserted = 0
        ideal = f"{wanted_parent}::{wanted.rpartition('::')[2]}"
        if names[chapter_id] != ideal:  # the cards' context line shows the deck's titles
            kept_parent, _, kept_leaf = names[chapter_id].rpartition("::")
            kept_title = kept_leaf.split(" ", 1)[1] if " " in kept_leaf else kept_leaf
            contexts[chapter_id] = (
                escape_anki_markup(f"{escape(course_title)} › {escape(title)} › "),
                escape_anki_markup(f"{escape(kept_parent)} › {escape(kept_title)} › "),
            )
    for tag, name in old.decks.items():  # a removed chapter's deck: its retired notes stay there
        new.decks.setdefault(tag, name)

    # Note types: their modification time follows their fingerprint.
    model_mods: dict[str, int] = {}
    for kind, model in package.models.items():
        print_ = fingerprint(["\x1f".join(_model_parts(model))])
        before = old.note_types.get(kind)
        if before is not None and before.fingerprint == print_:
            changed = before.changed
        else:
            changed = timestamp if before is None else max(timestamp, before.changed + 1)
            if before is not None:
                changes.note_types.append(kind)
        model_mods[kind] = changed
        new.note_types[kind] = NoteTypeEntry(kind, print_, changed, model.name)
    package.model_mods = model_mods

    # Notes.
    placed = set()
    decks = []
    for (deck_number, _, notes), (chapter_id, _) in zip(package.decks, chapters, strict=True):
        deck = names[chapter_id]
        rows = []
        context = contexts.get(chapter_id)
        for kind, guid, fields, tags, due, key in notes:
            placed.add(guid)
            if context is not None:
                at = FIELDS[kind].index("Context")
                if fields[at].startswith(context[0]):
                    fields = [*fields[:at], context[1] + fields[at][len(context[0]) :],
                              *fields[at + 1 :]]  # fmt: skip
            before = old.notes.get(guid)
            clozes: tuple[int, ...] = ()
            if kind == "cloze":
                current = cloze_numbers(fields[0])
                published = before.clozes if before is not None else ()
                gone = sorted(set(published) - set(current))
                if gone:
                    fields = [fields[0] + _removed_clozes(gone), *fields[1:]]
                clozes = tuple(sorted(set(current) | set(published)))
            rows.append(
                _note(new, changes, before, kind, guid, fields, tags, due, key, deck, clozes,
                      timestamp, None)
            )  # fmt: skip
        decks.append((deck_number, deck, rows))
    by_name = {name: index for index, (_, name, _) in enumerate(decks)}
    retired_rows: dict[str, list[Any]] = {}
    # Retired cards come after every card of the course for a student who is new to it.
    last = max((row[4] for _, _, rows in decks for row in rows), default=-1)
    for guid, before in sorted(old.notes.items(), key=lambda item: item[1].key):
        if guid in placed:
            continue
        retired = before.retired
        if retired is None:
            retired = timestamp if previous is None else max(timestamp, before.changed + 1)
        deck = before.deck
        fields = retired_fields(before.kind, before.clozes, retired, parent)
        tags = f" {RETIRED_TAG} course::{course_id} "
        key = (before.concept, before.question)
        last += 1
        row = _note(new, changes, before, before.kind, guid, fields, tags, last, key, deck,
                    before.clozes, timestamp, retired)  # fmt: skip
        retired_rows.setdefault(deck, []).append(row)
    for deck, rows in retired_rows.items():
        if deck in by_name:
            decks[by_name[deck]][2].extend(rows)
        else:
            from flashgen.outputs.notetypes import stable_id

            decks.append((stable_id("flashgen-deck", course_id, deck), deck, rows))
    package.decks = decks
    package.parent = (package.parent[0], parent)
    return Publication(new, changes, diag)


def _deck_choice(
    published: str | None,
    wanted: str,
    rename: bool,
    where: Location,
    what: str,
    changes: Changes,
    diag: Diagnostics,
) -> str:
    if published is None or published == wanted:
        return wanted
    if rename:
        changes.renamed_decks.append((published, wanted))
        diag.warning(
            where,
            f"{what} changed: deck '{published}' renamed to '{wanted}' (--rename-decks); "
            f"students who imported before keep their cards in '{published}' and get new "
            f"cards in '{wanted}' (their deck splits)",
        )
        return wanted
    diag.warning(
        where,
        f"{what} changed: the published deck name '{published}' is kept (on the deck and on "
        f"the cards' context line), so that students' decks do not split (new name would be "
        f"'{wanted}'; `flashgen build --rename-decks` renames it)",
    )
    return published


def _note(
    new: Ledger,
    changes: Changes,
    before: NoteEntry | None,
    kind: str,
    guid: str,
    fields: list[str],
    tags: str,
    due: int,
    key: tuple[str, str],
    deck: str,
    clozes: tuple[int, ...],
    timestamp: int,
    retired: int | None,
) -> tuple[str, str, list[str], str, int, int]:
    print_ = fingerprint([deck, tags, *fields])
    label = key[0] + (f"/{key[1]}" if key[1] else "")
    if before is None:
        changed = timestamp
        changes.notes.append(NoteChange(label, guid, "new"))
    elif before.fingerprint == print_ and before.kind == kind:
        changed = before.changed
        changes.notes.append(NoteChange(label, guid, "unchanged"))
    else:
        changed = max(timestamp, before.changed + 1)
        if retired is not None:
            changes.notes.append(NoteChange(label, guid, "retired"))
        else:
            names = ("deck", "tags", *FIELDS[kind])
            old_parts = before.fingerprint.split(".")
            new_parts = print_.split(".")
            differ = tuple(
                name
                for index, name in enumerate(names)
                if index >= len(old_parts) or old_parts[index] != new_parts[index]
            )
            changes.notes.append(NoteChange(label, guid, "updated", differ))
    if retired is not None and before is not None and before.retired is None:
        retired = changed
    new.notes[guid] = NoteEntry(key[0], key[1], guid, kind, print_, changed, clozes, retired, deck)
    return (kind, guid, fields, tags, due, changed)


def _model_parts(model: Any) -> list[str]:
    parts = [model.name, str(model.model_type), str(model.sort_field_index), model.css]
    parts += [f["name"] for f in model.fields]
    for template in model.templates:
        parts += [template["name"], template["qfmt"], template["afmt"]]
    return parts


def _removed_clozes(numbers: Sequence[int]) -> str:
    """Deletions kept only so that their cards, which students already have, say what
    happened instead of coming up empty (hidden on the note's other cards by the style)."""
    return "".join(
        f'<span class="fg-removed-cloze">{{{{c{n}::This blank was removed from the course; '
        f"you can delete this card::removed}}}}</span>"
        for n in numbers
    )


def retired_fields(kind: str, clozes: Sequence[int], retired: int, course_title: str) -> list[str]:
    """The fields of a note removed from the course: every card says so, and when."""
    message = (
        f'<div class="fg-retired">This card was removed from the course on {date_text(retired)}. '
        f"To delete every removed card: search <code>tag:{RETIRED_TAG}</code> in the "
        "browser, select all, delete.</div>"
    )
    values: dict[str, str] = {name: "" for name in FIELDS[kind]}
    from flashgen.render.markdown import escape_anki_markup

    values["Context"] = escape_anki_markup(f"{escape(course_title)} › removed")
    first = FIELDS[kind][0]
    if kind == "cloze":
        numbers = list(clozes) or [1]
        values[first] = message + "".join(
            f'<span class="fg-removed-cloze">{{{{c{n}::removed}}}}</span>' for n in numbers
        )
    else:
        values[first] = message
    if kind == "basic":
        values["Back"] = message
    if kind == "multiple-choice":
        values["Choices"] = '<ol class="fg-choices"></ol>'
    return [values[name] for name in FIELDS[kind]]


class _CourseLike(Protocol):
    id: str
    title: str
    chapters: Sequence[Any]
    location: Location


@dataclass
class Prepared:
    """A package with the ledger applied, and what to do with the ledger afterwards."""

    publication: Publication
    path: Path
    started: bool


def prepare(
    package: AnkiPackage,
    course: _CourseLike,
    course_dir: Path,
    timestamp: int,
    rename_decks: bool = False,
    announce: bool = True,
) -> Prepared:
    """Read the course's ledger and apply it to ``package`` (see :func:`publish`).

    Raises :class:`~flashgen.diagnostics.CourseError` when the ledger is damaged or belongs to
    another course id; nothing is written here.
    """
    from flashgen.diagnostics import CourseError

    diag = Diagnostics()
    path = ledger_path(course_dir)
    previous = read_ledger(path, diag)
    if diag.has_errors:
        raise CourseError(diag)
    course_file = course.location.path
    titles = title_locations(course_file, [chapter.id for chapter in course.chapters])
    if previous is not None and previous.course_id != course.id:
        diag.error(
            Location(path, previous.course_line, 1),
            f"this ledger was written for course id '{previous.course_id}', course.yaml says "
            f"'{course.id}': a new course id makes every note new to students (their copies "
            "stay as duplicates). Restore the id, or delete the ledger to publish a new course",
        )
        raise CourseError(diag)
    chapters = [(chapter.id, chapter.title) for chapter in course.chapters]
    publication = publish(
        package, course.id, course.title, chapters, previous, timestamp, titles, rename_decks
    )
    if previous is None and announce:
        publication.diagnostics.warning(
            titles.course_id,
            f"no publication ledger ({LEDGER_NAME}) in the course folder: started one. Commit "
            "it with the course. If this course was published before, every note counts as "
            "changed this once, so re-importing replaces students' tags on every note",
        )
    return Prepared(publication, path, previous is None)


def check_cloze_numbers(course_dir: Path, course: Any, diag: Diagnostics) -> None:
    """``flashgen check``'s look at the ledger (read only): a damaged ledger is an error, and a
    published cloze deletion that is gone or renumbered is a warning at the question's text.

    ``course`` is the checked course (full or light: concept ids and paths are enough); only
    the files of concepts with published cloze deletions are read again. Without a ledger
    nothing was published, so there is nothing to warn about.
    """
    from flashgen.course.model import Cloze
    from flashgen.course.reader import read_concept_file
    from flashgen.outputs.identity import note_guid

    ledger = read_ledger(ledger_path(course_dir), diag)
    if ledger is None or course.id != ledger.course_id:
        return
    with_clozes = {entry.concept for entry in ledger.notes.values() if entry.clozes}
    for light in course.concepts:
        if light.id not in with_clozes:
            continue
        concept, _ = read_concept_file(light.path, Diagnostics())
        if concept is None:
            continue
        for question in concept.questions:
            if not isinstance(question, Cloze):
                continue
            entry = ledger.notes.get(note_guid(course.id, concept.id, question.id))
            if entry is None or not entry.clozes:
                continue
            current = set(cloze_numbers(question.text))
            gone = sorted(set(entry.clozes) - current)
            if not gone:
                continue
            added = sorted(current - set(entry.clozes))
            names = ", ".join(f"c{n}" for n in gone)
            message = (
                f"cloze deletion {names} was published: students have its card, with its "
                "review history. Cloze numbers carry review history, so "
            )
            if added:
                message += (
                    f"renumbering ({names} gone, {', '.join(f'c{n}' for n in added)} new) gives "
                    "students' history to the wrong blank: keep each deletion's number"
                )
            else:
                message += (
                    "never reuse the number for another blank; the removed card will say it "
                    "was removed"
                )
            diag.warning(question.where("text"), message)
