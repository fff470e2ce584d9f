"""What a text field's Markdown does that its author must hear about, found by parsing it with
the parser every output uses (:func:`flashgen.render.markdown.parser`).

Each finding names the piece of source it is about (a tag, an image's path, a link), so that
the caller can point at its line and column:

* images: every form Markdown has (``![a](x.png)``, ``![a][ref]``, ``![a [b] c](<x y.png>
  "title")``) must name a file inside the course; remote images are refused;
* raw HTML: a tag flashgen keeps loses the attributes, link targets and ``class`` values the
  sanitiser removes (a warning each); a tag it does not keep is shown as text, with a warning
  when it has attributes (it was surely meant as HTML); ``<img>`` is an error (images are
  written in Markdown, so that every output checks, packs and prints them alike);
* limits, each an error naming it: the length of a field, nesting the parser would drop text
  past, quotes nested deeper than Typst prints, formatting nested deeper than 20 levels, tables
  wider than 30 columns (past these the PDF build takes minutes and gigabytes, or fails).

Scanning is linear in the text: markdown-it's own rules are (measured: 20,000 characters of
``![`` in 0.7 s), and nothing here uses a regular expression that can backtrack over the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from flashgen.course.coursefiles import CourseFileError, read_media
from flashgen.diagnostics import Severity
from flashgen.render.markdown import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_CLASSES,
    URL_SCHEMES,
    image_path,
    is_remote,
    parser,
    raw_html_pieces,
    raw_tag_allowed,
    table_columns,
)

if TYPE_CHECKING:
    from markdown_it.token import Token

#: Nesting levels markdown-it accepts (quotes, lists and their paragraphs count one each).
MAX_NESTING = 20
#: Deepest nesting of quotes (``> > >``) Typst can print (it stops at about 12).
MAX_QUOTE_DEPTH = 10
#: Longest text field accepted, in characters: a card shows a few hundred; laying out far more
#: makes the PDF build take minutes.
MAX_TEXT_CHARS = 20_000
#: Widest table accepted: wider ones are unreadable on a card and slow to lay out in a PDF.
MAX_TABLE_COLUMNS = 30

#: Characters without which a text has nothing for this module to find.
_WORTH_PARSING = re.compile(r"[<\[|]|^[ \t>*+\-.)\d]{16}|(?:>\s*){11}", re.MULTILINE)
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9-]*)")
_ATTRIBUTE = re.compile(
    r"""\s+([a-zA-Z_:][a-zA-Z0-9:._-]*)(?:\s*=\s*("[^"]*"|'[^']*'|[^"'=<>`\x00-\x20]+))?"""
)
_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.-]*):")


_CLASS_REMOVED = (
    "class '{}' is removed: course text cannot use the classes of flashgen's card templates "
    "(they mark a quiz's verdict and choices)"
)


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Severity
    message: str
    #: The source text the finding is about, as written (to locate it); "" for the whole text.
    snippet: str
    #: The line of the text (from 0) the finding is on, if known.
    line: int | None = None


@dataclass(frozen=True, slots=True)
class ImageUse:
    """An image a text names: the file path it names, and its source as the parser gives it
    (percent-encoded), each a way to find it in the text."""

    src: str
    snippet: str


def scan(text: str) -> tuple[list[Finding], list[ImageUse]]:
    """The problems of one Markdown text, and the images it names (in order)."""
    findings: list[Finding] = []
    images: list[ImageUse] = []
    if len(text) > MAX_TEXT_CHARS:
        findings.append(
            Finding(
                "error",
                f"text is {len(text):,} characters long; the limit is {MAX_TEXT_CHARS:,} a "
                "field: a card shows far less (split it into several questions or concepts)",
                "",
            )
        )
        return findings, images
    delimiters = text.count("*") + text.count("_") + text.count("~")
    if delimiters < 2 * MAX_NESTING and not _WORTH_PARSING.search(text):
        return findings, images
    env: dict[str, object] = {"flashgen.text_tags": [], "flashgen.too_deep": []}
    tokens = parser().parse(text, env)
    for tag in env["flashgen.text_tags"]:  # type: ignore[attr-defined]
        findings.extend(_text_tag(tag))
    for line in env["flashgen.too_deep"]:  # type: ignore[attr-defined]
        findings.append(
            Finding(
                "error",
                f"Markdown is nested more than {MAX_NESTING} levels deep here (quotes, lists "
                "and indented blocks inside each other); the text from here on would be lost: "
                "nest it less",
                "",
                line,
            )
        )
    line = 0
    quotes = 0
    for index, token in enumerate(tokens):
        if token.map:
            line = token.map[0]
        if token.type == "blockquote_open":
            quotes += 1
            if quotes == MAX_QUOTE_DEPTH + 1:
                findings.append(
                    Finding(
                        "error",
                        f"quotes are nested more than {MAX_QUOTE_DEPTH} deep here, more than a "
                        "PDF can print: nest them less",
                        "",
                        line,
                    )
                )
        elif token.type == "blockquote_close":
            quotes -= 1
        elif token.type == "html_block":
            for is_tag, piece in raw_html_pieces(token.content):
                if is_tag and raw_tag_allowed(piece):
                    findings.extend(_kept_tag(piece, line))
                elif is_tag:
                    findings.extend(_text_tag(piece))
        elif token.type == "table_open":
            columns = table_columns(tokens, index)
            if columns > MAX_TABLE_COLUMNS:
                findings.append(
                    Finding(
                        "error",
                        f"table has {columns} columns; the limit is {MAX_TABLE_COLUMNS}: "
                        "split it, or turn it around (rows for columns)",
                        "",
                        line,
                    )
                )
        elif token.type == "inline":
            deepest = 0
            for child in _inline_tokens(token.children or []):
                deepest = max(deepest, child.level)
                findings.extend(_inline(child, line, images))
            if deepest >= MAX_NESTING:
                findings.append(
                    Finding(
                        "error",
                        f"formatting is nested more than {MAX_NESTING} levels deep here "
                        "(emphasis, links, strike-through inside each other): nest it less",
                        "",
                        line,
                    )
                )
    return findings, images


