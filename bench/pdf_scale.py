"""Benchmark: ``flashgen build --only pdf`` on a large synthetic course (not a timed test).

    python bench/pdf_scale.py [--concepts 10000] [--course DIR] [--limit-mib 4096]

Writes the course with ``bench/gencourse.py`` (unless ``--course`` already holds one), builds
its PDFs with an empty PDF cache and prints the wall time, the peak memory of the whole process
tree (the build and its typesetting workers; sampled every 20 ms, both as the sum of RSS and as
the sum of PSS, which counts shared pages once) and the files written. The build is killed if
the tree's RSS passes ``--limit-mib``, so that a regression cannot exhaust the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def tree_memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of ``pid`` and all its descendants, in KiB."""
    rss = pss = 0
    todo, seen = [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            with open(f"/proc/{current}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    todo.extend(int(child) for child in handle.read().split())
        except (OSError, ValueError):
            continue
    return rss, pss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concepts", type=int, default=10000)
    parser.add_argument("--course", type=Path, help="course folder (written if missing)")
    parser.add_argument("--limit-mib", type=int, default=4096)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        course = args.course or Path(scratch) / "course"
        if not (course / "course.yaml").is_file():
            gen = [sys.executable, str(HERE / "gencourse.py"), str(args.concepts), str(course)]
            subprocess.run(gen, check=True, stdout=subprocess.DEVNULL)
        output = Path(scratch) / "output"
        env = {**os.environ, "FLASHGEN_CACHE_DIR": str(Path(scratch) / "cache")}
        env.setdefault("SOURCE_DATE_EPOCH", "1700000000")
        flashgen = Path(sys.executable).with_name("flashgen")
        command = [str(flashgen), "build", str(course), "-o", str(output), "--only", "pdf"]
        start = time.perf_counter()
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        peak = [0, 0]
        done = threading.Event()
        killed = threading.Event()

        def sample() -> None:
            while not done.is_set():
                rss, pss = tree_memory_kib(process.pid)
                peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
                if rss > args.limit_mib * 1024 and not killed.is_set():
                    killed.set()
                    process.send_signal(signal.SIGKILL)
                done.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        log, _ = process.communicate()
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
        files = sorted(output.glob("*.pdf")) if output.is_dir() else []
        print(
            json.dumps(
                {
                    "concepts": args.concepts,
                    "returncode": process.returncode,
                    "killed_over_limit": killed.is_set(),
                    "seconds": round(seconds, 1),
                    "peak_tree_rss_mib": round(peak[0] / 1024),
                    "peak_tree_pss_mib": round(peak[1] / 1024),
                    "pdf_files": len(files),
                    "pdf_mib": round(sum(f.stat().st_size for f in files) / 2**20, 1),
                    "names": [f.name for f in files[:3]] + (["..."] if len(files) > 3 else []),
                },
                indent=2,
            )
        )
        if process.returncode != 0:
            print(log[-3000:], file=sys.stderr)


if __name__ == "__main__":
    main()
