"""Benchmark: Markdown renderers on a course's fields and on the CommonMark examples (not a test).

    .venv/bin/python bench/markdown_bench.py [--concepts 500] [--rounds 5]

Collects every text a deck build renders (the fields of ``bench/gencourse.py``'s course, as
``render_concept`` asks for them) and the 652 CommonMark examples, then times, per field:

* ``fast``: flashgen's renderer as a build calls it (the hand-written subset where it applies,
  markdown-it-py and nh3 for the rest);
* ``markdown-it-py``: the full path alone (markdown-it-py with flashgen's rules, then nh3);
* ``markdown-it-pyrs``: the Rust markdown-it (tables and strikethrough on, raw HTML kept), then
  the same sanitiser, when the package is installed (``pip install markdown-it-pyrs``; not a
  flashgen dependency). It has no math, no way to add rules, so it cannot give flashgen's output
  where a text holds ``$math$``, a tag shown as text or Anki's ``[$]``; the "same output" column
  counts the fields where it happens to agree with the full path anyway.

Prints microseconds per field (median of the rounds) and how many fields agree with the full
path.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from flashgen.course.reader import read_course
from flashgen.outputs.apkg import render_concept
from flashgen.render import markdown
from flashgen.render.fast_markdown import fast_render
from flashgen.render.markdown import HtmlRenderer

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests/corpora/commonmark/spec-0.31.2.json"
NOWHERE = Path("/nonexistent-course")

Field = tuple[str, bool]


def course_fields(concepts: int) -> list[Field]:
    """Every (text, inline) a deck build of the benchmark course renders, in order."""
    with tempfile.TemporaryDirectory() as folder:
        course_dir = Path(folder) / "course"
        subprocess.run(
            [sys.executable, str(ROOT / "bench/gencourse.py"), str(concepts), str(course_dir)],
            check=True,
            capture_output=True,
        )
        course, diagnostics = read_course(course_dir)
        if course is None:
            raise SystemExit(diagnostics.render())
        fields: list[Field] = []

        class Recorder(HtmlRenderer):
            def render(self, text: str, base_dir: Path, inline: bool = False) -> str:
                if text:
                    fields.append((text, inline))
                return ""

        recorder = Recorder(course.root)
        for concept in course.concepts:
            render_concept(concept, course.id, recorder)
        return fields


def corpus_fields() -> list[Field]:
    examples = json.loads(CORPUS.read_text(encoding="utf-8"))
    return [(example["markdown"], False) for example in examples]


def full_path(text: str, inline: bool) -> str:
    """markdown-it-py with flashgen's rules, then nh3: what ``render`` does off the fast path."""
    md = markdown.parser()
    env = {"base_dir": NOWHERE}
    tokens = md.parseInline(text, env) if inline else md.parse(text, env)
    renderer = HtmlRenderer(NOWHERE)
    return markdown.defuse_mathjax(markdown.sanitize(renderer._render(md, tokens, env).strip()))


def flashgen_path(text: str, inline: bool) -> str:
    return HtmlRenderer(NOWHERE).render(text, NOWHERE, inline)


def pyrs_path() -> Callable[[str, bool], str] | None:
    try:
        from markdown_it_pyrs import MarkdownIt
    except ImportError:
        return None
    md = MarkdownIt("commonmark").enable_many(["table", "strikethrough"])

    def render(text: str, inline: bool) -> str:
        html = md.render(text).strip()
        if inline and html.startswith("<p>") and html.endswith("</p>") and "\n\n" not in text:
            html = html[3:-4]
        return markdown.defuse_mathjax(markdown.sanitize(html))

    return render


def pyrs_alone() -> Callable[[str, bool], str] | None:
    """markdown-it-pyrs without the sanitiser: the parser's own cost."""
    try:
        from markdown_it_pyrs import MarkdownIt
    except ImportError:
        return None
    md = MarkdownIt("commonmark").enable_many(["table", "strikethrough"])
    return lambda text, inline: md.render(text)


def measure(render: Callable[[str, bool], str], fields: list[Field], rounds: int) -> float:
    """Median CPU microseconds per field over ``rounds`` passes (after one warm-up pass): CPU
    time, not wall time, so that other jobs on the machine move the figures less."""
    for text, inline in fields:
        render(text, inline)
    samples = []
    for _ in range(rounds):
        start = time.process_time()
        for text, inline in fields:
            render(text, inline)
        samples.append((time.process_time() - start) / len(fields) * 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concepts", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    renderers: dict[str, Callable[[str, bool], str]] = {
        "fast": flashgen_path,
        "markdown-it-py": full_path,
    }
    pyrs = pyrs_path()
    if pyrs is None:
        print("markdown-it-pyrs is not installed: its column is left out", file=sys.stderr)
    else:
        renderers["markdown-it-pyrs"] = pyrs
        renderers["markdown-it-pyrs, parser alone"] = pyrs_alone()  # type: ignore[assignment]
    sets = {
        f"benchmark course, {options.concepts} concepts": course_fields(options.concepts),
        "CommonMark 0.31.2 examples": corpus_fields(),
    }
    print("| fields | renderer | µs per field | same output as markdown-it-py |")
    print("|---|---|---|---|")
    for name, fields in sets.items():
        expected = [full_path(text, inline) for text, inline in fields]
        covered = sum(fast_render(text, inline) is not None for text, inline in fields)
        for label, render in renderers.items():
            same = sum(
                render(text, inline) == want
                for (text, inline), want in zip(fields, expected, strict=True)
            )
            micro = measure(render, fields, options.rounds)
            print(f"| {name} ({len(fields):,}) | {label} | {micro:.1f} | {same:,} |")
        print(f"| {name} | (fields the subset renders itself) | | {covered:,} |")


if __name__ == "__main__":
    main()
