"""A stand-in daemon for the TUI tests: canned JSON, real SSE, a scripted echo agent.

Run as ``python -m tests.tui.stubserver --fd N --uds PATH --token T``. It speaks the REST shapes
of docs/rest.md on a real socket (a pre-bound TCP fd and/or a unix socket) so the TUI's client
is exercised end to end. ``/_stub/*`` routes let a test inspect the calls it received, publish
events, revoke the token, stage a clipboard payload or make an agent flood its terminal.
"""

from __future__ import annotations

import argparse
import base64
import json
import time
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from quart import Response, request
from quart_trio import QuartTrio

app = QuartTrio(__name__)
TOKEN = {"value": "stub-token", "revoked": False}
CALLS: list[dict[str, Any]] = []
EVENTS: list[dict[str, Any]] = []
EVENT_SUBS: list[trio.MemorySendChannel] = []
SESSIONS: dict[str, Session] = {}
STATE: dict[str, Any] = {}
NURSERY: dict[str, trio.Nursery] = {}


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def reset_state() -> None:
    STATE.clear()
    STATE.update({
        "tasks": {},
        "projects": [{"name": "web", "path": "/tmp/web", "branch": "main", "backend": "demo", "sandbox": None}],
        "backends": [{"name": "demo", "command": "fakeagent", "prompt_flag": "", "model": "", "default": True},
                     {"name": "claude", "command": "claude", "prompt_flag": "", "model": "", "default": False}],
        "settings": {"ui": {"spinner_style": "braille", "default_agent_zoom": True, "show_elapsed": True,
                            "show_icons": True},
                     "api": {"enabled": False, "http_port": 7743},
                     "defaults": {"backend": "demo"}},
        "schema": [
            {"name": "ui", "title": "Appearance", "master_only": False, "fields": [
                {"key": "spinner_style", "type": "enum", "default": "progress", "label": "Spinner",
                 "help": "", "choices": ["progress", "dots", "braille", "classic"]},
                {"key": "default_agent_zoom", "type": "bool", "default": True, "label": "Default agent view zoomed",
                 "help": ""},
                {"key": "show_elapsed", "type": "bool", "default": True, "label": "Show elapsed", "help": ""},
                {"key": "show_icons", "type": "bool", "default": True, "label": "Show icons", "help": ""}]},
            {"name": "api", "title": "Remote API", "master_only": False, "fields": [
                {"key": "enabled", "type": "bool", "default": False, "label": "Enabled", "help": ""},
                {"key": "http_port", "type": "int", "default": 7743, "label": "Port", "help": ""}]},
        ],
        "skills": [{"name": "review", "description": "review the diff", "source": "user"},
                   {"name": "release-notes", "description": "write notes", "source": "project"}],
        "views": [],
        "sections": [{"scope": "hera", "title": "Hera options", "type": "form", "callback_url": "http://x",
                      "fields": [{"key": "verbose", "type": "bool", "default": False, "label": "Verbose"},
                                 {"key": "level", "type": "enum", "default": "low", "choices": ["low", "high"]}]}],
        "clipboard": None,
        "edges": [],
        "seq": 0,
        "fail": {},
        # POST /api/tasks/<id>/resize: answers "rerendered" as set, once "resize_hold" is false
        "resize_rerendered": False,
        "resize_hold": False,
    })


