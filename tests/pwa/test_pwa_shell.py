"""The PWA's static shell as served over HTTP: routes, content types, caching headers, the
manifest's installability fields, the service worker's precache list, and the assets on disk."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import Any

import pytest
from argus.plugins.pwa import hooks, make_icons, shell
from quart_trio import QuartTrio

STATIC = shell.STATIC_DIR


@pytest.fixture
def client() -> Any:
    app = QuartTrio("pwa-test")
    app.register_blueprint(shell.make_blueprint())
    return app.test_client()


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("path", ["/", "/login", "/new", "/new?title=t&text=x&url=https://e.com",
                                  "/settings", "/tokens", "/logs", "/task/t_123", "/task/t_123?tab=diff"])
async def test_client_routes_serve_the_shell(client: Any, path: str) -> None:
    resp = await client.get(path)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    body = await resp.get_data(as_text=True)
    assert '<link rel="manifest" href="/manifest.webmanifest">' in body
    assert 'id="offline"' in body and "Tailscale" in body


@pytest.mark.parametrize(("path", "ctype"), [
    ("/app.js", "text/javascript"),
    ("/app.css", "text/css"),
    ("/js/api.js", "text/javascript"),
    ("/js/views/task.js", "text/javascript"),
    ("/vendor/xterm.mjs", "text/javascript"),
    ("/vendor/addon-fit.mjs", "text/javascript"),
    ("/vendor/xterm.css", "text/css"),
    ("/icons/icon-192.png", "image/png"),
    ("/favicon.ico", "image/png"),
    ("/manifest.webmanifest", "application/manifest+json"),
])
async def test_assets_have_their_content_types(client: Any, path: str, ctype: str) -> None:
    resp = await client.get(path)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith(ctype)
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["ETag"]


async def test_etag_revalidation_answers_304(client: Any) -> None:
    first = await client.get("/app.js")
    again = await client.get("/app.js", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert await again.get_data() == b""


@pytest.mark.parametrize("path", ["/js/../hooks.py", "/js/%2e%2e/shell.py", "/vendor/..%2f..%2fhooks.py",
                                  "/icons/nope.png", "/js/", "/api/not-mine"])
async def test_nothing_outside_static_is_served(client: Any, path: str) -> None:
    resp = await client.get(path)
    assert resp.status_code == 404


def test_resolve_static_refuses_escapes() -> None:
    assert shell.resolve_static("../hooks.py") is None
    assert shell.resolve_static("/etc/passwd") is None
    assert shell.resolve_static("js/../../shell.py") is None
    assert shell.resolve_static("js/api.js") == STATIC / "js" / "api.js"


async def test_service_worker_headers_and_stamped_version(client: Any) -> None:
    resp = await client.get("/sw.js")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/javascript")
    assert resp.headers["Service-Worker-Allowed"] == "/"
    assert "no-cache" in resp.headers["Cache-Control"]
    body = await resp.get_data(as_text=True)
    assert "__SHELL_VERSION__" not in body and "__SHELL_FILES__" not in body
    assert f"const VERSION = '{shell.shell_version()}'" in body
    files = json.loads(re.search(r"const SHELL = (\[.*?\]);", body).group(1))
    for needed in ("/", "/app.js", "/app.css", "/manifest.webmanifest", "/vendor/xterm.mjs",
                   "/icons/icon-192.png", "/js/offline.js"):
        assert needed in files
    # Every precached file must be served, or install fails as a whole.
    for path in files:
        assert (await client.get(path)).status_code == 200, path


def test_manifest_is_installable() -> None:
    manifest = json.loads((STATIC / "manifest.webmanifest").read_text())
    assert manifest["name"] == "Argus" and manifest["short_name"]
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    assert manifest["background_color"]
    sizes: dict[str, set[str]] = {}
    for icon in manifest["icons"]:
        path = STATIC / icon["src"].lstrip("/")
        w, h = png_size(path)
        assert icon["sizes"] == f"{w}x{h}", icon
        assert icon["type"] == "image/png"
        sizes.setdefault(icon.get("purpose", "any"), set()).add(icon["sizes"])
    assert {"192x192", "512x512"} <= sizes["any"]
    assert "512x512" in sizes["maskable"]
    share = manifest["share_target"]
    assert share["action"] == "/new" and share["method"] == "GET"
    assert share["params"] == {"title": "title", "text": "text", "url": "url"}


def test_apple_touch_icon_is_opaque_180() -> None:
    path = STATIC / "icons" / "apple-touch-icon.png"
    assert png_size(path) == (180, 180)
    html = (STATIC / "index.html").read_text()
    assert 'rel="apple-touch-icon" href="/icons/apple-touch-icon.png"' in html


def test_icons_are_reproducible_from_the_script() -> None:
    size, scale, radius = make_icons.ICONS["favicon-32.png"]
    assert make_icons.render(size, make_icons.eye_shader(scale, radius)) == (
        STATIC / "icons" / "favicon-32.png").read_bytes()


def test_every_module_import_resolves() -> None:
    """Each ES module import points at a file we serve (no bundler, so a typo is a blank page)."""
    pattern = re.compile(r"""(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]""")
    modules = [STATIC / "app.js", STATIC / "sw.js", *sorted((STATIC / "js").rglob("*.js"))]
    assert len(modules) > 10
    for module in modules:
        for spec in pattern.findall(module.read_text()):
            target = (STATIC / spec.lstrip("/")) if spec.startswith("/") else (module.parent / spec)
            assert target.resolve().is_file(), f"{module.relative_to(STATIC)} imports missing {spec}"
            assert shell.resolve_static(target.resolve().relative_to(STATIC.resolve()).as_posix())


def test_xterm_is_vendored_with_its_licence_and_pinned_version() -> None:
    vendor = STATIC / "vendor"
    for name in ("xterm.mjs", "addon-fit.mjs", "xterm.css", "LICENSE.xterm", "LICENSE.addon-fit"):
        assert (vendor / name).is_file(), name
    assert "export{" in (vendor / "xterm.mjs").read_text()[-200:]
    script = (Path(shell.__file__).parent / "vendor.sh").read_text()
    pinned = dict(re.findall(r'^(XTERM_VERSION|FIT_VERSION)="([^"]+)"', script, re.M))
    versions = (vendor / "VERSIONS").read_text()
    assert f"@xterm/xterm {pinned['XTERM_VERSION']}" in versions
    assert f"@xterm/addon-fit {pinned['FIT_VERSION']}" in versions
    # No CDN at run time: nothing in the shell loads from another origin.
    for path in [STATIC / "index.html", STATIC / "app.js", *(STATIC / "js").rglob("*.js")]:
        assert not re.search(r"""(src|href|from)\s*=?\s*['"]https?://""", path.read_text()), path


def test_register_hook_mounts_the_blueprint() -> None:
    added: list[Any] = []

    class Http:
        def add_blueprint(self, bp: Any) -> None:
            added.append(bp)

    class Kernel:
        http = Http()

    hooks.argus_register(Kernel())  # type: ignore[arg-type]
    assert [bp.name for bp in added] == ["pwa"]
