"""Faults caused for real: killed builds, racing builds, unwritable output, full disks."""

from __future__ import annotations

import os
import random
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from anki.collection import Collection

from ankitools import import_apkg
from flashgen.atomic import TEMP_PREFIX
from support import SEED_COURSE, concept_yaml, write_course

EXIT_WRITE_FAILED = 3


def flashgen(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000", **kwargs.pop("env", {})}
    return subprocess.Popen(
        [sys.executable, "-m", "flashgen", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kwargs,
    )


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    process = flashgen(*args, **kwargs)
    out, err = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def big_course(root: Path, concepts: int = 400) -> Path:
    """A course large enough that a build takes a noticeable fraction of a second."""
    files = {}
    for i in range(concepts):
        prerequisites = tuple(f"c{j}" for j in (i - 1, i // 2) if 0 <= j < i)
        questions = (
            "questions:\n"
            f"  - id: q\n    type: multiple-choice\n    question: Which is *c{i}*?\n"
            f"    correct: c{i}\n    distractors: [x{i}, y{i}, z{i}]\n"
            f"  - id: t\n    type: true-false\n    statement: c{i} is $x^{i % 7}$.\n"
            "    answer: true\n"
        )
        files[f"part{i % 5}/c{i}.yaml"] = concept_yaml(f"c{i}", prerequisites, extra=questions)
    return write_course(root, files)


def assert_valid_deck(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert "collection.anki2" in names and "media" in names
        database = path.parent / f"{path.name}.check.sqlite"
        database.write_bytes(archive.read("collection.anki2"))
    try:
        with sqlite3.connect(database) as connection:
            assert connection.execute("select count() from notes").fetchone()[0] > 0
    finally:
        database.unlink()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX))


def test_killed_builds_never_replace_the_last_good_deck(tmp_path):
    course = big_course(tmp_path / "course")
    out = tmp_path / "out"
    started = time.monotonic()
    assert run("build", str(course), "-o", str(out), "--only", "apkg").returncode == 0
    duration = time.monotonic() - started
    deck = out / "tiny.apkg"
    good = deck.read_bytes()
    rng = random.Random(20261127)
    for attempt in range(12):
        process = flashgen(
            "build", str(course), "-o", str(out), "--only", "apkg",
            env={"SOURCE_DATE_EPOCH": str(1_800_000_000 + attempt)},
        )  # fmt: skip
        time.sleep(rng.uniform(0.05, 1.0) * duration)
        process.send_signal(signal.SIGKILL)
        process.communicate()
        current = deck.read_bytes()
        if current != good:  # the build finished before the kill: a complete new deck
            assert_valid_deck(deck)
            good = current
    assert_valid_deck(deck)
    # The next build sweeps the temporaries that the killed builds left behind.
    assert run("build", str(course), "-o", str(out), "--only", "apkg").returncode == 0
    assert leftovers(out) == []
    assert_valid_deck(deck)


def test_two_builds_at_once_leave_one_complete_deck(tmp_path):
    course = big_course(tmp_path / "course", concepts=200)
    out = tmp_path / "out"
    processes = [flashgen("build", str(course), "-o", str(out), "--only", "apkg") for _ in range(2)]
    results = [process.communicate(timeout=300) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], results
    names = sorted(p.name for p in out.iterdir() if p.name != ".cache")
    assert names == [".flashgen-output", "tiny.apkg"]
    collection = Collection(str(tmp_path / "student.anki2"))
    try:
        log = import_apkg(collection, out / "tiny.apkg")
        assert len(log.new) == collection.note_count() == 200 * 3
    finally:
        collection.close()


def make_read_only(folder: Path) -> None:
    """Read-only even for root (CI runs as root): the immutable attribute, else permissions."""
    if os.geteuid() == 0:
        if (
            shutil.which("chattr") is None
            or subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode
        ):
            pytest.skip("running as root without chattr +i: cannot make a read-only folder")
    else:
        folder.chmod(0o555)


def undo_read_only(folder: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
    else:
        folder.chmod(0o755)


def test_read_only_output_folder_is_a_clear_error(tmp_path):
    course = big_course(tmp_path / "course", concepts=5)
    out = tmp_path / "out"
    assert run("build", str(course), "-o", str(out), "--only", "apkg").returncode == 0
    good = (out / "tiny.apkg").read_bytes()
    make_read_only(out)
    try:
        result = run("build", str(course), "-o", str(out), "--only", "apkg",
                     env={"SOURCE_DATE_EPOCH": "1800000000"})  # fmt: skip
    finally:
        undo_read_only(out)
    assert result.returncode == EXIT_WRITE_FAILED
    assert f"cannot write {out / 'tiny.apkg'}" in result.stderr
    assert "Traceback" not in result.stderr
    assert (out / "tiny.apkg").read_bytes() == good


def limit_file_size(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes then fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_full_disk_is_a_clear_error_and_keeps_the_previous_deck(tmp_path):
    course = big_course(tmp_path / "course", concepts=300)
    out = tmp_path / "out"
    assert run("build", str(course), "-o", str(out), "--only", "apkg").returncode == 0
    good = (out / "tiny.apkg").read_bytes()
    result = run(
        "build", str(course), "-o", str(out), "--only", "apkg",
        env={"SOURCE_DATE_EPOCH": "1800000000"}, preexec_fn=limit_file_size(64 * 1024),
    )  # fmt: skip
    assert result.returncode == EXIT_WRITE_FAILED, result.stderr
    assert "cannot write" in result.stderr and "tiny.apkg" in result.stderr
    assert "Traceback" not in result.stderr
    assert (out / "tiny.apkg").read_bytes() == good
    assert leftovers(out) == []


def test_output_folder_inside_the_course_is_refused(tmp_path):
    """Inside the course, outputs would be read back as course material, or hide the
    concepts under them from the build (an empty deck): the folder is refused, exit 2."""
    course = big_course(tmp_path / "course", concepts=3)
    for out in (course / "build", course / "part0", course):
        result = run("build", str(course), "-o", str(out), "--only", "apkg")
        assert result.returncode == 2, result.stderr
        assert "refusing to write into" in result.stderr and "course folder" in result.stderr
        assert not list(course.rglob("*.apkg"))


@pytest.mark.parametrize("course", [SEED_COURSE, "big"])
def test_built_decks_pass_ankis_check_database(tmp_path, course):
    if course == "big":
        course = big_course(tmp_path / "course", concepts=300)
    else:  # a copy: the build keeps the course's publication ledger in the course folder
        course = shutil.copytree(course, tmp_path / "course")
    out = tmp_path / "out"
    result = run("build", str(course), "-o", str(out), "--only", "apkg")
    assert result.returncode == 0, result.stderr
    (deck,) = out.glob("*.apkg")
    collection = Collection(str(tmp_path / "student.anki2"))
    try:
        import_apkg(collection, deck)
        message, ok = collection.fix_integrity()
        assert ok
        assert message.strip() == "Database rebuilt and optimized."
    finally:
        collection.close()
