"""Question-quality rules: item-writing flaws that let students answer without knowing.

Grounded in Haladyna, Downing & Rodriguez (2002), "A review of multiple-choice item-writing
guidelines for classroom assessment", and the item-writing-flaw rubric that Moore et al.
automated with rule-based checks (see docs/quality.md for each rule and its source).

Two stages, so that ``flashgen check``, every build and the build cache's fast path report the
same warnings from one representation:

* :func:`concept_record` looks at one concept file alone and returns plain tuples (what
  :mod:`marshal` stores in the build cache): the findings of the one-question rules (already
  filtered by each question's ``allow:``) and a few *facts* per question for the course-wide
  rules;
* :func:`report` applies the course's ``quality:`` settings to those records and runs the
  course-wide rules (correct = longest rate, true/false balance, duplicates), in linear time.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from flashgen.course.model import Basic, Cloze, Concept, MultipleChoice, Question, TrueFalse
from flashgen.course.quality.registry import (
    DEFAULT_CONFIG,
    RULE_NAMES,
    RULES,
    QualityConfig,
    RuleSetting,
    level_problem,
    rule_hint,
)
from flashgen.course.quality.rules import correct_is_longest, correct_only_terms, question_findings
from flashgen.course.quality.text import cloze_full_text, content_stems, words
from flashgen.diagnostics import Diagnostics, Location, display_path

__all__ = [
    "DEFAULT_CONFIG",
    "RULES",
    "RULE_NAMES",
    "QualityConfig",
    "concept_record",
    "read_config",
    "report",
    "rule_hint",
]

#: A file's record: (findings, facts), plain tuples.
#: finding: (rule, line, column, message, measure)
#: fact: (question id, line, column, kind, allow, extra, exact key, shingles, terms)
QualityRecord = tuple[tuple[Any, ...], tuple[Any, ...]]

#: Below this many questions, no word counts as generic for ``word-clue``.
GENERIC_MIN_QUESTIONS = 20
#: Questions with more content words than this are compared for near duplicates whole only.
MAX_NEIGHBOURHOOD = 40


def concept_record(concept: Concept) -> QualityRecord:
    """What the quality rules need of one concept file (see the module docstring)."""
    findings = []
    facts = []
    for question in concept.questions:
        allowed = set(question.allow)  # and each rule once per question
        for rule, key, message, measure in question_findings(question):
            if rule not in allowed:
                allowed.add(rule)
                where = question.where(key)
                findings.append((rule, where.line, where.column, message, measure))
        facts.append(_facts(question))
    return tuple(findings), tuple(facts)


def _facts(question: Question) -> tuple[Any, ...]:
    extra: Any = None
    terms: Any = None
    if isinstance(question, MultipleChoice):
        longest = correct_is_longest(question)
        extra = None if longest is None else (len(question.choices), longest)
        text = question.question
        only, distractors = correct_only_terms(question)
        terms = (
            tuple((zlib.crc32(key.encode()), shown) for key, shown in only.items()),
            tuple(zlib.crc32(key.encode()) for key in distractors),
        )
    elif isinstance(question, TrueFalse):
        extra, text = question.answer, question.statement
    elif isinstance(question, Basic):
        text = question.front
    elif isinstance(question, Cloze):
        text = cloze_full_text(question.text)
    else:  # pragma: no cover - every kind is listed above
        text = ""
    joined = " ".join(words(text)).encode()
    exact = (zlib.crc32(joined) << 32) | zlib.adler32(joined)  # 64 bits: no collision in practice
    shingles = tuple(sorted([zlib.crc32(w.encode()) for w in content_stems(text)]))
    where = question.location
    return (
        question.id,
        where.line,
        where.column,
        question.kind,
        tuple(question.allow),
        extra,
        exact,
        shingles,
        terms,
    )


def read_config(value: Any, diag: Diagnostics, location: Location) -> QualityConfig | None:
    """course.yaml's ``quality:`` mapping: rule name -> level, or {level:, thresholds...}."""
    from flashgen.course.positions import YamlMap

    if value is None:
        return DEFAULT_CONFIG
    if not isinstance(value, YamlMap):
        diag.error(location, "'quality' must be a mapping of rule names to off, warning or error")
        return None
    settings: dict[str, RuleSetting] = {}
    ok = True
    for name, setting in value.items():
        if name not in RULES:
            diag.error(value.key_location(name), f"unknown quality rule '{name}'{rule_hint(name)}")
            ok = False
            continue
        rule = RULES[name]
        if not isinstance(setting, YamlMap):
            problem = level_problem(setting)
            if problem:
                diag.error(value.value_location(name), f"'{name}' {problem}")
                ok = False
                continue
            settings[name] = RuleSetting(setting, {})
            continue
        level, params = rule.level, {}
        for key, item in setting.items():
            if key == "level":
                problem = level_problem(item)
                if problem:
                    diag.error(setting.value_location(key), f"'level' {problem}")
                    ok = False
                else:
                    level = item
            elif key in rule.params:
                if isinstance(item, bool) or not isinstance(item, (int, float)) or item < 0:
                    diag.error(
                        setting.value_location(key),
                        f"'{key}' must be a number of at least 0, not {item!r}",
                    )
                    ok = False
                else:
                    params[key] = float(item)
            else:
                known = ["level", *rule.params]
                diag.error(
                    setting.key_location(key),
                    f"unknown setting '{key}' for rule '{name}'; it takes: {', '.join(known)}",
                )
                ok = False
        settings[name] = RuleSetting(level, params)
    return QualityConfig(settings) if ok else None


