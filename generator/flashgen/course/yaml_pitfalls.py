"""YAML that loads but does not say what the instructor meant: characters YAML refuses,
Markdown that YAML reads as syntax, anchors with a colon, ``?`` in flow collections, LaTeX
commands that double quotes turn into tabs or line breaks, and a ``#`` that cut a text short.
Each is reported where it is written, with how to quote the text instead."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from flashgen.diagnostics import Diagnostics, Location

#: Characters YAML does not allow in a file (tab and line breaks aside).
UNPRINTABLE = re.compile("[^\t\n\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: Control characters that cannot appear in a text field (tab and newline aside): U+001F is
#: Anki's field separator, and the others are invisible or break the outputs.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def describe_character(char: str) -> str:
    name = f"U+{ord(char):04X}"
    if char == "\x1f":
        return f"{name} (Anki's field separator)"
    return f"control character {name}" if ord(char) < 0x20 or ord(char) == 0x7F else name


def report_unprintable(text: str, path: Path, diagnostics: Diagnostics) -> bool:
    """Report each character YAML refuses at its line and column; whether there were any."""
    found = False
    for count, match in enumerate(UNPRINTABLE.finditer(text)):
        if count >= 20:
            break
        found = True
        start = match.start()
        line = text.count("\n", 0, start) + 1
        column = start - text.rfind("\n", 0, start)
        diagnostics.error(
            Location(path, line, column),
            f"{describe_character(match.group())} is not allowed in the file: delete it "
            "(it is invisible in most editors)",
        )
    return found


#: A line holding ``key: value`` or ``- value``: where the value starts.
_VALUE_START = re.compile(r"[ \t]*(?:-[ \t]+)*(?:[^\s'\"#\[\]{}][^:#]*?:[ \t]+)?")
#: What a first character means to YAML, for text written without quotes.
_FIRST_CHARACTER = {
    "*": "an alias (*name), not emphasis",
    "&": "an anchor (&name)",
    "!": "a tag (!name)",
    "`": "a reserved character",
    "@": "a reserved character",
    "%": "a directive",
    "[": "the start of a list, like [a, b]",
    "{": "the start of a mapping, like {a: 1}",
    "|": "a block, whose text must start on the next line",
    ">": "a folded block, whose text must start on the next line",
    "-": "a list item",
    "?": "a mapping key",
    '"': "quoted text, which must end at its closing quote",
    "'": "quoted text, which must end at its closing quote",
}
QUOTE_HOW = (
    "put the whole text in single quotes ('...', writing ' inside as '') or write it as a "
    "block: the key, then |, then the text on the next lines, indented"
)


def markdown_hint(text: str, mark: Any, problem: str) -> str:
    """Why Markdown written as plain YAML text failed to parse, and how to quote it."""
    lines = text.split("\n")
    if not 0 <= mark.line < len(lines):
        return ""
    line = lines[mark.line]
    start = _VALUE_START.match(line)
    value = line[start.end() if start else 0 :]
    if not value.strip() or (start and start.end() > mark.column + 1 and value[0] not in "-?"):
        return ""
    first = value[0]
    if first in _FIRST_CHARACTER and (first not in "-?" or value[1:2] in (" ", "")):
        meaning = _FIRST_CHARACTER[first]
        return f": YAML reads '{first}' at the start of a text as {meaning}; {QUOTE_HOW}"
    if "mapping values" in problem or ": " in value:
        return f": ': ' inside a text reads as a new key; {QUOTE_HOW}"
    return ""


#: An anchor (``&name``) at the start of a block value or list item (not in a block's text,
#: where ``&:=`` is LaTeX).
_ANCHOR = re.compile(r"^[ \t]*(?:-[ \t]+)*(?:[\w.-]+:[ \t]+)?&([^\s\[\]{},]+)", re.MULTILINE)


def report_colon_anchors(text: str, node: yaml.Node, path: Path, diagnostics: Diagnostics) -> bool:
    """Anchor names with ':' (``&an:chor``): YAML 1.2 allows them, but libyaml reads the ':' as
    the end of the name and loads a different value; refuse them where they are written.
    An ``&`` inside a text (``$a &:= b$`` in a block scalar) is text, not an anchor."""
    found = False
    candidates = [m for m in _ANCHOR.finditer(text) if ":" in m.group(1)]
    inside = _scalar_bodies(text, node) if candidates else []
    for match in candidates:
        if not any(start <= match.start() < end for start, end in inside):
            found = True
            start = match.start(1) - 1
            line = text.count("\n", 0, start) + 1
            diagnostics.error(
                Location(path, line, start - text.rfind("\n", 0, start)),
                f"anchor name '&{match.group(1)}' contains ':', which YAML readers disagree "
                "about: rename the anchor without ':' (or, if it is text, put the text in "
                "single quotes)",
            )
    return found


def _scalar_bodies(text: str, root: yaml.Node) -> list[tuple[int, int]]:
    """The character ranges holding the text of each scalar (after any anchor, tag, block
    indicator or opening quote), where an ``&`` cannot start an anchor."""
    bodies, stack, seen = [], [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            stack.extend(item for pair in node.value for item in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        else:
            start, end = node.start_mark.index, node.end_mark.index
            if node.style in ("|", ">"):
                newline = text.find("\n", start)
                start = end if newline < 0 else newline
            elif node.style in ("'", '"'):
                quote = text.find(node.style, start, end)
                start = end if quote < 0 else quote
            else:
                start += 1  # a plain scalar's first character may be its anchor's '&'
            bodies.append((start, end))
    return bodies


#: A '?' right before a word, where an item of a flow list or mapping starts.
_FLOW_QUESTION = re.compile(r"[\[{,][ \t\n]*(\?)[^ \t\n,\[\]{}]")


def report_flow_question_marks(
    text: str, root: yaml.Node, path: Path, diagnostics: Diagnostics
) -> bool:
    """``[?x]`` or ``{ ?foo: bar }``: YAML 1.2 reads ``?x`` as text, libyaml as a key
    indicator (``{x: null}``), so the value would silently differ; refuse it where written."""
    spans, stack = [], [root]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            stack.extend(item for pair in node.value for item in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        if isinstance(node, yaml.CollectionNode) and node.flow_style:
            spans.append((node.start_mark.index, node.end_mark.index))
    if not spans:
        return False
    inside = _scalar_bodies(text, root)
    found = False
    for start, end in spans:
        for match in _FLOW_QUESTION.finditer(text, start, end):
            at = match.start(1)
            if any(low <= at < high for low, high in inside):
                continue
            found = True
            line = text.count("\n", 0, at) + 1
            diagnostics.error(
                Location(path, line, at - text.rfind("\n", 0, at)),
                "'?' before a word in a [list] or {mapping} is read as text by YAML 1.2 but as "
                "a key by the parser flashgen uses: put the text in quotes ('?x')",
            )
    return found


#: LaTeX commands whose backslash YAML reads as ``\\t`` (tab) or ``\\n`` (newline) in double
#: quotes: written there they are almost certainly math, not a tab or a line break.
LATEX_T_N = frozenset(
    [
        "times",
        "text",
        "textbf",
        "textit",
        "textrm",
        "texttt",
        "textsf",
        "textstyle",
        "tfrac",
        "tbinom",
        "theta",
        "tau",
        "tan",
        "tanh",
        "tilde",
        "to",
        "top",
        "triangle",
        "triangleq",
        "therefore",
        "tiny",
        "tt",
        "nu",
        "neq",
        "ne",
        "nabla",
        "neg",
        "not",
        "ni",
        "notin",
        "nleq",
        "ngeq",
        "nmid",
        "nparallel",
        "nsubseteq",
        "nexists",
        "nearrow",
        "nwarrow",
        "natural",
        "ncong",
        "nsim",
        "nrightarrow",
        "nleftarrow",
        "newline",
        "nolimits",
        "nonumber",
    ]
)
#: Double-quote escapes that turn a LaTeX command into something else without a YAML error.
ESCAPE_RESULTS = {
    "a": "a bell (U+0007)", "b": "a backspace (U+0008)", "e": "an escape (U+001B)",
    "f": "a form feed (U+000C)", "r": "a carriage return (U+000D)",
    "v": "a vertical tab (U+000B)", "0": "a null character (U+0000)",
    "t": "a tab", "n": "a line break", "N": "a next-line character (U+0085)",
    "L": "a line separator (U+2028)", "P": "a paragraph separator (U+2029)",
    "_": "a no-break space (U+00A0)",
}  # fmt: skip
ESCAPE = re.compile(r"\\(\\|[abefrv0tnNLP_])([A-Za-z]*)")
QUOTING_FIX = "write the text in single quotes ('...') or as a block (|), where \\ is kept"


#: A comment right after a plain text whose first word touches the '#' (a hashtag, not a
#: comment like ``# note``).
CUT_COMMENT = re.compile(r"[ \t]+(#[^\s#])")
