"""Anki searches that open exactly the cards of some concepts of a course.

Every note flashgen builds carries the tag ``concept::<id>`` and sits under the course's deck,
so ``"deck:Course" ("tag:concept::a" OR "tag:concept::b")`` finds a set of concepts' cards; the
deck keeps another course with a concept of the same id out. In Anki's search syntax ``*`` and
``_`` are wildcards and ``"`` and ``\\`` need escaping, which concept ids (``_``) and course
titles may contain, so every term is quoted and escaped (:func:`quote`).
"""

from __future__ import annotations

from collections.abc import Iterable


def escape(text: str) -> str:
    """Text matched literally by Anki's search: wildcards and quotes escaped."""
    return "".join("\\" + ch if ch in '\\"*_' else ch for ch in text)


def quote(term: str) -> str:
    """One search term (``deck:...``, ``tag:...``) in double quotes, its value escaped."""
    key, _, value = term.partition(":")
    return f'"{key}:{escape(value)}"'


def concepts_search(deck: str, concept_ids: Iterable[str]) -> str | None:
    """The search for the cards of ``concept_ids`` in ``deck`` and its sub-decks."""
    ids = list(dict.fromkeys(concept_ids))
    if not ids:
        return None
    tags = " OR ".join(quote(f"tag:concept::{cid}") for cid in ids)
    if len(ids) > 1:
        tags = f"({tags})"
    return f"{quote('deck:' + deck)} {tags}"
