"""What ``sync`` and ``progress`` need from a student's Anki, whatever the way in.

:class:`StudentAnki` is a small :class:`typing.Protocol`; the records it returns and takes are
plain frozen dataclasses, so that both transports (a collection file through the official
``anki`` library, and AnkiConnect over HTTP) give the commands exactly the same values.

Conventions every implementation keeps:

* ids are Anki's own (note, card and review ids; review ids are epoch milliseconds);
* searches use Anki's search syntax (``"note:flashgen-basic (algebra)"``, ``tag:course::x``);
* a method that takes ids does nothing for an empty sequence and ignores ids that no longer
  exist; one that returns records returns them in the order of the ids asked for;
* writes never touch scheduling or review history, except :meth:`StudentAnki.reposition_new`
  (new cards only) and :meth:`StudentAnki.suspend` (the queue only);
* a failure is raised as :class:`AnkiUnavailable` with a message fit for the student (a
  collection open in Anki, an unreachable AnkiConnect, a write that did not apply), never as a
  library's own exception.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = [
    "AnkiUnavailable",
    "CardRecord",
    "ImportsPackages",
    "MemoryState",
    "NewNote",
    "NoteRecord",
    "NoteTypeSpec",
    "ReviewRecord",
    "StudentAnki",
]

#: Anki's ``cards.type`` values.
CARD_NEW, CARD_LEARNING, CARD_REVIEW, CARD_RELEARNING = 0, 1, 2, 3
#: Anki's ``cards.queue`` values used here (negative queues are suspended or buried).
QUEUE_SUSPENDED = -1


class AnkiUnavailable(Exception):
    """The student's Anki cannot be read or written; the message says why and what to do."""


@dataclass(frozen=True)
class NoteRecord:
    """A note as the student's collection holds it."""

    id: int
    #: ``""`` where the transport cannot read GUIDs (AnkiConnect): sync then recognises
    #: flashgen's notes by their ``CardCode`` field.
    guid: str
    notetype: str  #: the note type's name, e.g. ``flashgen-basic (algebra)``
    fields: Mapping[str, str]  #: field name to value, in the note type's order
    tags: tuple[str, ...]
    mod: int  #: last modification, epoch seconds


@dataclass(frozen=True)
class MemoryState:
    """FSRS memory state of a card, present when the collection uses FSRS."""

    stability: float  #: days until recall probability falls to 90%
    difficulty: float  #: 1 (easiest) to 10
    #: the forgetting curve's decay (FSRS-6 keeps one per preset); ``None``: FSRS-5's 0.5
    decay: float | None = None


@dataclass(frozen=True)
class CardRecord:
    """A card and its scheduling, read-only."""

    id: int
    note_id: int
    ord: int  #: template ordinal; for a cloze note, cloze number minus one
    deck: str  #: the full deck name, ``Course::Chapter``
    type: int  #: ``CARD_NEW`` … ``CARD_RELEARNING``
    queue: int  #: Anki's queue; ``QUEUE_SUSPENDED`` (-1) when suspended, -2/-3 when buried
    due: int  #: new cards: position; review cards: day number; learning cards: epoch seconds
    interval: int  #: days (negative: seconds, for learning cards in the old scheduler)
    factor: int  #: ease factor in permille (2500 = 250%), 0 for new cards
    reps: int
    lapses: int
    memory: MemoryState | None = None

    @property
    def is_new(self) -> bool:
        return self.type == CARD_NEW

    @property
    def is_suspended(self) -> bool:
        return self.queue == QUEUE_SUSPENDED


@dataclass(frozen=True)
class ReviewRecord:
    """One row of a card's review log (Anki's ``revlog`` table)."""

    id: int  #: epoch milliseconds of the answer
    card_id: int
    ease: int  #: button 1 (Again) to 4 (Easy); 0 for a manual reschedule
    interval: int  #: new interval: days, or negative seconds while learning
    last_interval: int
    factor: int  #: ease factor after the answer, permille
    time: int  #: milliseconds spent on the answer
    type: int  #: 0 learn, 1 review, 2 relearn, 3 filtered, 4 manual, 5 rescheduled


