"""Small marks of a task row: its usage (``12.3k tok $0.41``) and "conflicts with" other tasks.

Pure functions over the Task JSON's declared fields (``usage``, ``conflicts_with``); each returns
"" when there is nothing to show, so a task whose CLI reported nothing shows no usage at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .state import as_dict, as_list, task_name

TOKEN_KEYS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def compact_count(n: int) -> str:
    """``950``, ``12.3k``, ``4.1M``: a token count in at most five characters or so."""
    if n < 1000:
        return str(n)
    for div, unit in ((1_000_000_000, "G"), (1_000_000, "M"), (1000, "k")):
        if n >= div:
            value = n / div
            return f"{value:.1f}{unit}" if value < 100 else f"{value:.0f}{unit}"
    return str(n)  # pragma: no cover


def total_tokens(usage: Mapping[str, Any]) -> int:
    """Input, output and cache tokens together (what the CLI processed)."""
    return sum(v for k in TOKEN_KEYS if isinstance(v := usage.get(k), int) and not isinstance(v, bool) and v > 0)


def usage_text(usage: object) -> str:
    """``12.3k tok $0.41`` (the cost only when the CLI reported one); "" when unknown."""
    u = as_dict(usage)
    if not u:
        return ""
    text = f"{compact_count(total_tokens(u))} tok"
    cost = u.get("cost_usd")
    if isinstance(cost, int | float) and not isinstance(cost, bool):
        text += f" ${cost:.2f}"
    return text


def conflicts_text(task: Mapping[str, Any], tasks: Mapping[str, Mapping[str, Any]]) -> str:
    """``⚠ conflicts: other-task, third`` naming the tasks in ``conflicts_with``; "" when none."""
    ids = [str(i) for i in as_list(task.get("conflicts_with")) if i]
    if not ids:
        return ""
    names = [task_name(dict(tasks[i])) if i in tasks else i for i in ids]
    return "⚠ conflicts: " + ", ".join(names)
