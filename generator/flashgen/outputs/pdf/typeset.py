"""Running Typst: the scratch folder it may read (templates, data, images), one compile,
Typst's errors as diagnostics at the template's own line, and the card-fit sizes kept between
builds."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flashgen.course.coursefiles import (
    MAX_TEMPLATE_BYTES,
    CourseFileError,
    course_file_problem,
    read_course_file,
)
from flashgen.diagnostics import CourseError, Diagnostics, Location
from flashgen.outputs.cards import Card
from flashgen.outputs.pdf.layout import MIN_FONT_PT
from flashgen.render.templates import default_templates_dir, template_dirs
from flashgen.render.typst_markup import ResultCache

#: The card-fit cache's file in the cache folder (the formulas' is
#: :data:`flashgen.render.formulas.FORMULA_CACHE`).
FIT_CACHE = "typst-card-fits"


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def valid_size(value: Any) -> bool:
    return isinstance(value, float) and MIN_FONT_PT <= value <= 100


def cards_json(
    data: dict[str, Any], substitute: Callable[..., str], fits: ResultCache, salt: str
) -> tuple[dict[tuple[str, str], str], str, str]:
    """The cards data as JSON, with ``front_size``/``back_size`` for each side that must be
    measured but whose size Typst chose before (``fits``: by a digest of the card's final
    markup, ``salt`` and the page layout), so that it is not measured again.

    Returns the digest of every side left to measure, by (code, side), the JSON, and a digest
    of the JSON as it would be without the sizes (what the PDF depends on: it is the same
    whether a size came from the cache or was measured).
    """
    cards = data["cards"]
    head = dumps({**data, "cards": []})
    assert head.endswith('"cards":[]}')  # the cards come last
    salt = hashlib.sha256((salt + head).encode()).hexdigest()
    keys: dict[tuple[str, str], str] = {}
    parts = []
    pure = hashlib.sha256(head.encode())
    for card in cards:
        sure = {side: card.pop(f"{side}_fits", False) for side in ("front", "back")}
        text = substitute_json(dumps(card), substitute)
        card.update({f"{side}_fits": value for side, value in sure.items()})
        extra = []
        for side, fits_surely in sure.items():
            extra.append(f'"{side}_fits":{"true" if fits_surely else "false"}')
            if fits_surely:
                continue
            key = hashlib.sha256(f"{salt}\0{side}\0{text}".encode()).hexdigest()
            found, size = fits.get(key)
            if found:
                extra.append(f'"{side}_size":{size!r}')
            else:
                keys[(str(card["code"]), side)] = key
        parts.append(f"{text[:-1]},{','.join(extra)}}}")
        pure.update(f"{text}\0{sure['front']:d}{sure['back']:d}\0".encode())
    return keys, f"{head[:-3]}[{','.join(parts)}]}}", pure.hexdigest()


def templates_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted((root / "typst").rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def fonts_digest(fonts: Any) -> str:
    """The fonts Typst may choose from (fallback fonts change how much text fits)."""
    found = sorted(
        (f.family, f.style, f.weight, f.stretch, f.path or "", f.index) for f in fonts.fonts()
    )
    return hashlib.sha256(repr(found).encode()).hexdigest()


def substitute_json(text: str, substitute: Callable[..., str]) -> str:
    return substitute(text, json_string=True)


def stage_templates(course_dir: Path, root: Path) -> dict[str, Path]:
    """Copy the Typst templates into ``root/typst``: flashgen's, then the course's over them.

    Returns each staged file's origin (for error messages that name the real file).

    A course's files are read under :mod:`~.coursefiles`' rule (a link out of the course,
    a FIFO or an oversized file is a located error), and links to folders are not followed:
    Typst sees only copies, in a root holding nothing else flashgen did not put there, so a
    template's ``read()`` or ``image()`` cannot reach a file outside the course.
    """
    target = root / "typst"
    target.mkdir()
    origins: dict[str, Path] = {}
    diag = Diagnostics()
    for folder in reversed(template_dirs(course_dir)):
        source = folder / "typst"
        if not source.is_dir():
            continue
        own = folder != default_templates_dir()
        for here, dirs, files in os.walk(source):
            dirs.sort()
            for name in sorted(files) + [d for d in dirs if own and Path(here, d).is_symlink()]:
                path = Path(here, name)
                relative = path.relative_to(source).as_posix()
                if own:
                    problem = course_file_problem(path, course_dir, MAX_TEMPLATE_BYTES, "template")
                    if problem:
                        diag.error(Location(path), problem)
                        continue
                destination = target / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                try:
                    destination.write_bytes(_read_template(path, course_dir if own else None))
                except CourseFileError as error:
                    diag.error(Location(path), error.message)
                    continue
                origins[f"typst/{relative}"] = path
    if diag.has_errors:
        raise CourseError(diag)
    return origins


def _read_template(path: Path, course_dir: Path | None) -> bytes:
    if course_dir is None:
        return path.read_bytes()
    return read_course_file(path, course_dir, MAX_TEMPLATE_BYTES, "template")


@dataclass(frozen=True, slots=True)
class Failure:
    """A Typst error reported by a worker process (what :func:`typst_error` reads of one)."""

    diagnostic: str
    message: str
    hints: list[str]


_WHERE = re.compile(r"┌─ (\S+?):(\d+):(\d+)")


def typeset(
    root: Path,
    kind: str,
    timestamp: int,
    origins: dict[str, Path],
    fonts: object = None,
    key: str | None = None,
) -> tuple[bytes, list[dict[str, Any]], list[dict[str, Any]]]:
    """Compile ``root/typst/<kind>.typ`` with ``/<key>.json`` (``key`` defaults to ``kind``);
    return the PDF, the
    cards whose text did not fit (the template marks them with ``<fg-overflow>``) and the
    size chosen for each side that was measured (``<fg-fit>``: code, side, size in pt).

    The cards PDF is written without PDF tags (the structure tree for screen readers): for
    cut-out cards it would double the typesetting time and make the file eight times larger;
    the study guide, meant to be read on screen too, keeps them.
    """
    import typst

    main = root / "typst" / f"{kind}.typ"
    if not main.is_file():
        missing = Location(default_templates_dir() / "typst" / f"{kind}.typ")
        raise CourseError(template_error(missing, f"template typst/{kind}.typ is missing"))
    try:
        return compile_document(root, kind, timestamp, fonts, f"/{key or kind}.json")
    except typst.TypstError as error:
        raise CourseError(typst_error(error, root, origins)) from None


def compile_document(
    root: Path, kind: str, timestamp: int, fonts: object, data: str
) -> tuple[bytes, list[dict[str, Any]], list[dict[str, Any]]]:
    import typst

    main = root / "typst" / f"{kind}.typ"
    compiler = typst.Compiler(main, root=root, sys_inputs={"data": data}, font_paths=fonts or [])
    pdf = compiler.compile(format="pdf", timestamp=timestamp, pdf_tags=kind != "cards")
    overflow = json.loads(compiler.query("<fg-overflow>", field="value", format="json"))
    measured = json.loads(compiler.query("<fg-fit>", field="value", format="json"))
    assert isinstance(pdf, bytes)
    return pdf, overflow, measured


def typst_error(error: Any, root: Path, origins: dict[str, Path]) -> Diagnostics:
    """A Typst error as a diagnostic at the template's own file and line."""
    text = str(getattr(error, "diagnostic", "") or error)
    message = str(getattr(error, "message", "") or text.splitlines()[0])
    hints = list(getattr(error, "hints", None) or [])
    match = _WHERE.search(text)
    location = Location(root / "typst")
    if match:
        written = match.group(1).replace("\\", "/")
        staged = next((key for key in origins if written.endswith(key)), None)
        path = origins[staged] if staged else Path(written)
        location = Location(path, int(match.group(2)), int(match.group(3)))
    detail = "".join(f"; hint: {hint}" for hint in hints)
    return template_error(location, f"Typst template error: {message}{detail}")


def template_error(location: Location, message: str) -> Diagnostics:
    diag = Diagnostics()
    diag.error(location, message)
    return diag


def report_overflow(cards: dict[str, Card], item: dict[str, Any], diag: Diagnostics) -> None:
    """A warning at the card's own line for a side Typst cut off (``cards``: by code)."""
    code = str(item.get("code", ""))
    side = str(item.get("side", ""))
    card = cards.get(code)
    if card is None:
        return
    location = card.question.location if card.question else card.concept.location
    what = f"the {card.kind} card {code} ({card.concept.id}"
    what += f", question {card.question.id})" if card.question else ")"
    diag.warning(
        location,
        f"{what}: the {side} does not fit on the printed card even at {MIN_FONT_PT:g} pt and "
        "is cut off; shorten it or build with a larger --card-size",
    )
