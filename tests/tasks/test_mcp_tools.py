"""The MCP task tools through the official ``mcp`` client against a real daemon.

Agents identify themselves by ``cwd``: the tests pass a directory inside a task's worktree, exactly
as an agent passes its ``pwd``. The demo agent (``--mcp-call`` / ``/mcp``) calls tools from inside
its own worktree too.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trio
from orch_helpers import (
    FAST_AGENT,
    call,
    call_error,
    create_task,
    events,
    eventually,
    mcp_session,
    output,
    task,
)

EXPECTED_TOOLS = {
    "task_create", "task_list", "task_get", "task_stop", "task_archive", "task_rename", "task_complete",
    "task_link", "task_unlink", "task_deps", "task_halt_downstream", "task_set_plan_slug", "task_set_result",
    "task_resume", "task_fork", "task_message_send", "task_inbox", "task_message_ack", "task_ask",
    "argus_clipboard_set", "artifact_register", "task_merge", "task_review", "task_limit_cancel",
}


@pytest.fixture(autouse=True)
def fast_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short busy phases for the demo agents the daemon starts."""
    for key, value in FAST_AGENT.items():
        monkeypatch.setenv(key, value)


async def test_list_tools_offers_every_task_tool_with_a_schema(daemon: Any) -> None:
    async with mcp_session(daemon.mcp_url, daemon.token) as s:
        listed = {t.name: t for t in (await s.list_tools()).tools}
    assert EXPECTED_TOOLS <= set(listed)
    for name in EXPECTED_TOOLS:
        schema = listed[name].input_schema
        assert schema["type"] == "object" and isinstance(schema["properties"], dict), name
        assert listed[name].description, name
    assert {"id", "cwd"} <= set(listed["task_complete"].input_schema["properties"])


async def test_agent_in_worktree_creates_a_dependent_child_that_starts_when_the_parent_completes(
        daemon: Any, project: dict[str, Any]) -> None:
    boss = create_task(daemon.client, project["name"], "boss")
    cwd = os.path.join(boss["worktree_path"], "src", "module")  # somewhere inside its worktree
    async with mcp_session(daemon.mcp_url, daemon.token) as s:
        parent = (await call(s, "task_create", {"cwd": cwd, "name": "parent", "prompt": "build it",
                                                "backend": "demo"}))["task"]
        assert parent["project"] == project["name"]  # the caller's project, from its cwd
        child = (await call(s, "task_create", {"cwd": cwd, "name": "child", "prompt": "then this",
                                               "backend": "demo", "depends_on": [parent["id"]]}))["task"]
        assert child["status"] == "pending" and not child["running"]
        assert child["parent_ids"] == [parent["id"]]

        await eventually(lambda: task(daemon.client, parent["id"])["running"], what="parent running")
        held = task(daemon.client, child["id"])
        assert held["status"] == "pending" and held["session_id"] is None

        deps = await call(s, "task_deps", {"id": child["id"]})
        assert [t["id"] for t in deps["upstream"]] == [parent["id"]] and deps["downstream"] == []
        dag = daemon.client.get("/api/dag").json()
        assert {"child_id": child["id"], "parent_id": parent["id"]} in dag["edges"]
        assert {boss["id"], parent["id"], child["id"]} <= {n["id"] for n in dag["nodes"]}

        done = (await call(s, "task_complete", {"id": parent["id"]}))["task"]
        assert done["status"] == "complete" and done["ended_at"]
        started = await eventually(lambda: (t := task(daemon.client, child["id"]))["running"] and t,
                                   what="child started after its parent completed")
        assert started["status"] == "in_progress"

        # upsert is idempotent on name + project
        again = await call(s, "task_create", {"cwd": cwd, "name": "child", "prompt": "x", "upsert": True})
        assert again["created"] is False and again["task"]["id"] == child["id"]

    types = [e["type"] for e in events(daemon.client)]
    assert "link.created" in types and types.count("task.created") == 3


