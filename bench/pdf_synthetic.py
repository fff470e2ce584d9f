"""A synthetic course of any size, for the PDF benchmark (self-contained: writes YAML files).

Each concept has four questions (one of each kind), so ``cards`` cards come from
``cards / 5`` concepts; summaries and explanations carry Markdown and ``$math$`` like a real
course, and each concept builds on one or two earlier ones (a layered prerequisite graph).
"""

from __future__ import annotations

import argparse
from pathlib import Path

SUMMARY = (
    "A *synthetic* concept number {n}, with **bold** text, `code`, and a formula "
    "$\\sum_{{i=1}}^{{n}} x_i^2 = {n}$. It builds on what came before and prepares what "
    "comes after; this sentence makes the summary about as long as a real one, so that the "
    "card has to be laid out like a real card."
)


def concept_yaml(n: int, chapter: str) -> str:
    prerequisites = [f"c{p:05d}" for p in sorted({n // 2, n - 1}) if 0 <= p < n]
    return f"""id: c{n:05d}
title: Synthetic concept {n}
chapter: {chapter}
prerequisites: [{", ".join(prerequisites)}]
summary: >-
  {SUMMARY.format(n=n)}
questions:
  - id: mcq
    type: multiple-choice
    question: Which statement about concept {n} holds, given $x_{{{n}}} > 0$?
    correct: "The one that is true for concept {n}."
    distractors:
      - "A plausible but wrong statement."
      - "Another wrong statement, with `code`."
      - "A third wrong statement about $y$."
    explanation: Because concept {n} is defined that way; see its summary.
  - id: tf
    type: true-false
    statement: Concept {n} comes after its prerequisites.
    answer: true
    explanation: Prerequisites are always learnt first.
  - id: basic
    type: basic
    front: What is concept {n} about?
    back: About the number {n} and the formula $n^2$.
    explanation: A short explanation.
  - id: cloze
    type: cloze
    text: Concept {n} is {{{{c1::synthetic}}}} and has {{{{c2::four::how many?}}}} questions.
    explanation: Every synthetic concept has one question of each kind.
"""


def write_course(root: Path, cards: int = 2000, chapters: int = 4) -> Path:
    """Write a course with ``cards`` cards (rounded to a multiple of 5) into ``root``."""
    concepts = max(cards // 5, 1)
    root.mkdir(parents=True, exist_ok=True)
    names = [f"ch{i + 1}" for i in range(chapters)]
    listed = "".join(
        f"  - id: {name}\n    title: Chapter {i + 1}\n" for i, name in enumerate(names)
    )
    (root / "course.yaml").write_text(
        f"id: synthetic\ntitle: Synthetic Course\nchapters:\n{listed}", encoding="utf-8"
    )
    per_chapter = -(-concepts // chapters)
    for n in range(concepts):
        chapter = names[n // per_chapter]
        folder = root / chapter
        folder.mkdir(exist_ok=True)
        (folder / f"c{n:05d}.yaml").write_text(concept_yaml(n, chapter), encoding="utf-8")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--cards", type=int, default=2000)
    args = parser.parse_args()
    write_course(args.root, args.cards)


if __name__ == "__main__":
    main()
