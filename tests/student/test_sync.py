"""``flashgen sync`` on a student's collection after a semester, with the official ``anki``.

The student imports the first build of ``tests/courses/semester``, studies with the real
scheduler, adds tags of their own, flags a card and marks a note. Over the term the course
becomes ``tests/courses/semester-later`` (chapter 'core' renamed and published with
``--rename-decks``, concept 'kv-cache' removed, 'characters' added as a prerequisite of
'tokens', 'sampling' added, a question reworded, a cloze blank removed). Then sync brings
the collection in line.
"""

from __future__ import annotations

import pickle
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest
from anki.collection import Collection
from click.testing import CliRunner

from ankitools import answer_cards, import_apkg
from flashgen.cli import main
from flashgen.outputs.cards import study_cards
from flashgen.outputs.identity import note_guid
from flashgen.outputs.ledger import RETIRED_TAG
from flashgen.pipeline.build import build
from flashgen.pipeline.load import load_course
from support import COURSES

COURSE_ID = "semester-demo"
FIRST, LATER = 1_700_000_000, 1_700_604_800
OLD_DECK = "Semester Demo::02 Core Ideas"
NEW_DECK = "Semester Demo::02 Central Ideas"
FLAG_RED = 1


def guid(concept: str, question: str | None = None) -> str:
    if question is None:
        return note_guid(COURSE_ID, concept)
    return note_guid(COURSE_ID, concept, question)


@dataclass(frozen=True)
class Term:
    course: Path
    collection: Path  #: the student's collection before sync (copy it, do not change it)
    reviewed: tuple[int, ...]  #: card ids the student studied


@pytest.fixture(scope="module")
def term(tmp_path_factory: pytest.TempPathFactory) -> Term:
    root = tmp_path_factory.mktemp("term")
    course = root / "course"
    shutil.copytree(COURSES / "semester", course)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", str(FIRST))
        (deck,) = build(course, root / "v1", only=("apkg",)).written
        (root / "student").mkdir()
        col = Collection(str(root / "student" / "collection.anki2"))
        try:
            import_apkg(col, deck)
            reviewed = answer_cards(col, "Semester Demo", [4, 4, 3, 4, 1, 4, 4])
            for note_id in col.find_notes(""):
                note = col.get_note(note_id)
                note.add_tag("my-exam")
                col.update_note(note)
            for key in (("attention", "why-scale"), ("kv-cache",)):
                note = col.get_note(col.db.scalar("select id from notes where guid=?", guid(*key)))
                note.add_tag("marked")
                col.update_note(note)
            col.set_user_flag_for_cards(FLAG_RED, reviewed[:2])
        finally:
            col.close()
        # The term's edits, made in place (the ledger stays), then published.
        for path in course.rglob("*.yaml"):
            path.unlink()
        shutil.copytree(COURSES / "semester-later", course, dirs_exist_ok=True)
        patch.setenv("SOURCE_DATE_EPOCH", str(LATER))
        build(course, root / "v2", only=("apkg",), rename_decks=True)
    return Term(course, root / "student" / "collection.anki2", tuple(reviewed))


@pytest.fixture
def student(term: Term, tmp_path: Path) -> Path:
    """A copy of the student's collection for one test."""
    folder = tmp_path / "profile"
    folder.mkdir()
    shutil.copy(term.collection, folder / "collection.anki2")
    return folder / "collection.anki2"


