"""REST mirrors of the orchestration tools: DAG, messages, clipboard, artifacts, fork and skills.

Shapes: ``GET /api/dag`` → ``{"nodes": [task], "edges": [{"child_id", "parent_id"}]}``; the
``{id}`` of the message routes is the acting task (the inbox owner, or the sender); artifacts list
as ``{"artifacts": [{"name","title","type","size"}]}``; ``GET /api/skills`` →
``{"skills": [{"name","description","source"}]}``.
"""

from __future__ import annotations

from typing import Any

from argus.kernel.api import NotFound, Route
from quart import Response

from . import models as m
from .artifacts import content_type, headers_for
from .orch import Orchestration


def make_routes(orch: Orchestration) -> list[Route]:
    """Routes bound to one Orchestration, declared with their models (see ``models.py``)."""
    svc = orch.svc

    # -- DAG -------------------------------------------------------------------------------

    async def dag(query: m.DagQuery) -> dict[str, Any]:
        """Every task and dependency edge."""
        return orch.dag.snapshot(query.archived)

    async def deps(task_id: str) -> dict[str, Any]:
        """One-hop upstream and downstream tasks."""
        return orch.dag.deps(task_id)

    async def link(task_id: str, body: m.LinkBody) -> tuple[dict[str, Any], int]:
        """Make the task wait for ``parent_id`` (201 when the edge is new)."""
        result = orch.dag.link(task_id, body.parent_id)
        return result, 201 if result["created"] else 200

    async def unlink(task_id: str, parent_id: str) -> dict[str, Any]:
        """Remove a dependency edge."""
        return orch.dag.unlink(task_id, parent_id)

    async def halt_downstream(task_id: str) -> dict[str, Any]:
        """Stop and archive every transitive descendant."""
        return await orch.dag.halt_downstream(task_id)

    async def plan_slug(task_id: str, body: m.PlanSlugBody) -> dict[str, Any]:
        """Stamp the orchestrator's grouping label."""
        return {"task": svc.to_json(orch.set_plan_slug(task_id, body.plan_slug))}

    # -- messages --------------------------------------------------------------------------

    async def inbox(task_id: str, query: m.InboxQuery) -> dict[str, Any]:
        """Messages addressed to the task, oldest first."""
        return orch.mail.inbox(svc.get(task_id), unread_only=query.unread_only, sender=query.sender,
                               since=query.since, limit=query.limit)

    async def ack(task_id: str, body: m.AckBody) -> dict[str, Any]:
        """Mark messages read."""
        return orch.mail.ack(svc.get(task_id), body.message_ids)

    async def send(task_id: str, body: m.MessageBody) -> dict[str, Any]:
        """Send a message from the task to another."""
        message = orch.mail.send(svc.get(task_id), body.to, body.body, body.kind, body.in_reply_to)
        return {"message": message}

    # -- clipboard -------------------------------------------------------------------------

    async def clipboard() -> dict[str, Any]:
        """The staged clipboard text, if any."""
        return orch.clipboard.get()

    async def clipboard_consume() -> dict[str, Any]:
        """Take the staged clipboard text (it is cleared)."""
        return orch.clipboard.consume()

    # -- artifacts -------------------------------------------------------------------------

    async def artifacts(task_id: str) -> dict[str, Any]:
        """The files the task's agent registered."""
        return {"artifacts": [{k: a[k] for k in ("name", "title", "type", "size", "created_at")}
                              for a in orch.artifacts.list(task_id)]}

    async def artifact(task_id: str, filename: str) -> Response:
        """One artifact's bytes (HTML is sandboxed by its CSP)."""
        record, data = await orch.artifacts.read(task_id, filename)
        return Response(data, status=200, content_type=content_type(record), headers=headers_for(record))

    # -- fork and skills -------------------------------------------------------------------

    async def fork(task_id: str, body: m.ForkBody) -> dict[str, Any]:
        """A new task whose .context/ holds this one's prompt, output and diff."""
        row = await orch.fork(task_id, name=body.name, prompt=body.prompt, project=body.project)
        return {"task": svc.to_json(row), "source_id": task_id}

    async def skills(query: m.SkillsQuery) -> dict[str, Any]:
        """Skills for autocomplete (``filter`` narrows by name)."""
        found = await orch.skills(query.project, query.filter)
        return {"skills": [{k: s[k] for k in ("name", "description", "source", "plugin") if k in s}
                           for s in found]}

    # -- review in place -------------------------------------------------------------------

    async def review_comments(task_id: str) -> dict[str, Any]:
        """The task's draft review comments."""
        return {"comments": orch.reviews.drafts(task_id)}

    async def review_comment_add(task_id: str, body: m.ReviewCommentBody) -> dict[str, Any]:
        """Add a draft comment on a line or range of a changed file."""
        return {"comment": orch.reviews.add(task_id, body.path, body.line, body.end_line, body.body, body.quote)}

    def comment_number(comment_id: str) -> int:
        if not comment_id.isascii() or not comment_id.isdigit() or len(comment_id) > 18:
            raise NotFound(f"no draft comment {comment_id!r}")
        return int(comment_id)

    async def review_comment_edit(task_id: str, comment_id: str, body: m.ReviewCommentEdit) -> dict[str, Any]:
        """Replace the text of a draft comment."""
        return {"comment": orch.reviews.edit(task_id, comment_number(comment_id), body.body)}

    async def review_comment_delete(task_id: str, comment_id: str) -> dict[str, Any]:
        """Delete a draft comment."""
        orch.reviews.remove(task_id, comment_number(comment_id))
        return {"ok": True}

    async def review_send(task_id: str, body: m.ReviewSendBody) -> dict[str, Any]:
        """Send the draft as one review, typed into the agent when it is idle."""
        return {"review": orch.reviews.send(task_id, body.summary)}

    async def reviews(task_id: str) -> dict[str, Any]:
        """The reviews sent to the task, newest first."""
        return {"reviews": orch.reviews.history(task_id)}

    task = "/api/tasks/{task_id}"
    return [
        Route("GET", f"{task}/review/comments", review_comments, response=m.ReviewCommentList),
        Route("POST", f"{task}/review/comments", review_comment_add, body=m.ReviewCommentBody,
              response=m.ReviewCommentReply, status=201),
        Route("PUT", f"{task}/review/comments/{{comment_id}}", review_comment_edit, body=m.ReviewCommentEdit,
              response=m.ReviewCommentReply),
        Route("DELETE", f"{task}/review/comments/{{comment_id}}", review_comment_delete, response=m.OkReply),
        Route("POST", f"{task}/review", review_send, body=m.ReviewSendBody, body_required=False,
              response=m.ReviewReply, status=201),
        Route("GET", f"{task}/reviews", reviews, response=m.ReviewList),
        Route("GET", "/api/dag", dag, query=m.DagQuery, response=m.DagReply),
        Route("GET", f"{task}/deps", deps, response=m.DepsReply),
        Route("POST", f"{task}/deps", link, body=m.LinkBody, response=m.EdgeLinked, status=201),
        Route("DELETE", f"{task}/deps/{{parent_id}}", unlink, response=m.EdgeUnlinked),
        Route("POST", f"{task}/halt-downstream", halt_downstream, response=m.HaltReply),
        Route("POST", f"{task}/plan-slug", plan_slug, body=m.PlanSlugBody, response=m.TaskReply),
        Route("GET", f"{task}/inbox", inbox, query=m.InboxQuery, response=m.InboxReply),
        Route("POST", f"{task}/inbox/ack", ack, body=m.AckBody, response=m.AckReply),
        Route("POST", f"{task}/messages", send, body=m.MessageBody, response=m.MessageReply, status=201),
        Route("GET", "/api/clipboard", clipboard, response=m.ClipboardText),
        Route("POST", "/api/clipboard/consume", clipboard_consume, response=m.ClipboardText),
        Route("GET", f"{task}/artifacts", artifacts, response=m.ArtifactList),
        Route("GET", f"{task}/artifacts/{{filename:path}}", artifact, produces="application/octet-stream"),
        Route("POST", f"{task}/fork", fork, body=m.ForkBody, body_required=False, response=m.ForkReply,
              status=201),
        Route("GET", "/api/skills", skills, query=m.SkillsQuery, response=m.SkillList),
    ]
