"""The course as a sequence of study cards, in the order students meet them.

Format-neutral: the Anki exporter and the PDF exporter both start from :func:`study_cards`, so
a printed card and its Anki note share order, code and choice order.
"""

from __future__ import annotations

from dataclasses import dataclass

from flashgen.course.graph import learn_after, learning_order
from flashgen.course.model import Chapter, Concept, Course, MultipleChoice, Question
from flashgen.outputs import identity


@dataclass(frozen=True, slots=True)
class Card:
    concept: Concept
    question: Question | None
    chapter: Chapter
    guid: str
    code: str
    #: 0-based position in the course's learning order (becomes the new-card due number).
    position: int
    tags: tuple[str, ...]

    @property
    def kind(self) -> str:
        return "concept" if self.question is None else self.question.kind


@dataclass(frozen=True, slots=True)
class StudySet:
    course: Course
    cards: tuple[Card, ...]
    order: tuple[Concept, ...]
    learn_after: dict[str, tuple[str, ...]]

    def choice_order(self, card: Card) -> list[int]:
        assert isinstance(card.question, MultipleChoice)
        return identity.choice_order(self.course.id, card.concept.id, card.question)


def study_cards(course: Course) -> StudySet:
    """One card for each concept, then one for each of its questions, in learning order."""
    chapters = {chapter.id: chapter for chapter in course.chapters}
    order = learning_order(course)
    cards: list[Card] = []
    for concept in order:
        chapter = chapters[concept.chapter]
        tags = note_tags(course, concept)
        for question in (None, *concept.questions):
            key = identity.question_key(concept, question)
            cards.append(
                Card(
                    concept=concept,
                    question=question,
                    chapter=chapter,
                    guid=identity.note_guid(course.id, concept.id, key),
                    code=identity.card_code(course.id, concept.id, key),
                    position=len(cards),
                    tags=tags,
                )
            )
    return StudySet(course, tuple(cards), order, learn_after(course, order))


def note_tags(course: Course, concept: Concept) -> tuple[str, ...]:
    """Hierarchical tags (``course::id``, ``chapter::id``, ``concept::id``) plus free tags."""
    tags = [
        f"course::{course.id}",
        f"chapter::{concept.chapter}",
        f"concept::{concept.id}",
        *course.tags,
        *concept.tags,
    ]
    return tuple(dict.fromkeys(tags))
