"""The Makefile's targets, dry-run (`make -n`) against a stand-in virtual environment."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from support import REPO

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def dry_run(*args: str) -> list[str]:
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "-C", str(REPO), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.splitlines()


def stand_in_venv(root: Path, installed: bool) -> Path:
    """A folder with bin/python (and bin/flashgen when ``installed``): all make looks at."""
    (root / "bin").mkdir(parents=True)
    for name in ("python", "flashgen") if installed else ("python",):
        (root / "bin" / name).touch()
    return root


def test_build_after_test_keeps_the_editable_install(tmp_path: Path) -> None:
    venv = stand_in_venv(tmp_path / "venv", installed=True)
    assert dry_run("build", f"VENV={venv}") == [f"{venv}/bin/flashgen build cards"]


def test_build_on_a_fresh_machine_installs_flashgen_editable(tmp_path: Path) -> None:
    venv = stand_in_venv(tmp_path / "venv", installed=False)
    installs = [line for line in dry_run("build", f"VENV={venv}") if "pip install" in line]
    assert len(installs) == 1 and installs[0].endswith(" -e .")


def test_check_runs_the_tests_without_apt_and_test_installs_system_packages(
    tmp_path: Path,
) -> None:
    venv = stand_in_venv(tmp_path / "venv", installed=True)
    check = dry_run("check", f"VENV={venv}")
    assert not any("apt-get" in line for line in check)
    assert check[-2:] == [f"{venv}/bin/ruff check .", f"{venv}/bin/pytest"]
    test = dry_run("test", f"VENV={venv}")
    assert any("apt-get install" in line for line in test)  # what CI runs, as root
    assert test[-2:] == check[-2:]
