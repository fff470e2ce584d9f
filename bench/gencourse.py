"""Write a deterministic synthetic course, as flashgen YAML and as ankdown Markdown.

The same seed and size always give byte-identical files, so every tool in a benchmark run reads
the same course, and two runs on different days read the same course too.

* ``N`` concepts over ``round(sqrt(N))`` chapters (one folder per chapter), in teaching order;
* each concept has a Markdown summary (emphasis, inline code, a ``$formula$`` in about a third
  of them), 1–3 prerequisites among earlier concepts (mostly recent ones, sometimes far back: a
  realistic DAG, never a later chapter), now and then a related concept and tags;
* 4 questions of mixed types (multiple-choice, true-false, basic, cloze), so 5 notes a concept.

Usage: ``python bench/gencourse.py N OUT_DIR [--ankdown MD_DIR] [--seed S]``
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from pathlib import Path

WORDS = tuple(
    (  # noqa: SIM905 (a list of words reads better as text)
        "attention token layer vector matrix gradient softmax embedding encoder decoder cache "
        "prefix query key value head residual norm dropout batch sequence context window sample "
        "logit prior posterior kernel tensor weight bias optimizer momentum schedule warmup loss "
        "entropy margin label target signal noise channel filter pooling stride padding mask "
        "graph node edge path cycle order rank basis span projection inverse determinant trace "
        "protein enzyme receptor ligand neuron synapse cortex artery vein renal hepatic cardiac "
        "verb noun particle tense mood aspect clause stem root suffix prefix case gender plural"
    ).split()
)
FORMULAS = (
    r"$a^2 + b^2 = c^2$",
    r"$\sum_{i=1}^{n} x_i$",
    r"$\frac{QK^T}{\sqrt{d_k}}$",
    r"$O(n \log n)$",
    r"$p(y \mid x)$",
    r"$\nabla_\theta L$",
    r"$e^{i\pi} + 1 = 0$",
)
CODE = ("`softmax(x)`", "`kv_cache[i]`", "`--no-cache`", "`x.shape`", "`len(seq)`", "`f(x, y)`")
TAGS = ("core", "exam", "advanced", "review", "lab", "theory")
KINDS = ("multiple-choice", "true-false", "basic", "cloze")


def _sentence(rng: random.Random, lo: int = 6, hi: int = 14) -> str:
    words = rng.choices(WORDS, k=rng.randint(lo, hi))
    return " ".join(words).capitalize() + "."


def _summary(rng: random.Random) -> str:
    parts = [_sentence(rng) for _ in range(rng.randint(2, 4))]
    word = rng.choice(WORDS)
    parts[0] = parts[0][:-1] + f", the *{word}* step."
    parts[-1] = parts[-1][:-1] + f" using {rng.choice(CODE)}."
    if rng.random() < 0.35:
        parts.insert(1, f"It satisfies {rng.choice(FORMULAS)} in the simplest case.")
    if rng.random() < 0.2:
        parts.append(f"Note the **{rng.choice(WORDS)}** term.")
    return " ".join(parts)


def _quote(text: str) -> str:
    """A double-quoted YAML scalar (safe for any of the generated texts)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Concept:
    def __init__(self, rng: random.Random, index: int, chapter: str, earlier: list[Concept]):
        self.index = index
        words = rng.sample(WORDS, 2)
        self.id = f"c{index:05d}-{words[0]}-{words[1]}"
        self.title = f"{words[0].capitalize()} {words[1]} {index}"
        self.chapter = chapter
        self.prerequisites: list[str] = []
        if earlier and not (index < 5 or rng.random() < 0.02):
            count = min(len(earlier), rng.choice((1, 1, 2, 2, 3)))
            chosen: set[int] = set()
            while len(chosen) < count:
                if rng.random() < 0.8:  # mostly a recent concept ...
                    pick = len(earlier) - 1 - min(int(rng.expovariate(1 / 8)), len(earlier) - 1)
                else:  # ... sometimes one from far back
                    pick = rng.randrange(len(earlier))
                chosen.add(pick)
            self.prerequisites = [earlier[i].id for i in sorted(chosen)]
        self.related: list[str] = []
        if len(earlier) > 10 and rng.random() < 0.15:
            other = earlier[rng.randrange(len(earlier))].id
            if other not in self.prerequisites:
                self.related = [other]
        self.tags = sorted(set(rng.sample(TAGS, rng.randint(0, 2))))
        self.summary = _summary(rng)
        kinds = list(KINDS)
        rng.shuffle(kinds)
        self.questions = [self._question(rng, n, kind) for n, kind in enumerate(kinds)]

    def _question(self, rng: random.Random, n: int, kind: str) -> dict[str, object]:
        explanation = _sentence(rng) if rng.random() < 0.7 else ""
        if rng.random() < 0.15 and explanation:
            explanation = explanation[:-1] + f" since {rng.choice(FORMULAS)}."
        question: dict[str, object] = {"id": f"q{n + 1}", "type": kind}
        if kind == "multiple-choice":
            question["question"] = _sentence(rng)[:-1] + "?"
            question["correct"] = _sentence(rng, 3, 7)
            question["distractors"] = [_sentence(rng, 3, 7) for _ in range(3)]
        elif kind == "true-false":
            question["statement"] = _sentence(rng)
            question["answer"] = rng.random() < 0.5
        elif kind == "basic":
            question["front"] = _sentence(rng)[:-1] + "?"
            question["back"] = _sentence(rng)
        else:
            words = _sentence(rng).split(" ")
            hidden = rng.randrange(1, len(words) - 1)
            words[hidden] = "{{c1::" + words[hidden] + "}}"
            question["text"] = " ".join(words)
        if explanation:
            question["explanation"] = explanation
        return question

    def yaml(self) -> str:
        lines = [
            f"id: {self.id}",
            f"title: {self.title}",
            f"chapter: {self.chapter}",
            f"prerequisites: [{', '.join(self.prerequisites)}]",
        ]
        if self.related:
            lines.append(f"related: [{', '.join(self.related)}]")
        if self.tags:
            lines.append(f"tags: [{', '.join(self.tags)}]")
        lines.append("summary: >-")
        lines.extend("  " + line for line in _wrap(self.summary))
        lines.append("questions:")
        for question in self.questions:
            first = True
            for key, value in question.items():
                prefix = "  - " if first else "    "
                first = False
                if isinstance(value, bool):
                    lines.append(f"{prefix}{key}: {'true' if value else 'false'}")
                elif isinstance(value, list):
                    lines.append(f"{prefix}{key}:")
                    lines.extend(f"      - {_quote(item)}" for item in value)
                elif key in ("id", "type"):
                    lines.append(f"{prefix}{key}: {value}")
                else:
                    lines.append(f"{prefix}{key}: {_quote(str(value))}")
        return "\n".join(lines) + "\n"

    def ankdown(self) -> str:
        """The same five notes as ankdown cards: front % back, cards separated by ---."""
        cards = [(self.title, self.summary)]
        for q in self.questions:
            explanation = f"\n\n{q['explanation']}" if q.get("explanation") else ""
            if q["type"] == "multiple-choice":
                choices = [q["correct"], *q["distractors"]]  # type: ignore[list-item]
                listed = "\n".join(f"- {choice}" for choice in choices)
                cards.append((f"{q['question']}\n\n{listed}", f"{q['correct']}{explanation}"))
            elif q["type"] == "true-false":
                cards.append((str(q["statement"]), f"{q['answer']}{explanation}"))
            elif q["type"] == "basic":
                cards.append((str(q["front"]), f"{q['back']}{explanation}"))
            else:
                text = str(q["text"])
                front = text.split("{{c1::")[0] + "[...]" + text.split("}}", 1)[1]
                plain = text.replace("{{c1::", "").replace("}}", "")
                cards.append((front, f"{plain}{explanation}"))
        return "\n---\n".join(f"{front}\n%\n{back}" for front, back in cards) + "\n"


