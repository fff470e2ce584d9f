"""Question-quality rules (flashgen.course.quality): each rule warns about a flawed question, at its
line, and stays quiet about the clean question written after it.

The courses under tests/courses/quality/ mark every line that must get a warning with
``# expect: rule-name``; no other line may get one.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from flashgen.cli import main
from flashgen.course.model import Cloze, MultipleChoice, TrueFalse
from flashgen.course.quality import RULES
from flashgen.course.quality.rules import question_findings
from flashgen.diagnostics import Diagnostic, Location
from flashgen.pipeline.load import load, load_course
from support import COURSES, REPO, write_course

QUALITY = COURSES / "quality"
COURSE_NAMES = ("flaws", "duplicates", "longest-rate", "true-false-balance", "correct-term")
EXPECT = re.compile(r"# expect: ([\w, -]+)$")

#: What each rule says: a part of its message (the rest is advice and may be reworded).
MESSAGES = {
    "longest-correct": "the correct option is 4.0 times as long as the longest distractor",
    "longest-correct-rate": "in 8 of 10 multiple-choice questions of the course the correct "
    "option is the longest (chance: about 2.5; p = 0.00042)",
    "word-clue": "the correct option repeats 'proteins' from the stem and no distractor does",
    "correct-option-term": "'kv cache' is in the correct option of 3 questions and in none of "
    "their other options (this one, inference.yaml:12, inference.yaml:17)",
    "grammar-article": "'an' before the blank rules out 3 of the 3 distractors",
    "grammar-number": "'are' before the answer agrees with the correct option but not with "
    "option 'a scalar'",
    "all-of-the-above": "option 'All of the above' is 'all of the above'",
    "none-of-the-above": "option 'None of the above' is 'none of the above'",
    "combined-options": "option '1 and 3' combines other options",
    "absolute-terms": "3 of 3 distractors use absolute terms ('always', 'never', 'only') and "
    "the correct option none",
    "hedged-correct": "only the correct option is hedged ('usually')",
    "negative-stem": "negative stem ('not') without emphasis",
    "overlapping-options": "option 'Radio waves and sound waves' contains option 'Radio waves'",
    "duplicate-question": "the same text as question 'mitochondria' (cells.yaml:7)",
    "near-duplicate-question": "nearly the same text as question 'insulin' (cells.yaml:12)",
    "true-false-balance": "11 of 12 true-false answers of the course are true (p = 0.0063)",
    "double-negative": "double negative ('not' ... 'not')",
    "two-claims": "the statement joins two claims ('and')",
    "cloze-answer-visible": "the answer of c1 ('chlorophyll') is visible elsewhere on its card",
    "cloze-hint-gives-answer": "the hint of c1 ('mitos...') gives the answer 'mitosis' away",
}


def expected(course: Path) -> set[tuple[str, int, str]]:
    """(file name, line, rule) of every ``# expect:`` mark in the course."""
    marks = set()
    for path in sorted(course.glob("*.yaml")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = EXPECT.search(line)
            if match:
                marks |= {(path.name, number, r.strip()) for r in match.group(1).split(",")}
    return marks


def found(course: Path) -> list[Diagnostic]:
    loaded, diag = load_course(course)
    assert loaded is not None and not diag.has_errors, diag.render_text()
    return diag.items


@pytest.mark.parametrize("name", COURSE_NAMES)
def test_each_flawed_question_and_no_clean_one_gets_a_warning(name: str) -> None:
    course = QUALITY / name
    got = {(Path(d.location.path).name, d.location.line, d.rule) for d in found(course)}
    assert got == expected(course)


def test_every_rule_is_tested_here() -> None:
    marked = {rule for name in COURSE_NAMES for _, _, rule in expected(QUALITY / name)}
    assert marked == set(RULES) == set(MESSAGES)


@pytest.mark.parametrize("rule", sorted(MESSAGES))
def test_each_rule_says_what_is_wrong(rule: str) -> None:
    for name in COURSE_NAMES:
        marks = {(file, line) for file, line, r in expected(QUALITY / name) if r == rule}
        if not marks:
            continue
        hits = [d for d in found(QUALITY / name) if d.rule == rule]
        assert hits, rule
        first = min(hits, key=lambda d: d.location.line)
        assert MESSAGES[rule] in first.message
        assert (Path(first.location.path).name, first.location.line) in marks
        assert first.severity == "warning"
        assert first.render().endswith(f" [{rule}]")
        return
    pytest.fail(f"no course marks {rule}")


def test_an_allowed_rule_is_silent_for_that_question_only() -> None:
    diags = found(QUALITY / "flaws")
    assert not [d for d in diags if Path(d.location.path).name == "allowed.yaml"]
    assert [d for d in diags if d.rule == "negative-stem"]  # the same stem elsewhere warns


def test_a_question_allowed_its_term_does_not_count(tmp_path: Path) -> None:
    root = tmp_path / "course"
    shutil.copytree(QUALITY / "correct-term", root)
    concept = root / "inference.yaml"
    text = concept.read_text(encoding="utf-8")
    text = text.replace(
        "correct: The KV cache of earlier tokens",
        "correct: The KV cache of earlier tokens\n    allow: [correct-option-term]",
    )
    concept.write_text(text, encoding="utf-8")
    _, diag = load_course(root)
    assert [d.rule for d in diag.items] == []


def test_an_unknown_rule_in_allow_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    root = write_course(
        tmp_path,
        {
            "a.yaml": "id: a\ntitle: A\nchapter: basics\nprerequisites: []\nsummary: S.\n"
            "questions:\n  - id: q\n    type: true-false\n    statement: Cats purr.\n"
            "    answer: true\n    allow: [two-claim]\n"
        },
    )
    _, diag = load_course(root)
    assert [(d.location.line, d.severity, d.message) for d in diag.items] == [
        (11, "error", "'allow' item 1 names an unknown quality rule 'two-claim'; "
         "did you mean 'two-claims'?"),
    ]  # fmt: skip


def _course_with_quality(tmp_path: Path, quality: str) -> Path:
    root = tmp_path / "course"
    shutil.copytree(QUALITY / "flaws", root)
    text = (root / "course.yaml").read_text(encoding="utf-8")
    (root / "course.yaml").write_text(text + quality, encoding="utf-8")
    return root


def test_a_course_sets_levels_and_thresholds(tmp_path: Path) -> None:
    root = _course_with_quality(
        tmp_path,
        "  negative-stem: error\n  two-claims: off\n  longest-correct: {ratio: 5}\n",
    )
    _, diag = load_course(root)
    rules = {d.rule: d.severity for d in diag.items}
    assert rules["negative-stem"] == "error"
    assert "two-claims" not in rules
    assert "longest-correct" not in rules  # 4.0 times as long is below the ratio of 5


def test_a_word_in_many_questions_is_no_clue(tmp_path: Path) -> None:
    """With 33 questions and a share of 0.01, every stem word counts as generic."""
    root = _course_with_quality(tmp_path, "  word-clue: {generic-share: 0.01}\n")
    _, diag = load_course(root)
    assert "word-clue" not in {d.rule for d in diag.items}
    assert "negative-stem" in {d.rule for d in diag.items}


@pytest.mark.parametrize(
    ("quality", "line", "message"),
    [
        ("  word-clues: off\n", 14, "unknown quality rule 'word-clues'; did you mean 'word-clue'?"),
        ("  word-clue: no\n", 14, "'word-clue' must be off, warning or error, not 'no'"),
        (
            "  longest-correct: {ratio: 1.2, width: 3}\n",
            14,
            "unknown setting 'width' for rule 'longest-correct'; it takes: level, ratio, margin",
        ),
        ("  longest-correct: {ratio: big}\n", 14, "'ratio' must be a number of at least 0"),
    ],
)
def test_a_bad_quality_setting_is_a_located_error(
    tmp_path: Path, quality: str, line: int, message: str
) -> None:
    root = _course_with_quality(tmp_path, quality)
    _, diag = load_course(root)
    errors = [d for d in diag.items if d.severity == "error"]
    assert len(errors) == 1
    assert errors[0].location.path.name == "course.yaml"
    assert errors[0].location.line == line
    assert message in errors[0].message


@pytest.mark.parametrize("name", [*COURSE_NAMES, "../../quality/labelled"])
def test_warnings_from_the_memo_are_those_found_fresh(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commands read each file's quality record from the pipeline's memo when the file did
    not change: the course-wide rules then report the same warnings."""
    monkeypatch.setenv("FLASHGEN_CACHE_DIR", str(tmp_path))
    _, fresh = load_course(QUALITY / name)
    load(QUALITY / name).memo.save()
    again = load(QUALITY / name)
    assert again.memo.hits["concept"] > 0
    assert again.diagnostics.render_text() == fresh.render_text()


def test_strict_fails_on_warnings_and_json_names_the_rule() -> None:
    runner = CliRunner()
    loose = runner.invoke(main, ["check", str(QUALITY / "true-false-balance")])
    assert loose.exit_code == 0
    strict = runner.invoke(main, ["check", "--strict", str(QUALITY / "true-false-balance")])
    assert strict.exit_code == 1
    assert strict.output.splitlines()[0].endswith("[true-false-balance]")
    as_json = runner.invoke(main, ["check", "--format", "json", str(QUALITY / "longest-rate")])
    (item,) = json.loads(as_json.output)["diagnostics"]
    assert (item["rule"], item["line"]) == ("longest-correct-rate", 7)
    assert not item["message"].endswith("]")


def test_strict_passes_a_course_without_warnings() -> None:
    result = CliRunner().invoke(main, ["check", "--strict", str(COURSES / "valid")])
    assert result.exit_code == 0, result.output


def test_build_reports_quality_warnings_and_still_builds(tmp_path: Path) -> None:
    course = shutil.copytree(QUALITY / "true-false-balance", tmp_path / "course")
    for only in ("apkg", None):
        out = tmp_path / f"out-{only}"
        args = ["build", "-q", str(course), "-o", str(out)]
        result = CliRunner().invoke(main, [*args, "--only", only] if only else [*args])
        assert result.exit_code == 0, result.output
        assert "[true-false-balance]" in result.output
        assert (out / "quality-true-false-balance.apkg").is_file()


def test_docs_describe_every_rule_with_examples_and_source() -> None:
    text = (REPO / "docs" / "quality.md").read_text(encoding="utf-8")
    sections = re.split(r"^### ", text, flags=re.MULTILINE)[1:]
    documented = {section.split("`")[1]: section for section in sections}
    assert set(documented) == set(RULES)
    for rule, section in documented.items():
        assert "Bad:" in section and "Good:" in section, rule
        assert "Source:" in section, rule
        for param in RULES[rule].params:
            assert f"`{param}`" in section, (rule, param)


texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)) | st.sampled_from("$*_`{}:-–, aAnN"),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(stem=texts, options=st.lists(texts.filter(str.strip), min_size=2, max_size=5, unique=True))
def test_no_text_makes_a_rule_fail(stem: str, options: list[str]) -> None:
    """Rules read instructors' text as it comes: any text gives findings or none, never a crash."""
    where = Location(Path("x.yaml"), 1, 1)
    common = {"explanation": "", "location": where, "field_locations": {}, "allow": ()}
    cloze = f"{stem} {{{{c1::{options[0]}::{options[1]}}}}} {options[-1]}"
    questions = (
        MultipleChoice(id="m", **common, question=stem, correct=(options[0],),
                       distractors=tuple(options[1:])),
        TrueFalse(id="t", **common, statement=stem or "x", answer=True),
        Cloze(id="c", **common, text=cloze),
    )  # fmt: skip
    for question in questions:
        for rule, key, message, _ in question_findings(question):
            assert rule in RULES and key and message
