"""The JSON Schema for editors: generated from course.schema, shipped, and in step with it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from flashgen.course import jsonschema, schema
from flashgen.course.fields import id_problem
from flashgen.course.loader import load_yaml
from flashgen.course.reader import COURSE_FILE
from flashgen.diagnostics import Diagnostics
from support import SEED_COURSE, VALID_COURSE

validator_module = pytest.importorskip("jsonschema", reason="the jsonschema package is missing")


def validator(kind: str):
    document = jsonschema.schemas()[kind]
    validator_module.Draft7Validator.check_schema(document)
    return validator_module.Draft7Validator(document)


def errors(kind: str, data) -> list[str]:
    return sorted(e.message for e in validator(kind).iter_errors(data))


def read(path: Path):
    diag = Diagnostics()
    data = load_yaml(path, diag)  # YAML 1.2, like the reader
    assert not diag.has_errors
    return data


def test_shipped_schema_files_match_the_key_table() -> None:
    """Fails when schema.py changes without `python -m flashgen.course.jsonschema` being rerun."""
    for name, text in jsonschema.schema_texts().items():
        shipped = jsonschema.PACKAGED_DIR / name
        assert shipped.read_text(encoding="utf-8") == text, (
            f"{shipped} is out of date: regenerate it with "
            "`python -c 'from flashgen.course.jsonschema import *; write_schemas(PACKAGED_DIR)'`"
        )


def test_every_key_is_described() -> None:
    course, concept = jsonschema.course_schema(), jsonschema.concept_schema()
    assert set(course["properties"]) == {k.name for k in schema.COURSE_KEYS}
    assert set(concept["properties"]) == {k.name for k in schema.CONCEPT_KEYS}
    question = concept["definitions"]["question"]
    assert question["properties"]["type"]["enum"] == list(schema.QUESTION_TYPES)
    branches = {b["if"]["properties"]["type"]["const"]: b["then"] for b in question["allOf"]}
    for kind, keys in schema.QUESTION_KEYS.items():
        then = branches[kind]
        expected = {k.name for k in schema.QUESTION_COMMON_KEYS + keys}
        assert set(then["properties"]) == expected
        assert then["additionalProperties"] is False
        for key in keys:
            assert then["properties"][key.name]["description"] == key.description


@pytest.mark.parametrize("root", [SEED_COURSE, VALID_COURSE], ids=["seed", "valid"])
def test_real_courses_validate(root: Path) -> None:
    assert errors("course", read(root / COURSE_FILE)) == []
    files = [p for p in root.rglob("*.yaml") if p.name != COURSE_FILE]
    assert files
    for path in files:
        assert errors("concept", read(path)) == [], path


CONCEPT = {
    "id": "kv-cache",
    "title": "KV cache",
    "chapter": "ch5",
    "prerequisites": [],
    "summary": "Keys and values.",
}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"prerequisite": []}, r"Additional properties are not allowed \('prerequisite'"),
        ({"id": "KV cache"}, "does not match"),
        ({"title": ""}, r"non-empty|too short"),
        ({"tags": ["two words"]}, "does not match"),
        (
            {"questions": [{"id": "q", "type": "true-false", "statement": "s", "correct": "x"}]},
            "'answer' is a required property",
        ),
        (
            {"questions": [{"id": "q", "type": "true-false", "statement": "s", "answer": "no"}]},
            "'no' is not of type 'boolean'",
        ),
        (
            {"questions": [{"id": "q", "type": "multiple-choise", "question": "?"}]},
            "is not one of",
        ),
        (
            {"questions": [{"id": "q", "type": "basic", "front": "f", "back": "b", "text": "t"}]},
            r"Additional properties are not allowed \('text'",
        ),
        (
            {
                "questions": [
                    {
                        "id": "q",
                        "type": "multiple-choice",
                        "question": "?",
                        "correct": "a",
                        "distractors": [],
                    }
                ]
            },
            r"non-empty|too short",
        ),
    ],
)
def test_mistakes_are_flagged(change: dict, expected: str) -> None:
    found = errors("concept", CONCEPT | change)
    assert any(re.search(expected, message) for message in found), found


def test_valid_questions_of_every_type_pass() -> None:
    questions = [
        {"id": "a", "type": "multiple-choice", "question": "?", "correct": ["x", "y"],
         "distractors": ["z"], "explanation": "e"},
        {"id": "b", "type": "true-false", "statement": "s", "answer": False},
        {"id": "c", "type": "basic", "front": "f", "back": "b"},
        {"id": "d", "type": "cloze", "text": "{{c1::x}}"},
    ]  # fmt: skip
    assert errors("concept", CONCEPT | {"questions": questions, "related": None}) == []
    assert errors("concept", CONCEPT | {"prerequisites": None}) == []  # `prerequisites:` is []


@pytest.mark.parametrize(
    "text", ["kv-cache", "ch5", "é-clé", "中文", "a.b_c", "9", "A", "a B", "-a", "_a", "a/b", "a!"]
)
def test_id_pattern_agrees_with_the_checker(text: str) -> None:
    assert bool(re.match(jsonschema.ID_PATTERN, text)) == (not id_problem(text))


def test_written_into_a_course_with_modelines(tmp_path: Path) -> None:
    changed = jsonschema.write_course_schemas(tmp_path)
    assert sorted(p.name for p in changed) == ["concept.schema.json", "course.schema.json"]
    assert jsonschema.write_course_schemas(tmp_path) == []  # unchanged: not rewritten
    data = json.loads((tmp_path / ".flashgen" / "concept.schema.json").read_text())
    assert data["$schema"] == jsonschema.DRAFT
    line = jsonschema.modeline(tmp_path / "ch1" / "x.yaml", tmp_path, "concept")
    assert line == "# yaml-language-server: $schema=../.flashgen/concept.schema.json\n"
    assert jsonschema.modeline(tmp_path / "course.yaml", tmp_path, "course").endswith(
        "$schema=.flashgen/course.schema.json\n"
    )