async def test_cycle_attempt_fails_with_the_offending_path(daemon: Any, project: dict[str, Any]) -> None:
    async with mcp_session(daemon.mcp_url, daemon.token) as s:
        hold = (await call(s, "task_create", {"project": project["name"], "name": "gate", "backend": "demo",
                                              "prompt": "x"}))["task"]
        a = (await call(s, "task_create", {"project": project["name"], "name": "a", "backend": "demo",
                                           "prompt": "a", "depends_on": [hold["id"]]}))["task"]
        b = (await call(s, "task_create", {"project": project["name"], "name": "b", "backend": "demo",
                                           "prompt": "b", "depends_on": [a["id"]]}))["task"]
        text = await call_error(s, "task_link", {"child_id": a["id"], "parent_id": b["id"]})
        assert f"{a['id']} → {b['id']} → {a['id']}" in text
        text = await call_error(s, "task_link", {"child_id": a["id"], "parent_id": a["id"]})
        assert f"{a['id']} → {a['id']}" in text
        # a longer cycle through the gate: gate → a → b → gate
        text = await call_error(s, "task_link", {"child_id": hold["id"], "parent_id": b["id"]})
        assert f"{hold['id']} → {b['id']} → {a['id']} → {hold['id']}" in text
        assert (await call(s, "task_unlink", {"child_id": a["id"], "parent_id": b["id"]}))["deleted"] is False
    resp = daemon.client.post(f"/api/tasks/{a['id']}/deps", json={"parent_id": b["id"]})
    assert resp.status_code == 409
    assert resp.json()["path"] == [a["id"], b["id"], a["id"]]


async def test_halt_downstream_stops_every_descendant_and_not_the_seed(daemon: Any, project: dict[str, Any]) -> None:
    async with mcp_session(daemon.mcp_url, daemon.token) as s:
        seed = (await call(s, "task_create", {"project": project["name"], "name": "seed", "backend": "demo",
                                              "prompt": "milestone"}))["task"]
        mid = (await call(s, "task_create", {"project": project["name"], "name": "mid", "backend": "demo",
                                             "prompt": "m", "depends_on": [seed["id"]]}))["task"]
        leaf = (await call(s, "task_create", {"project": project["name"], "name": "leaf", "backend": "demo",
                                              "prompt": "l", "depends_on": [mid["id"]]}))["task"]
        side = (await call(s, "task_create", {"project": project["name"], "name": "side", "backend": "demo",
                                              "prompt": "s"}))["task"]
        await eventually(lambda: task(daemon.client, side["id"])["running"], what="side running")
        await call(s, "task_link", {"child_id": side["id"], "parent_id": seed["id"]})  # a running descendant
        await eventually(lambda: task(daemon.client, seed["id"])["running"], what="seed running")

        halted = await call(s, "task_halt_downstream", {"id": seed["id"]})
        assert set(halted["halted"]) == {mid["id"], leaf["id"], side["id"]}
        for t in (mid, leaf, side):
            now = task(daemon.client, t["id"])
            assert now["archived"] and not now["running"], now
        assert task(daemon.client, side["id"])["status"] == "in_review"
        s_now = task(daemon.client, seed["id"])
        assert s_now["running"] and not s_now["archived"] and s_now["status"] == "in_progress"

        # a halted child never starts, even when its parent completes later
        await call(s, "task_complete", {"id": seed["id"]})
        assert task(daemon.client, mid["id"])["status"] == "pending"
        assert task(daemon.client, mid["id"])["session_id"] is None


