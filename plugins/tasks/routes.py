"""REST routes of the tasks plugin (the reference manual's tables; shapes in docs/rest.md)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator
from typing import Any

import trio
from argus.kernel.errors import Invalid, NotFound
from argus.kernel.http import json_body, principal, sse, sse_message
from quart import Blueprint, Response, request

from . import gitops
from .idle import strip_ansi
from .service import TaskService

STREAM_TAIL = 64 * 1024
OUTPUT_DEFAULT = 64 * 1024
OUTPUT_MAX = 4 * 1024 * 1024
KEEPALIVE = 15.0


def _flag(name: str) -> bool:
    return request.args.get(name, "").lower() in ("1", "true", "yes")


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)  # type: ignore[arg-type]
    except ValueError:
        raise Invalid(f"{name} must be an integer") from None
    if value < lo:
        raise Invalid(f"{name} must be >= {lo}")
    return min(value, hi)


async def _multipart() -> tuple[dict[str, str], list[tuple[str, bytes]]]:
    form = await request.form
    files = await request.files
    fields = {k: form.get(k) for k in form}
    uploads = []
    for storage in files.getlist("files"):
        uploads.append((storage.filename or "", storage.read()))
    return fields, uploads  # type: ignore[return-value]


def make_blueprint(svc: TaskService) -> Blueprint:
    """Routes bound to one TaskService."""
    bp = Blueprint("tasks", __name__)

    def task_out(row: dict[str, Any]) -> dict[str, Any]:
        return svc.to_json(row)

    # -- projects --------------------------------------------------------------------------

    @bp.get("/api/projects")
    async def list_projects() -> dict[str, Any]:
        return {"projects": [p["name"] for p in svc.projects()]}

    @bp.get("/api/projects/full")
    async def list_projects_full() -> dict[str, Any]:
        return {"projects": [{**p, "default_backend": p.get("backend") or svc.default_backend()}
                             for p in svc.projects()]}

    @bp.post("/api/projects")
    async def create_project() -> tuple[dict[str, Any], int]:
        body = await json_body()
        svc.guard_sandbox(None, body, master=principal().is_master)
        return {"project": await svc.add_project(body)}, 201

    @bp.put("/api/projects/<name>")
    async def update_project(name: str) -> dict[str, Any]:
        body = await json_body()
        svc.guard_sandbox(name, body, master=principal().is_master)
        return {"project": await svc.update_project(name, body)}

    @bp.delete("/api/projects/<name>")
    async def delete_project(name: str) -> dict[str, Any]:
        svc.delete_project(name)
        return {"ok": True}

    @bp.post("/api/projects/scan")
    async def scan_projects() -> dict[str, Any]:
        body = await json_body()
        return {"repos": await svc.scan(body.get("dir"))}

    # -- backends --------------------------------------------------------------------------

    @bp.get("/api/backends")
    async def list_backends() -> dict[str, Any]:
        return {"backends": svc.backends(), "default": svc.default_backend()}

    @bp.post("/api/backends")
    async def create_backend() -> tuple[dict[str, Any], int]:
        body = await json_body()
        return {"backend": svc.save_backend(body.get("name"), body, create=True)}, 201  # type: ignore[arg-type]

    @bp.put("/api/backends/<name>")
    async def update_backend(name: str) -> dict[str, Any]:
        return {"backend": svc.save_backend(name, await json_body(), create=False)}

    @bp.delete("/api/backends/<name>")
    async def delete_backend(name: str) -> dict[str, Any]:
        svc.delete_backend(name)
        return {"ok": True}

    # -- tasks -----------------------------------------------------------------------------

    @bp.get("/api/tasks")
    async def list_tasks() -> dict[str, Any]:
        archived = request.args.get("archived", "0")
        if archived not in ("0", "1", "all"):
            raise Invalid("archived must be 0, 1 or all")
        status = request.args.get("status") or None
        if status and status not in ("pending", "in_progress", "in_review", "complete", "idle"):
            raise Invalid("unknown status filter")
        rows = svc.store.tasks(status=None if status == "idle" else status,
                               project=request.args.get("project") or None, archived=archived)
        out = [task_out(r) for r in rows]
        if status == "idle":
            out = [t for t in out if t["idle"]]
        return {"tasks": out}

    @bp.post("/api/tasks")
    async def create_task() -> tuple[dict[str, Any], int]:
        ctype = request.headers.get("Content-Type", "")
        files: list[tuple[str, bytes]] = []
        if ctype.startswith("multipart/form-data"):
            body, files = await _multipart()
        else:
            body = await json_body()
        row = await svc.create(name=body.get("name"), prompt=body.get("prompt") or "",
                               project=body.get("project"), backend=body.get("backend") or None,
                               model=body.get("model") or None, files=files,
                               base_branch=body.get("base_branch") or None,
                               plan_slug=body.get("plan_slug") or "",
                               depends_on=body.get("depends_on") if isinstance(body.get("depends_on"), list) else None)
        return {"task": task_out(row)}, 201

    @bp.get("/api/tasks/<task_id>")
    async def get_task(task_id: str) -> dict[str, Any]:
        return {"task": task_out(svc.get(task_id))}

    @bp.delete("/api/tasks/<task_id>")
    async def delete_task(task_id: str) -> dict[str, Any]:
        await svc.delete(task_id, force=_flag("force"))
        return {"ok": True}

    @bp.post("/api/tasks/<task_id>/stop")
    async def stop_task(task_id: str) -> dict[str, Any]:
        return {"task": task_out(await svc.stop(task_id))}

    @bp.post("/api/tasks/<task_id>/resume")
    async def resume_task(task_id: str) -> dict[str, Any]:
        return {"task": task_out(await svc.resume(task_id))}

    @bp.post("/api/tasks/<task_id>/restart")
    async def restart_task(task_id: str) -> dict[str, Any]:
        return {"task": task_out(await svc.restart(task_id))}

    @bp.post("/api/tasks/<task_id>/archive")
    async def archive_task(task_id: str) -> dict[str, Any]:
        return {"task": task_out(svc.set_archived(task_id, True))}

    @bp.post("/api/tasks/<task_id>/unarchive")
    async def unarchive_task(task_id: str) -> dict[str, Any]:
        return {"task": task_out(svc.set_archived(task_id, False))}

    @bp.post("/api/tasks/<task_id>/rename")
    async def rename_task(task_id: str) -> dict[str, Any]:
        return {"task": task_out(svc.rename(task_id, (await json_body()).get("name")))}

    @bp.post("/api/tasks/<task_id>/pin")
    async def pin_task(task_id: str) -> dict[str, Any]:
        body = await json_body(required=False)
        pinned = body.get("pinned")
        if pinned is not None and not isinstance(pinned, bool):
            raise Invalid("pinned must be a boolean")
        return {"task": task_out(svc.set_pinned(task_id, pinned))}

    @bp.post("/api/tasks/<task_id>/status")
    async def status_task(task_id: str) -> dict[str, Any]:
        return {"task": task_out(svc.set_status(task_id, (await json_body()).get("status")))}

    @bp.post("/api/sessions/stop-all")
    async def stop_all() -> dict[str, Any]:
        return {"stopped": await svc.stop_all()}

    @bp.post("/api/maintenance/prune-completed")
    async def prune_completed() -> dict[str, Any]:
        return await svc.prune_completed()

    @bp.post("/api/tasks/<task_id>/upload")
    async def upload(task_id: str) -> dict[str, Any]:
        if not request.headers.get("Content-Type", "").startswith("multipart/form-data"):
            raise Invalid("upload expects multipart/form-data with 'files' parts")
        _, files = await _multipart()
        return {"paths": await svc.upload(task_id, files)}

    # -- terminal --------------------------------------------------------------------------

    @bp.get("/api/tasks/<task_id>/output")
    async def output(task_id: str) -> Response:
        data = await svc.output(task_id, _int_arg("bytes", OUTPUT_DEFAULT, 0, OUTPUT_MAX))
        text = data.decode("utf-8", "replace")
        if _flag("clean"):
            text = strip_ansi(text)
        return Response(text, mimetype="text/plain; charset=utf-8")

    @bp.get("/api/tasks/<task_id>/links")
    async def links(task_id: str) -> dict[str, Any]:
        return {"links": await svc.links(task_id)}

    @bp.post("/api/tasks/<task_id>/input")
    async def send_input(task_id: str) -> dict[str, Any]:
        raw = await request.get_data()
        ctype = request.headers.get("Content-Type", "")
        if ctype.startswith("application/json"):
            try:
                body = json.loads(raw or b"{}")
            except (ValueError, RecursionError) as exc:  # bad JSON or UTF-8, too deep, too long a number
                raise Invalid(f"malformed JSON body: {exc}") from None
            if not isinstance(body, dict):
                raise Invalid("the JSON body must be an object")
            if isinstance(body.get("data"), str):
                raw = body["data"].encode()
            elif isinstance(body.get("b64"), str):
                try:
                    raw = base64.b64decode(body["b64"], validate=True)
                except (binascii.Error, ValueError):
                    raise Invalid("b64 is not valid base64") from None
            else:
                raise Invalid("JSON input needs 'data' (text) or 'b64'")
        if not raw:
            raise Invalid("no input bytes")
        if len(raw) > 1024 * 1024:
            raise Invalid("input larger than 1 MiB")
        return {"ok": True, "bytes": await svc.write_input(task_id, raw)}

    @bp.get("/api/tasks/<task_id>/size")
    async def size(task_id: str) -> dict[str, Any]:
        row = svc.get(task_id)
        session = svc.session_of(row)
        if session is None:
            return {"cols": None, "rows": None}
        return {"cols": session.cols, "rows": session.rows}

    @bp.post("/api/tasks/<task_id>/resize")
    async def resize(task_id: str) -> dict[str, Any]:
        body = await json_body()
        return await svc.resize(task_id, body.get("cols"), body.get("rows"))

    @bp.get("/api/tasks/<task_id>/stream")
    async def stream(task_id: str) -> Response:
        row = svc.get(task_id)
        raw_since = request.args.get("since")
        since: int | None = None
        if raw_since not in (None, ""):
            try:
                since = int(raw_since)  # type: ignore[arg-type]
            except ValueError:
                raise Invalid("since must be an integer byte offset") from None
            if since < 0:
                raise Invalid("since must be >= 0")
        wanted_session = request.args.get("session")
        session = svc.session_of(row)
        if session is None:
            raise NotFound("this task has no session output yet")
        if wanted_session and wanted_session != session.id:
            since = 0  # offsets of another (older) session: start the current one from the top
        if since is None:
            since = max(0, session.end_offset - STREAM_TAIL)

        async def gen() -> AsyncIterator[str]:
            yield sse_message({"session_id": session.id, "offset": since, "cols": session.cols,
                               "rows": session.rows}, event="session")
            offset = since
            while True:
                try:
                    async with session.subscribe(since=offset) as chunks:
                        iterator = chunks.__aiter__()
                        while True:
                            with trio.move_on_after(KEEPALIVE) as quiet:
                                try:
                                    chunk = await iterator.__anext__()
                                except StopAsyncIteration:
                                    chunk = None
                            if quiet.cancelled_caught:
                                yield ": keepalive\n\n"
                                continue
                            if chunk is None:
                                break
                            offset = chunk.offset + len(chunk.data)
                            yield sse_message({"offset": chunk.offset,
                                               "data": base64.b64encode(chunk.data).decode()},
                                              event="output", id=offset)
                except Exception as exc:  # lagging subscriber: resubscribe from our offset
                    if session.alive:
                        await trio.sleep(0.02)
                        _ = exc
                        continue
                if not session.alive:
                    info = session.exit
                    yield sse_message({"code": info.code if info else None,
                                       "signal": info.signal if info else None,
                                       "end_offset": offset}, event="exit")
                    return

        return sse(gen())

    # -- worktree views --------------------------------------------------------------------

    @bp.get("/api/tasks/<task_id>/git/status")
    async def git_status(task_id: str) -> dict[str, Any]:
        row = svc.get(task_id)
        return await gitops.git_status(row["worktree_path"], row["base_branch"])

    @bp.get("/api/tasks/<task_id>/git/diff")
    async def git_diff(task_id: str) -> dict[str, Any]:
        row = svc.get(task_id)
        return await gitops.git_diff(row["worktree_path"], row["base_branch"], request.args.get("path") or None)

    @bp.get("/api/tasks/<task_id>/files")
    async def files(task_id: str) -> dict[str, Any]:
        row = svc.get(task_id)
        return await gitops.list_files(row["worktree_path"], request.args.get("dir", ""))

    # -- agent hooks (authenticated by the task's hook secret, not an API token) ------------

    @bp.post("/api/agent/hook")
    async def agent_hook() -> dict[str, Any]:
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        svc.agent_hook(await json_body(), token)
        return {"ok": True}

    return bp
