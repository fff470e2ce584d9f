"""The floor of a default build: the deck as bench/baseline.py writes it, plus Typst alone
compiling the documents flashgen compiled (recorded by bench/typst_dump/sitecustomize.py).

Nothing here reads Markdown, checks a course or lays out data: the Typst documents are the ones
a recorded flashgen build handed to Typst (its templates, its JSON data, its media and concept
maps), compiled again one after the other in this one process, with the same options. So the
floor is what the libraries themselves cost for the same output, and flashgen's build is
measured as a ratio to it.

Usage:
  python bench/floor.py COURSE_DIR OUT_DIR --typst DUMP_DIR   deck and PDFs
  python bench/floor.py COURSE_DIR OUT_DIR                    deck only
  python bench/floor.py - OUT_DIR --typst DUMP_DIR            PDFs only
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baseline


def recorded_jobs(dump: Path) -> list[Path]:
    """The recorded compiles in ``dump``, in the order they were made within each process."""
    return sorted(path.parent for path in dump.glob("*/job.json"))


def compile_recorded(dump: Path, out: Path) -> list[Path]:
    """Compile every recorded document again; the PDFs written (``out/typst-<n>-<main>.pdf``,
    named after the main file, such as ``typst-1-cards.pdf``)."""
    import typst

    fonts = typst.Fonts()
    written = []
    for number, job_dir in enumerate(recorded_jobs(dump), 1):
        job = json.loads((job_dir / "job.json").read_text("utf-8"))
        root = job_dir / "root"
        in_root = "main" in job
        main = root / job["main"] if in_root else (job_dir / job["main_bytes"]).read_bytes()
        compiler = typst.Compiler(main, root=root, sys_inputs=job["sys_inputs"], font_paths=fonts)
        pdf = compiler.compile(format="pdf", **job["options"])
        assert isinstance(pdf, bytes)
        stem = Path(job.get("main", "main")).stem
        target = out / f"typst-{number}-{stem}.pdf"
        target.write_bytes(pdf)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("course", help="course folder, or - for no deck")
    parser.add_argument("out", type=Path)
    parser.add_argument("--typst", type=Path, help="folder of recorded Typst compiles")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.course != "-":
        course, concepts = baseline.load(Path(args.course))
        baseline.write(course, concepts, args.out / "floor.apkg")
    pdfs = compile_recorded(args.typst, args.out) if args.typst else []
    print(f"wrote the deck and {len(pdfs)} PDFs into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
