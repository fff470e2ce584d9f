"""Converting LaTeX formulas to Typst math, in this process or in a helper process.

tex2typst holds the GIL, so converting in a thread while the text is rendered is slower, but a
helper process (:class:`BackgroundConverter`) converts on the other core while this one renders
the Markdown: formulas are sent to it as they are found, and what it has not converted once the
text is done is converted here, from the other end of the list. This module imports only
tex2typst, so that the helper starts quickly.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
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
    converts it right away and writes its result as one JSON line, read by a thread here);
    :meth:`results` ends the input and, rather than wait, converts the formulas the helper has
    not reached yet itself, from the last one back, until the two meet. Any failure of the
    helper only costs time: whatever it did not convert is converted here.
    """

    def __init__(self) -> None:
        self.sent: list[str] = []
        self._got: list[str | None] = []
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._failed = False

    def submit(self, tex: str) -> None:
        if self._failed:
            return
        try:
            if self._process is None:
                self._process = _start()
                self._reader = threading.Thread(target=self._read, daemon=True)
                self._reader.start()
            assert self._process.stdin is not None
            self._process.stdin.write(json.dumps(tex).encode() + b"\n")
            if len(self.sent) % 32 == 31:
                self._process.stdin.flush()
        except (OSError, ValueError):
            self._failed = True
            return
        self.sent.append(tex)

    def _read(self) -> None:
        process = self._process
        assert process is not None and process.stdout is not None
        for line in process.stdout:
            try:
                value = json.loads(line)
            except ValueError:
                return
            if not (value is None or isinstance(value, str)):
                return
            self._got.append(value)

    def results(self) -> dict[str, str | None]:
        """Each submitted formula's conversion, by its LaTeX."""
        process, self._process = self._process, None
        if process is None:
            return {}
        with contextlib.suppress(OSError, ValueError):
            assert process.stdin is not None
            process.stdin.close()
        mine: dict[int, str | None] = {}
        last = len(self.sent)
        while len(self._got) < last:
            last -= 1
            mine[last] = convert(self.sent[last])
        if process.poll() is None:
            process.kill()
        process.wait()
        if self._reader is not None:
            self._reader.join()
        found = dict(zip(self.sent[:last], self._got[:last], strict=True))
        found.update((self.sent[number], value) for number, value in mine.items())
        return found


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
    """The helper: a JSON string a line in, its result as a JSON line out."""
    for line in sys.stdin.buffer:
        sys.stdout.write(json.dumps(convert(json.loads(line))) + "\n")
        sys.stdout.flush()
