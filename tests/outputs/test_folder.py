"""Output folders hold a marker listing what flashgen wrote; only that is ever replaced or
deleted. Folders flashgen must never write into are refused (exit 2), and nothing is written
through a symbolic link (outputs, and the course's own .flashgen/)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from flashgen.cli import main
from flashgen.outputs.folder import MARKER
from support import TESTS

DECK_COURSE = TESTS / "courses" / "deck"


@pytest.fixture
def course(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    shutil.copytree(DECK_COURSE, root)
    return root


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("command", ["build", "preview"])
@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("course", "is the course folder"),
        ("course/basics", "is inside the course folder"),
        ("course/output/../images", "is inside the course folder"),
        (".", "holds the course folder"),
        ("home", "is the home folder"),
        ("work", "is the working directory"),
    ],
)
def test_folders_flashgen_never_writes_into(course, tmp_path, monkeypatch, command, where, reason):
    work = tmp_path / "work"
    work.mkdir()
    (work / "thesis.tex").write_text("mine")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path if where == "." else work)
    target = {"home": home, "work": work, ".": Path(".")}.get(where, tmp_path / where)
    before = snapshot(tmp_path)
    result = run(command, str(course), "-o", str(target))
    assert result.exit_code == 2, result.output
    assert f"error: refusing to write into {target} {reason}" in result.output
    assert snapshot(tmp_path) == before


def test_the_courses_own_output_folder_is_accepted(course, tmp_path, monkeypatch):
    """Run from inside the course, outputs go to its output/ (never read as course material)."""
    monkeypatch.chdir(course)
    result = run("build", "--only", "apkg")  # the course found here; output/ by default
    assert result.exit_code == 0, result.output
    assert (course / "output" / "deck-demo.apkg").is_file()
    assert run("check").exit_code == 0
    (course / "output").rename(course / "elsewhere")
    (course / "output").symlink_to(tmp_path, target_is_directory=True)  # not a plain folder
    assert run("build", "--only", "apkg").exit_code == 2


@pytest.mark.parametrize("command", ["build", "preview"])
def test_a_foreign_folder_that_is_not_empty_is_refused_and_left_alone(course, tmp_path, command):
    target = tmp_path / "photos"
    target.mkdir()
    (target / "holiday.jpg").write_bytes(b"\xff\xd8\xff mine")
    result = run(command, str(course), "-o", str(target))
    assert result.exit_code == 2
    assert f"{target} is not empty (holiday.jpg) and was not written by flashgen" in result.output
    assert snapshot(target) == {"holiday.jpg": b"\xff\xd8\xff mine"}


def test_a_users_own_files_in_the_output_folder_survive_every_build(course, tmp_path):
    out = tmp_path / "out"
    assert run("build", str(course), "-o", str(out)).exit_code == 0
    assert json.loads((out / MARKER).read_text())["written"] == [
        "deck-demo-cards.pdf",
        "deck-demo-guide.pdf",
        "deck-demo.apkg",
    ]
    mine = {
        "deck-demo-guide-annotated.pdf": b"%PDF my notes",
        "deck-demo-cards-old.pdf": b"%PDF mine too",
        "notes.txt": b"mine",
    }
    for name, data in mine.items():
        (out / name).write_bytes(data)
    for args in ([], ["--only", "pdf"], ["--only", "apkg"]):
        result = run("build", str(course), "-o", str(out), *args)
        assert result.exit_code == 0, result.output
    for name, data in mine.items():
        assert (out / name).read_bytes() == data


def test_an_output_folder_of_an_earlier_flashgen_is_accepted(course, tmp_path):
    """Before the marker, output/ held only decks, PDFs and the cache: still accepted."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "deck-demo.apkg").write_bytes(b"old deck")
    (out / ".cache").mkdir()
    assert run("build", str(course), "-o", str(out), "--only", "apkg").exit_code == 0
    assert (out / MARKER).is_file()


@pytest.fixture
def preview_ready():
    pytest.importorskip("anki", reason="the preview extra (anki) is not installed")


def test_preview_keeps_a_users_files_and_replaces_its_own(course, tmp_path, preview_ready):
    site = tmp_path / "site"
    assert run("preview", str(course), "-o", str(site)).exit_code == 0
    (site / "my-notes.md").write_text("mine")
    (site / "index.html").write_text("stale page")
    result = run("preview", str(course), "-o", str(site))
    assert result.exit_code == 0, result.output
    assert (site / "my-notes.md").read_text() == "mine"
    assert "stale page" not in (site / "index.html").read_text()


def test_staging_folders_of_a_killed_preview_are_removed_by_the_next_run(
    course, tmp_path, preview_ready
):
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = gone.stdout.strip()
    left = [tmp_path / f".site-new-{dead}-x1", tmp_path / f".site-old-{dead}-123"]
    for folder in left:
        (folder / "concepts").mkdir(parents=True)
    alive = tmp_path / ".site-new-1-x2"  # pid 1 is alive: another preview's, left alone
    alive.mkdir()
    assert run("preview", str(course), "-o", str(tmp_path / "site")).exit_code == 0
    assert not any(folder.exists() for folder in left)
    assert alive.is_dir()


# --- writing into the course's .flashgen/ ----------------------------------------------------


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "bashrc"
    path.write_text("export PATH=/usr/bin\n")
    return path


def test_schema_does_not_write_through_a_link_in_dot_flashgen(course, victim):
    (course / ".flashgen").mkdir()
    link = course / ".flashgen" / "course.schema.json"
    link.symlink_to(victim)
    result = run("schema", str(course))
    assert result.exit_code == 3
    assert f"{link} is a symbolic link; flashgen does not write through links" in result.output
    assert victim.read_text() == "export PATH=/usr/bin\n"


def test_schema_does_not_write_into_a_linked_dot_flashgen_folder(course, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (course / ".flashgen").symlink_to(elsewhere, target_is_directory=True)
    result = run("schema", str(course))
    assert result.exit_code == 3
    assert f"{course / '.flashgen'} is a symbolic link" in result.output
    assert not any(elsewhere.iterdir())


def test_new_concept_does_not_write_through_links(course, tmp_path, victim):
    (course / ".flashgen").mkdir()
    (course / ".flashgen" / "concept.schema.json").symlink_to(victim)
    result = run("new", "concept", "fresh", "--chapter", "basics", "--course", str(course))
    assert result.exit_code == 1
    assert "refused to write:" in result.output and "is a symbolic link" in result.output
    assert victim.read_text() == "export PATH=/usr/bin\n"
    assert not list(course.rglob("fresh.yaml"))


def test_new_concept_does_not_write_into_a_chapter_folder_linked_out(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "c"
    assert run("init", str(root)).exit_code == 0
    (root / "ch2").symlink_to(outside, target_is_directory=True)
    course_yaml = root / "course.yaml"
    course_yaml.write_text(course_yaml.read_text() + "  - id: ch2\n    title: Two\n")
    result = run("new", "concept", "fresh", "--chapter", "ch2", "--course", str(root))
    assert result.exit_code == 1, result.output
    assert f"{root / 'ch2'} is a symbolic link" in result.output
    assert not any(outside.iterdir())
