"""The Tasks tab's actions: new task, fork, status, archive, pin, copy, prompt, worktree, rename, merge,
delete, prune, open the repository, cancel a usage limit's planned resume. Each acts on the task under the list's
cursor and reports in the status line.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .client import ApiError, task_path
from .forms import ChoiceCompleter, Confirm, Form, FormField, Picker, PickerItem, SkillCompleter
from .promptview import PromptView
from .state import as_dict, as_list, next_status, task_name

if TYPE_CHECKING:  # pragma: no cover
    from .app import ArgusTui

LOCAL_ONLY = {
    "new": ("creating a task", "POST /api/tasks"),
    "fork": ("forking", "POST /api/tasks/{id}/fork"),
    "prune": ("pruning completed tasks", "POST /api/maintenance/prune-completed"),
}


class TaskActions:
    """What the Tasks tab's commands do."""

    def __init__(self, tui: ArgusTui) -> None:
        self.tui = tui

    def local_only(self, action: str, task_id: str = "") -> bool:
        """In remote mode, say which endpoint ``action`` needs and return True (refused)."""
        if not self.tui.state.remote:
            return False
        what, endpoint = LOCAL_ONLY[action]
        self.tui.set_status(f"remote mode: {what} needs the daemon host's worktrees — use "
                        f"{endpoint.replace('{id}', task_id or '{id}')} on {self.tui.client.base_url}", error=True)
        return True

    def _selected(self) -> dict[str, Any] | None:
        task = self.tui.tasklist.selected()
        if task is None:
            self.tui.set_status("no task selected")
        return task

    def _act(self, coro: Awaitable[Any], done: str) -> None:
        async def go() -> None:
            await coro
            if done:
                self.tui.set_status(done)
        self.tui.spawn(go(), name="action")

    def new_task(self) -> None:
        """``n``: the New Task form (project, backend, model, prompt with /skill completion, plugin options)."""
        if self.local_only("new"):
            return
        projects = self.tui.state.project_names()
        if not projects:
            self.tui.set_status("no project yet: add one in Settings (3 → Projects → n or i)", error=True)
            return
        sel = self.tui.tasklist.selected()
        project = str(sel.get("project")) if sel and sel.get("project") in projects else projects[0]
        backends = [str(b.get("name")) for b in self.tui.state.backends if b.get("name")]
        default_backend = self.tui.state.default_backend() or (backends[0] if backends else "")
        form: Form | None = None
        options = [str(o["name"]) for o in self.tui.state.task_checkboxes()]
        skills = SkillCompleter(lambda: form.inputs["project"].text if form is not None else project)  # type: ignore[union-attr]

        async def load_skills() -> None:
            # Each project's list (its own .claude/skills included), so completion follows the field.
            for name in projects:
                try:
                    found = as_list(as_dict(await self.tui.client.get("/api/skills", project=name)).get("skills"))
                except ApiError:
                    continue
                skills.by_project[name] = [s for s in found if isinstance(s, dict)]
        self.tui.spawn(load_skills(), name="skills")

        async def submit(v: dict[str, Any]) -> None:
            if not v["prompt"].strip():
                raise ValueError("a prompt is required")
            if v["project"] not in projects:
                raise ValueError(f"unknown project {v['project']!r}")
            body = {k: v[k] for k in ("project", "prompt", "backend", "model", "name") if v.get(k)}
            body.update({k: True for k in options if v.get(k) is True})
            created = as_dict(await self.tui.client.post("/api/tasks", body))
            task = as_dict(created.get("task")) or created
            if not task.get("id"):
                raise ValueError("the daemon did not return a task")
            self.tui.state.upsert_task(task)
            self.tui.tasklist.selected_id = str(task["id"])
            self.tui.set_status(f"created {task_name(task)}")
            asyncio.get_running_loop().call_soon(self.tui.open_task, str(task["id"]))

        fields = [
            FormField("project", "Project", value=project, completer=ChoiceCompleter(lambda: projects),
                      help=" · ".join(projects)[:70]),
            FormField("backend", "Backend", "enum", default_backend, backends or [""]),
            FormField("model", "Model", help="empty: the backend's default"),
            FormField("prompt", "Prompt", "text", completer=skills, help="type / for skills"),
            FormField("name", "Name", help="optional: derived from the prompt"),
            *(FormField(o["name"], str(o.get("title") or o["name"]), "bool", bool(o.get("default")),
                        help=str(o.get("description") or "")[:70]) for o in self.tui.state.task_checkboxes()),
        ]
        form = Form("New task", fields, submit, on_close=self.tui.close_modal, run=self.tui.spawn)
        self.tui.open_modal(form)
        self.tui.focus(form.inputs["prompt"].window)  # what focusing the TextArea focuses

    def fork_task(self) -> None:
        """``ctrl+f``: duplicate the selected task with its context."""
        task = self._selected()
        if task is None or self.local_only("fork", str(task.get("id"))):
            return

        async def submit(v: dict[str, Any]) -> None:
            body = {k: val for k, val in v.items() if val}
            created = as_dict(await self.tui.client.post(task_path(str(task["id"]), "/fork"), body))
            new = as_dict(created.get("task")) or created
            if new.get("id"):
                self.tui.state.upsert_task(new)
                self.tui.tasklist.selected_id = str(new["id"])
            self.tui.set_status(f"forked {task_name(task)} → {task_name(new)}")
        self.tui.open_modal(Form(f"Fork {task_name(task)}", [
            FormField("name", "Name", help="optional"),
            FormField("prompt", "Prompt", "text", help="optional: added to the forked context")],
            submit, on_close=self.tui.close_modal, run=self.tui.spawn))

    def advance(self, step: int) -> None:
        """``s`` / ``S``: next / previous status."""
        task = self._selected()
        if task is None:
            return
        new = next_status(str(task.get("status")), step)
        if new == task.get("status"):
            self.tui.set_status(f"{task_name(task)} is already {new}")
            return
        self._act(self.tui.client.post(task_path(str(task["id"]), "/status"), {"status": new}),
                  f"{task_name(task)} → {new}")

    def cancel_limit_resume(self) -> None:
        """``L``: cancel the resume Argus planned for a task whose agent hit its usage limit."""
        task = self._selected()
        if task is None:
            return
        if task.get("status") != "limit" or not task.get("limit_resume_at"):
            self.tui.set_status(f"{task_name(task)} has no planned limit resume")
            return
        self._act(self.tui.client.delete(task_path(str(task["id"]), "/limit-resume")),
                  f"{task_name(task)}: limit resume cancelled")

    def toggle_archive(self) -> None:
        """``a``: archive / unarchive."""
        task = self._selected()
        if task is None:
            return
        verb = "unarchive" if task.get("archived") else "archive"
        self._act(self.tui.client.post(task_path(str(task["id"]), f"/{verb}")), f"{task_name(task)}: {verb}d")

    def toggle_pin(self) -> None:
        """``P``: pin / unpin (★ section on top)."""
        task = self._selected()
        if task is None:
            return
        pinned = not task.get("pinned")

        async def go() -> None:
            try:
                await self.tui.client.post(task_path(str(task["id"]), "/pin"), {"pinned": pinned})
            except ApiError as exc:
                if exc.status not in (404, 405):
                    raise
                await self.tui.client.request("PATCH", task_path(str(task["id"])), json_body={"pinned": pinned})
            self.tui.set_status(f"{task_name(task)}: {'pinned' if pinned else 'unpinned'}")
        self.tui.spawn(go(), name="pin")

    def copy_prompt(self) -> None:
        """``c``: copy the task's prompt."""
        task = self._selected()
        if task is None:
            return
        how = self.tui.desktop.copy_to_clipboard(str(task.get("prompt") or ""))
        self.tui.set_status(f"prompt of {task_name(task)} copied ({how})")

    def show_prompt(self) -> None:
        """``p``: the task's full prompt in a scrollable dialog (``c`` copies it)."""
        task = self._selected()
        if task is None:
            return

        def copy(text: str) -> None:
            how = self.tui.desktop.copy_to_clipboard(text)
            self.tui.set_status(f"prompt of {task_name(task)} copied ({how})")

        def max_height() -> int:
            try:
                return self.tui.app.output.get_size().rows - 6
            except Exception:
                return 20
        self.tui.open_modal(PromptView(f"Prompt of {task_name(task)} (Esc closes)", str(task.get("prompt") or ""),
                                       copy, self.tui.close_modal, max_height))

    def worktree_menu(self) -> None:
        """``w``: the task's worktree: open it in ``$EDITOR``, a shell in it, or copy its path."""
        task = self._selected()
        if task is None:
            return
        wt = str(task.get("worktree_path") or "")
        if not wt:
            self.tui.set_status(f"{task_name(task)} has no worktree", error=True)
            return
        in_tmux = bool(os.environ.get("TMUX") and shutil.which("tmux"))
        items = [PickerItem("Open in $EDITOR", "editor", detail=os.environ.get("EDITOR") or os.environ.get("VISUAL")
                            or "vi"),
                 PickerItem("Shell in the worktree", "shell", detail="tmux window" if in_tmux else "$SHELL"),
                 PickerItem("Copy its path", "copy", detail=wt)]

        def pick(action: str) -> None:
            if action == "copy":
                how = self.tui.desktop.copy_to_clipboard(wt)
                self.tui.set_status(f"copied {wt} ({how})")
            elif action == "editor":
                editor = os.environ.get("EDITOR") or os.environ.get("VISUAL") or "vi"
                self.tui.desktop.run_in_worktree([*editor.split(), "."], wt)
            elif in_tmux and not self.tui.state.remote and Path(wt).is_dir():
                subprocess.run(["tmux", "new-window", "-c", wt], check=False)
                self.tui.set_status(f"opened a tmux window in {wt}")
            else:
                self.tui.desktop.run_in_worktree([os.environ.get("SHELL") or "/bin/sh"], wt)
        self.tui.open_modal(Picker(f"Worktree of {task_name(task)}", items, pick, on_close=self.tui.close_modal))

    def rename_task(self) -> None:
        """``r``: rename (display name only)."""
        task = self._selected()
        if task is None:
            return

        async def submit(v: dict[str, Any]) -> None:
            if not v["name"]:
                raise ValueError("a name is required")
            await self.tui.client.post(task_path(str(task["id"]), "/rename"), {"name": v["name"]})
            self.tui.set_status(f"renamed to {v['name']}")
        self.tui.open_modal(Form(f"Rename {task_name(task)}", [FormField("name", "Name", value=task_name(task),
                                                                     help="branch and worktree keep their names")],
                             submit, on_close=self.tui.close_modal, run=self.tui.spawn))

    def merge_task(self) -> None:
        """``m``: the task's branch against its base (ahead/behind, conflicts) and the merge actions."""
        task = self._selected()
        if task is None:
            return
        tid = str(task["id"])

        async def go() -> None:
            pre = as_dict(await self.tui.client.get(task_path(tid, "/merge")))
            base = pre.get("base") or "base"
            conflicts = pre.get("conflicts") or []
            title = (f"{task_name(task)}: {pre.get('ahead', 0)} ahead, {pre.get('behind', 0)} behind {base}"
                     + (f" · conflicts: {', '.join(conflicts)}" if conflicts else "")
                     + "".join(f" · overlaps {o.get('name')}" for o in pre.get("overlaps") or []))
            items = [PickerItem(f"Rebase onto {base}", "rebase", detail="in the task's worktree"),
                     PickerItem(f"Merge into {base}", "merge",
                                detail="fast-forward" if pre.get("fast_forward") else "merge commit"),
                     PickerItem("Push and open a PR", "pr", detail="gh" if pre.get("gh") else "push only (no gh)")]

            def pick(action: str) -> None:
                async def run() -> None:
                    try:
                        out = as_dict(await self.tui.client.post(task_path(tid, "/merge"), {"action": action}))
                    except ApiError as exc:
                        self.tui.set_status(f"{action}: {exc}", error=True)
                        return
                    done = {"rebase": f"rebased onto {base}", "merge": f"merged into {base}",
                            "pr": f"pushed{': ' + str(out['pr_url']) if out.get('pr_url') else ''}"}[action]
                    self.tui.set_status(f"{task_name(task)}: {done}")
                self.tui.spawn(run(), name="merge")
            self.tui.open_modal(Picker(title, items, pick, on_close=self.tui.close_modal))
        self.tui.spawn(go(), name="merge-preview")

    def delete_task(self) -> None:
        """``ctrl+d``: destroy the task after confirmation."""
        task = self._selected()
        if task is None:
            return

        def force() -> None:
            self._act(self.tui.client.request("DELETE", task_path(str(task["id"])), params={"force": "1"}),
                      f"deleted {task_name(task)} and its unsaved work")

        def yes() -> None:
            async def go() -> None:
                try:
                    await self.tui.client.delete(task_path(str(task["id"])))
                except ApiError as exc:
                    if exc.status != 409:
                        raise
                    self.tui.open_modal(Confirm("Unsaved work", f"{exc.message}\n\nDestroy it anyway?", force,
                                            on_close=self.tui.close_modal))
                    return
                self.tui.set_status(f"deleted {task_name(task)}")
            self.tui.spawn(go(), name="delete")
        self.tui.open_modal(Confirm("Destroy task", f"Destroy {task_name(task)}? This kills the agent, removes the "
                                f"worktree and deletes branch {task.get('branch') or '?'}.", yes,
                                on_close=self.tui.close_modal))

    def prune(self) -> None:
        """``ctrl+r``: delete every completed task."""
        if self.local_only("prune"):
            return
        n = sum(1 for t in self.tui.state.tasks.values() if t.get("status") == "complete")
        if n == 0:
            self.tui.set_status("no completed tasks to prune")
            return

        def yes() -> None:
            async def go() -> None:
                body = as_dict(await self.tui.client.post("/api/maintenance/prune-completed"))
                deleted, skipped = body.get("deleted", n), as_list(body.get("skipped"))
                count = len(deleted) if isinstance(deleted, list) else deleted
                extra = f"; kept {len(skipped)} with unsaved work" if skipped else ""
                self.tui.set_status(f"pruned {count} completed task(s){extra}")
            self.tui.spawn(go(), name="prune")
        self.tui.open_modal(Confirm("Prune completed", f"Delete all {n} completed task(s), their worktrees and "
                                "branches?", yes, on_close=self.tui.close_modal))

    def open_repo(self) -> None:
        """``ctrl+o``: the project's GitHub page."""
        task = self._selected()
        if task is None:
            return
        proj = next((p for p in self.tui.state.projects if p.get("name") == task.get("project")), {})
        self.tui.desktop.run_gh(["repo", "view", "--web"], str(proj.get("path") or task.get("worktree_path") or ""),
                    "open repo")

    def open_selected(self) -> None:
        """``Enter``: the agent view of the selected task."""
        if self.tui.tasklist.selected_id is None:
            self.tui.set_status("no task selected")
        else:
            self.tui.open_task(self.tui.tasklist.selected_id)

    def toggle_hera_workers(self) -> None:
        """``H``: show / hide the tasks Hera hides (its workers)."""
        st = self.tui.state
        st.show_hera_workers = not st.show_hera_workers
        self.tui.set_status("Hera workers " + ("shown" if st.show_hera_workers else "hidden"))

    def toggle_archived(self) -> None:
        """``A``: show / hide archived tasks."""
        st = self.tui.state
        st.show_archived = not st.show_archived
        self.tui.set_status("archived tasks " + ("shown" if st.show_archived else "hidden"))
