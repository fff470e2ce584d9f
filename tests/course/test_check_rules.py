"""One small course folder per check rule, each with the exact diagnostics it must produce.

Every folder in ``tests/courses/bad/`` holds a course with one problem and an ``expected.txt``
listing the diagnostics ``flashgen check`` must report for it, with paths relative to the
folder. To add a rule: add a folder, write ``expected.txt`` by hand, and add its name below.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from flashgen.course.model import Basic, Cloze, MultipleChoice, TrueFalse
from support import BAD_COURSES, VALID_COURSE, check

#: The rules the issue asks for, each a folder of tests/courses/bad/ (deleting one fails).
REQUIRED_RULES = {
    "yaml-syntax-error",
    "tab-indentation",
    "unknown-key",
    "unknown-key-no-suggestion",
    "wrong-type-number",
    "wrong-type-boolean",
    "wrong-type-list",
    "missing-required-key",
    "missing-prerequisites",
    "missing-question-type",
    "duplicate-concept-id",
    "duplicate-question-id",
    "duplicate-yaml-key",
    "unknown-prerequisite",
    "unknown-prerequisite-no-suggestion",
    "unknown-related",
    "unknown-chapter",
    "prerequisite-cycle",
    "self-prerequisite",
    "mcq-no-correct-answer",
    "mcq-duplicate-choice",
    "mcq-correct-among-distractors",
    "mcq-no-distractors",
    "cloze-without-deletion",
    "true-false-quoted",
    "true-false-no",
    "unknown-question-type",
    "id-with-spaces",
    "id-upper-case",
    "id-bad-characters",
    "tag-with-spaces",
    "empty-text",
    "prerequisite-in-later-chapter",
    "related-warnings",
    "non-utf8",
    "no-course-yaml",
    "duplicate-chapter",
    "course-missing-chapters",
    "empty-concept-file",
    "concept-not-a-mapping",
    "unsupported-tag",
    "merge-key",
    "unreadable-file-no-cascade",
    "duplicate-id-no-cycle",
    "cloze-typos",
}

#: Courses whose only problems are warnings: `flashgen check` exits 0 on them.
WARNING_ONLY = {"prerequisite-in-later-chapter", "related-warnings"}

BAD = sorted(path.name for path in BAD_COURSES.iterdir() if path.is_dir())
LINE = re.compile(r"^(?P<path>[^:]+?)(?::(?P<line>\d+):(?P<col>\d+))?: (?P<sev>error|warning): ")


def expected_lines(name: str) -> list[str]:
    return (BAD_COURSES / name / "expected.txt").read_text(encoding="utf-8").splitlines()


def test_every_required_rule_has_a_course() -> None:
    assert set(BAD) >= REQUIRED_RULES, sorted(REQUIRED_RULES - set(BAD))


def test_every_bad_course_is_listed() -> None:
    assert set(BAD) <= REQUIRED_RULES, "add new rule folders to REQUIRED_RULES"


@pytest.mark.parametrize("name", BAD)
def test_bad_course_reports_exactly_the_expected_diagnostics(name: str) -> None:
    root = BAD_COURSES / name
    expected = expected_lines(name)
    assert expected, f"{name}/expected.txt is empty"
    _, diag, text = check(root)
    assert text.splitlines() == expected
    assert diag.has_errors == (name not in WARNING_ONLY)


@pytest.mark.parametrize("name", BAD)
def test_expected_diagnostics_point_at_real_lines(name: str) -> None:
    """Each expected path exists (or is the missing course.yaml) and each line is in the file."""
    for line in expected_lines(name):
        match = LINE.match(line)
        assert match, f"not a diagnostic line: {line!r}"
        path = BAD_COURSES / name / match["path"]
        if name == "no-course-yaml":
            assert not path.exists()
            continue
        assert path.is_file(), line
        if match["line"]:
            count = path.read_bytes().count(b"\n")
            assert 1 <= int(match["line"]) <= count, line


def line_of(name: str, file: str, number: int) -> str:
    return (BAD_COURSES / name / file).read_text(encoding="utf-8").splitlines()[number - 1]


# A few rules spelled out, so that the message, file and line they must give are readable here
# and not only in expected.txt.


def test_unknown_key_suggests_prerequisites() -> None:
    _, diag, _ = check(BAD_COURSES / "unknown-key")
    [unknown] = [d for d in diag.errors if "unknown key" in d.message]
    assert unknown.location.path.name == "beta.yaml"
    assert unknown.location.line == 4
    assert "did you mean 'prerequisites'?" in unknown.message
    assert line_of("unknown-key", "beta.yaml", 4).startswith("prerequisite:")


def test_wrong_type_gives_the_quote_hint() -> None:
    _, diag, _ = check(BAD_COURSES / "wrong-type-number")
    [error] = diag.errors
    assert error.message == (
        """'prerequisites' item 1 must be text, not the number 42; put it in quotes if you mean """
        """the text: "42\""""
    )
    assert (error.location.line, error.location.column) == (4, 17)


NUMBERS = """\
id: alpha
title: 1984
chapter: basics
prerequisites: []
summary: Numbers as answers.
questions:
  - id: product
    type: multiple-choice
    question: What is 6 x 7?
    correct: 42
    distractors: [3, 12, 1.50, 0x1F]
  - id: price
    type: basic
    front: What does it cost?
    back: 1.50
"""


def test_numbers_in_text_fields_are_the_text_as_written(tmp_path: Path) -> None:
    shutil.copytree(BAD_COURSES / "wrong-type-number", tmp_path / "course")
    (tmp_path / "course" / "alpha.yaml").write_text(NUMBERS, encoding="utf-8")
    course, diag, _ = check(tmp_path / "course")
    assert not diag.errors
    assert course is not None
    [concept] = course.concepts
    product, price = concept.questions
    assert concept.title == "1984"
    assert isinstance(product, MultipleChoice) and isinstance(price, Basic)
    assert (product.correct, product.distractors) == (("42",), ("3", "12", "1.50", "0x1F"))
    assert price.back == "1.50"


