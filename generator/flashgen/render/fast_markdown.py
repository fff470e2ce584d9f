"""The fast path of :class:`flashgen.render.markdown.HtmlRenderer`: a small subset of
Markdown rendered without markdown-it and nh3, exactly as they would render it.

Most course text is prose with a little inline formatting. Parsing it with markdown-it and
sanitising the result costs ~100 µs a field, which at 50,000 notes (250,000 fields) dominates
a build. :func:`fast_render` handles a deliberately small subset exactly as markdown-it + nh3
would, and returns ``None`` for anything else, which then takes the full path:

* paragraphs of lines without leading or trailing white space, separated by empty lines;
* a line starts with a letter, digit (not ``1.``/``1)`` lists), ``(``, a quote, or one of the
  inline constructs below: never a block construct (heading, list, quote, fence, table, HTML);
* inline: plain text without ``\\ ` * _ ~ [ ] < & $`` (so no escapes, links, images, HTML,
  entities or strikethrough); ``*em*``/``_em_``/``**strong**``/``__strong__`` around plain
  text, opened after a space or ``(`` and closed before a space, end or ``.,;:!?)``;
  `` `code` `` without a space at either end; ``$math$`` following dollarmath's rules.

Why not a compiled CommonMark parser (markdown-it-pyrs): see "The Markdown fast path" in
docs/performance.md. tests/render/test_fast_markdown.py checks this module against the full path on
generated text and on every CommonMark spec example.
"""

from __future__ import annotations

import re

_PLAIN = re.compile(r"[^\\`*_~\[\]<&$]+")
_ORDERED_LIST = re.compile(r"\d{1,9}[.)](?:\s|$)")
_EMPHASIS_BEFORE = frozenset(" (")
_EMPHASIS_AFTER = frozenset(" .,;:!?)")
_LINE_START = frozenset("(\"'*_`$")


def _escape_text(text: str) -> str:
    """Text as nh3 serialises it (quotes stay as they are)."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _html_pieces(pieces: list[tuple[str, str]]) -> str:
    out = []
    for kind, content in pieces:
        if kind == "text":
            out.append(_escape_text(content))
        elif kind == "code":
            out.append(f"<code>{_escape_text(content)}</code>")
        elif kind == "math":
            out.append("\\(" + _escape_text(content) + "\\)")
        else:
            out.append(f"<{kind}>{_escape_text(content)}</{kind}>")
    return "".join(out)


def inline_pieces(
    line: str, first_of_paragraph: bool, last_char: str
) -> list[tuple[str, str]] | None:
    """One line of inline Markdown in the fast subset as (kind, content) pieces, each what
    markdown-it makes one token (or one emphasis around one text token) of: ``text``,
    ``code``, ``math``, ``em`` or ``strong``; ``None`` outside the fast subset."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(line)
    while i < n:
        plain = _PLAIN.match(line, i)
        if plain is not None:
            out.append(("text", plain.group()))
            i = plain.end()
            continue
        char = line[i]
        if char == "`":
            end = line.find("`", i + 1)
            if end <= i + 1 or (end + 1 < n and line[end + 1] == "`"):
                return None
            code = line[i + 1 : end]
            if code[0] == " " or code[-1] == " ":
                return None
            out.append(("code", code))
            i = end + 1
        elif char == "$":
            end = line.find("$", i + 1)
            if end <= i + 1:  # no closing $, or "$$"
                return None
            math = line[i + 1 : end]
            before = line[i - 1] if i else ("" if not first_of_paragraph else last_char)
            after = line[end + 1] if end + 1 < n else ""
            if (
                math[0].isspace()
                or math[-1].isspace()
                or math[-1] == "\\"
                or before.isdigit()
                or after.isdigit()
                or after == "$"
            ):
                return None
            out.append(("math", math))
            i = end + 1
        elif char in "*_":
            size = 2 if line.startswith(char * 2, i) else 1
            start = i + size
            if i and line[i - 1] not in _EMPHASIS_BEFORE:
                return None
            inner = _PLAIN.match(line, start)
            if inner is None:
                return None
            end = inner.end()
            text = inner.group()
            if (
                not line.startswith(char * size, end)
                or (end + size < n and line[end + size] not in _EMPHASIS_AFTER)
                or not text[0].isalnum()
                or not text[-1].isalnum()
            ):
                return None
            tag = "strong" if size == 2 else "em"
            out.append((tag, text))
            i = end + size
        else:
            return None
    return out


def fast_paragraphs(
    text: str, inline: bool = False
) -> list[tuple[int, list[list[tuple[str, str]]]]] | None:
    """``text`` in the fast subset as paragraphs: (the number of its first line, counted from
    0, and each line's :func:`inline_pieces`); ``None`` outside the fast subset."""
    if inline:
        if not text or not text.isprintable() or text != text.strip():
            return None
        pieces = inline_pieces(text, True, text[-1])
        return None if pieces is None else [(0, [pieces])]
    paragraphs: list[tuple[int, list[list[tuple[str, str]]]]] = []
    lines: list[str] = []
    start = 0
    for number, line in enumerate([*text.split("\n"), ""]):
        if line:
            if not line.isprintable() or line != line.strip():
                return None
            first = line[0]
            if not (first.isalnum() or first in _LINE_START):
                return None
            if first.isdigit() and _ORDERED_LIST.match(line):
                return None
            if not lines:
                start = number
            lines.append(line)
        elif lines:
            last_char = lines[-1][-1]
            found = []
            for index, part in enumerate(lines):
                pieces = inline_pieces(part, index == 0, last_char)
                if pieces is None:
                    return None
                found.append(pieces)
            paragraphs.append((start, found))
            lines = []
    return paragraphs if paragraphs else None


def fast_render(text: str, inline: bool = False) -> str | None:
    """``text`` rendered as :meth:`HtmlRenderer.render` would, when it is simple enough.

    ``None`` means "not in the fast subset": render it with the full parser.
    """
    paragraphs = fast_paragraphs(text, inline)
    if paragraphs is None:
        return None
    if inline:
        return _html_pieces(paragraphs[0][1][0])
    return "\n".join(
        "<p>" + "\n".join(_html_pieces(line) for line in lines) + "</p>" for _, lines in paragraphs
    )
