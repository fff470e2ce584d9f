"""Benchmark: convert and check the Wikipedia formulas of tests/corpora/formulas (not a test).

    python bench/formula_bench.py [--count 2500]

Prints the time to convert them in helper processes (tex2typst), to check them in Typst in
groups of 64 (each formula alone only when its group reports something), and, for comparison,
to check every formula alone; and how many fall back to LaTeX source, by reason.
"""

from __future__ import annotations

import argparse
import collections
import json
import time
from pathlib import Path

from flashgen.render import formulas
from flashgen.render.formula_worker import convert_all

CORPUS = Path(__file__).resolve().parent.parent / "tests/corpora/formulas/wikipedia-formulas.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=2500)
    count = parser.parse_args().count
    texts = json.loads(CORPUS.read_text("utf-8"))[:count]

    start = time.perf_counter()
    converted = dict(zip(texts, convert_all(texts), strict=True))
    print(f"convert {len(texts)} formulas: {time.perf_counter() - start:.1f} s")

    start = time.perf_counter()
    results = formulas.check_formulas(texts, None, converted)
    print(f"check in groups of {formulas.GROUP}: {time.perf_counter() - start:.2f} s")

    math = [r.math for r in results if r.math]
    start = time.perf_counter()
    for one in math:
        formulas._evaluate([one])
    print(f"check {len(math)} one at a time: {time.perf_counter() - start:.2f} s")

    reasons = collections.Counter(
        (r.problem or "").split(" (")[0] for r in results if r.math is None
    )
    print(f"printed as LaTeX: {sum(reasons.values())} of {len(texts)}")
    for reason, number in reasons.most_common(8):
        print(f"  {number:4d}  {reason[:90]}")


if __name__ == "__main__":
    main()
