"""Schedules end to end against a real daemon: REST and MCP surfaces, firing, one-shots, missed fires
after downtime, and kill -9 in the middle of a fire (exactly one task)."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from argus_testkit import Daemon, make_repo, wait_for
from sched_helpers import call, call_error, mcp_session


@pytest.fixture(autouse=True)
def fast_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short busy phases for the demo agents the daemon starts."""
    monkeypatch.setenv("FAKEAGENT_BUSY", "0.2")


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def add_project(d: Daemon, tmp_path: Path, name: str = "demo-proj") -> str:
    repo = make_repo(tmp_path / f"repo-{name}")
    resp = d.client.post("/api/projects", json={"name": name, "path": str(repo)})
    assert resp.status_code in (200, 201), resp.text
    return name


def create(c: httpx.Client, expect: int = 201, **body: Any) -> dict[str, Any]:
    resp = c.post("/api/schedules", json=body)
    assert resp.status_code == expect, resp.text
    return resp.json()


def schedule(c: httpx.Client, sid: str) -> dict[str, Any]:
    resp = c.get(f"/api/schedules/{sid}")
    assert resp.status_code == 200, resp.text
    return resp.json()["schedule"]


def tasks_named(c: httpx.Client, prefix: str) -> list[dict[str, Any]]:
    tasks = c.get("/api/tasks", params={"archived": "all"}).json()["tasks"]
    return [t for t in tasks if t["name"].startswith(prefix + " ")]


