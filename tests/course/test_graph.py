"""The prerequisite graph: learning order, learn-after links, cycles, longest chain."""

from __future__ import annotations

from flashgen.course.graph import find_cycles, learn_after, learning_order, longest_chain
from support import concept_yaml as concept


def ids(concepts) -> list[str]:
    return [c.id for c in concepts]


def test_learning_order_puts_prerequisites_first_then_chapter_then_file(make_course) -> None:
    # Files are read in name order: 01 (z, chapter two), 02 (y, needs x), 03 (x), 04 (w).
    course = make_course(
        {
            "01.yaml": concept("z", chapter="two"),
            "02.yaml": concept("y", ("x",), chapter="one"),
            "03.yaml": concept("x", chapter="one"),
            "04.yaml": concept("w", chapter="one"),
        },
        chapters=("one", "two"),
    )
    assert ids(course.concepts) == ["z", "y", "x", "w"]
    # x before y (prerequisite); y before w (file order once ready); z last (later chapter).
    assert ids(learning_order(course)) == ["x", "y", "w", "z"]


def test_learning_order_files_in_folders(make_course) -> None:
    course = make_course(
        {
            "b/second.yaml": concept("second", ("first",)),
            "a/third.yaml": concept("third", ("second",)),
            "c/first.yaml": concept("first"),
        }
    )
    assert ids(learning_order(course)) == ["first", "second", "third"]


def test_learning_order_puts_cycles_last_in_file_order(tmp_path) -> None:
    from flashgen.pipeline.load import load_course
    from support import write_course

    root = write_course(
        tmp_path / "c",
        {
            "a.yaml": concept("a", ("b",)),
            "b.yaml": concept("b", ("a",)),
            "c.yaml": concept("c"),
            "d.yaml": concept("d", ("c", "unknown")),
        },
    )
    course, diag = load_course(root)
    assert course is not None and diag.has_errors
    assert ids(learning_order(course)) == ["c", "d", "a", "b"]


def test_learn_after_is_the_reverse_of_prerequisites(make_course) -> None:
    course = make_course(
        {
            "1.yaml": concept("base"),
            "2.yaml": concept("late", ("middle", "base")),
            "3.yaml": concept("middle", ("base",)),
            "4.yaml": concept("alone"),
        }
    )
    assert learn_after(course) == {
        "base": ("middle", "late"),  # in learning order, not file order
        "middle": ("late",),
        "late": (),
        "alone": (),
    }


def test_longest_chain(make_course) -> None:
    course = make_course(
        {
            "1.yaml": concept("a"),
            "2.yaml": concept("b", ("a",)),
            "3.yaml": concept("c", ("b",)),
            "4.yaml": concept("d", ("c", "x")),
            "5.yaml": concept("x"),
            "6.yaml": concept("short", ("x",)),
        }
    )
    assert longest_chain(course) == ["a", "b", "c", "d"]


def test_longest_chain_of_an_empty_course(make_course) -> None:
    assert longest_chain(make_course({})) == []


def test_find_cycles_three_cycle() -> None:
    edges = {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}
    assert find_cycles(edges) == [["a", "b", "c", "a"]]


def test_find_cycles_self_loop() -> None:
    assert find_cycles({"a": [], "b": ["a", "b"]}) == [["b", "b"]]


def test_find_cycles_none_and_unknown_ids() -> None:
    assert find_cycles({"a": ["b", "nowhere"], "b": [], "c": ["a", "b"]}) == []


def test_find_cycles_one_per_component() -> None:
    edges = {"a": ["b"], "b": ["a"], "c": ["d"], "d": ["e"], "e": ["c"], "f": ["f"]}
    cycles = find_cycles(edges)
    assert sorted(map(tuple, cycles)) == [("a", "b", "a"), ("c", "d", "e", "c"), ("f", "f")]


def test_find_cycles_handles_long_chains_without_recursion() -> None:
    n = 20_000
    edges = {f"n{i}": [f"n{i + 1}"] for i in range(n)}
    edges[f"n{n}"] = []
    assert find_cycles(edges) == []
    edges[f"n{n}"] = ["n0"]
    [cycle] = find_cycles(edges)
    assert len(cycle) == n + 2 and cycle[0] == cycle[-1] == "n0"
