"""The package's shape (docs/architecture.md): stages import downwards only, modules stay small.

The import rule is the ``[tool.importlinter]`` contract in pyproject.toml, checked here by
import-linter (alone: ``.venv/bin/lint-imports``). It counts every import, including those
inside functions: a lower stage that imports a higher one lazily still depends on it.
"""

from __future__ import annotations

import subprocess
import sys

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "generator" / "flashgen"

#: Lines a module may have before it should be split (issue 14: "about 500").
MAX_LINES = 500

#: Modules allowed over MAX_LINES, each with the reason. Every entry must still be over the
#: limit (a module split below it must leave this list), so the list only ever shrinks.
#: As of the merge of issue 14's pipeline, PDF and Markdown work.
LONG_MODULES: dict[str, str] = {
    "render/typst_markup.py": "Markdown to Typst and the formula cache: 70 lines over, to split",
    "course/quality/rules.py": "one function per quality rule, 20 lines over",
    "outputs/publication.py": "the deck's publication (from the ledger), 5 lines over",
}


def test_stages_import_downwards_only() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def module_lengths() -> dict[str, int]:
    return {
        path.relative_to(PACKAGE).as_posix(): len(path.read_text("utf-8").splitlines())
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def test_no_module_is_over_the_limit_without_a_reason() -> None:
    over = {name: lines for name, lines in module_lengths().items() if lines > MAX_LINES}
    unexplained = {name: lines for name, lines in over.items() if name not in LONG_MODULES}
    assert unexplained == {}, "split these, or add each to LONG_MODULES with its reason"


def test_the_allow_list_only_names_modules_still_over_the_limit() -> None:
    lengths = module_lengths()
    stale = {name: lengths.get(name) for name in LONG_MODULES if lengths.get(name, 0) <= MAX_LINES}
    assert stale == {}, "these are gone or short now: remove them from LONG_MODULES"


def test_docs_state_the_layers_the_contract_checks() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    [stages] = [c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "stages"]
    names = [layer.strip("()") for layer in stages["layers"]]
    order = " → ".join(names[:-1]) + f" → ({names[-1]})"
    assert f"**{order}**" in (ROOT / "docs" / "architecture.md").read_text("utf-8")
