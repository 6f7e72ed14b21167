"""The agent view's ``ctrl+r``: a searchable picker of the task's Claude conversations (the
worktree's transcripts, ``GET /api/tasks/{id}/claude-sessions``); picking one restarts the agent
on it (``POST .../claude-sessions/resume``). Other backends get ``ctrl+r`` as a key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .client import ApiError, task_path
from .forms import Picker, PickerItem
from .state import as_dict, as_list, task_name

if TYPE_CHECKING:  # pragma: no cover
    from .agentview import AgentView
    from .host import UiHost

CLAUDE_KINDS = ("claude", "demo")


def is_claude(tui: UiHost, task: dict[str, Any]) -> bool:
    """Whether the task runs a Claude-style backend (known from the backends list)."""
    name = task.get("backend")
    kinds = {b.get("name"): b.get("kind") for b in tui.state.backends if isinstance(b, dict)}
    return kinds.get(name, name) in CLAUDE_KINDS


def open_picker(tui: UiHost, agent: AgentView) -> None:
    """``ctrl+r`` in the agent view."""
    task = agent.task
    task_id = agent.task_id
    if not task_id:
        return
    if not is_claude(tui, task):
        agent.send(b"\x12")  # not Claude: the agent's own ctrl+r
        return

    async def load() -> None:
        try:
            out = as_dict(await tui.client.get(task_path(task_id, "/claude-sessions")))
        except ApiError as exc:
            tui.set_status(f"Claude sessions: {exc}", error=True)
            return
        sessions = [s for s in as_list(out.get("sessions")) if isinstance(s, dict) and s.get("id")]
        if not sessions:
            tui.set_status("no Claude sessions in this worktree yet")
            return
        items = [PickerItem(str(s.get("title") or "(no prompt)"), str(s["id"]),
                            "class:status.needs" if s.get("current") else "",
                            f"{str(s['id'])[:8]} · {s.get('modified_at') or ''}"
                            + (" · current" if s.get("current") else ""), pinned=bool(s.get("current")))
                 for s in sessions]

        def pick(session_id: str) -> None:
            async def resume() -> bool:
                try:
                    await tui.client.post(task_path(task_id, "/claude-sessions/resume"), {"session_id": session_id})
                except ApiError as exc:
                    tui.set_status(f"could not resume {session_id[:8]}: {exc}", error=True)
                    return False
                tui.set_status(f"{task_name(task)}: resumed Claude session {session_id[:8]}")
                return True
            # The daemon stops the old agent (its exit, code 129, may reach the view after this
            # answer) and starts the new one: the view expects that exit, as for a re-render.
            agent.replace_agent(resume(), name="claude-resume")

        tui.open_modal(Picker("Claude sessions", items, pick, on_close=tui.close_modal,
                              empty_text="no session matches"))

    tui.spawn(load(), name="claude-sessions")