def _wrap(text: str, width: int = 96) -> list[str]:
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line]


def generate(size: int, seed: int = 1) -> tuple[list[tuple[str, str]], list[Concept]]:
    """The chapters (id, title) and concepts of a course of ``size`` concepts."""
    rng = random.Random(f"flashgen-bench-{seed}-{size}")
    chapter_count = max(2, round(math.sqrt(size)))
    chapters = [(f"ch{n + 1:03d}", f"Chapter {n + 1}") for n in range(chapter_count)]
    concepts: list[Concept] = []
    for index in range(size):
        chapter = chapters[index * chapter_count // size][0]
        concepts.append(Concept(rng, index, chapter, concepts))
    return chapters, concepts


def write_course(size: int, out: Path, ankdown: Path | None = None, seed: int = 1) -> None:
    chapters, concepts = generate(size, seed)
    out.mkdir(parents=True, exist_ok=True)
    listed = "".join(f"  - id: {cid}\n    title: {title}\n" for cid, title in chapters)
    (out / "course.yaml").write_text(
        f"id: bench-{size}\ntitle: Benchmark course ({size} concepts)\ntags: [bench]\n"
        f"chapters:\n{listed}",
        encoding="utf-8",
    )
    for chapter, _ in chapters:
        (out / chapter).mkdir(exist_ok=True)
        if ankdown is not None:
            (ankdown / chapter).mkdir(parents=True, exist_ok=True)
    for concept in concepts:
        name = f"{concept.chapter}/{concept.id}"
        (out / f"{name}.yaml").write_text(concept.yaml(), encoding="utf-8")
        if ankdown is not None:
            (ankdown / f"{name}.md").write_text(concept.ankdown(), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("size", type=int, help="number of concepts (5 notes each)")
    parser.add_argument("out", type=Path, help="folder to write the YAML course into")
    parser.add_argument("--ankdown", type=Path, help="also write the course as ankdown Markdown")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    write_course(args.size, args.out, args.ankdown, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