class Session:
    """A fake agent: echoes input, keeps a log with absolute offsets, can flood."""

    def __init__(self, task_id: str, banner: bytes) -> None:
        self.task_id = task_id
        self.log = bytearray()
        self.subs: list[trio.MemorySendChannel] = []
        self.line = ""
        self.size = (80, 24)
        self.exit_code: int | None = None
        self.write(banner)

    def write(self, data: bytes) -> None:
        start = len(self.log)
        self.log += data
        for s in list(self.subs):
            try:
                s.send_nowait((start, bytes(data)))
            except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
                self.subs.remove(s)

    def input(self, data: bytes) -> None:
        out = bytearray()
        for b in data:
            if b == 13:
                out += b"\r\n"
                if self.line == "exit":
                    self.write(bytes(out) + b"bye\r\n")
                    self.exit(0)
                    return
                out += f"you said: {self.line}\r\n> ".encode()
                self.line = ""
            elif b == 127:
                if self.line:
                    self.line = self.line[:-1]
                    out += b"\b \b"
            elif b == 27:
                out += b"<ESC>"
            elif b < 32:
                out += f"<^{chr(b + 64)}>".encode()
            else:
                self.line += chr(b)
                out.append(b)
        self.write(bytes(out))

    def exit(self, code: int) -> None:
        self.exit_code = code
        for s in list(self.subs):
            try:
                s.send_nowait(("exit", code))
            except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
                pass
        task = STATE["tasks"].get(self.task_id)
        if task:
            task.update(running=False, exit_code=code, idle=True)
            publish("task.updated", {"task": task})


def publish(etype: str, data: dict[str, Any]) -> None:
    STATE["seq"] += 1
    ev = {"id": STATE["seq"], "type": etype, "ts": now(), "data": data}
    EVENTS.append(ev)
    del EVENTS[:-500]
    for s in list(EVENT_SUBS):
        try:
            s.send_nowait(ev)
        except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
            EVENT_SUBS.remove(s)


def make_task(body: dict[str, Any], **extra: Any) -> dict[str, Any]:
    n = len(STATE["tasks"]) + 1
    tid = f"t_{n:04d}"
    name = body.get("name") or (body.get("prompt") or f"task-{n}").split()[0][:20] + f"-{n}"
    t = {"id": tid, "name": name, "slug": name, "project": body.get("project", "web"),
         "backend": body.get("backend") or "demo", "model": body.get("model", ""), "prompt": body.get("prompt", ""),
         "status": "in_progress", "archived": False, "pinned": False, "idle": False,
         "worktree_path": f"/tmp/worktrees/{name}", "branch": f"argus/{name}", "base_branch": "main",
         "session_id": f"s_{tid}", "running": True, "exit_code": None, "plan_slug": "", "result": None,
         "created_at": now(), "started_at": now(), "ended_at": None, "updated_at": now()}
    t.update(extra)
    if isinstance(body.get("sandbox"), dict):  # the sandbox plugin's Task JSON field
        t["sandbox"] = body["sandbox"]
    STATE["tasks"][tid] = t
    SESSIONS[tid] = Session(tid, f"fake agent for {name}\r\n> ".encode())
    return t


def authed() -> bool:
    if TOKEN["revoked"]:
        return False
    auth = request.headers.get("Authorization", "")
    tok = auth[7:] if auth.startswith("Bearer ") else request.args.get("token", "")
    return tok == TOKEN["value"]


@app.before_request
async def _auth() -> Any:
    path = request.path
    if path.startswith("/_stub"):
        return None
    body: Any = None
    if request.method in ("POST", "PUT"):
        raw = await request.get_data()
        ctype = request.headers.get("Content-Type", "")
        if "json" in ctype:
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
        else:
            body = {"raw_b64": base64.b64encode(raw).decode()}
    CALLS.append({"method": request.method, "path": path, "args": dict(request.args), "body": body})
    if not authed():
        return {"error": "unknown or revoked token"}, 401
    fail = STATE["fail"].get(f"{request.method} {path}")
    if fail:
        return {"error": fail[1]}, fail[0]
    return None


def task_or_404(tid: str) -> dict[str, Any] | tuple[dict[str, Any], int]:
    t = STATE["tasks"].get(tid)
    return t if t else ({"error": f"no task {tid}"}, 404)


