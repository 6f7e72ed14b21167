"""Artifacts: registered from inside the worktree, listed and served only from the manifest."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from argus.kernel.errors import Invalid
from argus.plugins.tasks.artifacts import MAX_SIZE, headers_for, infer_type, normalize_type
from orch_helpers import call, call_error, create_task, events, mcp_session


def test_types_are_inferred_and_normalized() -> None:
    assert infer_type("r.HTML") == "html" and infer_type("x.pdf") == "pdf" and infer_type("a.md") == "markdown"
    assert infer_type("shot.png") == "image" and infer_type("log.txt") == "text" and infer_type("noext") == "text"
    assert normalize_type("md", "x") == "markdown" and normalize_type("text/html", "x") == "html"
    assert normalize_type("image/png", "x") == "image" and normalize_type(None, "a.pdf") == "pdf"
    with pytest.raises(Invalid):
        normalize_type("exe", "x")


def test_html_and_svg_get_the_sandbox_policy() -> None:
    html = headers_for({"name": "r.html", "type": "html"})
    assert html["Content-Security-Policy"].startswith("sandbox allow-scripts; default-src 'none'")
    assert html["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in headers_for({"name": "d.svg", "type": "image"})
    png = headers_for({"name": "p.png", "type": "image"})
    assert "Content-Security-Policy" not in png and png["X-Content-Type-Options"] == "nosniff"


async def test_register_list_and_serve_only_registered_files(
        daemon: Any, project: dict[str, Any], tmp_path: Path) -> None:
    c = daemon.client
    me = create_task(c, project["name"], "reporter")
    wt = Path(me["worktree_path"])
    (wt / "out").mkdir()
    (wt / "out" / "report.html").write_text("<script>alert(1)</script><h1>Report</h1>")
    (wt / "notes.md").write_text("# notes\n")
    (wt / "secret.txt").write_text("not registered\n")
    outside = tmp_path / "outside.txt"
    outside.write_text("outside the worktree\n")
    os.symlink(outside, wt / "sneaky.txt")
    async with mcp_session(daemon.mcp_url, daemon.token) as s:
        html = (await call(s, "artifact_register", {"cwd": str(wt / "out"), "path": "out/report.html",
                                                    "title": "Weekly report"}))["artifact"]
        assert html["name"] == "report.html" and html["type"] == "html" and html["title"] == "Weekly report"
        md = (await call(s, "artifact_register", {"id": me["id"], "path": str(wt / "notes.md")}))["artifact"]
        assert md["type"] == "markdown" and md["size"] == len("# notes\n")
        # re-registering the same file updates it instead of adding another
        again = (await call(s, "artifact_register", {"id": me["id"], "path": "notes.md", "title": "Notes"}))
        assert again["artifact"]["name"] == "notes.md" and again["artifact"]["title"] == "Notes"
        for bad in ("../outside.txt", str(outside), "sneaky.txt", "/etc/passwd"):
            err = await call_error(s, "artifact_register", {"id": me["id"], "path": bad})
            assert "outside" in err, (bad, err)
        assert "no such file" in await call_error(s, "artifact_register", {"id": me["id"], "path": "nope.pdf"})
        assert "not a regular file" in await call_error(s, "artifact_register", {"id": me["id"], "path": "out"})
        big = wt / "big.bin"
        with open(big, "wb") as fh:
            fh.truncate(MAX_SIZE + 1)
        assert "25 MiB" in await call_error(s, "artifact_register", {"id": me["id"], "path": "big.bin"})

    listed = c.get(f"/api/tasks/{me['id']}/artifacts").json()["artifacts"]
    assert [(a["name"], a["title"], a["type"]) for a in listed] == [
        ("report.html", "Weekly report", "html"), ("notes.md", "Notes", "markdown")]
    assert all(set(a) >= {"name", "title", "type", "size"} for a in listed)

    resp = c.get(f"/api/tasks/{me['id']}/artifacts/report.html")
    assert resp.status_code == 200 and resp.text.startswith("<script>")
    assert resp.headers["content-type"].startswith("text/html")
    assert resp.headers["content-security-policy"].startswith("sandbox allow-scripts; default-src 'none'")
    assert resp.headers["x-content-type-options"] == "nosniff"
    md_resp = c.get(f"/api/tasks/{me['id']}/artifacts/notes.md")
    assert md_resp.status_code == 200 and md_resp.text == "# notes\n"
    assert md_resp.headers["x-content-type-options"] == "nosniff"

    # unregistered names and traversal attempts are 404, whatever the encoding
    base = f"/api/tasks/{me['id']}/artifacts/"
    for raw in ("secret.txt", "..%2F..%2Fetc%2Fpasswd", "../../../etc/passwd", "out%2Freport.html",
                "%2E%2E%2Fsecret.txt", "sneaky.txt"):
        r = c.get(base + raw)
        assert r.status_code == 404, (raw, r.status_code, r.text[:100])
        assert "outside the worktree" not in r.text
    # a registered file swapped for a symlink pointing outside is refused at read time
    (wt / "notes.md").unlink()
    os.symlink(outside, wt / "notes.md")
    assert c.get(f"/api/tasks/{me['id']}/artifacts/notes.md").status_code == 404
    assert c.get("/api/tasks/t_nope/artifacts").status_code == 404
    assert [e for e in events(c) if e["type"] == "artifact.registered"]
