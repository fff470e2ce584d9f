"""An output kept because its inputs did not change is reported as when it was written
(flashgen/pipeline/write.py): its warnings come back at their lines."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flashgen.pipeline.build import build
from support import COURSES

SEMESTER = COURSES / "semester"


@pytest.fixture(autouse=True)
def epoch(monkeypatch, tmp_path):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setenv("FLASHGEN_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def course(tmp_path) -> Path:
    return shutil.copytree(SEMESTER, tmp_path / "course")


def warnings(result, course: Path) -> list[str]:
    return [warning.render(relative_to=course) for warning in result.diagnostics.warnings]


def test_a_kept_deck_still_warns_that_its_published_deck_name_is_kept(course, tmp_path):
    output = tmp_path / "out"
    build(course, output, only=("apkg",))  # published: the ledger names the decks
    yaml = course / "course.yaml"
    yaml.write_text(yaml.read_text().replace("Core Ideas", "Core Concepts"))
    first = build(course, output, only=("apkg",))
    assert first.unchanged == []
    (said,) = warnings(first, course)
    assert said.startswith("course.yaml:9:12: warning: the title (or number) of chapter 'core'")
    second = build(course, output, only=("apkg",))
    assert second.unchanged == second.written
    assert warnings(second, course) == [said]


def test_a_kept_deck_does_not_announce_the_ledger_it_started_again(course, tmp_path):
    output = tmp_path / "out"
    first = build(course, output, only=("apkg",))
    (said,) = warnings(first, course)
    assert said.startswith("course.yaml:3:5: warning: no publication ledger (flashgen.ledger)")
    second = build(course, output, only=("apkg",))
    assert second.unchanged == second.written
    assert warnings(second, course) == []  # the ledger is there now: nothing to say
