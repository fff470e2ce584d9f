"""Rendering and ordering of diagnostics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flashgen.diagnostics import Diagnostics, Location, display_path, plural


def test_render_with_and_without_position(tmp_path: Path) -> None:
    diag = Diagnostics()
    diag.error(Location(tmp_path / "a.yaml", 3, 7), "bad")
    diag.warning(Location(tmp_path / "b.yaml"), "whole file")
    assert diag.render_text(relative_to=tmp_path).splitlines() == [
        "a.yaml:3:7: error: bad",
        "b.yaml: warning: whole file",
    ]


def test_sorted_by_path_then_line_then_column_and_deduplicated(tmp_path: Path) -> None:
    diag = Diagnostics()
    for line, column in [(10, 1), (2, 5), (2, 1), (2, 1)]:
        diag.error(Location(tmp_path / "b.yaml", line, column), "x")
    diag.error(Location(tmp_path / "a" / "z.yaml", 99, 1), "x")
    rendered = diag.render_text(relative_to=tmp_path).splitlines()
    assert [line.rsplit(": error", 1)[0] for line in rendered] == [
        "a/z.yaml:99:1", "b.yaml:2:1", "b.yaml:2:5", "b.yaml:10:1",
    ]  # fmt: skip


def test_counts_and_summary() -> None:
    diag = Diagnostics()
    assert diag.summary() == "0 errors, 0 warnings"
    assert not diag.has_errors
    diag.warning(Location(Path("a")), "w")
    assert diag.summary() == "0 errors, 1 warning"
    assert not diag.has_errors
    diag.error(Location(Path("a")), "e")
    diag.error(Location(Path("a"), 1, 1), "e")
    assert diag.summary() == "2 errors, 1 warning"
    assert diag.has_errors
    assert (plural(1, "concept"), plural(0, "concept")) == ("1 concept", "0 concepts")


def test_json_shape(tmp_path: Path) -> None:
    diag = Diagnostics()
    diag.error(Location(tmp_path / "é.yaml", 1, 2), "ünïcode stays readable")
    text = diag.render_json(relative_to=tmp_path)
    assert "ünïcode" in text
    assert json.loads(text) == {
        "diagnostics": [
            {"path": "é.yaml", "line": 1, "column": 2, "severity": "error",
             "message": "ünïcode stays readable"}
        ],
        "errors": 1,
        "warnings": 0,
    }  # fmt: skip


def test_display_path_outside_the_base_is_unchanged(tmp_path: Path) -> None:
    outside = Path("/somewhere/else/x.yaml")
    assert display_path(outside, tmp_path) == outside


def test_display_path_keeps_a_symbolic_link_s_own_name(tmp_path: Path) -> None:
    (tmp_path / "target.yaml").write_text("id: a\n", encoding="utf-8")
    link = tmp_path / "link.yaml"
    link.symlink_to("target.yaml")
    assert display_path(link, tmp_path) == Path("link.yaml")


def test_display_path_defaults_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert display_path(tmp_path / "sub" / "a.yaml") == Path("sub/a.yaml")


HOSTILE_KEY = '"\\e[2J\\e[H\\e]52;c;cm0gLXJmIH4=\\a\\u202e\\u0085\\x9b31m0 errors"'


@pytest.mark.parametrize("output_format", ["text", "json"])
def test_course_text_cannot_drive_the_terminal(tmp_path: Path, output_format: str) -> None:
    """A key made of escape sequences (clear screen, OSC 52 clipboard write, a bidi override,
    C1 controls) is printed as visible escapes, in text and JSON alike."""
    from click.testing import CliRunner

    from flashgen.cli import main
    from support import concept_yaml, write_course

    course = write_course(
        tmp_path / "course", {"a.yaml": concept_yaml("a", extra=f"{HOSTILE_KEY}: 1\n")}
    )
    result = CliRunner().invoke(main, ["check", str(course), "--format", output_format])
    assert result.exit_code == 1
    printed = result.output
    for raw in ("\x1b", "\x07", "\u202e", "\x85", "\x9b"):
        assert raw not in printed
    if output_format == "json":
        message = json.loads(printed)["diagnostics"][0]["message"]
        assert message.startswith("unknown key '\\x1b[2J\\x1b[H\\x1b]52;c;cm0gLXJmIH4=\\x07")
    else:
        assert "a.yaml:6:1: error: unknown key '\\x1b[2J\\x1b[H\\x1b]52;c;" in printed
        assert "\\u202e\\x85\\x9b31m0 errors'" in printed