async def test_task_verbs_by_cwd(daemon: Any, project: dict[str, Any]) -> None:
    me = create_task(daemon.client, project["name"], "verbs")
    cwd = me["worktree_path"]
    async with mcp_session(daemon.mcp_url, daemon.token) as s:
        got = await call(s, "task_get", {"cwd": cwd})
        assert got["task"]["id"] == me["id"]
        assert (await call(s, "task_rename", {"cwd": cwd, "name": "Renamed"}))["task"]["name"] == "Renamed"
        assert (await call(s, "task_set_plan_slug", {"cwd": cwd, "plan_slug": "m1"}))["task"]["plan_slug"] == "m1"
        listed = await call(s, "task_list", {"plan_slug": "m1"})
        assert [t["id"] for t in listed["tasks"]] == [me["id"]]
        result = {"pr": "https://example.com/pr/1", "ok": True}
        assert (await call(s, "task_set_result", {"cwd": cwd, "result": result}))["task"]["result"] == result
        err = await call_error(s, "task_set_result", {"cwd": cwd, "result": "x" * (64 * 1024)})
        assert "64 KiB" in err
        await eventually(lambda: task(daemon.client, me["id"])["running"], what="agent running")
        assert (await call(s, "task_stop", {"cwd": cwd}))["task"]["status"] == "in_review"
        resumed = (await call(s, "task_resume", {"cwd": cwd}))["task"]
        assert resumed["status"] == "in_progress" and resumed["running"]
        assert (await call(s, "task_archive", {"cwd": cwd}))["task"]["archived"] is True
        assert (await call(s, "task_archive", {"cwd": cwd, "archived": False}))["task"]["archived"] is False
        err = await call_error(s, "task_get", {"cwd": "/definitely/not/a/worktree"})
        assert "no task owns" in err
        err = await call_error(s, "task_complete", {})
        assert "pass id or cwd" in err
    assert daemon.client.get(f"/api/tasks/{me['id']}").json()["task"]["name"] == "Renamed"


async def test_at_most_five_creations_in_flight(daemon: Any, project: dict[str, Any], tmp_path: Path) -> None:
    # A post-checkout hook holds every `git worktree add` until the release file exists, so five
    # creations stay in flight and the sixth is refused; releasing lets the five finish.
    release = tmp_path / "release"
    hook = Path(project["path"], ".git", "hooks", "post-checkout")
    hook.write_text(f"#!/bin/sh\nwhile [ ! -e '{release}' ]; do sleep 0.02; done\n")
    hook.chmod(0o755)
    results: list[Any] = []
    async with mcp_session(daemon.mcp_url, daemon.token) as s:
        async def make(i: int) -> None:
            r = await s.call_tool("task_create", {"project": project["name"], "name": f"w{i}",
                                                  "backend": "demo", "prompt": "x"})
            results.append(r)

        async with trio.open_nursery() as nursery:
            for i in range(6):
                nursery.start_soon(make, i)
            await eventually(lambda: len(results) == 1, what="one creation refused")
            release.touch()
    errors = ["".join(getattr(c, "text", "") for c in r.content) for r in results if r.is_error]
    assert len(errors) == 1 and "at most 5" in errors[0], errors
    assert len(daemon.client.get("/api/tasks").json()["tasks"]) == 5


# -- external tools ------------------------------------------------------------------------


