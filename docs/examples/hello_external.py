"""greeter: a tiny out-of-process Argus plugin (an MCP tool and a Settings form over HTTP).

    export ARGUS_URL=http://127.0.0.1:7743 ARGUS_SCOPE_TOKEN=$(argus token mint --scope greeter)
    python hello_external.py    # standard library only: any language that speaks HTTP will do
"""

import json
import os
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

ARGUS = os.environ.get("ARGUS_URL", "http://127.0.0.1:7743")
TOKEN = os.environ["ARGUS_SCOPE_TOKEN"]  # scope:<name>:<secret>
SCOPE = TOKEN.split(":")[1]
state = {"greeting": "Hello"}


def post(path: str, body: dict) -> dict:
    req = urllib.request.Request(ARGUS + path, json.dumps(body).encode(), method="POST", headers={
        "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


def register(base: str) -> None:
    post("/api/mcp/tools", {"name": f"{SCOPE}_greet", "description": "Greet someone by name.",
                            "input_schema": {"type": "object", "properties": {"name": {"type": "string"}}},
                            "callback_url": f"{base}/tool"})
    post("/api/plugins/settings/sections", {"title": "Greeter", "type": "form", "callback_url": f"{base}/settings",
                                            "fields": [{"key": "greeting", "type": "string", "default": "Hello"}]})


class Callbacks(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/tool":  # {"tool", "input", "context"} -> {"result": ...} or {"error": ...}
            name = body["input"].get("name")
            answer = {"result": {"message": f"{state['greeting']}, {name}!"}} if name else {"error": "name is required"}
        else:  # /settings: the form's {key: value} map, already validated by Argus
            state.update(body)
            answer = {"ok": True}
        data = json.dumps(answer).encode()
        self.send_response(200)
        for header, value in (("Content-Type", "application/json"), ("Content-Length", str(len(data)))):
            self.send_header(header, value)
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    server = HTTPServer(("127.0.0.1", 0), Callbacks)
    server.timeout, base, refresh_at = 30, f"http://127.0.0.1:{server.server_port}", 0.0
    while True:  # serve callbacks; re-register (idempotent) every 5 min: idle tools are swept at 10
        if time.monotonic() >= refresh_at:
            register(base)
            refresh_at = time.monotonic() + 300
            print("registered", base, flush=True)
        server.handle_request()
