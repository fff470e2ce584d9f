"""Converting LaTeX formulas to Typst math, in this process or in a helper process.

tex2typst holds the GIL, so converting in a thread while the text is rendered is slower, but a
helper process (:class:`BackgroundConverter`) converts on the other core while this one renders
the Markdown: formulas are sent to it as they are found, and their results read back once the
text is done. This module imports only tex2typst, so that the helper starts quickly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def convert(tex: str) -> str | None:
    """Typst math for a LaTeX formula, or None when tex2typst cannot convert it."""
    import tex2typst

    try:
        result = tex2typst.tex2typst(tex.strip())
    except (ValueError, RuntimeError):
        return None
    # A "$" in the result would end the math early; such a formula stays LaTeX source.
    return result if result and "$" not in result.replace("\\$", "") else None


class BackgroundConverter:
    """Converts formulas in a helper process while the caller goes on working.

    :meth:`submit` each formula's LaTeX (one JSON line on the helper's standard input, which
    converts it right away); :meth:`results` ends the input and reads every result, in order.
    The helper writes nothing before its input ends, so neither side can wait for the other.
    Any failure of the helper only costs time: the results missing are converted here.
    """

    def __init__(self) -> None:
        self.sent: list[str] = []
        self._process: subprocess.Popen[bytes] | None = None
        self._failed = False

    def submit(self, tex: str) -> None:
        if self._failed:
            return
        try:
            if self._process is None:
                self._process = _start()
            assert self._process.stdin is not None
            self._process.stdin.write(json.dumps(tex).encode() + b"\n")
            if len(self.sent) % 32 == 31:
                self._process.stdin.flush()
        except (OSError, ValueError):
            self._failed = True
            return
        self.sent.append(tex)

    def results(self) -> dict[str, str | None]:
        """Each submitted formula's conversion (empty when the helper failed)."""
        process, self._process = self._process, None
        if process is None:
            return {}
        found: object = None
        try:
            assert process.stdin is not None and process.stdout is not None
            process.stdin.close()
            output = process.stdout.read()
            if process.wait() == 0 and not self._failed:
                found = json.loads(output)
        except (OSError, ValueError):
            found = None
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        if not (
            isinstance(found, list)
            and len(found) == len(self.sent)
            and all(value is None or isinstance(value, str) for value in found)
        ):
            return {}
        return dict(zip(self.sent, found, strict=True))


def _start() -> subprocess.Popen[bytes]:
    package_parent = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [package_parent, *filter(None, [env.get("PYTHONPATH", "")])]
    )
    return subprocess.Popen(
        [sys.executable, "-c", "from flashgen.formula_worker import main; main()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )


def main() -> None:
    """The helper: a JSON string a line in, a JSON list of results out at the end."""
    results = [convert(json.loads(line)) for line in sys.stdin.buffer]
    sys.stdout.write(json.dumps(results))
    sys.stdout.flush()
