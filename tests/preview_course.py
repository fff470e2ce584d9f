"""A small course for the preview tests: every question type, links, an image, known answers."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from support import write_course


def tiny_png() -> bytes:
    """A valid 4x4 PNG (one colour), made here so no binary file is checked in."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x2f\x6f\xdb" * 4 for _ in range(4))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


ALPHA = """id: alpha
title: Alpha & <Omega>
chapter: basics
prerequisites: []
summary: |
  The first idea. ![a blue square](square.png)
questions:
  - id: pick
    type: multiple-choice
    question: Which answer is right?
    correct: The right one
    distractors: [A wrong one, Another wrong one]
    explanation: Because it is the right one.
  - id: truth
    type: true-false
    statement: Alpha comes first.
    answer: true
    explanation: Nothing comes before it.
"""

BETA = """id: beta
title: Beta
chapter: basics
prerequisites: [alpha]
summary: Builds on alpha.
questions:
  - id: hide
    type: cloze
    text: "The hidden word is {{c1::secret}} and then {{c2::other}}."
    explanation: Clozes hide words.
  - id: plain
    type: basic
    front: What is beta?
    back: The second idea.
"""

GAMMA = """id: gamma
title: Gamma
chapter: more
prerequisites: [beta]
related: [alpha]
summary: |
  Builds on beta: a photon's energy is $E = h\\nu$, and

  $$\\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}$$
"""


def write_preview_course(root: Path) -> Path:
    write_course(
        root,
        {"one/alpha.yaml": ALPHA, "one/beta.yaml": BETA, "two/gamma.yaml": GAMMA},
        chapters=("basics", "more"),
    )
    (root / "one" / "square.png").write_bytes(tiny_png())
    return root
