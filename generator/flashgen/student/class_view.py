"""`flashgen progress --from-json FILE…`: several students' progress merged into a class view.

Each student exports ``flashgen progress --format json`` (no review log, no card text) and
shares it, opted in. The class view counts, per concept, the students in each state, and two
numbers that say where the class builds on gaps:

* **lacking prerequisites**: students who have started the concept (in progress or
  struggling) while at least one of its direct prerequisites is not mastered;
* **weak for others**: students for whom the concept is a weak prerequisite of a concept they
  struggle with (it is in their "review first" list).

Concepts are listed with the most "lacking prerequisites" first (then most struggling, then
learning order): the places where going back to the prerequisites helps most students.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flashgen.course.loader import parse_yaml
from flashgen.diagnostics import Diagnostics, Location
from flashgen.student import progress as model
from flashgen.student.progress_json import FORMAT, VERSION

CLASS_FORMAT = "flashgen-class-progress"
CLASS_VERSION = 1
#: A progress document of a course of ten thousand concepts is about 5 MB.
MAX_DOCUMENT_BYTES = 32 * 1024 * 1024


@dataclass
class ClassConcept:
    id: str
    title: str
    prerequisites: tuple[str, ...]
    states: dict[str, int] = field(default_factory=lambda: dict.fromkeys(model.STATES, 0))
    lacking_prerequisites: int = 0
    weak_for_others: int = 0
    #: Learning order (the first document's).
    position: int = 0

    @property
    def struggling(self) -> int:
        return self.states[model.STRUGGLING]


@dataclass
class ClassView:
    course_id: str
    course_title: str
    students: int
    #: Most "lacking prerequisites" first.
    concepts: list[ClassConcept]


def read_documents(paths: Sequence[Path], diag: Diagnostics) -> list[tuple[Path, Any]]:
    """Each file's progress document; problems go to ``diag``, located at line and column."""
    documents = []
    for path in paths:
        try:
            data = path.read_bytes()[: MAX_DOCUMENT_BYTES + 1]
        except OSError as error:
            diag.error(Location(path, 1, 1), f"cannot read: {error.strerror or error}")
            continue
        if len(data) > MAX_DOCUMENT_BYTES:
            diag.error(Location(path, 1, 1), "larger than a progress document can be (32 MB)")
            continue
        try:
            text = data.decode("utf-8")
            values = json.loads(text)
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
            diag.error(Location(path, line, column), "not UTF-8 text")
            continue
        except json.JSONDecodeError as error:
            diag.error(Location(path, error.lineno, error.colno), f"not JSON: {error.msg}")
            continue
        # JSON is YAML: read again by the course loader, each value keeps its line and column
        located = parse_yaml(text, path, Diagnostics())
        if located is None:
            located = values
        if _check_document(path, located, diag):
            documents.append((path, located))
    return documents


def _where(node: Any, key: str | None = None) -> Location | None:
    if key is not None and hasattr(node, "value_location") and key in node:
        return node.value_location(key)
    return getattr(node, "location", None)


def _check_document(path: Path, doc: Any, diag: Diagnostics) -> bool:
    def error(node: Any, key: str | None, message: str) -> bool:
        diag.error(_where(node, key) or Location(path, 1, 1), message)
        return False

    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return error(
            doc, "format", f"not a progress document (`flashgen progress --format json`): "
            f"\"format\" must be \"{FORMAT}\""
        )  # fmt: skip
    version = doc.get("version")
    if version != VERSION:
        return error(
            doc, "version", f"progress format version {version!r}; this flashgen reads "
            f"version {VERSION} (update flashgen, or export again)"
        )  # fmt: skip
    course = doc.get("course")
    if not isinstance(course, dict) or not isinstance(course.get("id"), str):
        return error(doc, "course", '"course" must be an object with the course "id"')
    concepts = doc.get("concepts")
    if not isinstance(concepts, list):
        return error(doc, "concepts", '"concepts" must be a list')
    for index, concept in enumerate(concepts):
        where = concepts.item_location(index) if hasattr(concepts, "item_location") else None
        if not isinstance(concept, dict) or not isinstance(concept.get("id"), str):
            diag.error(where or Location(path, 1, 1), 'each concept needs its "id"')
            return False
        if concept.get("state") not in model.STATES:
            return error(
                concept, "state", f"unknown state {concept.get('state')!r} "
                f"(expected one of {', '.join(model.STATES)})"
            )  # fmt: skip
        prerequisites = concept.get("prerequisites", [])
        if not isinstance(prerequisites, list) or not all(
            isinstance(p, str) for p in prerequisites
        ):
            return error(concept, "prerequisites", '"prerequisites" must be a list of ids')
    return True


