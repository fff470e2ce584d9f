"""The pipeline's memo: every command reuses what did not change, up-to-date outputs are left
alone, and a damaged, foreign or other course's cache is ignored and rewritten."""

from __future__ import annotations

import os
import shutil
import sqlite3
import zipfile
from pathlib import Path

import genanki
import pytest
from click.testing import CliRunner

from flashgen.cli import main
from flashgen.outputs.folder import record_written, written_before
from flashgen.outputs.identity import note_guid
from flashgen.pipeline import cache, load
from flashgen.pipeline.build import build, check, published_package
from flashgen.pipeline.load import load_course
from support import TESTS

HERE = TESTS
DECK_COURSE = HERE / "courses" / "deck"
ALL_COURSES = [
    HERE.parent / "cards",
    HERE / "courses" / "valid",
    DECK_COURSE,
    *sorted(p for p in (HERE / "courses" / "bad").iterdir() if p.is_dir()),
]


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch) -> Path:
    """A memo of this test's own (the default is the user's cache folder)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("FLASHGEN_CACHE_DIR", str(folder))
    return folder


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


def memo_files(cache_dir: Path) -> dict[str, tuple[int, int, bytes]]:
    return {path.name: identity(path) for path in cache_dir.rglob("*") if path.is_file()}


def computed(result) -> dict[str, int]:
    return {kind: count for kind, count in result.memo.misses.items() if count}


# --- Nothing changed: nothing is computed, nothing written ----------------------------------


def test_a_second_build_with_nothing_changed_reuses_everything(tmp_path, course, epoch):
    """The default build (deck and PDFs): every output left as it was, every file's concept
    and notes taken from the memo (the counters `build --verbose` prints)."""
    out = tmp_path / "out"
    first = build(course, out)
    assert sorted(p.name for p in first.written) == [
        "deck-demo-cards.pdf", "deck-demo-guide.pdf", "deck-demo.apkg"
    ]  # fmt: skip
    before = {path: identity(path) for path in first.written}
    again = build(course, out)
    assert again.written == again.unchanged == first.written
    assert {path: identity(path) for path in again.written} == before
    assert again.memo.hits["concept"] == 3 and again.memo.hits["output"] == 2
    assert again.memo.hits["notes"] == 0  # up-to-date outputs: no notes needed
    # tokens.yaml names an image: it is read and checked every time (images change alone)
    assert computed(again) == {"concept": 1, "stat": 1}


def test_build_verbose_prints_what_was_reused(tmp_path, course, epoch):
    out = tmp_path / "out"
    arguments = ["build", str(course), "-o", str(out), "--only", "apkg", "--verbose"]
    CliRunner().invoke(main, arguments, catch_exceptions=False)
    result = CliRunner().invoke(main, arguments, catch_exceptions=False)
    assert result.exit_code == 0
    assert "deck-demo.apkg is up to date (nothing changed)" in result.output
    assert "cache: concept 3 reused, 1 computed; output 1 reused, 0 computed" in result.output


def test_one_changed_file_is_read_and_rendered_again_alone(tmp_path, course, epoch):
    out = tmp_path / "out"
    (target,) = deck(course, out).written
    edit(course / "basics" / "attention.yaml", "summary:", "summary: Edited now.\n  ")
    result = deck(course, out)
    assert result.written == [target] and result.unchanged == []
    assert result.memo.misses["concept"] == 2  # attention.yaml, and tokens.yaml (its image)
    assert result.memo.misses["notes"] == 1  # the other two are reused
    assert any("Edited now." in fields for _, fields, _ in notes(target))
    (fresh,) = deck(course, tmp_path / "fresh").written
    assert target.read_bytes() == fresh.read_bytes()


def test_check_build_preview_and_diff_share_one_memo(tmp_path, course, epoch, cache_dir):
    checked = check(course)
    assert checked.memo.misses["concept"] == 4 and not checked.diagnostics.has_errors
    built = deck(course, tmp_path / "out")
    assert built.memo.hits["concept"] == 3  # read by check
    assert built.memo.misses["notes"] == 3
    kept = memo_files(cache_dir)
    assert check(course).memo.misses["notes"] == 0
    planned = published_package(course)
    assert planned.memo.hits["notes"] == 3 and planned.memo.misses["notes"] == 0
    assert planned.memo.hits["concept"] == 3
    if _has_preview():
        from flashgen.outputs.preview import build_preview

        build_preview(course, tmp_path / "site")
    assert memo_files(cache_dir) == kept  # nothing new computed, nothing to rewrite


def _has_preview() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(name) for name in ("anki", "mathjax"))


# --- Damaged, foreign and other courses' caches ----------------------------------------------


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # truncated
        lambda data: b"",  # empty
        lambda data: os.urandom(len(data)),  # garbage
        lambda data: data[:-10] + bytes(10),  # corrupt tail (checksum no longer matches)
        lambda data: data.replace(b"flashgen-memo", b"flashgen-memX", 1),  # wrong magic
    ],
)
def test_a_damaged_cache_is_ignored_and_rewritten(tmp_path, course, epoch, damage, cache_dir):
    out = tmp_path / "out"
    (target,) = deck(course, out).written
    expected = target.read_bytes()
    edit(course / "basics" / "tokens.yaml", "summary:", "summary: Changed.\n  ")
    (fresh,) = deck(course, tmp_path / "fresh").written
    for path in cache_dir.rglob("*"):
        if path.is_file():
            path.write_bytes(damage(path.read_bytes()))
    result = deck(course, out)
    assert result.written == [target] and result.unchanged == []
    assert result.memo.hits["concept"] == 0 and result.memo.misses["notes"] == 3
    assert target.read_bytes() == fresh.read_bytes() != expected
    again = deck(course, out)
    assert again.unchanged == [target] and again.memo.hits["concept"] == 3  # whole again


def test_a_cache_of_another_flashgen_version_is_ignored(tmp_path, course, epoch, monkeypatch):
    out = tmp_path / "out"
    (target,) = deck(course, out).written
    monkeypatch.setattr(cache, "__version__", "0.0-other")
    result = deck(course, out)
    assert result.unchanged == [] and result.memo.hits["concept"] == 0
    assert deck(course, out).unchanged == [target]


def test_another_course_s_cache_is_ignored(tmp_path, course, epoch, cache_dir):
    """A course folder reused for another course (a new id): nothing of the old is trusted."""
    out = tmp_path / "out"
    deck(course, out)
    edit(course / "course.yaml", "id: deck-demo", "id: other-demo")
    shutil.move(course / "flashgen.ledger", tmp_path / "old.ledger")
    result = deck(course, out)
    assert result.memo.hits["concept"] == 0 and result.memo.misses["notes"] == 3
    assert result.unchanged == [] and result.written[0].name == "other-demo.apkg"


def test_a_lost_notes_file_is_rendered_again(tmp_path, course, epoch, cache_dir):
    out = tmp_path / "out"
    (target,) = deck(course, out).written
    for path in cache_dir.rglob("notes"):
        path.unlink()
    edit(course / "basics" / "tokens.yaml", "summary:", "summary: Again.\n  ")
    (fresh,) = deck(course, tmp_path / "fresh").written
    assert deck(course, out).unchanged == []
    assert target.read_bytes() == fresh.read_bytes()


# --- What else shapes the outputs --------------------------------------------------------------


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


def test_a_removed_pdf_is_typeset_again(tmp_path, course, epoch):
    out = tmp_path / "out"
    first = build(course, out, only=("pdf",))
    cards = next(path for path in first.written if path.name.endswith("-cards.pdf"))
    good = cards.read_bytes()
    cards.unlink()
    again = build(course, out, only=("pdf",))
    assert again.unchanged == [] and cards.read_bytes() == good


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


def test_the_build_cache_an_earlier_flashgen_kept_in_the_output_folder_is_removed(
    tmp_path, course, epoch
):
    out = tmp_path / "out"
    deck(course, out)
    (out / ".cache" / "0123").mkdir(parents=True)
    (out / ".cache" / "0123" / "index").write_bytes(b"old")
    record_written(out, [".cache"])
    deck(course, out)
    assert not (out / ".cache").exists() and ".cache" not in written_before(out)


def test_a_cache_folder_of_the_user_s_own_is_kept(tmp_path, course, epoch):
    out = tmp_path / "out"
    deck(course, out)
    (out / ".cache").mkdir()
    deck(course, out)
    assert (out / ".cache").is_dir()


def test_a_course_with_errors_writes_nothing_into_the_output_folder(tmp_path, course, epoch):
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
    monkeypatch.setenv("FLASHGEN_CACHE_DIR", str(tmp_path / "other-cache"))
    monkeypatch.setattr(load, "PARALLEL_MIN_FILES", 2)
    monkeypatch.setattr(load, "CHUNK", 3)
    (parallel,) = deck(source, tmp_path / "parallel").written
    assert serial.read_bytes() == parallel.read_bytes()


@pytest.mark.parametrize("root", ALL_COURSES, ids=lambda p: p.name)
def test_reading_through_the_memo_reports_what_load_course_reports(root, monkeypatch, tmp_path):
    """Read fresh, from the memo, and in two processes: the same diagnostics."""
    _, expected = load_course(root)
    want = expected.render_text(relative_to=root)
    assert load.load(root).diagnostics.render_text(relative_to=root) == want
    assert load.load(root).diagnostics.render_text(relative_to=root) == want
    monkeypatch.setenv("FLASHGEN_CACHE_DIR", str(tmp_path / "parallel"))
    monkeypatch.setattr(load, "PARALLEL_MIN_FILES", 1)
    assert load.load(root).diagnostics.render_text(relative_to=root) == want


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
    for number in range(load.PARALLEL_MIN_FILES * 4):
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
