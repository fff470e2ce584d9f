"""The course as a student's collection should hold it, from the same pipeline as the deck.

``flashgen sync`` must put into a student's collection exactly what ``flashgen build`` puts
into the ``.apkg`` (fields, GUIDs, decks, tags, note types, learning order) and follow the
same publication ledger (kept deck names, retired notes), so it takes the prepared package of
the build pipeline and only re-reads it into plain values here.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flashgen.course.coursefiles import read_media
from flashgen.course.model import Cloze
from flashgen.diagnostics import Diagnostics
from flashgen.outputs.identity import card_code
from flashgen.outputs.ledger import RETIRED_TAG, cloze_numbers
from flashgen.outputs.notetypes import FIELDS
from flashgen.pipeline.build import published_package
from flashgen.student.transport import NoteTypeSpec


@dataclass(frozen=True)
class CourseNote:
    """One note of the course: what the student's copy should be."""

    key: str  #: ``concept`` or ``concept/question``, as ``flashgen diff`` names notes
    guid: str
    kind: str
    notetype: str
    deck: str
    fields: dict[str, str]
    tags: tuple[str, ...]
    position: int  #: place in the course's learning order
    retired: bool
    #: Cloze numbers published before and gone from the text: their cards say "removed".
    removed_clozes: tuple[int, ...] = ()

    #: the card code of its key (a retired note's fields no longer carry one)
    key_code: str = ""

    @property
    def code(self) -> str:
        """How the note is found where GUIDs cannot be seen (AnkiConnect shows none)."""
        return self.fields.get("CardCode", "") or self.key_code


@dataclass(frozen=True)
class CourseDeck:
    course_id: str
    parent: str  #: the course's own deck; chapter decks are below it
    notes: tuple[CourseNote, ...]  #: in learning order, retired notes last
    note_types: dict[str, NoteTypeSpec]  #: by kind
    media: dict[str, Path]
    #: The published package itself (:class:`flashgen.outputs.package.AnkiPackage`).
    package: Any

    def media_data(self, name: str) -> bytes:
        return read_media(self.media[name])[0]

    def media_used(self, fields: dict[str, str]) -> list[str]:
        return sorted(name for name in self.media if any(name in v for v in fields.values()))

    def write_package(self, guids: set[str], path: Path) -> None:
        """The course's ``.apkg`` with only these notes (and the note types, decks and media
        they need): what Anki's importer adds with flashgen's GUIDs and note type ids."""
        from flashgen.outputs.apkg import write_apkg
        from flashgen.pipeline.build import build_timestamp

        package = copy.copy(self.package)
        package.decks = [
            (number, name, [row for row in rows if row[1] in guids])
            for number, name, rows in self.package.decks
        ]
        media = {
            name: self.media[name]
            for note in self.notes
            if note.guid in guids
            for name in self.media_used(note.fields)
        }
        write_apkg(package, media, path, build_timestamp())


def course_deck(course_dir: Path) -> tuple[CourseDeck, Diagnostics, int]:
    """Build (in memory) the course's deck as the next ``flashgen build`` would publish it;
    also the publication's warnings, and how many other warnings the course has.

    Raises :class:`~flashgen.diagnostics.CourseError` when the course or its ledger has
    errors; nothing is written.
    """
    import genanki

    published = published_package(course_dir)
    package, changes = published.package, published.publication.changes
    keys = {change.guid: change.key for change in changes.notes}
    current = {
        card.guid: set(cloze_numbers(card.question.text))
        for card in published.study.cards
        if isinstance(card.question, Cloze)
    }
    ledger = published.publication.ledger.notes
    notes = []
    for _, deck, rows in package.decks:
        for kind, guid, fields, tags, due, _ in rows:
            tag_list = tuple(tags.split())
            notes.append(
                CourseNote(
                    key=keys.get(guid, guid),
                    guid=guid,
                    kind=kind,
                    notetype=package.models[kind].name,
                    deck=deck,
                    fields=dict(zip(FIELDS[kind], fields, strict=True)),
                    tags=tag_list,
                    position=due,
                    retired=RETIRED_TAG in tag_list,
                    removed_clozes=tuple(
                        sorted(set(ledger[guid].clozes) - current[guid])
                        if guid in current and guid in ledger
                        else ()
                    ),
                    key_code=_code_of(published.study.course.id, keys.get(guid)),
                )
            )
    notes.sort(key=lambda note: (note.retired, note.position))
    note_types = {
        kind: NoteTypeSpec(
            name=model.name,
            fields=tuple(field["name"] for field in model.fields),
            templates=tuple((t["name"], t["qfmt"], t["afmt"]) for t in model.templates),
            css=model.css,
            cloze=model.model_type == genanki.Model.CLOZE,
            sort_field=model.sort_field_index,
        )
        for kind, model in package.models.items()
    }
    deck = CourseDeck(
        course_id=published.study.course.id,
        parent=package.parent[1],
        notes=tuple(notes),
        note_types=note_types,
        media=dict(published.media),
        package=package,
    )
    # What the student's copy depends on is the ledger's say (kept deck names and the like);
    # the course's own warnings are the instructor's, listed by `flashgen check`.
    ledger_says = published.publication.diagnostics
    deck_warnings = Diagnostics()
    deck_warnings.extend(ledger_says)
    return deck, deck_warnings, len(published.diagnostics) - len(ledger_says)


def _code_of(course_id: str, key: str | None) -> str:
    """The card code of the note ``concept`` or ``concept/question`` (``key``), if known."""
    if key is None:
        return ""
    return card_code(course_id, *key.split("/", 1))
