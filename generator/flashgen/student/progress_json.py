"""`flashgen progress --format json`: one student's progress as a stable, versioned document.

The format is documented in docs/progress.md (JSON format). A student can share this file
instead of their collection (it holds no review log, no card text and no path), and
``flashgen progress --from-json`` merges several into a class view
(:mod:`flashgen.student.class_view`). :data:`VERSION` changes only when a key changes meaning
or goes away; new keys may be added within a version.
"""

from __future__ import annotations

import time
from typing import Any

from flashgen.student import progress as model
from flashgen.student.progress import Progress

FORMAT = "flashgen-progress"
VERSION = 1
#: The sets of a progress document, in the order they are written.
SETS = (*model.STATES, "ready-to-learn", "review-first")


def thresholds() -> dict[str, float | int]:
    return {
        "mastered_recall": model.MASTERED_RECALL,
        "mastered_stability_days": model.MASTERED_STABILITY_DAYS,
        "struggling_recall": model.STRUGGLING_RECALL,
        "struggling_lapses": model.STRUGGLING_LAPSES,
        "recent_days": model.RECENT_DAYS,
    }


def iso_time(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(seconds)))


def _recall_source(concept: model.ConceptProgress) -> str | None:
    if concept.recall_from_anki and concept.recall_estimated:
        return "mixed"
    if concept.recall_from_anki:
        return "anki-fsrs"
    if concept.recall_estimated:
        return "review-log"
    return None


def progress_document(progress: Progress) -> dict[str, Any]:
    """The JSON document (a dict ready for :func:`json.dumps`)."""
    concepts = []
    for c in progress.concepts:
        concepts.append(
            {
                "id": c.id,
                "title": c.title,
                "chapter": c.chapter,
                "prerequisites": list(c.prerequisites),
                "state": c.state,
                "cards": c.cards,
                "new": c.new,
                "learning": c.learning,
                "review": c.review,
                "suspended": c.suspended,
                "lapses": c.lapses,
                "recent_lapses": c.recent_lapses,
                "recall": None if c.recall is None else round(c.recall, 3),
                "stability_days": None if c.stability is None else round(c.stability, 2),
                "recall_source": _recall_source(c),
                "search": progress.search([c.id]),
            }
        )
    sets: dict[str, Any] = {}
    for state in model.STATES:
        ids = progress.in_state(state)
        sets[state] = {"concepts": list(ids), "search": progress.search(ids)}
    sets["ready-to-learn"] = {
        "concepts": list(progress.ready_to_learn),
        "search": progress.search(progress.ready_to_learn),
    }
    weak = [cid for entry in progress.review_first for cid in entry.weak]
    sets["review-first"] = {
        "concepts": list(dict.fromkeys(weak)),
        "search": progress.search(weak),
        "for": [
            {"concept": e.concept, "weak": list(e.weak), "search": progress.search(e.weak)}
            for e in progress.review_first
        ],
    }
    return {
        "format": FORMAT,
        "version": VERSION,
        "course": {"id": progress.course_id, "title": progress.course_title},
        "deck": progress.deck,
        "as_of": iso_time(progress.as_of),
        "thresholds": thresholds(),
        "study_next": list(progress.study_next),
        "sets": sets,
        "concepts": concepts,
    }
