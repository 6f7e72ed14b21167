"""Smart auto-naming through the fake agent's print mode (``claude --print``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from argus.plugins.ops.naming import clean_name, print_argv
from argus_testkit import Daemon, wait_for

PROMPT = "please fix the login bug on the settings page"
SLUG = "fix-login-bug-settings-page"


@pytest.fixture
def make_daemon(tmp_path: Path, argus_home: Path, git_repo: Path) -> Iterator[Any]:
    made: list[Daemon] = []

    def make(config: str = "", **env: str) -> Daemon:
        (argus_home / "config.toml").write_text(config)
        d = Daemon(argus_home, env={"FAKEAGENT_BUSY": "0.2", "FAKEAGENT_PRINT_RECORD": str(tmp_path / "record.jsonl"),
                                    **env})
        made.append(d)
        d.start()
        assert d.client.post("/api/projects", json={"name": "p", "path": str(git_repo)}).status_code == 201
        return d

    try:
        yield make
    finally:
        for d in made:
            d.cleanup()


def create(c: httpx.Client, **extra: Any) -> dict[str, Any]:
    resp = c.post("/api/tasks", json={"prompt": PROMPT, "project": "p", "backend": "claude", **extra})
    assert resp.status_code == 201, resp.text
    return resp.json()["task"]


def autoname_event(c: httpx.Client, task_id: str) -> dict[str, Any] | None:
    found = None
    try:
        with c.stream("GET", "/api/events/stream", params={"since": 0},
                      timeout=httpx.Timeout(5, read=0.5)) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    event = json.loads(line[5:])
                    if event["type"] == "task.autoname" and event["data"]["id"] == task_id:
                        found = event["data"]
                        break
    except httpx.ReadTimeout:
        pass
    return found


def name_of(c: httpx.Client, task_id: str) -> str:
    return c.get(f"/api/tasks/{task_id}").json()["task"]["name"]


def print_calls(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "record.jsonl"
    if not path.exists():
        return []
    entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    assert all("--print" in e["argv"] for e in entries)
    return entries


def test_task_without_a_name_is_renamed_from_the_cli_answer(make_daemon: Any, tmp_path: Path) -> None:
    d = make_daemon(FAKEAGENT_PRINT_ANSWER="`Login-Page Fix`")
    task = create(d.client)
    assert task["name"] == SLUG  # created at once with the slug
    event = wait_for(lambda: autoname_event(d.client, task["id"]), 20, what="task.autoname")
    assert event == {"id": task["id"], "name": "login-page-fix", "was": SLUG, "applied": True, "reason": "renamed"}
    assert name_of(d.client, task["id"]) == "login-page-fix"
    task_after = d.client.get(f"/api/tasks/{task['id']}").json()["task"]
    assert task_after["slug"] == task["slug"] and task_after["branch"] == task["branch"]  # display name only
    calls = print_calls(tmp_path)
    assert len(calls) == 1 and calls[0]["model"] == "haiku" and PROMPT in calls[0]["prompt"]


def test_named_tasks_are_left_alone(make_daemon: Any, tmp_path: Path) -> None:
    d = make_daemon(FAKEAGENT_PRINT_ANSWER="other-name")
    task = create(d.client, name="My own name")
    wait_for(lambda: "? for shortcuts" in d.client.get(f"/api/tasks/{task['id']}/output",
                                                        params={"clean": "1"}).text, 20, what="agent prompt")
    assert print_calls(tmp_path) == []
    assert name_of(d.client, task["id"]) == "My own name"


def test_timeout_falls_back_to_the_slug(make_daemon: Any) -> None:
    d = make_daemon("[autoname]\ntimeout = 1\n", FAKEAGENT_PRINT_ANSWER="too-late", FAKEAGENT_PRINT_DELAY="20")
    task = create(d.client)
    event = wait_for(lambda: autoname_event(d.client, task["id"]), 20, what="task.autoname")
    assert event["applied"] is False and event["reason"] == "timeout" and event["name"] is None
    assert name_of(d.client, task["id"]) == SLUG


def test_a_rename_by_the_user_meanwhile_wins(make_daemon: Any) -> None:
    d = make_daemon(FAKEAGENT_PRINT_ANSWER="model-name", FAKEAGENT_PRINT_DELAY="1.5")
    task = create(d.client)
    assert d.client.post(f"/api/tasks/{task['id']}/rename", json={"name": "mine"}).status_code == 200
    event = wait_for(lambda: autoname_event(d.client, task["id"]), 20, what="task.autoname")
    assert event["applied"] is False and event["reason"] == "renamed by the user"
    assert name_of(d.client, task["id"]) == "mine"


def test_the_setting_turns_it_off(make_daemon: Any, tmp_path: Path) -> None:
    d = make_daemon("[autoname]\nenabled = false\n", FAKEAGENT_PRINT_ANSWER="never")
    task = create(d.client)
    wait_for(lambda: "? for shortcuts" in d.client.get(f"/api/tasks/{task['id']}/output",
                                                        params={"clean": "1"}).text, 20, what="agent prompt")
    assert print_calls(tmp_path) == []
    assert autoname_event(d.client, task["id"]) is None
    assert name_of(d.client, task["id"]) == SLUG


def test_answers_are_cleaned_or_refused() -> None:
    assert clean_name("Sure!\n\n  fix-login-bug  \n") == "fix-login-bug"
    assert clean_name('"Refactor DB Layer."') == "refactor-db-layer"
    assert clean_name("") is None
    assert clean_name("!!!") is None
    assert clean_name(" ".join(["word"] * 20)) is None


def test_print_mode_commands_per_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("claude", "codex", "pi"):
        exe = tmp_path / name
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert print_argv("claude --foo", "x")[1:4] == ["--print", "--model", "haiku"]  # type: ignore[index]
    assert print_argv("codex", "x")[1:3] == ["exec", "--skip-git-repo-check"]  # type: ignore[index]
    assert print_argv("pi", "x", "small")[1:4] == ["--print", "--model", "small"]  # type: ignore[index]
    assert print_argv("my-own-cli --go", "x") is None
    assert print_argv("/nowhere/claude", "x") is None