def sync(course: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["sync", str(course), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def dump(path: Path) -> dict[str, list[tuple]]:
    """Every row of the tables sync may change, and of the review log, in id order."""
    with sqlite3.connect(path) as db:
        return {
            table: db.execute(f"select * from {table} order by 1").fetchall()
            for table in ("notes", "cards", "revlog", "decks", "notetypes", "templates")
        }


def card_rows(col: Collection, query: str) -> list[tuple]:
    return col.db.all(
        "select id, type, queue, due, ivl, factor, reps, lapses, left, flags, data from cards "
        f"where id in ({','.join(map(str, col.find_cards(query)))}) order by id"
    )


def note_of(col: Collection, *key: str):
    return col.get_note(col.db.scalar("select id from notes where guid=?", guid(*key)))


def test_the_plan_is_printed_and_a_dry_run_changes_nothing(term, student):
    before = dump(student)
    status, output = sync(term.course, "--collection", str(student))
    assert status == 0
    assert output.splitlines()[0] == (
        f"sync with collection {student}: 4 new, 7 updated, 3 unchanged, 2 retired notes; "
        "5 cards to move; 4 new cards to reposition"
    )
    assert "  new      characters\n" in output and "  new      sampling/temperature\n" in output
    assert "  updated  attention/why-scale (Front, Context, deck)\n" in output
    assert "  updated  tokens (LearnBefore, tags)" not in output  # no tag of the course changed
    assert "  retired  kv-cache (suspend 1 card, tag flashgen::retired)\n" in output
    assert "  updated  tokens/token-parts (Text, suspend 1 card of a removed blank)\n" in output
    assert f"  deck     '{OLD_DECK}' -> '{NEW_DECK}' (5 cards move)\n" in output
    assert output.endswith("dry run: nothing changed (--apply does it, after Anki's own backup)\n")
    assert dump(student) == before
    assert not (student.parent / "backups").exists()


def test_apply_brings_the_collection_in_step_and_keeps_the_students_history(term, student):
    col = Collection(str(student))
    revlog = col.db.all("select * from revlog order by id")
    reviewed = {row[0]: row[1:] for row in card_rows(col, "-is:new")}
    col.close()
    assert len(revlog) == len(reviewed) == 7

    status, output = sync(term.course, "--collection", str(student), "--apply")
    assert status == 0, output
    assert output.endswith("done (Anki's backup of the collection was made first)\n")
    assert len(list((student.parent / "backups").glob("*.colpkg"))) == 1

    col = Collection(str(student))
    try:
        # Review history byte for byte, and reviewed cards' scheduling and flags, unchanged.
        assert col.db.all("select * from revlog order by id") == revlog
        assert {row[0]: row[1:] for row in card_rows(col, "-is:new")} == reviewed
        assert col.db.scalar("select count() from cards where flags = ?", FLAG_RED) == 2
        # The reworded question: its field updated, the student's tags kept, flashgen's merged.
        why = note_of(col, "attention", "why-scale")
        assert why["Front"] == (
            "<p>Why are attention scores divided by the square root of the key size?</p>"
        )
        assert {"my-exam", "marked", "concept::attention", "course::semester-demo"} <= set(why.tags)
        # The renamed chapter: every card of it in the new deck, none left in the old one.
        assert not col.find_cards(f'"deck:{OLD_DECK}"')
        core = col.find_cards("tag:chapter::core")
        assert {col.decks.name(col.get_card(cid).did) for cid in core} == {NEW_DECK}
        # The retired concept: suspended, tagged, the student's own tags kept.
        kv = note_of(col, "kv-cache")
        assert {RETIRED_TAG, "my-exam", "marked"} <= set(kv.tags)
        assert all(card.queue == -1 for card in kv.cards())
        # The removed blank's card suspended; the other blank's card as it was.
        parts = {card.ord: card for card in note_of(col, "tokens", "token-parts").cards()}
        assert parts[1].queue == -1 and parts[0].id in reviewed
        # New notes in their concept's deck.
        characters = note_of(col, "characters")
        assert characters is not None and "my-exam" not in characters.tags
        assert {col.decks.name(card.did) for card in characters.cards()} == {
            "Semester Demo::01 Introduction"
        }
        # New cards in the course's learning order: the added prerequisite comes first.
        course, _ = load_course(term.course)
        order = [concept.id for concept in study_cards(course).order]
        new = sorted(
            (col.get_card(cid) for cid in col.find_cards("is:new -is:suspended")),
            key=lambda card: card.due,
        )
        concepts = [
            next(t.split("::", 1)[1] for t in card.note().tags if t.startswith("concept::"))
            for card in new
        ]
        assert concepts[0] == "characters"
        assert [order.index(c) for c in concepts] == sorted(order.index(c) for c in concepts)
        assert len({card.due for card in new}) == len(new)
    finally:
        col.close()

    # Sync again: nothing to do, nothing changed.
    before = dump(student)
    status, output = sync(term.course, "--collection", str(student), "--apply")
    assert status == 0
    assert output == (
        f"sync with collection {student}: 0 new, 0 updated, 14 unchanged, 2 retired notes\n"
        "nothing to do: the collection is in step with the course\n"
    )
    assert dump(student) == before


def test_delete_retired_lists_the_notes_then_deletes_them(term, student):
    col = Collection(str(student))
    revlog = col.db.all("select * from revlog order by id")
    col.close()
    status, output = sync(term.course, "--collection", str(student), "--delete-retired")
    assert status == 0
    assert "  delete   kv-cache (1 card, 0 reviews so far)\n" in output
    assert "  delete   kv-cache/cache-contents (1 card, 0 reviews so far)\n" in output
    status, output = sync(term.course, "--collection", str(student), "--apply", "--delete-retired")
    assert status == 0, output
    col = Collection(str(student))
    try:
        assert not col.find_notes('"tag:concept::kv-cache"')
        assert col.db.all("select * from revlog order by id") == revlog  # Anki keeps the log
    finally:
        col.close()


def test_a_collection_open_in_anki_is_refused(term, student):
    before = dump(student)
    col = Collection(str(student))  # as Anki holds its open collection
    try:
        status, output = sync(term.course, "--collection", str(student), "--apply")
    finally:
        col.close()
    assert status == 1
    assert output == (
        f"error: {student}: the collection is open in Anki (or another program); close Anki "
        "and run again, or use --anki-connect while Anki is open\n"
    )
    assert dump(student) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Error: say which Anki: --collection PATH|PROFILE (Anki closed) or --anki-connect"),
        (
            ["--collection", "x.anki2", "--anki-connect"],
            "Error: give --collection or --anki-connect, not both",
        ),
        (["--colection", "x"], "Error: No such option '--colection'. Did you mean '--collection'?"),
    ],
)
def test_bad_command_lines_are_usage_errors(term, args, message):
    status, output = sync(term.course, *args)
    assert status == 2 and message in output