def _inline_tokens(tokens: Sequence[Token]) -> Iterator[Token]:
    for token in tokens:
        yield token
        if token.children and token.type != "image":
            yield from _inline_tokens(token.children)


def _inline(token: Token, line: int, images: list[ImageUse]) -> Iterator[Finding]:
    if token.type == "image":
        written = str(token.attrs.get("src", ""))
        images.append(ImageUse(image_path(written), written))
    elif token.type == "html_inline" and raw_tag_allowed(token.content):
        yield from _kept_tag(token.content, line)
    elif token.type == "link_open":
        href = str(token.attrs.get("href", ""))
        if not _url_allowed(href):
            yield Finding(
                "warning",
                f"link to '{_short(href)}' is removed (its text stays): links may go to "
                f"{', '.join(sorted(URL_SCHEMES))} addresses only",
                href,
                line,
            )


def _text_tag(tag: str) -> Iterator[Finding]:
    """A tag shown as text: worth a word only when it was surely meant as HTML."""
    name = _TAG_NAME.match(tag)
    if name is None:
        return
    if name.group(1).lower() == "img" and not tag.startswith("</"):
        yield Finding(
            "error",
            f"write images as Markdown, ![description](path/to/image.png), not {_short(tag)}: "
            "flashgen checks, packs and prints only Markdown images",
            tag,
        )
    elif _ATTRIBUTE.search(tag, name.end()):
        yield Finding(
            "warning",
            f"{_short(tag)} is not HTML a card may hold; it is shown as text (cards keep "
            "formatting tags only: see 'Special tokens and HTML' in docs/format.md)",
            tag,
        )


def _kept_tag(tag: str, line: int) -> Iterator[Finding]:
    """Warnings for what the sanitiser removes from a tag it keeps."""
    name = _TAG_NAME.match(tag)
    if name is None or tag.startswith("</"):
        return
    element = name.group(1).lower()
    allowed = ALLOWED_ATTRIBUTES.get(element, set())
    for match in _ATTRIBUTE.finditer(tag, name.end()):
        attribute = match.group(1).lower()
        value = (match.group(2) or "").strip("\"'")
        snippet = match.group().strip()
        if attribute == "class" and attribute not in allowed:
            yield Finding("warning", _CLASS_REMOVED.format(value), snippet, line)
        elif attribute not in allowed:
            remote = "url(" in value.lower() or is_remote(value)
            why = " (cards never load anything from the internet)" if remote else ""
            yield Finding(
                "warning",
                f"attribute '{attribute}' of <{element}> is removed{why}; <{element}> keeps "
                + (f"only: {', '.join(sorted(allowed))}" if allowed else "no attributes"),
                snippet,
                line,
            )
        elif attribute == "class":
            pattern = ALLOWED_CLASSES.get(element)
            for value_name in value.split():
                if pattern is None or not pattern.fullmatch(value_name):
                    yield Finding("warning", _CLASS_REMOVED.format(value_name), snippet, line)
        elif attribute == "href" and not _url_allowed(value):
            yield Finding(
                "warning",
                f"link to '{_short(value)}' is removed (its text stays): links may go to "
                f"{', '.join(sorted(URL_SCHEMES))} addresses only",
                snippet,
                line,
            )


def _url_allowed(href: str) -> bool:
    scheme = _SCHEME.match(href)
    return scheme is None or scheme.group(1).lower() in URL_SCHEMES


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def image_problem(src: str, base_dir: Path, root: Path) -> str:
    """Why an image source cannot be used, or ""."""
    if is_remote(src):
        return (
            f"image '{_short(src)}' is not a file in the course; download it into the course "
            "folder (cards must work offline)"
        )
    target = (base_dir / src).resolve()
    if not target.is_relative_to(root):
        return f"image '{_short(src)}' is outside the course folder"
    if not target.exists():
        return f"image '{_short(src)}' not found (looked for {target.relative_to(root)})"
    try:  # a regular file, under the size limit, an image by its content
        read_media(target)
    except CourseFileError as error:
        return f"image '{_short(src)}' {error.message.removeprefix('image ')}"
    return ""
