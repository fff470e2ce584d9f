"""Benchmark: a full preview build against the rebuild ``preview --serve`` does after one edit
(not a test).

    .venv/bin/python bench/preview_bench.py [--concepts 500] [--rounds 3]

Writes the benchmark course (``bench/gencourse.py``), then, each round: a full build into an
empty folder (what ``flashgen preview`` does), and with the memo that full build left (as the
server keeps it), a rebuild after one concept's summary was edited, and one after a concept's
title was edited (which rewrites the index and the concept pages, but renders with Anki only
the cards that show the title). Prints wall and CPU seconds (medians) and pages written.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from flashgen.outputs.preview import PreviewMemo, build_preview

ROOT = Path(__file__).resolve().parent.parent


def timed(action: Callable[[], object]) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concepts", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    rows: dict[str, list[tuple[float, float, int]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        course = Path(folder) / "course"
        subprocess.run(
            [sys.executable, str(ROOT / "bench/gencourse.py"), str(options.concepts), str(course)],
            check=True,
            capture_output=True,
        )
        files = sorted(p for p in course.rglob("*.yaml") if p.name != "course.yaml")
        concept_file = files[len(files) // 2]
        for number in range(options.rounds):
            site = Path(folder) / f"site-{number}"
            memo = PreviewMemo()
            wall, cpu, result = timed(lambda: build_preview(course, site, memo=memo))  # noqa: B023
            rows.setdefault("full build", []).append((wall, cpu, len(result.written)))  # type: ignore[attr-defined]
            edit(concept_file, "summary: >-\n  ", f"summary: >-\n  Edited {number}. ")
            wall, cpu, result = timed(lambda: build_preview(course, site, memo=memo))  # noqa: B023
            rows.setdefault("one summary edited", []).append(
                (wall, cpu, len(result.written))  # type: ignore[attr-defined]
            )
            edit(concept_file, "title: ", f"title: T{number} ")
            wall, cpu, result = timed(lambda: build_preview(course, site, memo=memo))  # noqa: B023
            rows.setdefault("one title edited", []).append(
                (wall, cpu, len(result.written))  # type: ignore[attr-defined]
            )
    full_wall = statistics.median(w for w, _, _ in rows["full build"])
    full_cpu = statistics.median(c for _, c, _ in rows["full build"])
    print(f"{options.concepts} concepts, median of {options.rounds} rounds")
    print("| preview | wall | CPU | pages written | wall / full | CPU / full |")
    print("|---|---|---|---|---|---|")
    for name, samples in rows.items():
        wall = statistics.median(w for w, _, _ in samples)
        cpu = statistics.median(c for _, c, _ in samples)
        pages = samples[-1][2]
        print(
            f"| {name} | {wall:.2f} s | {cpu:.2f} s | {pages} | "
            f"{wall / full_wall:.1%} | {cpu / full_cpu:.1%} |"
        )


if __name__ == "__main__":
    main()
