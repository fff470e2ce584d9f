"""A term of rebuilds, lived by a student with the official ``anki`` package.

The instructor keeps ``tests/courses/semester`` (three chapters whose titles sort against the
course order) in a folder and edits it in place between builds, as in a git checkout; the
build keeps the course's publication ledger there. The student imports every build with
Anki's default import options, studies with the real scheduler, tags and marks notes, and has
a second flashgen course with its own style in the same collection. After every import:
review history and scheduling unchanged, the student's tags intact on every note the
instructor did not change, changed notes updated, retired notes marked, no duplicates, no
split decks, new cards in prerequisite order, the other course untouched.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from anki.collection import Collection

from ankitools import answer_cards, import_apkg, note_by_guid
from flashgen.course.graph import prerequisite_map
from flashgen.diagnostics import Location
from flashgen.outputs.identity import note_guid
from flashgen.outputs.ledger import LEDGER_NAME, RETIRED_TAG
from flashgen.pipeline.build import build
from flashgen.pipeline.load import load_course
from support import COURSES, concept_yaml, write_course

SEMESTER = COURSES / "semester"
COURSE_ID = "semester-demo"
DECKS = {
    "Semester Demo",
    "Semester Demo::01 Introduction",
    "Semester Demo::02 Core Ideas",
    "Semester Demo::03 Advanced Topics",
}
FIRST, LATER = 1_700_000_000, 1_700_604_800
OTHER_STYLE = ".card { background: #ffe4f1; } /* the other course's own look */\n"


def guid(concept: str, question: str | None = None) -> str:
    return (
        note_guid(COURSE_ID, concept)
        if question is None
        else note_guid(COURSE_ID, concept, question)
    )


def publish(course: Path, output: Path, epoch: int, monkeypatch) -> Path:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(epoch))
    (deck,) = build(course, output, only=("apkg",)).written
    return deck


def all_cards(col: Collection) -> list[tuple]:
    return sorted(
        col.db.all(
            "select id, nid, did, ord, type, queue, due, ivl, factor, reps, lapses, left from cards"
        )
    )


def notes_by_guid(col: Collection) -> dict[str, tuple[list[str], list[str]]]:
    """Every note's fields and tags, by GUID."""
    result = {}
    for nid in col.find_notes(""):
        note = col.get_note(nid)
        result[note.guid] = (list(note.fields), sorted(note.tags))
    return result


def semester_decks(col: Collection) -> set[str]:
    return {d.name for d in col.decks.all_names_and_ids() if d.name.startswith("Semester")}


def concept_of(col: Collection, card_id: int) -> str | None:
    tags = col.get_card(card_id).note().tags
    return next((t.split("::", 1)[1] for t in tags if t.startswith("concept::")), None)


def assert_prerequisite_order(course_dir: Path, concepts: list[str | None]) -> None:
    """Each concept's first card comes after the first card of each of its prerequisites."""
    course, _ = load_course(course_dir)
    first = {}
    for index, concept in enumerate(concepts):
        if concept is not None:
            first.setdefault(concept, index)
    for concept, prerequisites in prerequisite_map(course).items():
        for prerequisite in prerequisites:
            if concept in first and prerequisite in first:
                assert first[prerequisite] < first[concept], (prerequisite, concept, concepts)


def new_cards_served(deck_file: Path, tmp_path: Path, name: str) -> list[str | None]:
    """A new student imports ``deck_file`` and takes every new card the scheduler serves
    from the top deck, one by one (answered Easy, so that each leaves the day's queue)."""
    folder = tmp_path / name
    folder.mkdir()
    col = Collection(str(folder / "collection.anki2"))
    try:
        import_apkg(col, deck_file)
        col.decks.select(col.decks.id_for_name("Semester Demo"))
        served = []
        for _ in range(100):
            card = col.sched.getCard()
            if card is None:
                break
            assert card.type == 0, "only new cards are due for a new student"
            served.append(concept_of(col, card.id))
            col.sched.answerCard(card, 4)
        assert col.card_count() == len(served)  # the default daily limit (20) is not reached
        return served
    finally:
        col.close()


def queued_new_cards(col: Collection) -> list[str | None]:
    """The concepts of the student's remaining new cards, in the order the scheduler would show
    them; concepts the student has already met (a card studied) are left out."""
    from anki.scheduler_pb2 import QueuedCards

    met = {concept_of(col, cid) for cid in col.find_cards("-is:new")}
    col.decks.select(col.decks.id_for_name("Semester Demo"))
    queued = col.sched.get_queued_cards(fetch_limit=200)
    concepts = [
        concept_of(col, entry.card.id) for entry in queued.cards if entry.queue == QueuedCards.NEW
    ]
    assert concepts, "the student has new cards left"
    return [concept for concept in concepts if concept not in met]


