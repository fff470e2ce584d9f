"""Checks of one concept's texts that need the renderer's rules: images, HTML and nesting
(:mod:`flashgen.render.markup_check`), MathJax commands cards may not hold and formulas that
Markdown shows as text. Each finding is located where it is written. They read one concept
file alone, so the pipeline keeps their results with the file's (:mod:`flashgen.pipeline.load`).
"""

from __future__ import annotations

from pathlib import Path

from flashgen.course.checks import markdown_texts
from flashgen.course.model import Concept
from flashgen.diagnostics import Diagnostics
from flashgen.render.formulas import concept_texts, math_text_slips
from flashgen.render.markdown import mathjax_refusals
from flashgen.render.markup_check import image_problem, scan


def check_concept_images(concept: Concept, root: Path, diag: Diagnostics) -> bool:
    """Check the Markdown of every text of a concept (``root`` resolved): images, HTML and
    nesting (see :mod:`flashgen.render.markup_check`); return whether it names any image.

    A concept that names images is never taken from the pipeline's memo: the image files can
    change, appear or vanish without its own file changing.
    """
    base = concept.path.parent
    found = False
    for text, owner, key, index in markdown_texts(concept):
        findings, images = scan(text)
        if not findings and not images:
            continue
        offsets = _Offsets(text)
        for finding in findings:
            offset = offsets.of(finding.snippet, finding.line)
            where = owner.where(key, offset, index)
            (diag.error if finding.severity == "error" else diag.warning)(where, finding.message)
        for image in images:
            found = True
            problem = image_problem(image.src, base, root)
            if problem:
                offset = offsets.of(image.src)
                if offset is None:
                    offset = offsets.of(image.snippet)
                diag.error(owner.where(key, offset, index), problem)
    return found


def check_concept_math(concept: Concept, diag: Diagnostics) -> None:
    """MathJax commands that cards may not hold (:data:`flashgen.render.markdown.UNSAFE_MATHJAX`),
    each an error where it is written; formulas Markdown shows as text, each a warning."""
    for text, where in concept_texts(concept):
        for offset, message in math_text_slips(text):
            diag.warning(where(offset), message)
        if "\\" not in text:
            continue
        for name, offset in mathjax_refusals(text):
            diag.error(
                where(offset),
                f"formula command \\{name} is not allowed: MathJax's safe mode refuses links, "
                "styles, classes, ids, data attributes and extensions on cards; remove it",
            )


class _Offsets:
    """Where in a text a finding's piece of source stands: the n-th time a piece is asked
    for, its n-th occurrence; a piece not found as written, the start of its line."""

    def __init__(self, text: str):
        self.text = text
        self._after: dict[str, int] = {}

    def of(self, snippet: str, line: int | None = None) -> int | None:
        if snippet:
            found = self.text.find(snippet, self._after.get(snippet, 0))
            if found != -1:
                self._after[snippet] = found + len(snippet)
                return found
        if line is None:
            return None
        offset = 0
        for _ in range(line):
            offset = self.text.find("\n", offset) + 1
            if offset == 0:
                return None
        while self.text[offset : offset + 1] in (" ", "\t"):
            offset += 1
        return offset
