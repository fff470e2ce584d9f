"""``flashgen preview``: a static website showing every card as Anki renders it.

The course is built into a real ``.apkg`` (the same code as ``flashgen build``), the package is
imported into a throw-away collection with the official ``anki`` package, and each card's
question and answer HTML and its note type's CSS are taken from Anki's own renderer. So the
preview cannot drift from the deck: what the page shows is what a student's Anki shows.

Each card side runs in its own frame (``<iframe srcdoc>``) with the card's CSS, like a page of
an Anki client; the front and the back of a card share the page's ``sessionStorage``, so a pick
on a quiz front shows its verdict on the back, as in a review.

``serve`` adds a local web server that rebuilds when the course changes and reloads open pages;
a broken course keeps the last good preview up and shows the errors in the page.
"""

from __future__ import annotations

import contextlib
import errno
import importlib.util
import json
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from markupsafe import Markup

from flashgen.course.coursefiles import size_text
from flashgen.course.model import Concept
from flashgen.diagnostics import CourseError, Diagnostics, display_path, plural, printable
from flashgen.outputs.cards import Card, StudySet
from flashgen.outputs.concept_map import concept_map_svg
from flashgen.outputs.folder import (
    SITE_ENTRIES,
    carry_over_foreign,
    check_output_folder,
    record_written,
    remove_stale_staging,
    staging_prefix,
)
from flashgen.pipeline import build as build_module
from flashgen.render.mathjax import FOLDER as MATHJAX_FOLDER
from flashgen.render.mathjax import copy_to as copy_mathjax
from flashgen.render.templates import default_templates_dir, template_environment

#: flashgen is installed from its folder (a clone), not from a package index.
INSTALL_HINT = "in the flashgen folder, pip install '.[preview]'"
#: Above this many concepts the index draws one concept map per chapter.
WHOLE_MAP_LIMIT = 150
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


class PreviewUnavailable(Exception):
    """An optional dependency of the preview is missing; the message says how to install it."""


def require(module: str, what: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise PreviewUnavailable(
            f"{what} needs the '{module}' package, which is not installed: {INSTALL_HINT}"
        )


@dataclass(frozen=True, slots=True)
class CardSide:
    """One Anki card (a cloze note has one per deletion) as Anki renders it."""

    card: Card
    ord: int
    front: str
    back: str
    css: str

    @property
    def label(self) -> str:
        names = {
            "concept": "Concept",
            "multiple-choice": "Multiple choice",
            "true-false": "True or false",
            "basic": "Basic",
            "cloze": "Cloze",
        }
        label = names[self.card.kind]
        return f"{label} {self.ord + 1}" if self.card.kind == "cloze" else label


@dataclass
class PreviewResult:
    site: Path
    pages: int
    cards: int
    study: StudySet
    diagnostics: Any = None
    written: list[Path] = field(default_factory=list)


def render_with_anki(apkg: Path, study: StudySet, workdir: Path, media_out: Path) -> list[CardSide]:
    """Import ``apkg`` into a fresh collection in ``workdir``; render every card of ``study``.

    Media files the deck carries are copied into ``media_out``.
    """
    require("anki", "flashgen preview")
    from anki.collection import (
        Collection,
        ImportAnkiPackageOptions,
        ImportAnkiPackageRequest,
    )

    col = Collection(str(workdir / "preview.anki2"))
    try:
        request = ImportAnkiPackageRequest(
            package_path=str(apkg), options=ImportAnkiPackageOptions()
        )
        col.import_anki_package(request)
        col.models._clear_cache()  # the Python-side note-type cache is not told about imports
        note_ids = dict(col.db.all("select guid, id from notes"))
        sides: list[CardSide] = []
        styles: dict[str, str] = {}  # one copy of each note type's CSS, not one per card
        for card in study.cards:
            note = col.get_note(note_ids[card.guid])
            for anki_card in sorted(note.cards(), key=lambda c: c.ord):
                output = anki_card.render_output(reload=True)
                sides.append(
                    CardSide(
                        card=card,
                        ord=anki_card.ord,
                        front=output.question_text,
                        back=output.answer_text,
                        css=styles.setdefault(output.css, output.css),
                    )
                )
        media_out.mkdir(parents=True, exist_ok=True)
        media_dir = Path(col.media.dir())
        for path in sorted(media_dir.iterdir()) if media_dir.is_dir() else ():
            if path.is_file():
                shutil.copyfile(path, media_out / path.name)
        return sides
    finally:
        col.close()


def page_name(concept_id: str) -> str:
    """A concept page's file name inside ``concepts/`` (ids are safe in file names)."""
    return f"{concept_id}.html"


def card_document(
    html: str, css: str, ord_: int, media_base: str, mathjax_base: str | None = None
) -> str:
    """A card side as an Anki client's page: the note type's CSS, the card in ``#qa``, and
    MathJax from ``mathjax_base`` (relative to ``media_base``) when the side has math."""
    scripts = ""
    if mathjax_base is not None and ("\\(" in html or "\\[" in html):
        from flashgen.render.mathjax import script_tags

        scripts = script_tags(mathjax_base)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<base href='{media_base}'><style>{css}</style>"
        f"<style>html,body{{margin:0}}</style>{scripts}</head>"
        f"<body class='card card{ord_ + 1}'><div id='qa'>{html}</div></body></html>"
    )


