"""``flashgen sync``: bring one student's collection in line with the course.

An ``.apkg`` import can only add notes and overwrite them whole. Sync does what an import
cannot, and nothing else:

* adds the course's new notes (with their GUIDs, into their concept's deck);
* updates changed notes' fields only, and adds flashgen's tags to the student's own (no
  student tag, flag or note is ever removed, but a retired note with ``--delete-retired``);
* updates the course's note types (templates and style);
* suspends retired notes' cards (deletes the notes with ``--delete-retired``);
* moves cards out of an old deck of the course (a renamed chapter or course deck) into their
  concept's current deck; a deck of the student's own that holds other cards too is left;
* gives the course's *new* cards positions in the course's learning order. Reviewed cards'
  scheduling and every review log row are never touched.

:func:`make_plan` reads the collection and says what would change, in the words of
``flashgen diff``; :func:`apply_plan` does it after Anki's own backup, then plans again to
verify: whatever is still to do is reported as not applied.
"""

from __future__ import annotations

import itertools
import tempfile
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flashgen.diagnostics import CourseError, plural
from flashgen.outputs.ledger import RETIRED_TAG
from flashgen.student.course_deck import CourseDeck, CourseNote, course_deck
from flashgen.student.transport import (
    AnkiUnavailable,
    CardRecord,
    ImportsPackages,
    NewNote,
    NoteRecord,
    NoteTypeSpec,
    StudentAnki,
)


@dataclass
class NotePlan:
    """What sync does to one note of the course, as ``flashgen diff`` words it."""

    key: str
    status: str  #: "new", "updated", "unchanged", "retired", "delete" or "skipped"
    details: tuple[str, ...] = ()


@dataclass
class SyncPlan:
    where: str
    notes: list[NotePlan] = field(default_factory=list)
    note_types: list[tuple[str, NoteTypeSpec, bool]] = field(default_factory=list)
    add: list[NewNote] = field(default_factory=list)
    update: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    tag: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)
    untag: list[int] = field(default_factory=list)  #: notes back in the course: retired tag off
    move: dict[str, list[int]] = field(default_factory=dict)  #: target deck to card ids
    moved_from: dict[tuple[str, str], int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)  #: the student's own decks
    suspend: list[int] = field(default_factory=list)
    delete: list[int] = field(default_factory=list)
    reposition: dict[int, int] = field(default_factory=dict)  #: new card id to its position
    reposition_count: int = 0  #: cards whose position changes (new notes' cards included)

    @property
    def empty(self) -> bool:
        return not (
            self.note_types or self.add or self.update or self.tag or self.untag or self.move
            or self.suspend or self.delete or self.reposition_count
        )  # fmt: skip

    def count(self, status: str) -> int:
        return sum(1 for note in self.notes if note.status == status)

    def summary(self) -> str:
        parts = [f"{self.count(status)} {status}" for status in ("new", "updated", "unchanged")]
        retired = self.count("retired") + self.count("delete")
        text = f"{self.where}: " + ", ".join(parts) + f", {retired} retired notes"
        if self.count("skipped"):
            text += f" ({self.count('skipped')} skipped)"
        moves = sum(len(ids) for ids in self.move.values())
        if moves:
            text += f"; {plural(moves, 'card')} to move"
        if self.note_types:
            text += f"; {plural(len(self.note_types), 'note type')} to change"
        if self.reposition_count:
            text += f"; {plural(self.reposition_count, 'new card')} to reposition"
        return text

    def render_text(self) -> str:
        lines = [self.summary()]
        for status in ("new", "updated", "retired", "delete", "skipped"):
            for note in self.notes:
                if note.status == status and (note.details or status != "retired"):
                    extra = f" ({', '.join(note.details)})" if note.details else ""
                    lines.append(f"  {status:8} {note.key}{extra}")
        for (old, new), count in sorted(self.moved_from.items()):
            lines.append(f"  deck     '{old}' -> '{new}' ({plural(count, 'card')} move)")
        for deck, count in sorted(self.kept.items()):
            lines.append(f"  kept     {plural(count, 'card')} in '{deck}' (the student's own deck)")
        for kind, _, added in self.note_types:
            lines.append(
                f"  notetype {kind}: " + ("added" if added else "templates or style changed")
            )
        if self.reposition_count:
            lines.append(
                f"  order    {plural(self.reposition_count, 'new card')} into the course's "
                "learning order (reviewed cards keep their schedule)"
            )
        return "\n".join(lines)


