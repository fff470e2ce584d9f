"""``flashgen preview --serve``: the preview on a local web server that rebuilds it when the
course or a template changes and reloads open pages. A rebuild reuses what the last one made
(:class:`~flashgen.outputs.preview.site.PreviewMemo`), so an edit shows in a fraction of a
full build's time; a broken course keeps the last good preview up and shows the errors in the
page.
"""

from __future__ import annotations

import contextlib
import errno
import json
import signal
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from flashgen.diagnostics import CourseError, display_path, plural, printable
from flashgen.outputs.preview.anki_render import PreviewUnavailable, require
from flashgen.outputs.preview.memo import PreviewMemo
from flashgen.outputs.preview.site import CourseLoader, build_preview
from flashgen.render.templates import default_templates_dir

LIVE_PREFIX = "/__flashgen__/"
HOST = "127.0.0.1"


class PortInUse(Exception):
    """The port asked for is taken; the message names it and a free one to try instead."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.free = free_port_after(port)
        instead = f"try --port {self.free}, or " if self.free else ""
        super().__init__(
            f"port {port} on {HOST} is in use (by another program, or another preview); "
            f"{instead}leave out --port to pick a free one"
        )


def free_port_after(port: int, tries: int = 50) -> int | None:
    """The first port after ``port`` that nothing listens on, if one is near."""
    for candidate in range(port + 1, min(port + 1 + tries, 65536)):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((HOST, candidate))
            except OSError:
                continue
            return candidate
    return None


# ---- serve ----------------------------------------------------------------------------------


@dataclass
class LiveState:
    """What open pages poll: a version that changes on every rebuild, and the last error."""

    version: int = 0
    error: str | None = None
    built: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def as_json(self) -> bytes:
        with self.lock:
            return json.dumps({"version": self.version, "error": self.error}).encode()


class PreviewServer:
    """Serves the preview on 127.0.0.1, rebuilding it when the course or a template changes."""

    def __init__(
        self,
        course_dir: Path,
        site_dir: Path,
        *,
        port: int = 0,
        log: Callable[[str], None] = print,
        progress_factory: Callable[[], Any] | None = None,
        load: CourseLoader | None = None,
    ) -> None:
        self.course_dir = course_dir
        self.site_dir = site_dir.absolute()
        self.log = log
        self.state = LiveState()
        #: What the next rebuild may reuse: only what an edit changed is made again.
        self.memo = PreviewMemo()
        self.load = load
        self._rebuild_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        handler = _handler_class(self)
        try:
            self.httpd = _BoundedServer((HOST, port), handler)
        except OSError as error:
            if error.errno != errno.EADDRINUSE or port == 0:
                raise
            raise PortInUse(port) from None
        self.httpd.daemon_threads = True

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def rebuild(self) -> bool:
        """Build the site; on failure keep the last good one and publish the error."""
        with self._rebuild_lock:
            started = time.monotonic()
            error: str | None = None
            try:
                result = build_preview(
                    self.course_dir, self.site_dir, memo=self.memo, load=self.load
                )
            except CourseError as failure:
                text = failure.diagnostics.render_text()
                error = f"{text}\n{self.course_dir}: {failure.diagnostics.summary()}".strip()
            except PreviewUnavailable:
                raise
            except Exception as failure:  # a template or I/O error must not stop the server
                error = printable(f"{type(failure).__name__}: {failure}")
                self.memo = PreviewMemo()  # the next build starts afresh
            with self.state.lock:
                self.state.version += 1
                self.state.error = error
                if error is None:
                    self.state.built = True
            if error is None:
                seconds = time.monotonic() - started
                self.log(
                    f"preview rebuilt: {plural(len(result.study.order), 'concept')}, "
                    f"{plural(result.cards, 'card')}, "
                    f"{plural(len(result.written), 'page')} written ({seconds:.1f} s)"
                )
                if len(result.diagnostics):
                    self.log(result.diagnostics.render_text())
            else:
                kept = "; the last good preview stays up" if self.state.built else ""
                self.log(f"preview not rebuilt{kept}:\n{error}")
            return error is None

    def watched_paths(self) -> list[Path]:
        paths = [self.course_dir]
        defaults = default_templates_dir()
        if defaults.is_dir():
            paths.append(defaults)
        return paths

    def _is_relevant(self, change: Any, path: str) -> bool:
        from watchfiles import DefaultFilter

        if not DefaultFilter()(change, path):
            return False
        where = Path(path).absolute()
        if where.is_relative_to(self.site_dir) or where.name.startswith("."):
            return False
        course = self.course_dir.absolute()
        if where.is_relative_to(course):
            parts = where.relative_to(course).parts
            if parts and parts[0] == "output":
                return False
            if any(part.startswith(".") for part in parts):
                return False
        return True

    def _watch(self) -> None:
        import watchfiles

        for changes in watchfiles.watch(
            *self.watched_paths(),
            watch_filter=self._is_relevant,
            stop_event=self._stop,
            debounce=400,
            step=50,
            raise_interrupt=False,
        ):
            if self._stop.is_set():
                break
            names = sorted({display_path(Path(p)).as_posix() for _, p in changes})
            shown = printable(", ".join(names[:5]))  # file names are course text too
            self.log(f"changed: {shown}{' …' if len(names) > 5 else ''}")
            self.rebuild()

    def start(self, watch: bool = True) -> None:
        """Build once, then serve and watch in background threads."""
        if watch:
            require("watchfiles", "flashgen preview --serve")
        self.rebuild()
        server = threading.Thread(target=self.httpd.serve_forever, name="flashgen-serve")
        server.daemon = True
        server.start()
        self._threads.append(server)
        if watch:
            watcher = threading.Thread(target=self._watch, name="flashgen-watch")
            watcher.daemon = True
            watcher.start()
            self._threads.append(watcher)

    def stop(self) -> None:
        self._stop.set()
        if self._threads:  # shutdown() waits for serve_forever: it hangs if that never ran
            self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=10)

    def __enter__(self) -> PreviewServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


LIVE_JS = """(function () {
  "use strict";
  var me = document.currentScript;
  var version = Number(me && me.getAttribute("data-version"));
  function banner(error) {
    var box = document.getElementById("flashgen-error");
    if (!error) { if (box) box.remove(); return; }
    if (!box) {
      box = document.createElement("div");
      box.id = "flashgen-error";
      box.setAttribute("role", "alert");
      document.body.insertBefore(box, document.body.firstChild);
    }
    box.innerHTML = "<strong>The course has errors; showing the last good preview.</strong>";
    var pre = document.createElement("pre");
    pre.textContent = error;
    box.appendChild(pre);
  }
  function poll() {
    fetch("/__flashgen__/status", { cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.version !== version) { location.reload(); return; }
        banner(s.error);
        setTimeout(poll, 500);
      })
      .catch(function () { setTimeout(poll, 1500); });
  }
  poll();
})();
"""

ERROR_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>flashgen preview: errors</title>
<link rel="stylesheet" href="/preview.css"></head>
<body class="pv-page"><main class="pv-main"><h1>flashgen preview</h1>
<p>The course could not be built yet; this page reloads when you save a fix.</p></main>
</body></html>
"""


