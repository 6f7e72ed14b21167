"""fake: a plugin that teaches tasks a new agent CLI kind and follows the launches of its tasks.

Try it:  ARGUS_PLUGINS=docs/examples/agent_kind.py argus daemon run   (with ``fakeagent`` on PATH,
see tests/fakeagent), then create a task with ``"backend": "fake"``.
"""

from __future__ import annotations

from typing import Any

from argus.kernel.api import Kernel, hookimpl
from argus.plugins.tasks.api import AgentKind, AgentLaunch


def fake_argv(launch: AgentLaunch) -> list[str]:
    """``fakeagent --session-id ID [--model M] PROMPT`` for a new launch, ``--resume ID`` to resume."""
    argv = [*launch.command, "--resume" if launch.resume else "--session-id", launch.session_id]
    if launch.model:
        argv += ["--model", launch.model]
    return argv + ([launch.prompt] if launch.prompt else [])


FAKE = AgentKind(name="fake", command="fakeagent", build_argv=fake_argv, session_ids=True,
                 waiting=r"\? for shortcuts|^\s*>\s*$", busy=r"esc to interrupt")


@hookimpl
def argus_agent_kinds() -> list[AgentKind]:
    """The ``fake`` kind: selectable as a backend ``kind``, and listed as the backend ``fake``."""
    return [FAKE]


class Launches:
    """One kernel's count of agent launches per task (registered on that kernel, no globals)."""

    def __init__(self) -> None:
        self.count: dict[str, int] = {}

    @hookimpl
    def argus_session_started(self, task: dict[str, Any], session_id: str, resumed: bool) -> None:
        """Count every launch of a task on the ``fake`` backend."""
        if task["backend"] == "fake":
            self.count[task["id"]] = self.count.get(task["id"], 0) + 1

    @hookimpl
    def argus_task_fields(self, task: dict[str, Any]) -> dict[str, Any] | None:
        """Show the count as ``task["fake"] = {"launches": N}``."""
        n = self.count.get(task["id"])
        return {"fake": {"launches": n}} if n else None


@hookimpl
def argus_register(kernel: Kernel) -> None:
    """Register the per-kernel hooks object."""
    kernel.pm.register(Launches(), name="fake.launches")