def report(
    config: QualityConfig,
    files: Iterable[tuple[Path, QualityRecord]],
    diag: Diagnostics,
    root: Path,
) -> None:
    """Apply ``config`` to each file's record and run the course-wide rules."""
    everything: list[tuple[Path, tuple[Any, ...]]] = []
    found: list[tuple[Path, tuple[Any, ...]]] = []
    for path, (findings, facts) in files:
        found.extend((path, finding) for finding in findings)
        everything.extend((path, fact) for fact in facts)
    generic = _generic_words(config, everything)
    for path, (rule, line, column, message, measure) in found:
        if rule == "word-clue":
            clues = [written for stem, written in measure if _crc(stem) not in generic]
            if not clues:
                continue
            message = message.format(clues=", ".join(f"'{w}'" for w in clues[:3]))
        if _passes(config, rule, measure):
            _emit(config, diag, rule, Location(path, line, column), message)
    _longest_rate(config, everything, diag)
    _correct_terms(config, everything, diag, root)
    _true_false_balance(config, everything, diag)
    _duplicates(config, everything, diag, root)


def _crc(word: str) -> int:
    return zlib.crc32(word.encode())


def _generic_words(config: QualityConfig, facts: Sequence[tuple[Path, Any]]) -> set[int]:
    """Content words in more than ``generic-share`` of the course's questions ("model" in a
    course on language models): repeating one of them is no clue."""
    share = config.param("word-clue", "generic-share")
    if len(facts) < GENERIC_MIN_QUESTIONS or share >= 1:
        return set()
    counts: dict[int, int] = {}
    for _, fact in facts:
        for word in fact[7]:
            counts[word] = counts.get(word, 0) + 1
    limit = share * len(facts)
    return {word for word, count in counts.items() if count > limit}


def _passes(config: QualityConfig, rule: str, measure: tuple[float, ...]) -> bool:
    if config.level(rule) == "off":
        return False
    if rule == "longest-correct":
        ratio, margin = measure
        return ratio >= config.param(rule, "ratio") and margin >= config.param(rule, "margin")
    return True


def _emit(config: QualityConfig, diag: Diagnostics, rule: str, where: Location, text: str) -> None:
    level = config.level(rule)
    if level != "off":
        diag.add(where, level, text, rule)


def _where(path: Path, fact: tuple[Any, ...]) -> Location:
    return Location(path, fact[1], fact[2])


# --- Course-wide ---------------------------------------------------------------------------


def _longest_rate(config: QualityConfig, facts: Sequence[tuple[Path, Any]], diag: Diagnostics):
    rule = "longest-correct-rate"
    if config.level(rule) == "off":
        return
    count = longest = 0
    expected = variance = 0.0
    chances: list[float] = []
    first = None
    for path, fact in facts:
        if fact[3] != "multiple-choice" or fact[5] is None or rule in fact[4]:
            continue
        choices, is_longest = fact[5]
        chance = 1 / choices
        count += 1
        chances.append(chance)
        expected += chance
        variance += chance * (1 - chance)
        if is_longest:
            longest += 1
            first = first or (path, fact)
    if count < config.param(rule, "min-questions") or first is None:
        return
    p_value = _upper_tail(longest, chances, expected, variance)
    if p_value < config.param(rule, "p-value"):
        message = (
            f"in {longest} of {count} multiple-choice questions of the course the correct option "
            f"is the longest (chance: about {expected:.1f}; p = {p_value:.2g}): students learn to "
            "pick the longest; this is the first of them"
        )
        _emit(config, diag, rule, _where(*first), message)


def _correct_terms(
    config: QualityConfig, facts: Sequence[tuple[Path, Any]], diag: Diagnostics, root: Path
) -> None:
    rule = "correct-option-term"
    if config.level(rule) == "off":
        return
    correct_only: dict[int, list[int]] = {}
    shown: dict[int, str] = {}
    in_distractors: dict[int, int] = {}
    for index, (_, fact) in enumerate(facts):
        if fact[8] is None or rule in fact[4]:
            continue
        only, distractors = fact[8]
        for key, text in only:
            correct_only.setdefault(key, []).append(index)
            shown.setdefault(key, text)
        for key in distractors:  # in a distractor (and maybe in the correct option too)
            in_distractors[key] = in_distractors.get(key, 0) + 1
    least = config.param(rule, "min-questions")
    reported: set[int] = set()
    for key, questions in correct_only.items():
        if len(questions) < least or in_distractors.get(key, 0) > len(questions) // 3:
            continue
        if any(index in reported for index in questions):
            continue  # one warning per group of questions ("kv" within "kv cache")
        reported.update(questions)
        path, fact = facts[questions[0]]
        others = ", ".join(
            f"{display_path(facts[i][0], root)}:{facts[i][1][1]}" for i in questions[1:4]
        )
        message = (
            f"'{shown[key]}' is in the correct option of {len(questions)} questions and in "
            f"none of their other options (this one, {others}"
            f"{', ...' if len(questions) > 4 else ''}): students learn to pick it; use it in "
            "some distractors too"
        )
        _emit(config, diag, rule, _where(path, fact), message)


