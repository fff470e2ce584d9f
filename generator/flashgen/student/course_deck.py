"""The course as a student's collection should hold it, from the same pipeline as the deck.

``flashgen sync`` must put into a student's collection exactly what ``flashgen build`` puts
into the ``.apkg`` (fields, GUIDs, decks, tags, note types, learning order) and follow the
same publication ledger (kept deck names, retired notes), so it takes the prepared package of
the build pipeline and only re-reads it into plain values here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flashgen.course.coursefiles import read_media
from flashgen.course.model import Cloze
from flashgen.diagnostics import Diagnostics
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

    @property
    def code(self) -> str:
        return self.fields.get("CardCode", "")


@dataclass(frozen=True)
class CourseDeck:
    course_id: str
    parent: str  #: the course's own deck; chapter decks are below it
    notes: tuple[CourseNote, ...]  #: in learning order, retired notes last
    note_types: dict[str, NoteTypeSpec]  #: by kind
    media: dict[str, Path]

    def media_data(self, name: str) -> bytes:
        return read_media(self.media[name])[0]


def course_deck(course_dir: Path) -> tuple[CourseDeck, Diagnostics]:
    """Build (in memory) the course's deck as the next ``flashgen build`` would publish it.

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
    )
    return deck, published.diagnostics