def _escape(text: str) -> str:
    """Text inside a quoted Anki search term, matched literally."""
    for char in '\\"*_':
        text = text.replace(char, "\\" + char)
    return text


def course_query(course_id: str) -> str:
    """Every note of the course: its note types, or its course tag (the student may have
    changed either, hardly both)."""
    course = _escape(course_id)
    return f'("note:flashgen-* ({course})" OR "tag:course::{course}")'


def _same(a: str, b: str) -> bool:
    """Field values as Anki keeps them (it stores text NFC-normalised)."""
    return unicodedata.normalize("NFC", a) == unicodedata.normalize("NFC", b)


def make_plan(deck: CourseDeck, anki: StudentAnki, delete_retired: bool = False) -> SyncPlan:
    plan = SyncPlan(f"sync with {anki.describe()}")

    records = anki.notes(anki.find_notes(course_query(deck.course_id)))
    by_guid: dict[str, NoteRecord] = {}
    by_code: dict[str, NoteRecord] = {}
    for record in records:
        by_guid.setdefault(record.guid, record)
        code = record.fields.get("CardCode")
        if code:
            by_code.setdefault(code, record)
    matched: dict[str, NoteRecord] = {}
    for note in deck.notes:
        record = by_guid.get(note.guid) or (by_code.get(note.code) if note.code else None)
        if record is not None:
            matched[note.guid] = record

    cards_of: dict[int, list[CardRecord]] = defaultdict(list)
    ids = [record.id for record in matched.values()]
    card_ids = anki.find_cards("nid:" + ",".join(map(str, ids))) if ids else []
    for card in anki.cards(card_ids):
        cards_of[card.note_id].append(card)
    course_cards = {card.id for cards in cards_of.values() for card in cards}
    own_deck: dict[str, bool] = {}

    def students_own(name: str) -> bool:
        """A deck that is not one of the course's, old or new: outside the course's deck and
        holding cards of other notes too."""
        if name == deck.parent or name.startswith(deck.parent + "::"):
            return False
        if name not in own_deck:
            inside = anki.find_cards(f'"deck:{_escape(name)}" -"deck:{_escape(name)}::*"')
            own_deck[name] = not set(inside) <= course_cards
        return own_deck[name]

    new_cards_in_order: list[list[CardRecord]] = []
    new_note_cards = 0
    for note in deck.notes:
        record = matched.get(note.guid)
        if record is None:
            if not note.retired:
                plan.add.append(NewNote(note.guid, note.notetype, note.deck, note.fields,
                                        note.tags))  # fmt: skip
                plan.notes.append(NotePlan(note.key, "new"))
                new_note_cards += _card_count(note)
            continue
        cards = sorted(cards_of.get(record.id, []), key=lambda card: card.ord)
        if note.retired:
            _plan_retired(plan, note, record, cards, delete_retired)
            continue
        if record.notetype != note.notetype:
            plan.notes.append(
                NotePlan(note.key, "skipped", (f"note type '{record.notetype}' in the "
                         f"collection, '{note.notetype}' in the course",))
            )  # fmt: skip
            continue
        details: list[str] = []
        changed = {
            name: value
            for name, value in note.fields.items()
            if name in record.fields and not _same(record.fields[name], value)
        }
        if changed:
            plan.update.append((record.id, changed))
            details += list(changed)
        missing = tuple(tag for tag in note.tags if tag.casefold() not in _folded(record.tags))
        if missing:
            plan.tag.append((record.id, missing))
            details.append("tags")
        if RETIRED_TAG.casefold() in _folded(record.tags):
            plan.untag.append(record.id)
            suspended = sum(1 for card in cards if card.is_suspended)
            details.append(
                "back in the course"
                + (f"; unsuspend its {plural(suspended, 'card')} in Anki" if suspended else "")
            )
        gone = [
            card.id
            for card in cards
            if card.ord + 1 in note.removed_clozes and not card.is_suspended
        ]
        if gone:
            plan.suspend += gone
            details.append(f"suspend {plural(len(gone), 'card')} of a removed blank")
        for card in cards:
            if card.deck == note.deck:
                continue
            if students_own(card.deck):
                plan.kept[card.deck] = plan.kept.get(card.deck, 0) + 1
                continue
            plan.move.setdefault(note.deck, []).append(card.id)
            plan.moved_from[(card.deck, note.deck)] = (
                plan.moved_from.get((card.deck, note.deck), 0) + 1
            )
            if "deck" not in details:
                details.append("deck")
        new = [card for card in cards if card.is_new and card.ord + 1 not in note.removed_clozes]
        if new:
            new_cards_in_order.append(new)
        plan.notes.append(NotePlan(note.key, "updated" if details else "unchanged",
                                   tuple(details)))  # fmt: skip
    _plan_order(plan, new_cards_in_order, new_note_cards)
    needed = {note.notetype for note in plan.add}
    for kind, spec in deck.note_types.items():
        have = anki.note_type(spec.name)
        if have is None and spec.name in needed:
            plan.note_types.append((kind, spec, True))
        elif have is not None and _note_type_differs(have, spec):
            plan.note_types.append((kind, spec, False))
    return plan