@pytest.fixture
def student(tmp_path):
    (tmp_path / "student").mkdir()
    col = Collection(str(tmp_path / "student" / "collection.anki2"))
    yield col
    col.close()


def other_course(tmp_path: Path, monkeypatch) -> Path:
    """A second flashgen course, with its own style, published once."""
    root = write_course(
        tmp_path / "other",
        {"basics/alpha.yaml": concept_yaml("alpha", extra=BASIC_QUESTION)},
    )
    (root / "templates" / "anki").mkdir(parents=True)
    (root / "templates" / "anki" / "style.css").write_text(OTHER_STYLE)
    return publish(root, tmp_path / "other-out", FIRST, monkeypatch)


BASIC_QUESTION = """questions:
  - id: what
    type: basic
    front: What is alpha?
    back: The first letter.
"""


def note_type_css(col: Collection) -> dict[str, str]:
    return {m["name"]: m["css"] for m in col.models.all() if m["name"].startswith("flashgen-")}


def test_a_semester_of_rebuilds(tmp_path, student, monkeypatch):
    course = tmp_path / "course"
    shutil.copytree(SEMESTER, course)

    # --- Week 1: publish, import, study, tag and mark --------------------------------------
    v1 = publish(course, tmp_path / "v1", FIRST, monkeypatch)
    assert (course / LEDGER_NAME).is_file()
    log = import_apkg(student, v1)
    assert len(log.new) == student.note_count() == 12
    assert semester_decks(student) == DECKS
    served = new_cards_served(v1, tmp_path, "fresh-v1")
    assert served[0] == "tokens" and "kv-cache" in served
    assert_prerequisite_order(course, served)

    reviewed = answer_cards(student, "Semester Demo", [3, 4, 3, 1])
    assert_prerequisite_order(course, [concept_of(student, cid) for cid in reviewed])
    # A student's own change (a tag too) makes the note newer in their collection than the
    # pinned SOURCE_DATE_EPOCH of the next build, which Anki's importer then skips for that
    # note: the student tags the notes the instructor leaves alone this time.
    week5_changes = {
        guid("attention", "why-scale"), guid("tokens", "token-parts"), guid("embeddings"),
        guid("attention", "weights-sum"),
    }  # fmt: skip
    for nid in student.find_notes(""):
        note = student.get_note(nid)
        if note.guid not in week5_changes:
            note.add_tag("my-exam")
            student.update_note(note)
    marked = [guid("tokens"), guid("vocabulary", "fixed-size"), guid("tokens", "what-is-a-token")]
    for note_guid_ in marked:
        note = note_by_guid(student, note_guid_)
        note.add_tag("marked")
        student.update_note(note)

    other = other_course(tmp_path, monkeypatch)
    import_apkg(student, other)
    other_notes = {g: v for g, v in notes_by_guid(student).items() if "course::tiny" in v[1]}
    other_css = {n: css for n, css in note_type_css(student).items() if "(tiny)" in n}
    assert other_css and all("#ffe4f1" in css for css in other_css.values())

    def after_import(log, changed: set[str], new: set[str], retired: set[str]) -> None:
        updated = {student.get_note(entry.id.nid).guid for entry in log.updated}
        assert updated == changed | retired
        assert {student.get_note(entry.id.nid).guid for entry in log.new} == new
        assert not log.conflicting
        # No duplicates, no split decks; every earlier card exactly where and as it was.
        assert student.db.scalar("select count() - count(distinct guid) from notes") == 0
        assert semester_decks(student) == DECKS
        assert [row for row in all_cards(student) if row[0] in cards_before] == before
        assert student.db.scalar("select count() from revlog") == revlog
        # The student's tags survive on every note the instructor did not change.
        now = notes_by_guid(student)
        for note, (fields, tags) in snapshot.items():
            if note in changed | retired:
                continue
            assert now[note] == (fields, tags), note
        for note in retired:
            assert RETIRED_TAG in now[note][1]
            assert "removed from the course" in now[note][0][0]
        # The other course: its notes and its style untouched, and not ours.
        assert {g: v for g, v in now.items() if "course::tiny" in v[1]} == other_notes
        css = note_type_css(student)
        assert {n: c for n, c in css.items() if "(tiny)" in n} == other_css
        assert not any("#ffe4f1" in c for n, c in css.items() if COURSE_ID in n)
        assert_prerequisite_order(course, queued_new_cards(student))

    def take_snapshot():
        rows = all_cards(student)
        return (
            rows,
            {row[0] for row in rows},
            notes_by_guid(student),
            student.db.scalar("select count() from revlog"),
        )

    before, cards_before, snapshot, revlog = take_snapshot()
    assert revlog == 4

    # --- Week 5: the instructor edits in place; the build keeps SOURCE_DATE_EPOCH ----------
    attention = course / "core" / "attention.yaml"
    text = attention.read_text()
    text = text.replace("To keep the softmax from saturating.", "To keep softmax unsaturated.")
    text = text[: text.index("  - id: weights-sum")]  # a question removed
    attention.write_text(text)
    tokens = course / "intro" / "tokens.yaml"
    tokens.write_text(tokens.read_text().replace("{{c2::tokens}}", "tokens"))  # a deletion gone
    (course / "advanced" / "sampling.yaml").write_text(
        concept_yaml("sampling", ("embeddings",), chapter="advanced", extra=BASIC_QUESTION)
    )
    course_yaml = course / "course.yaml"
    course_yaml.write_text(course_yaml.read_text().replace("Core Ideas", "Core Concepts"))

    v2 = publish(course, tmp_path / "v2", FIRST, monkeypatch)  # same SOURCE_DATE_EPOCH
    log = import_apkg(student, v2)
    after_import(
        log,
        changed={guid("attention", "why-scale"), guid("tokens", "token-parts"), guid("embeddings")},
        new={guid("sampling"), guid("sampling", "what")},
        retired={guid("attention", "weights-sum")},
    )
    assert "unsaturated" in note_by_guid(student, guid("attention", "why-scale"))["Back"]
    assert student.find_notes(f"tag:{RETIRED_TAG}") == [
        note_by_guid(student, guid("attention", "weights-sum")).id
    ]
    sampling = note_by_guid(student, guid("sampling"))
    assert {student.decks.name(card.did) for card in sampling.cards()} == {
        "Semester Demo::03 Advanced Topics"
    }
    parts = note_by_guid(student, guid("tokens", "token-parts"))
    c2 = next(card for card in parts.cards() if card.ord == 1)
    assert "[removed]" in c2.question() and "This blank was removed" in c2.answer()
    c1 = next(card for card in parts.cards() if card.ord == 0)
    assert 'class="fg-removed-cloze"><span class="cloze-inactive"' in c1.question()
    served = new_cards_served(v2, tmp_path, "fresh-v2")
    assert_prerequisite_order(course, served)
    # A new student meets the retired card (it has no concept tag) after every concept of its
    # chapter (decks are gathered one by one), never first.
    assert served.index(None) > max(served.index("embeddings"), served.index("attention"))
    assert served.index("sampling") > served.index("embeddings")

    # --- Week 9: one more edit, a later SOURCE_DATE_EPOCH ----------------------------------
    before, cards_before, snapshot, revlog = take_snapshot()
    tokens.write_text(tokens.read_text().replace("as one unit.", "as a single unit."))
    later = max(LATER, int(time.time()) + 60)  # as a CI's commit time after the student's tags
    v3 = publish(course, tmp_path / "v3", later, monkeypatch)
    log = import_apkg(student, v3)
    after_import(
        log,
        changed={guid("tokens", "what-is-a-token"), guid("tokens")},
        new=set(),
        retired=set(),
    )
    assert "marked" in note_by_guid(student, guid("vocabulary", "fixed-size")).tags
    # What Anki cannot keep: an update replaces the note's tags (README says so).
    what = note_by_guid(student, guid("tokens", "what-is-a-token"))
    assert "single unit" in what["Back"] and "marked" not in what.tags


