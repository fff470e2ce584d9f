"""The PDFs a build left in an output folder, with a digest of everything each was typeset
from, so that the next build skips typesetting a PDF whose inputs did not change.

A PDF depends only on its data (the JSON of escaped markup flashgen hands Typst), the files
Typst may read (templates, images, concept maps), the fonts, the Typst version, and, when
``SOURCE_DATE_EPOCH`` is set, its timestamp. A build compares their digest with the one kept
here and leaves the PDF untouched if they match and the file is still the one it wrote (size,
modification time, inode). Without ``SOURCE_DATE_EPOCH`` the kept PDF keeps the date it was
typeset, which is right: nothing in it changed.

The memo is a :class:`~flashgen.render.typst_markup.ResultCache`: a missing, corrupt or
foreign file is ignored (every PDF is typeset) and rewritten.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flashgen.render.typst_markup import ResultCache, versions

#: The memo's file name, in the build cache folder of the output folder.
MEMO_FILE = "pdf-memo"


def _valid(value: Any) -> bool:
    """[inputs digest, size, mtime_ns, inode, the cards Typst reported cut off]."""
    return (
        isinstance(value, list)
        and len(value) == 5
        and isinstance(value[0], str)
        and all(isinstance(number, int) for number in value[1:4])
        and isinstance(value[4], list)
        and all(isinstance(item, dict) for item in value[4])
    )


def digest(pieces: Iterable[str | bytes]) -> str:
    """One SHA-256 of ``pieces``, each ended by a NUL (no two lists share a digest)."""
    found = hashlib.sha256()
    for piece in pieces:
        found.update(piece.encode() if isinstance(piece, str) else piece)
        found.update(b"\0")
    return found.hexdigest()


class PdfMemo:
    """What was typeset into each PDF file of ``output_dir``, kept in ``path``."""

    def __init__(self, path: Path, output_dir: Path, reproducible: bool):
        self.path = path
        self.output_dir = output_dir
        #: Whether the timestamp is part of the inputs (``SOURCE_DATE_EPOCH`` is set).
        self.reproducible = reproducible
        self.cache = ResultCache.load(path, versions("typst"), _valid)

    def unchanged(self, name: str, inputs: str) -> bool:
        """Whether ``output_dir/name`` was typeset from ``inputs`` (a digest) and is intact."""
        found, value = self.cache.get(name)
        if not found or value[0] != inputs:
            return False
        try:
            stat = (self.output_dir / name).stat()
        except OSError:
            return False
        return value[1:4] == [stat.st_size, stat.st_mtime_ns, stat.st_ino]

    def overflow(self, name: str) -> list[dict[str, Any]]:
        """What Typst reported cut off when it typeset ``name``."""
        return list(self.cache.results.get(name, [None] * 5)[4])

    def record(self, name: str, inputs: str, overflow: list[dict[str, Any]]) -> None:
        """``output_dir/name`` has just been written from ``inputs``."""
        stat = (self.output_dir / name).stat()
        self.cache.add(name, [inputs, stat.st_size, stat.st_mtime_ns, stat.st_ino, overflow])

    def forget(self, name: str) -> None:
        if self.cache.results.pop(name, None) is not None:
            self.cache.changed = True

    def save(self) -> None:
        self.cache.save(self.path)
