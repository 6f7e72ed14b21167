"""Review in place from the agent view's diff: comment on the line (or range) under the cursor,
edit or delete a draft comment shown inline, then send the draft review, which the daemon types
into the agent as one message once it is idle.

Keys (diff focused, unified or split): ``c`` comment, ``v`` start/drop a range, ``e`` edit and
``x``/``d`` delete the comment under the cursor (``e`` elsewhere opens ``$EDITOR``), ``R`` send
the review. The diff shows the draft comments under their lines, the outdated ones at the top of
their file, and the sent reviews (the task's review history) above the diff.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prompt_toolkit.filters import Condition, Filter

from .client import ApiError, task_path
from .diffview import comment_label
from .forms import Form, FormField
from .state import as_dict, as_list

if TYPE_CHECKING:  # pragma: no cover
    from .app import ArgusTui

HINTS = ("j/k move · c comment · v range · e edit / x delete a comment · R send review · s split/unified · "
         "e editor · Esc terminal · ctrl+q files")


def bind_keys(bind: Callable[..., Any], on_diff: Filter, tui: ArgusTui) -> None:
    """Bind the review keys of the diff (called after the panes' own keys: ``e`` on a comment wins)."""
    diff = tui.agent.diff
    on_comment = on_diff & Condition(lambda: diff.comment_at_cursor() is not None)
    bind("c", filter=on_diff)(lambda: comment(tui))
    bind("v", filter=on_diff)(diff.toggle_mark)
    bind("R", filter=on_diff)(lambda: send(tui))
    bind("x", filter=on_diff)(lambda: delete(tui))
    bind("d", filter=on_diff)(lambda: delete(tui))
    bind("e", filter=on_comment)(lambda: edit(tui))


async def refresh(tui: ArgusTui) -> None:
    """Load the task's draft comments and sent reviews into the diff."""
    task_id = tui.agent.task_id
    if task_id is None:
        return
    try:
        drafts = as_list(as_dict(await tui.client.get(task_path(task_id, "/review/comments"))).get("comments"))
        reviews = as_list(as_dict(await tui.client.get(task_path(task_id, "/reviews"))).get("reviews"))
    except ApiError as exc:
        tui.set_status(f"review: {exc}", error=True)
        return
    if tui.agent.task_id == task_id:
        tui.agent.diff.set_review(drafts, reviews)
        tui.invalidate()


def comment(tui: ArgusTui) -> None:
    """``c``: a form for a comment on the selected lines, added to the task's draft review."""
    diff = tui.agent.diff
    task_id = tui.agent.task_id
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
        await refresh(tui)
        tui.set_status(f"comment on {label} added · {len(diff.comments)} in the draft review (R sends it)")

    tui.open_modal(Form(f"Comment on {label}", [FormField("body", "Comment", type="text")], submit,
                        on_close=tui.close_modal, run=tui.spawn))


def edit(tui: ArgusTui) -> None:
    """``e`` on a comment: change its text."""
    task_id = tui.agent.task_id
    target = tui.agent.diff.comment_at_cursor()
    if task_id is None or target is None:
        return
    label = comment_label(target)

    async def submit(values: dict[str, Any]) -> None:
        body = str(values.get("body") or "").strip()
        if not body:
            raise ValueError("write a comment (x deletes it)")
        await tui.client.put(task_path(task_id, f"/review/comments/{target.get('id')}"), {"body": body})
        await refresh(tui)
        tui.set_status(f"comment on {label} edited")

    tui.open_modal(Form(f"Edit comment on {label}",
                        [FormField("body", "Comment", type="text", value=str(target.get("body") or ""))],
                        submit, on_close=tui.close_modal, run=tui.spawn))


def delete(tui: ArgusTui) -> None:
    """``x`` / ``d`` on a comment: delete it from the draft review."""
    task_id = tui.agent.task_id
    target = tui.agent.diff.comment_at_cursor()
    if task_id is None or target is None:
        tui.set_status("move the cursor onto a draft comment to delete it", error=True)
        return

    async def go() -> None:
        try:
            await tui.client.delete(task_path(task_id, f"/review/comments/{target.get('id')}"))
        except ApiError as exc:
            tui.set_status(f"delete: {exc}", error=True)
            return
        await refresh(tui)
        tui.set_status(f"comment on {comment_label(target)} deleted · {len(tui.agent.diff.comments)} left in "
                       "the draft review")

    tui.spawn(go(), name="review-delete")


def send(tui: ArgusTui) -> None:
    """``R``: confirm and send the draft review (with an optional overall note)."""
    task_id = tui.agent.task_id
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
            await refresh(tui)
            tui.set_status("review sent" if review.get("delivered") else
                           "review sent: typed into the agent once it is idle")

        count = len(drafts)
        tui.open_modal(Form(f"Send review ({count} comment{'s' if count != 1 else ''})",
                            [FormField("summary", "Note", type="text", help="optional: typed before the comments")],
                            submit, on_close=tui.close_modal, run=tui.spawn))

    tui.spawn(open_form(), name="review")


def on_event(tui: ArgusTui, etype: str) -> None:
    """A ``review.*`` event of the viewed task: reload the comments while the diff is open."""
    if etype.startswith("review.") and tui.agent.focus == "diff":
        tui.spawn(refresh(tui), name="review-refresh")
