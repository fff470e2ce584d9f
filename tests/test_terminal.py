"""The build's progress bar: on a terminal only, never in piped output or with --quiet."""

from __future__ import annotations

import io
import sys

import pytest
from click.testing import CliRunner

from flashgen.cli import main
from flashgen.terminal import StepBar, wanted
from support import SEED_COURSE


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_wanted_only_on_a_terminal_and_not_quiet() -> None:
    assert wanted(stream=FakeTerminal())
    assert not wanted(quiet=True, stream=FakeTerminal())
    assert not wanted(stream=io.StringIO())


def test_bar_draws_each_step_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with StepBar(3, enabled=True) as progress:
        for step in ("checking", "typesetting PDFs", "writing Anki deck"):
            progress(step)
    shown = terminal.getvalue()
    assert "writing Anki deck" in shown and "3/3" in shown and "4/3" not in shown


def test_disabled_bar_is_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with StepBar(3, enabled=False) as progress:
        progress("checking")
    assert terminal.getvalue() == ""


def test_piped_build_output_has_no_bar(tmp_path) -> None:
    result = CliRunner().invoke(
        main, ["build", str(SEED_COURSE), "-o", str(tmp_path), "--only", "apkg"]
    )
    assert result.exit_code == 0, result.output
    assert "\r" not in result.output and "[#" not in result.output
