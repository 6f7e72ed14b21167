"""Review in place against a real daemon and the demo agent: draft comments on a task's diff,
sent as one structured message typed into the agent only once it is idle, recorded in the task's
review history; the same over MCP (``task_review``); bad input is a clear 4xx; every route
needs a token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from argus_testkit import wait_for_async
from orch_helpers import FAST_AGENT, call, call_error, create_task, events, mcp_session, output, task


@pytest.fixture(autouse=True)
def fast_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short busy phases for the demo agents the daemon starts."""
    for key, value in FAST_AGENT.items():
        monkeypatch.setenv(key, value)


def write_changed_file(t: dict[str, Any]) -> None:
    """A changed file in the task's worktree to comment on."""
    lines = [f"line {n}: value = {n * 10}" for n in range(1, 21)]
    (Path(t["worktree_path"]) / "app.py").write_text("\n".join(lines) + "\n")


def assert_needs_token(url: str, routes: list[tuple[str, str]]) -> None:
    """Each route answers 401 without a token."""
    with httpx.Client(base_url=url, timeout=10) as anon:
        for method, path in routes:
            assert anon.request(method, path, json={}).status_code == 401, (method, path)


async def test_review_reaches_the_agent_as_one_message_only_after_it_goes_idle(
        daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    t = create_task(c, project["name"], "reviewed")
    tid = t["id"]
    await wait_for_async(lambda: task(c, tid)["idle"], what="agent waiting")
    write_changed_file(t)
    base = f"/api/tasks/{tid}/review"

    # put the agent mid-turn (busy until interrupted)
    c.post(f"/api/tasks/{tid}/input", json={"data": "/sleep 600"})
    c.post(f"/api/tasks/{tid}/input", json={"data": "\r"})
    await wait_for_async(lambda: "esc to interrupt" in output(c, tid).split("/sleep 600")[-1], what="agent mid-turn")

    r1 = c.post(f"{base}/comments", json={"path": "app.py", "line": 3, "end_line": 4,
                                          "body": "rename value to total"})
    assert r1.status_code == 201, r1.text
    first = r1.json()["comment"]
    assert first["quote"] == "line 3: value = 30\nline 4: value = 40" and first["review_id"] is None
    r2 = c.post(f"{base}/comments", json={"path": "./src/../old.py", "line": 7, "body": "why was this removed?",
                                          "quote": "def legacy(): pass"})
    assert r2.status_code == 400, r2.text  # ".." never leaves a path
    r2 = c.post(f"{base}/comments", json={"path": "old.py", "line": 7, "body": "why was this removed?",
                                          "quote": "def legacy(): pass"})
    assert r2.status_code == 201, r2.text
    dropped = c.post(f"{base}/comments", json={"path": "app.py", "line": 10, "body": "never mind"}).json()["comment"]
    assert c.delete(f"{base}/comments/{dropped['id']}").json() == {"ok": True}
    drafts = c.get(f"{base}/comments").json()["comments"]
    assert [d["id"] for d in drafts] == [first["id"], r2.json()["comment"]["id"]]

    sent = c.post(base, json={"summary": "Nice work, two things:"})
    assert sent.status_code == 201, sent.text
    review = sent.json()["review"]
    assert review["delivered"] is False and len(review["comments"]) == 2
    assert c.get(f"{base}/comments").json()["comments"] == []  # the draft is now the sent review
    assert "Code review" not in output(c, tid)  # mid-turn: queued, not typed

    # the turn ends: the agent is idle, so the review goes in now, as one submitted message
    c.post(f"/api/tasks/{tid}/input", json={"data": "\x1b"})
    await wait_for_async(lambda: "you said: Code review of your changes (2 comments)" in output(c, tid),
                          what="review typed after the turn ended")
    await wait_for_async(lambda: "why was this removed?" in output(c, tid).split("you said: Code review")[-1],
                          what="the whole review echoed")
    said = output(c, tid).split("you said: Code review")[-1]
    for piece in ("Nice work, two things:", "app.py:3-4", "> line 3: value = 30", "> line 4: value = 40",
                  "rename value to total", "old.py:7", "> def legacy(): pass"):
        assert piece in said, piece
    assert said.index("app.py:3-4") < said.index("old.py:7")
    assert "never mind" not in said
    await wait_for_async(lambda: task(c, tid)["idle"], what="idle after the review turn")
    assert output(c, tid).count("you said: Code review") == 1  # one message, typed once
    history = c.get(f"/api/tasks/{tid}/reviews").json()["reviews"]
    assert [h["id"] for h in history] == [review["id"]] and history[0]["delivered"] is True
    assert "app.py:3-4" in history[0]["message"]
    kinds = [e["type"] for e in events(c) if e["type"].startswith("review.")]
    assert kinds.count("review.sent") == 1 and kinds.count("review.delivered") == 1


async def test_review_bad_input_and_auth(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    gate = create_task(c, project["name"], "gate")
    t = create_task(c, project["name"], "held", depends_on=[gate["id"]])  # pending: no agent
    write_changed_file(t)
    base = f"/api/tasks/{t['id']}/review"
    assert c.post(base).status_code == 400  # nothing drafted
    assert "no comments" in c.post(base, json={}).json()["error"]
    bad = [{"path": "app.py", "line": 0, "body": "x"}, {"path": "/etc/passwd", "line": 1, "body": "x"},
           {"path": "app.py", "line": 5, "end_line": 2, "body": "x"}, {"path": "app.py", "line": 99, "body": "x"},
           {"path": "nope.py", "line": 1, "body": "x"}, {"path": "app.py", "line": 1, "body": "   "},
           {"path": "app.py", "line": "one", "body": "x"}]
    for body in bad:
        resp = c.post(f"{base}/comments", json=body)
        assert resp.status_code == 400, (body, resp.text)
        assert resp.json()["error"]
    assert c.delete(f"{base}/comments/12345").status_code == 404
    assert c.delete(f"{base}/comments/abc").status_code == 404
    assert c.get("/api/tasks/t_missing/review/comments").status_code == 404
    assert_needs_token(daemon.url, [("GET", f"{base}/comments"), ("POST", f"{base}/comments"), ("POST", base),
                                    ("DELETE", f"{base}/comments/1"), ("GET", f"/api/tasks/{t['id']}/reviews")])

    # a sent review waits for the agent: the held task has none yet
    c.post(f"{base}/comments", json={"path": "app.py", "line": 2, "body": "ok"})
    review = c.post(base).json()["review"]
    assert review["delivered"] is False and review["summary"] == ""

    # MCP: task_review adds comments and sends them
    async with mcp_session(daemon.mcp_url, daemon.token) as s:
        assert "line" in await call_error(s, "task_review", {"id": t["id"], "comments": [
            {"path": "app.py", "line": 0, "body": "x"}]})
        assert "no comments" in await call_error(s, "task_review", {"id": t["id"]})
        added = await call(s, "task_review", {"id": t["id"], "send": False, "comments": [
            {"path": "app.py", "line": 5, "body": "tighten"}]})
        assert added["drafts"][0]["quote"] == "line 5: value = 50"
        out = await call(s, "task_review", {"id": t["id"], "summary": "from mcp", "comments": [
            {"path": "app.py", "line": 6, "end_line": 7, "body": "and this"}]})
        assert [c_["line"] for c_ in out["review"]["comments"]] == [5, 6]
        assert "app.py:6-7" in out["review"]["message"]
    reviews = c.get(f"/api/tasks/{t['id']}/reviews").json()["reviews"]
    assert [r["summary"] for r in reviews] == ["from mcp", ""]