#: The most card text (each side with its CSS) one concept page may hold: a concept of 30,000
#: questions would make a page of about a gigabyte that no browser opens. About 300 questions
#: fit; escaped into the page, it stays under the template output limit (64 MiB).
MAX_PAGE_CHARS = 12 * 1024 * 1024


def _page_too_large(concept: Concept, cards: int) -> Diagnostics:
    diag = Diagnostics()
    diag.error(
        concept.location,
        f"the preview page of concept '{concept.id}' ({cards:,} cards) would be over the limit "
        f"of {size_text(MAX_PAGE_CHARS)}; split the concept into smaller ones",
    )
    return diag


class SiteWriter:
    """Renders the pages with the Jinja2 templates in ``templates/preview/``."""

    def __init__(self, study: StudySet, sides: Sequence[CardSide], course_dir: Path) -> None:
        self.study = study
        self.course = study.course
        self.sides = sides
        self.course_dir = course_dir
        env = template_environment(course_dir)
        env.autoescape = True  # every value is escaped unless marked Markup
        self.env = env
        self.order = list(study.order)
        self.index_of = {concept.id: i for i, concept in enumerate(self.order)}
        #: Whether MathJax was copied into the site (see :mod:`flashgen.render.mathjax`).
        self.mathjax = False
        self.by_concept: dict[str, list[CardSide]] = {}
        for side in sides:
            self.by_concept.setdefault(side.card.concept.id, []).append(side)

    def chapters(self) -> list[dict[str, Any]]:
        """Chapters in course order, each with its concepts in learning order."""
        result = []
        for chapter in self.course.chapters:
            concepts = [c for c in self.order if c.chapter == chapter.id]
            result.append({"chapter": chapter, "concepts": concepts})
        return result

    def link(self, concept_id: str, prefix: str) -> dict[str, str] | None:
        concept = self.course.concept(concept_id)
        if concept is None:
            return None
        return {"id": concept.id, "title": concept.title, "href": prefix + page_name(concept.id)}

    def links(self, ids: Iterable[str], prefix: str) -> list[dict[str, str]]:
        found = (self.link(cid, prefix) for cid in dict.fromkeys(ids))
        return [link for link in found if link is not None]

    def common(self, root: str) -> dict[str, Any]:
        return {
            "course": self.course,
            "root": root,
            "concept_count": len(self.order),
            "card_count": len(self.sides),
            "question_count": self.course.question_count,
        }

    def index_html(self) -> str:
        maps = []
        if len(self.order) <= WHOLE_MAP_LIMIT:
            svg = concept_map_svg(
                self.study,
                href=lambda cid: "concepts/" + page_name(cid),
                id_prefix="fg-map-all",
            )
            maps.append({"title": None, "svg": Markup(svg)})
        else:
            for number, chapter in enumerate(self.course.chapters):
                ids = [c.id for c in self.order if c.chapter == chapter.id]
                if not ids:
                    continue
                svg = concept_map_svg(
                    self.study,
                    concepts=ids,
                    href=lambda cid: "concepts/" + page_name(cid),
                    id_prefix=f"fg-map-{number}",
                    title=f"Concept map of {chapter.title}",
                )
                maps.append({"title": chapter.title, "svg": Markup(svg)})
        template = self.env.get_template("preview/index.html")
        return template.render(
            **self.common(""),
            chapters=self.chapters(),
            maps=maps,
            cards_of={cid: len(sides) for cid, sides in self.by_concept.items()},
        )

    def concept_html(self, concept: Concept) -> str:
        position = self.index_of[concept.id]
        before = self.order[position - 1] if position > 0 else None
        after = self.order[position + 1] if position + 1 < len(self.order) else None
        learn_after = self.study.learn_after.get(concept.id, ())
        neighbourhood = [*concept.prerequisite_ids, concept.id, *learn_after]
        svg = concept_map_svg(
            self.study,
            concepts=neighbourhood,
            highlight=[concept.id],
            href=lambda cid: page_name(cid),
            id_prefix="fg-map-local",
            title=f"{concept.title}: what comes before and after",
        )
        chapter = self.course.chapter(concept.chapter)
        mathjax = f"../{MATHJAX_FOLDER}/" if self.mathjax else None
        cards = []
        size = 0
        for side in self.by_concept.get(concept.id, []):
            front = card_document(side.front, side.css, side.ord, "../media/", mathjax)
            back = card_document(side.back, side.css, side.ord, "../media/", mathjax)
            size += len(front) + len(back)
            if size > MAX_PAGE_CHARS:
                raise CourseError(_page_too_large(concept, len(self.by_concept[concept.id])))
            cards.append(
                {
                    "label": side.label,
                    "kind": side.card.kind,
                    "question_id": side.card.question.id if side.card.question else "",
                    "code": side.card.code,
                    "front": front,
                    "back": back,
                }
            )
        template = self.env.get_template("preview/concept.html")
        return template.render(
            **self.common("../"),
            concept=concept,
            chapter=chapter,
            chapter_concepts=[c for c in self.order if c.chapter == concept.chapter],
            source=display_path(concept.path, self.course_dir).as_posix(),
            previous=self.link(before.id, "") if before else None,
            next=self.link(after.id, "") if after else None,
            learn_before=self.links(concept.prerequisite_ids, ""),
            learn_after=self.links(learn_after, ""),
            related=self.links(concept.related_ids, ""),
            map_svg=Markup(svg),
            cards=cards,
        )

    def write(self, target: Path) -> list[Path]:
        written = []
        (target / "concepts").mkdir(parents=True, exist_ok=True)
        for asset in ("preview.css", "preview.js"):
            source = self.env.get_template(f"preview/{asset}").render()
            (target / asset).write_text(source, encoding="utf-8")
        self.mathjax = copy_mathjax(target)
        index = target / "index.html"
        index.write_text(self.index_html(), encoding="utf-8")
        written.append(index)
        for concept in self.order:
            page = target / "concepts" / page_name(concept.id)
            page.write_text(self.concept_html(concept), encoding="utf-8")
            written.append(page)
        return written


