"""Printable PDFs of a study set: duplex cut-out flashcards and a study guide, typeset by Typst.

Python decides *what* is printed (the cards in learning order, their codes, the choice order
shared with Anki, the page grid, the concept map's layers) and hands it to Typst as JSON; the
layouts are ordinary Typst files in ``templates/typst/`` that a course may override one file at
a time. Course text reaches Typst only as escaped markup inside that JSON (see
:mod:`flashgen.render.typst_markup`), never pasted into a template.

Each PDF is typeset in a scratch folder that becomes Typst's ``root``: the chosen template
files, the JSON data and copies of the images the text uses. Typst cannot read anything else.

The modules, lowest first: :mod:`.layout` (paper, card grid, fit estimate), :mod:`.parts`
(which files a course gets), :mod:`.content` (the data of each document), :mod:`.typeset`
(one Typst compile), :mod:`.workers` (compiles in worker processes), :mod:`.memo` (PDFs left
untouched when their inputs did not change) and :mod:`.driver` (:func:`render_pdfs`).
"""

from flashgen.outputs.pdf.content import (
    MapPicture,
    PdfContent,
    cards_data,
    concept_maps,
    guide_data,
)
from flashgen.outputs.pdf.driver import IN_PROCESS_CARDS, Pdfs, render_pdfs
from flashgen.outputs.pdf.layout import (
    CARD_SIZES,
    KIND_LABELS,
    MIN_FONT_PT,
    PAPERS,
    SAFE_MM,
    Sheet,
    estimate_fit,
    page_count,
    sheet,
)
from flashgen.outputs.pdf.memo import MEMO_FILE, PdfMemo
from flashgen.outputs.pdf.parts import (
    SPLIT_CARDS,
    Part,
    cards_pdf_name,
    guide_pdf_name,
    pdf_name,
    pdf_parts,
    split_limit,
    split_note,
    stale_pdfs,
)
from flashgen.outputs.pdf.typeset import FIT_CACHE, stage_templates, typeset
from flashgen.outputs.pdf.workers import PARTS_PER_WORKER, WORKERS
from flashgen.render.formulas import FORMULA_CACHE, default_cache_dir

__all__ = [
    "CARD_SIZES",
    "FIT_CACHE",
    "FORMULA_CACHE",
    "IN_PROCESS_CARDS",
    "KIND_LABELS",
    "MEMO_FILE",
    "MIN_FONT_PT",
    "PAPERS",
    "PARTS_PER_WORKER",
    "SAFE_MM",
    "SPLIT_CARDS",
    "WORKERS",
    "MapPicture",
    "Part",
    "PdfContent",
    "PdfMemo",
    "Pdfs",
    "Sheet",
    "cards_data",
    "cards_pdf_name",
    "concept_maps",
    "default_cache_dir",
    "estimate_fit",
    "guide_data",
    "guide_pdf_name",
    "page_count",
    "pdf_name",
    "pdf_parts",
    "render_pdfs",
    "sheet",
    "split_limit",
    "split_note",
    "stage_templates",
    "stale_pdfs",
    "typeset",
]
