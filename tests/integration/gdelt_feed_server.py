"""A local HTTP server that serves GDELT-shaped file lists and export files (the tests
write them; there is no network here), with a planned outage and a wrong MD5 on demand."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench.gdelt import row, write_file

__all__ = ["Feed", "feed"]


@dataclass
class Feed:
    """What the fixture server serves: files by name, the last one, a planned outage."""

    folder: Path
    files: list[str] = field(default_factory=list)
    last: str | None = None
    fail_next: int = 0
    bad_md5: set[str] = field(default_factory=set)
    requests: int = 0

    def add(self, stamp: str, codes: list[str]) -> str:
        name = f"{stamp}.export.CSV.zip"
        rows = [row(event_id=f"{stamp}{i}", code=c, added=stamp) for i, c in enumerate(codes)]
        write_file(self.folder / name, rows)
        self.files.append(name)
        self.last = name
        return name

    def add_foreign(self, stamp: str) -> str:
        """Rewrite the file of ``stamp``: a KAZ-RUS summons, criticism and a USA-CHN act."""
        name = f"{stamp}.export.CSV.zip"
        rows = [
            row(event_id=f"{stamp}0", code="110", added=stamp),
            row(event_id=f"{stamp}1", code="111", added=stamp),
            row(event_id=f"{stamp}9", actor1="USA", actor2="CHN", added=stamp),
        ]
        write_file(self.folder / name, rows)
        return name

    def line(self, name: str) -> str:
        body = (self.folder / name).read_bytes()
        md5 = hashlib.md5(body, usedforsecurity=False).hexdigest()
        if name in self.bad_md5:
            md5 = "0" * 32
        return f"{len(body)} {md5} {self.url}{name}\n"

    url: str = ""


@pytest.fixture
def feed(tmp_path: Path) -> Iterator[Feed]:
    state = Feed(tmp_path / "served")
    state.folder.mkdir()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests += 1
            if state.fail_next > 0:
                state.fail_next -= 1
                self.send_error(503, "feed down")
                return
            name = self.path.lstrip("/")
            if name == "masterfilelist.txt":
                body = "".join(state.line(n) for n in state.files).encode()
            elif name == "lastupdate.txt":
                body = state.line(state.last).encode() if state.last else b""
            elif (state.folder / name).is_file():
                body = (state.folder / name).read_bytes()
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