@app.get("/api/status")
async def status() -> Any:
    tasks = STATE["tasks"].values()
    counts = {s: sum(1 for t in tasks if t["status"] == s) for s in ("pending", "in_progress", "in_review", "complete")}
    return {"sessions": {"running": sum(1 for t in tasks if t.get("running")), "idle": 0}, "tasks": counts,
            "version": "0.1.0-stub", "supervisor": {"enabled": True, "running": True}}


@app.get("/api/tasks")
async def list_tasks() -> Any:
    archived = request.args.get("archived")
    tasks = [t for t in STATE["tasks"].values() if archived in ("1", "all") or not t["archived"]]
    return {"tasks": tasks}


@app.post("/api/tasks")
async def create_task() -> Any:
    body = await request.get_json()
    if not body.get("prompt") or not body.get("project"):
        return {"error": "prompt and project are required"}, 400
    t = make_task(body)
    publish("task.created", {"task": t})
    return {"task": t}, 201


@app.get("/api/tasks/<tid>")
async def get_task(tid: str) -> Any:
    t = task_or_404(tid)
    return t if isinstance(t, tuple) else {"task": t}


@app.delete("/api/tasks/<tid>")
async def delete_task(tid: str) -> Any:
    if STATE["tasks"].pop(tid, None) is None:
        return {"error": "no such task"}, 404
    publish("task.deleted", {"id": tid})
    return {"ok": True}


def _update(tid: str, **changes: Any) -> Any:
    t = STATE["tasks"].get(tid)
    if not t:
        return {"error": "no such task"}, 404
    t.update(changes, updated_at=now())
    publish("task.updated", {"task": t})
    return {"task": t}


@app.post("/api/tasks/<tid>/archive")
async def archive(tid: str) -> Any:
    return _update(tid, archived=True)


@app.post("/api/tasks/<tid>/unarchive")
async def unarchive(tid: str) -> Any:
    return _update(tid, archived=False)


@app.post("/api/tasks/<tid>/pin")
async def pin(tid: str) -> Any:
    body = await request.get_json()
    return _update(tid, pinned=bool(body.get("pinned")))


@app.post("/api/tasks/<tid>/rename")
async def rename(tid: str) -> Any:
    body = await request.get_json()
    return _update(tid, name=body["name"])


@app.post("/api/tasks/<tid>/status")
async def set_status(tid: str) -> Any:
    body = await request.get_json()
    return _update(tid, status=body["status"])


@app.post("/api/tasks/<tid>/restart")
async def restart(tid: str) -> Any:
    sess = SESSIONS.get(tid)
    if sess:
        sess.exit_code = None
        sess.write(b"\r\n[restarted]\r\n> ")
    return _update(tid, running=True, exit_code=None, idle=False)


@app.post("/api/tasks/<tid>/fork")
async def fork(tid: str) -> Any:
    src = STATE["tasks"].get(tid)
    if not src:
        return {"error": "no such task"}, 404
    body = await request.get_json()
    t = make_task({"project": src["project"], "prompt": src["prompt"], "name": body.get("name")})
    publish("task.created", {"task": t})
    return {"task": t}, 201


@app.post("/api/maintenance/prune-completed")
async def prune() -> Any:
    gone = [tid for tid, t in STATE["tasks"].items() if t["status"] == "complete"]
    for tid in gone:
        del STATE["tasks"][tid]
        publish("task.deleted", {"id": tid})
    return {"deleted": len(gone)}


@app.post("/api/tasks/<tid>/input")
async def task_input(tid: str) -> Any:
    sess = SESSIONS.get(tid)
    if not sess:
        return {"error": "no session"}, 404
    data = await request.get_data()
    if "json" in request.headers.get("Content-Type", ""):
        body = json.loads(data)
        data = body["data"].encode() if "data" in body else base64.b64decode(body["b64"])
    sess.input(data)
    return {"ok": True, "bytes": len(data)}


@app.get("/api/tasks/<tid>/output")
async def task_output(tid: str) -> Any:
    sess = SESSIONS.get(tid)
    if not sess:
        return {"error": "no session"}, 404
    n = int(request.args.get("bytes", 65536))
    return Response(bytes(sess.log[-n:]), mimetype="text/plain")


