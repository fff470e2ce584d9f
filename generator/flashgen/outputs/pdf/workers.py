"""Typesetting in worker processes: each PDF in a fresh process that exits after it, so that
Typst's memory (its caches only grow within a process) is given back after every document and
the build's own process stays small."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from flashgen.atomic import tie_to_build
from flashgen.diagnostics import CourseError
from flashgen.outputs.pdf.typeset import Failure, compile_document, typst_error

#: Worker processes that typeset the parts of a split course at the same time, and how many
#: parts each typesets before it is replaced by a fresh one (Typst's caches only grow within a
#: process). A course's two whole PDFs are typeset one after the other, in one worker each:
#: typesetting both at once would need the memory of both.
WORKERS = 2
PARTS_PER_WORKER = 1


def typeset_all(
    root: Path,
    spool: Path,
    tasks: list[tuple[str, str]],
    timestamp: int,
    origins: dict[str, Path],
    workers: int = WORKERS,
) -> list[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Typeset each (kind, key) of ``tasks`` (data ``root/<key>.json``, PDF written to
    ``spool/<key>.pdf``) in worker processes: ``workers`` at a time, each a fresh process
    that typesets ``PARTS_PER_WORKER`` parts and exits. The results (overflow and measured
    sides), in the order of ``tasks``, do not depend on which worker typeset what.

    (Not one pool with ``max_tasks_per_child``: replacing its workers can hang on Python 3.11.)
    """
    from concurrent.futures import ThreadPoolExecutor

    batches = [tasks[i : i + PARTS_PER_WORKER] for i in range(0, len(tasks), PARTS_PER_WORKER)]
    workers = max(1, min(workers, os.cpu_count() or 1, len(batches)))
    work = functools.partial(_typeset_batch, str(root), str(spool), timestamp)
    outcomes: list[tuple[Any, ...]] = []
    with ThreadPoolExecutor(max_workers=workers) as threads:
        futures = [threads.submit(work, batch) for batch in batches]
        try:
            for future in futures:
                for outcome in future.result():
                    if outcome[0] == "error":
                        raise CourseError(typst_error(Failure(*outcome[1:]), root, origins))
                    outcomes.append(outcome)
        finally:
            for future in futures:
                future.cancel()
    return [(overflow, measured) for _, overflow, measured in outcomes]


def _typeset_batch(
    root: str, spool: str, timestamp: int, batch: list[tuple[str, str]]
) -> list[tuple[Any, ...]]:
    """Typeset ``batch`` in a new worker process, which ends with it (stopping at an error)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    found = []
    with ProcessPoolExecutor(
        max_workers=1, mp_context=context, initializer=tie_to_build, initargs=(os.getpid(),)
    ) as process:
        for kind, key in batch:
            outcome = process.submit(_typeset_task, root, kind, key, spool, timestamp).result()
            found.append(outcome)
            if outcome[0] == "error":
                break
    return found


def _typeset_task(root: str, kind: str, key: str, spool: str, timestamp: int) -> tuple[Any, ...]:
    """In a worker: write ``spool/<key>.pdf``; ("ok", overflow, measured), or ("error", text,
    message, hints)."""
    import typst

    try:
        data = f"/{key}.json"
        pdf, overflow, measured = compile_document(Path(root), kind, timestamp, typst.Fonts(), data)
    except typst.TypstError as error:
        text = str(getattr(error, "diagnostic", "") or error)
        message = str(getattr(error, "message", "") or text.splitlines()[0])
        return ("error", text, message, [str(h) for h in getattr(error, "hints", None) or []])
    (Path(spool) / f"{key}.pdf").write_bytes(pdf)
    return ("ok", overflow, measured)
