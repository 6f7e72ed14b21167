"""REST routes of the tasks plugin (the reference manual's tables; shapes in docs/rest.md)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import trio
from argus.kernel.api import Invalid, NotFound, Route, principal, sse, sse_message, strip_ansi
from quart import Response, request

from . import claude_sessions as claude_sessions_of
from . import models as m
from . import worktrees
from .service import TaskService
from .terminal_ws import start_offset, terminal_handler

if TYPE_CHECKING:  # pragma: no cover
    from argus.kernel.api import Session

STREAM_TAIL = 64 * 1024
OUTPUT_MAX = 4 * 1024 * 1024
KEEPALIVE = 15.0
#: Largest output message of a task stream (queued chunks are merged up to it).
STREAM_BATCH = 256 * 1024


async def _multipart_files() -> list[tuple[str, bytes]]:
    files = await request.files
    return [(storage.filename or "", storage.read()) for storage in files.getlist("files")]


def make_routes(svc: TaskService) -> list[Route]:
    """Routes bound to one TaskService, declared with their models (see ``models.py``)."""

    def task_out(row: dict[str, Any]) -> dict[str, Any]:
        return svc.to_json(row)

    # -- projects --------------------------------------------------------------------------

    async def list_projects() -> dict[str, Any]:
        """The project names."""
        return {"projects": [p["name"] for p in svc.projects()]}

    async def list_projects_full() -> dict[str, Any]:
        """Every project with its settings and effective default backend."""
        return {"projects": [{**p, "default_backend": p.get("backend") or svc.default_backend()}
                             for p in svc.projects()]}

    async def create_project(body: m.ProjectCreate) -> dict[str, Any]:
        """Add a project (a git repository). Only the master token may give it a sandbox object."""
        data = body.model_dump(exclude_unset=True)
        svc.guard_sandbox(None, data, master=principal().is_master)
        return {"project": await svc.add_project(data)}

    async def update_project(name: str, body: m.ProjectUpdate) -> dict[str, Any]:
        """Change a project's path, branch, backend or sandbox (the sandbox: master token only)."""
        data = body.model_dump(exclude_unset=True)
        svc.guard_sandbox(name, data, master=principal().is_master)
        return {"project": await svc.update_project(name, data)}

    async def delete_project(name: str) -> dict[str, Any]:
        """Remove a project (refused while it has tasks)."""
        svc.delete_project(name)
        return {"ok": True}

    async def scan_projects(body: m.ScanBody) -> dict[str, Any]:
        """Find git repositories under a directory."""
        return {"repos": await svc.scan(body.dir)}

    # -- backends --------------------------------------------------------------------------

    async def list_backends() -> dict[str, Any]:
        """The agent CLIs tasks can run, and the default."""
        return {"backends": svc.backends(), "default": svc.default_backend()}

    async def create_backend(body: m.BackendCreate) -> dict[str, Any]:
        """Add a backend (master token)."""
        return {"backend": svc.save_backend(body.name, body.model_dump(exclude_unset=True, exclude={"name"}),
                                            create=True)}

    async def update_backend(name: str, body: m.BackendUpdate) -> dict[str, Any]:
        """Change a backend (master token)."""
        return {"backend": svc.save_backend(name, body.model_dump(exclude_unset=True), create=False)}

    async def delete_backend(name: str) -> dict[str, Any]:
        """Remove a backend (master token)."""
        svc.delete_backend(name)
        return {"ok": True}

    # -- tasks -----------------------------------------------------------------------------

    async def list_tasks(query: m.TaskListQuery) -> dict[str, Any]:
        """Tasks, filtered by status (or ``idle``), project and archived."""
        status = query.status
        rows = svc.store.tasks(status=None if status == "idle" else status, project=query.project,
                               archived=query.archived)
        out = [task_out(r) for r in rows]
        if query.hidden is not None:  # absent: every task (the UIs filter on "hidden")
            out = [t for t in out if t["hidden"] == query.hidden]
        if status == "idle":
            out = [t for t in out if t["idle"]]
        return {"tasks": out}

    async def create_task(body: m.TaskCreate) -> dict[str, Any]:
        """Create a task (its worktree and agent); multipart ``files`` land in ``.context/``.

        Plugins' create-time options (``kb_context``...) are fields of the body too."""
        files: list[tuple[str, bytes]] = []
        if request.headers.get("Content-Type", "").startswith("multipart/form-data"):
            files = await _multipart_files()
        row = await svc.create(name=body.name, prompt=body.prompt or "", project=body.project,
                               backend=body.backend or None, model=body.model or None, files=files,
                               base_branch=body.base_branch or None, plan_slug=body.plan_slug or "",
                               depends_on=body.depends_on, options=svc.options.pick(body))
        return {"task": task_out(row)}

    async def claude_sessions(task_id: str) -> dict[str, Any]:
        """The Claude conversations of the task's worktree (the agent view's ctrl+r picker)."""
        row = svc.get(task_id)
        return {"sessions": await trio.to_thread.run_sync(
            claude_sessions_of.list_sessions, row["worktree_path"], row["agent_session_id"])}

    async def claude_session_resume(task_id: str, body: m.ClaudeSessionResume) -> dict[str, Any]:
        """Restart the agent on another of the worktree's Claude conversations."""
        return {"task": task_out(await svc.switch_claude_session(task_id, body.session_id))}

    async def get_task(task_id: str) -> dict[str, Any]:
        """One task."""
        return {"task": task_out(svc.get(task_id))}

    async def delete_task(task_id: str, query: m.DeleteQuery) -> dict[str, Any]:
        """Delete a task, its worktree and branch (``force`` for a dirty worktree)."""
        await svc.delete(task_id, force=query.force)
        return {"ok": True}

    async def stop_task(task_id: str) -> dict[str, Any]:
        """Stop the agent (the task moves to in_review)."""
        return {"task": task_out(await svc.stop(task_id))}

    async def resume_task(task_id: str) -> dict[str, Any]:
        """Resume the agent's conversation in its worktree."""
        return {"task": task_out(await svc.resume(task_id))}

    async def restart_task(task_id: str) -> dict[str, Any]:
        """Start the agent afresh in its worktree."""
        return {"task": task_out(await svc.restart(task_id))}

    async def archive_task(task_id: str) -> dict[str, Any]:
        """Archive a task."""
        return {"task": task_out(svc.set_archived(task_id, True))}

    async def unarchive_task(task_id: str) -> dict[str, Any]:
        """Unarchive a task."""
        return {"task": task_out(svc.set_archived(task_id, False))}

    async def rename_task(task_id: str, body: m.RenameBody) -> dict[str, Any]:
        """Change the display name (branch and worktree keep the slug)."""
        return {"task": task_out(svc.rename(task_id, body.name))}

    async def pin_task(task_id: str, body: m.PinBody) -> dict[str, Any]:
        """Pin or unpin (toggle when ``pinned`` is omitted)."""
        return {"task": task_out(svc.set_pinned(task_id, body.pinned))}

    async def status_task(task_id: str, body: m.StatusBody) -> dict[str, Any]:
        """Set the status by hand."""
        return {"task": task_out(svc.set_status(task_id, body.status))}

    async def cancel_limit_resume(task_id: str) -> dict[str, Any]:
        """Cancel the resume planned after the agent's usage limit (404 when none is planned)."""
        return {"task": task_out(svc.limits.cancel(task_id))}

    async def stop_all() -> dict[str, Any]:
        """Stop every running agent."""
        return {"stopped": await svc.stop_all()}

    async def prune_completed() -> dict[str, Any]:
        """Delete completed tasks with clean worktrees."""
        return await svc.prune_completed()

    async def upload(task_id: str) -> dict[str, Any]:
        """Add files (multipart ``files`` parts) to the task's ``.context/``."""
        if not request.headers.get("Content-Type", "").startswith("multipart/form-data"):
            raise Invalid("upload expects multipart/form-data with 'files' parts")
        return {"paths": await svc.upload(task_id, await _multipart_files())}

    # -- terminal --------------------------------------------------------------------------

    async def output(task_id: str, query: m.OutputQuery) -> Response:
        """The last bytes of the agent's output (``clean`` strips ANSI escapes)."""
        data = await svc.output(task_id, min(query.bytes, OUTPUT_MAX))
        text = data.decode("utf-8", "replace")
        if query.clean:
            text = strip_ansi(text)
        return Response(text, mimetype="text/plain; charset=utf-8")

    async def links(task_id: str) -> dict[str, Any]:
        """URLs found in the agent's output."""
        return {"links": await svc.links(task_id)}

    async def send_input(task_id: str, body: m.InputBody | None) -> dict[str, Any]:
        """Type into the agent: raw bytes, or JSON ``{"data": text}`` / ``{"b64": ...}``."""
        if body is None:  # the defaults, spelled out so the overload types the body as bytes
            raw = await request.get_data(cache=True, as_text=False, parse_form_data=False)
        elif body.data is not None:
            raw = body.data.encode()
        elif body.b64 is not None:
            try:
                raw = base64.b64decode(body.b64, validate=True)
            except (binascii.Error, ValueError):
                raise Invalid("b64 is not valid base64") from None
        else:
            raise Invalid("JSON input needs 'data' (text) or 'b64'")
        if not raw:
            raise Invalid("no input bytes")
        if len(raw) > 1024 * 1024:
            raise Invalid("input larger than 1 MiB")
        return {"ok": True, "bytes": await svc.write_input(task_id, raw)}

    async def size(task_id: str) -> dict[str, Any]:
        """The session's terminal size."""
        row = svc.get(task_id)
        session = svc.session_of(row)
        if session is None:
            return {"cols": None, "rows": None}
        return {"cols": session.cols, "rows": session.rows}

    async def resize(task_id: str, body: m.ResizeBody) -> dict[str, Any]:
        """Resize the agent's terminal."""
        return await svc.resize(task_id, body.cols, body.rows)

    async def stream(task_id: str, query: m.StreamQuery) -> Response:
        """SSE: ``session``, then ``output`` chunks (base64, or UTF-8 text with ``encoding=text``)
        from a byte offset, then ``exit``."""
        row = svc.get(task_id)
        session = svc.session_of(row)
        if session is None:
            raise NotFound("this task has no session output yet")
        # The "session" event always carries the offset the stream really starts from.
        since = start_offset(session, query.since, query.session, STREAM_TAIL)
        return sse(_stream(session, since, query.encoding == "text"))

    # -- worktree views --------------------------------------------------------------------

    async def git_status(task_id: str) -> dict[str, Any]:
        """Changed files of the worktree against its base branch."""
        row = svc.get(task_id)
        return await worktrees.git_status(row["worktree_path"], row["base_branch"])

    async def git_diff(task_id: str, query: m.DiffQuery) -> dict[str, Any]:
        """The worktree's diff against its base branch (one ``path`` or all)."""
        row = svc.get(task_id)
        return await worktrees.git_diff(row["worktree_path"], row["base_branch"], query.path or None)

    async def files(task_id: str, query: m.FilesQuery) -> dict[str, Any]:
        """One directory of the worktree."""
        row = svc.get(task_id)
        return await worktrees.list_files(row["worktree_path"], query.dir)

    async def merge_preview(task_id: str) -> dict[str, Any]:
        """Commits ahead/behind the base branch and a conflict preview (``git merge-tree``)."""
        return await svc.merge_preview(task_id)

    async def merge_action(task_id: str, body: m.MergeBody) -> dict[str, Any]:
        """Rebase onto the base, merge into it (never with a dirty base worktree), or push + open a PR."""
        return await svc.merge_action(task_id, body.action, title=body.title, body=body.body, remote=body.remote)

    # -- agent hooks (the task's own token; answered on the MCP listener too) ---------------

    async def agent_hook(body: m.AgentHookBody) -> dict[str, Any]:
        """An agent CLI's own hook reporting (idle, busy...), with its task's token (or the master token)."""
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        caller = svc.kernel.tokens.authenticate(token)
        svc.agent_hook(body.model_dump(), caller)
        return {"ok": True}

    task = "/api/tasks/{task_id}"
    return [
        Route("GET", "/api/projects", list_projects, response=m.ProjectNames),
        Route("GET", "/api/projects/full", list_projects_full, response=m.ProjectList),
        Route("POST", "/api/projects", create_project, body=m.ProjectCreate, response=m.ProjectReply, status=201),
        Route("PUT", "/api/projects/{name}", update_project, body=m.ProjectUpdate, response=m.ProjectReply),
        Route("DELETE", "/api/projects/{name}", delete_project, response=m.OkReply),
        Route("POST", "/api/projects/scan", scan_projects, body=m.ScanBody, response=m.ScanReply),
        Route("GET", "/api/backends", list_backends, response=m.BackendList),
        Route("POST", "/api/backends", create_backend, body=m.BackendCreate, response=m.BackendReply,
              status=201, master_only=True),
        Route("PUT", "/api/backends/{name}", update_backend, body=m.BackendUpdate, response=m.BackendReply,
              master_only=True),
        Route("DELETE", "/api/backends/{name}", delete_backend, response=m.OkReply, master_only=True),
        Route("GET", "/api/tasks", list_tasks, query=m.TaskListQuery, response=m.TaskListReply),
        Route("POST", "/api/tasks", create_task, body=svc.options.extend(m.TaskCreate), response=m.TaskReply,
              status=201,
              consumes=("application/json", "multipart/form-data")),
        Route("GET", task, get_task, response=m.TaskReply),
        Route("DELETE", task, delete_task, query=m.DeleteQuery, response=m.OkReply),
        Route("POST", f"{task}/stop", stop_task, response=m.TaskReply),
        Route("POST", f"{task}/resume", resume_task, response=m.TaskReply),
        Route("POST", f"{task}/restart", restart_task, response=m.TaskReply),
        Route("POST", f"{task}/archive", archive_task, response=m.TaskReply),
        Route("POST", f"{task}/unarchive", unarchive_task, response=m.TaskReply),
        Route("POST", f"{task}/rename", rename_task, body=m.RenameBody, response=m.TaskReply),
        Route("POST", f"{task}/pin", pin_task, body=m.PinBody, body_required=False, response=m.TaskReply),
        Route("POST", f"{task}/status", status_task, body=m.StatusBody, response=m.TaskReply),
        Route("DELETE", f"{task}/limit-resume", cancel_limit_resume, response=m.TaskReply),
        Route("POST", "/api/sessions/stop-all", stop_all, response=m.StoppedReply),
        Route("POST", "/api/maintenance/prune-completed", prune_completed, response=m.PruneReply),
        Route("POST", f"{task}/upload", upload, response=m.UploadReply, consumes=("multipart/form-data",)),
        Route("GET", f"{task}/output", output, query=m.OutputQuery, produces="text/plain"),
        Route("GET", f"{task}/links", links, response=m.LinksReply),
        Route("POST", f"{task}/input", send_input, body=m.InputBody, response=m.InputReply,
              consumes=("application/json", "application/octet-stream", "text/plain")),
        Route("GET", f"{task}/size", size, response=m.SizeReply),
        Route("POST", f"{task}/resize", resize, body=m.ResizeBody, response=m.ResizeReply),
        Route("GET", f"{task}/stream", stream, query=m.StreamQuery, produces="text/event-stream"),
        Route("GET", f"{task}/terminal", terminal_handler(svc, STREAM_TAIL), query=m.StreamQuery, websocket=True),
        Route("GET", f"{task}/claude-sessions", claude_sessions, response=m.ClaudeSessionList),
        Route("POST", f"{task}/claude-sessions/resume", claude_session_resume, body=m.ClaudeSessionResume,
              response=m.TaskReply),
        Route("GET", f"{task}/git/status", git_status, response=m.GitStatusReply),
        Route("GET", f"{task}/git/diff", git_diff, query=m.DiffQuery, response=m.GitDiffReply),
        Route("GET", f"{task}/files", files, query=m.FilesQuery, response=m.FilesReply),
        Route("GET", f"{task}/merge", merge_preview, response=m.MergePreview),
        Route("POST", f"{task}/merge", merge_action, body=m.MergeBody, response=m.MergeResult),
        Route("POST", "/api/agent/hook", agent_hook, body=m.AgentHookBody, response=m.OkReply),
    ]


