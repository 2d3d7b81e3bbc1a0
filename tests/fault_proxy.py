"""A fault-injecting HTTP proxy in front of the real node, for retry tests.

The first `failures` requests whose path contains `/_predict/` get `status` with an OpenSearch-style error
body; everything else is forwarded unchanged to the node.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class FaultProxy(ThreadingHTTPServer):
    def __init__(self, upstream: str, *, failures: int, status: int = 429) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream.rstrip("/")
        self.failures = failures
        self.status = status
        self.injected = 0
        self.forwarded = 0
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def take_failure(self, path: str) -> bool:
        with self._lock:
            if "/_predict/" in path and self.failures > 0:
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

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.server.take_failure(self.path):
            reason = "Request is throttled at model level." if self.server.status == 429 else "injected fault"
            self._reply(
                self.server.status, json.dumps({"error": {"reason": reason, "type": "x"}, "status": 0}).encode()
            )
            return
        request = urllib.request.Request(
            self.server.upstream + self.path, data=body or None, method=self.command,
            headers={"Content-Type": self.headers.get("Content-Type", "application/json")},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                self._reply(response.status, response.read())
        except urllib.error.HTTPError as error:
            self._reply(error.code, error.read())

    def _reply(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass
