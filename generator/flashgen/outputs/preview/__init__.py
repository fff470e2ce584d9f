"""``flashgen preview``: a static website showing every card as Anki renders it.

The course is built into a real ``.apkg`` (the same code as ``flashgen build``), the package is
imported into a throw-away collection with the official ``anki`` package, and each card's
question and answer HTML and its note type's CSS are taken from Anki's own renderer. So the
preview cannot drift from the deck: what the page shows is what a student's Anki shows.

Each card side runs in its own frame (``<iframe srcdoc>``) with the card's CSS, like a page of
an Anki client; the front and the back of a card share the page's ``sessionStorage``, so a pick
on a quiz front shows its verdict on the back, as in a review.

* :mod:`.anki_render`: the cards as Anki renders them;
* :mod:`.pages`: the index and the concept pages;
* :mod:`.site`: the whole site, rebuilt by content (:class:`~.site.PreviewMemo`);
* :mod:`.server`: ``--serve``, a local server that rebuilds on every change and reloads pages.
"""

from flashgen.outputs.preview.anki_render import (
    INSTALL_HINT,
    CardSide,
    PreviewUnavailable,
    render_with_anki,
    require,
)
from flashgen.outputs.preview.memo import PreviewMemo
from flashgen.outputs.preview.pages import (
    MAX_PAGE_CHARS,
    WHOLE_MAP_LIMIT,
    SiteWriter,
    card_document,
    page_name,
)
from flashgen.outputs.preview.server import (
    HOST,
    PortInUse,
    PreviewServer,
    free_port_after,
    serve_forever,
)
from flashgen.outputs.preview.site import PreviewResult, build_preview

__all__ = [
    "HOST",
    "INSTALL_HINT",
    "MAX_PAGE_CHARS",
    "WHOLE_MAP_LIMIT",
    "CardSide",
    "PortInUse",
    "PreviewMemo",
    "PreviewResult",
    "PreviewServer",
    "PreviewUnavailable",
    "SiteWriter",
    "build_preview",
    "card_document",
    "free_port_after",
    "page_name",
    "render_with_anki",
    "require",
    "serve_forever",
]
