"""The Anki deck, checked by importing it with the official ``anki`` package."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import pytest
from anki.collection import Collection

from ankitools import answer_cards, import_apkg, note_by_guid, scheduling
from flashgen.course.graph import prerequisite_map
from flashgen.diagnostics import CourseError
from flashgen.outputs.identity import note_guid
from flashgen.pipeline.build import build
from flashgen.pipeline.load import load_course
from support import TESTS

HERE = TESTS
DECK_COURSE = HERE / "courses" / "deck"
SEED_COURSE = HERE.parent / "cards"

#: The frozen field lists: Anki refuses to update notes whose note type changed its fields.
#: Changing this table breaks every student's re-import; add to ``Reserved`` instead. Each
#: course has its own note types, named ``flashgen-<kind> (<course id>)``.
PINNED_FIELDS = {
    "flashgen-concept": [
        "Title", "Summary", "LearnBefore", "LearnAfter", "Related", "Context", "CardCode",
        "Reserved",
    ],
    "flashgen-multiple-choice": [
        "Question", "Choices", "Answer", "Explanation", "Context", "CardCode", "Reserved",
    ],
    "flashgen-true-false": [
        "Statement", "Answer", "Explanation", "Context", "CardCode", "Reserved",
    ],
    "flashgen-basic": ["Front", "Back", "Explanation", "Context", "CardCode", "Reserved"],
    "flashgen-cloze": ["Text", "Explanation", "Context", "CardCode", "Reserved"],
}  # fmt: skip


@pytest.fixture
def epoch(monkeypatch):
    def set_epoch(value: int) -> None:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", str(value))

    set_epoch(1_700_000_000)
    return set_epoch


@pytest.fixture
def col(tmp_path):
    (tmp_path / "student").mkdir()
    collection = Collection(str(tmp_path / "student" / "collection.anki2"))
    yield collection
    collection.close()


def build_deck(course: Path, output: Path) -> Path:
    """Build ``course``'s deck; a course of the repository is built from a copy, since a build
    keeps the course's publication ledger in the course folder."""
    if course.is_relative_to(HERE.parent):
        copy = output.parent / f"{output.name}-course"
        shutil.copytree(course, copy)
        course = copy
    result = build(course, output, only=("apkg",))
    (path,) = result.written
    return path


def all_notes(col: Collection):
    return [col.get_note(nid) for nid in col.find_notes("")]


def test_seed_course_imports_with_a_deck_per_chapter_and_a_note_per_item(tmp_path, col, epoch):
    course, _ = load_course(SEED_COURSE)
    log = import_apkg(col, build_deck(SEED_COURSE, tmp_path / "out"))

    notes = len(course.concepts) + course.question_count
    assert len(log.new) == notes and col.note_count() == notes
    deck = "Foundations of Large Language Models::01 Ch.5 Inference"
    assert deck in [d.name for d in col.decks.all_names_and_ids()]
    in_deck = col.find_cards(f'"deck:{deck}"')
    assert len(in_deck) == col.card_count() > notes  # cloze notes with c1, c2 have two cards
    kinds = {col.get_note(nid).note_type()["name"] for nid in col.find_notes("")}
    assert kinds == {f"{name} (foundations-of-llms)" for name in PINNED_FIELDS}


def test_every_card_renders_without_template_errors(tmp_path, col, epoch):
    import_apkg(col, build_deck(DECK_COURSE, tmp_path / "out"))
    seen_kinds = set()
    for card_id in col.find_cards(""):
        card = col.get_card(card_id)
        question, answer = card.question(), card.answer()
        seen_kinds.add(card.note_type()["name"].removesuffix(" (deck-demo)"))
        for html in (question, answer):
            assert "template error" not in html.lower()
            assert "{{" not in re.sub(r"<script.*?</script>", "", html, flags=re.S)
        assert card.note()["CardCode"] in question and card.note()["CardCode"] in answer
    assert seen_kinds == set(PINNED_FIELDS)


def test_decks_counts_and_tags(tmp_path, col, epoch):
    import_apkg(col, build_deck(DECK_COURSE, tmp_path / "out"))
    assert len(col.find_notes('"deck:Deck Demo::01 Basics"')) == 2 + 3
    assert len(col.find_notes('"deck:Deck Demo::02 Advanced Topics"')) == 2 + 3
    assert len(col.find_cards('"deck:Deck Demo::02 Advanced Topics"')) == 2 + 3 + 1  # c1, c2
    note = note_by_guid(col, note_guid("deck-demo", "attention", "scaling"))
    assert sorted(note.tags) == sorted(
        ["course::deck-demo", "chapter::basics", "concept::attention", "demo"]
    )
    assert col.find_notes("tag:concept::tokens tag:text")
    assert len(col.find_notes("tag:course::deck-demo")) == col.note_count()


