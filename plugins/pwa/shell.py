"""The PWA's static shell: files under ``static/``, their content types, and the HTTP blueprint.

Everything here is public (no token): the kernel's auth policy covers ``/api/*`` only. The app
is plain ES modules and CSS, so serving is just reading files; each response carries an ETag
and ``Cache-Control: no-cache`` so a phone revalidates cheaply and picks up new versions,
while the service worker keeps a copy for offline starts.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from quart import Blueprint, Response, request

STATIC_DIR = Path(__file__).resolve().parent / "static"

CONTENT_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".json": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}

# Paths the single-page app routes on the client; the server answers each with index.html.
CLIENT_ROUTES = ("/", "/login", "/new", "/settings", "/tokens", "/logs", "/offline", "/hera", "/notes", "/inbox")
CLIENT_ROUTE_PREFIXES = ("/task/", "/settings/", "/hera/")

# Folders (under static/) whose files are served as they are.
ASSET_DIRS = ("js", "icons", "vendor")

# Files precached by the service worker: the shell needed to start and show the offline screen.
SHELL_EXCLUDE_SUFFIXES = (".map",)
SHELL_EXCLUDE_NAMES = ("sw.js", "VERSIONS")

# Content Security Policy for the HTML shell. xterm.js sets inline styles; artifacts are
# framed from the same origin (sandboxed iframes), so frame-src is 'self'.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; frame-src 'self'; worker-src 'self'; "
    "manifest-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'"
)


@dataclass(frozen=True)
class StaticFile:
    """One file of the shell as served: bytes, content type, and a strong ETag."""

    body: bytes
    content_type: str
    etag: str


def content_type_for(path: Path) -> str:
    """The Content-Type header for ``path``, by suffix (``application/octet-stream`` if unknown)."""
    return CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")


def resolve_static(rel: str, root: Path = STATIC_DIR) -> Path | None:
    """Return the file ``rel`` under ``root``, or None if it is missing or escapes ``root``."""
    if not rel or "\x00" in rel or rel.startswith(("/", "\\")):
        return None
    candidate = (root / rel).resolve()
    try:
        candidate.relative_to(root.resolve())
    except ValueError:
        return None
    return candidate if candidate.is_file() else None


def shell_files(root: Path = STATIC_DIR) -> list[str]:
    """URL paths the service worker precaches: every shell file except the worker itself."""
    out = ["/"]
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name in SHELL_EXCLUDE_NAMES or path.suffix in SHELL_EXCLUDE_SUFFIXES:
            continue
        rel = path.relative_to(root).as_posix()
        if rel == "index.html" or rel.startswith("vendor/LICENSE"):
            continue
        out.append("/" + rel)
    return out


def shell_version(root: Path = STATIC_DIR) -> str:
    """A short hash over every shell file: changes whenever any of them changes."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def load(path: Path) -> StaticFile:
    """Read ``path`` into a ``StaticFile`` (the service worker gets its version stamped in)."""
    body = path.read_bytes()
    if path.name == "sw.js" and path.parent == STATIC_DIR:
        body = body.replace(b"__SHELL_VERSION__", shell_version().encode()).replace(
            b'"__SHELL_FILES__"', json.dumps(shell_files()).encode()
        )
    return StaticFile(body, content_type_for(path), '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def respond(path: Path | None, *, extra_headers: dict[str, str] | None = None) -> Response:
    """A 200 (or 304 when the ETag matches) for ``path``; a plain 404 when it is None."""
    if path is None:
        return Response("not found\n", status=404, content_type="text/plain; charset=utf-8")
    f = load(path)
    headers = {"ETag": f.etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    headers.update(extra_headers or {})
    if f.etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        return Response(b"", status=304, headers=headers)
    return Response(f.body, status=200, content_type=f.content_type, headers=headers)


def index_response() -> Response:
    """The app shell (``index.html``), used for ``/`` and every client-side route."""
    return respond(
        resolve_static("index.html"),
        extra_headers={"Content-Security-Policy": CSP, "Referrer-Policy": "no-referrer"},
    )


def make_blueprint() -> Blueprint:
    """Build the blueprint serving the shell, its assets, the manifest and the service worker."""
    bp = Blueprint("pwa", __name__)

    async def index() -> Response:
        return index_response()

    for route in CLIENT_ROUTES:
        bp.add_url_rule(route, f"client_{route.strip('/') or 'root'}", index, methods=["GET"])

    @bp.get("/task/<path:rest>")
    async def task_route(rest: str) -> Response:
        return index_response()

    @bp.get("/settings/<path:rest>")
    async def settings_route(rest: str) -> Response:
        return index_response()

    @bp.get("/manifest.webmanifest")
    async def manifest() -> Response:
        return respond(resolve_static("manifest.webmanifest"))

    @bp.get("/sw.js")
    async def service_worker() -> Response:
        return respond(
            resolve_static("sw.js"),
            extra_headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache, no-store"},
        )

    @bp.get("/app.js")
    async def app_js() -> Response:
        return respond(resolve_static("app.js"))

    @bp.get("/app.css")
    async def app_css() -> Response:
        return respond(resolve_static("app.css"))

    @bp.get("/favicon.ico")
    async def favicon() -> Response:
        return respond(resolve_static("icons/favicon-32.png"))

    for folder in ASSET_DIRS:

        async def asset(rel: str, _folder: str = folder) -> Response:
            return respond(resolve_static(f"{_folder}/{rel}"))

        bp.add_url_rule(f"/{folder}/<path:rel>", f"asset_{folder}", asset, methods=["GET"])

    return bp