def _b64_message(offset: int, data: bytes) -> bytes:
    """The base64 ``output`` SSE message of a chunk: what ``sse_message`` makes of ``{"offset", "data"}``,
    written directly as bytes (base64 needs no JSON escaping and has no line breaks to split, and
    this runs for every batch of output: one copy of the payload, no str round trip)."""
    return b'id: %d\nevent: output\ndata: {"offset":%d,"data":"%s"}\n\n' % (
        offset + len(data), offset, base64.b64encode(data))


#: Bytes a JSON string must escape, and every other byte (``bytes.translate`` deletes these).
_JSON_SPECIAL = bytes(range(0x20)) + b'"\\'
_JSON_PLAIN = bytes(b for b in range(256) if b not in _JSON_SPECIAL)
_JSON_ESCAPES = {b: b"\\u%04x" % b for b in range(0x20)} | {
    0x22: b'\\"', 0x5C: b"\\\\", 0x08: b"\\b", 0x09: b"\\t", 0x0A: b"\\n", 0x0C: b"\\f", 0x0D: b"\\r"}


def _json_string(data: bytes) -> bytes:
    """``data`` (valid UTF-8) as a JSON string literal, UTF-8 encoded.

    Terminal output has few bytes to escape (line ends, ESC): one ``bytes.replace`` per distinct
    one is a fraction of ``json.dumps``'s cost; output dense with them goes through ``json.dumps``.
    """
    special = data.translate(None, _JSON_PLAIN)
    if len(special) * 16 > len(data):
        return json.dumps(data.decode("utf-8"), ensure_ascii=False).encode()
    if b"\\" in special:  # first: the other escapes add backslashes
        data = data.replace(b"\\", b"\\\\")
        special = special.replace(b"\\", b"")
    while special:  # the distinct bytes to escape, one pass each (a handful in terminal output)
        byte = special[:1]
        data = data.replace(byte, _JSON_ESCAPES[special[0]])
        special = special.replace(byte, b"")
    return b'"' + data + b'"'


