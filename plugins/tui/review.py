"""Review in place from the agent view's diff: comment on the line (or range) under the cursor,
edit or delete a draft comment shown inline, then send the draft review, which the daemon types
into the agent as one message once it is idle.

Keys (diff focused, unified or split): ``c`` comment, ``v`` start/drop a range, ``e`` edit and
``x``/``d`` delete the comment under the cursor (``e`` elsewhere opens ``$EDITOR``), ``R`` send
the review. The diff shows the draft comments under their lines, the outdated ones at the top of
their file, and the sent reviews (the task's review history) above the diff.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .client import ApiError, task_path
from .diffview import comment_label
from .forms import Form, FormField
from .state import as_dict, as_list

if TYPE_CHECKING:  # pragma: no cover
    from .agentview import AgentView
    from .host import UiHost


async def refresh(tui: UiHost, agent: AgentView) -> None:
    """Load the task's draft comments and sent reviews into the diff."""
    task_id = agent.task_id
    if task_id is None:
        return
    try:
        drafts = as_list(as_dict(await tui.client.get(task_path(task_id, "/review/comments"))).get("comments"))
        reviews = as_list(as_dict(await tui.client.get(task_path(task_id, "/reviews"))).get("reviews"))
    except ApiError as exc:
        if exc.status != 404:  # 404: a daemon without review in place (or the task is gone): no comments
            tui.set_status(f"review: {exc}", error=True)
        return
    if agent.task_id == task_id:
        agent.diff.set_review(drafts, reviews)
        tui.invalidate()


def comment(tui: UiHost, agent: AgentView) -> None:
    """``c``: a form for a comment on the selected lines, added to the task's draft review."""
    diff = agent.diff
    task_id = agent.task_id
    picked = diff.selection()
    if task_id is None or picked is None:
        tui.set_status("move the cursor to a changed line of one file to comment", error=True)
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
        await refresh(tui, agent)
        tui.set_status(f"comment on {label} added · {len(diff.comments)} in the draft review (R sends it)")

    tui.open_modal(Form(f"Comment on {label}", [FormField("body", "Comment", type="text")], submit,
                        on_close=tui.close_modal, run=tui.spawn))


def edit(tui: UiHost, agent: AgentView) -> None:
    """``e`` on a comment: change its text."""
    task_id = agent.task_id
    target = agent.diff.comment_at_cursor()
    if task_id is None or target is None:
        return
    label = comment_label(target)

    async def submit(values: dict[str, Any]) -> None:
        body = str(values.get("body") or "").strip()
        if not body:
            raise ValueError("write a comment (x deletes it)")
        await tui.client.put(task_path(task_id, f"/review/comments/{target.get('id')}"), {"body": body})
        await refresh(tui, agent)
        tui.set_status(f"comment on {label} edited")

    tui.open_modal(Form(f"Edit comment on {label}",
                        [FormField("body", "Comment", type="text", value=str(target.get("body") or ""))],
                        submit, on_close=tui.close_modal, run=tui.spawn))


def delete(tui: UiHost, agent: AgentView) -> None:
    """``x`` / ``d`` on a comment: delete it from the draft review."""
    task_id = agent.task_id
    target = agent.diff.comment_at_cursor()
    if task_id is None or target is None:
        tui.set_status("move the cursor onto a draft comment to delete it", error=True)
        return

    async def go() -> None:
        try:
            await tui.client.delete(task_path(task_id, f"/review/comments/{target.get('id')}"))
        except ApiError as exc:
            tui.set_status(f"delete: {exc}", error=True)
            return
        await refresh(tui, agent)
        tui.set_status(f"comment on {comment_label(target)} deleted · {len(agent.diff.comments)} left in "
                       "the draft review")

    tui.spawn(go(), name="review-delete")


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
            await refresh(tui, agent)
            tui.set_status("review sent" if review.get("delivered") else
                           "review sent: typed into the agent once it is idle")

        count = len(drafts)
        tui.open_modal(Form(f"Send review ({count} comment{'s' if count != 1 else ''})",
                            [FormField("summary", "Note", type="text", help="optional: typed before the comments")],
                            submit, on_close=tui.close_modal, run=tui.spawn))

    tui.spawn(open_form(), name="review")


def on_event(tui: UiHost, agent: AgentView, etype: str) -> None:
    """A ``review.*`` event of the viewed task: reload the comments while the diff is open."""
    if etype.startswith("review.") and agent.focus == "diff":
        tui.spawn(refresh(tui, agent), name="review-refresh")
