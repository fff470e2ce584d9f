"""Fixtures shared by the tests; plain helpers live in support.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from flashgen.checks import load_course
from flashgen.model import Course
from support import write_course


@pytest.fixture
def make_course(tmp_path: Path):
    """Write a course into a fresh folder and load it; fails the test if it has errors."""

    def make(concepts: dict[str, str], chapters: tuple[str, ...] = ("basics",)) -> Course:
        root = write_course(tmp_path / "course", concepts, chapters)
        course, diag = load_course(root)
        assert not diag.has_errors, diag.render_text(relative_to=root)
        assert course is not None
        return course

    return make
