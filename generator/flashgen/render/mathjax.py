"""MathJax 3 for the preview, shipped for offline use by the ``django-static-mathjax`` package.

Anki typesets a card's ``\\(...\\)`` and ``\\[...\\]`` with MathJax 3 (CommonHTML output, the
``noerrors`` and ``mhchem`` extensions); the preview does the same inside each card's frame, from
files copied next to its pages (never a CDN), with MathJax's own ``ui/safe`` extension on as a
second guard behind :func:`flashgen.render.markdown.defuse_mathjax`.

The package ships MathJax 3.2.2's ``es5`` build as data files only (it has no dependencies);
only what a card needs is copied: the ``tex-chtml`` component, its web fonts, two TeX
extensions, ``ui/safe`` and the licence.
"""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

#: The folder of the preview site MathJax is copied into.
FOLDER = "mathjax"
#: Files and folders copied, relative to MathJax's ``es5`` folder.
_PARTS = (
    "tex-chtml.js",
    "output/chtml/fonts/woff-v2",
    "input/tex/extensions/noerrors.js",
    "input/tex/extensions/mhchem.js",
    "ui/safe.js",
)

#: MathJax's configuration: Anki's delimiters and extensions, plus ``ui/safe``.
CONFIG = {
    "tex": {
        "inlineMath": [["\\(", "\\)"]],
        "displayMath": [["\\[", "\\]"]],
        "processEscapes": False,
        "processEnvironments": False,
        "processRefs": False,
        "packages": {"[+]": ["noerrors", "mhchem"]},
    },
    "loader": {"load": ["[tex]/noerrors", "[tex]/mhchem", "ui/safe"]},
    "options": {"renderActions": {"addMenu": []}},
    "startup": {"typeset": True},
}


def source_dir() -> Path | None:
    """MathJax's ``es5`` folder in the installed package, or None when it is missing."""
    try:
        folder = resources.files("mathjax") / "static" / "mathjax" / "es5"
    except (ModuleNotFoundError, TypeError):
        return None
    path = Path(str(folder))
    return path if (path / "tex-chtml.js").is_file() else None


def copy_to(site: Path) -> bool:
    """Copy what cards need into ``site/mathjax``; False when the package is missing."""
    source = source_dir()
    if source is None:
        return False
    target = site / FOLDER
    for part in _PARTS:
        origin = source / part
        destination = target / part
        destination.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_dir():
            shutil.copytree(origin, destination, dirs_exist_ok=True)
        else:
            shutil.copyfile(origin, destination)
    licence = source.parent / "LICENSE"
    if licence.is_file():
        shutil.copyfile(licence, target / "LICENSE")
    return True


def script_tags(base: str) -> str:
    """The tags that load MathJax from ``base`` (the URL of the site's ``mathjax`` folder)."""
    config = json.dumps(CONFIG).replace("</", "<\\/")
    return f"<script>window.MathJax = {config};</script><script src='{base}tex-chtml.js'></script>"
