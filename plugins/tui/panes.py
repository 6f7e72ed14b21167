"""The agent view's side panes: changed files (git status) and the worktree file tree; the diff
pane lives in ``diffview`` (re-exported here).

Keys (when a pane has focus): ``j``/``k`` move, ``Enter`` opens the diff (or a directory),
``s`` toggles split/unified, ``e`` opens ``$EDITOR``, ``t`` a terminal in the worktree, ``o`` the
default app, ``Tab`` switches between the two lists, ``Esc`` refocuses the terminal. In the diff
(unified or split) ``j``/``k`` move a row cursor: ``v`` marks the start of a range, ``c`` comments
on the line (or range) under the cursor, ``e``/``x`` edit/delete the comment under the cursor,
``R`` sends the draft review (review in place; see ``review``).
"""

from __future__ import annotations

from typing import Any

from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.layout import Dimension, FormattedTextControl, Window

from .diffview import DiffPane, DiffRow, Target, line_targets, split_rows
from .state import as_dict, as_list

__all__ = ["ChangesPane", "DiffPane", "DiffRow", "FilesPane", "ListPane", "Target", "line_targets", "split_rows"]


class ListPane:
    """A selectable list of entries rendered in a Window (changed files or a directory)."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.entries: list[dict[str, Any]] = []
        self.index = 0
        self.focused = False
        self.error = ""
        self.control = FormattedTextControl(self._fragments, focusable=True, show_cursor=False)
        self.window = Window(self.control, wrap_lines=False, style="class:pane", width=Dimension(weight=1))

    def set_entries(self, entries: list[dict[str, Any]]) -> None:
        """Replace the entries, keeping the index in range."""
        self.entries = entries
        self.index = max(0, min(self.index, len(entries) - 1))

    def move(self, step: int) -> None:
        """Move the selection."""
        if self.entries:
            self.index = max(0, min(len(self.entries) - 1, self.index + step))

    def selected(self) -> dict[str, Any] | None:
        """The selected entry, or None."""
        return self.entries[self.index] if 0 <= self.index < len(self.entries) else None

    def label(self, entry: dict[str, Any]) -> tuple[str, str]:
        """(style, text) of one entry."""
        return ("", str(entry.get("path") or entry.get("name") or "?"))

    def _fragments(self) -> StyleAndTextTuples:
        head = "class:pane.title.focused" if self.focused else "class:pane.title"
        out: StyleAndTextTuples = [(head, f" {self.title}\n")]
        if self.error:
            out.append(("class:status.failed", f" {self.error}\n"))
        if not self.entries:
            out.append(("class:task.dim", " (nothing)\n"))
        for i, e in enumerate(self.entries):
            style, text = self.label(e)
            sel = i == self.index
            if sel:
                out.append(("[SetCursorPosition]", ""))
            s = f"{style} class:task.selected" if sel and self.focused else (f"{style} reverse" if sel else style)
            out.append((s, f" {text}\n"))
        return out


class ChangesPane(ListPane):
    """Changed files of the worktree (``GET /api/tasks/{id}/git/status``)."""

    def __init__(self) -> None:
        super().__init__("Changes")
        self.summary = ""

    def load(self, body: Any) -> None:
        """Fill from a git/status answer."""
        body = as_dict(body)
        files = [f for f in as_list(body.get("files")) if isinstance(f, dict)]
        if not files and isinstance(body.get("status"), str):
            for line in body["status"].splitlines():
                if len(line) > 3:
                    files.append({"status": line[:2].strip(), "path": line[3:]})
        self.set_entries(files)
        ahead = body.get("ahead")
        self.title = f"Changes · {body.get('branch') or '?'}" + (f" +{ahead}" if ahead else "")

    def label(self, entry: dict[str, Any]) -> tuple[str, str]:
        """Status letters then path, coloured by kind."""
        st = str(entry.get("status") or "")
        style = {"M": "class:diff.hunk", "A": "class:diff.add", "??": "class:diff.add", "D": "class:diff.del"}.get(
            st, "")
        return (style, f"{st:>2} {entry.get('path', '?')}")


class FilesPane(ListPane):
    """The worktree's files, one directory at a time (``GET /api/tasks/{id}/files?dir=``)."""

    def __init__(self) -> None:
        super().__init__("Files")
        self.dir = ""

    def load(self, body: Any) -> None:
        """Fill from a files answer; a ``..`` entry leads up when not at the root."""
        body = as_dict(body)
        self.dir = str(body.get("dir") or "")
        entries = [e for e in as_list(body.get("entries")) if isinstance(e, dict)]
        entries.sort(key=lambda e: (e.get("type") != "dir", str(e.get("name", ""))))
        if self.dir:
            parent = self.dir.rsplit("/", 1)[0] if "/" in self.dir else ""
            entries.insert(0, {"name": "..", "path": parent, "type": "dir"})
        self.index = 0
        self.set_entries(entries)
        self.title = f"Files · /{self.dir}"

    def label(self, entry: dict[str, Any]) -> tuple[str, str]:
        """Directories end with a slash."""
        if entry.get("type") == "dir":
            return ("class:pane.dir", f"{entry.get('name')}/")
        return ("", str(entry.get("name")))
