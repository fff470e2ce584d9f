"""Words of a question as the rules see them: Markdown marks stripped, lower case, stemmed."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_MARKS = re.compile(r"[*_`~]+|<[^<>]+>")  # not [^>]: a run of "<" would scan quadratically
_CLOZE = re.compile(r"\{\{c(\d+)::(.*?)(?:::(.*?))?\}\}", re.DOTALL)

STOP_WORDS = frozenset(
    (  # noqa: SIM905
        "a about above after again against all am an and any are as at be because been before "
        "being below between both but by can could did do does doing down during each few for "
        "from further had has have having he her here hers him his how i if in into is it its "
        "itself just me more most my no nor not now of off on once only or other our out over "
        "own same she should so some such than that the their them then there these they this "
        "those through to too under until up very was we were what when where which while who "
        "whom why will with would you your yours following statement statements true false "
        "best correct describes describe option options answer example one two given use used "
        "using uses"
    ).split()
)


def plain(text: str) -> str:
    """Text without Markdown emphasis, code marks and HTML tags, whitespace collapsed."""
    if _has_marks(text):
        text = _MARKS.sub("", text)
    return " ".join(text.split())


def _has_marks(text: str) -> bool:
    return "*" in text or "_" in text or "`" in text or "~" in text or "<" in text


@functools.lru_cache(maxsize=1 << 15)
def words(text: str) -> tuple[str, ...]:
    """The words of ``text``, lower case (apostrophes kept: "can't")."""
    if "<" in text:  # Markdown marks are not word characters; HTML tags must go
        text = _MARKS.sub(" ", text)
    found = _WORD.findall(text.casefold())
    if "’" in text:
        return tuple(w.replace("’", "'") for w in found)
    return tuple(found)


@functools.lru_cache(maxsize=1 << 17)
def stem(word: str) -> str:
    """A light English stem, enough to match "caches" with "cache" and "stored" with "stores"."""
    if len(word) <= 4 or not word.isalpha():
        return word
    for suffix, replacement in (("ies", "y"), ("sses", "ss"), ("es", "e"), ("s", "")):
        if word.endswith(suffix) and not word.endswith(("ss", "us", "is")):
            return word[: -len(suffix)] + replacement
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


@functools.lru_cache(maxsize=1 << 15)
def content_stems(text: str) -> frozenset[str]:
    """Stems of the words that carry content: no stop words, three letters or more, or a number."""
    return frozenset(
        stem(w)
        for w in words(text)
        if w not in STOP_WORDS and (len(w) >= 3 or any(c.isdigit() for c in w))
    )


def cloze_deletions(text: str) -> list[tuple[str, str, str | None]]:
    """Each ``{{cN::answer::hint}}`` of ``text`` as (number, answer, hint)."""
    return [(m.group(1), m.group(2), m.group(3)) for m in _CLOZE.finditer(text)]


def cloze_card_text(text: str, number: str) -> str:
    """What card ``number`` shows of a cloze text: its own deletions hidden, the others open."""

    def show(match: re.Match[str]) -> str:
        return " … " if match.group(1) == number else match.group(2)

    return _CLOZE.sub(show, text)


def cloze_full_text(text: str) -> str:
    """The cloze text with every deletion open."""
    return _CLOZE.sub(lambda m: m.group(2), text)


def contains_phrase(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    """Whether the word sequence ``needle`` occurs in ``haystack``."""
    size = len(needle)
    if not size or size > len(haystack):
        return False
    first, needle = needle[0], list(needle)
    haystack = list(haystack)
    return any(
        haystack[i] == first and haystack[i : i + size] == needle
        for i in range(len(haystack) - size + 1)
    )
