"""JSON Schema for course.yaml and concept files, generated from :mod:`flashgen.course.schema`.

Editors use it to complete keys and flag typos while typing (the YAML extension of VS Code and
every editor built on yaml-language-server). ``flashgen check`` stays the authority: the schema
is a little more permissive where JSON Schema cannot say what the checker says (e.g. cloze
deletions, duplicate ids), and never stricter.

The generated files ship inside the package (``flashgen/schemas/``); a test regenerates them and
fails when they drift from the key table. ``flashgen schema`` copies them into a course's
``.flashgen/`` folder, where the ``# yaml-language-server: $schema=...`` line of every file that
``flashgen init`` and ``flashgen new`` write points.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from flashgen.atomic import atomic_path
from flashgen.course import schema
from flashgen.course.coursefiles import check_write_target
from flashgen.course.quality.registry import LEVELS, RULE_NAMES, RULES

#: Draft-07: the newest draft every YAML language server understands fully.
DRAFT = "http://json-schema.org/draft-07/schema#"
#: Where the schema files go inside a course (the reader skips folders starting with '.').
COURSE_SCHEMA_DIR = ".flashgen"
SCHEMA_FILES = {"course": "course.schema.json", "concept": "concept.schema.json"}
PACKAGED_DIR = Path(__file__).parents[1] / "schemas"

#: An id as the reader accepts it, written for ECMAScript regexes (no Unicode classes): no
#: spaces, no upper-case ASCII, ASCII punctuation only '-', '_' and '.', and not first.
ID_PATTERN = r"^[^\s!-/:-`{-~][^\sA-Z!-,/:-@\[-^`{-~]*$"
TAG_PATTERN = r'^[^\s"]+$'

_ID_DESCRIPTION = (
    "Lower-case letters, digits, '-', '_' and '.', starting with a letter or digit; no spaces."
)


def _value(key: schema.Key) -> dict[str, Any]:
    """The JSON Schema of one key's value."""
    nonempty = {"type": "string", "minLength": 1, "pattern": r"\S"}
    if key.name == "type":
        return {"enum": list(schema.QUESTION_TYPES)}
    kinds: dict[str, dict[str, Any]] = {
        "id": {"type": "string", "pattern": ID_PATTERN},
        "text": nonempty,
        "markdown": nonempty,
        "boolean": {"type": "boolean"},
        "id-list": {
            "type": ["array", "null"],
            "items": {"type": "string", "pattern": ID_PATTERN, "description": _ID_DESCRIPTION},
        },
        "tag-list": {
            "type": ["array", "null"],
            "items": {"type": "string", "pattern": TAG_PATTERN},
        },
        "text-list": {"type": ["array", "null"], "items": nonempty},
        "answers": {
            "anyOf": [nonempty, {"type": "array", "minItems": 1, "items": nonempty}],
        },
        "chapters": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/chapter"}},
        "questions": {"type": ["array", "null"], "items": {"$ref": "#/definitions/question"}},
        "rule-list": {"type": ["array", "null"], "items": {"enum": list(RULE_NAMES)}},
        "quality": _quality(),
    }
    value = dict(kinds[key.type])
    if key.name == "distractors":
        value["minItems"] = 1
    return value


def _quality() -> dict[str, Any]:
    """course.yaml's ``quality:``: per rule a level, or a mapping of level and thresholds."""
    level = {"enum": list(LEVELS)}
    properties = {}
    for name, rule in RULES.items():
        setting: dict[str, Any] = {"level": level}
        setting |= {param: {"type": "number", "minimum": 0} for param in rule.params}
        properties[name] = {
            "description": rule.summary,
            "anyOf": [
                level,
                {"type": "object", "properties": setting, "additionalProperties": False},
            ],
        }
    return {"type": ["object", "null"], "properties": properties, "additionalProperties": False}