def test_a_misspelt_required_key_is_one_error() -> None:
    _, diag, _ = check(BAD_COURSES / "unknown-key")
    assert [d.message for d in diag.errors] == [
        "unknown key 'prerequisite' in a concept; did you mean 'prerequisites'?"
    ]


def test_prerequisite_cycle_names_the_whole_cycle() -> None:
    _, diag, _ = check(BAD_COURSES / "prerequisite-cycle")
    [error] = diag.errors
    assert "a → b → c → a" in error.message
    assert error.location.path.name == "a.yaml"
    assert line_of("prerequisite-cycle", "a.yaml", error.location.line) == "prerequisites: [b]"


def test_duplicate_concept_id_names_both_files() -> None:
    _, diag, _ = check(BAD_COURSES / "duplicate-concept-id")
    [error] = diag.errors
    assert error.location.path.name == "alpha-again.yaml"
    assert error.message == "duplicate concept id 'alpha' (also in alpha.yaml:1)"


def test_true_false_hints_differ_for_quoted_and_yes_no() -> None:
    _, quoted, _ = check(BAD_COURSES / "true-false-quoted")
    _, no, _ = check(BAD_COURSES / "true-false-no")
    assert quoted.errors[0].message.endswith("write false without quotes")
    assert "quotes" not in no.errors[0].message
    assert "write false" in no.errors[0].message


def test_fixture_files_keep_their_problem_bytes() -> None:
    """Editors may 'fix' these files; the tests above would then check nothing."""
    raw = (BAD_COURSES / "non-utf8" / "alpha.yaml").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert b"\n\t- alpha" in (BAD_COURSES / "tab-indentation" / "beta.yaml").read_bytes()


def test_course_folder_missing(tmp_path: Path) -> None:
    root = tmp_path / "nowhere"
    course, diag, _ = check(root)
    assert course is None
    assert [d.render() for d in diag.errors] == [f"{root}: error: course folder does not exist"]


def test_course_folder_is_a_file(tmp_path: Path) -> None:
    root = tmp_path / "course.yaml"
    root.write_text("id: x\n", encoding="utf-8")
    course, diag, _ = check(root)
    assert course is None
    [error] = diag.errors
    assert error.location.path == root
    assert error.message == "is not a folder: give the folder that holds course.yaml"


def test_no_course_yaml_still_reports_nothing_else() -> None:
    course, diag, _ = check(BAD_COURSES / "no-course-yaml")
    assert course is None
    assert len(diag) == 1


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Problems in several files and of several kinds come out together, sorted by location."""
    from support import concept_yaml, write_course

    root = write_course(
        tmp_path / "c",
        {
            "a.yaml": concept_yaml("a", ("zz",)),
            "b.yaml": concept_yaml("b", ("b",)),
            "c.yaml": "id: c\n",
        },
    )
    _, diag, text = check(root)
    lines = text.splitlines()
    assert [line.split(":")[0] for line in lines] == ["a.yaml", "b.yaml", "c.yaml", "c.yaml",
                                                      "c.yaml", "c.yaml"]  # fmt: skip
    assert len(diag.errors) == 6
    assert "unknown prerequisite concept 'zz'" in lines[0]
    assert "lists itself as a prerequisite" in lines[1]


def test_valid_course_has_no_problems() -> None:
    course, _, text = check(VALID_COURSE)
    assert text == ""
    assert course is not None
    assert [c.id for c in course.concepts] == ["attention", "embeddings", "tokens", "vocabulary"]
    kinds = {type(q) for c in course.concepts for q in c.questions}
    assert kinds == {MultipleChoice, TrueFalse, Basic, Cloze}


def test_valid_course_values_are_read_as_written() -> None:
    course, _, _ = check(VALID_COURSE)
    assert course is not None
    embeddings = course.concept("embeddings")
    assert embeddings is not None
    [mcq] = embeddings.questions
    assert isinstance(mcq, MultipleChoice)
    assert mcq.correct == ("A vector of numbers",)
    assert mcq.distractors == ("Another token", "No", "2024-01-01")
    vocabulary = course.concept("vocabulary")
    assert vocabulary is not None
    [tf] = vocabulary.questions
    assert isinstance(tf, TrueFalse) and tf.answer is False
    attention = course.concept("attention")
    assert attention is not None
    assert attention.prerequisite_ids == ("embeddings", "tokens")
    assert attention.related_ids == ("vocabulary",)
    assert [ch.id for ch in course.chapters] == ["basics", "advanced"]


def test_too_many_questions_is_an_error_naming_the_limit(tmp_path: Path) -> None:
    from flashgen.course.questions import MAX_QUESTIONS

    shutil.copytree(BAD_COURSES / "wrong-type-number", tmp_path / "course")
    question = "  - id: q{0}\n    type: basic\n    front: Front {0}?\n    back: Back.\n"
    questions = "".join(question.format(n) for n in range(MAX_QUESTIONS + 1))
    (tmp_path / "course" / "alpha.yaml").write_text(
        "id: alpha\ntitle: Alpha\nchapter: basics\nprerequisites: []\nsummary: S.\n"
        f"questions:\n{questions}",
        encoding="utf-8",
    )
    _, diag, _ = check(tmp_path / "course")
    [error] = diag.errors
    assert error.message == (
        f"{MAX_QUESTIONS + 1:,} questions in one concept; the limit is {MAX_QUESTIONS:,}: "
        "split the concept into several"
    )
    assert (error.location.line, error.location.column) == (7, 3)