def test_a_missing_collection_file_is_a_clear_error(term, tmp_path):
    missing = tmp_path / "nowhere.anki2"
    status, output = sync(term.course, "--collection", str(missing))
    assert (status, output) == (1, f"error: {missing}: no such collection file\n")


def test_a_file_that_is_not_a_collection_is_a_clear_error(term, tmp_path):
    path = tmp_path / "notes.anki2"
    path.write_text("my notes, not a database\n")
    status, output = sync(term.course, "--collection", str(path))
    assert status == 1
    assert output.startswith(f"error: {path}: not an Anki collection (")
    assert path.read_text() == "my notes, not a database\n"


def test_a_course_with_errors_is_reported_where_the_error_is(term, student, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(term.course, course)
    attention = course / "core" / "attention.yaml"
    attention.write_text(attention.read_text().replace("prerequisites: [embeddings]",
                                                       "prerequisites: [embedings]"))  # fmt: skip
    before = dump(student)
    status, output = sync(course, "--collection", str(student), "--apply")
    assert status == 1
    assert f"{attention}:4:" in output and "embedings" in output
    assert output.rstrip().endswith("nothing synced")
    assert dump(student) == before


def test_the_default_profile_is_found_by_anki_base(term, student, monkeypatch):
    """``--collection`` alone: the profile Anki opened last, from its prefs21.db."""
    base = student.parent.parent / "Anki2"
    (base / "Ana").mkdir(parents=True)
    shutil.copy(student, base / "Ana" / "collection.anki2")
    with sqlite3.connect(base / "prefs21.db") as db:
        db.execute("create table profiles (name text primary key collate nocase, data blob)")
        meta = pickle.dumps({"last_loaded_profile_name": "Ana"}, protocol=4)
        db.executemany("insert into profiles values (?, ?)", [("_global", meta), ("Ana", meta)])
    monkeypatch.setenv("ANKI_BASE", str(base))
    status, output = sync(term.course, "--collection")
    assert status == 0
    assert output.startswith(f"sync with collection {base / 'Ana' / 'collection.anki2'}: 4 new")
    status, output = sync(term.course, "--collection", "Bob")
    assert (status, output) == (
        1,
        f"error: no Anki profile 'Bob' with a collection in {base} (profiles: Ana)\n",
    )


def test_a_new_students_collection_gets_what_the_deck_gives(term, tmp_path, monkeypatch):
    """Sync into an empty collection and an import of the built deck agree note for note:
    one pipeline makes both."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(LATER))
    course = tmp_path / "course"
    shutil.copytree(term.course, course)
    (deck,) = build(course, tmp_path / "out", only=("apkg",)).written
    imported = Collection(str(tmp_path / "imported.anki2"))
    import_apkg(imported, deck)
    (tmp_path / "synced").mkdir()
    synced_path = tmp_path / "synced" / "collection.anki2"
    Collection(str(synced_path)).close()
    status, output = sync(course, "--collection", str(synced_path), "--apply")
    assert status == 0, output
    assert "  notetype basic: added\n" in output

    def notes(col: Collection) -> dict[str, tuple]:
        result = {}
        for note_id in col.find_notes(f"tag:course::{COURSE_ID}"):
            note = col.get_note(note_id)
            cards = sorted(
                (card.ord, col.decks.name(card.did), card.question()) for card in note.cards()
            )
            result[note.guid] = (note.note_type()["name"], list(note.items()), note.tags, cards)
        return result

    synced = Collection(str(synced_path))
    try:
        active = {g: v for g, v in notes(imported).items() if RETIRED_TAG not in v[2]}
        assert notes(synced) == active and len(active) == 14
        # flashgen's note type ids too, so that a later import updates these notes in place.
        ours = {m.name: m.id for m in imported.models.all_names_and_ids() if COURSE_ID in m.name}
        assert {
            m.name: m.id for m in synced.models.all_names_and_ids() if COURSE_ID in m.name
        } == ours
        new = sorted(synced.find_cards("is:new"), key=lambda cid: synced.get_card(cid).due)
        first = synced.get_card(new[0]).note()
        assert first.guid == guid("characters")
    finally:
        synced.close()
        imported.close()


def test_cards_in_a_deck_of_the_students_own_stay_there(term, student):
    col = Collection(str(student))
    own = col.decks.id("My hard cards")
    why = note_of(col, "attention", "why-scale")
    col.set_deck([card.id for card in why.cards()], own)
    mine = col.new_note(col.models.by_name("Basic"))
    mine["Front"], mine["Back"] = "My own question", "My own answer"
    col.add_note(mine, own)
    col.close()
    status, output = sync(term.course, "--collection", str(student), "--apply")
    assert status == 0, output
    assert "  kept     1 card in 'My hard cards' (the student's own deck)\n" in output
    assert f"  deck     '{OLD_DECK}' -> '{NEW_DECK}' (4 cards move)\n" in output
    col = Collection(str(student))
    try:
        assert [
            col.decks.name(card.did) for card in note_of(col, "attention", "why-scale").cards()
        ] == ["My hard cards"]
    finally:
        col.close()


def test_an_anki_connect_that_does_not_answer_is_a_clear_error(term):
    status, output = sync(term.course, "--anki-connect", "http://127.0.0.1:9")
    assert status == 1
    assert output.startswith("error: ") and "Traceback" not in output


def test_help_shows_examples():
    status, output = sync(Path("."), "--help")
    assert status == 0
    assert 'flashgen sync cards --collection "User 1" --apply' in output


def test_a_changed_style_updates_the_courses_note_types_only(term, student, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(term.course, course)
    (course / "templates" / "anki").mkdir(parents=True)
    style = ".card { font-family: serif; } /* the course's new look */\n"
    (course / "templates" / "anki" / "style.css").write_text(style)
    col = Collection(str(student))
    basic_css = col.models.by_name("Basic")["css"]
    col.close()
    status, output = sync(course, "--collection", str(student), "--apply")
    assert status == 0, output
    assert "  notetype basic: templates or style changed\n" in output
    col = Collection(str(student))
    try:
        ours = [m for m in col.models.all() if m["name"].endswith(f"({COURSE_ID})")]
        assert len(ours) == 5 and all(m["css"] == style for m in ours)
        assert col.models.by_name("Basic")["css"] == basic_css
    finally:
        col.close()
    status, output = sync(course, "--collection", str(student))
    assert "nothing to do" in output


def test_a_retitled_chapter_keeps_its_published_deck_and_says_where(term, student, tmp_path):
    """Sync follows the ledger as the build does: a new chapter title without
    `build --rename-decks` keeps the published deck, with the build's warning at the title."""
    course = tmp_path / "course"
    shutil.copytree(term.course, course)
    course_yaml = course / "course.yaml"
    course_yaml.write_text(course_yaml.read_text().replace("Central Ideas", "Central Ideas II"))
    status, output = sync(course, "--collection", str(student))
    assert status == 0
    line = next(
        n for n, text in enumerate(course_yaml.read_text().splitlines(), 1) if " II" in text
    )
    assert (
        f"{course_yaml}:{line}:12: warning: the title (or number) of chapter 'core' changed"
        in output
    )
    assert f"  deck     '{OLD_DECK}' -> '{NEW_DECK}' (5 cards move)\n" in output


def test_a_concept_back_in_the_course_loses_the_retired_tag_only(term, student, tmp_path):
    status, _ = sync(term.course, "--collection", str(student), "--apply")
    assert status == 0
    course = tmp_path / "course"
    shutil.copytree(term.course, course)
    shutil.copy(COURSES / "semester" / "advanced" / "kv-cache.yaml", course / "advanced")
    status, output = sync(course, "--collection", str(student), "--apply")
    assert status == 0, output
    assert "  updated  kv-cache (back in the course; unsuspend its 1 card in Anki)\n" in output
    col = Collection(str(student))
    try:
        kv = note_of(col, "kv-cache")
        assert RETIRED_TAG not in kv.tags and {"my-exam", "marked"} <= set(kv.tags)
    finally:
        col.close()


def test_a_question_of_another_type_is_skipped_and_says_why(term, student, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(term.course, course)
    attention = course / "core" / "attention.yaml"
    attention.write_text(
        attention.read_text().replace(
            "    type: true-false\n    statement: The attention weights of one query sum to one.\n"
            "    answer: true\n",
            "    type: basic\n    front: What do the attention weights of one query sum to?\n"
            "    back: One.\n",
        )
    )
    status, output = sync(course, "--collection", str(student))
    assert status == 0
    assert "2 retired notes (1 skipped)" in output.splitlines()[0]
    assert (
        "  skipped  attention/weights-sum (note type 'flashgen-true-false (semester-demo)' in "
        "the collection, 'flashgen-basic (semester-demo)' in the course)\n"
    ) in output


def test_a_fresh_import_of_the_deck_is_already_in_step(term, tmp_path, monkeypatch):
    """The deck's own positions (one per note, siblings sharing it) are the learning order:
    nothing to reposition; only what a deck cannot do (suspend) is left."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(LATER))
    course = tmp_path / "course"
    shutil.copytree(term.course, course)
    (deck,) = build(course, tmp_path / "out", only=("apkg",)).written
    (tmp_path / "profile").mkdir()
    path = tmp_path / "profile" / "collection.anki2"
    col = Collection(str(path))
    import_apkg(col, deck)
    siblings = col.find_cards(f"nid:{note_of(col, 'tokens', 'token-parts').id}")
    col.close()
    assert len(siblings) == 2  # the removed blank's card comes with the deck
    status, output = sync(course, "--collection", str(path))
    assert status == 0
    assert output.splitlines()[1:] == [  # no card repositioned
        "  updated  tokens/token-parts (suspend 1 card of a removed blank)",
        "  retired  kv-cache (suspend 1 card)",  # the deck carries retired notes too
        "  retired  kv-cache/cache-contents (suspend 1 card)",
        "dry run: nothing changed (--apply does it, after Anki's own backup)",
    ]