@dataclass(frozen=True)
class NewNote:
    """A note to add. A transport that can set GUIDs keeps this one (it is how a later import of
    the course's ``.apkg`` updates the note instead of duplicating it)."""

    guid: str
    notetype: str
    deck: str
    fields: Mapping[str, str]
    tags: tuple[str, ...]


@dataclass(frozen=True)
class NoteTypeSpec:
    """A note type as the course builds it; added when missing, updated in place otherwise."""

    name: str
    fields: tuple[str, ...]
    templates: tuple[tuple[str, str, str], ...]  #: (name, front, back) per card template
    css: str
    cloze: bool
    sort_field: int = 0


@runtime_checkable
class StudentAnki(Protocol):
    """One student's Anki collection, as ``sync`` and ``progress`` see it."""

    def describe(self) -> str:
        """Where the collection is, for messages: ``collection …/collection.anki2``."""
        ...

    # --- reading -------------------------------------------------------------------------
    def find_notes(self, query: str) -> list[int]:
        """Note ids matching an Anki search."""
        ...

    def find_cards(self, query: str) -> list[int]:
        """Card ids matching an Anki search."""
        ...

    def notes(self, note_ids: Sequence[int]) -> list[NoteRecord]: ...

    def cards(self, card_ids: Sequence[int]) -> list[CardRecord]: ...

    def reviews(self, card_ids: Sequence[int]) -> list[ReviewRecord]:
        """Review log rows of these cards, oldest first."""
        ...

    def note_type_names(self) -> list[str]: ...

    def note_type(self, name: str) -> NoteTypeSpec | None:
        """The note type called ``name`` as the collection has it (``None``: no such type)."""
        ...

    # --- writing (sync only) -------------------------------------------------------------
    def backup(self) -> None:
        """Anki's own backup of the collection, before any write; raise if it cannot be made."""
        ...

    def create_deck(self, name: str) -> None:
        """Create ``name`` (and its parents) unless it exists."""
        ...

    def put_note_type(self, spec: NoteTypeSpec) -> None:
        """Add the note type, or update its templates and style in place (fields are frozen)."""
        ...

    def store_media(self, name: str, data: bytes) -> None:
        """Put a file into the collection's media folder under exactly ``name`` unless a file
        of that name is there (flashgen's media names are content hashes)."""
        ...

    def add_notes(self, notes: Sequence[NewNote]) -> list[int]:
        """Add notes (their cards go into ``NewNote.deck``); returns the new note ids."""
        ...

    def update_fields(self, note_id: int, fields: Mapping[str, str]) -> None:
        """Set these fields of a note; other fields, tags and cards stay as they are."""
        ...

    def add_tags(self, note_ids: Sequence[int], tags: Sequence[str]) -> None:
        """Add tags to notes, keeping every tag they already have."""
        ...

    def remove_tags(self, note_ids: Sequence[int], tags: Sequence[str]) -> None:
        """Remove exactly these tags (sync only ever removes flashgen's own, never a student's)."""
        ...

    def set_deck(self, card_ids: Sequence[int], deck: str) -> None:
        """Move cards into ``deck`` (created if missing); scheduling is untouched."""
        ...

    def suspend(self, card_ids: Sequence[int]) -> None: ...

    def delete_notes(self, note_ids: Sequence[int]) -> None:
        """Delete notes with their cards (and so their review history)."""
        ...

    def reposition_new(self, card_ids: Sequence[int], start: int) -> None:
        """Give these new cards the positions ``start, start+1, …`` in the order given, without
        shifting other cards; cards that are not new are left alone."""
        ...

    def close(self) -> None:
        """Save and release the collection (a no-op for AnkiConnect)."""
        ...


@runtime_checkable
class ImportsPackages(Protocol):
    """A transport that can also run Anki's own importer (the collection file can).

    Sync then adds new notes as an ``.apkg`` of just those notes, which keeps flashgen's GUIDs
    and note type ids, so that a later import of the course's deck updates them in place;
    otherwise it adds them through :meth:`StudentAnki.add_notes`.
    """

    def import_package(self, path: Path) -> None:
        """Import an ``.apkg`` with Anki's importer and its default options."""
        ...
