"""Short guides hera hands to agents: the coordinator's loop (in ``hera_new_orchestrator``'s answer)
and the brief prepended to a spawned worker's prompt. The full versions are the Claude Code skills
``.claude/skills/hera-coordinator`` and ``.claude/skills/hera-worker``.
"""

from __future__ import annotations

COORDINATOR = (
    "You coordinate this orchestrator. Loop: (1) plan the work into pieces one agent finishes in a "
    "session; (2) hera_spawn_worker for each (name, a complete prompt, optional model, depends_on for "
    "pieces that must wait); (3) wait: a line starting with [hera d…] is typed into your terminal when a "
    "worker writes; then hera_inbox (marks read), hera_tree_updates for the subject lines of the whole "
    "team and hera_get_messages for bodies you need; (4) answer with hera_send (always name `to`); "
    "(5) review a worker when its status is done (its task is in review); (6) hera_status done and "
    "summarise for the user. Pass cwd (your pwd) to every hera tool."
)


def worker_prompt(role: str, orchestrator: str, coordinator: str, prompt: str) -> str:
    """A worker's prompt: who it is and how to report, then the coordinator's brief."""
    return (f"You are the Hera worker '{role}' of orchestrator '{orchestrator}' (coordinator: "
            f"'{coordinator}'). Report progress and questions with the hera_send tool (no `to` needed; pass "
            f"cwd = your pwd); a line starting with [hera d…] means a message waits: read it with hera_inbox. "
            f"When done, hera_send a short report, then hera_status done.\n\n{prompt}")
