"""Fixtures shared by the tests; plain helpers live in support.py."""

from __future__ import annotations

from pathlib import Path

import pytest

try:
    from hypothesis import settings
except ImportError:  # pragma: no cover - hypothesis is in the test extra
    settings = None

if settings is not None:
    # "ci": the same examples on every run, so a red CI always means a real change.
    # "fuzz": a long local search: HYPOTHESIS_PROFILE=fuzz pytest tests/test_robustness.py
    settings.register_profile("ci", derandomize=True, print_blob=True)
    settings.register_profile("fuzz", max_examples=20_000, print_blob=True)
    settings.register_profile("dev", print_blob=True)
    import os

    settings.load_profile(
        os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
    )

from flashgen.course.model import Course
from flashgen.pipeline.load import load_course
from support import write_course

REPOSITORY = Path(__file__).resolve().parent.parent


def _ledgers() -> set[Path]:
    return {
        *REPOSITORY.glob("tests/courses/**/flashgen.ledger"),
        *REPOSITORY.glob("cards/*.ledger"),
    }


@pytest.fixture(scope="session", autouse=True)
def repository_courses_stay_unwritten():
    """A build keeps its ledger in the course folder: tests build copies of the repository's
    courses, never the courses themselves. Fails the run when a test wrote a ledger into one."""
    before = {path: path.read_bytes() for path in _ledgers()}
    yield
    after = {path: path.read_bytes() for path in _ledgers()}
    written = sorted(str(p.relative_to(REPOSITORY)) for p in after if before.get(p) != after[p])
    assert not written, f"tests wrote into repository courses: {written}"


@pytest.fixture(scope="session", autouse=True)
def flashgen_cache(tmp_path_factory: pytest.TempPathFactory):
    """The pipeline's memo and the PDF caches of this test run in a folder of its own, not in
    the user's cache folder (a test that needs its own sets FLASHGEN_CACHE_DIR again)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("FLASHGEN_CACHE_DIR", str(tmp_path_factory.mktemp("flashgen-cache")))
    yield
    patch.undo()


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
