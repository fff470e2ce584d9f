""":class:`StudentAnki` on a collection file, through the official ``anki`` library.

For a student whose Anki is closed. Anki's backend opens its collection with SQLite's
exclusive locking mode and holds the lock for as long as the collection is open, so a
collection that Anki (or anything else) has open cannot take a write lock: that is checked
before opening, and the open itself is refused the same way should Anki start in between.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flashgen.student.profiles import ProfileError, find_collection
from flashgen.student.transport import (
    AnkiUnavailable,
    CardRecord,
    MemoryState,
    NewNote,
    NoteRecord,
    NoteTypeSpec,
    ReviewRecord,
)

if TYPE_CHECKING:
    from anki.collection import Collection

BACKUP_FOLDER = "backups"


def _in_use_message(path: Path) -> str:
    return (
        f"{path}: the collection is open in Anki (or another program); close Anki and run "
        "again, or use --anki-connect while Anki is open"
    )


def check_not_open(path: Path) -> None:
    """Raise :class:`AnkiUnavailable` if another program holds the collection open."""
    try:
        db = sqlite3.connect(str(path), timeout=0, isolation_level=None)
    except sqlite3.Error as error:
        raise AnkiUnavailable(f"{path}: cannot open the collection ({error})") from None
    try:
        db.execute("begin immediate")
        db.execute("rollback")
    except sqlite3.OperationalError as error:
        if "locked" in str(error) or "busy" in str(error):
            raise AnkiUnavailable(_in_use_message(path)) from None
        raise AnkiUnavailable(f"{path}: not an Anki collection ({error})") from None
    except sqlite3.DatabaseError as error:
        raise AnkiUnavailable(f"{path}: not an Anki collection ({error})") from None
    finally:
        db.close()


class CollectionFile:
    """A student's collection file, open for the life of this object (use :meth:`close`)."""

    def __init__(self, path: Path):
        try:
            from anki.collection import Collection
            from anki.errors import DBError
        except ImportError:
            raise AnkiUnavailable(
                "reading a collection file needs the official `anki` package: "
                "pip install 'flashgen[preview]'"
            ) from None
        self.path = path
        if not path.is_file():
            raise AnkiUnavailable(f"{path}: no such collection file")
        check_not_open(path)
        try:
            self.col: Collection = Collection(str(path))
        except DBError:
            raise AnkiUnavailable(_in_use_message(path)) from None
        except Exception as error:  # the backend's own errors: a damaged or foreign file
            raise AnkiUnavailable(f"{path}: cannot open the collection ({error})") from None

    @classmethod
    def find(cls, name: str | None, base: Path | None = None) -> CollectionFile:
        """Open ``--collection NAME``: a file, a profile folder or name, or the default."""
        try:
            return cls(find_collection(name, base))
        except ProfileError as error:
            raise AnkiUnavailable(str(error)) from None

    def describe(self) -> str:
        return f"collection {self.path}"

    # --- reading -------------------------------------------------------------------------
    def find_notes(self, query: str) -> list[int]:
        return [int(i) for i in self.col.find_notes(query)]

    def find_cards(self, query: str) -> list[int]:
        return [int(i) for i in self.col.find_cards(query)]

    def notes(self, note_ids: Sequence[int]) -> list[NoteRecord]:
        records = []
        for note_id in note_ids:
            note = self._note(note_id)
            if note is None:
                continue
            records.append(
                NoteRecord(
                    id=int(note.id),
                    guid=note.guid,
                    notetype=note.note_type()["name"],  # type: ignore[index]
                    fields=dict(note.items()),
                    tags=tuple(note.tags),
                    mod=int(note.mod),
                )
            )
        return records

    def cards(self, card_ids: Sequence[int]) -> list[CardRecord]:
        records = []
        for card_id in card_ids:
            card = self._card(card_id)
            if card is None:
                continue
            state = card.memory_state
            records.append(
                CardRecord(
                    id=int(card.id),
                    note_id=int(card.nid),
                    ord=card.ord,
                    deck=self.col.decks.name(card.odid or card.did),
                    type=int(card.type),
                    queue=int(card.queue),
                    due=int(card.odue if card.odid else card.due),
                    interval=card.ivl,
                    factor=card.factor,
                    reps=card.reps,
                    lapses=card.lapses,
                    memory=None
                    if state is None
                    else MemoryState(float(state.stability), float(state.difficulty), card.decay),
                )
            )
        return records

    def reviews(self, card_ids: Sequence[int]) -> list[ReviewRecord]:
        rows: list[Any] = []
        ids = [int(i) for i in card_ids]
        for start in range(0, len(ids), 500):
            chunk = ",".join(map(str, ids[start : start + 500]))
            rows += self.col.db.all(
                "select id, cid, ease, ivl, lastIvl, factor, time, type from revlog "
                f"where cid in ({chunk})"
            )
        return [ReviewRecord(*map(int, row)) for row in sorted(rows)]

    def note_type_names(self) -> list[str]:
        return [entry.name for entry in self.col.models.all_names_and_ids()]

    def note_type(self, name: str) -> NoteTypeSpec | None:
        model = self.col.models.by_name(name)
        if model is None:
            return None
        return NoteTypeSpec(
            name=model["name"],
            fields=tuple(field["name"] for field in model["flds"]),
            templates=tuple((t["name"], t["qfmt"], t["afmt"]) for t in model["tmpls"]),
            css=model["css"],
            cloze=model["type"] == 1,
            sort_field=model["sortf"],
        )

    # --- writing -------------------------------------------------------------------------
    def backup(self) -> None:
        folder = self.path.parent / BACKUP_FOLDER
        folder.mkdir(exist_ok=True)
        try:
            self.col.create_backup(backup_folder=str(folder), force=True, wait_for_completion=True)
        except Exception as error:
            raise AnkiUnavailable(
                f"{folder}: Anki's backup failed ({error}); nothing changed"
            ) from None

    def create_deck(self, name: str) -> None:
        self._deck_id(name)

    def put_note_type(self, spec: NoteTypeSpec) -> None:
        models = self.col.models
        existing = models.by_name(spec.name)
        if existing is None:
            model = models.new(spec.name)
            model["type"] = 1 if spec.cloze else 0
            for name in spec.fields:
                models.add_field(model, models.new_field(name))
            for name, front, back in spec.templates:
                template = models.new_template(name)
                template["qfmt"], template["afmt"] = front, back
                models.add_template(model, template)
            model["css"] = spec.css
            model["sortf"] = spec.sort_field
            models.add_dict(model)
            return
        changed = existing["css"] != spec.css
        existing["css"] = spec.css
        by_name = {template["name"]: template for template in existing["tmpls"]}
        for name, front, back in spec.templates:
            template = by_name.get(name)
            if template is None:
                template = models.new_template(name)
                models.add_template(existing, template)
            if (template["qfmt"], template["afmt"]) != (front, back):
                template["qfmt"], template["afmt"] = front, back
                changed = True
        have = {field["name"] for field in existing["flds"]}
        for name in spec.fields:
            if name not in have:
                models.add_field(existing, models.new_field(name))
                changed = True
        if changed:
            models.update_dict(existing)

    def store_media(self, name: str, data: bytes) -> None:
        if not self.col.media.have(name):
            self.col.media.write_data(name, data)

    def import_package(self, path: Path) -> None:
        from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest

        request = ImportAnkiPackageRequest(
            package_path=str(path), options=ImportAnkiPackageOptions()
        )
        self.col.import_anki_package(request)
        self.col.models._clear_cache()  # the Python side is not told of imported note types

    def add_notes(self, notes: Sequence[NewNote]) -> list[int]:
        from anki.collection import AddNoteRequest

        requests = []
        for spec in notes:
            model = self.col.models.by_name(spec.notetype)
            if model is None:
                raise AnkiUnavailable(f"{self.path}: no note type {spec.notetype!r}")
            note = self.col.new_note(model)
            for name, value in spec.fields.items():
                note[name] = value
            note.guid = spec.guid
            note.tags = list(spec.tags)
            requests.append(AddNoteRequest(note=note, deck_id=self._deck_id(spec.deck)))
        if requests:
            self.col.add_notes(requests)  # one transaction
        return [int(request.note.id) for request in requests]

    def update_fields(self, note_id: int, fields: Mapping[str, str]) -> None:
        note = self._note(note_id)
        if note is None:
            return
        if all(note[name] == value for name, value in fields.items()):
            return
        for name, value in fields.items():
            note[name] = value
        self.col.update_note(note)

    def add_tags(self, note_ids: Sequence[int], tags: Sequence[str]) -> None:
        if note_ids and tags:
            self.col.tags.bulk_add([int(i) for i in note_ids], " ".join(tags))

    def remove_tags(self, note_ids: Sequence[int], tags: Sequence[str]) -> None:
        if note_ids and tags:
            self.col.tags.bulk_remove([int(i) for i in note_ids], " ".join(tags))

    def set_deck(self, card_ids: Sequence[int], deck: str) -> None:
        if card_ids:
            self.col.set_deck([int(i) for i in card_ids], self._deck_id(deck))

    def suspend(self, card_ids: Sequence[int]) -> None:
        if card_ids:
            self.col.sched.suspend_cards([int(i) for i in card_ids])

    def delete_notes(self, note_ids: Sequence[int]) -> None:
        if note_ids:
            self.col.remove_notes([int(i) for i in note_ids])

    def reposition_new(self, card_ids: Sequence[int], start: int) -> None:
        new = {record.id for record in self.cards(card_ids) if record.is_new}
        position = start
        for card_id in card_ids:
            if card_id in new:  # one call each: Anki keeps the cards' own order within a call
                self.col.sched.reposition_new_cards(
                    [card_id], starting_from=position, step_size=1, randomize=False,
                    shift_existing=False,
                )  # fmt: skip
            position += 1

    def close(self) -> None:
        if getattr(self, "col", None) is not None:
            self.col.close()
            self.col = None  # type: ignore[assignment]

    # --- helpers -------------------------------------------------------------------------
    def _note(self, note_id: int) -> Any:
        from anki.errors import NotFoundError

        try:
            return self.col.get_note(note_id)  # type: ignore[arg-type]
        except NotFoundError:
            return None

    def _card(self, card_id: int) -> Any:
        from anki.errors import NotFoundError

        try:
            return self.col.get_card(card_id)  # type: ignore[arg-type]
        except NotFoundError:
            return None

    def _deck_id(self, name: str) -> int:
        deck_id = self.col.decks.id(name, create=True)
        assert deck_id is not None
        return int(deck_id)
