"""``flashgen stats``: counts per chapter and type, foundations, chains, gaps."""

from __future__ import annotations

import json

from click.testing import CliRunner

from flashgen.cli import main
from flashgen.course.stats import as_json, course_stats, render_text
from support import SEED_COURSE, concept_yaml

QUESTIONS = """questions:
  - {id: q1, type: true-false, statement: S., answer: true}
  - {id: q2, type: cloze, text: "A {{c1::b}}."}
  - {id: q3, type: true-false, statement: T., answer: false}
"""


def course(make_course):
    return make_course(
        {
            "one/a.yaml": concept_yaml("a", extra=QUESTIONS),
            "one/b.yaml": concept_yaml("b", ("a",)),
            "two/c.yaml": concept_yaml("c", ("b",), chapter="later"),
            "two/d.yaml": concept_yaml("d", chapter="later"),
        },
        chapters=("basics", "later"),
    )


def test_counts_per_chapter_and_type(make_course) -> None:
    stats = course_stats(course(make_course))
    basics, later = stats.chapters
    assert (basics.id, basics.concepts, basics.question_count) == ("basics", 2, 3)
    assert basics.questions == {"multiple-choice": 0, "true-false": 2, "basic": 0, "cloze": 1}
    assert (later.concepts, later.question_count) == (2, 0)
    assert stats.concepts == 4
    assert stats.foundations == ("a", "d")
    assert stats.longest_chain == ("a", "b", "c")
    assert stats.without_questions == ("b", "c", "d")


def test_text_and_json(make_course) -> None:
    stats = course_stats(course(make_course))
    text = render_text(stats)
    assert "foundations (2): a, d" in text
    assert "longest prerequisite chain (3): a → b → c" in text
    assert "concepts without questions (3): b, c, d" in text
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.strip()}
    assert rows["basics"] == ["2", "0", "2", "0", "1", "3"]
    assert rows["total"] == ["4", "0", "2", "0", "1", "3"]
    data = as_json(stats)
    assert data["questions"]["true-false"] == 2 and data["longest_chain"] == ["a", "b", "c"]
    json.dumps(data)


def test_cli_on_the_seed_course() -> None:
    result = CliRunner().invoke(main, ["stats", str(SEED_COURSE)])
    assert result.exit_code == 0, result.output
    assert "longest prerequisite chain" in result.output
    result = CliRunner().invoke(main, ["stats", str(SEED_COURSE), "--format", "json"])
    assert json.loads(result.output)["concepts"] > 0


def test_cli_on_a_missing_course(tmp_path) -> None:
    result = CliRunner().invoke(main, ["stats", str(tmp_path / "nope")])
    assert result.exit_code == 1