def test_crud_validation_and_auth(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    base = {"name": "nightly", "project": "demo-proj", "prompt": "run the tests"}
    for bad in ("61 * * * *", "@fortnightly", "@every 10x", "0 9 * *"):
        err = create(c, 400, **base, schedule=bad)["error"]
        assert repr(bad) in err, err
    assert "exactly one" in create(c, 400, **base)["error"]
    assert "exactly one" in create(c, 400, **base, schedule="@daily", run_once_at="2030-01-01T00:00:00Z")["error"]
    assert "run_once_at" in create(c, 400, **base, run_once_at="next week")["error"]
    assert "unknown project" in create(c, 400, **{**base, "project": "nope"}, schedule="@daily")["error"]
    assert "enabled" in create(c, 400, **base, schedule="@daily", enabled="yes")["error"]
    assert "colour" in create(c, 400, **base, schedule="@daily", colour="red")["error"]
    assert c.post("/api/schedules", content=b"[1]").status_code == 400

    s = create(c, **base, schedule="0 9 * * 1-5", backend="claude")["schedule"]
    assert s["enabled"] is True and s["schedule"] == "0 9 * * 1-5" and s["run_once_at"] is None
    assert parse(s["next_run_at"]) > datetime.now(UTC)
    assert s["last_run_at"] is None and s["last_task_id"] is None and s["last_error"] is None
    assert [x["id"] for x in c.get("/api/schedules").json()["schedules"]] == [s["id"]]

    off = c.put(f"/api/schedules/{s['id']}", json={"enabled": False}).json()["schedule"]
    assert off["enabled"] is False and off["next_run_at"] is None
    on = c.put(f"/api/schedules/{s['id']}", json={"enabled": True, "prompt": "again"}).json()["schedule"]
    assert on["next_run_at"] == s["next_run_at"] and on["prompt"] == "again"
    once = c.put(f"/api/schedules/{s['id']}", json={"run_once_at": "2031-05-01T10:00:00+02:00"}).json()["schedule"]
    assert once["schedule"] is None and once["run_once_at"] == "2031-05-01T08:00:00Z"
    assert once["next_run_at"] == "2031-05-01T08:00:00Z" and once["kind"] == "once"
    back = c.put(f"/api/schedules/{s['id']}", json={"schedule": "@every 2h"}).json()["schedule"]
    assert back["run_once_at"] is None and back["schedule"] == "@every 2h"
    bad = c.put(f"/api/schedules/{s['id']}", json={"schedule": "* * *"})
    assert bad.status_code == 400 and "'* * *'" in bad.json()["error"]
    assert c.get("/api/schedules/preview", params={"schedule": "@hourly"}).json()["next"][0].endswith(":00:00Z")

    anon = httpx.get(f"{daemon.url}/api/schedules")
    assert anon.status_code == 401
    assert httpx.post(f"{daemon.url}/api/schedules/{s['id']}/run").status_code == 401

    assert c.delete(f"/api/schedules/{s['id']}").json() == {"ok": True}
    assert c.get(f"/api/schedules/{s['id']}").status_code == 404
    assert c.put("/api/schedules/s_nope", json={"enabled": True}).status_code == 404
    assert c.post("/api/schedules/s_nope/run").status_code == 404


def test_one_shot_fires_once_and_disables_itself(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    when = (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=0)
    s = create(c, name="follow-up", project="demo-proj", prompt="check the build", run_once_at=iso(when))["schedule"]
    assert s["next_run_at"] == iso(when)
    done = wait_for(lambda: (x := schedule(c, s["id"]))["last_task_id"] and x, 30, what="one-shot fire")
    assert done["enabled"] is False and done["next_run_at"] is None and done["last_error"] is None
    made = tasks_named(c, "follow-up")
    assert [t["id"] for t in made] == [done["last_task_id"]]
    assert made[0]["prompt"] == "check the build" and made[0]["project"] == "demo-proj"
    assert made[0]["schedule"] == {"id": s["id"], "name": "follow-up"}
    c.delete(f"/api/schedules/{s['id']}")
    assert c.get(f"/api/tasks/{made[0]['id']}").json()["task"]["schedule"] == {"id": s["id"], "name": None}
    assert parse(done["last_run_at"]) >= when


def test_run_now_returns_a_task_and_the_tick_does_not_double_fire(daemon: Daemon,
                                                                   project: dict[str, Any]) -> None:
    c = daemon.client
    when = datetime.now(UTC) + timedelta(seconds=3)
    once = create(c, name="soon", project="demo-proj", prompt="p", run_once_at=iso(when))["schedule"]
    resp = c.post(f"/api/schedules/{once['id']}/run")
    assert resp.status_code == 200, resp.text
    task_id = resp.json()["task_id"]
    after = schedule(c, once["id"])
    assert after["last_task_id"] == task_id and after["enabled"] is False and after["next_run_at"] is None
    assert c.get(f"/api/tasks/{task_id}").status_code == 200
    # The one-shot's own time passes: no second task (an absence, so wait past it).
    time.sleep(max(0.0, (when - datetime.now(UTC)).total_seconds()) + 1.5)
    assert [t["id"] for t in tasks_named(c, "soon")] == [task_id]

    every = create(c, name="ticker", project="demo-proj", prompt="p", schedule="@every 1h")["schedule"]
    task2 = c.post(f"/api/schedules/{every['id']}/run").json()["task_id"]
    ran = schedule(c, every["id"])
    assert ran["last_task_id"] == task2 and ran["enabled"] is True
    assert parse(ran["next_run_at"]) - parse(ran["last_run_at"]) == timedelta(hours=1)


def test_failed_fire_records_last_error(daemon: Daemon, project: dict[str, Any]) -> None:
    c = daemon.client
    s = create(c, name="broken", project="demo-proj", prompt="p", schedule="@daily", backend="no-such")["schedule"]
    resp = c.post(f"/api/schedules/{s['id']}/run")
    assert resp.status_code in (400, 404) and "no-such" in resp.json()["error"]
    after = schedule(c, s["id"])
    assert "no-such" in after["last_error"] and after["last_task_id"] is None


def _db_set(home: Path, sid: str, **fields: Any) -> None:
    conn = sqlite3.connect(home / "data.sql")
    with conn:
        sets = ", ".join(f"{k} = ?" for k in fields)
        conn.execute(f"UPDATE schedules SET {sets} WHERE id = ?", (*fields.values(), sid))
    conn.close()


def test_a_missed_fire_after_downtime_runs_once(daemon_factory: Any, tmp_path: Path) -> None:
    d = daemon_factory("missed")
    add_project(d, tmp_path)
    s = create(d.client, name="yearly", project="demo-proj", prompt="p", schedule="0 0 1 1 *")["schedule"]
    d.stop()
    # The daemon was down over many slots: the schedule's next fire is long past.
    _db_set(d.home, s["id"], next_run_at=iso(datetime.now(UTC) - timedelta(days=800)))
    d.start()
    done = wait_for(lambda: (x := schedule(d.client, s["id"]))["last_task_id"] and x, 30, what="catch-up fire")
    assert len(tasks_named(d.client, "yearly")) == 1
    assert parse(done["next_run_at"]) > datetime.now(UTC) and done["enabled"] is True


@pytest.mark.parametrize("step", ["claimed", "created"])
def test_kill9_during_a_fire_yields_exactly_one_task(daemon_factory: Any, tmp_path: Path, step: str) -> None:
    d = daemon_factory(f"kill-{step}", env={"ARGUS_SCHEDULER_FAULT": step})
    add_project(d, tmp_path)
    when = datetime.now(UTC) + timedelta(seconds=1)
    s = create(d.client, name="crashy", project="demo-proj", prompt="p", run_once_at=iso(when))["schedule"]
    assert d.proc is not None
    wait_for(lambda: d.proc.poll() is not None, 30, what="the daemon killed at the fire")
    d.env.pop("ARGUS_SCHEDULER_FAULT")
    d.start()
    done = wait_for(lambda: (x := schedule(d.client, s["id"]))["last_task_id"] and x, 30, what="recovered fire")
    made = tasks_named(d.client, "crashy")
    assert [t["id"] for t in made] == [done["last_task_id"]]
    assert done["enabled"] is False and done["last_error"] is None


async def test_mcp_tools_round_trip(daemon: Daemon, project: dict[str, Any]) -> None:
    async with mcp_session(daemon.mcp_url, daemon.token) as s:
        names = {t.name for t in (await s.list_tools()).tools}
        assert {"schedule_list", "schedule_create", "schedule_update", "schedule_delete",
                "schedule_run_now"} <= names
        err = await call_error(s, "schedule_create", {"name": "x", "project": "demo-proj", "prompt": "p",
                                                      "schedule": "every day"})
        assert "'every day'" in err
        made = (await call(s, "schedule_create", {"name": "mcp", "project": "demo-proj", "prompt": "hello",
                                                  "schedule": "@every 30m", "enabled": False}))["schedule"]
        assert made["enabled"] is False and made["next_run_at"] is None
        listed = (await call(s, "schedule_list"))["schedules"]
        assert [x["id"] for x in listed] == [made["id"]]
        conv = (await call(s, "schedule_update", {"id": made["id"], "run_once_at": "2032-01-01T00:00:00Z",
                                                  "enabled": True}))["schedule"]
        assert conv["schedule"] is None and conv["next_run_at"] == "2032-01-01T00:00:00Z"
        conv = (await call(s, "schedule_update", {"id": made["id"], "schedule": "@daily"}))["schedule"]
        assert conv["run_once_at"] is None and conv["schedule"] == "@daily"
        ran = await call(s, "schedule_run_now", {"id": made["id"]})
        assert ran["task_id"].startswith("t_")
        assert "no schedule" in await call_error(s, "schedule_run_now", {"id": "s_missing"})
        assert (await call(s, "schedule_delete", {"id": made["id"]})) == {"deleted": made["id"]}
        assert (await call(s, "schedule_list"))["schedules"] == []
    assert daemon.client.get(f"/api/tasks/{ran['task_id']}").status_code == 200
