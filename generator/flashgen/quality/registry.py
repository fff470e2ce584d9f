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
    #: ("HDR 27") and the item-writing-flaw rubric of Moore et al. ("IWF: longest answer").
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
            "HDR 23 (keep choices about equal in length); IWF: longest answer is correct",
            "the correct option is markedly longer than every distractor",
            {"ratio": 1.5, "margin": 10},
        ),
        Rule(
            "longest-correct-rate",
            "warning",
            "HDR 23; IWF: longest answer is correct (across the test)",
            "across the course, the correct option is the longest far more often than chance",
            {"p-value": 0.01, "min-questions": 8},
        ),
        Rule(
            "word-clue",
            "warning",
            "HDR 31c (avoid clang associations); IWF: word repeats in stem and correct answer",
            "the correct option repeats a stem word that no distractor uses",
        ),
        Rule(
            "grammar-article",
            "warning",
            "HDR 31b (avoid grammatical inconsistencies); IWF: grammatical cues",
            "'a'/'an' before the blank fits some options and not others",
        ),
        Rule(
            "grammar-number",
            "off",
            "HDR 31b; IWF: grammatical cues (singular/plural)",
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
            "HDR 24 (avoid complex multiple-choice formats); IWF: complex or K-type",
            "an option combines others ('both A and B', 'A and C')",
        ),
        Rule(
            "absolute-terms",
            "warning",
            "HDR 31a (avoid specific determiners); IWF: absolute terms",
            "absolute terms (always, never, only, all) appear in the distractors only",
        ),
        Rule(
            "hedged-correct",
            "warning",
            "HDR 31a; IWF: vague terms",
            "hedges (usually, often, may, can) appear in the correct option only",
        ),
        Rule(
            "negative-stem",
            "warning",
            "HDR 17 (word the stem positively; emphasise a negative); IWF: negatively worded stem",
            "the stem says not, except or false without emphasis",
        ),
        Rule(
            "overlapping-options",
            "warning",
            "HDR 21 (keep choices independent, not overlapping); IWF: overlapping options",
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
            "HDR 22 (balance the key); Frisbie & Becker (1991) on true-false items",
            "across the course, far more true-false answers are true than false (or the reverse)",
            {"p-value": 0.01, "min-questions": 10},
        ),
        Rule(
            "double-negative",
            "warning",
            "HDR 17; Frisbie & Becker (1991): avoid double negatives",
            "a true-false statement holds two negations",
        ),
        Rule(
            "two-claims",
            "warning",
            "HDR 1 (one content point per item); Frisbie & Becker (1991): one idea per statement",
            "a true-false statement joins two claims ('because', ';', ', and')",
        ),
        Rule(
            "cloze-answer-visible",
            "warning",
            "HDR 31 (no cues to the answer), applied to cloze deletions",
            "a deletion's answer is still visible elsewhere in the text of its card",
        ),
        Rule(
            "cloze-hint-gives-answer",
            "warning",
            "HDR 31 (no cues to the answer), applied to cloze hints",
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