class _Callback(BaseHTTPRequestHandler):
    calls: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        _Callback.calls.append(body)
        payload = json.dumps({"result": {"echo": body["input"].get("text"), "tool": body["tool"]}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def callback_server() -> Iterator[str]:
    """A plugin's tool callback on 127.0.0.1 (an ephemeral port), stopped after the test."""
    _Callback.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Callback)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tool"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


async def test_external_tool_appears_beside_builtin_tools_and_is_called_back(
        daemon: Any, callback_server: str) -> None:
    env = {**os.environ, "ARGUS_HOME": str(daemon.home)}
    env.pop("ARGUS_API_PORT", None)
    with trio.fail_after(60):
        minted = await trio.run_process([sys.executable, "-m", "argus.kernel.cli", "token", "mint", "--scope",
                                         "ext"], env=env, capture_stdout=True, capture_stderr=True, check=False)
    assert minted.returncode == 0, minted.stderr
    scope_token = minted.stdout.decode().strip()
    resp = daemon.client.post("/api/mcp/tools", headers={"Authorization": f"Bearer {scope_token}"},
                              json={"name": "ext_echo", "description": "echo text back",
                                    "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}},
                                    "callback_url": callback_server})
    assert resp.status_code == 201, resp.text
    async with mcp_session(daemon.mcp_url, daemon.token) as s:
        names = {t.name for t in (await s.list_tools()).tools}
        assert "ext_echo" in names and EXPECTED_TOOLS <= names
        out = await call(s, "ext_echo", {"text": "hello"})
    assert out == {"echo": "hello", "tool": "ext_echo"}
    assert _Callback.calls and _Callback.calls[0]["input"] == {"text": "hello"}


# -- the whole story: an agent in a worktree drives Argus ----------------------------------


def _type(client: Any, task_id: str, line: str) -> None:
    resp = client.post(f"/api/tasks/{task_id}/input", json={"data": line})
    assert resp.status_code == 200, resp.text
    resp = client.post(f"/api/tasks/{task_id}/input", json={"data": "\r"})
    assert resp.status_code == 200, resp.text


async def test_agent_in_a_worktree_drives_argus_end_to_end(daemon: Any, project: dict[str, Any]) -> None:
    client = daemon.client
    since = 0
    boss = create_task(client, project["name"], "boss", prompt="coordinate the workers")
    wt = boss["worktree_path"]
    await eventually(lambda: task(client, boss["id"])["idle"], what="boss agent waiting")
    async with mcp_session(daemon.mcp_url, daemon.token) as s:
        # 1. spawn two workers, the second depending on the first
        w1 = (await call(s, "task_create", {"cwd": wt, "name": "worker-1", "prompt": "part one",
                                            "backend": "demo"}))["task"]
        w2 = (await call(s, "task_create", {"cwd": wt, "name": "worker-2", "prompt": "part two",
                                            "backend": "demo", "depends_on": [w1["id"]]}))["task"]
        assert task(client, w2["id"])["status"] == "pending"
        await eventually(lambda: task(client, w1["id"])["idle"], what="worker-1 waiting for input")

        # 2. ask worker-1 a question and block for the answer, while worker-1 answers from its own
        #    terminal (the delivered notice tells it the message id; it replies with /mcp)
        answer: dict[str, Any] = {}

        async def ask() -> None:
            answer.update(await call(s, "task_ask", {"cwd": wt, "to": w1["id"], "body": "what is 6*7?",
                                                     "timeout_seconds": 60}))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask)
            notice = await eventually(lambda: "you said: [argus] question #" in output(client, w1["id"]),
                                      what="the question's notice typed into worker-1")
            assert notice
            inbox = client.get(f"/api/tasks/{w1['id']}/inbox").json()
            question = inbox["messages"][0]
            assert question["kind"] == "question" and question["delivered_at"]
            await eventually(lambda: task(client, w1["id"])["idle"], what="worker-1 idle again")
            reply = {"cwd": task(client, w1["id"])["worktree_path"], "to": boss["id"], "body": "42",
                     "kind": "answer", "in_reply_to": question["id"]}
            _type(client, w1["id"], "/mcp task_message_send " + json.dumps(reply))
        assert answer["answer"]["body"] == "42" and answer["timed_out"] is False

        # 3. stage clipboard text (from the boss agent's own terminal), register an artifact
        await eventually(lambda: task(client, boss["id"])["idle"], what="boss waiting for input")
        _type(client, boss["id"], "/mcp argus_clipboard_set " + json.dumps({"cwd": wt, "text": "git push"}))
        try:
            await eventually(lambda: client.get("/api/clipboard").status_code == 200, what="clipboard staged")
        except AssertionError:
            print(output(client, boss["id"]))
            raise
        clip = client.get("/api/clipboard").json()
        assert clip["text"] == "git push" and clip["task_id"] == boss["id"]
        Path(wt, "report.html").write_text("<h1>done</h1>")
        art = await call(s, "artifact_register", {"cwd": wt, "path": "report.html", "title": "Report"})
        assert art["artifact"]["name"] == "report.html"
        listed = client.get(f"/api/tasks/{boss['id']}/artifacts").json()["artifacts"]
        assert [a["name"] for a in listed] == ["report.html"]

        # 4. worker-1 finishes → worker-2 starts; the boss completes itself
        await call(s, "task_complete", {"id": w1["id"]})
        await eventually(lambda: task(client, w2["id"])["running"], what="worker-2 started")
        done = (await call(s, "task_complete", {"cwd": wt}))["task"]
        assert done["id"] == boss["id"] and done["status"] == "complete"

    # each step is visible on the event stream
    seen = events(client, since)
    types = [e["type"] for e in seen]
    for kind in ("task.created", "link.created", "message.created", "message.delivered", "clipboard.set",
                 "artifact.registered"):
        assert kind in types, (kind, sorted(set(types)))
    completed = [e for e in seen if e["type"] == "task.updated"
                 and e["data"]["task"]["id"] == boss["id"] and e["data"]["task"]["status"] == "complete"]
    assert completed
    # at most one notice per message
    assert output(client, w1["id"]).count("you said: [argus] question #") == 1


