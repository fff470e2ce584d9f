"""A step progress bar on standard error, shown only to a person at a terminal."""

from __future__ import annotations

import sys
from typing import Any, TextIO

import click


def wanted(quiet: bool = False, stream: TextIO | None = None) -> bool:
    """True when ``stream`` (default: standard error) is a terminal and output is not quiet."""
    stream = stream or sys.stderr
    try:
        return not quiet and stream.isatty()
    except (AttributeError, ValueError):
        return False


class StepBar:
    """``progress(step)`` callback for :func:`flashgen.pipeline.build.build`: one tick per step.

    Use as a context manager; when ``enabled`` is false it does nothing at all, so callers need
    no branches (output piped to a file or ``--quiet`` must stay free of control characters).
    """

    def __init__(self, steps: int, enabled: bool, label: str = "building") -> None:
        self.steps = max(1, steps)
        self.enabled = enabled
        self.label = label
        self.done = 0
        self._bar: Any = None

    def __enter__(self) -> StepBar:
        if self.enabled:
            self._bar = click.progressbar(
                length=self.steps,
                label=self.label,
                file=sys.stderr,
                show_eta=False,
                show_percent=False,
                show_pos=True,
                width=24,
            )
            self._bar.__enter__()
        return self

    def __call__(self, step: str) -> None:
        if self._bar is None:
            return
        if self.done:
            self._bar.update(1)
        self.done += 1
        self._bar.label = f"{step:<22}"
        self._bar.render_progress()

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            if exc_info[0] is None:
                self._bar.label = f"{'done':<22}"
                self._bar.update(max(0, self.steps - self._bar.pos))
            self._bar.__exit__(*exc_info)
            self._bar = None
