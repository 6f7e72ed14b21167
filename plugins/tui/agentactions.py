"""The agent view's actions: the task switcher, links, the staged clipboard, the PR, panel and task
navigation, going back, and the side panes' open / edit / terminal keys.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from prompt_toolkit.key_binding import KeyPressEvent

from . import navkeys
from .agentview import links_of
from .client import ApiError, task_path
from .forms import Picker, PickerItem
from .state import as_dict, needs_you, task_name
from .tasklist import build_rows

if TYPE_CHECKING:  # pragma: no cover
    from .app import ArgusTui
    from .panes import ListPane


class AgentActions:
    """What the agent view's commands do."""

    def __init__(self, tui: ArgusTui) -> None:
        self.tui = tui
        self.agent = tui.agent

    def task_switcher(self) -> None:
        """``ctrl+k``: fuzzy switcher over every task, those needing input first."""
        items = []
        for t in self.tui.state.tasks.values():
            if t.get("archived"):
                continue
            waiting = needs_you(t)
            items.append(PickerItem(task_name(t), str(t.get("id")), "class:status.needs" if waiting else "",
                                    f"{t.get('project') or ''} · {t.get('status') or ''}"
                                    + (" · needs you" if waiting else ""), pinned=waiting))
        items.sort(key=lambda i: (not i.pinned, i.label))
        self.tui.open_modal(Picker("Switch task", items, self.tui.open_task, on_close=self.tui.close_modal,
                               empty_text="no task matches"))

    def link_picker(self) -> None:
        """``ctrl+l`` in the agent view: every URL the session printed."""
        tid = self.agent.task_id
        if not tid:
            return

        async def go() -> None:
            links = links_of(await self.tui.client.get(task_path(tid, "/links")))
            if not links:
                self.tui.set_status("no links in this session's output")
                return
            items = [PickerItem(link["url"], link["url"], detail=link["label"] if link["label"] != link["url"]
                                else "") for link in links]

            def pick(url: str) -> None:
                how = self.tui.desktop.copy_to_clipboard(url)
                if self.tui.state.remote:
                    self.tui.set_status(f"copied {url} ({how})")
                else:
                    self.tui.desktop.open_url(url, copied=how)
            self.tui.open_modal(Picker("Links", items, pick, on_close=self.tui.close_modal))
        self.tui.spawn(go(), name="links")

    def staged_clipboard(self) -> None:
        """``ctrl+y``: copy the agent-staged text, or send ctrl+y to the agent when none is staged."""
        async def go() -> None:
            try:
                body = as_dict(await self.tui.client.get("/api/clipboard"))
            except ApiError as exc:
                if exc.status == 404:
                    self.agent.send(b"\x19")
                    return
                raise
            text = body.get("text")
            if not isinstance(text, str) or not text:
                self.agent.send(b"\x19")
                return
            how = self.tui.desktop.copy_to_clipboard(text)
            try:
                await self.tui.client.post("/api/clipboard/consume")
            except ApiError:
                pass
            self.tui.set_status(f"copied {len(text)} staged character(s) ({how})")
        self.tui.spawn(go(), name="clipboard")

    def open_pr(self) -> None:
        """``ctrl+p``: the worktree branch's pull request."""
        task = self.agent.task
        self.tui.desktop.run_gh(["pr", "view", "--web"], str(task.get("worktree_path") or ""), "open PR")

    def agent_nav(self, event: KeyPressEvent) -> None:
        """Alt/Cmd+←/→: switch panels (no-op when zoomed); Alt/Cmd+↑/↓: previous/next task."""
        press = event.key_sequence[0]
        way = navkeys.direction(press)
        if way is None:  # a real Shift+F9..F12: the agent's
            if self.agent.focus == "terminal":
                self.agent.forward(event.key_sequence)
            return
        if way in ("left", "right"):
            target = navkeys.next_panel(self.agent.focus, -1 if way == "left" else 1, self.agent.zoomed)
            if target is None:
                self.tui.set_status("side panels are hidden: ctrl+z shows them")
            else:
                self.agent.set_focus(target)
            return
        ids = [r.task_id for r in build_rows(self.tui.state) if r.kind == "task" and r.task_id]
        live = [i for i in ids if not self.tui.state.tasks.get(i, {}).get("archived")] or ids
        target_id = navkeys.neighbour(live, self.agent.task_id, -1 if way == "up" else 1)
        if target_id is None:
            self.tui.set_status("no other task")
            return
        self.tui.tasklist.selected_id = target_id
        self.tui.open_task(target_id)

    def agent_back(self) -> None:
        """``ctrl+q`` in the agent view: diff → files panel → task list."""
        if self.agent.back():
            self.tui.show_list()

    def pane_open_editor(self) -> None:
        """``e`` in a pane: the selected file in ``$EDITOR``."""
        path = self.agent.selected_path()
        wt = str(self.agent.task.get("worktree_path") or "")
        if not path:
            self.tui.set_status("no file selected")
            return
        editor = os.environ.get("EDITOR") or os.environ.get("VISUAL") or "vi"
        self.tui.desktop.run_in_worktree([*editor.split(), path], wt)

    def pane_terminal(self) -> None:
        """``t`` in a pane: a shell in the worktree (a tmux window when inside tmux)."""
        wt = str(self.agent.task.get("worktree_path") or "")
        if os.environ.get("TMUX") and shutil.which("tmux") and not self.tui.state.remote and Path(wt).is_dir():
            subprocess.run(["tmux", "new-window", "-c", wt], check=False)
            self.tui.set_status(f"opened a tmux window in {wt}")
            return
        self.tui.desktop.run_in_worktree([os.environ.get("SHELL") or "/bin/sh"], wt)

    def pane_open_default(self, reveal: bool = False) -> None:
        """``o`` in a pane: the selected file with the default app; ``f`` (``reveal``): its folder."""
        path = self.agent.selected_path()
        wt = str(self.agent.task.get("worktree_path") or "")
        if not path:
            self.tui.set_status("no file selected")
            return
        if self.tui.state.remote:
            self.tui.set_status("remote mode: the worktree is on the daemon's machine", error=True)
            return
        full = Path(wt) / path
        if not full.exists():
            self.tui.set_status(f"{path} is not in the worktree (deleted?)", error=True)
            return
        if reveal and sys.platform == "darwin" and shutil.which("open"):
            self.tui.spawn(asyncio.create_subprocess_exec("open", "-R", str(full), stdin=subprocess.DEVNULL,
                                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
                       name="reveal")
            self.tui.set_status(f"revealed {path}")
            return
        self.tui.desktop.open_url(str(full.parent if reveal and not full.is_dir() else full))

    def scroll_page(self, direction: int) -> None:
        """Shift+PgUp / Shift+PgDn: scroll the terminal by three steps."""
        for _ in range(3):
            self.agent.scroll(direction)

    def toggle_split(self) -> None:
        """``s`` in a pane: split / unified diff (opening the selected file's diff from a list)."""
        self.agent.diff.split = not self.agent.diff.split
        if self.agent.focus != "diff":
            self.agent.pane_enter()

    def other_list(self) -> None:
        """``Tab`` in a side list: the other list."""
        self.agent.set_focus("files" if self.agent.focus == "changes" else "changes")

    def pane(self) -> ListPane:
        """The focused side list."""
        return self.agent.files if self.agent.focus == "files" else self.agent.changes
