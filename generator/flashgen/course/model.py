"""The course as validated, immutable values: what every renderer and exporter consumes.

Nothing here parses YAML or reports errors; :mod:`flashgen.course.reader` builds these objects only
from input that passed validation, so their invariants hold everywhere downstream.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from flashgen.diagnostics import Location


def pickled_by_fields(cls: type) -> type:
    """Pickle a frozen, slotted dataclass as its class and field values: the dataclass
    default (a ``__setstate__`` that looks up the fields on every call) costs several times
    more, and the pipeline's memo unpickles every concept of a course on each run."""
    names = tuple(f.name for f in fields(cls) if f.init)

    def __reduce__(self: Any) -> tuple[Any, ...]:
        return type(self), tuple(getattr(self, name) for name in names)

    cls.__reduce__ = __reduce__  # type: ignore[assignment, method-assign]
    return cls


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Chapter:
    id: str
    title: str
    index: int
    location: Location


@dataclass(frozen=True, slots=True)
class Question:
    """One question about a concept; subclasses are the question kinds."""

    kind: ClassVar[str]
    id: str
    explanation: str
    location: Location
    #: Where each key's value starts, for diagnostics found while rendering.
    field_locations: Mapping[str, Location]
    #: Question-quality rules silenced for this question (``allow:``).
    allow: tuple[str, ...]

    def where(self, key: str, offset: int | None = None, index: int | None = None) -> Location:
        if offset is None and index is None:
            return self.field_locations.get(key, self.location)
        return _where(self.field_locations, self.location, key, offset, index)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class MultipleChoice(Question):
    kind: ClassVar[str] = "multiple-choice"
    question: str
    correct: tuple[str, ...]
    distractors: tuple[str, ...]

    @property
    def choices(self) -> tuple[str, ...]:
        return self.correct + self.distractors


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class TrueFalse(Question):
    kind: ClassVar[str] = "true-false"
    statement: str
    answer: bool


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Basic(Question):
    kind: ClassVar[str] = "basic"
    front: str
    back: str


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Cloze(Question):
    kind: ClassVar[str] = "cloze"
    text: str


def _where(
    locations: Mapping[str, Location],
    default: Location,
    key: str,
    offset: int | None,
    index: int | None,
) -> Location:
    """Where the value of ``key`` starts or, given ``offset`` (into the text as stored here,
    of item ``index`` for a list), where that character was written."""
    locate = getattr(locations, "locate", None)
    located = locate(key, offset or 0, index) if locate is not None else None
    return located or locations.get(key, default)


QUESTION_KINDS: dict[str, type[Question]] = {
    kind.kind: kind for kind in (MultipleChoice, TrueFalse, Basic, Cloze)
}


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Reference:
    """A concept id written in a concept file, with where it was written (for diagnostics)."""

    id: str
    location: Location


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Concept:
    id: str
    title: str
    chapter: str
    prerequisites: tuple[Reference, ...]
    related: tuple[Reference, ...]
    tags: tuple[str, ...]
    summary: str
    questions: tuple[Question, ...]
    path: Path
    location: Location
    chapter_location: Location
    field_locations: Mapping[str, Location]

    def where(self, key: str, offset: int | None = None, index: int | None = None) -> Location:
        if offset is None and index is None:
            return self.field_locations.get(key, self.location)
        return _where(self.field_locations, self.location, key, offset, index)

    @property
    def prerequisite_ids(self) -> tuple[str, ...]:
        return tuple(ref.id for ref in self.prerequisites)

    @property
    def related_ids(self) -> tuple[str, ...]:
        return tuple(ref.id for ref in self.related)

    @property
    def is_foundation(self) -> bool:
        return not self.prerequisites


@dataclass(frozen=True, slots=True)
class Course:
    id: str
    title: str
    tags: tuple[str, ...]
    chapters: tuple[Chapter, ...]
    concepts: tuple[Concept, ...]
    root: Path
    location: Location
    #: course.yaml's ``quality:`` settings (:class:`flashgen.course.quality.QualityConfig`).
    quality: Any = None
    #: File names (without suffix) of concept files that could not be read: the ids their
    #: concepts probably have, so references to them are not reported as unknown.
    unreadable: frozenset[str] = frozenset()
    _by_id: dict[str, Concept] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id: dict[str, Concept] = {}
        for concept in self.concepts:
            by_id.setdefault(concept.id, concept)
        object.__setattr__(self, "_by_id", by_id)

    def concept(self, concept_id: str) -> Concept | None:
        return self._by_id.get(concept_id)

    def chapter(self, chapter_id: str) -> Chapter | None:
        return next((c for c in self.chapters if c.id == chapter_id), None)

    @property
    def question_count(self) -> int:
        return sum(len(c.questions) for c in self.concepts)