def _object(keys: tuple[schema.Key, ...], title: str | None = None) -> dict[str, Any]:
    properties = {}
    for key in keys:
        properties[key.name] = {"description": key.description, **_value(key)}
    result: dict[str, Any] = {"type": "object"}
    if title:
        result["title"] = title
    result |= {
        "properties": properties,
        "required": [key.name for key in keys if key.required],
        "additionalProperties": False,
    }
    return result


_SNIPPETS: dict[str, dict[str, Any]] = {
    "multiple-choice": {
        "question": "$1",
        "correct": "$2",
        "distractors": ["$3", "$4"],
        "explanation": "$5",
    },
    "true-false": {"statement": "$1", "answer": True, "explanation": "$2"},
    "basic": {"front": "$1", "back": "$2"},
    "cloze": {"text": "$1 {{c1::$2}}"},
}


def _question() -> dict[str, Any]:
    """A question: common keys, and per ``type`` (if/then) exactly that type's keys."""
    common = schema.QUESTION_COMMON_KEYS
    branches = []
    for kind, keys in schema.QUESTION_KEYS.items():
        branch = _object(common + keys)
        branch.pop("type")
        branches.append(
            {
                "if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
                "then": branch,
            }
        )
    question = _object(common, "A question")
    question["additionalProperties"] = True  # the branch for the type decides
    question["allOf"] = branches
    question["defaultSnippets"] = [  # completion templates (yaml-language-server)
        {
            "label": f"{kind} question",
            "description": f"A new {kind} question",
            "body": {"id": "${0:question-id}", "type": kind, **body},
        }
        for kind, body in _SNIPPETS.items()
    ]
    return question


def _document(kind: str, keys: tuple[schema.Key, ...], title: str) -> dict[str, Any]:
    body = _object(keys, title)
    definitions: dict[str, Any] = {}
    if kind == "course":
        definitions["chapter"] = _object(schema.CHAPTER_KEYS, "A chapter")
    else:
        definitions["question"] = _question()
    return {
        "$schema": DRAFT,
        "$comment": "Generated by `flashgen schema` from flashgen/schema.py; do not edit.",
        **body,
        "definitions": definitions,
    }


def course_schema() -> dict[str, Any]:
    return _document("course", schema.COURSE_KEYS, "flashgen course.yaml")


def concept_schema() -> dict[str, Any]:
    return _document("concept", schema.CONCEPT_KEYS, "flashgen concept file")


def schemas() -> dict[str, dict[str, Any]]:
    """``{"course": ..., "concept": ...}``."""
    return {"course": course_schema(), "concept": concept_schema()}


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def schema_texts() -> dict[str, str]:
    """The file name and text of each schema file."""
    return {SCHEMA_FILES[kind]: dumps(doc) for kind, doc in schemas().items()}


def write_schemas(target: Path, inside: Path | None = None) -> list[Path]:
    """Write both schema files into ``target`` (created); return the files that changed.

    Never through a symbolic link, nor outside ``inside`` (default ``target``): a course may
    hold ``.flashgen/course.schema.json`` as a link to a file of the instructor's
    (:class:`~flashgen.course.coursefiles.WriteRefused`).
    """
    inside = inside or target
    changed = []
    for name, text in schema_texts().items():
        path = target / name
        check_write_target(path, inside)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            with atomic_path(path) as temporary:
                temporary.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def write_course_schemas(course_dir: Path) -> list[Path]:
    """Write the schema files into ``course_dir/.flashgen/``."""
    return write_schemas(course_dir / COURSE_SCHEMA_DIR, course_dir)


def modeline(yaml_file: Path, course_dir: Path, kind: str) -> str:
    """The ``# yaml-language-server: $schema=...`` line for a file of the course (relative)."""
    schema_file = course_dir / COURSE_SCHEMA_DIR / SCHEMA_FILES[kind]
    relative = os.path.relpath(schema_file, yaml_file.parent)
    return f"# yaml-language-server: $schema={Path(relative).as_posix()}\n"
