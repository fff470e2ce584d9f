"""Property tests: whatever a course holds, checking it reports diagnostics and never raises.

These need Hypothesis (in the venv; add it to the `test` extra of pyproject.toml for CI).
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest
import yaml

pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flashgen.course.graph import find_cycles
from flashgen.course.loader import parse_yaml
from flashgen.diagnostics import Diagnostics
from flashgen.pipeline.load import load_course
from support import concept_yaml, write_course

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["alpha", "basics", "multiple-choice", "true-false", "cloze", "basic",
                     "{{c1::x}}", "No", "yes", "", " "]),
)  # fmt: skip
keys = st.sampled_from(
    ["id", "title", "chapter", "prerequisites", "related", "tags", "summary", "questions",
     "type", "question", "correct", "distractors", "statement", "answer", "front", "back",
     "text", "explanation", "other"]
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=6),
    max_leaves=25,
)


@settings(deadline=None)
@given(st.text(max_size=200))
def test_parse_yaml_never_raises_on_any_text(text: str) -> None:
    diag = Diagnostics()
    parse_yaml(text, Path("f.yaml"), diag)
    for item in diag.items:
        assert item.severity in ("error", "warning")
        assert item.message


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(keys, values, max_size=8))
def test_checking_any_concept_file_never_raises(tmp_path: Path, data: dict) -> None:
    shutil.rmtree(tmp_path / "c", ignore_errors=True)  # tmp_path is shared by the examples
    root = write_course(
        tmp_path / "c",
        {
            "alpha.yaml": concept_yaml("alpha"),
            "fuzz.yaml": yaml.safe_dump(data, allow_unicode=True),
        },
    )
    course, diag = load_course(root)
    text = diag.render_text(relative_to=root)
    assert "fuzz.yaml" in text or course is not None
    diag.render_json(relative_to=root)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "id": st.sampled_from(["a", "b", "c", "d", "A", "a b"]),
                "prerequisites": st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), max_size=4),
                "chapter": st.sampled_from(["basics", "later", "nowhere"]),
            }
        ),
        max_size=5,
    )
)
def test_checking_any_prerequisite_graph_never_raises(tmp_path: Path, concepts: list) -> None:
    files = {
        f"{i}.yaml": concept_yaml(c["id"] if " " not in c["id"] else f"'{c['id']}'",
                                  tuple(c["prerequisites"]), c["chapter"])
        for i, c in enumerate(concepts)
    }  # fmt: skip
    shutil.rmtree(tmp_path / "g", ignore_errors=True)
    root = write_course(tmp_path / "g", files, chapters=("basics", "later"))
    course, diag = load_course(root)
    assert course is not None
    diag.render_text(relative_to=root)


graphs = st.integers(min_value=1, max_value=12).flatmap(
    lambda n: st.lists(
        st.lists(st.integers(min_value=0, max_value=n - 1), max_size=4), min_size=n, max_size=n
    )
)


@settings(deadline=None)
@given(graphs)
def test_find_cycles_reports_real_cycles_exactly_when_there_are_some(succ: list[list[int]]) -> None:
    edges = {f"c{i}": [f"c{j}" for j in targets] for i, targets in enumerate(succ)}
    cycles = find_cycles(edges)
    for cycle in cycles:
        assert cycle[0] == cycle[-1]
        assert len(set(cycle[:-1])) == len(cycle) - 1  # a simple cycle
        for a, b in itertools.pairwise(cycle):
            assert b in edges[a]
    # Cross-check acyclicity with Kahn's algorithm.
    indegree = {node: 0 for node in edges}
    for targets in edges.values():
        for t in set(targets):
            indegree[t] += 1
    ready = [node for node, d in indegree.items() if d == 0]
    seen = 0
    while ready:
        node = ready.pop()
        seen += 1
        for t in set(edges[node]):
            indegree[t] -= 1
            if indegree[t] == 0:
                ready.append(t)
    assert (cycles == []) == (seen == len(edges))
    # Cycles lie in different strongly connected components, so they share no node.
    members = [node for cycle in cycles for node in cycle[:-1]]
    assert len(members) == len(set(members))