def merge(
    documents: Sequence[tuple[Path, Any]], diag: Diagnostics, course_id: str | None = None
) -> ClassView | None:
    """The class view of documents of one course (``course_id``: the course named on the
    command line); ``None`` when they are of different courses (reported in ``diag``)."""
    if not documents:
        return None
    first_path, first = documents[0]
    expected = course_id or first["course"]["id"]
    for path, doc in documents:
        if doc["course"]["id"] != expected:
            where = _where(doc["course"], "id") or Location(path, 1, 1)
            source = "the course folder" if course_id else str(first_path)
            diag.error(
                where,
                f"progress of course '{doc['course']['id']}', not '{expected}' "
                f"(as {source} is): merge one course at a time",
            )
    if diag.has_errors:
        return None
    concepts: dict[str, ClassConcept] = {}
    for _, doc in documents:
        for c in doc["concepts"]:
            if c["id"] not in concepts:
                concepts[c["id"]] = ClassConcept(
                    c["id"],
                    str(c.get("title") or c["id"]),
                    tuple(c.get("prerequisites", [])),
                    position=len(concepts),
                )
    for _, doc in documents:
        states = {c["id"]: c["state"] for c in doc["concepts"]}
        for c in doc["concepts"]:
            entry = concepts[c["id"]]
            entry.states[c["state"]] += 1
            started = c["state"] in (model.IN_PROGRESS, model.STRUGGLING)
            prerequisites = c.get("prerequisites", [])
            if started and any(states.get(p) != model.MASTERED for p in prerequisites):
                entry.lacking_prerequisites += 1
        review_first = doc.get("sets", {}).get("review-first", {})
        weak = review_first.get("concepts", []) if isinstance(review_first, dict) else []
        for cid in dict.fromkeys(w for w in weak if isinstance(w, str)):
            if cid in concepts:
                concepts[cid].weak_for_others += 1
    ordered = sorted(
        concepts.values(),
        key=lambda c: (-c.lacking_prerequisites, -c.weak_for_others, -c.struggling, c.position),
    )
    title = str(first["course"].get("title") or expected)
    return ClassView(expected, title, len(documents), ordered)


def class_document(view: ClassView) -> dict[str, Any]:
    return {
        "format": CLASS_FORMAT,
        "version": CLASS_VERSION,
        "course": {"id": view.course_id, "title": view.course_title},
        "students": view.students,
        "concepts": [
            {
                "id": c.id,
                "title": c.title,
                "prerequisites": list(c.prerequisites),
                "students": dict(c.states),
                "lacking_prerequisites": c.lacking_prerequisites,
                "weak_for_others": c.weak_for_others,
            }
            for c in view.concepts
        ],
    }


def render_class_table(view: ClassView) -> str:
    from flashgen.outputs.concept_map import text_width

    headers = ("concept", "lacking prereq.", "weak for others", "struggling", "in progress",
               "mastered", "not started")  # fmt: skip
    rows = [
        (
            c.id,
            str(c.lacking_prerequisites),
            str(c.weak_for_others),
            str(c.states[model.STRUGGLING]),
            str(c.states[model.IN_PROGRESS]),
            str(c.states[model.MASTERED]),
            str(c.states[model.NOT_STARTED]),
        )
        for c in view.concepts
    ]
    widths = [max(text_width(row[i]) for row in (headers, *rows)) for i in range(len(headers))]

    def line(cells: tuple[str, ...]) -> str:
        first = cells[0] + " " * (widths[0] - text_width(cells[0]))
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    students = f"{view.students} student" + ("s" if view.students != 1 else "")
    return (
        "\n".join(
            [
                f"{view.course_title}: class view of {students} "
                "(concepts whose prerequisites most students lack first)",
                "",
                line(headers),
                *(line(row) for row in rows),
            ]
        )
        + "\n"
    )
