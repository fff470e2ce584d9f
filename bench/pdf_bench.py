"""Benchmark: typeset the cards PDF of a synthetic 2,000-card course (not a timed test).

    python bench/pdf_bench.py [--cards 2000] [--guide] [--cache-dir DIR]

Prints wall time and CPU time per stage and the peak memory (max RSS) of the process. The
targets in docs/pdf.md: under 3 s and under 600 MiB for 2,000 cards on a 2-core machine.

Without ``--cache-dir`` every run starts with an empty cache (a first build: every formula is
converted and checked, every card side that needs it measured). Run twice with the same
``--cache-dir`` to time a rebuild (in a new process each time: Typst also memoizes within a
process, which would make a second run in the same process look faster than it is).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flashgen.outputs import pdf
from flashgen.outputs.cards import study_cards
from flashgen.pipeline.load import load_course
from pdf_synthetic import write_course


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cards", type=int, default=2000)
    parser.add_argument("--guide", action="store_true", help="also time the study guide")
    parser.add_argument("--cache-dir", type=Path, help="PDF cache folder (default: empty)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        cache_dir = args.cache_dir or Path(scratch) / "cache"
        warm = cache_dir.is_dir() and any(cache_dir.iterdir())
        root = write_course(Path(scratch) / "course", args.cards)
        course, diag = load_course(root)
        assert course is not None and not diag.has_errors, diag.render_text()
        study = study_cards(course)
        import typst

        typst.Fonts()  # warm the font search so that it is not counted below
        stages: dict[str, tuple[float, float]] = {}
        start, start_cpu = time.perf_counter(), cpu()
        kinds = ("cards", "guide") if args.guide else ("cards",)
        result = pdf.render_pdfs(study, root, 1_700_000_000, kinds=kinds, cache_dir=cache_dir)
        stages["render_pdfs"] = (time.perf_counter() - start, cpu() - start_cpu)
        files = result.take()
        pages = {kind: data.count(b"/Type /Page\n") or None for kind, data in files.items()}
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            json.dumps(
                {
                    "cards": len(study.cards),
                    "cache": "warm" if warm else "empty",
                    "seconds": {k: round(v[0], 2) for k, v in stages.items()},
                    "cpu_seconds": {k: round(v[1], 2) for k, v in stages.items()},
                    "peak_mib": round(peak),
                    "bytes": {kind: len(data) for kind, data in files.items()},
                    "warnings": len(result.diagnostics),
                    "pages": pages,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
