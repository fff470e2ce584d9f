"""Broken and hostile course folders: located errors, exit 1, no traceback, nothing written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from flashgen.cli import main
from flashgen.course.loader import MAX_FILE_BYTES
from support import concept_yaml, write_course


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return write_course(
        tmp_path / "course",
        {"a.yaml": concept_yaml("a"), "b.yaml": concept_yaml("b", ("a",))},
    )


def assert_refused(course: Path, tmp_path: Path, expected: str) -> str:
    result = run("build", str(course), "-o", str(tmp_path / "out"), "--only", "apkg")
    assert result.exit_code == 1, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    return result.output


def test_symbolic_link_to_a_file_outside_the_course(course, tmp_path):
    secret = tmp_path / "elsewhere.yaml"
    secret.write_text(concept_yaml("elsewhere"))
    (course / "link.yaml").symlink_to(secret)
    assert_refused(course, tmp_path, "link.yaml: error: symbolic link points outside the course")


def test_symbolic_link_to_a_folder_outside_the_course(course, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "c.yaml").write_text(concept_yaml("c"))
    (course / "more").symlink_to(outside, target_is_directory=True)
    assert_refused(course, tmp_path, "more: error: symbolic link to a folder outside the course")


def test_symbolic_link_inside_the_course_is_not_read_twice(course, tmp_path):
    (course / "again").symlink_to(course, target_is_directory=True)
    (course / "a-again.yaml").symlink_to(course / "a.yaml")
    result = run("check", str(course))
    assert "duplicate concept id 'a'" in result.output  # the file link is a second file
    (course / "a-again.yaml").unlink()
    assert run("check", str(course)).exit_code == 0


def test_broken_symbolic_link_is_an_unreadable_file(course, tmp_path):
    (course / "gone.yaml").symlink_to(course / "missing.yaml")
    assert_refused(course, tmp_path, "gone.yaml: error: cannot read file")


def test_billion_laughs_is_refused(course, tmp_path):
    lines = ['a0: &a0 ["lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    (course / "bomb.yaml").write_text("\n".join(lines) + "\n")
    assert_refused(course, tmp_path, "expands to more than")


def test_deep_nesting_is_refused(course, tmp_path):
    (course / "deep.yaml").write_text("id: deep\ntitle: " + "[" * 5000 + "]" * 5000 + "\n")
    assert_refused(course, tmp_path, "deep.yaml:2:")


def test_file_over_the_size_limit_is_refused(course, tmp_path):
    with open(course / "huge.yaml", "w") as handle:
        handle.write(concept_yaml("huge").replace("About huge.", "x" * (MAX_FILE_BYTES + 10)))
    assert_refused(course, tmp_path, "huge.yaml: error: file is too large")


def test_a_very_long_line_within_the_limit_builds(course, tmp_path):
    long_summary = "word " * 3_999  # 19,995 characters: just inside the limit of a text field
    (course / "long.yaml").write_text(concept_yaml("long").replace("About long.", long_summary))
    result = run("build", str(course), "-o", str(tmp_path / "out"), "--only", "apkg")
    assert result.exit_code == 0, result.output


def test_a_2_mb_line_is_a_located_error(course, tmp_path):
    long_summary = "word " * 400_000
    (course / "long.yaml").write_text(concept_yaml("long").replace("About long.", long_summary))
    assert_refused(course, tmp_path, "long.yaml:5:10: error: text is 1,999,999 characters long")


def test_non_utf8_bytes_are_reported_with_their_line(course, tmp_path):
    (course / "latin1.yaml").write_bytes(
        concept_yaml("latin").replace("About", "Caf\xe9").encode("latin-1")
    )
    output = assert_refused(course, tmp_path, "latin1.yaml:5:13: error: file is not valid UTF-8")
    assert "0xe9" in output


def test_bom_and_windows_line_endings_are_fine(course):
    text = concept_yaml("windows", ("a",)).replace("\n", "\r\n")
    (course / "windows.yaml").write_bytes(b"\xef\xbb\xbf" + text.encode())
    result = run("check", str(course))
    assert result.exit_code == 0, result.output


def test_tabs_for_indentation_are_reported_with_their_line(course, tmp_path):
    text = concept_yaml("tabs") + "questions:\n\t- id: q\n"
    (course / "tabs.yaml").write_text(text)
    assert_refused(course, tmp_path, "tabs.yaml:7:1: error: YAML syntax error")


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (("tags: []", "tags: [machine learning]"), "cannot contain spaces"),
        (("id: a", "id: Big A"), "cannot contain spaces"),
        (("id: a", "id: BigA"), "must be lower case"),
        (("title: A", 'title: ""'), "'title' must not be empty"),
        (("title: A", "title: '   '"), "'title' must not be empty"),
    ],
)
def test_defined_behaviour_for_spaces_case_and_empty_text(course, tmp_path, mutation, message):
    text = concept_yaml("a").replace("summary:", "tags: []\nsummary:")
    (course / "a.yaml").write_text(text.replace(*mutation))
    assert_refused(course, tmp_path, message)


def test_course_folder_that_is_missing_or_a_file(tmp_path):
    result = run("build", str(tmp_path / "nope"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1 and "course folder does not exist" in result.output
    (tmp_path / "file").write_text("x")
    result = run("build", str(tmp_path / "file"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1 and "is not a folder" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file whatever its mode")
def test_unreadable_file(course, tmp_path):
    (course / "a.yaml").chmod(0)
    assert_refused(course, tmp_path, "a.yaml: error: cannot read file: Permission denied")