@app.get("/api/tasks/<tid>/stream")
async def task_stream(tid: str) -> Any:
    sess = SESSIONS.get(tid)
    if not sess:
        return {"error": "no session"}, 404
    since = request.args.get("since")
    start = int(since) if since is not None else max(0, len(sess.log) - 65536)
    send, recv = trio.open_memory_channel(100000)
    backlog = bytes(sess.log[start:])
    sess.subs.append(send)

    async def gen() -> Any:
        try:
            if backlog:
                yield _output_event(start, backlog)
            if sess.exit_code is not None and not sess.subs:
                pass
            async for item in recv:
                if item[0] == "exit":
                    info = {"code": item[1], "signal": None, "end_offset": len(sess.log)}
                    yield f"event: exit\ndata: {json.dumps(info)}\n\n".encode()
                    return
                yield _output_event(*item)
        finally:
            if send in sess.subs:
                sess.subs.remove(send)

    resp = Response(gen(), mimetype="text/event-stream")
    resp.timeout = None
    return resp


def _output_event(start: int, data: bytes) -> bytes:
    payload = json.dumps({"offset": start, "data": base64.b64encode(data).decode()})
    return f"event: output\nid: {start + len(data)}\ndata: {payload}\n\n".encode()


@app.get("/api/tasks/<tid>/size")
async def size(tid: str) -> Any:
    sess = SESSIONS.get(tid)
    return {"cols": sess.size[0], "rows": sess.size[1]} if sess else ({"error": "no"}, 404)


@app.post("/api/tasks/<tid>/resize")
async def resize(tid: str) -> Any:
    body = await request.get_json()
    sess = SESSIONS.get(tid)
    if sess:
        sess.size = (int(body["cols"]), int(body["rows"]))
    while STATE["resize_hold"]:  # a re-render takes a while: the test says when it is over
        await trio.sleep(0.02)
    return {"cols": body["cols"], "rows": body["rows"], "rerendered": bool(STATE["resize_rerendered"])}


@app.get("/api/tasks/<tid>/links")
async def links(tid: str) -> Any:
    return {"links": [{"label": "docs", "url": "https://example.invalid/docs"},
                      {"label": "pr", "url": "https://example.invalid/pr/1"}]}


@app.get("/api/tasks/<tid>/git/status")
async def git_status(tid: str) -> Any:
    return {"branch": "argus/x", "base_branch": "main", "status": " M app.py\n?? new.txt\n",
            "files": [{"path": "app.py", "status": "M"}, {"path": "new.txt", "status": "??"}],
            "diff_stat": " app.py | 2 +-", "ahead": 1}


@app.get("/api/tasks/<tid>/git/diff")
async def git_diff(tid: str) -> Any:
    path = request.args.get("path")
    diff = ("diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1,3 +1,3 @@\n import os\n"
            "-print('old')\n+print('new')\n x = 1\n")
    return {"path": path, "diff": diff}


@app.get("/api/tasks/<tid>/files")
async def files(tid: str) -> Any:
    d = request.args.get("dir", "")
    if d:
        return {"dir": d, "entries": [{"name": "inner.py", "path": f"{d}/inner.py", "type": "file", "size": 3}]}
    return {"dir": "", "entries": [{"name": "src", "path": "src", "type": "dir", "size": 0},
                                   {"name": "app.py", "path": "app.py", "type": "file", "size": 40}]}


@app.get("/api/projects")
async def projects() -> Any:
    return {"projects": [p["name"] for p in STATE["projects"]]}


@app.get("/api/projects/full")
async def projects_full() -> Any:
    return {"projects": STATE["projects"]}