#: Most runs of non-UTF-8 bytes cut out of one chunk of text output (then the rest goes as base64).
TEXT_SPLITS = 32


def _text_pieces(offset: int, data: bytes) -> list[tuple[int, bytes, bool]]:
    """``data`` cut into ``(offset, bytes, is_text)`` pieces: UTF-8 runs as text, the bytes between
    them (an incomplete character at the very end included: nothing is held back) as base64."""
    pieces: list[tuple[int, bytes, bool]] = []
    for _ in range(TEXT_SPLITS):
        try:
            if not data.isascii():
                data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start:
                pieces.append((offset, data[:exc.start], True))
            bad = data[exc.start:exc.end]
            if pieces and not pieces[-1][2]:  # next to the previous run of bad bytes: one piece
                bad = pieces.pop()[1] + bad
            pieces.append((offset + exc.end - len(bad), bad, False))
            offset, data = offset + exc.end, data[exc.end:]
            if not data:
                return pieces
            continue
        pieces.append((offset, data, True))
        return pieces
    if pieces and not pieces[-1][2]:
        last = pieces.pop()
        offset, data = last[0], last[1] + data
    pieces.append((offset, data, False))
    return pieces


def _output_message(offset: int, data: bytes, text: bool = False) -> bytes:
    """The ``output`` SSE message(s) of a chunk.

    ``text`` (``?encoding=text``): UTF-8 output travels as a JSON string ``{"offset", "text"}``,
    which costs the client a fraction of a base64 decode and a quarter fewer bytes. Bytes that
    are not UTF-8 (a character cut by the batch edge included) go as base64 ``{"offset", "data"}``
    messages between the text ones, all written at once (nothing is held back: no latency).
    """
    if not text:
        return _b64_message(offset, data)
    if data.isascii():
        pieces = [(offset, data, True)]
    else:
        pieces = _text_pieces(offset, data)
    return b"".join(
        b'id: %d\nevent: output\ndata: {"offset":%d,"text":%s}\n\n' % (at + len(piece), at, _json_string(piece))
        if is_text else _b64_message(at, piece)
        for at, piece, is_text in pieces)


async def _stream(session: Session, since: int, text: bool = False) -> AsyncIterator[bytes]:
    """The SSE messages of one session from byte offset ``since`` until it exits (``text``: see
    :func:`_output_message`)."""
    yield sse_message({"session_id": session.id, "offset": since, "cols": session.cols,
                       "rows": session.rows}, event="session").encode()
    offset = since
    while True:
        try:
            async with session.subscribe(since=offset) as chunks:
                while True:
                    with trio.move_on_after(KEEPALIVE) as quiet:
                        # chunks queued meanwhile go out as one message (a fast agent, a slow client)
                        chunk = await chunks.receive_batch(STREAM_BATCH)
                    if quiet.cancelled_caught:
                        yield b": keepalive\n\n"
                        continue
                    if chunk is None:
                        break
                    offset = chunk.offset + len(chunk.data)
                    yield _output_message(chunk.offset, chunk.data, text)
        except Exception:  # lagging subscriber: resubscribe from our offset
            if session.alive:
                await trio.sleep(0.02)
                continue
        if not session.alive:
            info = session.exit
            yield sse_message({"code": info.code if info else None, "signal": info.signal if info else None,
                               "end_offset": offset}, event="exit").encode()
            return
