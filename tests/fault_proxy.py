"""A fault-injecting HTTP(S) proxy in front of the real node, for retry and TLS tests.

The first `failures` requests whose path contains one of `paths` (default: predict calls) get a fault, and
everything else is forwarded unchanged to the node. A fault is `status` with an OpenSearch-style error body,
or with `status=200` and `garbage=True` a 200 whose body is not JSON, or with `reset=True` a connection closed
without an answer. With `every`, a fault is injected on every n-th matching request instead (a steady fault
rate). `tls` (an `ssl.SSLContext`) makes it an HTTPS server; `authorizations` records the Authorization headers
it was sent, so a test can prove that credentials never reached a server that was not trusted.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

PREDICT = ("/_predict/",)
STORE = ("/_bulk", "/_mget", "/_mapping")
"""The batch job's own requests: writes, the "already stored?" look-up, and the index check (with HEAD /index)."""


class FaultProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        upstream: str,
        *,
        failures: int = 0,
        status: int = 429,
        paths: tuple[str, ...] = PREDICT,
        garbage: bool = False,
        reset: bool = False,
        every: int | None = None,
        head_index: bool = False,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        self.upstream = upstream.rstrip("/")
        self.failures = failures
        self.status = status
        self.paths = paths
        self.garbage = garbage
        self.reset = reset
        self.every = every
        self.head_index = head_index
        self.injected = 0
        self.forwarded = 0
        self.matched = 0
        self.authorizations: list[str] = []
        self.trusted = False
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server_address[1]}"

    def take_failure(self, method: str, path: str, authorization: str | None) -> bool:
        with self._lock:
            if authorization:
                self.authorizations.append(authorization)
            bare = path.split("?")[0]
            matches = any(p in path for p in self.paths) or (
                self.head_index and method == "HEAD" and bare.count("/") == 1
            )
            if matches:
                self.matched += 1
                due = self.matched % self.every == 0 if self.every else self.failures > 0
                if due:
                    self.failures -= 1
                    self.injected += 1
                    return True
            self.forwarded += 1
            return False

    def __enter__(self) -> Self:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: FaultProxy
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.server.take_failure(self.command, self.path, self.headers.get("Authorization")):
            self._fault()
            return
        request = urllib.request.Request(
            self.server.upstream + self.path,
            data=body or None,
            method=self.command,
            headers={"Content-Type": self.headers.get("Content-Type", "application/json")},
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                self._reply(response.status, response.read())
        except urllib.error.HTTPError as error:
            self._reply(error.code, error.read())

    def _fault(self) -> None:
        if self.server.reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.close_connection = True
            self.connection.close()
            return
        if self.server.garbage:
            self._reply(200, b"<html><body>502 Bad Gateway from a proxy</body></html>", "text/html")
            return
        reason = "Request is throttled at model level." if self.server.status == 429 else "injected fault"
        self._reply(self.server.status, json.dumps({"error": {"reason": reason, "type": "x"}, "status": 0}).encode())

    def _reply(self, status: int, payload: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass
