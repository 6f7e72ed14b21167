"""The agent view's side panes: changed files (git status), the worktree file tree, and the diff.

Keys (when a pane has focus): ``j``/``k`` move, ``Enter`` opens the diff (or a directory),
``s`` toggles split/unified, ``e`` opens ``$EDITOR``, ``t`` a terminal in the worktree, ``o`` the
default app, ``Tab`` switches between the two lists, ``Esc`` refocuses the terminal. In the unified
diff ``j``/``k`` move a line cursor: ``v`` marks the start of a range, ``c`` comments on the line (or
range) under the cursor, ``R`` sends the draft review (review in place).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.formatted_text.utils import split_lines
from prompt_toolkit.layout import Dimension, FormattedTextControl, Window

from .state import as_dict, as_list


@dataclass
class DiffRow:
    """One row of a split diff: left (old) and right (new) text with their kinds."""

    left: str
    right: str
    left_kind: str  # "ctx" | "del" | "add" | "hunk" | "meta" | ""
    right_kind: str


def split_rows(diff: str) -> list[DiffRow]:
    """Pair a unified diff's removed and added lines side by side, hunk by hunk."""
    rows: list[DiffRow] = []
    dels: list[str] = []
    adds: list[str] = []

    def flush() -> None:
        for i in range(max(len(dels), len(adds))):
            left = dels[i] if i < len(dels) else ""
            right = adds[i] if i < len(adds) else ""
            rows.append(DiffRow(left, right, "del" if i < len(dels) else "", "add" if i < len(adds) else ""))
        dels.clear()
        adds.clear()

    for line in diff.splitlines():
        if line.startswith(("---", "+++", "diff ", "index ", "new file", "deleted file", "similarity", "rename")):
            flush()
            rows.append(DiffRow(line, "", "meta", ""))
        elif line.startswith("@@"):
            flush()
            rows.append(DiffRow(line, line, "hunk", "hunk"))
        elif line.startswith("-"):
            dels.append(line[1:])
        elif line.startswith("+"):
            adds.append(line[1:])
        else:
            flush()
            text = line[1:] if line.startswith(" ") else line
            rows.append(DiffRow(text, text, "ctx", "ctx"))
    flush()
    return rows


_KIND_STYLE = {"del": "class:diff.del", "add": "class:diff.add", "hunk": "class:diff.hunk",
               "meta": "class:diff.meta", "ctx": "", "": "class:diff.empty"}


Target = tuple[str, int, str]  # (path, line number, the line's text without its +/-/space prefix)


def line_targets(diff: str) -> list[Target | None]:
    """For each line of a unified diff, what a review comment on it names: the file, the line number
    (in the new file; in the old one for a removed line) and its text; None for headers."""
    out: list[Target | None] = []
    path, old_no, new_no, in_hunk = "", 0, 0, False
    for line in diff.splitlines():
        target: Target | None = None
        if line.startswith("diff "):
            in_hunk = False
        elif not in_hunk and line.startswith("--- "):
            name = line[4:].strip()
            path = name[2:] if name.startswith("a/") else ("" if name == "/dev/null" else name)
        elif not in_hunk and line.startswith("+++ "):
            name = line[4:].strip()
            if name != "/dev/null":
                path = name[2:] if name.startswith("b/") else name
        elif line.startswith("@@"):
            in_hunk = True
            head = line.split("@@")[1].split() if line.count("@@") >= 2 else []
            try:
                old_no = int(head[0].lstrip("-").split(",")[0])
                new_no = int(head[1].lstrip("+").split(",")[0])
            except (IndexError, ValueError):
                in_hunk = False
        elif in_hunk and path:
            if line.startswith("+"):
                target, new_no = (path, new_no, line[1:]), new_no + 1
            elif line.startswith("-"):
                target, old_no = (path, old_no, line[1:]), old_no + 1
            elif not line.startswith("\\"):
                target, old_no, new_no = (path, new_no, line[1:]), old_no + 1, new_no + 1
        out.append(target)
    return out


def unified_fragments(diff: str) -> StyleAndTextTuples:
    """A unified diff with added/removed/hunk lines coloured."""
    out: StyleAndTextTuples = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---", "diff ", "index ")):
            style = "class:diff.meta"
        elif line.startswith("@@"):
            style = "class:diff.hunk"
        elif line.startswith("+"):
            style = "class:diff.add"
        elif line.startswith("-"):
            style = "class:diff.del"
        else:
            style = ""
        out.append((style, line.expandtabs(4) + "\n"))
    return out


