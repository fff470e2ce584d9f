"""The YAML test suite's cases that fit the format: the value a YAML 1.2 parser gives, or a
located error; never a crash (see tests/corpora/yaml-test-suite/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flashgen.course.loader import parse_yaml
from flashgen.diagnostics import Diagnostics
from support import TESTS

SUITE = TESTS / "corpora" / "yaml-test-suite"
VALID = sorted((SUITE / "valid").glob("*.yaml"))
INVALID = sorted((SUITE / "invalid").glob("*.yaml"))


def load(path: Path) -> tuple[object, Diagnostics]:
    diag = Diagnostics()
    return parse_yaml(path.read_text(encoding="utf-8"), path, diag), diag


def test_the_sample_is_there() -> None:
    assert len(VALID) >= 100 and len(INVALID) >= 50


@pytest.mark.parametrize("path", VALID, ids=lambda path: path.stem)
def test_same_value_as_yaml_1_2_or_a_located_error(path: Path) -> None:
    value, diag = load(path)
    errors = [d for d in diag.items if d.severity == "error"]
    if errors:
        assert all(d.location.line >= 1 and d.location.column >= 1 for d in errors), errors
        return
    expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert value == expected


@pytest.mark.parametrize("path", INVALID, ids=lambda path: path.stem)
def test_invalid_yaml_is_a_located_error(path: Path) -> None:
    _, diag = load(path)
    errors = [d for d in diag.items if d.severity == "error"]
    assert errors
    assert all(d.location.line >= 1 and d.location.column >= 1 for d in errors), errors