@app.post("/api/projects")
async def add_project() -> Any:
    body = await request.get_json()
    if any(p["name"] == body.get("name") for p in STATE["projects"]):
        return {"error": "project exists"}, 409
    STATE["projects"].append({"name": body["name"], "path": body["path"], "branch": body.get("branch", ""),
                              "backend": body.get("backend", ""), "sandbox": body.get("sandbox")})
    publish("project.created", {"name": body["name"]})
    return {"project": STATE["projects"][-1]}, 201


@app.put("/api/projects/<name>")
async def put_project(name: str) -> Any:
    body = await request.get_json()
    for p in STATE["projects"]:
        if p["name"] == name:
            p.update(body)
            publish("project.updated", {"name": name})
            return {"project": p}
    return {"error": "no such project"}, 404


@app.delete("/api/projects/<name>")
async def del_project(name: str) -> Any:
    STATE["projects"] = [p for p in STATE["projects"] if p["name"] != name]
    publish("project.deleted", {"name": name})
    return {"ok": True}


@app.get("/api/backends")
async def backends() -> Any:
    return {"backends": STATE["backends"]}


@app.post("/api/backends")
async def add_backend() -> Any:
    body = await request.get_json()
    STATE["backends"].append({"name": body["name"], "command": body["command"],
                              "prompt_flag": body.get("prompt_flag", ""), "model": body.get("model", ""),
                              "default": False})
    publish("backend.created", {"name": body["name"]})
    return {"backend": STATE["backends"][-1]}, 201


@app.put("/api/backends/<name>")
async def put_backend(name: str) -> Any:
    body = await request.get_json()
    for b in STATE["backends"]:
        if b["name"] == name:
            b.update(body)
            publish("backend.updated", {"name": name})
            return {"backend": b}
    return {"error": "no such backend"}, 404


@app.get("/api/skills")
async def skills() -> Any:
    return {"skills": STATE["skills"]}


@app.get("/api/settings")
async def get_settings() -> Any:
    return {"sections": STATE["settings"], "schema": STATE["schema"], **STATE["settings"]}


@app.put("/api/settings")
async def put_settings() -> Any:
    body = await request.get_json()
    for sec, vals in body.items():
        STATE["settings"].setdefault(sec, {}).update(vals)
        if sec == "defaults" and "backend" in vals:
            for b in STATE["backends"]:
                b["default"] = b["name"] == vals["backend"]
    publish("settings.updated", {})
    return {"sections": STATE["settings"], "schema": STATE["schema"]}


@app.get("/api/plugins/views")
async def views() -> Any:
    return {"views": STATE["views"]}


@app.get("/api/plugins/settings/sections")
async def sections() -> Any:
    return {"sections": STATE["sections"]}


@app.post("/api/plugins/settings/sections/<scope>/<title>/submit")
async def submit_section(scope: str, title: str) -> Any:
    return {"ok": True}


@app.get("/api/tasks/<tid>/merge")
async def merge_preview(tid: str) -> Any:
    return {"base": "main", "branch": f"argus/{tid}", "ahead": 2, "behind": 1, "commits": [],
            "conflicts": ["app.py"], "fast_forward": False, "base_worktree": "/tmp/web", "base_dirty": False,
            "worktree_dirty": False, "gh": False}


@app.post("/api/tasks/<tid>/merge")
async def merge_action(tid: str) -> Any:
    return {"action": "merge", "fast_forward": False, "head": "abc"}


@app.get("/api/clipboard")
async def clipboard() -> Any:
    if not STATE["clipboard"]:
        return {"error": "nothing staged"}, 404
    return STATE["clipboard"]


@app.post("/api/clipboard/consume")
async def consume() -> Any:
    STATE["clipboard"] = None
    return {"ok": True}


@app.get("/api/dag")
async def dag() -> Any:
    return {"nodes": list(STATE["tasks"].values()), "edges": STATE["edges"]}


