"""Review in place from the agent view's diff: comment on the line (or range) under the cursor,
then send the draft review, which the daemon types into the agent as one message once it is idle.

Keys (diff focused, unified mode): ``c`` comment, ``v`` start/drop a range, ``R`` send the review.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .client import ApiError, task_path
from .forms import Form, FormField
from .state import as_dict, as_list

if TYPE_CHECKING:  # pragma: no cover
    from .agentview import AgentView
    from .host import UiHost


def comment(tui: UiHost, agent: AgentView) -> None:
    """``c``: a form for a comment on the selected lines, added to the task's draft review."""
    diff = agent.diff
    task_id = agent.task_id
    picked = diff.selection()
    if task_id is None or picked is None:
        tui.set_status("move the cursor to a changed line of one file (unified view) to comment", error=True)
        return
    path, line, end_line, quote = picked
    label = f"{path}:{line}" + (f"-{end_line}" if end_line != line else "")

    async def submit(values: dict[str, Any]) -> None:
        body = str(values.get("body") or "").strip()
        if not body:
            raise ValueError("write a comment")
        await tui.client.post(task_path(task_id, "/review/comments"),
                              {"path": path, "line": line, "end_line": end_line, "body": body, "quote": quote})
        diff.mark = None
        drafts = as_list(as_dict(await tui.client.get(task_path(task_id, "/review/comments"))).get("comments"))
        tui.set_status(f"comment on {label} added · {len(drafts)} in the draft review (R sends it)")

    tui.open_modal(Form(f"Comment on {label}", [FormField("body", "Comment", type="text")], submit,
                        on_close=tui.close_modal, run=tui.spawn))


def send(tui: UiHost, agent: AgentView) -> None:
    """``R``: confirm and send the draft review (with an optional overall note)."""
    task_id = agent.task_id
    if task_id is None:
        return

    async def open_form() -> None:
        try:
            drafts = as_list(as_dict(await tui.client.get(task_path(task_id, "/review/comments"))).get("comments"))
        except ApiError as exc:
            tui.set_status(str(exc), error=True)
            return
        if not drafts:
            tui.set_status("the draft review is empty: c comments on the line under the cursor", error=True)
            return

        async def submit(values: dict[str, Any]) -> None:
            out = as_dict(await tui.client.post(task_path(task_id, "/review"),
                                                {"summary": str(values.get("summary") or "")}))
            review = as_dict(out.get("review"))
            tui.set_status("review sent" if review.get("delivered") else
                           "review sent: typed into the agent once it is idle")

        count = len(drafts)
        tui.open_modal(Form(f"Send review ({count} comment{'s' if count != 1 else ''})",
                            [FormField("summary", "Note", type="text", help="optional: typed before the comments")],
                            submit, on_close=tui.close_modal, run=tui.spawn))

    tui.spawn(open_form(), name="review")
