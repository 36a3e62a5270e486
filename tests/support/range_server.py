"""A small HTTP server on 127.0.0.1 that serves files from memory and honours Range requests.

It counts what it serves (GET requests, HEAD requests and body bytes), so the tests and
``benchmarks/bench_remote.py`` can check what a remote read really fetched. ``ranges=False``
makes it ignore Range headers (a full 200 response every time), as some static hosts do;
``stall=S`` makes it answer nothing for S seconds (a stalled server). Bodies are written in
pieces and ``bytes_written`` counts what the client took before it hung up. ``routes``
(``{prefix: handler(request) -> (status, headers, body) | None}``) answer other paths (the
Hugging Face stand-in, ``tests/support/hub_server.py``).
"""

from __future__ import annotations

import re
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["RangeServer"]

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


class RangeServer:
    """``with RangeServer({"/a.tasz": data}) as srv: srv.url("/a.tasz")``; counters in
    ``srv.gets``, ``srv.heads``, ``srv.bytes_sent`` (``srv.reset()`` zeroes them)."""

    def __init__(self, files: dict[str, bytes], *, ranges: bool = True, stall: float = 0.0,
                 routes: dict | None = None) -> None:
        self.files = dict(files)
        self.ranges = ranges
        self.stall = min(float(stall), 30.0)  # bounded: the thread always ends
        self.routes = dict(routes or {})
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.active = 0  # handlers running
        self._lock = threading.Lock()
        self.reset()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def reset(self) -> None:
        """Zero the counters once no request is being answered: a request of an earlier test
        still streaming on a loaded machine would otherwise count in the next one's bytes."""
        self.wait_idle()
        with self._lock:
            self.gets = self.heads = self.bytes_sent = self.bytes_written = 0
            self.bytes_by_path: dict[str, int] = {}  # body bytes served per path

    def url(self, name: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{name}"

    def __enter__(self) -> RangeServer:
        self._thread.start()
        return self

    def wait_idle(self, limit: float = 10.0) -> None:
        """Wait (at most ``limit`` seconds) until no request is being answered."""
        end = time.monotonic() + limit
        while self.active and time.monotonic() < end:
            time.sleep(0.02)

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _count(self, get: bool, nbytes: int, path: str = "") -> None:
        with self._lock:
            path = path.split("?")[0]
            self.bytes_by_path[path] = self.bytes_by_path.get(path, 0) + nbytes
            if get:
                self.gets += 1
            else:
                self.heads += 1
            self.bytes_sent += nbytes

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _respond(self, body_wanted: bool) -> None:
                with server._lock:
                    server.active += 1
                    server.requests.append((self.command, self.path))
                try:
                    if server.stall:
                        time.sleep(server.stall)
                        return
                    for prefix, route in server.routes.items():
                        if self.path.startswith(prefix):
                            answer = route(self)
                            if answer is not None:
                                return self._send(body_wanted, *answer)
                    self._file(body_wanted)
                finally:
                    with server._lock:
                        server.active -= 1

            def _send(self, body_wanted: bool, status: int, headers: dict, body: bytes) -> None:
                server._count(body_wanted, len(body) if body_wanted else 0, self.path)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body_wanted and body:
                    self._write(body)

            def _write(self, body: bytes) -> None:
                try:
                    for i in range(0, len(body), 1 << 18):
                        self.wfile.write(body[i : i + (1 << 18)])
                        with server._lock:
                            server.bytes_written += min(1 << 18, len(body) - i)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _file(self, body_wanted: bool) -> None:
                data = server.files.get(self.path.split("?")[0])
                if data is None:
                    server._count(body_wanted, 0)
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                lo, hi, status = 0, len(data), 200
                m = _RANGE.match(self.headers.get("Range", "")) if server.ranges else None
                if m:
                    lo = int(m.group(1))
                    hi = min(len(data), int(m.group(2)) + 1 if m.group(2) else len(data))
                    if lo >= len(data):
                        server._count(body_wanted, 0)
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
                body = data[lo:hi] if body_wanted else b""
                # counted before anything is sent: a client never sees a response uncounted
                server._count(body_wanted, len(body), self.path)
                self.send_response(status)
                if status == 206:
                    self.send_header("Content-Range", f"bytes {lo}-{hi - 1}/{len(data)}")
                if server.ranges:
                    self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(hi - lo))
                self.send_header("ETag", f'"{len(data)}-{zlib.crc32(data):08x}"')
                self.end_headers()
                if body:
                    self._write(body)

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                self._respond(True)

            def do_HEAD(self) -> None:  # noqa: N802
                self._respond(False)

            def do_POST(self) -> None:  # noqa: N802 - for ``routes`` (the hub's API)
                self._respond(True)

        return Handler
