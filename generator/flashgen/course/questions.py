"""Reading a concept's questions: each question's type and fields, cloze syntax, and
duplicated choices, every problem located where it is written."""

from __future__ import annotations

import bisect
import re

from flashgen.course import schema
from flashgen.course.fields import (
    FieldLocations,
    FieldReader,
    describe,
    did_you_mean,
    require_mapping,
)
from flashgen.course.model import Basic, Cloze, MultipleChoice, Question, TrueFalse
from flashgen.course.positions import YamlList, YamlMap
from flashgen.diagnostics import Diagnostics, Location

CLOZE = re.compile(r"\{\{c\d+::.*?\}\}", re.DOTALL)


#: Anything that looks like the start of a cloze deletion, well written or not.
_CLOZE_OPENING = re.compile(r"(\{{1,2})(\s*)([cC])(\s*)(\d+)(\s*)(:{1,2})")
_CLOSE = re.compile(r"\}\}")


def cloze_syntax_problems(text: str) -> list[tuple[int, str]]:
    """Each malformed cloze deletion in ``text``: its offset and what is wrong with it."""
    problems = []
    closes = [m.start() for m in _CLOSE.finditer(text)]
    for match in _CLOZE_OPENING.finditer(text):
        braces, space1, letter, space2, number, space3, colons = match.groups()
        start = match.start()
        if len(braces) == 2 and start > 0 and text[start - 1] == "{":
            continue  # three braces: not a cloze opening
        written = match.group()
        problem = ""
        if len(braces) == 1:
            problem = "starts with one brace; write two: {{c1::"
        elif letter == "C":
            problem = "has an upper-case C, which Anki does not read; write {{c1::"
        elif space1 or space2 or space3:
            problem = "has spaces inside; write {{c1:: without spaces"
        elif len(colons) == 1:
            problem = "has one colon after the number; write two: {{c1::"
        elif int(number) == 0:
            problem = "is numbered 0; cloze numbers start at 1: {{c1::"
        else:
            after = bisect.bisect_left(closes, match.end())
            following = _CLOZE_OPENING.search(text, match.end())
            if after == len(closes) or (
                following is not None
                and following.start() < closes[after]
                and not _nested(closes, after, following.start())
            ):
                problem = "is never closed; end the hidden text with }}"
        if problem:
            problems.append((start, f"cloze deletion '{written}' {problem}"))
    return problems


def _nested(closes: list[int], after: int, end: int) -> bool:
    """Whether the deletion whose first possible "}}" is ``closes[after]`` holds the one
    opening at ``end`` (Anki allows a deletion inside another one)."""
    return len(closes) - bisect.bisect_left(closes, end) >= 2 and closes[after] > end


def _check_cloze_syntax(item: YamlMap, text: str, diag: Diagnostics) -> bool:
    """Report malformed cloze deletions, each where it was written; whether there were any."""
    problems = cloze_syntax_problems(text)
    if problems:
        where = FieldLocations(item)
        for offset, message in problems:
            diag.error(where.locate("text", offset) or item.value_location("text"), message)
    return bool(problems)


def _has_cloze(text: str) -> bool:
    """Whether ``text`` holds a deletion; searched only up to the last "}}", which keeps it
    linear (each "{{c1::" with no "}}" after it would otherwise scan to the end)."""
    return CLOZE.search(text, 0, text.rfind("}}") + 2) is not None


def normalize_choice(text: str) -> str:
    return " ".join(text.split()).casefold()


