"""`flashgen progress --html` in a real Chromium: the simulated student's concept map.

Set ``FLASHGEN_SCREENSHOT_DIR=docs/images`` to refresh docs/images/progress-map.png.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from flashgen.student.progress_html import COLOURS, progress_page
from flashgen.student.progress_report import load_study

pytest.importorskip("anki", reason="reading a collection needs the anki package")

from flashgen.student.collection_file import CollectionFile
from flashgen.student.progress import assess, read_history
from simulated_student import studied_progress_course

EXPECTED = {
    "counting": "mastered",
    "addition": "mastered",
    "multiplication": "mastered",
    "long_division": "in-progress",
    "fractions": "struggling",
    "subtraction": "ready-to-learn",
    "percentages": "not-started",
}


@pytest.fixture(scope="module")
def page_html(tmp_path_factory) -> str:
    course, collection = studied_progress_course(tmp_path_factory.getbasetemp(), fsrs=True)
    study = load_study(course)
    anki = CollectionFile(collection)
    try:
        progress = assess(study, read_history(anki, study), time.time())
    finally:
        anki.close()
    return progress_page(study, progress)


def rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def test_each_concept_is_drawn_in_its_states_colour(open_harness, page_html, tmp_path):
    harness = open_harness(viewport={"width": 1100, "height": 760}, device_scale_factor=1)
    page = harness.page
    page.goto(harness.site.put("progress.html", page_html))
    drawn = page.eval_on_selector_all(
        "svg [data-concept]",
        """boxes => boxes.map(box => [box.dataset.concept, box.dataset.state,
            getComputedStyle(box.querySelector('rect')).fill])""",
    )
    assert {concept: state for concept, state, _ in drawn} == EXPECTED
    for concept, state, fill in drawn:
        assert fill == rgb(COLOURS[state][0]), concept
    study_next = page.eval_on_selector_all(
        ".study-next li", "items => items.map(li => [li.dataset.concept, li.innerText])"
    )
    assert [concept for concept, _ in study_next] == ["long_division", "fractions", "subtraction"]
    assert "tag:concept::long\\_division" in study_next[0][1]
    # the map and the list sit side by side, both in view
    map_box = page.locator(".map").bounding_box()
    list_box = page.locator("aside").bounding_box()
    assert map_box["x"] + map_box["width"] <= list_box["x"]
    out = Path(os.environ.get("FLASHGEN_SCREENSHOT_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / "progress-map.png"))
    assert (out / "progress-map.png").stat().st_size > 5000
