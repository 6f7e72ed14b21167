"""A tiny external plugin process for the MCP tests (standard library only).

Registers ``<scope>_echo``, ``<scope>_fail`` (HTTP 500), ``<scope>_refuse`` (200 with an error) and
``<scope>_text`` (a plain-text answer) with ``POST /api/mcp/tools`` using the scope token in
``ARGUS_SCOPE_TOKEN`` against ``ARGUS_URL``, prints ``ready <base-url>`` and serves the callbacks.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

ARGUS = os.environ["ARGUS_URL"]
TOKEN = os.environ["ARGUS_SCOPE_TOKEN"]
SCOPE = TOKEN.split(":")[1]
SECRET = "Bearer plugin-callback-secret"


def register(name: str, path: str, base: str) -> None:
    body = {"name": f"{SCOPE}_{name}", "description": f"{name} test tool", "callback_url": base + path,
            "auth_header": SECRET,
            "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}}}
    req = urllib.request.Request(ARGUS + "/api/mcp/tools", json.dumps(body).encode(), method="POST",
                                 headers={"X-Argus-Auth": TOKEN, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 201, resp.status


class Handler(BaseHTTPRequestHandler):
    def _send(self, code: int, payload: Any, ctype: str = "application/json") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.headers.get("Authorization") != SECRET:
            self._send(401, {"error": "callback called without the registered auth_header"})
        elif self.path == "/echo":
            self._send(200, {"result": {"tool": body["tool"], "input": body["input"],
                                        "context": body["context"], "pid": os.getpid()}})
        elif self.path == "/fail":
            self._send(500, {"error": "boom from the plugin"})
        elif self.path == "/refuse":
            self._send(200, {"error": "the plugin refuses politely"})
        elif self.path == "/text":
            self._send(200, b"plain words", "text/plain")
        else:
            self._send(404, {"error": "no such callback"})

    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    server = HTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_port}"
    for name in ("echo", "fail", "refuse", "text"):
        register(name, f"/{name}", base)
    print("ready", base, flush=True)
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
