"""The ``[kb]`` settings on a real daemon: off by default, switched on and off live, the vault alias."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from argus_testkit import Daemon, wait_for
from kb_helpers import enable, mcp_session

KB_TOOLS = {"kb_search", "kb_read", "kb_list", "kb_ingest", "kb_delete"}


async def _tool_names(d: Daemon) -> set[str]:
    async with mcp_session(d) as s:
        return {t.name for t in (await s.list_tools()).tools}


async def test_disabled_by_default_then_enabled_and_disabled_live(fresh_daemon: Daemon, tmp_path: Path) -> None:
    d = fresh_daemon
    c = d.client
    status = c.get("/api/kb/status").json()
    assert status["enabled"] is False and status["documents"] == 0
    assert not (KB_TOOLS & await _tool_names(d))
    assert c.get("/api/kb/search", params={"q": "x"}).status_code == 409
    schema = next(s for s in c.get("/api/settings").json()["schema"] if s["name"] == "kb")
    defaults = {f["key"]: f["default"] for f in schema["fields"]}
    assert defaults["enabled"] is False and {".obsidian/", ".trash/", "attachments/"} <= set(defaults["exclude"])

    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "One.md").write_text("# One\n\nkiwiword\n")
    enable(c, vault, documents=1)
    assert KB_TOOLS <= await _tool_names(d)
    assert c.get("/api/status").json()["kb"]["documents"] == 1

    assert c.put("/api/settings", json={"kb": {"enabled": False}}).status_code == 200
    assert not (KB_TOOLS & await _tool_names(d))
    assert c.get("/api/kb/search", params={"q": "kiwiword"}).status_code == 409
    wait_for(lambda: c.get("/api/kb/status").json()["watcher"] == "stopped", 30, what="the watcher to stop")
    (vault / "Two.md").write_text("# Two\n\nwhile disabled\n")

    # Enabled again: the index is kept and only the new file is read.
    enable(c, vault, documents=2)
    progress = c.get("/api/kb/status").json()["progress"]
    assert progress["indexed"] == 1 and progress["unchanged"] == 1


def test_the_manuals_metis_vault_path_is_an_alias(fresh_daemon: Daemon, tmp_path: Path) -> None:
    c = fresh_daemon.client
    vault = tmp_path / "metis"
    vault.mkdir()
    (vault / "Note.md").write_text("# Note\n\nmetisword\n")
    resp = c.put("/api/settings", json={"kb": {"enabled": True, "metis_vault_path": str(vault)}})
    assert resp.status_code == 200
    wait_for(lambda: c.get("/api/kb/search", params={"q": "metisword"}).json().get("count") == 1, 15,
             what="the aliased vault to be indexed")
    assert c.get("/api/kb/status").json()["vault_path"] == str(vault)


def test_a_missing_vault_is_reported_not_fatal(fresh_daemon: Daemon, tmp_path: Path) -> None:
    c = fresh_daemon.client
    missing = tmp_path / "nowhere"
    assert c.put("/api/settings", json={"kb": {"enabled": True, "vault_path": str(missing)}}).status_code == 200
    status: dict[str, Any] = wait_for(lambda: (s := c.get("/api/kb/status").json())["error"] and s, 10,
                                      what="the error")
    assert "vault not found" in status["error"] and status["vault_exists"] is False
    assert c.get("/api/kb/search", params={"q": "x"}).status_code == 409
    assert c.post("/api/kb/reindex", json={}).status_code == 409
    # The folder appears (a synced vault mounted late): it is indexed without touching the settings.
    missing.mkdir()
    (missing / "Late.md").write_text("# Late\n\nlateword\n")
    wait_for(lambda: c.get("/api/kb/search", params={"q": "lateword"}).json().get("count") == 1, 15,
             what="the late vault to be indexed")
