"""A new instructor's first hour, run as they would: the installed `flashgen` command in a shell,
a course folder whose name has spaces, commands typed from inside the course."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import REPO

COURSE_NAME = "My Biology Course 2024"


def flashgen_command() -> str:
    script = Path(sys.executable).parent / "flashgen"
    assert script.exists(), "the package is not installed: pip install -e ."
    return str(script)


def shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``command`` run by bash in ``cwd``, with the installed flashgen first on PATH."""
    env = dict(
        os.environ, PATH=f"{Path(flashgen_command()).parent}{os.pathsep}{os.environ['PATH']}"
    )
    env.pop("SOURCE_DATE_EPOCH", None)
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """`flashgen init "My Biology Course 2024"` in a fresh folder."""
    result = shell(f"flashgen init {shlex.quote(COURSE_NAME)}", tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path / COURSE_NAME


def test_init_prints_next_steps_that_work_when_pasted(tmp_path: Path) -> None:
    result = shell(f"flashgen init {shlex.quote(COURSE_NAME)}", tmp_path)
    assert result.returncode == 0, result.stderr
    steps = result.stdout.split("Next:\n", 1)[1].strip().splitlines()
    assert steps[0].strip() == "cd 'My Biology Course 2024'"
    pasted = [line.strip() for line in steps if "--serve" not in line]  # --serve runs forever
    checked = shell(" && ".join([*pasted, "flashgen check"]), tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert (tmp_path / COURSE_NAME / "ch1" / "my-concept.yaml").is_file()
    assert "2 concepts" in checked.stdout


def test_the_course_readme_quotes_the_path(course: Path) -> None:
    readme = (course / "README.md").read_text()
    assert "flashgen check 'My Biology Course 2024'" in readme
    assert f"flashgen check {COURSE_NAME}" not in readme
    assert shell("flashgen check 'My Biology Course 2024'", course.parent).returncode == 0


def test_every_command_finds_the_course_from_inside_it(course: Path) -> None:
    chapter = course / "ch1"
    result = shell("flashgen check", chapter)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "using course ..\n"
    assert result.stdout == "..: 1 concept, 4 questions; 0 errors, 0 warnings\n"

    result = shell("flashgen new concept cells --chapter ch1 --after spaced-repetition", chapter)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "using course ..\n"
    assert (chapter / "cells.yaml").is_file() and result.stdout == "wrote cells.yaml\n"

    result = shell("flashgen diff", chapter)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("using course ..\n")

    result = shell("flashgen stats --format json", chapter)
    assert result.returncode == 0, result.stderr
    assert '"concepts": 2' in result.stdout

    (course / ".flashgen" / "concept.schema.json").unlink()
    result = shell("flashgen schema", chapter)
    assert result.returncode == 0, result.stderr
    assert (course / ".flashgen" / "concept.schema.json").is_file()

    # Outputs go beside course.yaml, not into the subfolder the command was typed in.
    result = shell("flashgen build --only apkg", chapter)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("using course ..\n")
    assert (course / "output" / f"{course.name.lower().replace(' ', '-')}.apkg").is_file()
    assert not (chapter / "output").exists()
    assert shell("git init -q && git status --porcelain", course).stdout.count("output") == 0


def test_a_course_named_on_the_command_line_is_used_silently(course: Path) -> None:
    result = shell(f"flashgen check {shlex.quote(str(course))}", REPO)
    assert result.returncode == 0
    assert result.stderr == ""


def test_from_the_repository_root_the_course_is_cards() -> None:
    result = shell("flashgen check", REPO / "docs")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "using course ../cards\n"


def test_outside_any_course_the_error_says_what_to_do(tmp_path: Path) -> None:
    result = shell("flashgen check", tmp_path)
    assert result.returncode == 1
    assert "error: no course here: no course.yaml in" in result.stderr
    assert "flashgen init DIR" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_preview_on_a_busy_port_names_it_and_suggests_another(course: Path, busy_port: int) -> None:
    result = shell(f"flashgen preview --serve --port {busy_port}", course)
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert f"port {busy_port} on 127.0.0.1 is in use" in message
    assert f"try --port {busy_port + 1}" in message or "leave out --port" in message
    assert "Errno" not in result.stderr and "Traceback" not in result.stderr


def test_python_dash_m_flashgen_finds_the_course_too(course: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flashgen", "check"],
        cwd=course,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "using course .\n"
