"""The build cache: up-to-date decks are left alone, changes rebuild, a bad cache is ignored."""

from __future__ import annotations

import os
import shutil
import sqlite3
import zipfile
from pathlib import Path

import genanki
import pytest

from flashgen.course.checks import load_course
from flashgen.outputs.identity import note_guid
from flashgen.pipeline import cache
from flashgen.pipeline.build import build
from support import TESTS

HERE = TESTS
DECK_COURSE = HERE / "courses" / "deck"
ALL_COURSES = [
    HERE.parent / "cards",
    HERE / "courses" / "valid",
    DECK_COURSE,
    *sorted(p for p in (HERE / "courses" / "bad").iterdir() if p.is_dir()),
]


@pytest.fixture
def epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


@pytest.fixture
def course(tmp_path: Path) -> Path:
    target = tmp_path / "course"
    shutil.copytree(DECK_COURSE, target)
    return target


def deck(course: Path, out: Path):
    return build(course, out, only=("apkg",))


def identity(path: Path) -> tuple[int, int, bytes]:
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns, path.read_bytes()


def notes(apkg: Path) -> list[tuple[str, str, int]]:
    """(guid, fields, mod) of every note in the deck."""
    with zipfile.ZipFile(apkg) as archive:
        data = archive.read("collection.anki2")
    connection = sqlite3.connect(":memory:")
    connection.deserialize(data)
    try:
        return connection.execute("select guid, flds, mod from notes order by id").fetchall()
    finally:
        connection.close()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_rebuild_with_nothing_changed_leaves_the_deck_untouched(tmp_path, course, epoch):
    first = deck(course, tmp_path / "out")
    (target,) = first.written
    before = identity(target)
    again = deck(course, tmp_path / "out")
    assert again.written == again.unchanged == [target]
    assert identity(target) == before


def test_an_edited_file_is_rebuilt_and_matches_a_build_without_cache(tmp_path, course, epoch):
    (target,) = deck(course, tmp_path / "out").written
    edit(course / "basics" / "attention.yaml", "summary:", "summary: Edited now.\n  ")
    result = deck(course, tmp_path / "out")
    assert result.written == [target] and result.unchanged == []
    assert any("Edited now." in fields for _, fields, _ in notes(target))
    (fresh,) = deck(course, tmp_path / "fresh").written
    assert target.read_bytes() == fresh.read_bytes()


