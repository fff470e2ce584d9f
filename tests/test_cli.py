"""The `flashgen` command line: exit codes, output formats, help, version."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from flashgen import __version__
from flashgen.cli import main
from support import BAD_COURSES, REPO, VALID_COURSE

COUNT_LINE = re.compile(r"^.+: \d+ errors?, \d+ warnings?$")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    # sys.exit() is how `check` reports; any other exception is a crash.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_valid_course_exits_0_with_a_count_line() -> None:
    code, output = run("check", str(VALID_COURSE))
    assert code == 0
    assert output == f"{VALID_COURSE}: 4 concepts, 6 questions; 0 errors, 0 warnings\n"


def test_course_with_errors_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD_COURSES)
    code, output = run("check", "unknown-prerequisite")
    assert code == 1
    assert output.splitlines() == [
        "unknown-prerequisite/beta.yaml:4:17: error: unknown prerequisite concept 'alpah'; "
        "did you mean 'alpha'?",
        "unknown-prerequisite: 1 error, 0 warnings",
    ]


def test_warnings_alone_exit_0(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD_COURSES / "prerequisite-in-later-chapter")
    code, output = run("check", ".")
    assert code == 0
    lines = output.splitlines()
    assert lines[0].startswith("beta.yaml:4:17: warning: prerequisite 'gamma' is in a later")
    assert lines[-1] == ".: 3 concepts, 0 questions; 0 errors, 1 warning"


@pytest.mark.parametrize("name", sorted(p.name for p in BAD_COURSES.iterdir() if p.is_dir()))
def test_every_bad_course_gives_diagnostics_and_a_count_line_without_traceback(name: str) -> None:
    code, output = run("check", str(BAD_COURSES / name))
    lines = output.splitlines()
    assert len(lines) >= 2
    assert COUNT_LINE.match(lines[-1]) or re.search(r"\d+ concepts?, ", lines[-1])
    errors = sum(": error: " in line for line in lines[:-1])
    assert code == (1 if errors else 0)
    if errors:
        assert f"{errors} error" in lines[-1]


def test_missing_folder_and_file_exit_1_without_traceback(tmp_path: Path) -> None:
    code, output = run("check", str(tmp_path / "nowhere"))
    assert code == 1
    assert "course folder does not exist" in output
    file = tmp_path / "notes.txt"
    file.write_text("hello\n", encoding="utf-8")
    code, output = run("check", str(file))
    assert code == 1
    assert "is not a folder" in output


def test_json_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD_COURSES / "related-warnings")
    code, output = run("check", ".", "--format", "json")
    assert code == 0
    data = json.loads(output)
    assert set(data) == {"diagnostics", "errors", "warnings"}
    assert (data["errors"], data["warnings"]) == (0, 3)
    assert data["diagnostics"][0] == {
        "path": "beta.yaml",
        "line": 4,
        "column": 24,
        "severity": "warning",
        "message": "prerequisite 'alpha' is listed twice",
    }


def test_json_format_with_errors_exits_1() -> None:
    code, output = run("check", "--format", "json", str(BAD_COURSES / "prerequisite-cycle"))
    assert code == 1
    data = json.loads(output)  # nothing but the JSON document on standard output
    assert data["errors"] == 1
    assert "a → b → c → a" in data["diagnostics"][0]["message"]


def test_json_format_on_valid_course() -> None:
    code, output = run("check", str(VALID_COURSE), "--format=json")
    assert code == 0
    assert json.loads(output) == {"diagnostics": [], "errors": 0, "warnings": 0}


def test_unknown_format_is_a_usage_error() -> None:
    code, output = run("check", "--format", "xml", str(VALID_COURSE))
    assert code == 2
    assert "xml" in output


def test_from_the_repository_root_the_course_is_cards(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    code, output = run("check")
    assert code == 0
    lines = output.splitlines()
    assert lines[0] == "using course cards"
    assert re.fullmatch(r"cards: \d+ concepts, \d+ questions; 0 errors, \d+ warnings?", lines[-1])


def test_paths_are_relative_to_the_working_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD_COURSES.parent)
    _, output = run("check", "bad/duplicate-yaml-key")
    assert output.startswith("bad/duplicate-yaml-key/alpha.yaml:6:1: error: duplicate key")
    monkeypatch.chdir(REPO.parent)
    _, output = run("check", str(BAD_COURSES / "duplicate-yaml-key"))
    relative = (BAD_COURSES / "duplicate-yaml-key" / "alpha.yaml").relative_to(REPO.parent)
    assert output.startswith(f"{relative}:6:1: error: duplicate key")


def test_runs_from_another_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = run("check", str(VALID_COURSE))
    assert code == 0
    code, output = run("check", str(BAD_COURSES / "duplicate-yaml-key"))
    assert code == 1
    # Outside the working directory, paths are shown as given.
    assert output.startswith(f"{BAD_COURSES / 'duplicate-yaml-key' / 'alpha.yaml'}:6:1: error")


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_group_help(flag: str) -> None:
    code, output = run(flag)
    assert code == 0
    assert "Usage: " in output
    for command in ("check", "build", "preview", "init", "new", "schema", "stats"):
        assert re.search(rf"^\s+{command}\s", output, re.MULTILINE), command
    assert "flashgen init my-course" in output and "cd my-course" in output
    assert re.search(r"^\s+flashgen check\s", output, re.MULTILINE)


def all_commands(group: click.Group = main, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += all_commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


@pytest.mark.parametrize("command", all_commands(), ids=lambda c: " ".join(("flashgen", *c)))
def test_help_fits_80_columns_even_in_a_wide_terminal(
    command: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code, output = run(*command, "--help")
    assert code == 0
    wide = [line for line in output.splitlines() if len(line) > 80]
    assert wide == []


def test_check_help() -> None:
    code, output = run("check", "--help")
    assert code == 0
    assert "COURSE_DIR" in output
    assert "--format [text|json]" in output
    assert "Exit status: 0 when there are no errors" in output


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(flag: str) -> None:
    code, output = run(flag)
    assert code == 0
    assert output == f"flashgen, version {__version__}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", __version__)


def test_symlink_loop_is_an_error_not_a_crash(tmp_path: Path) -> None:
    root = tmp_path / "course"
    root.mkdir()
    (root / "course.yaml").write_text(
        (VALID_COURSE / "course.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (root / "loop.yaml").symlink_to("loop.yaml")
    code, output = run("check", str(root))
    assert code == 1
    assert "loop.yaml: error: symbolic link loop" in output


def flashgen_executable() -> str:
    """The installed console script next to the running Python (the venv's bin folder)."""
    script = Path(sys.executable).parent / ("flashgen.exe" if os.name == "nt" else "flashgen")
    assert script.exists(), "the package is not installed: pip install -e ."
    return str(script)


def test_installed_command_in_a_subprocess(tmp_path: Path) -> None:
    command = flashgen_executable()
    ok = subprocess.run(
        [command, "check", str(VALID_COURSE)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.endswith("4 concepts, 6 questions; 0 errors, 0 warnings\n")
    bad = subprocess.run(
        [command, "check", "bad/non-utf8"],
        cwd=BAD_COURSES.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert bad.stdout.splitlines() == [
        "bad/non-utf8/alpha.yaml:2:11: error: file is not valid UTF-8 (byte 0xe9): save it as "
        "UTF-8",
        "bad/non-utf8: 1 error, 0 warnings",
    ]
    assert "Traceback" not in bad.stderr


def test_python_dash_m_runs_the_cli(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flashgen", "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout == f"flashgen, version {__version__}\n"


def test_command_line_pdf_options_match_the_typesetter() -> None:
    from flashgen import cli
    from flashgen.outputs import pdf

    assert sorted(cli.PAPER_CHOICES) == sorted(pdf.PAPERS)
    assert {name: size.help for name, size in pdf.CARD_SIZES.items()} == cli.CARD_SIZE_CHOICES


def test_shell_completion_as_the_readme_sets_it_up(tmp_path: Path) -> None:
    command = flashgen_executable()
    script = subprocess.run(
        [command],
        env={**os.environ, "_FLASHGEN_COMPLETE": "bash_source"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "complete -o nosort -F _flashgen_completion flashgen" in script
    completed = subprocess.run(
        [command],
        env={
            **os.environ,
            "_FLASHGEN_COMPLETE": "bash_complete",
            "COMP_WORDS": "flashgen bu",
            "COMP_CWORD": "1",
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert completed.splitlines() == ["plain,build"]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert 'eval "$(_FLASHGEN_COMPLETE=bash_source flashgen)"' in readme


def test_pre_commit_hook_runs_the_check_of_the_whole_course() -> None:
    import yaml

    [hook] = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "flashgen-check"
    assert hook["entry"] == "flashgen check" and hook["language"] == "python"
    assert hook["pass_filenames"] is False  # problems cross files: always the whole course
    assert "flashgen" in (REPO / "pyproject.toml").read_text() and "check" in main.commands
