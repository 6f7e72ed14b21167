"""This machine's side of the TUI: the clipboard, the URL opener, ``gh``, and programs run in a
worktree (an editor, a shell) while the UI is suspended.

In remote mode the worktrees live on the daemon's machine: the helpers that need them say so in
the status line instead of acting.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import subprocess
import sys
import webbrowser
from pathlib import Path
from typing import Any

from prompt_toolkit.application import Application, run_in_terminal

from .host import UiHost


class Desktop:
    """Clipboard, opener, ``gh`` and suspended programs, reporting through ``host``'s status line."""

    def __init__(self, host: UiHost, app: Application[Any]) -> None:
        self.host = host
        self.app = app

    def copy_to_clipboard(self, text: str) -> str:
        """Copy ``text`` with OSC 52 (works over SSH/tmux) and a local tool when one exists."""
        payload = base64.b64encode(text.encode()).decode()
        try:
            self.app.output.write_raw(f"\x1b]52;c;{payload}\x07")
            self.app.output.flush()
        except Exception:
            pass
        for cmd in (["pbcopy"], ["wl-copy"], ["xclip", "-selection", "clipboard"], ["xsel", "-b", "-i"]):
            if shutil.which(cmd[0]) and (cmd[0] == "pbcopy" or os.environ.get("DISPLAY")
                                         or os.environ.get("WAYLAND_DISPLAY")):
                try:
                    subprocess.run(cmd, input=text.encode(), timeout=2, check=False,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    return cmd[0]
                except (OSError, subprocess.SubprocessError):
                    continue
        return "OSC 52"

    def open_url(self, url: str, *, copied: str = "") -> None:
        """Open ``url`` (or a local path) with this machine's opener, quietly; a failure is reported
        in the status line. ``copied``: how the URL was already copied (said in either case)."""
        opener = (shutil.which("open") if sys.platform == "darwin" else None) or shutil.which("xdg-open")
        also = f" (copied too, {copied})" if copied else ""

        def failed(why: str) -> None:
            if copied:
                self.host.set_status(f"could not open {url} ({why}); copied it instead ({copied})", error=True)
            else:
                self.host.set_status(f"could not open {url}: {why}", error=True)

        if opener is None:
            try:
                if webbrowser.open(url):
                    self.host.set_status(f"opened {url}{also}")
                else:
                    failed("no opener (xdg-open) and no browser found")
            except Exception as exc:
                failed(str(exc))
            return

        async def go() -> None:
            try:
                proc = await asyncio.create_subprocess_exec(
                    opener, url, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                    start_new_session=True)
            except OSError as exc:
                failed(str(exc))
                return
            try:
                # Openers hand over and exit quickly; one still running after a while is showing it.
                _, err = await asyncio.wait_for(proc.communicate(), 5.0)
            except TimeoutError:
                self.host.set_status(f"opened {url}{also}")
                return
            if proc.returncode:
                lines = err.decode(errors="replace").strip().splitlines()
                failed(lines[-1][:160] if lines else f"{Path(opener).name} exited with {proc.returncode}")
            else:
                self.host.set_status(f"opened {url}{also}")
        self.host.spawn(go(), name="open")

    def run_gh(self, args: list[str], cwd: str | None, what: str) -> None:
        """Run ``gh`` (open repo / PR in the browser) in ``cwd``, reporting in the status line."""
        if self.host.state.remote:
            self.host.set_status(f"remote mode: {what} runs gh in the daemon host's checkout; not available here",
                            error=True)
            return
        gh = shutil.which("gh")
        if gh is None:
            self.host.set_status(f"{what}: gh (GitHub CLI) is not installed", error=True)
            return
        if not cwd or not Path(cwd).is_dir():
            self.host.set_status(f"{what}: no local checkout ({cwd or 'unknown path'})", error=True)
            return

        async def go() -> None:
            proc = await asyncio.create_subprocess_exec(gh, *args, cwd=cwd, stdin=subprocess.DEVNULL,
                                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            _, err = await proc.communicate()
            if proc.returncode:
                self.host.set_status(f"{what}: {err.decode(errors='replace').strip()[:200]}", error=True)
            else:
                self.host.set_status(f"{what}: opened in the browser")
        self.host.spawn(go(), name=what)

    def run_in_worktree(self, argv: list[str], cwd: str) -> None:
        """Suspend the UI and run ``argv`` in ``cwd`` (an editor, a shell); the UI comes back after."""
        if self.host.state.remote:
            self.host.set_status("remote mode: the worktree is on the daemon's machine", error=True)
            return
        if not Path(cwd).is_dir():
            self.host.set_status(f"no local worktree at {cwd}", error=True)
            return

        def run() -> None:
            subprocess.run(argv, cwd=cwd, check=False)

        async def go() -> None:
            await run_in_terminal(run, in_executor=False)
            self.app.renderer.clear()
            self.host.invalidate()  # repaint now, not at the next key press
        self.host.spawn(go(), name=argv[0])
