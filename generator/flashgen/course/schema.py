"""The keys instructors may write, in one table.

The reader validates against this table and ``flashgen schema`` turns it into JSON Schema for
editors, so the format documentation, the checks and editor completion cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ValueType = Literal[
    "id", "text", "markdown", "boolean", "id-list", "tag-list", "text-list", "answers",
    "chapters", "questions", "rule-list", "quality",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Key:
    name: str
    type: ValueType
    required: bool
    description: str


COURSE_KEYS: tuple[Key, ...] = (
    Key("id", "id", True, "Stable course id; every Anki id derives from it. Never change it."),
    Key("title", "text", True, "Course title; also the name of the top-level Anki deck."),
    Key("tags", "tag-list", False, "Tags added to every note of the course."),
    Key("chapters", "chapters", True, "The chapters, in teaching order."),
    Key(
        "quality",
        "quality",
        False,
        "Question-quality rules: rule name -> off, warning or error, or {level: ..., "
        "threshold: number} (docs/quality.md).",
    ),
)

CHAPTER_KEYS: tuple[Key, ...] = (
    Key("id", "id", True, "Chapter id that concept files name in `chapter:`."),
    Key("title", "text", True, "Chapter title; also the name of its Anki sub-deck."),
)

CONCEPT_KEYS: tuple[Key, ...] = (
    Key("id", "id", True, "Unique concept id; never derived from the file name. Never change it."),
    Key("title", "text", True, "Concept title, shown on the front of its concept card."),
    Key("chapter", "id", True, "Id of the chapter (from course.yaml) this concept belongs to."),
    Key(
        "prerequisites",
        "id-list",
        True,
        "Concepts to learn before this one ('Learn before'); [] marks a foundation concept.",
    ),
    Key("related", "id-list", False, "Related concepts, shown on the concept card."),
    Key("tags", "tag-list", False, "Tags added to this concept's notes."),
    Key("summary", "markdown", True, "What the concept says, in Markdown with $math$."),
    Key("questions", "questions", False, "Questions about the concept."),
)

QUESTION_COMMON_KEYS: tuple[Key, ...] = (
    Key("id", "id", True, "Question id, unique within the concept. Never change it."),
    Key("type", "text", True, "multiple-choice, true-false, basic or cloze."),
    Key(
        "allow",
        "rule-list",
        False,
        "Question-quality rules silenced for this question; say why in a comment.",
    ),
)

EXPLANATION = Key("explanation", "markdown", False, "Shown with the answer, in Markdown.")

QUESTION_KEYS: dict[str, tuple[Key, ...]] = {
    "multiple-choice": (
        Key("question", "markdown", True, "The question, in Markdown."),
        Key("correct", "answers", True, "The correct choice, or a list of correct choices."),
        Key("distractors", "text-list", True, "The wrong choices."),
        EXPLANATION,
    ),
    "true-false": (
        Key("statement", "markdown", True, "A statement that is true or false."),
        Key("answer", "boolean", True, "true or false (unquoted)."),
        EXPLANATION,
    ),
    "basic": (
        Key("front", "markdown", True, "The prompt, in Markdown."),
        Key("back", "markdown", True, "The answer, in Markdown."),
        EXPLANATION,
    ),
    "cloze": (
        Key("text", "markdown", True, "Text with {{c1::hidden parts}}, in Markdown."),
        EXPLANATION,
    ),
}

QUESTION_TYPES: tuple[str, ...] = tuple(QUESTION_KEYS)