def build_preview(
    course_dir: Path,
    site_dir: Path,
    progress: Callable[[str], None] = lambda step: None,
) -> PreviewResult:
    """Build the course and write the preview site into ``site_dir`` (replaced whole).

    Raises :class:`CourseError` when the course has errors (``site_dir`` is then untouched) and
    :class:`PreviewUnavailable` when the ``anki`` package is missing.
    """
    require("anki", "flashgen preview")
    require("mathjax", "flashgen preview")  # the django-static-mathjax package
    check_output_folder(site_dir, course_dir)
    site_dir = site_dir.absolute()
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(site_dir)
    with tempfile.TemporaryDirectory(prefix="flashgen-preview-") as scratch_name:
        scratch = Path(scratch_name)
        result = build_module.build(
            course_dir, scratch / "deck", only=("apkg",), progress=progress, update_ledger=False
        )
        assert result.study is not None
        apkg = next(path for path in result.written if path.suffix == ".apkg")
        # Not mkdtemp, whose folder is private (0700): the site is meant to be copied to a web
        # server, so it gets the usual permissions (0755 less the umask) like any new folder.
        staging = site_dir.with_name(f".{site_dir.name}-new-{os.getpid()}-{time.monotonic_ns()}")
        staging.mkdir()
        try:
            progress("rendering cards with Anki")
            sides = render_with_anki(apkg, result.study, scratch, staging / "media")
            progress("writing pages")
            written = SiteWriter(result.study, sides, course_dir).write(staging)
            record_written(staging, SITE_ENTRIES, keep_earlier=False)
            _replace_dir(staging, site_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return PreviewResult(
        site=site_dir,
        pages=len(written),
        cards=len(sides),
        study=result.study,
        diagnostics=result.diagnostics,
        written=[site_dir / p.relative_to(staging) for p in written],
    )


def _replace_dir(new: Path, target: Path) -> None:
    """Put ``new`` where ``target`` is; the old folder is moved away first, then deleted, but
    for the entries flashgen did not write (:func:`flashgen.outputs.folder.carry_over_foreign`)."""
    old = None
    if target.exists():
        name = f"{staging_prefix(target, 'old')}{os.getpid()}-{time.monotonic_ns()}"
        old = target.with_name(name)
        target.rename(old)
        try:
            carry_over_foreign(old, new)
        except OSError:
            old.rename(target)
            raise
    new.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


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
    ) -> None:
        self.course_dir = course_dir
        self.site_dir = site_dir.absolute()
        self.log = log
        self.state = LiveState()
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
                result = build_preview(self.course_dir, self.site_dir)
            except CourseError as failure:
                text = failure.diagnostics.render_text()
                error = f"{text}\n{self.course_dir}: {failure.diagnostics.summary()}".strip()
            except PreviewUnavailable:
                raise
            except Exception as failure:  # a template or I/O error must not stop the server
                error = printable(f"{type(failure).__name__}: {failure}")
            with self.state.lock:
                self.state.version += 1
                self.state.error = error
                if error is None:
                    self.state.built = True
            if error is None:
                seconds = time.monotonic() - started
                self.log(
                    f"preview rebuilt: {plural(len(result.study.order), 'concept')}, "
                    f"{plural(result.cards, 'card')} ({seconds:.1f} s)"
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