def _folded(tags: tuple[str, ...]) -> set[str]:
    return {tag.casefold() for tag in tags}  # Anki's tags are case-insensitive


def _card_count(note: CourseNote) -> int:
    if note.kind != "cloze":
        return 1
    from flashgen.outputs.ledger import cloze_numbers

    return max(1, len(cloze_numbers(note.fields["Text"])))


def _note_type_differs(have: NoteTypeSpec, want: NoteTypeSpec) -> bool:
    templates = {name: (front, back) for name, front, back in have.templates}
    return have.css != want.css or any(
        templates.get(name) != (front, back) for name, front, back in want.templates
    )


def _plan_retired(
    plan: SyncPlan,
    note: CourseNote,
    record: NoteRecord,
    cards: list[CardRecord],
    delete_retired: bool,
) -> None:
    if delete_retired:
        plan.delete.append(record.id)
        reviewed = sum(card.reps for card in cards)
        plan.notes.append(NotePlan(note.key, "delete", (
            plural(len(cards), "card"), f"{plural(reviewed, 'review')} so far")))  # fmt: skip
        return
    details = []
    active = [card.id for card in cards if not card.is_suspended]
    if active:
        plan.suspend += active
        details.append(f"suspend {plural(len(active), 'card')}")
    if RETIRED_TAG.casefold() not in _folded(record.tags):
        plan.tag.append((record.id, (RETIRED_TAG,)))
        details.append(f"tag {RETIRED_TAG}")
    plan.notes.append(NotePlan(note.key, "retired", tuple(details)))


def _plan_order(plan: SyncPlan, notes: list[list[CardRecord]], new_note_cards: int) -> None:
    """The new cards' positions in learning order, as the deck gives them: one position per
    note (siblings share it, as in the ``.apkg``), from the course's first new card on.

    ``notes`` holds each note's new cards, notes in learning order. Cards already in that
    order (positions rising from note to note) stay where they are.
    """
    cards = [card for group in notes for card in group]
    start = min((card.due for card in cards), default=0)
    plan.reposition = {card.id: start + index for index, group in enumerate(notes)
                       for card in group}  # fmt: skip
    in_order = all(
        a.due < b.due or (a.due == b.due and a.note_id == b.note_id)
        for a, b in itertools.pairwise(cards)
    )
    moving = 0 if in_order else sum(1 for c in cards if c.due != plan.reposition[c.id])
    plan.reposition_count = moving + new_note_cards


