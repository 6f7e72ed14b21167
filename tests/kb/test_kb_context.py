"""``kb_context`` on task creation: the best-matching notes land in ``.context/kb-notes.md`` and the prompt.

A real daemon indexes the generated vault; tasks are created through REST and MCP ``task_create``
and the fake agent records the prompt it was launched with.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argus.testing import wait_for
from argus_testkit import Daemon, make_repo
from kb_helpers import INDEXED, call, call_error, enable, make_vault, mcp_session

PROMPT = "Write down the goals of the Argus orchestrator"
FILE = ".context/kb-notes.md"


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A daemon with the kb enabled on the generated vault, project ``p`` and a launch record."""
    base = tmp_path_factory.mktemp("kbctx")
    vault = make_vault(base / "vault", base / "outside")
    record = base / "launches.jsonl"
    home = base / "home"
    home.mkdir()
    d = Daemon(home, env={"FAKEAGENT_BUSY": "0.2", "FAKEAGENT_RECORD": str(record)})
    try:
        d.start()
        enable(d.client, vault, documents=len(INDEXED))
        repo = make_repo(base / "repo")
        assert d.client.post("/api/projects", json={"name": "p", "path": str(repo)}).status_code == 201
        yield {"daemon": d, "record": record}
    finally:
        d.cleanup()


def launched_prompt(record: Path, task: dict[str, Any]) -> str:
    """The prompt the fake agent of ``task`` was started with."""

    def find() -> str | None:
        for line in record.read_text().splitlines() if record.exists() else []:
            entry = json.loads(line)
            if entry["cwd"] == task["worktree_path"]:
                return str(entry["prompt"])
        return None

    return str(wait_for(find, 20, what=f"the agent of {task['id']} to start"))


def sections(notes: str) -> list[str]:
    """The note paths of kb-notes.md, in their order."""
    return [line.split("`")[1] for line in notes.splitlines() if line.startswith("- path: `")]


def test_rest_create_attaches_the_best_notes_and_tells_the_agent(kb: dict[str, Any]) -> None:
    d: Daemon = kb["daemon"]
    resp = d.client.post("/api/tasks", json={"project": "p", "prompt": PROMPT, "kb_context": True})
    assert resp.status_code == 201, resp.text
    task = resp.json()["task"]
    notes = (Path(task["worktree_path"]) / FILE).read_text()
    paths = sections(notes)
    assert paths[0] == "Projects/Argus.md", notes  # the title match ranks first
    assert len(paths) == len(set(paths)) <= 5
    assert "Recipes/Pancakes.md" not in paths
    assert "## 1. Argus" in notes and "#orchestration" in notes and "kb_read" in notes
    assert "lorem ipsum dolor" not in notes
    prompt = launched_prompt(kb["record"], task)
    assert prompt.startswith(PROMPT)
    assert FILE in prompt and "kb_read" in prompt
    assert task["prompt"] == prompt


def test_the_number_of_notes_follows_the_setting(kb: dict[str, Any]) -> None:
    d: Daemon = kb["daemon"]
    assert d.client.put("/api/settings", json={"kb": {"context_notes": 1}}).status_code == 200
    try:
        resp = d.client.post("/api/tasks", json={"project": "p", "prompt": "argus goals", "kb_context": True})
        assert resp.status_code == 201, resp.text
        notes = (Path(resp.json()["task"]["worktree_path"]) / FILE).read_text()
        assert sections(notes) == ["Projects/Argus.md"]
    finally:
        d.client.put("/api/settings", json={"kb": {"context_notes": 5}})


def test_without_the_option_or_without_a_match_nothing_is_attached(kb: dict[str, Any]) -> None:
    d: Daemon = kb["daemon"]
    for body in ({"prompt": PROMPT}, {"prompt": PROMPT, "kb_context": False},
                 {"prompt": "zzqxunmatchable wordsnobodywrote", "kb_context": True}):
        resp = d.client.post("/api/tasks", json={"project": "p", **body})
        assert resp.status_code == 201, resp.text
        task = resp.json()["task"]
        assert not (Path(task["worktree_path"]) / FILE).exists()
        assert task["prompt"] == body["prompt"]
        assert launched_prompt(kb["record"], task) == body["prompt"]


def test_a_kb_context_that_is_not_a_boolean_is_a_400(kb: dict[str, Any]) -> None:
    resp = kb["daemon"].client.post("/api/tasks", json={"project": "p", "prompt": "x", "kb_context": "maybe"})
    assert resp.status_code == 400
    assert "kb_context" in resp.json()["error"]


def test_task_options_and_openapi_declare_kb_context(kb: dict[str, Any]) -> None:
    c = kb["daemon"].client
    options = {o["name"]: o for o in c.get("/api/task-options").json()["options"]}
    assert options["kb_context"]["available"] is True and options["kb_context"]["type"] == "bool"
    assert options["kb_context"]["reason"] is None
    schema = c.get("/api/openapi.json").json()["components"]["schemas"]
    assert "kb_context" in schema["TaskCreate"]["properties"]


async def test_mcp_task_create_attaches_the_notes(kb: dict[str, Any]) -> None:
    d: Daemon = kb["daemon"]
    async with mcp_session(d) as s:
        tools = {t.name: t for t in (await s.list_tools()).tools}
        assert "kb_context" in tools["task_create"].input_schema["properties"]
        out = await call(s, "task_create", {"project": "p", "prompt": PROMPT, "kb_context": True})
        error = await call_error(s, "task_create", {"project": "p", "prompt": "x", "kb_context": [1]})
    assert "kb_context" in error
    task = out["task"]
    assert sections((Path(task["worktree_path"]) / FILE).read_text())[0] == "Projects/Argus.md"
    prompt = launched_prompt(kb["record"], task)
    assert FILE in prompt and "kb_read" in prompt


async def test_kb_context_is_refused_while_the_kb_is_disabled(fresh_daemon: Daemon, tmp_path: Path) -> None:
    c = fresh_daemon.client
    repo = make_repo(tmp_path / "repo")
    assert c.post("/api/projects", json={"name": "p", "path": str(repo)}).status_code == 201
    option = next(o for o in c.get("/api/task-options").json()["options"] if o["name"] == "kb_context")
    assert option["available"] is False and "disabled" in option["reason"]
    resp = c.post("/api/tasks", json={"project": "p", "prompt": PROMPT, "backend": "demo", "kb_context": True})
    assert resp.status_code == 400
    assert resp.json()["error"] == "kb_context: the knowledge base is disabled (set kb.enabled = true)"
    async with mcp_session(fresh_daemon) as s:
        error = await call_error(s, "task_create", {"project": "p", "prompt": PROMPT, "backend": "demo",
                                                     "kb_context": True})
    assert "kb_context: the knowledge base is disabled" in error
    assert c.get("/api/tasks").json()["tasks"] == []
    # Not asking for it (or saying false) still works with the kb off.
    resp = c.post("/api/tasks", json={"project": "p", "prompt": PROMPT, "backend": "demo", "kb_context": False})
    assert resp.status_code == 201, resp.text
