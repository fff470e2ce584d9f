"""The rules that need one question only: each yields (rule, key, message, measure).

``key`` names the question's key the finding points at (its line and column); ``measure`` is
the numbers a course threshold compares with (``longest-correct``: the length ratio and
difference), else ``()``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from flashgen.course.model import Cloze, MultipleChoice, Question, TrueFalse
from flashgen.course.quality.text import (
    STOP_WORDS,
    cloze_card_text,
    cloze_deletions,
    contains_phrase,
    content_stems,
    plain,
    stem,
    words,
)

Finding = tuple[str, str, str, tuple[float, ...]]

ABSOLUTES = frozenset(
    (  # noqa: SIM905
        "always never only all none every everything nothing entirely completely impossible "
        "guarantees guaranteed"
    ).split()
)
HEDGES = frozenset(
    (  # noqa: SIM905
        "usually often may might can could sometimes generally typically tends tend likely "
        "frequently mostly probably"
    ).split()
)
NEGATIVES = frozenset(
    (  # noqa: SIM905
        "not except false incorrect cannot"
    ).split()
)
_NEGATIVE_RAW = re.compile(
    r"(\*\*|__|\*|_|<b>|<strong>|<em>|<i>)?\b(not|except|false|incorrect|cannot|\w+n't)\b",
    re.IGNORECASE,
)
TF_NEGATIONS = frozenset(
    (  # noqa: SIM905
        "not no never none nothing neither nor cannot without nobody nowhere unable impossible "
        "incorrect untrue invalid"
    ).split()
)

_ALL_ABOVE = re.compile(r"\ball\s+(?:of\s+)?(?:the\s+)?(?:above|these|those|of\s+them)\b", re.I)
_NONE_ABOVE = re.compile(
    r"\b(?:none\s+of\s+(?:the\s+)?(?:above|these|those|them)|neither\s+of\s+(?:these|them|the))",
    re.I,
)
_COMBINED = re.compile(
    r"^\s*(?:both\s+)?\(?[A-Ea-e1-5]\)?\s*(?:,\s*\(?[A-Ea-e1-5]\)?\s*)*(?:and|&)\s*\(?[A-Ea-e1-5]\)?"
    r"\s*(?:only|above)?\s*\.?\s*$|\bboth\s+(?:of\s+)?(?:the\s+)?(?:above|these)\b",
    re.I,
)
_LETTER_ONLY = re.compile(r"\W*\(?[A-Ea-e1-5]\)?\s+only\W*")
_BLANK = r"(?:_{2,}|…|\.{3}|\[blank\])"
_ARTICLE = re.compile(rf"\b(a|an)\s*(?:{_BLANK}\s*[^\w\s]*\s*$|[:?]?\s*$)", re.I)
_ARTICLE_MID = re.compile(rf"\b(a|an)\s+{_BLANK}", re.I)
_NUMBER_VERB = re.compile(rf"\b(is|are|was|were)\s*(?:{_BLANK})?\s*[:?]?\s*$", re.I)
_NUMBER = r"(-?\d[\d,]*(?:\.\d+)?)"
_RANGE = re.compile(
    rf"(?:between\s+{_NUMBER}\s*and\s*{_NUMBER}|{_NUMBER}\s*(?:-|–|—|to)\s*{_NUMBER})", re.I
)
_MATH = re.compile(r"\$[^$]+\$")
_MATH_MARKUP = re.compile(r"\\[A-Za-z]+|[{}^_$\\]")
_CLAIMS = re.compile(
    r";|\bbecause\b|\bsince\b|\btherefore\b|,\s*(?:and|but|while|whereas|so)\s|\bwhereas\b"
    r"|\b(?:and|but)\s+(?:it|they|this|these|its|their)\s",
    re.I,
)
_VOWEL_SOUND_EXCEPTIONS = ("hour", "honest", "heir", "honou")
_CONSONANT_SOUND_EXCEPTIONS = ("uni", "use", "usu", "one", "once", "eu", "ur")


def question_findings(question: Question) -> Iterator[Finding]:
    if isinstance(question, MultipleChoice):
        yield from _multiple_choice(question)
    elif isinstance(question, TrueFalse):
        yield from _true_false(question)
    elif isinstance(question, Cloze):
        yield from _cloze(question)


# --- Multiple choice ----------------------------------------------------------------------


def _multiple_choice(q: MultipleChoice) -> Iterator[Finding]:
    yield from _longest(q)
    yield from _word_clue(q)
    yield from _article(q)
    yield from _number(q)
    for key in ("correct", "distractors"):
        for option in getattr(q, key):
            if not _may_be_catch_all(option):
                continue
            if _ALL_ABOVE.search(option):
                yield ("all-of-the-above", key, _quoted(option) + _ABOVE_ADVICE, ())
            if _NONE_ABOVE.search(option):
                yield ("none-of-the-above", key, _quoted(option) + _NONE_ADVICE, ())
            if _COMBINED.search(option):
                yield ("combined-options", key, _quoted(option) + _COMBINED_ADVICE, ())
    yield from _absolutes_and_hedges(q)
    yield from _negative_stem(q)
    yield from _overlaps(q)


_ABOVE_ADVICE = (
    " is 'all of the above': spotting two true options gives it away; write a distractor instead"
)
_NONE_ADVICE = (
    " is 'none of the above': it tests what is wrong, not what is right; "
    "write a plausible distractor instead"
)
_COMBINED_ADVICE = (
    " combines other options: it tests logic, not knowledge; ask for one answer, or make it a "
    "multiple-answer question"
)


def _quoted(option: str) -> str:
    text = plain(option)
    return f"option '{text if len(text) <= 40 else text[:37] + '...'}'"


def _longest(q: MultipleChoice) -> Iterator[Finding]:
    if len(q.correct) != 1 or not q.distractors or is_catch_all(q.correct[0]):
        return
    correct = visible_length(q.correct[0])
    longest = max(visible_length(d) for d in q.distractors)
    if longest and correct > longest:
        ratio = correct / longest
        message = (
            f"the correct option is {ratio:.1f} times as long as the longest distractor "
            f"({correct} against {longest} characters): students pick the longest; "
            "shorten it or lengthen the distractors"
        )
        yield ("longest-correct", "correct", message, (ratio, correct - longest))


def correct_is_longest(q: MultipleChoice) -> bool | None:
    """Whether the single correct option is strictly the longest (``None``: several correct)."""
    if len(q.correct) != 1 or not q.distractors:
        return None
    return visible_length(q.correct[0]) > max(visible_length(d) for d in q.distractors)


def _word_clue(q: MultipleChoice) -> Iterator[Finding]:
    stem_words = content_stems(q.question)
    shared: set[str] = set()
    for option in q.correct:
        shared |= stem_words & content_stems(option)
    for option in q.distractors:
        if not shared:
            return
        shared -= content_stems(option)
    clues = sorted(shared)
    if clues:
        written = {stem(w): w for c in q.correct for w in reversed(words(c))}
        yield (
            "word-clue",
            "correct",
            WORD_CLUE_MESSAGE,
            tuple((clue, written.get(clue, clue)) for clue in clues),
        )


#: ``{clues}``: the words, filled in once the course says which words are not generic.
WORD_CLUE_MESSAGE = (
    "the correct option repeats {clues} from the stem and no distractor does: "
    "use the word in some distractors too, or rephrase"
)


def option_terms(text: str) -> dict[str, str]:
    """The terms of an option: pairs of adjacent non-stop words, stemmed ("kv cache"), each
    with the words as written. (Single words recur by coincidence, in other senses.)"""
    found: dict[str, str] = {}
    previous = None
    for word in words(text):
        if word in STOP_WORDS:
            previous = None
            continue
        key = stem(word)
        if previous is not None:
            found.setdefault(f"{previous[0]} {key}", f"{previous[1]} {word}")
        previous = (key, word)
    return found


def correct_only_terms(q: MultipleChoice) -> tuple[dict[str, str], set[str]]:
    """Terms of the correct options that neither the stem nor a distractor uses, and the terms
    of the distractors."""
    correct: dict[str, str] = {}
    for option in q.correct:
        correct.update(option_terms(option))
    distractors: set[str] = set()
    for option in q.distractors:
        distractors.update(option_terms(option))
    hidden = distractors | set(option_terms(q.question))
    return {k: v for k, v in correct.items() if k not in hidden}, distractors


def _starts_with_vowel_sound(option: str) -> bool | None:
    ws = words(option)
    if not ws:
        return None
    word = ws[0]
    if word.startswith(_VOWEL_SOUND_EXCEPTIONS):
        return True
    if word.startswith(_CONSONANT_SOUND_EXCEPTIONS):
        return False
    if word.isdigit():
        return word.startswith(("8", "11", "18"))
    return word[0] in "aeiou"


def _article(q: MultipleChoice) -> Iterator[Finding]:
    stem_text = plain(q.question)
    match = _ARTICLE_MID.search(stem_text) or _ARTICLE.search(stem_text)
    if not match:
        return
    article = match.group(1).lower()
    wants_vowel = article == "an"

    def fits(option: str) -> bool:
        sound = _starts_with_vowel_sound(option)
        return sound is None or sound == wants_vowel or words(option)[0] in ("a", "an", "the")

    misfits = [d for d in q.distractors if not fits(d)]
    if not all(fits(c) for c in q.correct):
        yield (
            "grammar-article",
            "correct",
            f"'{article}' before the blank does not fit the correct option: "
            "students rule it out; write 'a(n)' or move the article into the options",
            (),
        )
    elif misfits:
        yield (
            "grammar-article",
            "question",
            f"'{article}' before the blank rules out {len(misfits)} of the "
            f"{len(q.distractors)} distractors ({_quoted(misfits[0])}); write 'a(n)' or "
            "move the article into the options",
            (),
        )


def _is_plural(option: str) -> bool | None:
    ws = words(option)
    if not ws:
        return None
    if ws[0] in ("a", "an", "one", "each", "every"):
        return False
    if "and" in ws:
        return True
    last = ws[-1]
    return last.isalpha() and last.endswith("s") and not last.endswith(("ss", "us", "is"))


def _number(q: MultipleChoice) -> Iterator[Finding]:
    match = _NUMBER_VERB.search(plain(q.question))
    if not match:
        return
    plural = match.group(1).lower() in ("are", "were")
    misfits = [d for d in q.distractors if _is_plural(d) not in (None, plural)]
    if all(_is_plural(c) in (None, plural) for c in q.correct) and misfits:
        yield (
            "grammar-number",
            "question",
            f"'{match.group(1)}' before the answer agrees with the correct option but not with "
            f"{_quoted(misfits[0])}: make every option agree with the stem",
            (),
        )


def _absolutes_and_hedges(q: MultipleChoice) -> Iterator[Finding]:
    stem_words = set(words(q.question))

    def terms(option: str, vocabulary: frozenset[str]) -> set[str]:
        return (set(words(option)) & vocabulary) - stem_words

    correct_abs = set().union(*(terms(c, ABSOLUTES) for c in q.correct if not is_catch_all(c)))
    absolute = [terms(d, ABSOLUTES) for d in q.distractors if not is_catch_all(d)]
    with_absolutes = [t for t in absolute if t]
    if not correct_abs and with_absolutes and len(with_absolutes) * 2 >= len(q.distractors):
        shown = ", ".join(f"'{w}'" for w in sorted(set().union(*with_absolutes))[:3])
        yield (
            "absolute-terms",
            "distractors",
            f"{len(with_absolutes)} of {len(q.distractors)} distractors use absolute terms "
            f"({shown}) and the correct option none: test-wise students rule them out",
            (),
        )
    correct_hedges = set().union(*(terms(c, HEDGES) for c in q.correct))
    if correct_hedges and not any(terms(d, HEDGES) for d in q.distractors):
        shown = ", ".join(f"'{w}'" for w in sorted(correct_hedges)[:3])
        yield (
            "hedged-correct",
            "correct",
            f"only the correct option is hedged ({shown}): qualify some distractors too, "
            "or state the answer plainly",
            (),
        )


def _negative_stem(q: MultipleChoice) -> Iterator[Finding]:
    lower = q.question.lower()
    if not any(word in lower for word in ("not", "except", "false", "incorrect", "n't")):
        return
    for match in _NEGATIVE_RAW.finditer(q.question):
        word = match.group(2)
        if match.group(1) or (word.isupper() and len(word) > 1):
            continue
        before = q.question[: match.start(2)].rstrip().lower()
        after = q.question[match.end(2) :].lstrip().lower()
        if before.endswith(("but", "and")) or after.startswith("only"):
            continue  # "found in plants but not in animals", "not only": not a negative stem
        yield (
            "negative-stem",
            "question",
            f"negative stem ('{word}') without emphasis: students overlook it; ask positively, "
            f"or write **{word.upper()}**",
            (),
        )
        return


def _alphabetic(stems: frozenset[str]) -> set[str]:
    return {w for w in stems if w.isalpha()}


def _ranges(option: str) -> tuple[float, float] | None:
    match = _RANGE.fullmatch(plain(option).strip().rstrip(".%").strip())
    if not match:
        return None
    found = [g for g in match.groups() if g is not None]
    low, high = (float(g.replace(",", "")) for g in found)
    return (low, high) if low <= high else None


def _may_be_catch_all(option: str) -> bool:
    """A quick test before the regular expressions: most options hold none of these words."""
    lower = option.lower()
    return (
        "above" in lower
        or "th" in lower  # these, those, them
        or "neither" in lower
        or "both" in lower
        or "and" in lower
        or "&" in lower
        or "only" in lower
    )


@functools.lru_cache(maxsize=1 << 15)
def visible_length(text: str) -> int:
    """About how many characters ``text`` shows: math counted without its markup."""
    if "$" in text:
        text = _MATH.sub(lambda m: _MATH_MARKUP.sub("", m.group(0)), text)
    return len(plain(text))


def _option_words(option: str) -> list[str]:
    """Words of an option, each formula one word (so that $O(n)$ is not inside $O(n^2)$)."""
    if "$" not in option:
        return list(words(option))
    formulas = [" ".join(m.group(0).split()) for m in _MATH.finditer(option)]
    return [*words(_MATH.sub(" ", option)), *formulas]


@functools.lru_cache(maxsize=1 << 15)
def is_catch_all(option: str) -> bool:
    """'All of the above', 'none of these', 'both A and B': options reported on their own."""
    return _may_be_catch_all(option) and bool(
        _ALL_ABOVE.search(option)
        or _NONE_ABOVE.search(option)
        or _COMBINED.search(option)
        or _LETTER_ONLY.fullmatch(option)
    )


def _overlaps(q: MultipleChoice) -> Iterator[Finding]:
    options = list(q.choices)
    tokens = [[] if is_catch_all(o) else _option_words(o) for o in options]
    joined = [f" {' '.join(t)} " for t in tokens]
    content = [
        _alphabetic(content_stems(o)) if 0 < len(tokens[i]) <= 8 else set()
        for i, o in enumerate(options)
    ]
    ranges = [
        _ranges(o) if o[:1].isdigit() or o[:8].lower() == "between " else None for o in options
    ]
    for i, first in enumerate(options):
        for j in range(len(options)):
            if i == j or not tokens[i] or not tokens[j] or len(tokens[i]) >= len(tokens[j]):
                continue
            if joined[i] in joined[j] or (0 < len(content[i]) <= 3 and content[i] < content[j]):
                key = "correct" if options[j] in q.correct else "distractors"
                yield (
                    "overlapping-options",
                    key,
                    f"{_quoted(options[j])} contains {_quoted(first)}: if one is right the "
                    "other is too; make the options exclude each other",
                    (),
                )
                return
    for i, first_range in enumerate(ranges):
        for j in range(i + 1, len(ranges)):
            second = ranges[j]
            if first_range and second and first_range[0] < second[1] and second[0] < first_range[1]:
                yield (
                    "overlapping-options",
                    "distractors",
                    f"the ranges {_quoted(options[i])} and {_quoted(options[j])} overlap: "
                    "make them exclude each other",
                    (),
                )
                return


# --- True or false -------------------------------------------------------------------------


def _true_false(q: TrueFalse) -> Iterator[Finding]:
    negations: list[str] = []
    for word in words(q.statement):
        # "without" negates only after another negation ("not ... without"); "Without a mask,
        # it cannot ..." is a plain condition.
        if (word in TF_NEGATIONS and (word != "without" or negations)) or word.endswith("n't"):
            negations.append(word)
    if len(negations) >= 2:
        shown = " ... ".join(f"'{w}'" for w in negations[:2])
        yield (
            "double-negative",
            "statement",
            f"double negative ({shown}): state it positively",
            (),
        )
    match = _CLAIMS.search(plain(q.statement))
    if match:
        joint = match.group(0).strip(" ,") or ";"
        yield (
            "two-claims",
            "statement",
            f"the statement joins two claims ('{joint}'): if one half is false the item is "
            "ambiguous; split it into two statements",
            (),
        )


# --- Cloze ----------------------------------------------------------------------------------


def _cloze(q: Cloze) -> Iterator[Finding]:
    deletions = cloze_deletions(q.text)
    for number, answer, hint in deletions:
        answer_words = words(answer)
        if not answer_words:
            continue
        shown = plain(answer)
        visible = words(cloze_card_text(q.text, number))
        significant = [w for w in answer_words if len(w) >= 3]
        if significant and (
            contains_phrase(visible, answer_words)
            or (len(answer_words) == 1 and stem(answer_words[0]) in {stem(w) for w in visible})
        ):
            yield (
                "cloze-answer-visible",
                "text",
                f"the answer of c{number} ('{shown}') is visible elsewhere on its card: "
                "hide it there too (same cN) or rephrase",
                (),
            )
        if hint and _hint_gives_away(hint, answer_words):
            yield (
                "cloze-hint-gives-answer",
                "text",
                f"the hint of c{number} ('{plain(hint)}') gives the answer '{shown}' away: "
                "hint at the kind of answer, not the answer",
                (),
            )


def _hint_gives_away(hint: str, answer_words: list[str]) -> bool:
    hint_words = words(hint)
    if contains_phrase(hint_words, answer_words):
        return True
    spelled = "".join(answer_words)
    if len(spelled) >= 3 and spelled in "".join(hint_words):  # "N-i-l-e"
        return True
    content = [w for w in answer_words if len(w) >= 3]
    if len(content) > 1:
        shared = sum(1 for w in content if stem(w) in {stem(h) for h in hint_words})
        return shared * 2 >= len(content)
    if len(content) == 1:
        word = content[0]
        needed = max(4, int(len(word) * 0.5 + 0.5))
        return any(_common_prefix(word, h) >= min(needed, len(word)) for h in hint_words)
    return False


def _common_prefix(a: str, b: str) -> int:
    size = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        size += 1
    return size