def _reposition(anki: StudentAnki, plan: SyncPlan, cards: dict[int, int]) -> None:
    """Move the cards whose position differs, one call per run of consecutive positions."""
    wanted = [(position, card_id) for card_id, position in plan.reposition.items()
              if cards.get(card_id) != position]  # fmt: skip
    run: list[int] = []
    first = previous = 0
    for position, card_id in sorted(wanted):
        if run and position != previous + 1:
            anki.reposition_new(run, first)
            run = []
        if not run:
            first = position
        run.append(card_id)
        previous = position
    if run:
        anki.reposition_new(run, first)


def apply_plan(plan: SyncPlan, deck: CourseDeck, anki: StudentAnki) -> None:
    """Do what ``plan`` says, after Anki's own backup of the collection."""
    anki.backup()
    importer = anki.import_package if isinstance(anki, ImportsPackages) else None
    for _, spec, added in plan.note_types:
        if not (added and importer is not None):  # the importer adds them with their ids
            anki.put_note_type(spec)
    for name in sorted({name for _, fields in plan.update for name in deck.media_used(fields)}):
        anki.store_media(name, deck.media_data(name))
    if plan.add and importer is not None:
        with tempfile.TemporaryDirectory(prefix="flashgen-sync-") as folder:
            package = Path(folder) / "new-notes.apkg"
            deck.write_package({note.guid for note in plan.add}, package)
            importer(package)
    elif plan.add:  # a transport without Anki's importer: media and notes one by one
        for name in sorted({name for note in plan.add for name in deck.media_used(note.fields)}):
            anki.store_media(name, deck.media_data(name))
        anki.add_notes(plan.add)
    for note_id, fields in plan.update:
        anki.update_fields(note_id, fields)
    for note_id, tags in plan.tag:
        anki.add_tags([note_id], tags)
    anki.remove_tags(plan.untag, [RETIRED_TAG])
    for target, card_ids in plan.move.items():
        anki.set_deck(card_ids, target)
    anki.suspend(plan.suspend)
    anki.delete_notes(plan.delete)
    # Cards of new notes, and new cards of updated notes, exist only now: place them too.
    after = make_plan(deck, anki)
    for target, card_ids in after.move.items():
        anki.set_deck(card_ids, target)
    anki.suspend(after.suspend)
    if after.reposition_count:
        due = {card.id: card.due for card in anki.cards(list(after.reposition))}
        _reposition(anki, after, due)


def run_sync(
    course_dir: Path,
    collection: str | None,
    anki_connect: str | None,
    apply: bool,
    delete_retired: bool,
    echo: Callable[..., None],
    allow_remote: bool = False,
) -> int:
    """``flashgen sync``: print the plan (and do it with ``apply``); the exit status."""
    from flashgen.student.connect import open_student_anki

    try:
        deck, diag, others = course_deck(course_dir)
    except CourseError as error:
        echo(error.diagnostics.render_text(), err=True)
        echo(f"{course_dir}: {error.diagnostics.summary()}; nothing synced", err=True)
        return 1
    if len(diag):
        echo(diag.render_text(), err=True)
    if others:
        echo(f"{course_dir}: {plural(others, 'warning')} about the course itself "
             "(`flashgen check` lists them)", err=True)  # fmt: skip
    try:
        anki = open_student_anki(collection, anki_connect, allow_remote=allow_remote)
    except AnkiUnavailable as error:
        echo(f"error: {error}", err=True)
        return 1
    try:
        plan = make_plan(deck, anki, delete_retired)
        echo(plan.render_text())
        if plan.empty:
            echo("nothing to do: the collection is in step with the course")
            return 0
        if not apply:
            echo("dry run: nothing changed (--apply does it, after Anki's own backup)")
            return 0
        apply_plan(plan, deck, anki)
        left = make_plan(deck, anki)
        if not left.empty:
            echo("error: part of the plan did not apply:", err=True)
            echo(left.render_text(), err=True)
            return 1
        echo("done (Anki's backup of the collection was made first)")
        return 0
    except AnkiUnavailable as error:
        echo(f"error: {error}", err=True)
        return 1
    finally:
        anki.close()
