"""A real AnkiConnect to test against: the ``anki-connect-server`` package, headless.

It answers AnkiConnect's version-6 API on top of the official ``anki`` library, so the
transport under test talks HTTP to a real implementation on a real collection (no
hand-written fake). The package needs Python 3.12 or newer: on an older Python the test
environment's own ``[test]`` extra leaves it out and ``make ankiconnect-server`` installs it
into a side environment (``.venv-ankiconnect``), which is where :func:`server_command` looks
after the running environment. Without either, the AnkiConnect tests skip, naming the target.

Why this one: Anki desktop (``aqt`` with PyQt6) installs from PyPI and could run under Xvfb,
but the AnkiConnect add-on itself is published only on AnkiWeb, in no package registry (the
AnkiConnect-related packages there are clients, or add-on tooling that fetches from AnkiWeb).
Where anki-connect-server 0.5.0 departs from the add-on, as seen in these tests:
``exportPackage`` fails with anki 26 (a TypeError: so a backup over it always fails);
``storeMediaFile`` rejects ``deleteExisting``; ``updateModelTemplates`` writes each given
template into every template of the note type (flashgen's note types have one);
``notesInfo`` leaves out ``mod`` and ``cards``, and missing notes instead of answering ``{}``;
an internal error is HTTP 500 with the error in the usual body; it imports ``httpx`` without
declaring it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from support import REPO

#: Seconds the server may take to open the collection and answer (a cold start imports anki).
START_WITHIN = 60.0


def server_command() -> Path | None:
    """The ``anki-connect-server`` program: ``$FLASHGEN_ANKICONNECT_SERVER``, the running
    environment's, or the side environment's."""
    named = os.environ.get("FLASHGEN_ANKICONNECT_SERVER")
    candidates = [Path(named)] if named else []
    candidates += [
        Path(sys.executable).parent / "anki-connect-server",
        REPO / ".venv-ankiconnect" / "bin" / "anki-connect-server",
    ]
    found = next((path for path in candidates if path.is_file()), None)
    if found is None and shutil.which("anki-connect-server"):
        found = Path(str(shutil.which("anki-connect-server")))
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def ankiconnect_server(collection: Path) -> Iterator[str]:
    """Serve ``collection`` (closed by the caller first) over AnkiConnect on a free loopback
    port; yield its URL; stop the server, which closes the collection, on the way out."""
    command = server_command()
    if command is None:
        pytest.skip("anki-connect-server is not installed (make ankiconnect-server installs it)")
    port = free_port()
    env = {
        **os.environ,
        "ANKICONNECT_COLLECTION_PATH": str(collection),
        "ANKICONNECT_PORT": str(port),
        "ANKICONNECT_BIND": "127.0.0.1",
    }
    for name in ("ANKICONNECT_ANKIWEB_USER", "ANKICONNECT_ANKIWEB_PASS", "ANKICONNECT_ANKIWEB_URL"):
        env.pop(name, None)
    log = collection.parent / "ankiconnect-server.log"
    # cwd: the server reads settings from a .env file in its working folder; this one has none.
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(command), "api"], cwd=collection.parent, env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_WITHIN
        while not _answers(url):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"anki-connect-server did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