def test_without_source_date_epoch_an_edit_gives_the_changed_note_a_new_time(
    tmp_path, course, monkeypatch
):
    """Only the edited note gets the build time; the others keep the time the publication
    ledger has for them, so that Anki leaves them (and students' tags) alone."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    clock = iter([1_700_000_000, 1_700_000_100, 1_700_000_200])
    monkeypatch.setattr("flashgen.pipeline.build.time.time", lambda: next(clock))
    (target,) = deck(course, tmp_path / "out").written
    assert {mod for _, _, mod in notes(target)} == {1_700_000_000}
    assert deck(course, tmp_path / "out").unchanged == [target]  # kept, with its old time
    assert {mod for _, _, mod in notes(target)} == {1_700_000_000}
    edit(course / "advanced" / "sampling.yaml", "summary:", "summary: Edited.\n  ")
    assert deck(course, tmp_path / "out").unchanged == []
    mods = {guid: mod for guid, _, mod in notes(target)}
    assert mods.pop(note_guid("deck-demo", "sampling")) == 1_700_000_200
    assert set(mods.values()) == {1_700_000_000}


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # truncated
        lambda data: b"",  # empty
        lambda data: os.urandom(len(data)),  # garbage
        lambda data: data[:-10] + bytes(10),  # corrupt tail (checksum no longer matches)
        lambda data: data.replace(b"flashgen-cache", b"flashgen-cachX", 1),  # wrong magic
    ],
)
def test_a_damaged_cache_is_ignored_and_the_deck_still_right(tmp_path, course, epoch, damage):
    out = tmp_path / "out"
    (target,) = deck(course, out).written
    expected = target.read_bytes()
    edit(course / "basics" / "tokens.yaml", "summary:", "summary: Changed.\n  ")
    (fresh,) = deck(course, tmp_path / "fresh").written
    for name in ("index", "notes"):
        for path in (out / cache.CACHE_DIR).rglob(name):
            path.write_bytes(damage(path.read_bytes()))
    result = deck(course, out)
    assert result.written == [target] and result.unchanged == []
    assert target.read_bytes() == fresh.read_bytes() != expected
    assert deck(course, out).unchanged == [target]  # and the cache is whole again


def test_a_lost_notes_file_is_rendered_again(tmp_path, course, epoch):
    out = tmp_path / "out"
    (target,) = deck(course, out).written
    for path in (out / cache.CACHE_DIR).rglob("notes"):
        path.unlink()
    edit(course / "basics" / "tokens.yaml", "summary:", "summary: Again.\n  ")
    (fresh,) = deck(course, tmp_path / "fresh").written
    assert deck(course, out).unchanged == []
    assert target.read_bytes() == fresh.read_bytes()


def test_what_else_shapes_the_deck_makes_it_rebuild(tmp_path, course, monkeypatch, epoch):
    out = tmp_path / "out"
    (target,) = deck(course, out).written
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    assert deck(course, out).unchanged == []
    edit(course / "course.yaml", "title:", "title: Renamed")
    assert deck(course, out).unchanged == []
    (course / "templates" / "anki").mkdir(parents=True)
    (course / "templates" / "anki" / "style.css").write_text(".card { color: red; }\n")
    assert deck(course, out).unchanged == []
    image = course / "images" / "tokens.png"
    image.write_bytes(image.read_bytes() + b"\x00")
    assert deck(course, out).unchanged == []
    (course / "advanced" / "sampling.yaml").unlink()
    assert deck(course, out).unchanged == []
    assert not any("sampling" in fields.lower() for _, fields, _ in notes(target))
    assert deck(course, out).unchanged == [target]


def test_a_replaced_deck_is_written_again(tmp_path, course, epoch):
    (target,) = deck(course, tmp_path / "out").written
    good = target.read_bytes()
    target.write_bytes(b"not a deck")
    assert deck(course, tmp_path / "out").unchanged == []
    assert target.read_bytes() == good


def test_a_file_rewritten_with_the_same_size_and_time_is_read_again(tmp_path, course, epoch):
    """A stat that looks unchanged is trusted only when the ctime shows no later write."""
    out = tmp_path / "out"
    (target,) = deck(course, out).written
    path = course / "basics" / "attention.yaml"
    stat = path.stat()
    text = path.read_text(encoding="utf-8")
    swapped = text.replace("Attention", "Atention ", 1)
    assert len(swapped.encode()) == len(text.encode())
    path.write_text(swapped, encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert deck(course, out).unchanged == []
    assert any("Atention" in fields for _, fields, _ in notes(target))


def test_a_course_with_errors_writes_no_cache(tmp_path, course, epoch):
    edit(course / "basics" / "tokens.yaml", "id: tokens", "id: Tokens Bad")
    with pytest.raises(Exception, match="error"):
        deck(course, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_two_processes_build_the_same_deck_as_one(tmp_path, epoch, monkeypatch):
    source = tmp_path / "big"
    shutil.copytree(DECK_COURSE, source)
    template = (source / "advanced" / "sampling.yaml").read_text(encoding="utf-8")
    for number in range(30):
        text = template.replace("id: sampling", f"id: sampling-{number}")
        (source / "advanced" / f"sampling-{number}.yaml").write_text(text, encoding="utf-8")
    (serial,) = deck(source, tmp_path / "serial").written
    monkeypatch.setattr(cache, "PARALLEL_MIN_FILES", 2)
    monkeypatch.setattr(cache, "_CHUNK", 3)
    (parallel,) = deck(source, tmp_path / "parallel").written
    assert serial.read_bytes() == parallel.read_bytes()


@pytest.mark.parametrize("root", ALL_COURSES, ids=lambda p: p.name)
def test_the_fast_check_reports_what_load_course_reports(root, monkeypatch):
    _, expected = load_course(root)
    _, diagnostics = cache.check(root)
    assert diagnostics.render_text(relative_to=root) == expected.render_text(relative_to=root)
    monkeypatch.setattr(cache, "PARALLEL_MIN_FILES", 1)
    _, parallel = cache.check(root)
    assert parallel.render_text(relative_to=root) == expected.render_text(relative_to=root)


def test_note_guid_is_genankis():
    for ids in [("c", "k", "#concept"), ("course-ü", "λ", "q1"), ("", "", "")]:
        assert note_guid(*ids) == genanki.guid_for(*ids)


def test_a_killed_parallel_build_leaves_no_worker_holding_its_output(tmp_path):
    """Workers die with the build: whoever waits for its output is not kept waiting."""
    import signal
    import subprocess
    import sys
    import time

    source = tmp_path / "big"
    shutil.copytree(DECK_COURSE, source)
    template = (source / "advanced" / "sampling.yaml").read_text(encoding="utf-8")
    for number in range(cache.PARALLEL_MIN_FILES * 4):
        text = template.replace("id: sampling", f"id: sampling-{number}")
        (source / "advanced" / f"s{number}.yaml").write_text(text, encoding="utf-8")
    command = [sys.executable, "-m", "flashgen", "build", str(source), "-o", str(tmp_path / "o")]
    process = subprocess.Popen(
        [*command, "--only", "apkg"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while not _children(process.pid) and time.monotonic() < deadline:
        time.sleep(0.005)  # until the workers are reading and rendering the files
    assert _children(process.pid), "the build never started its workers"
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)  # would hang while an orphaned worker held the pipes


def _children(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
