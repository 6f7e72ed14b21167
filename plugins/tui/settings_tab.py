"""The Settings tab: status rows, projects, backends, every schema section, plugin sections.

Nothing here is hard-wired to a plugin: the typed sections come from ``GET /api/settings``'s
``schema`` (declared by plugins through ``argus_settings_sections``) and the plugin forms from
``GET /api/plugins/settings/sections`` (the substrate registry).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from prompt_toolkit.formatted_text import StyleAndTextTuples

from .client import ApiError
from .forms import Confirm, Form, FormField
from .host import UiHost
from .state import as_dict, as_list
from .status_extras import StatusExtras

TUI_VERSION = "0.1.0"
SCAN_DEPTH = 3
SCAN_LIMIT = 60


@dataclass
class SRow:
    """One row of the Settings tab. ``kind``: header, status, project, backend, setting, plugin."""

    kind: str
    section: str
    label: str = ""
    value: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def scan_git_repos(root: Path, depth: int = SCAN_DEPTH, limit: int = SCAN_LIMIT) -> list[Path]:
    """Git repositories under ``root`` (``root`` itself included), at most ``depth`` levels down."""
    found: list[Path] = []
    queue: list[tuple[Path, int]] = [(root, 0)]
    while queue and len(found) < limit:
        path, d = queue.pop(0)
        if (path / ".git").exists():
            found.append(path)
            continue
        if d >= depth:
            continue
        try:
            children = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
        except OSError:
            continue
        queue.extend((c, d + 1) for c in children if c.name not in ("node_modules", "venv", ".venv"))
    return found


def _when(ts: object) -> str:
    """``2026-03-06T09:00:00Z`` → ``03-06 09:00`` in this machine's local time (— when empty)."""
    if not isinstance(ts, str) or not ts:
        return "—"
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone().strftime("%m-%d %H:%M")
    except ValueError:
        return ts


def _schedule_detail(sc: dict[str, Any]) -> str:
    """What a Scheduled Tasks row shows: expression, project, next/last run, last error."""
    what = f"once {_when(sc.get('run_once_at'))}" if sc.get("run_once_at") else str(sc.get("schedule") or "?")
    parts = [what if sc.get("enabled") else f"{what} (off)", str(sc.get("project") or ""),
             f"next {_when(sc.get('next_run_at'))}", f"last {_when(sc.get('last_run_at'))}"]
    if sc.get("last_error"):
        parts.append(f"error: {sc['last_error']}")
    return " · ".join(parts)


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "—"
    return "—" if value in (None, "") else str(value)


