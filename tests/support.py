"""Paths and helpers shared by the tests (imported as ``support``)."""

from __future__ import annotations

import functools
import io
from pathlib import Path

import pytest

from flashgen.course.model import Course
from flashgen.diagnostics import Diagnostics
from flashgen.pipeline.load import load_course

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
COURSES = TESTS / "courses"
VALID_COURSE = COURSES / "valid"
BAD_COURSES = COURSES / "bad"
SEED_COURSE = REPO / "cards"


@functools.cache
def cjk_font_found() -> bool:
    """Whether Typst finds a font with Chinese glyphs (Debian: fonts-noto-cjk). Without one it
    prints empty boxes, and the text read back from the PDF has none of the characters."""
    import pypdf
    import typst

    pdf = typst.compile("中文".encode(), format="pdf")
    return pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text().strip() == "中文"


def require_cjk_font() -> None:
    """Skip the calling test when no font for Chinese, Japanese or Korean text is installed."""
    if not cjk_font_found():
        pytest.skip("no font with Chinese glyphs is installed (apt-get install fonts-noto-cjk)")


def check(root: Path) -> tuple[Course | None, Diagnostics, str]:
    """Run every check on ``root``; the diagnostics rendered relative to ``root`` as well."""
    course, diag = load_course(root)
    return course, diag, diag.render_text(relative_to=root)


COURSE_YAML = """id: tiny
title: Tiny Course
chapters:
{chapters}"""


def write_course(
    root: Path, concepts: dict[str, str], chapters: tuple[str, ...] = ("basics",)
) -> Path:
    """Write a course folder: ``concepts`` maps file names to their YAML text."""
    root.mkdir(parents=True, exist_ok=True)
    listed = "".join(f"  - id: {c}\n    title: {c.title()}\n" for c in chapters)
    (root / "course.yaml").write_text(COURSE_YAML.format(chapters=listed), encoding="utf-8")
    for name, text in concepts.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def concept_yaml(
    cid: str, prerequisites: tuple[str, ...] = (), chapter: str = "basics", extra: str = ""
) -> str:
    return (
        f"id: {cid}\ntitle: {cid.title()}\nchapter: {chapter}\n"
        f"prerequisites: [{', '.join(prerequisites)}]\nsummary: About {cid}.\n{extra}"
    )
