"""Benchmark flashgen against the floor (bench/baseline.py) and a peer (ankdown), same course.

For each size, a deterministic synthetic course (bench/gencourse.py) is written once, as YAML
and as ankdown Markdown. Then, for several rounds, every command runs in turn (flashgen, the
baseline and ankdown alternate, so a slow moment of the machine hits all of them), each as a
fresh process; the table shows medians of wall time and of peak memory: the proportional set
size (PSS) of the process and all its children added up, sampled every 10 ms. For one process
PSS is its resident set (RSS) less its share of shared libraries; for flashgen's two forked
workers it counts the pages they share with their parent once, where adding up RSS would
count them three times.

Rows:
  check                 flashgen check          vs the baseline loading the YAML (--load)
  build (full)          flashgen build --only apkg into an empty folder (no cache)
                        vs the baseline writing the deck, and vs ankdown
  rebuild, no change    the same build again (the deck is up to date)
  rebuild, 1 file       after editing one concept file's summary

Usage:
  python bench/run.py targets [--quick] ...   issue 14's targets (see bench/targets.py)
  python bench/run.py [--sizes 1000,10000] [--rounds 3] [--ankdown PATH] [--pdf]
                      [--work DIR] [--json FILE]

ankdown is looked for in --ankdown, then $FLASHGEN_BENCH_ANKDOWN, then on PATH; install it in
a separate environment (python3 -m venv /work/bench-venv && /work/bench-venv/bin/pip install
ankdown). Without it the other rows still run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gencourse import write_course  # noqa: E402

TARGETS = {
    "build_vs_baseline": 1.25,
    "memory_mib": 200,
    "unchanged_vs_full": 0.10,
    "one_file_vs_full": 0.35,
    "linear": 1.3,
    "check_vs_load": 1.2,
}


@dataclass
class Sample:
    seconds: float
    peak_mib: float


@dataclass
class Row:
    samples: dict[str, list[Sample]] = field(default_factory=dict)

    def add(self, tool: str, sample: Sample) -> None:
        self.samples.setdefault(tool, []).append(sample)

    def median(self, tool: str) -> Sample | None:
        found = self.samples.get(tool)
        if not found:
            return None
        return Sample(
            statistics.median(s.seconds for s in found),
            statistics.median(s.peak_mib for s in found),
        )


def _tree_rss_kib(pid: int) -> int:
    """Memory of ``pid`` and all its descendants, in KiB (0 once it is gone).

    Each process counts its proportional set size (PSS: private pages, plus shared pages
    divided among the processes sharing them), so that forked workers sharing their parent's
    pages are not counted twice; for a single process PSS is at most its RSS.
    """
    total, todo, seen = 0, [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            with open(f"/proc/{current}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    todo.extend(int(child) for child in handle.read().split())
        except (OSError, ValueError):
            continue
    return total


def run_measured(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int, int]:
    """Run ``command`` to its end: wall seconds, the process tree's peak RSS and the largest
    single process's peak RSS (KiB); fail loudly if it fails."""
    # stderr into a file, not a pipe: a build's warnings can fill a pipe and block it.
    errors = tempfile.TemporaryFile("w+")  # noqa: SIM115 (read after the process ends)
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=errors)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kib(process.pid))
            done.wait(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    errors.seek(0)
    stderr = errors.read()
    errors.close()
    if process.returncode != 0:
        raise SystemExit(f"failed ({process.returncode}): {' '.join(command)}\n{stderr[-4000:]}")
    return seconds, peak, usage.ru_maxrss


def measure(command: list[str], env: dict[str, str] | None = None) -> Sample:
    """Run ``command``; its wall time and peak memory (whole process tree)."""
    seconds, tree_kib, _ = run_measured(command, env)
    return Sample(seconds, tree_kib / 1024)


def edit_one_file(course: Path, round_number: int) -> None:
    """Change one concept's summary (a different text every round)."""
    chapters = sorted(p for p in course.iterdir() if p.is_dir())
    folder = chapters[len(chapters) // 2]
    target = sorted(folder.glob("*.yaml"))[0]
    text = target.read_text(encoding="utf-8")
    marker = "summary: >-\n  "
    head, _, rest = text.partition(marker)
    if rest.startswith("Edited "):
        rest = rest.split(". ", 1)[1]
    target.write_text(f"{head}{marker}Edited {round_number}. {rest}", encoding="utf-8")


def find_ankdown(option: str | None) -> str | None:
    for candidate in (option, os.environ.get("FLASHGEN_BENCH_ANKDOWN"), shutil.which("ankdown")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def bench_size(
    size: int, rounds: int, work: Path, ankdown: str | None, pdf: bool
) -> dict[str, Row]:
    course, markdown = work / f"course-{size}", work / f"ankdown-{size}"
    if not (course / "course.yaml").exists():
        print(f"  writing the {size:,}-concept course ...", file=sys.stderr)
        shutil.rmtree(course, ignore_errors=True)
        shutil.rmtree(markdown, ignore_errors=True)
        write_course(size, course, markdown)
    python = sys.executable
    flashgen = [python, "-m", "flashgen"]
    baseline = [python, str(HERE / "baseline.py"), str(course)]
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    out = work / f"out-{size}"
    rows = {name: Row() for name in ("check", "full", "unchanged", "one_file", "pdf")}
    for number in range(rounds):
        print(f"  {size:,} concepts, round {number + 1}/{rounds}", file=sys.stderr)
        rows["check"].add("flashgen", measure([*flashgen, "check", str(course)], env))
        rows["check"].add("baseline", measure([*baseline, "--load"], env))
        shutil.rmtree(out, ignore_errors=True)
        build = [*flashgen, "build", str(course), "-o", str(out), "--only", "apkg", "-q"]
        rows["full"].add("flashgen", measure(build, env))
        if ankdown:
            target = work / f"ankdown-{size}.apkg"
            rows["full"].add(
                "ankdown", measure([ankdown, "-r", str(markdown), "-p", str(target)], env)
            )
        rows["full"].add("baseline", measure([*baseline, str(work / "baseline.apkg")], env))
        rows["unchanged"].add("flashgen", measure(build, env))
        edit_one_file(course, number + 1)
        rows["one_file"].add("flashgen", measure(build, env))
        if pdf:
            pdf_out = work / f"pdf-{size}"
            shutil.rmtree(pdf_out, ignore_errors=True)
            command = [*flashgen, "build", str(course), "-o", str(pdf_out), "--only", "pdf", "-q"]
            rows["pdf"].add("flashgen", measure(command, env))
    return rows


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}"
    )


def fmt(sample: Sample | None) -> str:
    return "–" if sample is None else f"{sample.seconds:.2f} s / {sample.peak_mib:.0f} MiB"


def ratio(a: Sample | None, b: Sample | None) -> str:
    return "–" if a is None or b is None else f"{a.seconds / b.seconds:.2f}×"


def report(results: dict[int, dict[str, Row]], rounds: dict[int, int]) -> tuple[str, list[str]]:
    lines = [
        "| concepts (notes) | what | flashgen | baseline | ankdown | flashgen / baseline "
        "| flashgen / ankdown | flashgen / full build |",
        "|---|---|---|---|---|---|---|---|",
    ]
    verdicts: list[str] = []
    for size, rows in results.items():
        label = f"{size:,} ({size * 5:,})"
        full = rows["full"].median("flashgen")
        for key, what in (
            ("check", "check (baseline: load YAML)"),
            ("full", "build --only apkg, full"),
            ("unchanged", "rebuild, nothing changed"),
            ("one_file", "rebuild, 1 file changed"),
            ("pdf", "build --only pdf"),
        ):
            row = rows[key]
            mine = row.median("flashgen")
            if mine is None:
                continue
            base, peer = row.median("baseline"), row.median("ankdown")
            share = ratio(mine, full) if key in ("unchanged", "one_file") else ""
            lines.append(
                f"| {label} | {what} | {fmt(mine)} | {fmt(base)} | {fmt(peer)} | "
                f"{ratio(mine, base)} | {ratio(mine, peer)} | {share} |"
            )
        base_full, peer_full = rows["full"].median("baseline"), rows["full"].median("ankdown")
        check, load = rows["check"].median("flashgen"), rows["check"].median("baseline")
        if size == 10_000 and full and base_full:
            value = full.seconds / base_full.seconds
            verdicts.append(
                _verdict(f"full build ≤ {TARGETS['build_vs_baseline']}× baseline", value,
                         TARGETS["build_vs_baseline"], "×")
            )  # fmt: skip
            if peer_full:
                verdicts.append(_verdict("full build faster than ankdown", full.seconds /
                                         peer_full.seconds, 1.0, "×"))  # fmt: skip
            verdicts.append(
                _verdict("peak memory of the full build", full.peak_mib, TARGETS["memory_mib"],
                         " MiB")
            )  # fmt: skip
        if size == 10_000 and check and load:
            verdicts.append(
                _verdict(f"check ≤ {TARGETS['check_vs_load']}× baseline YAML loading",
                         check.seconds / load.seconds, TARGETS["check_vs_load"], "×")
            )  # fmt: skip
        if size == 10_000 and full:
            for key, name in (("unchanged", "unchanged_vs_full"), ("one_file", "one_file_vs_full")):
                mine = rows[key].median("flashgen")
                if mine:
                    verdicts.append(
                        _verdict(f"{key.replace('_', ' ')} rebuild < {TARGETS[name]:.0%} of full",
                                 mine.seconds / full.seconds, TARGETS[name], "×")
                    )  # fmt: skip
    sizes = sorted(results)
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        a, b = results[small]["full"].median("flashgen"), results[large]["full"].median("flashgen")
        if a and b:
            per_small, per_large = a.seconds / small, b.seconds / large
            verdicts.append(
                _verdict(f"time per concept at {large:,} vs {small:,} (≤ {TARGETS['linear']}×)",
                         per_large / per_small, TARGETS["linear"], "×")
            )  # fmt: skip
    notes = ", ".join(f"{size:,}: {count}" for size, count in rounds.items())
    return "\n".join(lines) + f"\n\nRounds (medians of): {notes}.", verdicts


def _verdict(what: str, value: float, limit: float, unit: str) -> str:
    mark = "met" if value <= limit else "NOT met"
    shown = f"{value:.2f}{unit}" if unit == "×" else f"{value:.0f}{unit}"
    return f"- {what}: {shown} ({mark})"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["targets"]:
        from targets import main as targets

        return targets(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated concept counts")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (1 above 20,000 concepts)")
    parser.add_argument("--ankdown", help="path of the ankdown command")
    parser.add_argument("--pdf", action="store_true", help="also time `build --only pdf`")
    parser.add_argument("--work", type=Path, default=Path("/tmp/flashgen-bench"))
    parser.add_argument("--json", type=Path, help="also write the raw samples here")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    ankdown = find_ankdown(args.ankdown)
    if ankdown is None:
        print("ankdown not found (--ankdown, $FLASHGEN_BENCH_ANKDOWN or PATH): "
              "its column stays empty", file=sys.stderr)  # fmt: skip
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict[int, dict[str, Row]] = {}
    rounds: dict[int, int] = {}
    for size in sizes:
        rounds[size] = args.rounds if size <= 20_000 else min(args.rounds, 1)
        results[size] = bench_size(size, rounds[size], args.work, ankdown, args.pdf)
    table, verdicts = report(results, rounds)
    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    print(f"Machine: {machine()}\nDate: {when}\nankdown: {ankdown or 'not found'}\n")
    print(table)
    if verdicts:
        print("\nTargets:\n" + "\n".join(verdicts))
    if args.json:
        raw = {
            str(size): {
                key: {tool: [vars(s) for s in samples] for tool, samples in row.samples.items()}
                for key, row in rows.items()
            }
            for size, rows in results.items()
        }
        args.json.write_text(json.dumps(raw, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
