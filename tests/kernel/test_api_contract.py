"""The kernel object matches the ``Kernel`` protocol of ``argus.kernel.api``; plugin state is per
kernel (two kernels in one process keep theirs apart); the stash is typed and keyed by identity."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argus.kernel.api import Invalid, NotFound, Stash, StashKey
from argus.kernel.kernel import Kernel
from argus.kernel.paths import Paths
from argus.plugins.tasks.api import TasksAPI, tasks_of
from kernel_helpers import write_config

PROTOCOL_SURFACE = {
    "http": ["add_blueprint", "add_public_prefix", "add_master_only", "add_routes", "add_schema_fields"],
    "db": ["execute", "query", "one", "scalar", "transaction"],
    "events": ["publish", "subscribe", "add_listener"],
    "settings": ["get", "section", "raw"],
    "registry": ["add_tool"],
    "paths": ["home", "run", "sessions", "worktrees"],
    "pm": ["register", "hook"],
    "stash": ["get", "setdefault"],
}


@pytest.fixture
def kernels(tmp_path: Path) -> Iterator[list[Kernel]]:
    made = []
    for name in ("one", "two"):
        home = tmp_path / name
        home.mkdir()
        kernel = Kernel(Paths(home))
        kernel.prepare()
        made.append(kernel)
    try:
        yield made
    finally:
        for kernel in made:
            kernel.db.close()


def test_the_kernel_offers_what_the_protocol_promises(kernels: list[Kernel]) -> None:
    kernel = kernels[0]
    for attr, members in PROTOCOL_SURFACE.items():
        for member in members:
            assert hasattr(getattr(kernel, attr), member), f"kernel.{attr}.{member}"
    assert callable(kernel.spawn_background) and isinstance(kernel.version, str)
    assert kernel.events is kernel.bus


def test_two_kernels_in_one_process_keep_their_tasks_apart(kernels: list[Kernel]) -> None:
    one, two = (tasks_of(k) for k in kernels)
    assert one is not two
    assert all(hasattr(one, m) for m in vars(TasksAPI) if not m.startswith("_"))
    assert one.list() == [] and two.list() == []
    assert kernels[0].pm.get_plugin("tasks.dag") is not kernels[1].pm.get_plugin("tasks.dag")
    assert "demo" in {b["name"] for b in one.backends()} and one.backend("demo")["kind"] == "demo"
    with pytest.raises(Invalid):
        one.backend("nope")
    with pytest.raises(NotFound):
        one.rename("t_nope", "x")


def test_tasks_of_a_kernel_without_tasks_is_not_found(tmp_path: Path) -> None:
    write_config(tmp_path, '[plugins]\ndisabled = ["tasks"]\n')
    kernel = Kernel(Paths(tmp_path))
    try:
        kernel.prepare()
        with pytest.raises(NotFound, match="tasks plugin is not loaded"):
            tasks_of(kernel)
    finally:
        kernel.db.close()


def test_the_stash_is_keyed_by_key_identity() -> None:
    stash = Stash()
    a, b = StashKey[int](), StashKey[int]()
    stash[a] = 1
    assert stash[a] == 1 and b not in stash and stash.get(b, None) is None
    assert stash.setdefault(b, 2) == 2 and stash.setdefault(b, 3) == 2
    del stash[a]
    assert a not in stash and len(stash) == 1


def test_two_kernels_keep_their_hera_push_scheduler_and_sandbox_apart(kernels: list[Kernel]) -> None:
    from argus.plugins.hera.plugin import HERA
    from argus.plugins.push import PUSH
    from argus.plugins.scheduler import SCHEDULER

    one, two = kernels
    for key, hooks in ((HERA, "hera.kernel"), (PUSH, "push.kernel"), (SCHEDULER, "scheduler.kernel")):
        assert one.stash[key] is not two.stash[key], key
        assert one.stash[key].kernel is one and two.stash[key].kernel is two
        assert one.pm.get_plugin(hooks) is not two.pm.get_plugin(hooks)
    assert one.pm.get_plugin("sandbox.runtime").detector is not two.pm.get_plugin("sandbox.runtime").detector
    # push: a task deleted on one kernel is forgotten by that kernel's notifier only
    for kernel in kernels:
        kernel.stash[PUSH].last_sent["t_gone"] = 1.0
    one.pm.hook.argus_task_deleted(task={"id": "t_gone", "name": "gone"})
    assert "t_gone" not in one.stash[PUSH].last_sent and "t_gone" in two.stash[PUSH].last_sent
    # scheduler: the ``schedule`` task field is answered from the asking kernel's database
    two.db.execute("INSERT INTO schedules (id, name, project, created_at, updated_at) "
                   "VALUES ('s_1', 'nightly', 'p', 'x', 'x')")
    task = {"id": "t_1", "name": "t", "extra": {"schedule_id": "s_1"}}

    def schedule_field(kernel: Kernel) -> object:
        return next(f["schedule"] for f in kernel.pm.hook.argus_task_fields(task=task) if f and "schedule" in f)

    assert schedule_field(two) == {"id": "s_1", "name": "nightly"}
    assert schedule_field(one) == {"id": "s_1", "name": None}
