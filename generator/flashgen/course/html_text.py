"""Tags in course text, found without parsing Markdown: what a title keeps as an Anki deck
name, and raw HTML split into tags and text. The reader needs the first (a title's tags are
reported where they are written), the renderers the second."""

from __future__ import annotations

import re

TAG_NAME = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)")
#: A tag longer than this is not looked for (keeps scanning raw HTML linear).
MAX_TAG = 4096

#: Names of HTML elements (beyond markdown-it's block names) that must not reach a deck name.
_INLINE_ELEMENTS = frozenset({
    "a", "abbr", "audio", "b", "bdi", "bdo", "br", "button", "canvas", "cite", "code", "data",
    "del", "dfn", "em", "embed", "font", "i", "iframe", "img", "image", "input", "ins", "kbd",
    "label", "map", "mark", "marquee", "math", "meter", "object", "output", "picture", "portal",
    "q", "s", "samp", "script", "select", "slot", "small", "source", "span", "strong", "style",
    "sub", "sup", "svg", "template", "textarea", "time", "u", "var", "video", "wbr",
})  # fmt: skip


def deck_name_text(title: str) -> tuple[str, list[tuple[int, str]]]:
    """A course or chapter title as an Anki deck name, and the tags left out of it (offset in
    ``title``, tag): an HTML element or comment, or any tag with attributes. Some Anki versions
    show deck names as HTML, and a name cannot be escaped; ``<T>``-like tokens stay."""
    if "<" not in title:
        return title, []
    from markdown_it.common.html_blocks import block_names

    kept: list[str] = []
    removed: list[tuple[int, str]] = []
    offset = 0
    for is_tag, piece in raw_html_pieces(title):
        name = TAG_NAME.match(piece)
        if is_tag and (
            name is None
            or name.group(2).lower() in _INLINE_ELEMENTS
            or name.group(2).lower() in block_names
            or re.search(r"\s\S", piece[name.end() :])
        ):
            removed.append((offset, piece))
        else:
            kept.append(piece)
        offset += len(piece)
    return " ".join("".join(kept).split()), removed


def raw_html_pieces(html: str) -> list[tuple[bool, str]]:
    """Raw HTML (an HTML block's content) as ``(is_tag, text)`` pieces, in order."""
    from markdown_it.common.html_re import HTML_TAG_RE

    pieces: list[tuple[bool, str]] = []
    start = 0
    position = html.find("<")
    while position != -1:
        match = HTML_TAG_RE.match(html, position, min(len(html), position + MAX_TAG))
        if match is None:
            position = html.find("<", position + 1)
            continue
        if match.start() > start:
            pieces.append((False, html[start : match.start()]))
        pieces.append((True, match.group()))
        start = match.end()
        position = html.find("<", start)
    if start < len(html):
        pieces.append((False, html[start:]))
    return pieces
