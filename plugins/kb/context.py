"""Relevant notes attached to a new task: the ``kb_context`` create-time option.

A task created with ``kb_context: true`` (REST, MCP ``task_create``, the TUI and PWA forms) gets
the vault's notes that best match its prompt: their paths, titles, tags and snippets (not the
whole notes) in ``.context/kb-notes.md`` of its worktree, and a line in its prompt saying so and
that ``kb_read`` returns a whole note. Asking for it while the kb cannot search (disabled, no
vault) is refused with a 400 naming the reason; no matching note means nothing is attached.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from argus.kernel.api import ArgusError, hookimpl
from argus.plugins.tasks.api import TaskContext, TaskOption

if TYPE_CHECKING:  # pragma: no cover
    from .service import KbService

log = logging.getLogger(__name__)

OPTION = "kb_context"
FILE = "kb-notes.md"
DEFAULT_NOTES = 5
MAX_TERMS = 32
MIN_WORD = 3
STOPWORDS = frozenset("""
    a about above after again all also am an and any are as at be because been before being below between
    both but by can could did do does doing done down during each else few for from further get had has have
    having he her here hers him his how if in into is it its itself just let like make me more most must my
    need no nor not now of off on once only or other our ours out over own please same she should so some
    such than that the their theirs them then there these they this those through to too under until up use
    using very was way we were what when where which while who whom why will with would you your yours
""".split())


def context_query(prompt: str) -> str:
    """The words of a prompt worth searching for: no stop words or very short words, each once."""
    seen: dict[str, None] = {}
    for word in re.findall(r"\w+", prompt.lower()):
        if len(word) >= MIN_WORD and word not in STOPWORDS and not word.isdigit():
            seen.setdefault(word, None)
        if len(seen) >= MAX_TERMS:
            break
    return " ".join(seen)


def render(results: list[dict[str, Any]]) -> str:
    """``kb-notes.md``: one section per note (title, path, tags, snippet), best first."""
    lines = ["# Notes from the knowledge base", "",
             f"The {len(results)} notes of the user's knowledge base that best match this task's prompt, "
             "best first. Only snippets are here: read a whole note with the `kb_read` MCP tool "
             "(pass its path).", ""]
    for n, note in enumerate(results, 1):
        lines.append(f"## {n}. {note.get('title') or note['path']}")
        lines.append("")
        lines.append(f"- path: `{note['path']}`")
        tags = note.get("tags") or []
        if tags:
            lines.append("- tags: " + " ".join(f"#{t}" for t in tags))
        snippet = " ".join(str(note.get("snippet") or "").split())
        if snippet:
            lines.append(f"- snippet: {snippet}")
        lines.append("")
    return "\n".join(lines)


def prompt_line(count: int) -> str:
    """What the agent is told about the attached file."""
    return (f"Relevant notes from the knowledge base: .context/{FILE} lists the {count} best matches for this "
            "task (paths, titles and snippets); read a whole note with the kb_read tool.")


def option(unavailable: Callable[[], str | None]) -> TaskOption:
    """The ``kb_context`` option of ``POST /api/tasks`` and ``task_create``."""
    return TaskOption(OPTION, "Attach notes", f"the kb notes that best match the prompt go to .context/{FILE}",
                      bool, False, unavailable)


class TaskContextHooks:
    """The tasks hook of one kernel's kb: registered on that kernel's plugin manager."""

    def __init__(self, kb: KbService, limit: Callable[[], int]) -> None:
        self.kb = kb
        self.limit = limit

    @hookimpl(optionalhook=True)
    def argus_task_prepare(self, task: dict[str, Any], worktree: str, options: dict[str, Any]) -> TaskContext | None:
        """With ``kb_context``: the best-matching notes' snippets into ``.context/kb-notes.md``."""
        if not options.get(OPTION):
            return None
        query = context_query(str(task.get("prompt") or "") + " " + str(task.get("name") or ""))
        if not query:
            return None
        try:
            results = self.kb.related(query, limit=self.limit())
        except ArgusError as exc:  # the kb went away since the option was checked: attach nothing
            log.info("kb: no notes attached to %s: %s", task.get("id"), exc.message)
            return None
        if not results:
            return None
        return TaskContext(prompt=prompt_line(len(results)), files={FILE: render(results).encode("utf-8")})
