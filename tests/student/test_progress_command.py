"""`flashgen progress` from the command line, on the simulated student's real collection."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("anki")

from flashgen.cli import main
from flashgen.student.progress_json import FORMAT, VERSION
from simulated_student import studied_progress_course
from support import COURSES


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["progress", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> tuple[Path, Path]:
    return studied_progress_course(tmp_path_factory.getbasetemp(), fsrs=True)


def test_the_table_says_each_state_and_what_to_study_next(student):
    course, collection = student
    before = collection.read_bytes()
    status, out, _ = run(course, "--collection", collection)
    assert status == 0
    lines = out.splitlines()
    assert any(line.split()[:2] == ["fractions", "struggling"] for line in lines)
    assert any(line.split()[:3] == ["subtraction", "not", "started"] for line in lines)
    assert "ready to learn (1): subtraction" in lines
    assert "  fractions: long_division" in lines
    assert '    in Anki: "deck:Arithmetic\\_101" "tag:concept::long\\_division"' in lines
    assert lines[-1] == "study next: long_division, fractions, subtraction"
    assert collection.read_bytes() == before  # progress only reads


def test_json_and_html_are_written_whole(student, tmp_path):
    course, collection = student
    out_json, out_html = tmp_path / "me.json", tmp_path / "map.html"
    status, out, err = run(
        course, "--collection", collection, "--format", "json", "-o", out_json, "--html", out_html
    )
    assert (status, out) == (0, "")
    assert f"wrote {out_json}" in err and f"wrote {out_html}" in err
    document = json.loads(out_json.read_text(encoding="utf-8"))
    assert (document["format"], document["version"]) == (FORMAT, VERSION)
    assert document["sets"]["ready-to-learn"]["concepts"] == ["subtraction"]
    assert 'data-state="struggling"' in out_html.read_text(encoding="utf-8")
    assert not list(tmp_path.glob(".flashgen-tmp-*"))


def test_an_output_that_cannot_be_written_is_a_message_and_exit_3(student, tmp_path):
    course, collection = student
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    target = tmp_path / "notes.txt" / "map.html"
    status, out, err = run(course, "--collection", collection, "--html", target)
    assert (status, out) == (3, "")
    assert err.startswith(f"error: cannot write {target}: ")
    assert "Traceback" not in err


def test_from_json_merges_students_into_a_class_view(student, tmp_path):
    course, collection = student
    first = tmp_path / "ada.json"
    run(course, "--collection", collection, "--format", "json", "-o", first)
    second = tmp_path / "grace.json"
    document = json.loads(first.read_text(encoding="utf-8"))
    for concept in document["concepts"]:  # Grace struggles with long division as well
        if concept["id"] == "long_division":
            concept["state"] = "struggling"
    second.write_text(json.dumps(document), encoding="utf-8")
    status, out, _ = run(course, "--from-json", first, second)
    assert status == 0
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[3:]}
    # lacking prerequisites, weak for others, struggling, in progress, mastered, not started
    assert rows["fractions"] == ["2", "0", "2", "0", "0", "0"]
    assert rows["long_division"] == ["0", "2", "1", "1", "0", "0"]
    assert out.splitlines()[3].startswith("fractions")  # most students lack its prerequisites
    status, out, _ = run("--from-json", first, second, "--format", "json")
    view = json.loads(out)
    assert view["students"] == 2 and view["concepts"][0]["id"] == "fractions"


def test_a_class_file_of_another_course_is_a_located_error(student, tmp_path):
    course, collection = student
    mine = tmp_path / "mine.json"
    run(course, "--collection", collection, "--format", "json", "-o", mine)
    other = tmp_path / "other.json"
    other.write_text(mine.read_text(encoding="utf-8").replace('"arith_101"', '"geometry"'))
    line = next(
        n for n, text in enumerate(other.read_text().splitlines(), 1) if '"geometry"' in text
    )
    status, out, err = run(course, "--from-json", mine, other)
    assert (status, out) == (1, "")
    assert f"{other}:{line}:11: error: progress of course 'geometry', not 'arith_101'" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "say whose progress"),
        (("--collection", "x", "--from-json", "a.json"), "say whose progress"),
        (("--from-json",), "--from-json needs the students' JSON files after it"),
    ],
)
def test_the_command_line_is_checked(args, message):
    status, _, err = run(*args)
    assert status == 2 and message in err


def test_a_missing_collection_is_a_message_not_a_traceback(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(COURSES / "progress", course)
    status, out, err = run(course, "--collection", tmp_path / "nowhere.anki2")
    assert (status, out) == (1, "")
    assert err == f"error: {tmp_path / 'nowhere.anki2'}: no such collection file\n"


def test_a_course_with_errors_is_reported_located(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(COURSES / "progress", course)
    concept = course / "numbers" / "addition.yaml"
    concept.write_text(concept.read_text().replace("[counting]", "[countin]"))
    status, out, err = run(course, "--collection", tmp_path / "any.anki2")
    assert (status, out) == (1, "")
    assert f"{concept}:4:" in err and "countin" in err


def test_a_collection_without_the_course_says_so(tmp_path):
    from anki.collection import Collection

    Collection(str(tmp_path / "empty.anki2")).close()
    status, out, err = run(COURSES / "progress", "--collection", tmp_path / "empty.anki2")
    assert status == 0
    assert err == (
        f"warning: collection {tmp_path / 'empty.anki2'} holds no card of course 'arith_101': "
        "import its deck (flashgen build) or run flashgen sync first\n"
    )
    assert "ready to learn (1): counting" in out.splitlines()
