"""The question-quality rules: names, default levels, thresholds and sources, in one table.

The reader validates ``allow:`` lists and the ``quality:`` section of course.yaml against this
table; docs/quality.md describes each rule with a bad and a good example (a test keeps the two
in step).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Level = Literal["off", "warning", "error"]
LEVELS: tuple[Level, ...] = ("off", "warning", "error")


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    level: Level
    #: Where the rule comes from: Haladyna, Downing & Rodriguez (2002) guideline numbers
    #: ("HDR 28b") and the criterion of the 19-flaw rubric of Moore et al. (2023) ("IWF: ...").
    source: str
    summary: str
    #: Thresholds a course may set, with their defaults.
    params: Mapping[str, float] = field(default_factory=dict)


RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        Rule(
            "longest-correct",
            "warning",
            "HDR 24 (choices about equal in length), 28d; IWF: longest answer correct",
            "the correct option is markedly longer than every distractor",
            {"ratio": 1.5, "margin": 10},
        ),
        Rule(
            "longest-correct-rate",
            "warning",
            "HDR 24, and 20 (vary the position of the right answer); IWF: longest answer correct",
            "across the course, the correct option is the longest far more often than chance",
            {"p-value": 0.01, "min-questions": 8},
        ),
        Rule(
            "word-clue",
            "warning",
            "HDR 28b (clang associations); IWF: word repeats",
            "the correct option repeats a stem word that no distractor uses",
            {"generic-share": 0.1},
        ),
        Rule(
            "correct-option-term",
            "warning",
            "HDR 28b, 28d (clues across items); IWF: word repeats",
            "a term recurs in the correct options of several questions and not in their "
            "distractors",
            {"min-questions": 3},
        ),
        Rule(
            "grammar-article",
            "warning",
            "HDR 28c (grammatical inconsistencies), 12; IWF: grammatical cues",
            "'a'/'an' before the blank fits some options and not others",
        ),
        Rule(
            "grammar-number",
            "off",
            "HDR 28c, 12; IWF: grammatical cues",
            "'is'/'are' before the blank agrees with some options and not others",
        ),
        Rule(
            "all-of-the-above",
            "warning",
            "HDR 26 (avoid all-of-the-above); IWF: all of the above",
            "an option is 'all of the above'",
        ),
        Rule(
            "none-of-the-above",
            "warning",
            "HDR 25 (use none-of-the-above carefully); IWF: none of the above",
            "an option is 'none of the above'",
        ),
        Rule(
            "combined-options",
            "warning",
            "HDR 9 (avoid the complex, type K, format); IWF: complex or K-type",
            "an option combines others ('both A and B', 'A and C')",
        ),
        Rule(
            "absolute-terms",
            "warning",
            "HDR 28a (specific determiners); IWF: absolute terms",
            "absolute terms (always, never, only, all) appear in the distractors only",
        ),
        Rule(
            "hedged-correct",
            "warning",
            "HDR 28a, 28d (conspicuous correct choice); IWF: vague terms",
            "hedges (usually, often, may, can) appear in the correct option only",
        ),
        Rule(
            "negative-stem",
            "warning",
            "HDR 17 (word the stem positively; capitalise and bold a negative); IWF: negative",
            "the stem says not, except or false without emphasis",
        ),
        Rule(
            "overlapping-options",
            "warning",
            "HDR 22 (keep choices independent, not overlapping); IWF: convergence cues",
            "one option contains another, or numeric ranges overlap",
        ),
        Rule(
            "duplicate-question",
            "warning",
            "HDR 4 (keep items independent of each other)",
            "the same stem, statement, front or cloze text appears twice in the course",
        ),
        Rule(
            "near-duplicate-question",
            "warning",
            "HDR 4 (keep items independent of each other)",
            "two questions share nearly all their content words",
            {"similarity": 0.75},
        ),
        Rule(
            "true-false-balance",
            "warning",
            "HDR 20 (vary the position of the right answer), for true-false; Frisbie & Becker 1991",
            "across the course, far more true-false answers are true than false (or the reverse)",
            {"p-value": 0.01, "min-questions": 10},
        ),
        Rule(
            "double-negative",
            "warning",
            "HDR 17 (avoid negatives); Frisbie & Becker (1991)",
            "a true-false statement holds two negations",
        ),
        Rule(
            "two-claims",
            "warning",
            "HDR 1 (one specific content point per item); Frisbie & Becker (1991)",
            "a true-false statement joins two claims ('because', ';', ', and')",
        ),
        Rule(
            "cloze-answer-visible",
            "warning",
            "HDR 28 (avoid clues to the right answer), for cloze deletions",
            "a deletion's answer is still visible elsewhere in the text of its card",
        ),
        Rule(
            "cloze-hint-gives-answer",
            "warning",
            "HDR 28 (avoid clues to the right answer), for cloze hints",
            "a cloze hint contains the answer or most of it",
        ),
    )
}

RULE_NAMES: tuple[str, ...] = tuple(RULES)


def rule_hint(name: str) -> str:
    """`` ; did you mean 'x'?`` for an unknown rule name, or the list of rules."""
    match = difflib.get_close_matches(name, RULE_NAMES, n=1, cutoff=0.6)
    if match:
        return f"; did you mean '{match[0]}'?"
    return "; rules are: " + ", ".join(RULE_NAMES)


@dataclass(frozen=True, slots=True)
class RuleSetting:
    level: Level
    params: Mapping[str, float]


@dataclass(frozen=True)
class QualityConfig:
    """Each rule's level and thresholds for one course (course.yaml ``quality:``)."""

    settings: Mapping[str, RuleSetting] = field(default_factory=dict)

    def level(self, rule: str) -> Level:
        setting = self.settings.get(rule)
        return setting.level if setting else RULES[rule].level

    def param(self, rule: str, name: str) -> float:
        setting = self.settings.get(rule)
        if setting and name in setting.params:
            return setting.params[name]
        return RULES[rule].params[name]


DEFAULT_CONFIG = QualityConfig()


def level_problem(value: Any) -> str:
    if isinstance(value, str) and value in LEVELS:
        return ""
    if isinstance(value, bool):
        return f"must be off, warning or error, not {str(value).lower()} (write off, unquoted)"
    return f"must be off, warning or error, not {value!r}"
