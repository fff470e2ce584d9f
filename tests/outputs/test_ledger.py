"""The publication ledger: its file, how builds read and update it, what `check` and `diff` say.

Every test works on a copy of ``tests/courses/semester`` (the build keeps the ledger in the
course folder) and, where a student is involved, imports with the official ``anki`` package.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from anki.collection import Collection
from click.testing import CliRunner

from ankitools import import_apkg
from flashgen.cli import main
from flashgen.diagnostics import CourseError, Diagnostics
from flashgen.outputs.ledger import LEDGER_NAME, read_ledger
from flashgen.pipeline.build import build
from support import COURSES

SEMESTER = COURSES / "semester"
EPOCH = 1_700_000_000


@pytest.fixture
def course(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    return shutil.copytree(SEMESTER, tmp_path / "course")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def publish(course: Path, out: Path) -> Path:
    (deck,) = build(course, out, only=("apkg",)).written
    return deck


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


# --- The file -------------------------------------------------------------------------------


def test_the_ledger_is_sorted_text_with_one_line_per_note(course, tmp_path):
    publish(course, tmp_path / "out")
    lines = (course / LEDGER_NAME).read_text().splitlines()
    notes = [line.split("\t") for line in lines if line.startswith("note\t")]
    assert len(notes) == 12  # 5 concepts, 7 questions
    keys = [n[1] for n in notes]
    assert keys == sorted(keys, key=lambda k: k.split("/"))
    tokens = next(n for n in notes if n[1] == "tokens/token-parts")
    assert tokens[3] == "cloze" and tokens[5] == "2023-11-14T22:13:20Z"
    assert tokens[6:] == ["1,2", "-", "Semester Demo::01 Introduction"]
    assert "deck\tintro\tSemester Demo::01 Introduction" in lines


DAMAGED = [
    ("course\tsemester-demo\nbogus\tline\n", 2, 1, "unknown ledger line 'bogus'"),
    ("course\tsemester-demo\ndeck\tintro\n", 2, 1, "a 'deck' line has 3 tab-separated columns"),
    (
        "course\tsemester-demo\nnote\ttokens\tGUID\tconcept\t0123abcd\tyesterday\t-\t-\tD\n",
        2,
        35,
        "not a time like 2026-01-31T12:00:00Z: 'yesterday'",
    ),
    (
        "course\tsemester-demo\nnote\ttokens\tGUID\tconcept\tXYZ\t2023-11-14T22:13:20Z\t-\t-\tD\n",
        2,
        26,
        "not a fingerprint",
    ),
    (
        "course\tsemester-demo\nnote\ttokens\tGUID\tpoem\t0123abcd\t2023-11-14T22:13:20Z\t-\t-\tD\n",
        2,
        18,
        "unknown note type 'poem'",
    ),
    (
        "course\tsemester-demo\nnote\tt/c\tG\tcloze\t0123abcd\t2023-11-14T22:13:20Z\t1,x\t-\tD\n",
        2,
        48,
        "cloze numbers are '-' or a list like 1,2",
    ),
    ("deck\tintro\tD\n", 1, 1, "the ledger must start with a 'course' line"),
    ("# only a comment\n", 1, 1, "the ledger has no 'course' line"),
]


@pytest.mark.parametrize(("text", "line", "column", "message"), DAMAGED)
def test_a_damaged_ledger_is_a_located_error(tmp_path, text, line, column, message):
    path = tmp_path / LEDGER_NAME
    path.write_text(text)
    diag = Diagnostics()
    assert read_ledger(path, diag) is None
    (error,) = diag.errors
    assert (error.location.line, error.location.column) == (line, column)
    assert message in error.message


def test_a_ledger_that_is_not_utf8_is_a_located_error(tmp_path):
    path = tmp_path / LEDGER_NAME
    path.write_bytes(b"course\tsemester-demo\ndeck\tintro\tCaf\xe9\n")
    diag = Diagnostics()
    assert read_ledger(path, diag) is None
    (error,) = diag.errors
    assert (error.location.line, error.location.column) == (2, 15)


def test_a_damaged_ledger_stops_the_build_and_nothing_is_written(course, tmp_path):
    ledger = course / LEDGER_NAME
    ledger.write_text("course\tsemester-demo\ndeck\tintro\n")
    code, _, err = run("build", str(course), "-o", str(tmp_path / "out"), "--only", "apkg")
    assert code == 1 and "Traceback" not in err
    assert f"{LEDGER_NAME}:2:1: error: a 'deck' line has 3 tab-separated columns" in err
    assert not (tmp_path / "out" / "semester-demo.apkg").exists()
    assert ledger.read_text() == "course\tsemester-demo\ndeck\tintro\n"
    code, out, _ = run("check", str(course))
    assert code == 1 and f"{LEDGER_NAME}:2:1: error:" in out


def test_a_ledger_of_another_course_id_is_an_error(course, tmp_path):
    publish(course, tmp_path / "out")
    edit(course / "course.yaml", "id: semester-demo", "id: semester-two")
    with pytest.raises(CourseError) as caught:
        publish(course, tmp_path / "again")
    (error,) = caught.value.diagnostics.errors
    assert error.location.path == course / LEDGER_NAME and error.location.line == 4
    assert "written for course id 'semester-demo'" in error.message


# --- Build and check ------------------------------------------------------------------------


def test_a_new_ledger_is_announced_once(course, tmp_path):
    code, out, err = run("build", str(course), "-o", str(tmp_path / "a"), "--only", "apkg")
    assert code == 0
    assert "course.yaml:3:5: warning: no publication ledger (flashgen.ledger)" in err
    assert f"wrote {course / LEDGER_NAME} (commit it with the course)" in out
    assert "first publication: 12 new notes" in out
    code, out, err = run("build", str(course), "-o", str(tmp_path / "b"), "--only", "apkg")
    assert code == 0 and "ledger" not in err and LEDGER_NAME not in out
    assert "0 new, 0 updated, 12 unchanged, 0 retired notes" in out


def test_check_never_writes_the_ledger(course, tmp_path):
    assert run("check", str(course))[0] == 0
    assert not (course / LEDGER_NAME).exists()
    publish(course, tmp_path / "out")
    before = (course / LEDGER_NAME).stat()
    edit(course / "intro" / "tokens.yaml", "one unit", "a single unit")
    assert run("check", str(course))[0] == 0
    assert (course / LEDGER_NAME).stat().st_mtime_ns == before.st_mtime_ns


def test_a_failed_build_leaves_the_ledger_alone(course, tmp_path):
    publish(course, tmp_path / "out")
    ledger = (course / LEDGER_NAME).read_bytes()
    edit(course / "intro" / "tokens.yaml", "one unit", "a single unit")
    (course / "intro" / "broken.yaml").write_text("id: broken\ntitle: [unclosed\n")
    with pytest.raises(CourseError):
        publish(course, tmp_path / "out")
    assert (course / LEDGER_NAME).read_bytes() == ledger


def test_a_removed_cloze_deletion_is_a_located_warning(course, tmp_path):
    tokens = course / "intro" / "tokens.yaml"
    edit(tokens, "{{c2::tokens}}", "tokens")
    _, out, _ = run("check", str(course))
    assert ": warning:" not in out  # never published: nothing to warn about
    edit(tokens, "into tokens", "into {{c2::tokens}}")
    publish(course, tmp_path / "out")
    edit(tokens, "{{c2::tokens}}", "tokens")
    code, out, _ = run("check", str(course))
    assert code == 0
    assert "intro/tokens.yaml:13:11: warning: cloze deletion c2 was published" in out
    assert "Cloze numbers carry review history" in out


def test_renumbered_cloze_deletions_are_a_located_warning(course, tmp_path):
    publish(course, tmp_path / "out")
    kv = course / "advanced" / "kv-cache.yaml"
    edit(kv, "{{c1::keys}}", "{{c2::keys}}")
    _, out, _ = run("check", str(course))
    assert "advanced/kv-cache.yaml:9:11: warning: cloze deletion c1 was published" in out
    assert "renumbering (c1 gone, c2 new)" in out


# --- Deck names -----------------------------------------------------------------------------


def deck_names(deck: Path, tmp_path: Path, name: str) -> set[str]:
    (tmp_path / name).mkdir()
    col = Collection(str(tmp_path / name / "collection.anki2"))
    try:
        import_apkg(col, deck)
        return {d.name for d in col.decks.all_names_and_ids()} - {"Default"}
    finally:
        col.close()


def test_a_corrected_chapter_title_keeps_the_published_deck_name(course, tmp_path):
    publish(course, tmp_path / "v1")
    edit(course / "course.yaml", "Core Ideas", "Core Concepts")
    result = build(course, tmp_path / "v2", only=("apkg",))
    (warning,) = result.diagnostics.warnings
    assert warning.location.path == course / "course.yaml"
    assert (warning.location.line, warning.location.column) == (9, 12)
    assert "the title (or number) of chapter 'core' changed" in warning.message
    assert "'Semester Demo::02 Core Ideas' is kept" in warning.message
    assert "Semester Demo::02 Core Ideas" in deck_names(result.written[0], tmp_path, "kept")
    assert result.changes.count("updated") == 0  # the cards' context line kept it too


def test_rename_decks_renames_and_warns_that_decks_split(course, tmp_path):
    publish(course, tmp_path / "v1")
    edit(course / "course.yaml", "Core Ideas", "Core Concepts")
    _, out, _ = run("diff", str(course), "--rename-decks")
    assert "deck     'Semester Demo::02 Core Ideas' -> 'Semester Demo::02 Core Concepts'" in out
    code, out, err = run(
        "build", str(course), "-o", str(tmp_path / "v2"), "--only", "apkg", "--rename-decks"
    )
    assert code == 0
    assert "course.yaml:9:12: warning: the title (or number) of chapter 'core' changed" in err
    assert "(their deck splits)" in err and "1 deck renamed" in out
    names = deck_names(tmp_path / "v2" / "semester-demo.apkg", tmp_path, "renamed")
    assert "Semester Demo::02 Core Concepts" in names
    assert "deck\tcore\tSemester Demo::02 Core Concepts" in (course / LEDGER_NAME).read_text()


def test_decks_sort_in_course_order_and_carry_the_course_preset(course, tmp_path):
    deck = publish(course, tmp_path / "out")
    (tmp_path / "student").mkdir()
    col = Collection(str(tmp_path / "student" / "collection.anki2"))
    try:
        import_apkg(col, deck, with_deck_configs=True)  # "Import deck presets" ticked
        names = sorted(d.name for d in col.decks.all_names_and_ids() if d.name != "Default")
        assert names == [
            "Semester Demo",
            "Semester Demo::01 Introduction",
            "Semester Demo::02 Core Ideas",
            "Semester Demo::03 Advanced Topics",
        ]
        config = col.decks.config_dict_for_deck_id(col.decks.id_for_name(names[1]))
        assert config["name"] == "Semester Demo (flashgen)"
        assert config["newGatherPriority"] == 1  # ascending position
        assert config["newSortOrder"] == 1  # order gathered
    finally:
        col.close()


# --- Note types -----------------------------------------------------------------------------


def test_a_style_change_reaches_students_and_fields_keep_their_ids(course, tmp_path):
    v1 = publish(course, tmp_path / "v1")
    (tmp_path / "student").mkdir()
    col = Collection(str(tmp_path / "student" / "collection.anki2"))
    try:
        import_apkg(col, v1)
        basic = "flashgen-basic (semester-demo)"
        before = col.models.by_name(basic)
        style = course / "templates" / "anki" / "style.css"
        style.parent.mkdir(parents=True)
        style.write_text(".card { color: darkgreen; }\n")
        _, out, _ = run("diff", str(course))
        assert "notetype basic: templates or style changed" in out
        log = import_apkg(col, publish(course, tmp_path / "v2"))
        after = col.models.by_name(basic)
        assert "darkgreen" in after["css"] and after["mod"] == EPOCH + 1
        assert [f["id"] for f in after["flds"]] == [f["id"] for f in before["flds"]]
        assert len(log.updated) == 0 and not log.conflicting  # the notes themselves unchanged
    finally:
        col.close()


# --- diff -----------------------------------------------------------------------------------


def test_diff_says_what_the_next_import_does(course, tmp_path):
    publish(course, tmp_path / "v1")
    edit(course / "core" / "attention.yaml", "saturating.", "saturating too early.")
    attention = (course / "core" / "attention.yaml").read_text()
    (course / "core" / "attention.yaml").write_text(
        attention[: attention.index("  - id: weights-sum")]
    )
    (course / "advanced" / "sampling.yaml").write_text(
        "id: sampling\ntitle: Sampling\nchapter: advanced\nprerequisites: [embeddings]\n"
        "summary: Sampling draws the next token.\n"
    )
    code, out, _ = run("diff", str(course))
    assert code == 0
    assert out.splitlines()[0] == (
        "students who re-import get: 1 new, 2 updated, 9 unchanged, 1 retired notes"
    )
    assert "  updated  attention/why-scale (Back)" in out
    assert "  updated  embeddings (LearnAfter)" in out
    assert "  new      sampling" in out and "  retired  attention/weights-sum" in out
    code, out, _ = run("diff", str(course), "--format", "json")
    data = json.loads(out)
    assert data["counts"] == {"new": 1, "updated": 2, "unchanged": 9, "retired": 1}
    assert {"note": "attention/why-scale", "fields": ["Back"]}.items() <= next(
        n for n in data["notes"]["updated"] if n["note"] == "attention/why-scale"
    ).items()
    assert not (tmp_path / "v2").exists()
    _, out, _ = run("build", str(course), "-o", str(tmp_path / "v2"), "--only", "apkg")
    assert "students who re-import get: 1 new, 2 updated, 9 unchanged, 1 retired notes" in out
    _, out, _ = run("diff", str(course))
    assert out.splitlines()[0].startswith("students who re-import get: 0 new, 0 updated")


def test_a_ledger_that_is_a_link_out_of_the_course_is_refused(course, tmp_path):
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("course\tsemester-demo\n")
    (course / LEDGER_NAME).symlink_to(outside)
    code, _, err = run("build", str(course), "-o", str(tmp_path / "out"), "--only", "apkg")
    assert code == 1 and "Traceback" not in err
    assert f"{LEDGER_NAME}:1:1: error:" in err
    assert outside.read_text() == "course\tsemester-demo\n"


def test_the_seed_course_ships_its_ledger():
    """cards/flashgen.ledger is committed: every note of the seed course is in it (after
    adding questions, run `flashgen build cards` and commit the ledger with them)."""
    from flashgen.pipeline.build import plan
    from flashgen.pipeline.load import load_course
    from support import SEED_COURSE

    course, _ = load_course(SEED_COURSE)
    changes, _ = plan(SEED_COURSE)
    assert not changes.first_publication
    assert changes.count("new") == changes.count("retired") == 0
    notes = len(course.concepts) + course.question_count
    assert changes.count("unchanged") + changes.count("updated") == notes


def test_a_corrected_course_title_keeps_every_published_deck_name(course, tmp_path):
    publish(course, tmp_path / "v1")
    edit(course / "course.yaml", "title: Semester Demo", "title: The Semester Demo")
    result = build(course, tmp_path / "v2", only=("apkg",))
    (warning,) = result.diagnostics.warnings
    assert (warning.location.line, warning.location.column) == (4, 8)
    assert warning.message.startswith("the course title changed: the published deck name")
    names = deck_names(result.written[0], tmp_path, "kept")
    assert names == {
        "Semester Demo",
        "Semester Demo::01 Introduction",
        "Semester Demo::02 Core Ideas",
        "Semester Demo::03 Advanced Topics",
    }
    assert result.changes.count("updated") == 0


def test_a_chapter_inserted_before_published_ones_sorts_between_them(course, tmp_path):
    publish(course, tmp_path / "v1")
    edit(
        course / "course.yaml",
        "  - id: advanced\n",
        "  - id: practice\n    title: Practice\n  - id: advanced\n",
    )
    (course / "core" / "drill.yaml").write_text(
        "id: drill\ntitle: Drill\nchapter: practice\nprerequisites: [attention]\n"
        "summary: Practice attention by hand.\n"
    )
    result = build(course, tmp_path / "v2", only=("apkg",))
    messages = [(w.location.line, w.message) for w in result.diagnostics.warnings]
    assert messages[1][0] == 13 and "'Semester Demo::03 Advanced Topics' is kept" in messages[1][1]
    assert messages[:1] == [
        (
            11,
            "chapter 'practice' comes before chapters already published: its deck is "
            "'Semester Demo::02.1 Practice', which sorts in course order without renaming "
            "published decks (`flashgen build --rename-decks` renumbers them all; students' "
            "decks split)",
        )
    ]
    names = sorted(deck_names(result.written[0], tmp_path, "inserted"))
    assert names == [
        "Semester Demo",
        "Semester Demo::01 Introduction",
        "Semester Demo::02 Core Ideas",
        "Semester Demo::02.1 Practice",
        "Semester Demo::03 Advanced Topics",
    ]
