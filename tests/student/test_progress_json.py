"""The progress JSON document is stable: its keys are the ones docs/progress.md documents."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

pytest.importorskip("anki")

from flashgen.student.collection_file import CollectionFile
from flashgen.student.progress import assess, read_history
from flashgen.student.progress_json import FORMAT, SETS, VERSION, progress_document
from flashgen.student.progress_report import load_study
from simulated_student import studied_progress_course
from support import REPO

DOC = REPO / "docs" / "progress.md"


def shape(value: Any) -> Any:
    """Keys all the way down (a list by its first item), values by their JSON type."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return "number" if isinstance(value, int | float) and not isinstance(value, bool) else (
        type(value).__name__
    )  # fmt: skip


@pytest.fixture(scope="module")
def document(tmp_path_factory) -> dict[str, Any]:
    course, collection = studied_progress_course(tmp_path_factory.getbasetemp(), fsrs=True)
    study = load_study(course)
    anki = CollectionFile(collection)
    try:
        progress = assess(study, read_history(anki, study), time.time())
    finally:
        anki.close()
    return json.loads(json.dumps(progress_document(progress)))


def documented_example() -> dict[str, Any]:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## JSON format") :]
    return json.loads(re.search(r"```json\n(.*?)```", section, re.DOTALL).group(1))


def test_the_document_has_the_documented_keys(document):
    example = documented_example()
    fractions = next(c for c in document["concepts"] if c["id"] == "fractions")
    document = {**document, "concepts": [fractions]}
    assert shape(document) == shape(example)


def test_version_1_keys_and_values(document):
    assert (FORMAT, VERSION) == ("flashgen-progress", 1)
    assert list(document) == [
        "format", "version", "course", "deck", "as_of", "thresholds", "study_next", "sets",
        "concepts",
    ]  # fmt: skip
    assert tuple(document["sets"]) == SETS
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", document["as_of"])
    states = {c["id"]: c["state"] for c in document["concepts"]}
    assert set(states.values()) == {"mastered", "in-progress", "struggling", "not-started"}
    subtraction = next(c for c in document["concepts"] if c["id"] == "subtraction")
    assert (subtraction["recall"], subtraction["recall_source"]) == (None, None)
    assert document["sets"]["mastered"]["search"].startswith('"deck:Arithmetic\\_101" (')


def test_every_documented_key_is_explained_in_the_table():
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("| key | meaning |") :]
    for key in documented_example():
        assert f"`{key}`" in table, key
