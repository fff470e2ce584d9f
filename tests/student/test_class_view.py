"""The class view: students' progress documents merged; bad files are located errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flashgen.diagnostics import Diagnostics
from flashgen.student.class_view import class_document, merge, read_documents


def document(states: dict[str, str], review_first: list[str] = (), course: str = "arith") -> Any:
    """A progress document of a three-concept chain a -> b -> c."""
    prerequisites = {"a": [], "b": ["a"], "c": ["b"]}
    return {
        "format": "flashgen-progress",
        "version": 1,
        "course": {"id": course, "title": "Arithmetic"},
        "sets": {"review-first": {"concepts": list(review_first)}},
        "concepts": [
            {"id": cid, "title": cid.upper(), "prerequisites": prerequisites[cid], "state": state}
            for cid, state in states.items()
        ],
    }


def write(folder: Path, name: str, data: Any) -> Path:
    path = folder / name
    path.write_text(json.dumps(data, indent=2) if not isinstance(data, str) else data)
    return path


def read(paths: list[Path]) -> tuple[Any, Diagnostics]:
    diag = Diagnostics()
    documents = read_documents(paths, diag)
    view = merge(documents, diag) if not diag.has_errors else None
    return view, diag


def test_counts_per_concept_and_concepts_built_on_gaps_first(tmp_path):
    files = [
        write(tmp_path, "1.json", document(
            {"a": "struggling", "b": "in-progress", "c": "struggling"}, ["b", "a"])),
        write(tmp_path, "2.json", document(
            {"a": "mastered", "b": "in-progress", "c": "not-started"})),
        write(tmp_path, "3.json", document(
            {"a": "in-progress", "b": "struggling", "c": "not-started"}, ["a"])),
    ]  # fmt: skip
    view, diag = read(files)
    assert not diag.errors
    assert view.students == 3
    rows = {c.id: c for c in view.concepts}
    assert rows["b"].states == {
        "mastered": 0, "in-progress": 2, "struggling": 1, "not-started": 0
    }  # fmt: skip
    # b: started by all three, and a is not mastered for students 1 and 3
    assert (rows["b"].lacking_prerequisites, rows["c"].lacking_prerequisites) == (2, 1)
    assert (rows["a"].weak_for_others, rows["b"].weak_for_others) == (2, 1)
    assert [c.id for c in view.concepts] == ["b", "c", "a"]
    assert class_document(view)["concepts"][0] == {
        "id": "b",
        "title": "B",
        "prerequisites": ["a"],
        "students": {"mastered": 0, "in-progress": 2, "struggling": 1, "not-started": 0},
        "lacking_prerequisites": 2,
        "weak_for_others": 1,
    }


def located(diag: Diagnostics) -> list[str]:
    return [f"{d.location.path.name}:{d.location.line}:{d.location.column}: {d.message}"
            for d in diag.errors]  # fmt: skip


def line_of(path: Path, needle: str) -> int:
    return next(n for n, text in enumerate(path.read_text().splitlines(), 1) if needle in text)


@pytest.mark.parametrize(
    ("change", "needle", "message"),
    [
        ({"version": 2}, '"version"', "progress format version 2; this flashgen reads version 1"),
        ({"format": "flashgen-stats"}, '"format"', "not a progress document"),
        ({"concepts": "all"}, '"concepts": "all"', '"concepts" must be a list'),
    ],
)
def test_a_bad_document_is_an_error_at_its_line(tmp_path, change, needle, message):
    path = write(tmp_path, "s.json", {**document({"a": "mastered"}), **change})
    _, diag = read([path])
    (error,) = located(diag)
    assert error.startswith(f"s.json:{line_of(path, needle)}:")
    assert message in error


def test_an_unknown_state_is_an_error_at_its_value(tmp_path):
    path = write(tmp_path, "s.json", document({"a": "mastered", "b": "bored"}))
    _, diag = read([path])
    assert located(diag) == [
        f"s.json:{line_of(path, 'bored')}:16: unknown state 'bored' "
        "(expected one of mastered, in-progress, struggling, not-started)"
    ]


def test_not_json_is_an_error_where_it_stops_being_json(tmp_path):
    path = write(tmp_path, "s.json", '{\n  "format": "flashgen-progress",\n  "version": 1,,\n}')
    _, diag = read([path])
    assert located(diag) == [
        "s.json:3:16: not JSON: Expecting property name enclosed in double quotes"
    ]


def test_documents_of_two_courses_are_not_merged(tmp_path):
    first = write(tmp_path, "1.json", document({"a": "mastered"}))
    other = write(tmp_path, "2.json", document({"a": "mastered"}, course="geometry"))
    view, diag = read([first, other])
    assert view is None
    assert located(diag) == [
        f"2.json:{line_of(other, 'geometry')}:11: progress of course 'geometry', not 'arith' "
        f"(as {first} is): merge one course at a time"
    ]
