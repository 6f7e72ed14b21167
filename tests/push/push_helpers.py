"""A loopback fake push service, subscription keys made in the test, payload decryption (http-ece)
and VAPID verification, and a bus-event waiter."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Device:
    """A browser's push subscription: its key pair and auth secret, generated here."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url(self.private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                                 serialization.PublicFormat.UncompressedPoint))

    def subscription(self, label: str = "test device") -> dict[str, Any]:
        return {"label": label, "endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)}}

    def decrypt(self, body: bytes) -> dict[str, Any]:
        """The JSON payload of an aes128gcm push request, decrypted with this device's keys."""
        plain = http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm")
        return json.loads(plain)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class FakePushService:
    """An HTTP server on 127.0.0.1 that records push requests; ``status[path]`` picks the answer."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.status: dict[str, int] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                outer.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                code = outer.status.get(self.path, 201)
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def device(self, name: str) -> Device:
        return Device(f"{self.base}/push/{name}")

    def to(self, name: str) -> list[Received]:
        return [r for r in self.requests if r.path == f"/push/{name}"]

    def __enter__(self) -> FakePushService:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def verify_vapid(req: Received, public_key_b64: str, audience: str) -> dict[str, Any]:
    """Check the request's VAPID ``Authorization: vapid t=<jwt>, k=<key>`` (signature, audience)."""
    auth = req.headers["authorization"]
    assert auth.startswith("vapid "), auth
    parts = dict(p.strip().split("=", 1) for p in auth[len("vapid "):].split(","))
    assert parts["k"] == public_key_b64
    point = b64url_decode(public_key_b64)
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    return jwt.decode(parts["t"], key=key, algorithms=["ES256"], audience=audience)


def parse_sse(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """SSE messages as ``{"event", "id", "data"}`` (data JSON-decoded)."""
    event: dict[str, Any] = {}
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                event["data"] = json.loads("\n".join(data))
                yield event
            event, data = {}, []
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" "))
        elif line.startswith(("event:", "id:")):
            name, _, value = line.partition(":")
            event[name] = value.strip()


def wait_event(client: httpx.Client, pred: Callable[[dict[str, Any]], bool], *, since: int = 0,
               timeout: float = 30.0, what: str = "an event") -> dict[str, Any]:
    """The first bus event (``{"id","type","data"}``) after ``since`` matching ``pred``."""
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    try:
        with client.stream("GET", "/api/events/stream", params={"since": since},
                           timeout=httpx.Timeout(10.0, read=timeout)) as resp:
            for msg in parse_sse(resp.iter_lines()):
                ev = msg.get("data")
                if isinstance(ev, dict) and "type" in ev:
                    seen.append(ev["type"])
                    try:
                        if pred(ev):
                            return ev
                    except (KeyError, TypeError):
                        pass
                if time.monotonic() > deadline:
                    break
    except httpx.ReadTimeout:
        pass
    raise AssertionError(f"timed out waiting for {what}; saw {seen[-10:]}")
