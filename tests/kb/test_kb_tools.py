"""The kb end to end: a real daemon indexing a generated vault, driven by the official MCP client and REST.

The vault has frontmatter, tags, wiki-links, nested folders, unicode names, a file over the
indexing cap, a binary ``.md``, a broken YAML header, excluded folders and symlinks leading out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from argus_testkit import wait_for
from kb_helpers import INDEXED, call, call_error, events, mcp_session

KB_TOOLS = {"kb_search", "kb_read", "kb_list", "kb_ingest", "kb_delete"}


@pytest.fixture
def kb(kb_daemon: dict[str, Any]) -> dict[str, Any]:
    return kb_daemon


def _search(client: httpx.Client, q: str, **params: Any) -> list[dict[str, Any]]:
    resp = client.get("/api/kb/search", params={"q": q, **params})
    assert resp.status_code == 200, resp.text
    return resp.json()["results"]


def _paths(results: list[dict[str, Any]]) -> list[str]:
    return [r["path"] for r in results]


async def test_tools_are_listed_with_the_manuals_parameters(kb: dict[str, Any]) -> None:
    async with mcp_session(kb["daemon"]) as s:
        listed = {t.name: t for t in (await s.list_tools()).tools}
    assert KB_TOOLS <= set(listed)
    props = {name: set(listed[name].input_schema["properties"]) for name in KB_TOOLS}
    assert {"query", "limit", "path_prefix", "tags"} <= props["kb_search"]
    assert {"path"} == props["kb_read"] == props["kb_delete"]
    assert {"prefix", "limit", "offset"} <= props["kb_list"]
    assert {"path", "content", "frontmatter"} <= props["kb_ingest"]


def test_enabling_indexes_the_vault_with_progress_events(kb: dict[str, Any]) -> None:
    status = kb["status"]
    assert status["enabled"] and status["documents"] == len(INDEXED)
    assert status["watcher"] == "running" and status["last_indexed"]
    progress = events(kb["daemon"].client, "kb.index.progress")
    assert progress and progress[0]["done"] is False
    final = [p for p in progress if p["done"]]
    assert final and final[0]["seen"] == len(INDEXED) + 1  # + the binary file, seen but not indexed
    assert final[0]["indexed"] == len(INDEXED)


async def test_search_ranks_the_title_match_first_with_highlighted_snippets(kb: dict[str, Any]) -> None:
    async with mcp_session(kb["daemon"]) as s:
        out = await call(s, "kb_search", {"query": "argus"})
    results = out["results"]
    # The meeting note says "argus" five times in its body; the note titled Argus still wins.
    assert results[0]["path"] == "Projects/Argus.md"
    assert results[0]["title"] == "Argus" and results[0]["tags"] == ["project", "orchestration"]
    assert "Meetings/Meeting 2024-01-05.md" in _paths(results)
    meeting = next(r for r in results if r["path"].startswith("Meetings/"))
    assert "**argus**" in meeting["snippet"].lower()
    assert all(r["score"] > 0 for r in results)
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)


async def test_search_filters_by_path_prefix_and_tags(kb: dict[str, Any]) -> None:
    async with mcp_session(kb["daemon"]) as s:
        under = await call(s, "kb_search", {"query": "argus", "path_prefix": "Ideas/"})
        tagged = await call(s, "kb_search", {"query": "argus", "tags": ["#meeting"]})
        nested = await call(s, "kb_search", {"query": "leaf", "tags": ["project"]})
        limited = await call(s, "kb_search", {"query": "argus", "limit": 1})
    assert _paths(under["results"]) == ["Ideas/Deep/Nested/Leaf.md"]
    assert _paths(tagged["results"]) == ["Meetings/Meeting 2024-01-05.md"]
    assert _paths(nested["results"]) == ["Ideas/Deep/Nested/Leaf.md"]  # #project/research is under #project
    assert len(limited["results"]) == 1


def test_search_matches_stems_unicode_and_diacritics(kb: dict[str, Any]) -> None:
    client = kb["daemon"].client
    assert _paths(_search(client, "creme brulee")) == ["Unicode/Café Müller.md"]
    assert _paths(_search(client, "Müller"))[0] == "Unicode/Café Müller.md"
    assert _paths(_search(client, "東京")) == ["Unicode/Café Müller.md"]
    assert "Projects/Argus.md" in _paths(_search(client, "orchestrators"))  # porter stemming
    assert _paths(_search(client, "orchestr*"))  # prefix query
    # FTS5 query syntax in user input cannot break the search (the words are quoted).
    assert _search(client, "\"zzunknown NEAR( col:x ^") == []
    assert _search(client, "!!! ???") == []


async def test_read_by_wiki_link_name_alias_and_path_with_links_and_backlinks(kb: dict[str, Any]) -> None:
    async with mcp_session(kb["daemon"]) as s:
        by_name = await call(s, "kb_read", {"path": "Argus"})
        by_link = await call(s, "kb_read", {"path": "[[Zettel#Origins|the origins]]"})
        by_alias = await call(s, "kb_read", {"path": "The Orchestrator"})
        by_path = await call(s, "kb_read", {"path": "Meetings/Meeting 2024-01-05.md"})
    assert by_name["path"] == by_alias["path"] == "Projects/Argus.md"
    assert by_name["content"] == (kb["vault"] / "Projects/Argus.md").read_text()
    assert by_name["frontmatter"]["aliases"] == ["The Orchestrator"]
    links = {ln["target"]: ln for ln in by_name["links"]}
    assert links["Meeting 2024-01-05"]["path"] == "Meetings/Meeting 2024-01-05.md"
    assert links["Ideas/Zettel"]["path"] == "Ideas/Zettel.md"
    assert links["Ideas/Zettel"]["heading"] == "Origins" and links["Ideas/Zettel"]["display"] == "the origins"
    backlinks = {b["path"] for b in by_name["backlinks"]}
    # [[Argus]] from the meeting and the leaf, [[The Orchestrator]] (an alias) from the Zettel.
    assert backlinks == {"Meetings/Meeting 2024-01-05.md", "Ideas/Deep/Nested/Leaf.md", "Ideas/Zettel.md"}
    assert by_link["path"] == "Ideas/Zettel.md"
    assert by_path["frontmatter"]["date"] == "2024-01-05" and by_path["tags"] == ["meeting", "decision"]
    assert {b["path"] for b in by_path["backlinks"]} == {"Projects/Argus.md"}


async def test_ingest_is_searchable_at_once_and_updates_in_place(kb: dict[str, Any]) -> None:
    vault: Path = kb["vault"]
    async with mcp_session(kb["daemon"]) as s:
        made = await call(s, "kb_ingest", {"path": "Learnings/trio tips", "content": "Use nurseries for quokkaword.\n",
                                           "frontmatter": {"title": "Trio tips", "tags": ["trio", "learning"]}})
        assert made == {**made, "path": "Learnings/trio tips.md", "created": True, "title": "Trio tips"}
        found = await call(s, "kb_search", {"query": "quokkaword"})
        assert _paths(found["results"]) == ["Learnings/trio tips.md"]
        assert found["results"][0]["tags"] == ["trio", "learning"]
        text = (vault / "Learnings/trio tips.md").read_text()
        assert text.startswith("---\ntitle: Trio tips\n") and text.endswith("Use nurseries for quokkaword.\n")

        updated = await call(s, "kb_ingest", {"path": "Learnings/trio tips.md", "content": "Now about wombatword.\n"})
        assert updated["created"] is False
        assert (await call(s, "kb_search", {"query": "quokkaword"}))["results"] == []
        assert _paths((await call(s, "kb_search", {"query": "wombatword"}))["results"]) == ["Learnings/trio tips.md"]
        assert not list((vault / "Learnings").glob(".*.tmp"))  # the temporary file was renamed into place
        listed = await call(s, "kb_list", {"prefix": "Learnings/"})
        assert [d["path"] for d in listed["documents"]] == ["Learnings/trio tips.md"]
        error = await call_error(s, "kb_ingest", {"path": ".obsidian/plugin", "content": "x"})
        assert "excluded" in error
        # Paths the file system refuses are tool errors too, not internal errors.
        (vault / "Folder.md").mkdir()
        assert "is a folder" in await call_error(s, "kb_ingest", {"path": "Folder.md", "content": "x"})
        assert "cannot write" in await call_error(s, "kb_ingest", {"path": "Learnings/trio tips.md/below.md",
                                                                    "content": "x"})
        assert "longer than 255" in await call_error(s, "kb_ingest", {"path": "x" * 300 + ".md", "content": "x"})


def test_a_file_written_by_another_process_becomes_searchable(kb: dict[str, Any]) -> None:
    """The watcher picks up a file another process wrote (how fast: bench/bench_kb.py)."""
    client = kb["daemon"].client
    target = kb["vault"] / "Inbox" / "Dropped.md"
    script = ("import os, sys; p = sys.argv[1]; os.makedirs(os.path.dirname(p), exist_ok=True); "
              "open(p, 'w').write('# Dropped\\n\\nplatypusword from another process\\n')")
    subprocess.run([sys.executable, "-c", script, str(target)], check=True)
    wait_for(lambda: _paths(_search(client, "platypusword")) == ["Inbox/Dropped.md"], 20, interval=0.02,
             what="the dropped note to be searchable")


def test_an_edit_replaces_the_entry_and_a_rename_moves_it(kb: dict[str, Any]) -> None:
    client = kb["daemon"].client
    vault: Path = kb["vault"]
    note = vault / "Scratch" / "Edit me.md"
    note.parent.mkdir(exist_ok=True)
    note.write_text("# Edit me\n\nfirstversionword\n")
    wait = lambda q, want: _wait_paths(client, q, want)  # noqa: E731
    wait("firstversionword", ["Scratch/Edit me.md"])
    note.write_text("# Edit me\n\nsecondversionword\n")
    wait("secondversionword", ["Scratch/Edit me.md"])
    assert _search(client, "firstversionword") == []
    note.rename(vault / "Scratch" / "Renamed.md")
    wait("secondversionword", ["Scratch/Renamed.md"])
    # A whole folder renamed: its notes move with it.
    (vault / "Scratch").rename(vault / "Moved")
    wait("secondversionword", ["Moved/Renamed.md"])
    assert client.get("/api/kb/note", params={"path": "Scratch/Renamed.md"}).status_code == 404
    # Deleted from the file system: gone from the index.
    (vault / "Moved" / "Renamed.md").unlink()
    wait("secondversionword", [])


def _wait_paths(client: httpx.Client, query: str, want: list[str], timeout: float = 20.0) -> None:
    wait_for(lambda: _paths(_search(client, query)) == want, timeout, interval=0.02,
             what=f"{query!r} to find {want}", detail=lambda: f"found {_paths(_search(client, query))}")


async def test_kb_delete_removes_the_note_from_vault_and_index(kb: dict[str, Any]) -> None:
    vault: Path = kb["vault"]
    async with mcp_session(kb["daemon"]) as s:
        await call(s, "kb_ingest", {"path": "Tmp/Doomed.md", "content": "# Doomed\n\ndodoword\n"})
        assert (await call(s, "kb_delete", {"path": "Tmp/Doomed.md"})) == {"path": "Tmp/Doomed.md", "deleted": True}
        assert not (vault / "Tmp" / "Doomed.md").exists()
        assert (await call(s, "kb_search", {"query": "dodoword"}))["results"] == []
        assert "no note" in await call_error(s, "kb_delete", {"path": "Tmp/Doomed.md"})
        assert "no note" in await call_error(s, "kb_read", {"path": "Tmp/Doomed.md"})


BAD_PATHS = ["../outside/secret.md", "Projects/../../outside/secret.md", "/etc/passwd", "~/notes.md",
             "Escape.md", "LinkDir/secret.md", "nul\x00byte.md", "C:/Windows/win.ini"]


@pytest.mark.parametrize("bad", BAD_PATHS)
async def test_paths_leaving_the_vault_are_refused_by_every_tool(kb: dict[str, Any], bad: str) -> None:
    outside: Path = kb["outside"]
    before = sorted(p.name for p in outside.iterdir())
    async with mcp_session(kb["daemon"]) as s:
        for tool, args in (("kb_read", {"path": bad}), ("kb_ingest", {"path": bad, "content": "# pwned\n"}),
                           ("kb_delete", {"path": bad}), ("kb_list", {"prefix": bad}),
                           ("kb_search", {"query": "secretword", "path_prefix": bad})):
            result = await s.call_tool(tool, args)
            if bad in ("Escape.md", "LinkDir/secret.md") and tool in ("kb_list", "kb_search"):
                # A prefix is only compared with indexed paths: nothing behind the symlinks is indexed.
                assert not result.is_error and not (result.structured_content or {}).get("results")
                assert not (result.structured_content or {}).get("documents")
                continue
            assert result.is_error, f"{tool}({bad!r}) was not refused"
    assert sorted(p.name for p in outside.iterdir()) == before
    assert (outside / "secret.md").read_text() == "# Secret\n\nsecretword outside the vault\n"
    assert _search(kb["daemon"].client, "secretword") == []


def test_broken_frontmatter_is_indexed_as_body_and_reported(kb: dict[str, Any]) -> None:
    client = kb["daemon"].client
    assert _paths(_search(client, "brokenbodyword")) == ["Broken.md"]
    errors = {e["path"]: e["error"] for e in client.get("/api/kb/status").json()["errors"]}
    assert "invalid YAML frontmatter" in errors["Broken.md"]
    note = client.get("/api/kb/note", params={"path": "Broken.md"}).json()
    assert note["title"] == "Broken header" and "invalid YAML" in note["frontmatter_error"]


def test_binary_huge_and_excluded_files(kb: dict[str, Any]) -> None:
    client = kb["daemon"].client
    status = client.get("/api/kb/status").json()
    errors = {e["path"]: e["error"] for e in status["errors"]}
    assert "binary" in errors["Binary.md"]
    assert "only the start is indexed" in errors["Big/Huge.md"]
    assert _paths(_search(client, "hugeneedle")) == ["Big/Huge.md"]
    assert _search(client, "hugetail") == []
    assert _search(client, "excludedword") == []
    assert client.get("/api/kb/note", params={"path": "Binary.md"}).status_code == 400
    listed = client.get("/api/kb/list", params={"limit": 1000}).json()
    paths = {d["path"] for d in listed["documents"]}
    assert not any(p.startswith((".obsidian/", ".trash/", "attachments/")) for p in paths)
    assert "Escape.md" not in paths and not any(p.startswith("LinkDir/") for p in paths)


def test_list_pages_through_notes_and_names_sub_folders(kb: dict[str, Any]) -> None:
    client = kb["daemon"].client
    first = client.get("/api/kb/list", params={"limit": 2}).json()
    assert len(first["documents"]) == 2 and first["next_offset"] == 2
    assert {"Ideas", "Projects", "Unicode"} <= set(first["folders"])
    pages = first["documents"]
    offset = first["next_offset"]
    while offset is not None:
        page = client.get("/api/kb/list", params={"limit": 2, "offset": offset}).json()
        pages += page["documents"]
        offset = page["next_offset"]
    assert [d["path"] for d in pages] == sorted(d["path"] for d in pages)
    assert len(pages) == first["total"]
    ideas = client.get("/api/kb/list", params={"prefix": "Ideas"}).json()
    assert [d["path"] for d in ideas["documents"]] == ["Ideas/Deep/Nested/Leaf.md", "Ideas/Zettel.md"]
    assert ideas["folders"] == ["Ideas/Deep"]


def test_rest_routes_need_a_token_and_refuse_bad_input(kb: dict[str, Any]) -> None:
    d = kb["daemon"]
    for method, path in (("GET", "/api/kb/status"), ("GET", "/api/kb/search?q=argus"), ("GET", "/api/kb/note?path=x"),
                         ("GET", "/api/kb/list"), ("POST", "/api/kb/reindex"), ("POST", "/api/kb/note"),
                         ("DELETE", "/api/kb/note?path=x")):
        assert httpx.request(method, d.url + path).status_code == 401, path
    c = d.client
    assert "limit" in c.get("/api/kb/search", params={"q": "x", "limit": "many"}).json()["error"]
    assert c.get("/api/kb/search", params={"q": "x", "limit": 0}).status_code == 400
    assert c.get("/api/kb/search").status_code == 400
    assert c.get("/api/kb/search", params={"q": "x", "bogus": "1"}).status_code == 400
    assert c.post("/api/kb/note", json={"path": "a.md"}).status_code == 400  # content is required
    assert c.post("/api/kb/note", content=b"{not json").status_code == 400
    assert c.get("/api/kb/note", params={"path": "../x"}).status_code == 400
    made = c.post("/api/kb/note", json={"path": "Rest/Made.md", "content": "# Made\n\nrestword\n"})
    assert made.status_code == 201 and _paths(_search(c, "restword")) == ["Rest/Made.md"]
    assert c.delete("/api/kb/note", params={"path": "Rest/Made.md"}).json()["deleted"] is True


def test_reindex_reads_only_changed_files(kb: dict[str, Any]) -> None:
    c = kb["daemon"].client
    before = c.get("/api/kb/status").json()
    assert c.post("/api/kb/reindex", json={}).status_code == 202

    def rescanned() -> dict[str, Any] | None:
        s = c.get("/api/kb/status").json()
        return s if s["last_indexed"] and s["progress"]["done"] and s["progress"]["seen"] and \
            s["progress"] != before["progress"] else None

    status = wait_for(rescanned, 30, what="the re-index")
    assert status["progress"]["indexed"] == 0 and status["progress"]["unchanged"] >= len(INDEXED) - 1
    os.utime(kb["vault"] / "Recipes" / "Pancakes.md")  # touched, same content: hashed, not re-parsed
    assert c.post("/api/kb/reindex", json={"full": True}).status_code == 202
    full = wait_for(lambda: (s := c.get("/api/kb/status").json())["progress"]["done"]
                    and s["progress"]["indexed"] >= len(INDEXED) - 1 and s, 30, what="the full re-index")
    assert full["documents"] >= len(INDEXED) - 1


async def test_tools_refuse_bad_arguments_with_the_field_name(kb: dict[str, Any]) -> None:
    async with mcp_session(kb["daemon"]) as s:
        assert "query" in await call_error(s, "kb_search", {})
        assert "limit" in await call_error(s, "kb_search", {"query": "x", "limit": 1000})
        assert "tags" in await call_error(s, "kb_search", {"query": "x", "tags": "notalist"})
        assert "content" in await call_error(s, "kb_ingest", {"path": "x.md"})
        assert "nope" in await call_error(s, "kb_read", {"path": "Argus", "nope": 1})


def test_openapi_documents_the_kb_routes_with_their_models(kb: dict[str, Any]) -> None:
    doc = kb["daemon"].client.get("/api/openapi.json").json()
    try:
        from openapi_spec_validator import validate as validate_spec
    except ImportError:  # the structure is checked below either way
        pass
    else:
        validate_spec(doc)
    paths = doc["paths"]
    for method, path in (("get", "/api/kb/status"), ("get", "/api/kb/search"), ("get", "/api/kb/note"),
                         ("post", "/api/kb/note"), ("delete", "/api/kb/note"), ("get", "/api/kb/list"),
                         ("post", "/api/kb/reindex")):
        assert method in paths.get(path, {}), (method, path)
        assert paths[path][method]["tags"] == ["kb"]
    search = {p["name"]: p for p in paths["/api/kb/search"]["get"]["parameters"]}
    assert {"q", "limit", "path_prefix", "tags"} <= set(search)
    reply = paths["/api/kb/note"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert reply.endswith("NoteReply")
    assert {"content", "links", "backlinks"} <= set(doc["components"]["schemas"]["NoteReply"]["properties"])


def test_cli_reports_status_searches_and_reindexes(kb: dict[str, Any]) -> None:
    home = kb["daemon"].home
    env = {**os.environ, "ARGUS_HOME": str(home)}
    env.pop("ARGUS_API_PORT", None)

    def argus(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "argus.kernel.cli", "kb", *args], env=env,
                              capture_output=True, text=True, timeout=60)

    status = argus("status")
    assert status.returncode == 0, status.stderr
    assert "enabled:      yes" in status.stdout and "watcher:      running" in status.stdout
    assert "problem:      Binary.md: binary file" in status.stdout
    found = argus("search", "creme", "brulee")
    assert found.returncode == 0 and found.stdout.startswith("Unicode/Café Müller.md  (Café Müller)")
    assert argus("search", "zzznothing").returncode == 1
    assert "queued" in argus("reindex").stdout
    assert "limit" in argus("search", "x", "--limit", "0").stderr
