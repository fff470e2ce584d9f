"""Mutations of a valid course never crash ``check`` or ``build``; every problem is located.

The property: whatever an editor does to the files, flashgen answers with diagnostics that
name an existing file (and a line inside it), or builds a deck; it never raises.
Longer local run: ``HYPOTHESIS_PROFILE=fuzz pytest tests/test_fuzz_mutations.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flashgen.diagnostics import CourseError
from flashgen.pipeline.build import build
from flashgen.pipeline.load import load_course
from support import VALID_COURSE

FILES = sorted(p.relative_to(VALID_COURSE).as_posix() for p in VALID_COURSE.rglob("*.yaml"))
IDS = ["tokens", "vocabulary", "embeddings", "attention", "ghost", "Tokens", "a b", ""]
KEYS = [
    "id", "title", "chapter", "prerequisites", "related", "tags", "summary", "questions",
    "type", "question", "correct", "distractors", "statement", "answer", "front", "back",
    "text", "explanation", "prerequisite", "titel", "chapters",
]  # fmt: skip
REPLACEMENTS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=True),
    st.sampled_from(IDS),
    st.text(max_size=12),
    st.lists(st.sampled_from(IDS), max_size=3),
    st.dictionaries(st.sampled_from(KEYS), st.sampled_from(IDS), max_size=2),
    st.sampled_from(["{{c1::x}}", "$x$", "![i](nope.png)", "<script>x</script>", "No", "true"]),
)


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside a loaded YAML document."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def mutate(document: Any, data: st.DataObject) -> Any:
    targets = [p for p in paths(document) if p]
    if not targets:
        return data.draw(REPLACEMENTS)
    path = data.draw(st.sampled_from(targets))
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    operation = data.draw(st.sampled_from(["drop", "rename", "replace", "duplicate"]))
    if operation == "drop":
        del parent[last]
    elif operation == "rename" and isinstance(parent, dict):
        parent[data.draw(st.sampled_from(KEYS))] = parent.pop(last)
    elif operation == "duplicate" and isinstance(parent, list):
        parent.append(parent[last])
    else:
        parent[last] = data.draw(REPLACEMENTS)
    return document


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_courses_give_located_diagnostics_or_a_deck(tmp_path: Path, data) -> None:
    root = tmp_path / "course"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(VALID_COURSE, root)
    for _ in range(data.draw(st.integers(1, 4))):
        name = data.draw(st.sampled_from([*FILES, "course.yaml"]))
        path = root / name
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if data.draw(st.booleans()) and name != "course.yaml":
            # Rewire prerequisites, possibly into a cycle.
            if isinstance(document, dict):
                document["prerequisites"] = data.draw(st.lists(st.sampled_from(IDS), max_size=3))
        else:
            document = mutate(document, data)
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")

    course, diag = load_course(root)
    for item in diag.items:
        assert item.message
        location = item.location
        assert location.path.exists(), item
        if location.line:
            lines = location.path.read_text(encoding="utf-8", errors="replace").splitlines()
            assert 1 <= location.line <= len(lines) + 1, item
    if course is not None and not diag.has_errors:
        try:
            result = build(root, tmp_path / "out", only=("apkg",))
        except CourseError as error:  # e.g. a template or media problem: located too
            assert error.diagnostics.has_errors
        else:
            assert result.written[0].stat().st_size > 0
