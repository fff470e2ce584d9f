"""Record every PDF that Typst compiles, so that the floor can compile the same documents alone.

Python imports ``sitecustomize`` at start-up from the first folder of ``sys.path`` that holds
one; ``bench/targets.py`` puts this folder on ``PYTHONPATH`` (so every worker process flashgen
starts inherits it) and names an empty folder in ``$FLASHGEN_BENCH_TYPST_DUMP``. Then each
``Compiler.compile(format="pdf")`` (and ``typst.compile`` to a PDF) first copies its project
root into ``DUMP/<n>/root`` and writes ``DUMP/<n>/job.json``: the main file, ``sys.inputs``
and the options, which is all Typst needs to compile that document again (``bench/floor.py``).

This does not change what flashgen computes; it only makes the recorded build slower, which
is why the harness records in a run of its own that it does not time. Without the variable
nothing is patched.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from pathlib import Path
from typing import Any

_DUMP = os.environ.get("FLASHGEN_BENCH_TYPST_DUMP", "")
_numbers = itertools.count(1)


def _record(main: Any, root: Any, sys_inputs: dict[str, str], options: dict[str, Any]) -> None:
    job_dir = Path(_DUMP) / f"{os.getpid()}-{next(_numbers):04d}"
    target = job_dir / "root"
    job: dict[str, Any] = {"sys_inputs": dict(sys_inputs or {}), "options": options}
    if root is not None:
        shutil.copytree(root, target, symlinks=True)
    else:
        target.mkdir(parents=True)
    if isinstance(main, (bytes, bytearray)):
        (job_dir / "main.typ").write_bytes(bytes(main))
        job["main_bytes"] = "main.typ"
    elif root is not None:
        job["main"] = Path(main).resolve().relative_to(Path(root).resolve()).as_posix()
    else:
        job["main_bytes"] = "main.typ"
        shutil.copyfile(main, job_dir / "main.typ")
    (job_dir / "job.json").write_text(json.dumps(job, indent=1), "utf-8")


def _is_pdf(format: Any, output: Any) -> bool:
    return format == "pdf" or (format is None and str(output or "").endswith(".pdf"))


def _install() -> None:
    import typst

    real_compiler, real_compile = typst.Compiler, typst.compile

    class RecordingCompiler:
        """``typst.Compiler`` that records each PDF compile before doing it."""

        def __init__(self, input: Any = None, root: Any = None, **kwargs: Any) -> None:
            self._input, self._root = input, root
            self._sys_inputs = dict(kwargs.get("sys_inputs") or {})
            self._real = real_compiler(input, root, **kwargs)

        def compile(self, input: Any = None, output: Any = None, **kwargs: Any) -> Any:
            if _is_pdf(kwargs.get("format"), output):
                sys_inputs = kwargs.get("sys_inputs", ...)
                if sys_inputs is not ...:
                    self._sys_inputs = dict(sys_inputs or {})
                options = {key: kwargs[key] for key in ("timestamp", "pdf_tags") if key in kwargs}
                _record(
                    input if input is not None else self._input,
                    kwargs.get("root") or self._root,
                    self._sys_inputs,
                    options,
                )
            return self._real.compile(input, output, **kwargs)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._real, name)

    def recording_compile(input: Any, output: Any = None, **kwargs: Any) -> Any:
        if _is_pdf(kwargs.get("format"), output):
            options = {key: kwargs[key] for key in ("timestamp", "pdf_tags") if key in kwargs}
            _record(input, kwargs.get("root"), kwargs.get("sys_inputs") or {}, options)
        return real_compile(input, output, **kwargs)

    typst.Compiler = RecordingCompiler  # type: ignore[misc]
    typst.compile = recording_compile  # type: ignore[assignment]


if _DUMP:
    _install()