class SettingsTab:
    """Rows, selection and actions of the Settings tab."""

    def __init__(self, tui: UiHost) -> None:
        self.tui = tui
        self.index = 0
        self.rows: list[SRow] = []
        self.update_text = "Enter: pull the source, reinstall, restart the daemon (agents keep running)"
        self.doctor_text = "Enter: check the installation"
        self._update_news: set[str] = set()  # ids of the updates whose progress reached us already
        self.extras = StatusExtras(tui)  # Auto-start at login and Usage (the ops plugin's routes)

    # ---- rows -----------------------------------------------------------------------------

    def build_rows(self) -> list[SRow]:
        """Every row from the current state, in display order."""
        st = self.tui.state
        rows: list[SRow] = [SRow("header", "status", "Status")]
        conn = "connected" if st.connected else (self.tui.connection_error or "not connected")
        rows.append(SRow("status", "status", "Daemon", f"{conn} · {self.tui.client.describe()}"))
        sup = as_dict(st.status.get("supervisor"))
        sup_txt = ("running" if sup.get("running") else "not running") if sup.get("enabled", True) else "disabled"
        rows.append(SRow("status", "status", "Supervisor", sup_txt))
        sessions = as_dict(st.status.get("sessions"))
        if sessions:
            rows.append(SRow("status", "status", "Sessions",
                             f"{sessions.get('running', 0)} running · {sessions.get('idle', 0)} idle"))
        rows.append(SRow("status", "status", "Versions",
                         f"daemon {st.status.get('version') or '?'} · tui {TUI_VERSION}"
                         + (" · remote" if st.remote else "")))
        if any(isinstance(s, dict) and s.get("name") == "update" for s in as_list(st.settings.get("schema"))):
            rows.append(SRow("action", "status", "Update Argus", self.update_text, {"action": "update"}))
            rows.append(SRow("action", "status", "Doctor", self.doctor_text, {"action": "doctor"}))
        rows.extend(SRow(kind, "status", label, value, data) for kind, label, value, data in self.extras.rows())
        if st.setting("sandbox", "available") is not None:
            sbx_on = bool(st.setting("sandbox", "available"))
            sbx_txt = (f"available · {st.setting('sandbox', 'backend', '')}" if sbx_on
                       else f"unavailable · {st.setting('sandbox', 'reason', '')}")
            rows.append(SRow("status", "status", "Sandbox", sbx_txt))
        rows.append(SRow("header", "projects", "Projects", "n new · e edit · d delete · i quick add · a AppleEvents"))
        for p in st.projects:
            if isinstance(p, dict):
                detail = f"{p.get('path', '')}  {p.get('branch') or ''}  {p.get('backend') or ''}".rstrip()
                sbx = as_dict(p.get("sandbox")).get("enabled")
                if sbx is not None:
                    detail += "  🔒 sandbox on" if sbx else "  sandbox off"
                rows.append(SRow("project", "projects", str(p.get("name", "?")), detail, p))
        rows.append(SRow("header", "backends", "Backends", "n new · e edit · d set default · m model"))
        default = st.default_backend()
        for b in st.backends:
            if isinstance(b, dict):
                mark = "★ " if b.get("name") == default else "  "
                detail = str(b.get("command", "")) + (f"  model={b['model']}" if b.get("model") else "")
                rows.append(SRow("backend", "backends", mark + str(b.get("name", "?")), detail, b))
        if st.schedules is not None:
            rows.append(SRow("header", "schedules", "Scheduled Tasks",
                             "n new · e edit · d delete · t toggle · r run now"))
            for sc in st.schedules:
                rows.append(SRow("schedule", "schedules", str(sc.get("name", "?")), _schedule_detail(sc), sc))
        for sec in as_list(st.settings.get("schema")):
            if not isinstance(sec, dict) or not sec.get("name"):
                continue
            name = str(sec["name"])
            hint = "Enter/◀/▶ change" + (" · master token" if sec.get("master_only") else "")
            rows.append(SRow("header", name, str(sec.get("title") or name), hint))
            sources = as_dict(as_dict(st.settings.get("sources")).get(name))
            env_vars = as_dict(st.settings.get("env"))
            for f in as_list(sec.get("fields")):
                if isinstance(f, dict) and f.get("key"):
                    key = str(f["key"])
                    value = st.setting(name, key, f.get("default"))
                    source = str(sources.get(key) or "")
                    shown = _show(value)
                    if source == "environment":  # say why a saved value is not the one in use
                        shown += f"  (from {env_vars.get(f'{name}.{key}') or 'the environment'})"
                    elif source == "config.toml":
                        shown += "  (from config.toml)"
                    rows.append(SRow("setting", name, str(f.get("label") or key), shown,
                                     {"field": f, "value": value, "source": source}))
        for sec in st.plugin_sections:
            if not isinstance(sec, dict):
                continue
            title = f"{sec.get('scope', '?')} · {sec.get('title', '?')}"
            kind = str(sec.get("type") or "form")
            rows.append(SRow("plugin", "plugin", title, "Enter edit" if kind == "form" else kind, sec))
        return rows

    def selected(self) -> SRow | None:
        """The row under the cursor."""
        return self.rows[self.index] if 0 <= self.index < len(self.rows) else None

    def move(self, step: int) -> None:
        """Move the cursor, skipping nothing (headers are selectable so ``n`` works on empty sections)."""
        if self.rows:
            self.index = max(0, min(len(self.rows) - 1, self.index + step))

    def fragments(self, width: int) -> StyleAndTextTuples:
        """The tab's content with the cursor on the selected row."""
        self.rows = self.build_rows()
        self.index = max(0, min(self.index, len(self.rows) - 1))
        out: StyleAndTextTuples = []
        for i, r in enumerate(self.rows):
            sel = i == self.index
            if sel:
                out.append(("[SetCursorPosition]", ""))
            if r.kind == "header":
                style = "class:task.selected" if sel else "class:task.header"
                out.append((style, f" {r.label}"))
                out.append((f"{style} class:task.dim", f"   {r.value}\n"))
                continue
            style = "class:task.selected" if sel else ""
            out.append((style, f"   {r.label:<28}"))
            vstyle = f"{style} class:setting.value" if r.kind == "setting" else f"{style} class:task.dim"
            value = r.value
            if r.kind == "setting" and as_dict(r.data.get("field")).get("type") in ("bool", "enum"):
                value = f"◀ {value} ▶"
            out.append((vstyle, f" {value}".ljust(max(0, width - 31)) + "\n"))
        return out

    # ---- actions --------------------------------------------------------------------------

    def key(self, key: str) -> None:
        """Dispatch a Settings key for the selected row."""
        row = self.selected()
        if row is None:
            return
        sec = row.section
        handlers: dict[tuple[str, str], Any] = {
            ("projects", "n"): self.new_project, ("projects", "i"): self.quick_add,
            ("backends", "n"): self.new_backend, ("schedules", "n"): self.new_schedule,
        }
        if key == "i" or (sec, key) in handlers:
            handlers.get((sec, key), self.quick_add)()  # quick add works from any row
            return
        row_actions: dict[str, dict[str, Any]] = {
            "project": {"e": self.edit_project, "d": self.delete_project, "a": self.apple_events},
            "backend": {"e": self.edit_backend, "d": self.set_default_backend, "m": self.edit_model},
            "schedule": {"e": self.edit_schedule, "d": self.delete_schedule, "t": self.toggle_schedule,
                         "r": self.run_schedule},
        }
        action = row_actions.get(row.kind, {}).get(key)
        if action is not None:
            action(row)
        elif row.kind == "setting" and key in ("enter", "right", "left"):
            self.change_setting(row, -1 if key == "left" else 1)
        elif row.kind == "plugin" and key == "enter":
            self.plugin_form(row)
        elif row.kind == "action" and key == "enter":
            {"update": self.run_update, "doctor": self.run_doctor, "autostart": self.extras.toggle_autostart,
             "usage": self.extras.show_usage}[str(row.data.get("action"))]()
        else:
            self.tui.set_status(self.why_not(row, key))

    def why_not(self, row: SRow, key: str) -> str:
        """The status line for a key that does nothing on ``row``: what it would do, and where."""
        shown = "Enter" if key == "enter" else {"left": "◀", "right": "▶"}.get(key, key)
        where = {
            "n": "on the Projects, Backends or Scheduled Tasks rows (new project / backend / schedule)",
            "e": "on a project, backend or schedule row (edit it)",
            "d": "on a project or schedule row (delete it) or a backend row (make it the default)",
            "a": "on a project row (its AppleEvents allowlist)",
            "m": "on a backend row (its default model)",
            "t": "on a Scheduled Tasks row (toggle a schedule)" + ("" if self.tui.state.schedules is not None
                                                                  else " — no scheduler section is loaded"),
            "r": "on a Scheduled Tasks row (run a schedule now)" + ("" if self.tui.state.schedules is not None
                                                                   else " — no scheduler section is loaded"),
            "enter": "on a setting (change it), a plugin section (its form), Update Argus, Doctor, "
                     "Auto-start at login or Usage",
            "left": "on a setting (previous choice)", "right": "on a setting (next choice)",
        }.get(key, "")
        what = {"header": "a section title", "status": "a status row", "project": "a project",
                "backend": "a backend", "setting": "a setting", "plugin": "a plugin section",
                "schedule": "a schedule", "action": "an action row"}.get(row.kind, "this row")
        return f"{shown} does nothing on {what}" + (f"; it works {where}" if where else "")

    # ---- operations (the ops plugin's routes) ------------------------------------------------

    def run_update(self) -> None:
        """Enter on Update Argus: a dry run lists the commits, then a confirmation starts the update."""
        async def go() -> None:
            try:
                dry = as_dict(await self.tui.client.post("/api/update", {"dry_run": True}))
            except ApiError as exc:
                self.tui.set_status(f"update: {exc.message}", error=True)
                return
            commits = [as_dict(c) for c in as_list(dry.get("commits"))]
            listing = "\n".join(f"  {str(c.get('sha', ''))[:8]} {c.get('subject', '')}" for c in commits[:12])
            more = f"\n  … and {len(commits) - 12} more" if len(commits) > 12 else ""
            head = (f"{len(commits)} new commit(s) in {dry.get('source_path')}:\n{listing}{more}" if commits
                    else f"{dry.get('source_path')} is up to date; reinstall anyway?")

            async def start() -> None:
                try:
                    reply = as_dict(await self.tui.client.post("/api/update", {}))
                except ApiError as exc:
                    self.tui.set_status(f"update: {exc.message}", error=True)
                    return
                # The update runs as soon as it is queued: its progress, even its failure, may reach
                # us (on the event stream) before this answer does, and is newer news.
                if str(as_dict(reply.get("update")).get("id")) not in self._update_news:
                    self.update_text = "started…"
                    self.tui.set_status("update started: progress follows here")
            self.tui.open_modal(Confirm(
                "Update Argus", head + "\n\nPull (--ff-only), reinstall and restart the daemon? "
                "Agents keep running.", lambda: self.tui.spawn(start()), on_close=self.tui.close_modal))
        self.tui.spawn(go())

    def on_update_event(self, etype: str, data: dict[str, Any]) -> None:
        """``update.*`` events: the update's progress in the row and the status line."""
        if etype in ("update.step", "update.finished"):
            self._update_news.add(str(data.get("id")))
        if etype == "update.step":
            self.update_text = f"{data.get('step')}: {data.get('status')}"
            failed = data.get("status") == "failed"
            self.tui.set_status(f"update: {data.get('step')} {data.get('status')}"
                                + (f" — {data.get('message')}" if failed else ""), error=failed)
        elif etype == "update.finished":
            if data.get("ok"):
                self.update_text = "installed; the daemon is restarting"
                self.tui.set_status("update installed; the daemon restarts (agents keep running)")
            else:
                self.update_text = f"failed at {data.get('step')}: {data.get('message')}"
                output = str(data.get("output") or "").strip().splitlines()
                self.tui.set_status(f"update failed at {data.get('step')}: {data.get('message')}"
                                    + (f" — {output[-1]}" if output else ""), error=True)

    def run_doctor(self) -> None:
        """Enter on Doctor: ``GET /api/doctor``; problems and their fixes in a dialog."""
        async def go() -> None:
            try:
                report = as_dict(await self.tui.client.request("GET", "/api/doctor", timeout=60.0))
            except ApiError as exc:
                self.tui.set_status(f"doctor: {exc.message}", error=True)
                return
            checks = [as_dict(c) for c in as_list(report.get("checks"))]
            bad = [c for c in checks if c.get("status") in ("fail", "warn")]
            fails = sum(1 for c in bad if c.get("status") == "fail")
            self.doctor_text = (f"{fails} broken · {len(bad) - fails} warnings" if bad
                                else f"all {len(checks)} checks ok")
            self.tui.set_status(f"doctor: {self.doctor_text}", error=bool(fails))
            if bad:
                text = "\n".join(f"[{c.get('status')}] {c.get('name')}: {c.get('detail')}"
                                 + (f"\n      fix: {c.get('fix')}" if c.get("fix") else "") for c in bad)
                self.tui.open_modal(Confirm("argus doctor", text + "\n\nClose?", lambda: None,
                                            on_close=self.tui.close_modal))
            self.tui.invalidate()
        self.tui.spawn(go())

    def _form(self, title: str, fields: list[FormField], submit: Any) -> None:
        self.tui.open_modal(Form(title, fields, submit, on_close=self.tui.close_modal, run=self.tui.spawn))

    def _backend_choices(self) -> list[str]:
        return [""] + [str(b.get("name")) for b in self.tui.state.backends if isinstance(b, dict)]

    def new_project(self) -> None:
        """``n`` on Projects: name + path (+ branch, backend)."""
        async def submit(v: dict[str, Any]) -> None:
            body = {k: v[k] for k in ("name", "path", "branch", "backend") if v.get(k)}
            await self.tui.client.post("/api/projects", body)
            self.tui.set_status(f"project {v['name']} added")
            await self.tui.refresh("projects")
        self._form("New project", [
            FormField("name", "Name"), FormField("path", "Path", help="absolute path to the repo root"),
            FormField("branch", "Base branch", help="empty: git's default"),
            FormField("backend", "Backend", "enum", "", self._backend_choices()),
        ], submit)

    def edit_project(self, row: SRow) -> None:
        """``e`` on a project."""
        p = row.data
        sandbox = as_dict(p.get("sandbox"))
        enabled, network = sandbox.get("enabled"), sandbox.get("network")
        mode = "inherit" if enabled is None else ("enabled" if enabled else "disabled")
        net = "inherit" if network is None else ("on" if network else "off")

        async def submit(v: dict[str, Any]) -> None:
            body: dict[str, Any] = {"path": v["path"], "branch": v["branch"], "backend": v["backend"]}
            changed = {"enabled": {"inherit": None, "enabled": True, "disabled": False}[v["sandbox"]],
                       "network": {"inherit": None, "on": True, "off": False}[v["network"]],
                       "deny_read": as_list(v["deny_read"]), "extra_write": as_list(v["extra_write"])}
            new = {**sandbox, **changed}
            if new != sandbox:  # only the master token may change it; leave it out when untouched
                body["sandbox"] = new
            await self.tui.client.put(f"/api/projects/{quote(str(p.get('name')), safe='')}", body)
            self.tui.set_status(f"project {p.get('name')} saved")
            await self.tui.refresh("projects")
        self._form(f"Edit project {p.get('name')}", [
            FormField("path", "Path", value=p.get("path", "")),
            FormField("branch", "Base branch", value=p.get("branch") or ""),
            FormField("backend", "Backend", "enum", p.get("backend") or "", self._backend_choices()),
            FormField("sandbox", "Sandbox", "enum", mode, ["inherit", "enabled", "disabled"],
                      help="inherit: the global [sandbox] enabled setting (master token to change)"),
            FormField("network", "Sandbox network", "enum", net, ["inherit", "on", "off"]),
            FormField("deny_read", "Deny read", "list", as_list(sandbox.get("deny_read")),
                      help="comma-separated paths, added to the global list"),
            FormField("extra_write", "Extra write", "list", as_list(sandbox.get("extra_write")),
                      help="comma-separated paths, added to the global list"),
        ], submit)

    def delete_project(self, row: SRow) -> None:
        """``d`` on a project, after confirmation."""
        name = str(row.data.get("name"))

        async def go() -> None:
            try:
                await self.tui.client.delete(f"/api/projects/{quote(name, safe='')}")
                self.tui.set_status(f"project {name} deleted")
                await self.tui.refresh("projects")
            except ApiError as exc:
                self.tui.set_status(str(exc), error=True)
        self.tui.open_modal(Confirm("Delete project", f"Delete project {name}? Its tasks are not touched.",
                                    lambda: self.tui.spawn(go()), on_close=self.tui.close_modal))

    def apple_events(self, row: SRow) -> None:
        """``a`` on a project: the AppleEvents allowlist of its sandbox."""
        p = row.data
        sandbox = as_dict(p.get("sandbox"))

        async def submit(v: dict[str, Any]) -> None:
            await self.tui.client.put(f"/api/projects/{quote(str(p.get('name')), safe='')}",
                                      {"sandbox": {**sandbox, "allow_apple_events": v["allow"]}})
            self.tui.set_status("AppleEvents allowlist saved")
            await self.tui.refresh("projects")
        self._form(f"AppleEvents · {p.get('name')}", [
            FormField("allow", "Bundle IDs", "list", as_list(sandbox.get("allow_apple_events")),
                      help="comma-separated, e.g. com.apple.iChat"),
        ], submit)

    def quick_add(self) -> None:
        """``i``: scan a directory of the daemon's machine for git repos, import the chosen ones.

        The daemon scans (``POST /api/projects/scan``, progress as ``project.scan.progress``
        events shown in the status line), so this works against a remote daemon too; an older
        daemon without the endpoint falls back to scanning this machine when it is local.
        """
        async def scan(v: dict[str, Any]) -> None:
            directory = v["dir"] or "~"
            self.tui.set_status(f"quick add: scanning {directory}…")
            repos: list[dict[str, Any]]
            try:
                body = await self.tui.client.request("POST", "/api/projects/scan", json_body={"dir": directory},
                                                     timeout=300.0)
                repos = [r for r in as_list(as_dict(body).get("repos")) if isinstance(r, dict) and r.get("path")]
            except ApiError as exc:
                if exc.status not in (404, 405) or self.tui.state.remote:
                    raise
                root = Path(os.path.expanduser(directory))
                if not root.is_dir():
                    raise ValueError(f"{root} is not a directory") from None
                loop = asyncio.get_running_loop()
                found = await loop.run_in_executor(self.tui.executor, scan_git_repos, root)
                repos = [{"name": p.name, "path": str(p)} for p in found]
            known = {str(p.get("path")) for p in self.tui.state.projects if isinstance(p, dict)}
            repos = [r for r in repos if not r.get("registered") and str(r["path"]) not in known]
            if not repos:
                self.tui.set_status(f"quick add: no new git repositories under {directory}")
                return
            self.tui.set_status(f"quick add: {len(repos)} new repositories under {directory}")
            asyncio.get_running_loop().call_soon(self._pick_repos, repos[:SCAN_LIMIT])

        self._form("Quick add projects", [FormField("dir", "Directory", value="~",
                                                    help="on the daemon's machine; git repos below it")], scan)

    def on_scan_progress(self, data: dict[str, Any]) -> None:
        """``project.scan.progress`` events: the scan's progress in the status line."""
        self.tui.set_status(f"quick add: scanned {data.get('dirs', '?')} directories… {data.get('current', '')}")

    def _pick_repos(self, repos: list[dict[str, Any]]) -> None:
        fields = [FormField(str(i), str(r.get("name") or Path(str(r["path"])).name), "bool", True,
                            help=str(r["path"])) for i, r in enumerate(repos)]

        async def submit(v: dict[str, Any]) -> None:
            chosen = [repos[int(k)] for k, on in v.items() if on]
            self.tui.spawn(self._import(chosen), name="quick add")
        self._form("Import repositories (Space toggles)", fields, submit)

    async def _import(self, repos: list[dict[str, Any]]) -> None:
        done, failed = 0, []
        for n, repo in enumerate(repos, 1):
            name = str(repo.get("name") or Path(str(repo["path"])).name)
            self.tui.set_status(f"quick add: importing {n}/{len(repos)} {name}…")
            body = {"name": name, "path": str(repo["path"])}
            if repo.get("branch"):
                body["branch"] = str(repo["branch"])
            try:
                await self.tui.client.post("/api/projects", body)
                done += 1
            except ApiError as exc:
                failed.append(f"{name} ({exc.message})")
        await self.tui.refresh("projects")
        msg = f"quick add: imported {done}/{len(repos)}"
        self.tui.set_status(msg + (f"; failed: {', '.join(failed)}" if failed else ""), error=bool(failed))

    def new_backend(self) -> None:
        """``n`` on Backends."""
        async def submit(v: dict[str, Any]) -> None:
            await self.tui.client.post("/api/backends", v)
            self.tui.set_status(f"backend {v['name']} added")
            await self.tui.refresh("backends")
        self._form("New backend", [FormField("name", "Name"), FormField("command", "Command"),
                                   FormField("prompt_flag", "Prompt flag", help="empty: positional"),
                                   FormField("model", "Model", help="empty: the CLI's default")], submit)

    def edit_backend(self, row: SRow) -> None:
        """``e`` on a backend."""
        b = row.data

        async def submit(v: dict[str, Any]) -> None:
            await self.tui.client.put(f"/api/backends/{quote(str(b.get('name')), safe='')}", v)
            self.tui.set_status(f"backend {b.get('name')} saved")
            await self.tui.refresh("backends")
        self._form(f"Edit backend {b.get('name')}", [
            FormField("command", "Command", value=b.get("command", "")),
            FormField("prompt_flag", "Prompt flag", value=b.get("prompt_flag", "")),
            FormField("model", "Model", value=b.get("model", ""))], submit)

    def edit_model(self, row: SRow) -> None:
        """``m`` on a backend: its default model."""
        b = row.data

        async def submit(v: dict[str, Any]) -> None:
            await self.tui.client.put(f"/api/backends/{quote(str(b.get('name')), safe='')}", {"model": v["model"]})
            self.tui.set_status(f"backend {b.get('name')}: model {v['model'] or '(CLI default)'}")
            await self.tui.refresh("backends")
        self._form(f"Model · {b.get('name')}", [FormField("model", "Model", value=b.get("model", ""))], submit)

    def set_default_backend(self, row: SRow) -> None:
        """``d`` on a backend: make it the default (``defaults.backend``)."""
        name = str(row.data.get("name"))

        async def go() -> None:
            try:
                await self.tui.client.put("/api/settings", {"defaults": {"backend": name}})
                self.tui.set_status(f"default backend: {name}")
                await self.tui.refresh("backends", "settings")
            except ApiError as exc:
                self.tui.set_status(str(exc), error=True)
        self.tui.spawn(go())

    def change_setting(self, row: SRow, step: int) -> None:
        """Toggle a bool, cycle an enum, or open a one-field form for the others."""
        f = as_dict(row.data.get("field"))
        key, ftype = str(f.get("key")), str(f.get("type") or "string")
        value = row.data.get("value")
        if ftype == "bool":
            self._save_setting(row.section, key, not bool(value))
        elif ftype == "enum":
            choices = [str(c) for c in as_list(f.get("choices"))]
            if choices:
                i = choices.index(value) if value in choices else -1
                self._save_setting(row.section, key, choices[(i + step) % len(choices)])
        else:
            async def submit(v: dict[str, Any]) -> None:
                await self._put_setting(row.section, key, v["value"])
            self._form(f"{row.section} · {f.get('label') or key}",
                       [FormField("value", str(f.get("label") or key), ftype, value, help=str(f.get("help") or ""))],
                       submit)

    async def _put_setting(self, section: str, key: str, value: Any) -> None:
        body = await self.tui.client.put("/api/settings", {section: {key: value}})
        if isinstance(body, dict) and ("sections" in body or "schema" in body):
            self.tui.state.settings = body
        self.tui.set_status(f"{section}.{key} = {_show(value)}")
        self.tui.invalidate()

    def _save_setting(self, section: str, key: str, value: Any) -> None:
        async def go() -> None:
            try:
                await self._put_setting(section, key, value)
            except ApiError as exc:
                self.tui.set_status(str(exc), error=True)
        self.tui.spawn(go())

    def plugin_form(self, row: SRow) -> None:
        """Enter on a plugin section: its form, submitted through the daemon to the plugin."""
        sec = row.data
        if str(sec.get("type") or "form") != "form":
            self.tui.set_status(f"{row.label}: a {sec.get('type')} section has no form")
            return
        fields = []
        for f in as_list(sec.get("fields")):
            if isinstance(f, dict) and f.get("key"):
                ftype = str(f.get("type") or "string")
                fields.append(FormField(
                    str(f["key"]), str(f.get("label") or f["key"]),
                    ftype if ftype in ("bool", "int", "enum", "string", "list") else "string",
                    f.get("value", f.get("default", "")), [str(c) for c in as_list(f.get("choices"))],
                    str(f.get("help") or "")))
        scope, title = str(sec.get("scope")), str(sec.get("title"))

        async def submit(v: dict[str, Any]) -> None:
            await self.tui.client.post(
                f"/api/plugins/settings/sections/{quote(scope, safe='')}/{quote(title, safe='')}/submit", v)
            self.tui.set_status(f"{scope} · {title} saved")
        self._form(f"{scope} · {title}", fields, submit)

    # ---- scheduled tasks ------------------------------------------------------------------

    def _schedule_fields(self, sc: dict[str, Any] | None = None) -> list[FormField]:
        sc = sc or {}
        projects = self.tui.state.project_names()
        return [
            FormField("name", "Name", value=sc.get("name", "")),
            FormField("project", "Project", "enum", sc.get("project") or (projects[0] if projects else ""), projects),
            FormField("prompt", "Prompt", "text", sc.get("prompt", "")),
            FormField("schedule", "Schedule", value=sc.get("schedule") or "",
                      help="cron (0 9 * * 1-5), @daily, @every 30m; empty for a one-shot"),
            FormField("run_once_at", "Run once at", value=sc.get("run_once_at") or "",
                      help="RFC3339 UTC, e.g. 2026-03-07T08:00:00Z (instead of a schedule)"),
            FormField("backend", "Backend", "enum", sc.get("backend") or "", self._backend_choices()),
            FormField("enabled", "Enabled", "bool", bool(sc.get("enabled", True))),
        ]

    @staticmethod
    def _schedule_body(v: dict[str, Any]) -> dict[str, Any]:
        body = {k: v[k] for k in ("name", "project", "prompt", "backend", "enabled")}
        for key in ("schedule", "run_once_at"):
            if str(v.get(key) or "").strip():
                body[key] = str(v[key]).strip()
        return body

    def new_schedule(self) -> None:
        """``n`` on Scheduled Tasks."""
        async def submit(v: dict[str, Any]) -> None:
            await self.tui.client.post("/api/schedules", self._schedule_body(v))
            self.tui.set_status(f"schedule {v['name']} created")
            await self.tui.refresh("schedules")
        self._form("New schedule", self._schedule_fields(), submit)

    def edit_schedule(self, row: SRow) -> None:
        """``e`` on a schedule (setting a schedule clears the one-shot time and vice versa)."""
        sc = row.data

        async def submit(v: dict[str, Any]) -> None:
            await self.tui.client.put(f"/api/schedules/{quote(str(sc.get('id')), safe='')}", self._schedule_body(v))
            self.tui.set_status(f"schedule {v['name']} saved")
            await self.tui.refresh("schedules")
        self._form(f"Edit schedule {sc.get('name')}", self._schedule_fields(sc), submit)

    def _schedule_call(self, method: str, path: str, body: Any, done: str) -> None:
        async def go() -> None:
            try:
                out = await self.tui.client.request(method, path, json_body=body)
                task_id = as_dict(out).get("task_id")
                self.tui.set_status(done + (f": task {task_id}" if task_id else ""))
                await self.tui.refresh("schedules")
            except ApiError as exc:
                self.tui.set_status(str(exc), error=True)
        self.tui.spawn(go())

    def toggle_schedule(self, row: SRow) -> None:
        """``t`` on a schedule: enable / disable it."""
        sc = row.data
        on = not bool(sc.get("enabled"))
        self._schedule_call("PUT", f"/api/schedules/{quote(str(sc.get('id')), safe='')}", {"enabled": on},
                            f"schedule {sc.get('name')} {'on' if on else 'off'}")

    def run_schedule(self, row: SRow) -> None:
        """``r`` on a schedule: fire it now."""
        sc = row.data
        self._schedule_call("POST", f"/api/schedules/{quote(str(sc.get('id')), safe='')}/run", {},
                            f"schedule {sc.get('name')} fired")

    def delete_schedule(self, row: SRow) -> None:
        """``d`` on a schedule, after confirmation."""
        sc = row.data
        self.tui.open_modal(Confirm(
            "Delete schedule", f"Delete schedule {sc.get('name')}? Tasks it created stay.",
            lambda: self._schedule_call("DELETE", f"/api/schedules/{quote(str(sc.get('id')), safe='')}", None,
                                        f"schedule {sc.get('name')} deleted"),
            on_close=self.tui.close_modal))
