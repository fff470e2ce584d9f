"""Problems found in a course, each located at a file, line and column.

Every stage appends to one :class:`Diagnostics` list instead of raising, so an instructor sees
every problem at once; the CLI renders the list once, at the edge.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """A position in a file; ``line`` and ``column`` count from 1 (0 means "the whole file")."""

    path: Path
    line: int = 0
    column: int = 0

    def __reduce__(self) -> tuple[type[Location], tuple[Path, int, int]]:
        # Faster to unpickle than the dataclass default; the pipeline's memo holds many.
        return Location, (self.path, self.line, self.column)


@dataclass(frozen=True, slots=True, order=True)
class Diagnostic:
    location: Location
    severity: Severity
    message: str
    #: The question-quality rule that found it (see :mod:`flashgen.course.quality`), else empty.
    rule: str = ""

    def render(self, relative_to: Path | None = None) -> str:
        path = display_path(self.location.path, relative_to)
        line, column = self.location.line, self.location.column
        where = f"{path}:{line}:{column}" if line else str(path)
        rule = f" [{self.rule}]" if self.rule else ""
        return printable(f"{where}: {self.severity}: {self.message}{rule}")

    def as_json(self, relative_to: Path | None = None) -> dict[str, object]:
        data = asdict(self)
        data.pop("location")
        if not self.rule:
            data.pop("rule")
        return {
            "path": printable(str(display_path(self.location.path, relative_to))),
            "line": self.location.line,
            "column": self.location.column,
            **data,
            "message": printable(self.message),
        }


#: Unicode categories never printed raw: controls (ESC starts terminal sequences: clearing the
#: screen, OSC 52 writing the clipboard), format characters (bidi overrides like U+202E that
#: reorder what is shown), line and paragraph separators, surrogates, unassigned code points.
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Cn"})


def printable(text: str) -> str:
    """``text`` with every character that could act on a terminal written as an escape
    (``\\x1b``, ``\\u202e``), so that course text quoted in a message shows as text."""
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char == " " or unicodedata.category(char) not in _HIDDEN:
            out.append(char)
        elif ord(char) < 0x100:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return "".join(out)


def display_path(path: Path, relative_to: Path | None = None) -> Path:
    """``path`` relative to ``relative_to`` (default: the working directory) when it lies inside."""
    try:
        base = _resolved((relative_to or Path.cwd()).absolute())
        # Resolve only the folder: a symbolic link is shown under its own name, not its target's.
        return (_resolved(path.parent.absolute()) / path.name).relative_to(base)
    except (ValueError, OSError, RuntimeError):
        return path


@functools.lru_cache(maxsize=1024)
def _resolved(folder: Path) -> Path:
    """An absolute folder resolved once: a course with thousands of diagnostics names few."""
    return folder.resolve()


@dataclass
class Diagnostics:
    """An append-only list of diagnostics, sorted by location when read."""

    items: list[Diagnostic] = field(default_factory=list)

    def error(self, location: Location, message: str) -> None:
        self.items.append(Diagnostic(location, "error", message))

    def warning(self, location: Location, message: str) -> None:
        self.items.append(Diagnostic(location, "warning", message))

    def add(self, location: Location, severity: Severity, message: str, rule: str = "") -> None:
        self.items.append(Diagnostic(location, severity, message, rule))

    def extend(self, other: Diagnostics) -> None:
        self.items.extend(other.items)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.sorted() if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.sorted() if d.severity == "warning"]

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        return sorted(set(self.items), key=lambda d: (str(d.location.path), d.location, d.message))

    def __len__(self) -> int:
        return len(self.items)

    def render_text(self, relative_to: Path | None = None) -> str:
        return "\n".join(d.render(relative_to) for d in self.sorted())

    def render_json(self, relative_to: Path | None = None) -> str:
        items = [d.as_json(relative_to) for d in self.sorted()]
        summary = {"errors": len(self.errors), "warnings": len(self.warnings)}
        return json.dumps({"diagnostics": items, **summary}, indent=2, ensure_ascii=False)

    def summary(self) -> str:
        errors, warnings = len(self.errors), len(self.warnings)
        return f"{plural(errors, 'error')}, {plural(warnings, 'warning')}"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


class CourseError(Exception):
    """Raised at the end of a stage when the course has errors; carries every diagnostic."""

    def __init__(self, diagnostics: Diagnostics):
        super().__init__(diagnostics.summary())
        self.diagnostics = diagnostics
