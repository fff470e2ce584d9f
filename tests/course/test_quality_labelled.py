"""Precision and recall of each question-quality rule on a labelled set (tests/quality/).

tests/quality/labelled/ is a course of 156 questions in six subjects, written with realistic
flaws and clean items; each question's line says which flaws it has against the rubric
(``# flaws: word-clue, longest-correct`` or ``# flaws: none``). The figures printed here are
the ones in docs/quality.md; every rule that is on by default must keep a precision of at
least 80 %, so a change that makes a rule noisy fails here.

Run ``pytest tests/course/test_quality_labelled.py -s`` to see the table.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from flashgen.course.quality import RULES
from flashgen.pipeline.load import load_course
from support import TESTS

LABELLED = TESTS / "quality" / "labelled"
LABEL = re.compile(r"^\s*- id: (\S+)\s*# flaws: (.+)$")
#: Rules about the course as a whole: not scored per question.
COURSE_WIDE = {"longest-correct-rate", "true-false-balance", "correct-option-term"}
MIN_PRECISION = 0.8


def labels() -> dict[tuple[str, str], set[str]]:
    """(file name, question id) -> the flaws written on its line."""
    found = {}
    for path in sorted(LABELLED.glob("*.yaml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            match = LABEL.match(line)
            if match:
                flaws = {f.strip() for f in match.group(2).split(",")} - {"none"}
                found[(path.name, match.group(1))] = flaws
    return found


def predictions() -> dict[tuple[str, str], set[str]]:
    """(file name, question id) -> the rules that warn about it (each question's lines)."""
    course, diag = load_course(LABELLED)
    assert course is not None and not diag.has_errors, diag.render_text()
    starts: dict[str, list[tuple[int, str]]] = {}
    for concept in course.concepts:
        starts[concept.path.name] = [(q.location.line, q.id) for q in concept.questions]
    found: dict[tuple[str, str], set[str]] = {
        (name, qid): set() for name, items in starts.items() for _, qid in items
    }
    for item in diag.items:
        if not item.rule or item.rule in COURSE_WIDE:
            continue
        name = Path(item.location.path).name
        owner = [qid for line, qid in starts[name] if line <= item.location.line][-1]
        found[(name, owner)].add(item.rule)
    return found


def scores() -> dict[str, tuple[int, int, int]]:
    """rule -> (true positives, false positives, false negatives)."""
    truth, predicted = labels(), predictions()
    assert truth.keys() == predicted.keys(), "every question of the set needs a '# flaws:' label"
    counts: Counter[tuple[str, str]] = Counter()
    for key, flaws in truth.items():
        for rule in flaws | predicted[key]:
            if rule in flaws and rule in predicted[key]:
                counts[(rule, "tp")] += 1
            elif rule in predicted[key]:
                counts[(rule, "fp")] += 1
            else:
                counts[(rule, "fn")] += 1
    return {
        rule: (counts[(rule, "tp")], counts[(rule, "fp")], counts[(rule, "fn")])
        for rule in RULES
        if rule not in COURSE_WIDE
    }


def table(result: dict[str, tuple[int, int, int]]) -> str:
    rows = [
        "| rule | on by default | flawed items | precision | recall |",
        "| --- | --- | --- | --- | --- |",
    ]
    for rule, (tp, fp, fn) in result.items():
        precision = f"{100 * tp / (tp + fp):.0f} % ({tp}/{tp + fp})" if tp + fp else "–"
        recall = f"{100 * tp / (tp + fn):.0f} % ({tp}/{tp + fn})" if tp + fn else "–"
        on = "yes" if RULES[rule].level != "off" else "no"
        rows.append(f"| `{rule}` | {on} | {tp + fn} | {precision} | {recall} |")
    return "\n".join(rows)


def test_the_labelled_set_is_large_and_mixed() -> None:
    truth = labels()
    assert len(truth) >= 150
    assert len({name for name, _ in truth}) >= 5
    flawed = Counter(rule for flaws in truth.values() for rule in flaws)
    assert set(flawed) <= set(RULES), set(flawed) - set(RULES)
    assert sum(1 for flaws in truth.values() if not flaws) >= 50  # clean items too


@pytest.fixture(scope="module")
def result() -> dict[str, tuple[int, int, int]]:
    figures = scores()
    print("\n" + table(figures))
    return figures


@pytest.mark.parametrize("rule", [r for r in RULES if r not in COURSE_WIDE])
def test_each_rule_on_by_default_keeps_its_precision(
    rule: str, result: dict[str, tuple[int, int, int]]
) -> None:
    tp, fp, fn = result[rule]
    assert tp + fn > 0, f"the labelled set has no item with the flaw {rule}"
    if RULES[rule].level == "off":
        return
    assert tp + fp > 0, f"{rule} found nothing"
    precision = tp / (tp + fp)
    assert precision >= MIN_PRECISION, f"{rule}: precision {precision:.0%} ({tp}/{tp + fp})"


def test_the_docs_show_these_figures(result: dict[str, tuple[int, int, int]]) -> None:
    docs = (TESTS.parent / "docs" / "quality.md").read_text(encoding="utf-8")
    assert table(result) in docs, "update the table in docs/quality.md (run with -s to see it)"
