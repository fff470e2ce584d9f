"""The ``flashgen`` command: a thin layer that parses options, calls a stage, reports."""

from flashgen.cli import authoring, students  # noqa: F401  (they add their commands to main)
from flashgen.cli.main import CARD_SIZE_CHOICES, PAPER_CHOICES, main

__all__ = ["CARD_SIZE_CHOICES", "PAPER_CHOICES", "main"]
