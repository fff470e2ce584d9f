"""The preview server: a rebuild after an edit rewrites only what the edit changed; against
hostile clients: DNS rebinding, malformed requests, idle connections by the hundred; and a
concept too large for one preview page."""

from __future__ import annotations

import re
import socket
import threading
from pathlib import Path

import pytest

from flashgen.diagnostics import CourseError
from flashgen.outputs import preview
from flashgen.outputs.preview import pages
from flashgen.outputs.preview import server as preview_server
from preview_course import write_preview_course

pytest.importorskip("anki", reason="the preview extra (anki) is not installed")


@pytest.fixture
def server(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(preview_server, "CONNECTION_TIMEOUT", 2)
    root = write_preview_course(tmp_path / "course")
    server = preview.PreviewServer(root, tmp_path / "site", port=0, log=lambda line: None)
    with server:
        server.start(watch=False)
        yield server


def raw(server: preview.PreviewServer, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(response: bytes) -> int:
    if not response.startswith(b"HTTP/"):  # an HTTP/0.9-style answer: the page alone
        return int(re.search(rb"Error code: (\d+)", response).group(1))
    return int(response.split(b" ", 2)[1])


def get(server: preview.PreviewServer, path: str, host: str | None) -> bytes:
    header = f"Host: {host}\r\n" if host is not None else ""
    return raw(server, f"GET {path} HTTP/1.1\r\n{header}Connection: close\r\n\r\n".encode())


def test_only_the_loopback_name_and_port_served_are_answered(server):
    port = server.port
    assert status_of(get(server, "/", f"127.0.0.1:{port}")) == 200
    assert status_of(get(server, "/", f"localhost:{port}")) == 200
    for host in (f"attacker.example:{port}", "attacker.example", f"127.0.0.1:{port + 1}", None):
        for path in ("/", "/index.html", "/__flashgen__/status", "/preview.css"):
            response = get(server, path, host)
            assert status_of(response) == 421, (host, path)
            assert b"course" not in response.split(b"\r\n\r\n", 1)[1].lower()


@pytest.mark.parametrize(
    ("request_bytes", "expected"),
    [
        (b"GET /%00 HTTP/1.1\r\nHost: {host}\r\n\r\n", 400),
        (b"GET /concepts/%00.html HTTP/1.1\r\nHost: {host}\r\n\r\n", 400),
        (b"GET /..%5c..%5cetc%5cpasswd HTTP/1.1\r\nHost: {host}\r\n\r\n", 400),
        (b"GET /../../../../etc/passwd HTTP/1.1\r\nHost: {host}\r\n\r\n", 404),
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/9.9\r\nHost: {host}\r\n\r\n", 505),
        (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", 414),
    ],
)
def test_malformed_requests_get_a_clean_error_and_no_traceback(
    server, capfd, request_bytes, expected
):
    host = f"127.0.0.1:{server.port}".encode()
    response = raw(server, request_bytes.replace(b"{host}", host))
    assert status_of(response) == expected
    assert b"root:" not in response
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err + captured.out


def test_hundreds_of_idle_connections_pin_a_bounded_number_of_threads(server):
    before = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(300)]
    try:
        # Past the bound the server closes new connections at once: this one included, so
        # every earlier one has been accepted by now.
        with socket.create_connection(("127.0.0.1", server.port), timeout=60) as probe:
            assert probe.recv(1) == b""
        assert threading.active_count() <= before + preview_server.MAX_CONNECTIONS
    finally:
        for sock in idle:
            sock.close()
    host = f"127.0.0.1:{server.port}"
    for _ in range(100):  # the slots free up as the server sees the closed connections
        response = get(server, "/", host)
        if response:
            break
    assert status_of(response) == 200


def test_an_idle_connection_is_closed_by_the_server(server):
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.settimeout(60)  # a guard against a hang, not a measurement
        assert sock.recv(1) == b""  # the server closed it (after CONNECTION_TIMEOUT)


def test_a_concept_too_large_for_one_page_is_a_located_error(tmp_path, monkeypatch):
    monkeypatch.setattr(pages, "MAX_PAGE_CHARS", 50_000)
    root = write_preview_course(tmp_path / "course")
    many = "".join(
        f"  - id: q{i}\n    type: basic\n    front: Question {i}?\n    back: Answer {i}.\n"
        for i in range(40)
    )
    concept = root / "big.yaml"
    concept.write_text(
        "id: big\ntitle: Big\nchapter: basics\nprerequisites: []\nsummary: Many.\n"
        f"questions:\n{many}"
    )
    site = tmp_path / "site"
    with pytest.raises(CourseError) as caught:
        preview.build_preview(root, site)
    rendered = caught.value.diagnostics.render_text()
    assert f"{concept}:1:5: error: the preview page of concept 'big' (41 cards)" in rendered
    assert "would be over the limit of 49 KiB; split the concept" in rendered
    assert not site.exists()


def test_a_server_whose_first_build_failed_stops(tmp_path):
    """stop() must not wait for a serve loop that never started (it used to hang forever when
    the first build raised, e.g. with the preview extra missing)."""
    server = preview.PreviewServer(tmp_path / "c", tmp_path / "site", port=0, log=print)
    stopper = threading.Thread(target=server.stop, daemon=True)
    stopper.start()
    stopper.join(60)  # a guard against a hang, not a measurement
    assert not stopper.is_alive()


# ---- rebuilding after an edit ------------------------------------------------------------------


def site_files(site: Path) -> dict[str, tuple[int, bytes]]:
    """Each file of the site: its modification time (ns) and content."""
    return {
        path.relative_to(site).as_posix(): (path.stat().st_mtime_ns, path.read_bytes())
        for path in sorted(site.rglob("*"))
        if path.is_file()
    }


def rewritten(before: dict[str, tuple[int, bytes]], after: dict[str, tuple[int, bytes]]) -> list:
    return sorted(
        name for name in after.keys() | before.keys() if after.get(name) != before.get(name)
    )


def assert_same_as_a_full_build(root: Path, site: Path, fresh: Path) -> None:
    """The site rebuilt in part is, byte for byte, what a full build of the course writes."""
    preview.build_preview(root, fresh)
    assert {name: data for name, (_, data) in site_files(site).items()} == {
        name: data for name, (_, data) in site_files(fresh).items()
    }


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_summary_edit_rewrites_only_that_concepts_page(tmp_path: Path) -> None:
    root = write_preview_course(tmp_path / "course")
    site = tmp_path / "site"
    log: list[str] = []
    with preview.PreviewServer(root, site, port=0, log=log.append) as server:
        server.start(watch=False)
        before = site_files(site)
        edit(root / "one" / "beta.yaml", "summary: Builds on alpha.", "summary: Now edited.")
        assert server.rebuild()
    assert rewritten(before, site_files(site)) == ["concepts/beta.html"]
    assert "Now edited." in (site / "concepts" / "beta.html").read_text()
    assert "Builds on alpha." not in (site / "concepts" / "beta.html").read_text()
    rebuilt = [line for line in log if line.startswith("preview rebuilt")]
    assert rebuilt[-1].startswith("preview rebuilt: 3 concepts, 8 cards, 1 page written (")
    assert_same_as_a_full_build(root, site, tmp_path / "fresh")


ZETA = """id: zeta
title: Zeta
chapter: more
prerequisites: []
summary: Stands alone, after gamma.
"""


def test_a_new_title_rewrites_the_index_and_the_pages_that_show_it(tmp_path: Path) -> None:
    root = write_preview_course(tmp_path / "course")
    (root / "two" / "zeta.yaml").write_text(ZETA)  # in another chapter, no link to beta
    site = tmp_path / "site"
    with preview.PreviewServer(root, site, port=0, log=lambda line: None) as server:
        server.start(watch=False)
        before = site_files(site)
        edit(root / "one" / "beta.yaml", "title: Beta", "title: Beta Renamed")
        assert server.rebuild()
        changed = rewritten(before, site_files(site))
        assert changed == [
            "concepts/alpha.html",  # learn after: beta; the next concept
            "concepts/beta.html",
            "concepts/gamma.html",  # learn before: beta; the previous concept
            "index.html",
        ]
        assert_same_as_a_full_build(root, site, tmp_path / "fresh")
        assert not [name for name in changed if name.startswith(("media/", "mathjax/"))]
        assert "Beta Renamed" in (site / "index.html").read_text()
        # nothing changed: nothing is written
        before = site_files(site)
        assert server.rebuild()
        assert rewritten(before, site_files(site)) == []


def test_a_removed_concept_loses_its_page_and_a_broken_edit_keeps_the_site(tmp_path: Path) -> None:
    root = write_preview_course(tmp_path / "course")
    site = tmp_path / "site"
    with preview.PreviewServer(root, site, port=0, log=lambda line: None) as server:
        server.start(watch=False)
        before = site_files(site)
        gamma = root / "two" / "gamma.yaml"
        good = gamma.read_text()
        gamma.write_text(good.replace("prerequisites: [beta]", "prerequisites: [betta]"))
        assert not server.rebuild()
        assert "unknown prerequisite concept 'betta'" in (server.state.error or "")
        assert rewritten(before, site_files(site)) == []
        gamma.unlink()
        assert server.rebuild()
        assert not (site / "concepts" / "gamma.html").exists()
        gamma.write_text(good)
        assert server.rebuild()
        assert (site / "concepts" / "gamma.html").is_file()
    assert_same_as_a_full_build(root, site, tmp_path / "fresh")
