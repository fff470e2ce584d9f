"""Issue 14's targets, each measured as a ratio to a floor run in the same minute.

Every command runs as a fresh child process of this one; floor and flashgen alternate within
each round, so a slow minute of the (shared) machine hits both, and the table shows medians.
Memory is reported two ways and the larger is judged: the largest single process's peak
resident set (``ru_maxrss`` of the child and its reaped descendants, from ``wait4``), and the
peak of the whole process tree's proportional set size (PSS), sampled every 10 ms.

Targets (sizes with ``--quick`` in brackets):

  build    default ``flashgen build`` of the 500 [40]-concept course, cold (empty output and
           caches) vs the floor (bench/floor.py: PyYAML's C loader and genanki writing the same
           notes, as bench/baseline.py, plus Typst alone compiling the documents flashgen gave
           Typst, recorded once beforehand by bench/typst_dump/); ≤ 2×, ≤ 600 MiB, two PDFs.
           Then the same build with nothing changed (≤ 5 % of the full build) and after one
           concept file changed (≤ 25 %).
  preview  ``flashgen preview --serve`` of the same course: the time from writing a one-file
           edit until the served concept page (polled over HTTP) holds the new text, vs a full
           ``flashgen preview`` into an empty folder (≤ 10 %).
  apkg     ``build --only apkg`` of the 10,000 [1,000]-concept course, cold, vs bench/baseline.py
           (≤ 1.25×, what it was before issue 14) and vs ankdown when found (≤ 1×); ≤ 200 MiB.
  large    the same at 50,000 [2,000] concepts (one round): ≤ 600 MiB.

Usage:
  python bench/run.py targets [--quick] [--rounds N] [--only build,preview,apkg,large]
                              [--work DIR] [--ankdown PATH] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gencourse import write_course  # noqa: E402
from run import find_ankdown, machine, run_measured  # noqa: E402

SIZES = {"build": 500, "apkg": 10_000, "large": 50_000}
QUICK_SIZES = {"build": 40, "apkg": 1_000, "large": 2_000}
STAGES = ("build", "preview", "apkg", "large")

#: The limits of issue 14 (times as ratios, memory in MiB).
LIMITS = {
    "build_vs_floor": 2.0,
    "build_mib": 600,
    "one_file_vs_full": 0.25,
    "unchanged_vs_full": 0.05,
    "serve_edit_vs_preview": 0.10,
    "apkg_vs_floor": 1.25,
    "apkg_vs_ankdown": 1.0,
    "apkg_mib": 200,
    "large_mib": 600,
}


@dataclass
class Run:
    """One measured command: wall time, the tree's peak PSS, the largest process's peak RSS."""

    seconds: float
    tree_pss_mib: float
    max_rss_mib: float

    @property
    def memory_mib(self) -> float:
        return max(self.tree_pss_mib, self.max_rss_mib)


@dataclass
class Series:
    runs: dict[str, list[Run]] = field(default_factory=dict)
    counts: dict[str, list[int]] = field(default_factory=dict)

    def add(self, what: str, run: Run) -> Run:
        self.runs.setdefault(what, []).append(run)
        return run

    def median(self, what: str) -> Run | None:
        found = self.runs.get(what)
        if not found:
            return None
        return Run(
            statistics.median(r.seconds for r in found),
            statistics.median(r.tree_pss_mib for r in found),
            statistics.median(r.max_rss_mib for r in found),
        )

    def peak(self, what: str) -> float | None:
        """The highest memory of any run of ``what`` (memory limits hold for every run)."""
        found = self.runs.get(what)
        return max(r.memory_mib for r in found) if found else None


def measure(command: list[str], env: dict[str, str]) -> Run:
    """Run ``command`` to its end; fail loudly if it fails."""
    seconds, tree_kib, largest_kib = run_measured(command, env)
    return Run(seconds, tree_kib / 1024, largest_kib / 1024)


def environment(cache: Path, **extra: str) -> dict[str, str]:
    """The environment of a measured command: no SOURCE_DATE_EPOCH, its own PDF cache."""
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env.update(FLASHGEN_CACHE_DIR=str(cache), NO_COLOR="1", **extra)
    return env


def fresh(*folders: Path) -> None:
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def course_of(work: Path, size: int, ankdown: bool = False) -> tuple[Path, Path]:
    """The benchmark course of ``size`` concepts (and its ankdown copy), written once."""
    course, markdown = work / f"course-{size}", work / f"ankdown-{size}"
    if not (course / "course.yaml").exists() or (ankdown and not markdown.is_dir()):
        print(f"  writing the {size:,}-concept course ...", file=sys.stderr)
        fresh(course, markdown)
        write_course(size, course, markdown if ankdown else None)
    return course, markdown


def edit_summary(course: Path, text: str) -> str:
    """Put ``text`` at the start of one concept's summary (the middle chapter's first concept,
    replacing what an earlier call put there); the concept's id."""
    chapters = sorted(p for p in course.iterdir() if p.is_dir() and not p.name.startswith("."))
    target = sorted(chapters[len(chapters) // 2].glob("*.yaml"))[0]
    source = target.read_text(encoding="utf-8")
    marker = "summary: >-\n  "
    head, _, rest = source.partition(marker)
    if rest.startswith("Edited "):
        rest = rest.split(". ", 1)[1]
    target.write_text(f"{head}{marker}Edited {text}. {rest}", encoding="utf-8")
    return source.split("\n", 1)[0].removeprefix("id: ").strip()


FLASHGEN = [sys.executable, "-m", "flashgen"]


def bench_build(size: int, rounds: int, work: Path, keep_recording: bool = False) -> Series:
    """Target (a) and (b): the default build, cold, then unchanged, then one file changed."""
    course, _ = course_of(work, size)
    series = Series()
    dump, out, cache = work / f"typst-{size}", work / f"build-{size}", work / f"cache-{size}"
    floor_out = work / f"floor-{size}"
    build = [*FLASHGEN, "build", str(course), "-o", str(out), "-q"]
    if keep_recording and any(dump.glob("*/job.json")):
        print(f"  {size:,} concepts: using the recording in {dump}", file=sys.stderr)
    else:
        print(f"  {size:,} concepts: recording what flashgen gives Typst ...", file=sys.stderr)
        fresh(dump, out, cache)
        dump.mkdir(parents=True)
        path = [str(HERE / "typst_dump"), os.environ.get("PYTHONPATH", "")]
        recording = environment(
            cache,
            FLASHGEN_BENCH_TYPST_DUMP=str(dump),
            PYTHONPATH=os.pathsep.join(filter(None, path)),
        )
        measure(build, recording)
    series.counts["recorded_documents"] = [len(list(dump.glob("*/job.json")))]
    floor = [sys.executable, str(HERE / "floor.py"), str(course), str(floor_out)]
    floor += ["--typst", str(dump)]
    for number in range(rounds):
        print(f"  {size:,} concepts: build, round {number + 1}/{rounds}", file=sys.stderr)
        fresh(floor_out, out, cache)
        series.add("floor", measure(floor, environment(cache)))
        fresh(cache)
        series.add("full", measure(build, environment(cache)))
        series.counts.setdefault("pdfs", []).append(len(list(out.glob("*.pdf"))))
        series.add("unchanged", measure(build, environment(cache)))
        edit_summary(course, f"in round {number + 1}")
        series.add("one_file", measure(build, environment(cache)))
    return series


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError):
        return None


def wait_for(url: str, text: str, timeout: float, poll: float = 0.02) -> float:
    """Seconds until ``url`` serves a page holding ``text`` (SystemExit after ``timeout``)."""
    start = time.perf_counter()
    while True:
        page = fetch(url)
        if page is not None and text in page:
            return time.perf_counter() - start
        if time.perf_counter() - start > timeout:
            raise SystemExit(f"{url} did not show {text!r} within {timeout:.0f} s")
        time.sleep(poll)


@contextlib.contextmanager
def serving(course: Path, site: Path, cache: Path) -> Iterator[str]:
    """``flashgen preview --serve`` in a child process; its base URL once it is up."""
    port = free_port()
    command = [*FLASHGEN, "preview", str(course), "-o", str(site), "--serve", "--port", str(port)]
    log = (site.parent / f"{site.name}.log").open("w")
    process = subprocess.Popen(command, env=environment(cache), stdout=log, stderr=log)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def bench_preview(size: int, rounds: int, work: Path) -> Series:
    """Target (c): a one-file edit shown by ``preview --serve`` vs a full preview build."""
    course, _ = course_of(work, size)
    series = Series()
    full_site, cache = work / f"preview-{size}", work / f"preview-cache-{size}"
    live_site, live_cache = work / f"serve-{size}", work / f"serve-cache-{size}"
    fresh(live_site, live_cache)
    concept = edit_summary(course, "before serving")
    with serving(course, live_site, live_cache) as url:
        page = f"{url}concepts/{concept}.html"
        wait_for(page, "Edited before serving", timeout=600, poll=0.2)
        time.sleep(2)  # let the watcher settle after the first build
        for number in range(rounds):
            print(f"  {size:,} concepts: preview, round {number + 1}/{rounds}", file=sys.stderr)
            fresh(full_site, cache)
            command = [*FLASHGEN, "preview", str(course), "-o", str(full_site), "-q"]
            series.add("preview_full", measure(command, environment(cache)))
            marker = f"serve edit {number + 1} {time.time_ns()}"
            edit_summary(course, marker)
            seconds = wait_for(page, marker, timeout=600)
            series.add("serve_edit", Run(seconds, 0.0, 0.0))
            time.sleep(1)
    return series


def bench_apkg(size: int, rounds: int, work: Path, ankdown: str | None) -> Series:
    """Target (d): ``build --only apkg`` cold vs the baseline deck and vs ankdown."""
    course, markdown = course_of(work, size, ankdown=ankdown is not None)
    series = Series()
    out, cache = work / f"apkg-{size}", work / f"apkg-cache-{size}"
    build = [*FLASHGEN, "build", str(course), "-o", str(out), "--only", "apkg", "-q"]
    floor = [sys.executable, str(HERE / "baseline.py"), str(course), str(work / "baseline.apkg")]
    for number in range(rounds):
        print(f"  {size:,} concepts: apkg, round {number + 1}/{rounds}", file=sys.stderr)
        series.add("floor", measure(floor, environment(cache)))
        fresh(out, cache)
        series.add("apkg", measure(build, environment(cache)))
        if ankdown:
            target = work / f"ankdown-{size}.apkg"
            command = [ankdown, "-r", str(markdown), "-p", str(target)]
            series.add("ankdown", measure(command, environment(cache)))
    return series


# -- the report ---------------------------------------------------------------------------


def seconds(run: Run | None) -> str:
    return "–" if run is None else f"{run.seconds:.2f} s"


def memory(run: Run | None, peak: float | None = None) -> str:
    if run is None:
        return "–"
    return (
        f"{peak if peak is not None else run.memory_mib:.0f} MiB "
        f"(tree PSS {run.tree_pss_mib:.0f}, largest RSS {run.max_rss_mib:.0f})"
    )


def verdict(value: float | None, limit: float) -> str:
    if value is None:
        return "not measured"
    return "met" if value <= limit + 1e-9 else "**not met**"


def ratio_row(
    what: str,
    mine: Run | None,
    base: Run | None,
    base_name: str,
    limit: float,
    percent: bool = False,
) -> str:
    value = mine.seconds / base.seconds if mine and base else None
    shown = "–" if value is None else (f"{value:.1%}" if percent else f"{value:.2f}×")
    bound = f"≤ {limit:.0%}" if percent else f"≤ {limit:g}×"
    return (
        f"| {what} | {seconds(mine)} | {seconds(base)} ({base_name}) | {shown} | {bound} "
        f"| {verdict(value, limit)} |"
    )


def memory_row(what: str, series: Series, key: str, limit: float) -> str:
    run, peak = series.median(key), series.peak(key)
    return f"| {what} | {memory(run, peak)} | – | – | ≤ {limit:g} MiB | {verdict(peak, limit)} |"


def report(results: dict[str, tuple[int, Series]], rounds: dict[str, int]) -> str:
    lines = [
        "| target | flashgen | reference | ratio | limit | verdict |",
        "|---|---|---|---|---|---|",
    ]
    if "build" in results:
        size, s = results["build"]
        full = s.median("full")
        name = f"default build, {size:,} concepts, cold"
        lines.append(ratio_row(name, full, s.median("floor"), "floor", LIMITS["build_vs_floor"]))
        lines.append(memory_row(f"{name}: peak memory", s, "full", LIMITS["build_mib"]))
        pdfs = s.counts.get("pdfs", [])
        most = max(pdfs) if pdfs else None
        lines.append(
            f"| {name}: PDF files | {most if most is not None else '–'} | – | – "
            "| exactly 2 | "
            f"{'not measured' if not pdfs else 'met' if set(pdfs) == {2} else '**not met**'} |"
        )
        lines.append(
            ratio_row(
                "build, one concept file changed",
                s.median("one_file"),
                full,
                "full build",
                LIMITS["one_file_vs_full"],
                percent=True,
            )
        )
        lines.append(
            ratio_row(
                "build, nothing changed",
                s.median("unchanged"),
                full,
                "full build",
                LIMITS["unchanged_vs_full"],
                percent=True,
            )
        )
    if "preview" in results:
        size, s = results["preview"]
        lines.append(
            ratio_row(
                f"preview --serve, one-file edit shown ({size:,} concepts)",
                s.median("serve_edit"),
                s.median("preview_full"),
                "full preview",
                LIMITS["serve_edit_vs_preview"],
                percent=True,
            )
        )
    if "apkg" in results:
        size, s = results["apkg"]
        name = f"build --only apkg, {size:,} concepts, cold"
        mine = s.median("apkg")
        lines.append(ratio_row(name, mine, s.median("floor"), "baseline", LIMITS["apkg_vs_floor"]))
        if s.median("ankdown"):
            lines.append(
                ratio_row(
                    f"{name}, vs ankdown",
                    mine,
                    s.median("ankdown"),
                    "ankdown",
                    LIMITS["apkg_vs_ankdown"],
                )
            )
        lines.append(memory_row(f"{name}: peak memory", s, "apkg", LIMITS["apkg_mib"]))
    if "large" in results:
        size, s = results["large"]
        name = f"build --only apkg, {size:,} concepts, cold"
        lines.append(
            ratio_row(
                name, s.median("apkg"), s.median("floor"), "baseline", LIMITS["apkg_vs_floor"]
            )
        )
        lines.append(memory_row(f"{name}: peak memory", s, "apkg", LIMITS["large_mib"]))
    notes = ", ".join(f"{stage} {count}" for stage, count in rounds.items())
    return "\n".join(lines) + f"\n\nMedians of rounds: {notes}."


def raw_table(results: dict[str, tuple[int, Series]]) -> str:
    lines = ["| stage | what | runs | median time | median memory |", "|---|---|---|---|---|"]
    for stage, (size, s) in results.items():
        for what, runs in s.runs.items():
            run = s.median(what)
            mem = memory(run) if run and run.memory_mib else "–"
            lines.append(f"| {stage} ({size:,}) | {what} | {len(runs)} | {seconds(run)} | {mem} |")
        for what, counts in s.counts.items():
            lines.append(f"| {stage} ({size:,}) | {what} | {len(counts)} | {counts} | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench/run.py targets", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default=",".join(STAGES), help="stages, comma-separated")
    parser.add_argument("--sizes", help="override sizes, e.g. build=500,apkg=10000,large=50000")
    parser.add_argument("--work", type=Path, default=Path("/tmp/flashgen-bench-targets"))
    parser.add_argument("--ankdown", help="path of the ankdown command")
    parser.add_argument("--json", type=Path, help="also write every run here")
    parser.add_argument(
        "--keep-recording",
        action="store_true",
        help="reuse the Typst documents recorded by an earlier run in --work (the same code)",
    )
    args = parser.parse_args(argv)
    sizes = dict(QUICK_SIZES if args.quick else SIZES)
    for item in filter(None, (args.sizes or "").split(",")):
        stage, _, value = item.partition("=")
        sizes[stage] = int(value)
    stages = [stage for stage in args.only.split(",") if stage]
    unknown = set(stages) - set(STAGES)
    if unknown:
        parser.error(f"unknown stages: {', '.join(sorted(unknown))}")
    ankdown = find_ankdown(args.ankdown) if "apkg" in stages else None
    if "apkg" in stages and ankdown is None:
        print(
            "ankdown not found (--ankdown, $FLASHGEN_BENCH_ANKDOWN or PATH): its row is left out",
            file=sys.stderr,
        )
    work = args.work.absolute()
    work.mkdir(parents=True, exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    results: dict[str, tuple[int, Series]] = {}
    rounds: dict[str, int] = {}
    failures: dict[str, str] = {}
    for stage in STAGES:
        if stage not in stages:
            continue
        count = 1 if stage == "large" else args.rounds
        rounds[stage] = count
        try:
            if stage == "build":
                build = bench_build(sizes["build"], count, work, args.keep_recording)
                results[stage] = (sizes["build"], build)
            elif stage == "preview":
                results[stage] = (sizes["build"], bench_preview(sizes["build"], count, work))
            elif stage == "apkg":
                results[stage] = (sizes["apkg"], bench_apkg(sizes["apkg"], count, work, ankdown))
            else:
                results[stage] = (sizes["large"], bench_apkg(sizes["large"], count, work, None))
        except SystemExit as failure:  # a failed command: report it, run the other stages
            failures[stage] = str(failure)
            print(f"  {stage} failed: {failure}", file=sys.stderr)
            continue
        print(report(results, rounds), file=sys.stderr)  # so far, in case a later stage hangs
        if args.json:
            write_json(args.json, results)
    ended = datetime.datetime.now(datetime.timezone.utc)
    command = "python bench/run.py targets " + " ".join(argv if argv is not None else sys.argv[2:])
    print(f"Machine: {machine()}")
    print(f"Run: {started:%Y-%m-%d %H:%M}–{ended:%H:%M} UTC; command: `{command.strip()}`\n")
    print(report(results, rounds))
    print("\nEvery run (medians):\n")
    print(raw_table(results))
    for stage, message in failures.items():
        print(f"\n{stage} failed:\n{message}")
    return 1 if failures else 0


def write_json(path: Path, results: dict[str, tuple[int, Series]]) -> None:
    raw = {
        stage: {
            "size": size,
            "runs": {what: [vars(run) for run in runs] for what, runs in s.runs.items()},
            "counts": s.counts,
        }
        for stage, (size, s) in results.items()
    }
    path.write_text(json.dumps(raw, indent=2))


if __name__ == "__main__":
    sys.exit(main())