def split_fragments(diff: str, width: int) -> StyleAndTextTuples:
    """A side-by-side diff ``width`` columns wide."""
    half = max(10, (width - 3) // 2)
    out: StyleAndTextTuples = []
    for row in split_rows(diff):
        if row.left_kind == "meta":
            out.append(("class:diff.meta", row.left[:width] + "\n"))
            continue
        left = row.left.expandtabs(4)[:half].ljust(half)
        right = row.right.expandtabs(4)[:half]
        out.append((_KIND_STYLE[row.left_kind], left))
        out.append(("class:diff.sep", " │ "))
        out.append((_KIND_STYLE[row.right_kind], right + "\n"))
    return out


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


class DiffPane:
    """One file's diff (or the whole worktree's), unified or split, scrollable."""

    def __init__(self) -> None:
        self.path: str | None = None
        self.diff = ""
        self.split = False
        self.scroll = 0
        self.cursor = 0  # the line under the cursor (unified mode)
        self.mark: int | None = None  # the other end of a selected range (``v``)
        self.targets: list[Target | None] = []
        self.width = 80
        self.control = FormattedTextControl(self._fragments, focusable=True, show_cursor=False)
        self.window = Window(self.control, wrap_lines=False, width=Dimension(weight=3))

    def load(self, body: Any, path: str | None) -> None:
        """Show a git/diff answer."""
        self.path = path
        self.diff = str(as_dict(body).get("diff") or "")
        self.targets = line_targets(self.diff)
        self.scroll = 0
        self.mark = None
        # the cursor starts on the first changed line
        self.cursor = next((i for i, line in enumerate(self.diff.splitlines())
                            if line[:1] in "+-" and not line.startswith(("+++", "---"))), 0)
        self._follow()

    def _height(self) -> int:
        info = self.window.render_info
        return max(1, (info.window_height if info is not None else 24) - 1)  # minus the title line

    def _follow(self) -> None:
        if self.cursor < self.scroll:
            self.scroll = self.cursor
        elif self.cursor >= self.scroll + self._height():
            self.scroll = self.cursor - self._height() + 1

    def scroll_by(self, n: int) -> None:
        """Move the cursor ``n`` lines in the unified diff (negative: up); scroll the split one."""
        total = self.diff.count("\n") + 2
        if self.split:
            self.scroll = max(0, min(total, self.scroll + n))
            return
        self.cursor = max(0, min(len(self.targets) - 1, self.cursor + n)) if self.targets else 0
        self._follow()

    def toggle_mark(self) -> None:
        """``v``: start a range at the cursor (again: drop it)."""
        self.mark = None if self.mark is not None else self.cursor

    def selection(self) -> tuple[str, int, int, str] | None:
        """The commented lines: ``(path, line, end_line, quote)``, or None when the cursor (or the
        range) holds no changed-file line or spans two files."""
        if self.split or not self.targets:
            return None
        lo, hi = sorted((self.cursor, self.cursor if self.mark is None else self.mark))
        picked = [t for t in self.targets[lo:hi + 1] if t is not None]
        if not picked or len({t[0] for t in picked}) != 1:
            return None
        numbers = [t[1] for t in picked]
        return picked[0][0], min(numbers), max(numbers), "\n".join(t[2] for t in picked)

    def _fragments(self) -> StyleAndTextTuples:
        info = self.window.render_info
        if info is not None:
            self.width = info.window_width
        mode = "split" if self.split else "unified"
        hint = "s toggles, ctrl+q back" if self.split else "c comment, v range, R send review, s split"
        head: StyleAndTextTuples = [("class:pane.title.focused",
                                     f" Diff · {self.path or 'worktree'} · {mode} ({hint})\n")]
        if not self.diff.strip():
            return head + [("class:task.dim", " no changes\n")]
        body = split_fragments(self.diff, self.width) if self.split else unified_fragments(self.diff)
        lines = list(split_lines(body))
        out = list(head)
        lo, hi = sorted((self.cursor, self.cursor if self.mark is None else self.mark))
        for index, line in enumerate(lines[self.scroll:], start=self.scroll):
            if not self.split and lo <= index <= hi:
                line = [(f"{style} reverse", text) for style, text, *_ in line] or [("reverse", " ")]
            out.extend(line)
            out.append(("", "\n"))
        return out
