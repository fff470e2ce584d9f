"""The Makefile's targets, run for real against a stand-in virtual environment whose pip and
flashgen only write down how they were called."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import REPO

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")

LOGGING = '#!/bin/sh\necho "{name} $*" >> "$(dirname "$0")/../calls"\n'


def stand_in_venv(root: Path, python: str) -> Path:
    """bin/python runs ``python``; bin/pip and bin/flashgen only log their arguments."""
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "python").write_text(f'#!/bin/sh\nexec {python} "$@"\n')
    for name in ("pip", "flashgen", "ruff", "pytest"):
        (root / "bin" / name).write_text(LOGGING.format(name=name))
    for script in (root / "bin").iterdir():
        script.chmod(0o755)
    return root


def make(venv: Path, *targets: str) -> list[str]:
    subprocess.run(
        ["make", "--no-print-directory", "-s", "-C", str(REPO), f"VENV={venv}", *targets],
        capture_output=True,
        check=True,
    )
    calls = venv / "calls"
    return [line.strip() for line in calls.read_text().splitlines()] if calls.exists() else []


def test_build_after_test_keeps_the_editable_install(tmp_path: Path) -> None:
    # The running interpreter imports this folder's flashgen: the editable install of `make test`.
    venv = stand_in_venv(tmp_path / "venv", sys.executable)
    assert make(venv, "check") == [
        "pip install --quiet --disable-pip-version-check -e .[test]",
        "ruff check .",
        "pytest",
    ]
    assert make(venv, "build")[3:] == ["flashgen build cards"]  # nothing installed again


def test_build_replaces_a_copy_or_a_missing_flashgen_with_an_editable_install(
    tmp_path: Path,
) -> None:
    venv = stand_in_venv(tmp_path / "venv", "false")  # `import flashgen` fails, as in a new venv
    assert make(venv, "build") == [
        "pip install --quiet --disable-pip-version-check -e .",
        "flashgen build cards",
    ]


def test_build_installs_again_when_pyproject_changed(tmp_path: Path) -> None:
    venv = stand_in_venv(tmp_path / "venv", sys.executable)
    (venv / ".flashgen-editable").touch()
    old = (REPO / "pyproject.toml").stat().st_mtime - 60
    os.utime(venv / ".flashgen-editable", (old, old))
    assert make(venv, "build")[0].startswith("pip install")


def test_test_installs_the_system_packages_and_check_does_not(tmp_path: Path) -> None:
    venv = stand_in_venv(tmp_path / "venv", sys.executable)
    dry = ["make", "--no-print-directory", "-n", "-C", str(REPO), f"VENV={venv}"]
    test = subprocess.run([*dry, "test"], capture_output=True, text=True, check=True).stdout
    check = subprocess.run([*dry, "check"], capture_output=True, text=True, check=True).stdout
    assert "apt-get install" in test  # what CI runs, as root on a fresh machine
    assert "apt-get" not in check
