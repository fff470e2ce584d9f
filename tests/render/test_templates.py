"""A course's own templates/ overrides flashgen's, one file at a time, and errors are located."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from flashgen.cli import main
from flashgen.render.templates import default_templates_dir, template_dirs
from support import TESTS

DECK_COURSE = TESTS / "courses" / "deck"


@pytest.fixture
def course(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    shutil.copytree(DECK_COURSE, root)
    return root


def build(course: Path, out: Path):
    return CliRunner().invoke(main, ["build", str(course), "-o", str(out), "--only", "apkg"])


def test_default_templates_are_found():
    assert (default_templates_dir() / "anki" / "style.css").is_file()
    assert template_dirs(None) == [default_templates_dir()]


def test_a_course_overrides_a_single_template(course, tmp_path):
    override = course / "templates" / "anki" / "style.css"
    override.parent.mkdir(parents=True)
    override.write_text(".card { color: rebeccapurple; }\n")
    result = build(course, tmp_path / "out")
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "out" / "deck-demo.apkg") as archive:
        database = archive.read("collection.anki2")
    assert b"rebeccapurple" in database
    assert b"fg-choices" in database  # the other templates still come from flashgen


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("<div>\n{{Front}}\n[% if x %]\n</div>\n", 3, "Unexpected end of template"),
        ("<div>\n{{Front}}\n[[ missing.attr ]]\n</div>\n", 3, "'missing' is undefined"),
        ("<div>\n[% include 'anki/nope.html' %]\n", 2, "nope.html"),
    ],
)
def test_a_broken_override_is_a_located_error_and_nothing_is_written(
    course, tmp_path, text, line, message
):
    template = course / "templates" / "anki" / "basic" / "front.html"
    template.parent.mkdir(parents=True)
    template.write_text(text)
    result = build(course, tmp_path / "out")
    assert result.exit_code == 1
    assert f"{template}:{line}:1: error: template" in result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out" / "deck-demo.apkg").exists()
