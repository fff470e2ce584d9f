"""The concept map: a deterministic layered layout and a standalone SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from flashgen.course.graph import prerequisite_map
from flashgen.outputs.concept_map import MapStyle, concept_map_svg, layout, text_width, wrap
from flashgen.pipeline.load import load_course
from support import SEED_COURSE, concept_yaml, write_course

SVG = "{http://www.w3.org/2000/svg}"


def seed():
    course, diag = load_course(SEED_COURSE)
    assert course is not None and not diag.has_errors
    return course


def overlaps(a, b) -> bool:
    return not (
        a.x + a.width <= b.x
        or b.x + b.width <= a.x
        or a.y + a.height <= b.y
        or b.y + b.height <= a.y
    )


def test_every_arrow_points_down_and_foundations_are_on_top() -> None:
    course = seed()
    lay = layout(course)
    assert set(lay.boxes) == {c.id for c in course.concepts}
    prerequisites = prerequisite_map(course)
    assert set(lay.edges) == {(p, c) for c, ps in prerequisites.items() for p in ps}
    for prerequisite, concept in lay.edges:
        assert lay.boxes[prerequisite].y < lay.boxes[concept].y
        assert lay.boxes[prerequisite].layer < lay.boxes[concept].layer
    top = min(box.y for box in lay.boxes.values())
    for concept in course.concepts:
        box = lay.boxes[concept.id]
        assert box.foundation == concept.is_foundation
        assert (box.layer == 0) == concept.is_foundation
        if concept.is_foundation:
            assert box.y == top


def test_layout_is_deterministic_and_boxes_do_not_overlap() -> None:
    course = seed()
    first, second = layout(course), layout(course)
    assert first == second
    assert concept_map_svg(course) == concept_map_svg(course)
    boxes = list(first.boxes.values())
    for i, a in enumerate(boxes):
        assert a.x >= 0 and a.x + a.width <= first.width
        assert a.y >= 0 and a.y + a.height <= first.height
        for b in boxes[i + 1 :]:
            assert not overlaps(a, b), (a.id, b.id)


def test_barycenter_uncrosses_links(make_course) -> None:
    course = make_course(
        {
            "a.yaml": concept_yaml("a"),
            "b.yaml": concept_yaml("b"),
            "c.yaml": concept_yaml("c", ("b",)),
            "d.yaml": concept_yaml("d", ("a",)),
        }
    )
    lay = layout(course)
    assert lay.boxes["a"].x < lay.boxes["b"].x
    assert lay.boxes["d"].x < lay.boxes["c"].x  # learning order says c first: that would cross


def test_wide_layers_wrap_and_huge_courses_are_capped(tmp_path: Path) -> None:
    concepts = {f"f{i:03}.yaml": concept_yaml(f"f{i:03}") for i in range(30)}
    concepts |= {
        f"c{i:03}.yaml": concept_yaml(f"c{i:03}", (f"f{i % 30:03}", f"f{(i * 7) % 30:03}"))
        for i in range(470)
    }
    root = write_course(tmp_path / "big", concepts)
    course, diag = load_course(root)
    assert course is not None and not diag.has_errors
    lay = layout(course, max_per_row=10, max_concepts=300)
    assert len(lay.boxes) == 300 and lay.omitted == 200
    assert max(box.x + box.width for box in lay.boxes.values()) <= lay.width
    assert len({box.y for box in lay.boxes.values() if box.layer == 0}) == 3  # 30 in rows of 10
    svg = concept_map_svg(course, max_per_row=10, max_concepts=300)
    assert "200 more concepts not drawn" in svg
    ET.fromstring(svg)
    chapter = concept_map_svg(course, concepts=["f000", "c000", "c030"])
    assert chapter.count("<rect") == 3


def test_cycles_do_not_break_the_layout(tmp_path: Path) -> None:
    root = write_course(
        tmp_path / "cyclic",
        {
            "a.yaml": concept_yaml("a", ("c",)),
            "b.yaml": concept_yaml("b", ("a",)),
            "c.yaml": concept_yaml("c", ("b",)),
            "d.yaml": concept_yaml("d"),
        },
    )
    course, diag = load_course(root)
    assert course is not None and diag.has_errors  # the checker reports the cycle
    lay = layout(course)
    assert set(lay.boxes) == {"a", "b", "c", "d"}
    ET.fromstring(concept_map_svg(course))


def test_svg_is_standalone_escaped_and_linkable(tmp_path: Path) -> None:
    root = write_course(
        tmp_path / "escape",
        {
            "a.yaml": 'id: a\ntitle: "<b>Tags</b> & \\"quotes\\""\nchapter: basics\n'
            "prerequisites: []\nsummary: s\n",
            "b.yaml": concept_yaml("b", ("a",)),
        },
    )
    course, diag = load_course(root)
    assert course is not None and not diag.has_errors
    svg = concept_map_svg(course, href=lambda cid: f"concepts/{cid}.html", highlight=["b"])
    tree = ET.fromstring(svg)  # well-formed XML
    assert tree.tag == f"{SVG}svg"
    assert "<b>" not in svg and "&lt;b&gt;Tags&lt;/b&gt; &amp;" in svg
    links = tree.findall(f"{SVG}a")
    assert sorted(a.get("href") for a in links) == ["concepts/a.html", "concepts/b.html"]
    assert len(tree.findall(f".//{SVG}path[@marker-end]")) == 1
    assert "Noto Sans CJK" in tree.get("font-family", "")
    for forbidden in ("http://", "https://", "<script", "<image"):
        assert forbidden not in svg.replace("http://www.w3.org/2000/svg", "")
    plain = concept_map_svg(course)
    assert "<a " not in plain


def test_titles_wrap_by_display_width_including_cjk() -> None:
    style = MapStyle()
    width = style.chars_per_line
    lines = wrap("Comparison of Prefilling and BERT Encoding in Transformers", width, 5)
    assert all(text_width(line) <= width for line in lines)
    assert " ".join(lines) == "Comparison of Prefilling and BERT Encoding in Transformers"
    cjk = wrap("预填充阶段与解码阶段的比较以及键值缓存的作用和意义", width, 2)
    assert len(cjk) == 2 and cjk[-1].endswith("…")
    assert all(text_width(line) <= width for line in cjk)
    assert text_width("中a") == 3