#: Connections served at once; more are closed at once (a page loads a few files at a time).
MAX_CONNECTIONS = 32
#: Seconds a connection may sit idle (half-open connections must not pin threads).
CONNECTION_TIMEOUT = 10


class _BoundedServer(ThreadingHTTPServer):
    """A threading server with at most :data:`MAX_CONNECTIONS` threads, that prints no
    traceback for a request it could not handle."""

    request_queue_size = 128

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a broken or hostile request: the client got its error (or left)


def _handler_class(server: PreviewServer) -> type[SimpleHTTPRequestHandler]:
    class Handler(SimpleHTTPRequestHandler):
        timeout = CONNECTION_TIMEOUT

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(server.site_dir), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _refused(self) -> bool:
            """Answer a request that is not for this server, or a path that is not a path:
            the Host header must name the loopback address and port served (a page of
            another site, with its name pointed at 127.0.0.1, must not read the preview)."""
            host = (self.headers.get("Host") or "").strip().lower()
            allowed = {f"{name}:{server.port}" for name in ("127.0.0.1", "localhost")}
            if host not in allowed:
                self.send_error(HTTPStatus.MISDIRECTED_REQUEST, "unknown host")
                return True
            raw = urllib.parse.unquote(self.path.split("?", 1)[0])
            if "\x00" in raw or "\\" in raw:
                self.send_error(HTTPStatus.BAD_REQUEST, "bad path")
                return True
            return False

        def do_HEAD(self) -> None:
            if not self._refused():
                super().do_HEAD()

        def end_headers(self) -> None:
            self.send_header("Cache-Control", "no-store")
            super().end_headers()

        def _send(self, body: bytes, content_type: str, status: int = HTTPStatus.OK) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self._refused():
                return
            path = self.path.split("?", 1)[0].split("#", 1)[0]
            if path == LIVE_PREFIX + "status":
                self._send(server.state.as_json(), "application/json")
                return
            if path == LIVE_PREFIX + "live.js":
                self._send(LIVE_JS.encode(), "text/javascript; charset=utf-8")
                return
            if path.endswith("/"):
                path += "index.html"
            if path.endswith(".html"):
                file = Path(self.translate_path(path))
                if file.is_file():
                    html = file.read_text(encoding="utf-8")
                elif not server.state.built and path == "/index.html":
                    html = ERROR_PAGE
                else:
                    self.send_error(HTTPStatus.NOT_FOUND, "no such page")
                    return
                self._send(_inject(html, server.state.version), "text/html; charset=utf-8")
                return
            super().do_GET()

    return Handler


def _inject(html: str, version: int) -> bytes:
    script = f'<script src="{LIVE_PREFIX}live.js" data-version="{version}"></script>'
    at = html.rfind("</body>")
    html = html[:at] + script + html[at:] if at >= 0 else html + script
    return html.encode("utf-8")


def serve_forever(server: PreviewServer) -> None:
    """Run until Ctrl+C (or SIGTERM), then stop the server and the watcher cleanly."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)
    try:
        server.start()
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    finally:
        server.stop()