def test_note_type_fields_are_pinned(tmp_path, col, epoch):
    import_apkg(col, build_deck(DECK_COURSE, tmp_path / "out"))
    fields = {
        model["name"].removesuffix(" (deck-demo)"): [field["name"] for field in model["flds"]]
        for model in col.models.all()
        if model["name"].startswith("flashgen-")
    }
    assert fields == PINNED_FIELDS


def test_new_cards_come_in_prerequisite_order(tmp_path, col, epoch):
    import_apkg(col, build_deck(SEED_COURSE, tmp_path / "out"))
    course, _ = load_course(SEED_COURSE)
    first_due: dict[str, int] = {}
    last_due: dict[str, int] = {}
    for card_id in col.find_cards(""):
        card = col.get_card(card_id)
        concept = next(t.split("::", 1)[1] for t in card.note().tags if t.startswith("concept::"))
        first_due[concept] = min(first_due.get(concept, card.due), card.due)
        last_due[concept] = max(last_due.get(concept, card.due), card.due)
    for concept, prerequisites in prerequisite_map(course).items():
        for prerequisite in prerequisites:
            assert last_due[prerequisite] < first_due[concept], (prerequisite, concept)
    # The scheduler introduces them in that order too.
    deck = "Foundations of Large Language Models::01 Ch.5 Inference"
    reviewed = answer_cards(col, deck, [3] * 5)
    first = col.get_card(reviewed[0]).note()
    assert "concept::autoregressive-generation" in first.tags or any(
        f"concept::{c.id}" in first.tags for c in course.concepts if c.is_foundation
    )


def test_markdown_math_and_media(tmp_path, col, epoch):
    path = build_deck(DECK_COURSE, tmp_path / "out")
    import_apkg(col, path)
    attention = note_by_guid(col, note_guid("deck-demo", "attention"))
    assert r"\(\mathrm{softmax}(QK^\top / \sqrt{d})\)" in attention["Summary"]
    assert r"\[\mathrm{Attention}(Q, K, V)" in attention["Summary"]
    tokens = note_by_guid(col, note_guid("deck-demo", "tokens"))
    assert "<em>token</em>" in tokens["Summary"] and "<code>ing</code>" in tokens["Summary"]
    (image,) = re.findall(r'<img src="([^"]+)"', tokens["Summary"])
    media = Path(col.media.dir()) / image
    assert media.read_bytes() == (DECK_COURSE / "images" / "tokens.png").read_bytes()
    with zipfile.ZipFile(path) as archive:
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in archive.infolist())


def test_multiple_choice_fields_and_stable_shuffle(tmp_path, col, epoch):
    import_apkg(col, build_deck(DECK_COURSE, tmp_path / "out"))
    note = note_by_guid(col, note_guid("deck-demo", "kv-cache", "cache-grows"))
    choices = re.findall(r'data-key="([A-Z])".*?fg-text">(.*?)</span>', note["Choices"])
    assert len(choices) == 4
    correct = {key for key, text in choices if text.startswith(("It grows", "It avoids"))}
    assert note["Answer"] == " ".join(sorted(correct))
    # The correct key never reaches the front's HTML.
    card = note.cards()[0]
    front = re.sub(r"<(style|script)>.*?</\1>", "", card.question(), flags=re.S)
    assert "data-answer" not in front and "fg-answer" not in front
    assert "data-answer" in card.answer()
    again = build_deck(DECK_COURSE, tmp_path / "again")
    assert again.read_bytes() == (tmp_path / "out" / "deck-demo.apkg").read_bytes()


def edit_course(course: Path) -> None:
    """What an instructor does between two builds: reword texts, add a question."""
    attention = course / "basics" / "attention.yaml"
    text = attention.read_text().replace("Attention mixes", "Self-attention mixes")
    text = text.replace("To save memory", "To use less memory")
    attention.write_text(text)
    sampling = course / "advanced" / "sampling.yaml"
    sampling.write_text(
        sampling.read_text()
        + "  - id: temperature\n"
        + "    type: true-false\n"
        + "    statement: A higher temperature makes sampling more random.\n"
        + "    answer: true\n"
    )


