"""The delivery worker and the service against a real SQLite database and a scripted tasks facade
(no daemon): gating on idleness, one delivery in flight per role, crash recovery from the
terminal's contents, and the coordination rules that need no agent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
from argus.kernel.db import Database
from argus.plugins.hera.delivery import Delivery, tag
from argus.plugins.hera.service import Hera
from argus.plugins.hera.store import MIGRATIONS, Store
from argus.plugins.hera.tasks import CreateTask


class FakeTasks:
    """The TasksAPI surface hera uses, scripted: tasks are dicts, a terminal is a byte string."""

    def __init__(self) -> None:
        self.tasks: dict[str, dict[str, Any]] = {}
        self.idle: set[str] = set()
        self.screen: dict[str, bytes] = {}
        self.typed: list[tuple[str, str]] = []
        self.gate: trio.Event | None = None

    def add(self, task_id: str, cwd: str, **extra: Any) -> dict[str, Any]:
        self.tasks[task_id] = {"id": task_id, "name": task_id, "worktree_path": cwd, "project": "p",
                               "backend": "demo", "status": "in_progress", **extra}
        return self.tasks[task_id]

    def get(self, task_id: str) -> dict[str, Any]:
        return self.tasks[task_id]

    def exists(self, task_id: str | None) -> bool:
        return task_id in self.tasks

    def resolve_caller(self, cwd: str | None, token: str | None) -> dict[str, Any] | None:
        return next((t for t in self.tasks.values() if t["worktree_path"] == cwd), None)

    def is_idle(self, task_id: str) -> bool:
        return task_id in self.idle

    async def send_text(self, task_id: str, text: str) -> None:
        if self.gate is not None:
            await self.gate.wait()
        self.typed.append((task_id, text))
        self.screen[task_id] = self.screen.get(task_id, b"") + text.encode() + b"\r\n"
        self.idle.discard(task_id)

    async def output(self, task_id: str, nbytes: int) -> bytes:
        return self.screen.get(task_id, b"")[-nbytes:]

    def set_status(self, task_id: str, status: str) -> None:
        self.tasks[task_id]["status"] = status

    async def create(self, spec: CreateTask) -> dict[str, Any]:
        task_id = f"t_{len(self.tasks)}"
        return self.add(task_id, f"/wt/{task_id}", hidden=spec.hidden, parent_id=spec.parent_id,
                        model=spec.model, extra=spec.extra, prompt=spec.prompt)


@pytest.fixture
def world(tmp_path: Path) -> Any:
    db = Database(tmp_path / "data.sql")
    db.migrate(MIGRATIONS)
    store = Store(db)
    tasks = FakeTasks()
    events: list[tuple[str, dict[str, Any]]] = []

    def publish(type_: str, data: dict[str, Any]) -> None:
        events.append((type_, data))

    delivery = Delivery(store, tasks, publish, lambda: True)
    hera = Hera(store, tasks, publish, on_message=delivery.queue)
    tasks.add("t_boss", "/wt/boss")
    tasks.add("t_w", "/wt/w")
    made = hera.new_orchestrator({"cwd": "/wt/boss"})
    hera.join({"cwd": "/wt/w", "role_name": "w", "kind": "worker", "orchestrator": made["orchestrator"]["id"]})

    class World:
        pass

    w = World()
    w.db, w.store, w.tasks, w.events, w.delivery, w.hera = db, store, tasks, events, delivery, hera
    w.boss_role = made["role"]["id"]
    yield w
    db.close()


async def test_busy_recipient_waits_then_gets_one_line_for_all_pending(world: Any) -> None:
    h, tasks = world.hera, world.tasks
    for i in range(3):
        h.send({"cwd": "/wt/w", "subject": f"s{i}", "body": "b"})
    assert await world.delivery.deliver(world.boss_role) == 0 and tasks.typed == []
    tasks.idle.add("t_boss")
    assert await world.delivery.deliver(world.boss_role) == 3
    assert len(tasks.typed) == 1 and "3 new messages (#1 #2 #3) from w" in tasks.typed[0][1]
    tasks.idle.add("t_boss")
    assert await world.delivery.deliver(world.boss_role) == 0  # never twice
    assert len(tasks.typed) == 1


async def test_reading_the_inbox_cancels_the_pending_delivery(world: Any) -> None:
    h, tasks = world.hera, world.tasks
    sent = h.send({"cwd": "/wt/w", "body": "hello"})["message"]
    box = h.inbox({"cwd": "/wt/boss"})
    assert box["cancelled_deliveries"] == [sent["id"]]
    tasks.idle.add("t_boss")
    assert await world.delivery.deliver(world.boss_role) == 0 and tasks.typed == []
    msg = h.role_messages(world.store.role(world.boss_role), 10)["messages"][0]
    assert msg["delivery"] == "cancelled" and msg["read"] is True


async def test_one_delivery_in_flight_per_role(world: Any) -> None:
    h, tasks = world.hera, world.tasks
    tasks.gate = trio.Event()
    tasks.idle.add("t_boss")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(world.delivery.run)
        h.send({"cwd": "/wt/w", "body": "one"})
        await trio.testing.wait_all_tasks_blocked()
        assert world.delivery.in_flight == {world.boss_role}
        h.send({"cwd": "/wt/w", "body": "two"})  # queued while the first is being typed: skipped
        world.delivery.queue(world.boss_role)
        await trio.testing.wait_all_tasks_blocked()
        tasks.gate.set()
        await trio.testing.wait_all_tasks_blocked()
        assert len(tasks.typed) == 1 and "#1 " in tasks.typed[0][1]
        tasks.idle.add("t_boss")  # the next idle moment announces the second
        world.delivery.on_idle("t_boss")
        await trio.testing.wait_all_tasks_blocked()
        assert len(tasks.typed) == 2 and "#2 " in tasks.typed[1][1]
        nursery.cancel_scope.cancel()


async def test_recovery_settles_cut_deliveries_from_the_terminal(world: Any) -> None:
    h, store, tasks = world.hera, world.store, world.tasks
    one = h.send({"cwd": "/wt/w", "body": "typed before the crash"})["message"]
    two = h.send({"cwd": "/wt/w", "body": "never typed"})["message"]
    # a crash after typing #1's line but before bookkeeping, and one before typing #2's
    d1 = store.begin_delivery(world.boss_role, "t_boss", "", [one["id"]])
    d2 = store.begin_delivery(world.boss_role, "t_boss", "", [two["id"]])
    tasks.screen["t_boss"] = f"\x1b[1m{tag(d1)} message #{one['id']}\x1b[0m\r\n> ".encode()
    await world.delivery.recover()
    assert store.unfinished_deliveries() == []
    assert store.message(one["id"])["delivered_at"] is not None
    assert store.message(two["id"])["delivered_at"] is None
    tasks.idle.add("t_boss")
    await world.delivery.deliver(world.boss_role)
    assert len(tasks.typed) == 1 and f"#{two['id']} " in tasks.typed[0][1] and tag(d2) not in tasks.typed[0][1]


async def test_spawn_worker_creates_a_hidden_bound_task(world: Any) -> None:
    h, tasks = world.hera, world.tasks
    out = await h.spawn_worker({"cwd": "/wt/boss", "name": "api", "prompt": "build", "model": "m1"})
    created = tasks.get(out["role"]["task_id"])
    assert created["hidden"] is True and created["parent_id"] == "t_boss" and created["model"] == "m1"
    assert created["extra"]["hera"]["role"] == "api"
    assert created["prompt"].startswith("You are the Hera worker 'api'") and created["prompt"].endswith("\n\nbuild")
    assert h.task_fields(created)["hera"]["kind"] == "worker"
    assert h.task_fields({"id": "t_nobody"}) is None
    h.set_status(world.store.role(out["role"]["id"]), "done")
    assert created["status"] == "in_review"


async def test_failed_spawn_leaves_no_role(world: Any) -> None:
    async def boom(spec: CreateTask) -> dict[str, Any]:
        raise RuntimeError("git exploded")

    world.tasks.create = boom
    with pytest.raises(RuntimeError):
        await world.hera.spawn_worker({"cwd": "/wt/boss", "name": "api", "prompt": "build"})
    assert [r["name"] for r in world.store.roles()] == ["coordinator", "w"]


def test_deleted_task_unbinds_its_role(world: Any) -> None:
    world.tasks.tasks.pop("t_w")
    world.hera.task_deleted({"id": "t_w"})
    role = world.store.role_by_name(world.store.roles()[0]["orchestrator_id"], "w")
    assert role["task_id"] is None


async def test_depends_on_holds_a_worker_until_its_dependencies_are_done(world: Any) -> None:
    h, tasks, store = world.hera, world.tasks, world.store
    ready: list[str] = []
    h.on_ready = ready.append
    api = await h.spawn_worker({"cwd": "/wt/boss", "name": "api", "prompt": "build"})
    ui = await h.spawn_worker({"cwd": "/wt/boss", "name": "ui", "prompt": "ui", "depends_on": ["api", "w"]})
    ui_task = tasks.get(ui["role"]["task_id"])
    assert ui_task["extra"]["hera"]["depends_on"] == ["api", "w"]
    assert h.launch_gate(ui_task) == "waiting for hera role(s) api, w to be done"
    assert h.launch_gate(tasks.get(api["role"]["task_id"])) is None
    assert h.launch_gate({"id": "t_other"}) is None
    h.set_status(store.role(api["role"]["id"]), "done")
    assert ready == [] and "w to be done" in h.launch_gate(ui_task)
    h.set_status(store.role_by_task("t_w"), "done")
    assert ready == [ui_task["id"]] and h.launch_gate(ui_task) is None
