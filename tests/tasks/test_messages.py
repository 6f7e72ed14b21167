"""Inter-task messaging against a real daemon: limits, inbox filters, acks, task_ask, and the
idle-gated notice typed into a live recipient's terminal.

Most tasks here are held ``pending`` behind a gate task, so they have worktrees but no agents.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
from argus_testkit import wait_for_async
from orch_helpers import (
    FAST_AGENT,
    call,
    call_error,
    create_task,
    events,
    mcp_session,
    output,
    task,
)


@pytest.fixture(autouse=True)
def fast_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short busy phases for the demo agents the daemon starts."""
    for key, value in FAST_AGENT.items():
        monkeypatch.setenv(key, value)


def held_tasks(client: Any, project: str, gate: dict[str, Any], names: list[str]) -> list[dict[str, Any]]:
    """Tasks held pending behind ``gate`` (no agent processes)."""
    return [create_task(client, project, n, depends_on=[gate["id"]]) for n in names]


def send(client: Any, sender: str, to: str, body: str, **extra: Any) -> Any:
    return client.post(f"/api/tasks/{sender}/messages", json={"to": to, "body": body, **extra})


async def test_inbox_cap_and_sender_rate_limit_are_clear_tool_errors(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    gate = create_task(c, project["name"], "gate")
    recipient, *senders = held_tasks(c, project["name"], gate, ["inbox"] + [f"s{i}" for i in range(10)])
    r = recipient["id"]
    for i in range(50):
        assert send(c, senders[0]["id"], r, f"hello {i}").status_code == 201
    async with mcp_session(daemon.mcp_url, daemon.token) as s:
        err = await call_error(s, "task_message_send", {"id": senders[0]["id"], "to": r, "body": "51st"})
        assert "rate limit" in err and "50 messages per minute" in err
        for sender in senders[1:]:
            for i in range(50):
                resp = send(c, sender["id"], r, f"{sender['name']} {i}")
                assert resp.status_code == 201, resp.text
        assert c.get(f"/api/tasks/{r}/inbox", params={"limit": 500}).json()["unread"] == 500
        err = await call_error(s, "task_message_send", {"id": gate["id"], "to": r, "body": "501st"})
        assert "inbox" in err and "full" in err and "500" in err
        resp = send(c, gate["id"], r, "over REST too")
        assert resp.status_code == 429
        # reading one frees a slot
        first = (await call(s, "task_inbox", {"id": r, "limit": 1}))["messages"][0]
        assert (await call(s, "task_message_ack", {"id": r, "message_ids": [first["id"]]}))["acked"] == 1
        sent = await call(s, "task_message_send", {"id": gate["id"], "to": r, "body": "fits now"})
        assert sent["message"]["to_id"] == r
        # body size
        err = await call_error(s, "task_message_send", {"id": gate["id"], "to": senders[0]["id"],
                                                        "body": "x" * (64 * 1024 + 1)})
        assert "64 KiB" in err
        ok = await call(s, "task_message_send", {"id": gate["id"], "to": senders[0]["id"], "body": "x" * 65536})
        assert ok["message"]["body"] == "x" * 65536
        err = await call_error(s, "task_message_send", {"id": gate["id"], "to": gate["id"], "body": "me"})
        assert "itself" in err
        err = await call_error(s, "task_message_send", {"id": gate["id"], "to": r, "body": "x", "kind": "shout"})
        assert "kind" in err


async def test_inbox_filters_and_acks(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    gate = create_task(c, project["name"], "gate")
    a, b, d = held_tasks(c, project["name"], gate, ["a", "b", "d"])
    ids = [send(c, b["id"], a["id"], f"b{i}").json()["message"]["id"] for i in range(3)]
    from_d = send(c, d["id"], a["id"], "d0", kind="question").json()["message"]
    to_b = send(c, a["id"], b["id"], "not for a").json()["message"]
    async with mcp_session(daemon.mcp_url, daemon.token) as s:
        box = await call(s, "task_inbox", {"cwd": a["worktree_path"]})
        assert [m["body"] for m in box["messages"]] == ["b0", "b1", "b2", "d0"]  # oldest first
        assert box["unread"] == 4 and box["messages"][0]["from_id"] == b["id"]
        again = await call(s, "task_inbox", {"id": a["id"]})
        assert again["unread"] == 4  # reading does not mark read
        only_d = await call(s, "task_inbox", {"id": a["id"], "sender": d["id"]})
        assert [m["id"] for m in only_d["messages"]] == [from_d["id"]]
        later = await call(s, "task_inbox", {"id": a["id"], "since": box["messages"][1]["created_at"]})
        assert [m["body"] for m in later["messages"]][-1] == "d0" and "b0" not in [m["body"] for m in later["messages"]]
        assert len((await call(s, "task_inbox", {"id": a["id"], "limit": 2}))["messages"]) == 2
        err = await call_error(s, "task_inbox", {"id": a["id"], "since": "yesterday"})
        assert "RFC3339" in err
        # acking ids not addressed to the caller is silently ignored
        acked = await call(s, "task_message_ack", {"id": a["id"], "message_ids": [ids[0], to_b["id"], 999999]})
        assert acked == {"acked": 1, "unread": 3}
        err = await call_error(s, "task_message_ack", {"id": a["id"], "message_ids": list(range(501))})
        assert "500" in err
        everything = await call(s, "task_inbox", {"id": a["id"], "unread_only": False})
        assert [m["read"] for m in everything["messages"]] == [True, False, False, False]
    rest = c.get(f"/api/tasks/{a['id']}/inbox", params={"unread_only": "0"}).json()
    assert len(rest["messages"]) == 4
    assert c.post(f"/api/tasks/{a['id']}/inbox/ack", json={"message_ids": ids}).json()["acked"] == 2
    assert c.get(f"/api/tasks/{b['id']}/inbox").json()["messages"][0]["id"] == to_b["id"]
    created = [e for e in events(c) if e["type"] == "message.created"]
    assert len(created) == 5 and created[0]["data"]["message"]["to_id"] == a["id"]


async def test_task_ask_returns_the_answer_when_it_lands(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    gate = create_task(c, project["name"], "gate")
    asker, expert = held_tasks(c, project["name"], gate, ["asker", "expert"])
    async with mcp_session(daemon.mcp_url, daemon.token) as s:
        quick = await call(s, "task_ask", {"id": asker["id"], "to": expert["id"], "body": "ping?"})
        assert quick["answer"] is None and quick["timed_out"] is False
        assert quick["question"]["kind"] == "question"
        err = await call_error(s, "task_ask", {"id": asker["id"], "to": expert["id"], "body": "x",
                                               "timeout_seconds": 121})
        assert "120" in err
        result: dict[str, Any] = {}

        async def ask() -> None:
            result.update(await call(s, "task_ask", {"cwd": asker["worktree_path"], "to": expert["id"],
                                                     "body": "what is 6*7?", "timeout_seconds": 90}))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask)
            question = await wait_for_async(
                lambda: [m for m in c.get(f"/api/tasks/{expert['id']}/inbox").json()["messages"]
                         if m["body"] == "what is 6*7?"], what="the question in the expert's inbox")
            assert not result  # still waiting
            resp = send(c, expert["id"], asker["id"], "42", kind="answer", in_reply_to=question[0]["id"])
            assert resp.status_code == 201
        assert result["timed_out"] is False
        assert result["answer"]["body"] == "42" and result["answer"]["in_reply_to"] == question[0]["id"]
        # the returned answer is marked read
        assert c.get(f"/api/tasks/{asker['id']}/inbox").json()["unread"] == 0
        # nobody answers: the wait ends with timed_out
        nobody = await call(s, "task_ask", {"id": asker["id"], "to": expert["id"], "body": "anyone?",
                                            "timeout_seconds": 0.3})
        assert nobody["timed_out"] is True and nobody["answer"] is None


async def test_notice_is_typed_only_when_the_recipient_is_idle_and_only_once(
        daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    busy = create_task(c, project["name"], "busy-agent")
    idle = create_task(c, project["name"], "idle-agent")
    gate = create_task(c, project["name"], "gate")
    (sender,) = held_tasks(c, project["name"], gate, ["sender"])
    await wait_for_async(lambda: task(c, busy["id"])["idle"] and task(c, idle["id"])["idle"], what="agents waiting")
    # put one agent mid-turn (busy until interrupted)
    c.post(f"/api/tasks/{busy['id']}/input", json={"data": "/sleep 600"})
    c.post(f"/api/tasks/{busy['id']}/input", json={"data": "\r"})
    await wait_for_async(lambda: "esc to interrupt" in output(c, busy["id"]).split("/sleep 600")[-1],
                          what="busy agent mid-turn")
    assert not task(c, busy["id"])["idle"]
    held = send(c, sender["id"], busy["id"], "please review PR 7").json()["message"]
    # a later message to an idle agent is delivered; the delivery job works in order, so by
    # then it has already looked at (and skipped) the busy one
    send(c, sender["id"], idle["id"], "hello idle")
    await wait_for_async(lambda: "you said: [argus] note #" in output(c, idle["id"]), what="notice to the idle agent")
    await wait_for_async(lambda: c.get(f"/api/tasks/{idle['id']}/inbox").json()["messages"][0]["delivered_at"],
                          what="delivered_at stamped")
    inbox = c.get(f"/api/tasks/{busy['id']}/inbox").json()["messages"]
    assert inbox[0]["id"] == held["id"] and inbox[0]["delivered_at"] is None
    assert "[argus]" not in output(c, busy["id"])
    # the turn ends (interrupted): the agent is idle, so the notice goes in now
    c.post(f"/api/tasks/{busy['id']}/input", json={"data": "\x1b"})
    await wait_for_async(lambda: f"you said: [argus] note #{held['id']} from sender" in output(c, busy["id"]),
                          what="notice typed after the turn ended")
    # another idle period does not repeat it
    await wait_for_async(lambda: task(c, busy["id"])["idle"], what="idle again after reading the notice")
    c.post(f"/api/tasks/{busy['id']}/input", json={"data": "ok\r"})
    await wait_for_async(lambda: "you said: ok" in output(c, busy["id"]), what="next turn")
    await wait_for_async(lambda: task(c, busy["id"])["idle"], what="idle after the next turn")
    assert output(c, busy["id"]).count("you said: [argus]") == 1
    delivered = [e for e in events(c) if e["type"] == "message.delivered"]
    assert sorted(d["data"]["task_id"] for d in delivered) == sorted([busy["id"], idle["id"]])