def test_reimport_after_edits_updates_in_place_and_keeps_reviews(tmp_path, col, epoch):
    course = tmp_path / "course"
    shutil.copytree(DECK_COURSE, course)
    import_apkg(col, build_deck(course, tmp_path / "v1"))
    notes_before = col.note_count()
    reviewed = answer_cards(col, "Deck Demo", [3, 3, 1, 4, 3, 2])
    rows, revlog = scheduling(col, reviewed), col.db.scalar("select count() from revlog")
    note_ids = sorted(col.find_notes(""))

    edit_course(course)
    epoch(1_700_086_400)
    log = import_apkg(col, build_deck(course, tmp_path / "v2"))

    assert len(log.new) == 1 and len(log.conflicting) == 0
    # Only the notes whose content changed are updated (the ledger keeps the others' times).
    updated = {col.get_note(entry.id.nid).guid for entry in log.updated}
    assert updated == {
        note_guid("deck-demo", "attention"),
        note_guid("deck-demo", "attention", "scaling"),
    }
    assert col.note_count() == notes_before + 1
    assert col.db.scalar("select count() - count(distinct guid) from notes") == 0
    assert set(note_ids) < set(col.find_notes(""))
    assert (
        "Self-attention mixes" in note_by_guid(col, note_guid("deck-demo", "attention"))["Summary"]
    )
    scaling = note_by_guid(col, note_guid("deck-demo", "attention", "scaling"))
    assert "To use less memory" in scaling["Choices"]
    assert scheduling(col, reviewed) == rows
    assert col.db.scalar("select count() from revlog") == revlog == 6
    assert [m["name"] for m in col.models.all()].count("flashgen-concept (deck-demo)") == 1


def test_rebuild_with_the_same_timestamp_changes_nothing(tmp_path, col, epoch):
    import_apkg(col, build_deck(DECK_COURSE, tmp_path / "v1"))
    log = import_apkg(col, build_deck(DECK_COURSE, tmp_path / "v2"))
    assert len(log.new) == 0 and len(log.updated) == 0


def test_reproducible_with_source_date_epoch(tmp_path, epoch):
    first = build_deck(DECK_COURSE, tmp_path / "a").read_bytes()
    second = build_deck(DECK_COURSE, tmp_path / "b").read_bytes()
    assert first == second
    epoch(1_800_000_000)
    assert build_deck(DECK_COURSE, tmp_path / "c").read_bytes() != first


def test_without_source_date_epoch_notes_carry_the_build_time(tmp_path, col, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    import time

    before = int(time.time())
    import_apkg(col, build_deck(DECK_COURSE, tmp_path / "out"))
    assert col.db.scalar("select min(mod) from notes") >= before


def test_failed_build_leaves_previous_deck_untouched(tmp_path, epoch):
    course = tmp_path / "course"
    shutil.copytree(DECK_COURSE, course)
    deck = build_deck(course, tmp_path / "out")
    good = deck.read_bytes()
    (course / "advanced" / "broken.yaml").write_text("id: broken\ntitle: [unclosed\n")
    epoch(1_800_000_000)
    with pytest.raises(CourseError):
        build(course, tmp_path / "out", only=("apkg",))
    assert deck.read_bytes() == good
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.name != ".cache") == [
        ".flashgen-output",
        "deck-demo.apkg",
    ]


HOSTILE = """\
id: hostile
title: <b onmouseover=alert(1)>Hostile</b>
chapter: basics
prerequisites: []
summary: |
  <script>alert("summary")</script>
  [click](javascript:alert(1)) <a href="javascript:alert(2)">me</a>
  <b onclick="alert(3)">bold</b> <iframe src="https://example.org"></iframe>
  <svg onload=alert(4)></svg> <a href="data:text/html,<script>alert(5)</script>">data</a>
questions:
  - id: evil
    type: multiple-choice
    question: <div onmouseover="alert(6)">Pick</div>
    correct: <script>alert(7)</script>yes
    distractors: ["<style>body{display:none}</style>no", "<a href='jAvAsCrIpT:alert(8)'>x</a>"]
    explanation: <body onload=alert(9)>because
"""


def test_script_handlers_and_javascript_links_are_sanitised_away(tmp_path, col, epoch):
    course = tmp_path / "course"
    shutil.copytree(DECK_COURSE, course)
    (course / "basics" / "hostile.yaml").write_text(HOSTILE)
    import_apkg(col, build_deck(course, tmp_path / "out"))
    for note in all_notes(col):
        for value in note.values():
            # Only real tags: text such as "<script>" reaches the field escaped, as &lt;script&gt;
            lowered = " ".join(re.findall(r"<[^>]*>", value.lower()))
            assert "<script" not in lowered and "javascript:" not in lowered
            assert "onerror" not in lowered and "onload" not in lowered
            assert "onclick" not in lowered and "onmouseover" not in lowered
            assert "<iframe" not in lowered and "<style" not in lowered and "data:" not in lowered
    hostile = note_by_guid(col, note_guid("deck-demo", "hostile"))
    assert "<b>bold</b>" in hostile["Summary"]
    assert '&lt;script&gt;alert("summary")&lt;/script&gt;' in hostile["Summary"]