def test_without_ledger_the_build_warns_and_every_note_updates(tmp_path, student, monkeypatch):
    course = tmp_path / "course"
    shutil.copytree(SEMESTER, course)
    import_apkg(student, publish(course, tmp_path / "v1", FIRST, monkeypatch))
    answer_cards(student, "Semester Demo", [3, 3])
    rows = all_cards(student)
    (course / LEDGER_NAME).unlink()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(LATER))
    result = build(course, tmp_path / "v2", only=("apkg",))
    (warning,) = result.diagnostics.warnings
    assert warning.location == Location(course / "course.yaml", 3, 5)
    assert "no publication ledger" in warning.message and "every note" in warning.message
    log = import_apkg(student, result.written[0])
    assert len(log.updated) == student.note_count() == 12 and not log.new
    assert all_cards(student) == rows


def test_two_builds_from_the_same_state_are_byte_identical(tmp_path, monkeypatch):
    course = tmp_path / "course"
    shutil.copytree(SEMESTER, course)
    first = publish(course, tmp_path / "a", FIRST, monkeypatch).read_bytes()
    ledger = (course / LEDGER_NAME).read_bytes()
    again = publish(course, tmp_path / "b", FIRST, monkeypatch).read_bytes()
    assert again == first and (course / LEDGER_NAME).read_bytes() == ledger
    # The full build (deck and PDFs) writes the same deck as the deck-only, cached build.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(FIRST))
    full = build(course, tmp_path / "c")
    assert (tmp_path / "c" / "semester-demo.apkg").read_bytes() == first
    assert full.changes is not None and full.changes.count("unchanged") == 12
