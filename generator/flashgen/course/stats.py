"""``flashgen stats``: how big the course is and where it is thin."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from flashgen.course.graph import longest_chain
from flashgen.course.model import Course
from flashgen.course.schema import QUESTION_TYPES


@dataclass(frozen=True, slots=True)
class ChapterStats:
    id: str
    title: str
    concepts: int
    #: Questions per type, every type present (zero when absent), in schema order.
    questions: dict[str, int]

    @property
    def question_count(self) -> int:
        return sum(self.questions.values())


@dataclass(frozen=True, slots=True)
class CourseStats:
    title: str
    chapters: tuple[ChapterStats, ...]
    foundations: tuple[str, ...]
    longest_chain: tuple[str, ...]
    without_questions: tuple[str, ...]

    @property
    def concepts(self) -> int:
        return sum(c.concepts for c in self.chapters)

    @property
    def questions(self) -> dict[str, int]:
        return {kind: sum(c.questions[kind] for c in self.chapters) for kind in QUESTION_TYPES}


def course_stats(course: Course) -> CourseStats:
    chapters = []
    for chapter in course.chapters:
        members = [c for c in course.concepts if c.chapter == chapter.id]
        kinds = Counter(q.kind for concept in members for q in concept.questions)
        chapters.append(
            ChapterStats(
                chapter.id,
                chapter.title,
                len(members),
                {kind: kinds.get(kind, 0) for kind in QUESTION_TYPES},
            )
        )
    return CourseStats(
        title=course.title,
        chapters=tuple(chapters),
        foundations=tuple(c.id for c in course.concepts if c.is_foundation),
        longest_chain=tuple(longest_chain(course)),
        without_questions=tuple(c.id for c in course.concepts if not c.questions),
    )


_SHORT = {"multiple-choice": "mc", "true-false": "t/f", "basic": "basic", "cloze": "cloze"}


def render_text(stats: CourseStats) -> str:
    """A table per chapter, then the graph facts; for people reading a terminal."""
    headers = ["chapter", "concepts", *(_SHORT[k] for k in QUESTION_TYPES), "questions"]
    rows = [
        [
            c.id,
            str(c.concepts),
            *(str(c.questions[k]) for k in QUESTION_TYPES),
            str(c.question_count),
        ]
        for c in stats.chapters
    ]
    totals = stats.questions
    rows.append(
        [
            "total",
            str(stats.concepts),
            *(str(totals[k]) for k in QUESTION_TYPES),
            str(sum(totals.values())),
        ]
    )
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    out = [stats.title, "", line(headers), line(["-" * w for w in widths])]
    out.extend(line(row) for row in rows[:-1])
    out.append(line(["-" * w for w in widths]))
    out.append(line(rows[-1]))
    out.append("")
    out.append(f"foundations ({len(stats.foundations)}): {_list(stats.foundations)}")
    chain = stats.longest_chain
    out.append(f"longest prerequisite chain ({len(chain)}): {' → '.join(chain) or '-'}")
    out.append(
        f"concepts without questions ({len(stats.without_questions)}): "
        f"{_list(stats.without_questions)}"
    )
    return "\n".join(out)


def _list(ids: tuple[str, ...], limit: int = 20) -> str:
    if not ids:
        return "none"
    shown = ", ".join(ids[:limit])
    return shown + (f", … and {len(ids) - limit} more" if len(ids) > limit else "")


def as_json(stats: CourseStats) -> dict[str, object]:
    return {
        "title": stats.title,
        "concepts": stats.concepts,
        "questions": stats.questions,
        "chapters": [
            {"id": c.id, "title": c.title, "concepts": c.concepts, "questions": c.questions}
            for c in stats.chapters
        ],
        "foundations": list(stats.foundations),
        "longest_chain": list(stats.longest_chain),
        "without_questions": list(stats.without_questions),
    }