# -- MCP injection -------------------------------------------------------------------------


async def test_every_agent_reaches_argus_mcp_without_touching_global_config(
        daemon_factory: Any, tmp_path: Path, git_repo: Path) -> None:
    home = tmp_path / "user-home"
    home.mkdir()
    record = tmp_path / "launches.jsonl"
    d = daemon_factory("inject", env={"HOME": str(home), "FAKEAGENT_RECORD": str(record), **FAST_AGENT})
    c = d.client
    assert c.post("/api/projects", json={"name": "web", "path": str(git_repo)}).status_code == 201
    assert c.post("/api/backends", json={"name": "plain", "command": "fakeagent"}).status_code == 201
    made = {b: create_task(c, "web", f"via-{b}", backend=b) for b in ("claude", "codex", "plain")}

    def launches() -> dict[str, dict[str, Any]]:
        rows = [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
        return {r["env"].get("ARGUS_TASK_ID"): r for r in rows}

    got = await eventually(lambda: (r := launches()) and all(t["id"] in r for t in made.values()) and r,
                           what="every agent launched")
    # Claude Code: --mcp-config with a generated per-launch file outside the worktree
    claude = got[made["claude"]["id"]]
    cfg_path = Path(claude["mcp_config"])
    assert cfg_path.is_relative_to(d.home) and not cfg_path.is_relative_to(made["claude"]["worktree_path"])
    entry = json.loads(cfg_path.read_text())["mcpServers"]["argus"]
    assert entry["url"] == d.mcp_url and entry["headers"]["Authorization"].startswith("Bearer task:")
    assert cfg_path.stat().st_mode & 0o077 == 0  # the file holding the task token is the user's only
    # Codex: a -c override on its command line; the token comes from the environment, never argv
    codex = got[made["codex"]["id"]]
    assert f'mcp_servers.argus.url="{d.mcp_url}"' in codex["argv"]
    assert 'mcp_servers.argus.bearer_token_env_var="ARGUS_MCP_TOKEN"' in codex["argv"]
    assert not any("task:" in arg for r in got.values() for arg in r["argv"])
    # Anything else: a project-local .mcp.json in its own worktree (never in the user's repo),
    # naming the token's variable, not the token
    local = Path(made["plain"]["worktree_path"], ".mcp.json")
    entry = json.loads(local.read_text())["mcpServers"]["argus"]
    assert entry["url"] == d.mcp_url and entry["headers"] == {"Authorization": "Bearer ${ARGUS_MCP_TOKEN}"}
    assert not (git_repo / ".mcp.json").exists()
    # and the user's global CLI configuration was never written
    touched = [p.relative_to(home).as_posix() for p in home.rglob("*")]
    assert not [p for p in touched if p.startswith((".claude", ".codex", ".config", ".mcp"))], touched
    # each agent can call Argus's tools from inside its worktree
    for b, t in made.items():
        c.post(f"/api/tasks/{t['id']}/input", json={"data": "/mcp task_get " + json.dumps({"cwd": t["worktree_path"]})})
        c.post(f"/api/tasks/{t['id']}/input", json={"data": "\r"})
        await eventually(lambda t=t: f'"id": "{t["id"]}"' in output(c, t["id"]).split("mcp task_get ->")[-1],
                         what=f"{b} agent calling task_get")