def _check_choices(item: YamlMap, diag: Diagnostics) -> None:
    """Report choices that make a multiple-choice question ambiguous."""
    seen: dict[str, tuple[str, Location]] = {}

    def entries(key: str) -> list[tuple[str, Location]]:
        value = item.get(key)
        if isinstance(value, YamlList):
            written = value.number_texts
            return [
                (written.get(i, text), value.item_location(i))
                for i, text in enumerate(value)
                if isinstance(written.get(i, text), str)
            ]
        value = item.number_texts.get(key, value)
        return [(value, item.value_location(key))] if isinstance(value, str) else []

    if not item.get("distractors"):
        diag.error(
            item.value_location("distractors"),
            "a multiple-choice question needs at least one distractor (a wrong choice)",
        )
    for key in ("correct", "distractors"):
        for text, location in entries(key):
            norm = normalize_choice(text)
            if norm not in seen:
                seen[norm] = (key, location)
                continue
            first_key, first = seen[norm]
            if first_key == "correct" and key == "distractors":
                message = f"correct answer '{text.strip()}' is also listed as a distractor"
            else:
                message = f"duplicated choice '{text.strip()}' (also on line {first.line})"
            diag.error(location, message)


#: Most questions one concept may hold (a concept with many more is several concepts).
MAX_QUESTIONS = 500


def read_questions(data: YamlMap, fields: FieldReader, diag: Diagnostics) -> tuple[Question, ...]:
    items = fields.get("questions")
    if items is None:
        return ()
    if len(items) > MAX_QUESTIONS:
        fields.error(
            "questions",
            f"{len(items):,} questions in one concept; the limit is {MAX_QUESTIONS:,}: "
            "split the concept into several",
        )
        return ()
    questions: list[Question] = []
    seen: dict[str, Location] = {}
    for index, item in enumerate(items):
        location = items.item_location(index)
        what = f"question {index + 1}"
        if not require_mapping(item, location, what, diag):
            continue
        question = _read_question(item, what, diag)
        if question is None:
            continue
        if question.id in seen:
            diag.error(
                item.value_location("id"),
                f"duplicate question id '{question.id}' in this concept "
                f"(first used on line {seen[question.id].line})",
            )
            continue
        seen[question.id] = question.location
        questions.append(question)
    return tuple(questions)


def _read_question(item: YamlMap, what: str, diag: Diagnostics) -> Question | None:
    kind = item.get("type")
    if not isinstance(kind, str) or kind not in schema.QUESTION_KEYS:
        if "type" not in item:
            diag.error(item.location, f"{what} is missing the required key 'type'")
        elif not isinstance(kind, str):
            diag.error(item.value_location("type"), f"'type' must be text, not {describe(kind)}")
        else:
            hint = did_you_mean(kind, schema.QUESTION_TYPES)
            hint = hint or f"; expected one of: {', '.join(schema.QUESTION_TYPES)}"
            diag.error(item.value_location("type"), f"unknown question type '{kind}'{hint}")
        fields = FieldReader(item, schema.QUESTION_COMMON_KEYS, what, diag)
        if "id" in item:
            fields.get("id")
        return None
    keys = schema.QUESTION_COMMON_KEYS + schema.QUESTION_KEYS[kind]
    fields = FieldReader(item, keys, f"{what} ({kind})", diag)
    fields.check_keys()
    values = {key.name: fields.get(key.name) for key in keys if key.name != "type"}
    if kind == "multiple-choice" and fields.ok:
        _check_choices(item, diag)
    if kind == "cloze" and values.get("text") and _check_cloze_syntax(item, values["text"], diag):
        fields.ok = False
    elif kind == "cloze" and values.get("text") and not _has_cloze(values["text"]):
        fields.error(
            "text",
            "cloze text has no deletion: mark what to hide as {{c1::hidden text}}",
        )
    question = None
    if fields.ok:
        common = {"id": values.pop("id"), "explanation": values.pop("explanation"),
                  "allow": values.pop("allow"),
                  "location": item.value_location("id"),
                  "field_locations": FieldLocations(item)}  # fmt: skip
        if kind == "multiple-choice":
            question = MultipleChoice(**common, **values)
        elif kind == "true-false":
            question = TrueFalse(**common, **values)
        elif kind == "basic":
            question = Basic(**common, **values)
        else:
            question = Cloze(**common, **values)
    return question