@app.get("/api/events/stream")
async def events() -> Any:
    since = request.args.get("since")
    send, recv = trio.open_memory_channel(10000)
    backlog = [e for e in EVENTS if since is not None and e["id"] > int(since)]
    if since is not None and EVENTS and int(since) < EVENTS[0]["id"] - 1:
        backlog = [{"id": STATE["seq"], "type": "resync", "ts": now(), "data": {}}]
    EVENT_SUBS.append(send)

    async def gen() -> Any:
        try:
            yield b": hello\n\n"
            for e in backlog:
                yield _event(e)
            async for e in recv:
                yield _event(e)
        finally:
            if send in EVENT_SUBS:
                EVENT_SUBS.remove(send)

    resp = Response(gen(), mimetype="text/event-stream")
    resp.timeout = None
    return resp


def _event(e: dict[str, Any]) -> bytes:
    return f"id: {e['id']}\nevent: {e['type']}\ndata: {json.dumps(e)}\n\n".encode()


# ---- test controls -------------------------------------------------------------------------

@app.get("/_stub/calls")
async def stub_calls() -> Any:
    return {"calls": CALLS}


@app.post("/_stub/reset")
async def stub_reset() -> Any:
    CALLS.clear()
    return {"ok": True}


@app.post("/_stub/task")
async def stub_task() -> Any:
    body = await request.get_json()
    extra = body.pop("extra", {})
    t = make_task(body, **extra)
    publish("task.created", {"task": t})
    return {"task": t}


@app.post("/_stub/state")
async def stub_state() -> Any:
    body = await request.get_json()
    STATE.update(body)
    return {"ok": True}


@app.post("/_stub/publish")
async def stub_publish() -> Any:
    body = await request.get_json()
    publish(body["type"], body.get("data", {}))
    return {"ok": True}


@app.post("/_stub/revoke")
async def stub_revoke() -> Any:
    TOKEN["revoked"] = True
    return {"ok": True}


@app.post("/_stub/write")
async def stub_write() -> Any:
    body = await request.get_json()
    SESSIONS[body["task_id"]].write(base64.b64decode(body["b64"]) if "b64" in body else body["data"].encode())
    return {"ok": True}


@app.post("/_stub/exit")
async def stub_exit() -> Any:
    body = await request.get_json()
    SESSIONS[body["task_id"]].exit(int(body.get("code", 0)))
    return {"ok": True}


@app.post("/_stub/flood")
async def stub_flood() -> Any:
    """Make a session print ``rate`` bytes/s for ``seconds``; every chunk ends by redrawing the
    prompt line with what was typed so far, like an agent TUI repainting its input box."""
    body = await request.get_json()
    sess = SESSIONS[body["task_id"]]
    rate, seconds = int(body.get("rate", 5_000_000)), float(body.get("seconds", 5))

    async def flood() -> None:
        chunk_every = 0.01
        per_chunk = int(rate * chunk_every)
        line = b"\x1b[32mflood\x1b[0m " + b"x" * 70 + b"\r\n"
        filler = line * max(1, per_chunk // len(line))
        deadline = trio.current_time() + seconds
        nxt = trio.current_time()
        while trio.current_time() < deadline:
            sess.write(filler + b"> " + sess.line.encode())
            nxt += chunk_every
            await trio.sleep_until(nxt)

    NURSERY["n"].start_soon(flood)
    return {"ok": True}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fd", type=int)
    parser.add_argument("--uds")
    parser.add_argument("--token", default="stub-token")
    args = parser.parse_args()
    TOKEN["value"] = args.token
    reset_state()
    config = Config()
    config.bind = []
    if args.fd is not None:
        config.bind.append(f"fd://{args.fd}")
    if args.uds:
        config.bind.append(f"unix:{args.uds}")
    config.accesslog = None
    config.errorlog = "-"
    config.keep_alive_timeout = 60
    async with trio.open_nursery() as nursery:
        NURSERY["n"] = nursery
        await serve(app, config)


if __name__ == "__main__":
    trio.run(main)