def _upper_tail(k: int, chances: list[float], mean: float, variance: float) -> float:
    """P(X >= k) for a sum of independent Bernoulli(chance) variables."""
    if len(chances) <= 400:
        dist = [1.0]
        for p in chances:
            nxt = [0.0] * (len(dist) + 1)
            for i, value in enumerate(dist):
                nxt[i] += value * (1 - p)
                nxt[i + 1] += value * p
            dist = nxt
        return min(1.0, sum(dist[k:]))
    if variance <= 0:
        return 0.0 if k > mean else 1.0
    z = (k - 0.5 - mean) / math.sqrt(variance)
    return 0.5 * math.erfc(z / math.sqrt(2))


def _true_false_balance(
    config: QualityConfig, facts: Sequence[tuple[Path, Any]], diag: Diagnostics
) -> None:
    rule = "true-false-balance"
    if config.level(rule) == "off":
        return
    answers = [
        (path, fact) for path, fact in facts if fact[3] == "true-false" and rule not in fact[4]
    ]
    count = len(answers)
    trues = sum(1 for _, fact in answers if fact[5])
    if count < config.param(rule, "min-questions") or count == 0:
        return
    majority = trues * 2 >= count
    k = max(trues, count - trues)
    p_value = min(1.0, 2 * _upper_tail(k, [0.5] * count, count / 2, count / 4))
    if p_value < config.param(rule, "p-value"):
        word = "true" if majority else "false"
        other = "false" if majority else "true"
        first = next(item for item in answers if bool(item[1][5]) == majority)
        message = (
            f"{k} of {count} true-false answers of the course are {word} (p = {p_value:.2g}): "
            f"students who always answer '{word}' score {100 * k // count} %; write more "
            f"{other} statements; this is the first {word} one"
        )
        _emit(config, diag, rule, _where(*first), message)


def _duplicates(
    config: QualityConfig, facts: Sequence[tuple[Path, Any]], diag: Diagnostics, root: Path
) -> None:
    exact_rule, near_rule = "duplicate-question", "near-duplicate-question"
    exact_on = config.level(exact_rule) != "off"
    near_on = config.level(near_rule) != "off"
    if not exact_on and not near_on:
        return

    def name(index: int) -> str:
        path, fact = facts[index]
        return f"'{fact[0]}' ({display_path(path, root)}:{fact[1]})"

    first_with: dict[str, int] = {}
    exact_of: list[int | None] = []
    for index, (path, fact) in enumerate(facts):
        earlier = first_with.setdefault(fact[6], index)
        same = earlier if earlier != index else None
        exact_of.append(same)
        if same is not None and exact_on and not _allows(exact_rule, fact, facts[same][1]):
            message = f"the same text as question {name(same)}: drill each fact once"
            _emit(config, diag, exact_rule, _where(path, fact), message)
    if not near_on:
        return
    threshold = config.param(near_rule, "similarity")
    # By the key's hash, not the key: a course's keys as tuples were its largest transient
    # memory, and a rare collision only adds a candidate that the similarity check rejects.
    first_with_key: dict[int, int] = {}
    for index, (path, fact) in enumerate(facts):
        mine = fact[7]
        if not mine:
            continue
        candidates = []
        for key in _neighbourhood(mine):
            earlier = first_with_key.setdefault(hash(key), index)
            if earlier != index:
                candidates.append(earlier)
        if exact_of[index] is not None or not candidates:
            continue
        best, best_similarity = None, 0.0
        for other in candidates:
            similarity = _jaccard(mine, facts[other][1][7])
            if similarity >= threshold and similarity > best_similarity:
                best, best_similarity = other, similarity
        if best is not None and not _allows(near_rule, fact, facts[best][1]):
            message = (
                f"nearly the same text as question {name(best)} "
                f"({100 * best_similarity:.0f} % of its content words shared): drill each fact "
                "once, or make the two ask different things"
            )
            _emit(config, diag, near_rule, _where(path, fact), message)


def _neighbourhood(words: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The (sorted) set of content words, and the set with each one word left out.

    Two questions whose content words differ by one word added, removed or replaced share one
    of these keys, so near duplicates are found by hashing, in linear time, without comparing
    every pair of questions (a course may hold 50,000).
    """
    if len(words) > MAX_NEIGHBOURHOOD:
        return [words]
    return [words, *(words[:i] + words[i + 1 :] for i in range(len(words)))]


def _jaccard(first: tuple[int, ...], second: tuple[int, ...]) -> float:
    a, b = set(first), set(second)
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


def _allows(rule: str, *facts: tuple[Any, ...]) -> bool:
    return any(rule in fact[4] for fact in facts)
