"""The agent view's diff: one file's (or the whole worktree's) unified or side-by-side diff, with
the task's draft review comments shown inline and its sent reviews listed above.

The pane is a list of screen rows. A diff row knows what a review comment on it names (file,
line number, text); a comment row knows its comment. ``j``/``k`` move a row cursor in both modes:
in the unified view a row is one diff line; in the split view a row pairs a removed (left) and an
added (right) line, and names the new-file line, or the old-file line when only a removed line is
on it. ``v`` marks the start of a range.

A draft comment is shown under the diff row holding its last quoted line (same file, a line number
within the comment's range, same text); one that matches no row (the agent changed those lines
since) is *outdated* and listed at the top of its file's diff, with its quoted lines.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any

from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.layout import Dimension, FormattedTextControl, Window

from .state import as_dict, parse_time

Target = tuple[str, int, str]  # (path, line number, the line's text without its +/-/space prefix)

COMMENT_STYLE = "class:review.comment fg:ansiyellow"
OUTDATED_STYLE = "class:review.outdated fg:ansimagenta"
HISTORY_STYLE = "class:review.history fg:ansicyan"
MARK_STYLE = "class:review.mark fg:ansiyellow bold"
HISTORY_SHOWN = 3  # sent reviews listed above the diff


@dataclass
class DiffLine:
    """One parsed line of a unified diff."""

    text: str
    kind: str  # "meta" | "hunk" | "ctx" | "del" | "add" | "note"
    path: str  # the file it belongs to ("" before the first header)
    target: Target | None  # what a comment on it names (None for headers)


def parse_diff(diff: str) -> list[DiffLine]:
    """Classify each line of a unified diff and number its hunk lines: the new file's number for
    added and context lines, the old file's for removed ones."""
    out: list[DiffLine] = []
    path, old_no, new_no, in_hunk = "", 0, 0, False
    for line in diff.splitlines():
        kind, target = "meta", None
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
            kind, in_hunk = "hunk", True
            head = line.split("@@")[1].split() if line.count("@@") >= 2 else []
            try:
                old_no = int(head[0].lstrip("-").split(",")[0])
                new_no = int(head[1].lstrip("+").split(",")[0])
            except (IndexError, ValueError):
                in_hunk = False
        elif in_hunk:
            if line.startswith("+"):
                kind, target, new_no = "add", (path, new_no, line[1:]), new_no + 1
            elif line.startswith("-"):
                kind, target, old_no = "del", (path, old_no, line[1:]), old_no + 1
            elif line.startswith("\\"):
                kind = "note"
            else:
                kind, target = "ctx", (path, new_no, line[1:])
                old_no, new_no = old_no + 1, new_no + 1
            if not path:
                target = None
        out.append(DiffLine(line, kind, path, target))
    return out


def line_targets(diff: str) -> list[Target | None]:
    """For each line of a unified diff, what a review comment on it names: the file, the line number
    (in the new file; in the old one for a removed line) and its text; None for headers."""
    return [d.target for d in parse_diff(diff)]


@dataclass
class DiffRow:
    """One row of a split diff: left (old) and right (new) text with their kinds, and what each
    side names for a review comment."""

    left: str
    right: str
    left_kind: str  # "ctx" | "del" | "add" | "hunk" | "meta" | ""
    right_kind: str
    path: str = ""
    left_target: Target | None = None
    right_target: Target | None = None

    @property
    def target(self) -> Target | None:
        """What a comment on this row names: the new-file line, else the old-file (removed) one."""
        return self.right_target or self.left_target


def split_rows(diff: str) -> list[DiffRow]:
    """Pair a unified diff's removed and added lines side by side, hunk by hunk."""
    rows: list[DiffRow] = []
    dels: list[DiffLine] = []
    adds: list[DiffLine] = []

    def flush() -> None:
        for i in range(max(len(dels), len(adds))):
            d = dels[i] if i < len(dels) else None
            a = adds[i] if i < len(adds) else None
            path = a.path if a else d.path if d else ""
            rows.append(DiffRow(d.text[1:] if d else "", a.text[1:] if a else "", "del" if d else "",
                                "add" if a else "", path, d.target if d else None, a.target if a else None))
        dels.clear()
        adds.clear()

    for d in parse_diff(diff):
        if d.kind == "del":
            dels.append(d)
        elif d.kind == "add":
            adds.append(d)
        else:
            flush()
            if d.kind == "meta":
                rows.append(DiffRow(d.text, "", "meta", "", d.path))
            elif d.kind == "hunk":
                rows.append(DiffRow(d.text, d.text, "hunk", "hunk", d.path))
            else:
                text = d.text[1:] if d.text.startswith(" ") else d.text
                target = d.target
                # a context line is the same line on both sides (numbered as in the new file)
                rows.append(DiffRow(text, text, "ctx", "ctx", d.path, None, target))
    flush()
    return rows


_KIND_STYLE = {"del": "class:diff.del", "add": "class:diff.add", "hunk": "class:diff.hunk",
               "meta": "class:diff.meta", "ctx": "", "note": "class:diff.meta", "": "class:diff.empty"}


def split_line(row: DiffRow, width: int) -> StyleAndTextTuples:
    """One side-by-side row ``width`` columns wide."""
    if row.left_kind == "meta":
        return [("class:diff.meta", row.left[:width])]
    half = max(10, (width - 3) // 2)
    left = row.left.expandtabs(4)[:half].ljust(half)
    right = row.right.expandtabs(4)[:half]
    return [(_KIND_STYLE[row.left_kind], left), ("class:diff.sep", " │ "), (_KIND_STYLE[row.right_kind], right)]


# -- comments in the diff ------------------------------------------------------------------------


def comment_label(c: dict[str, Any]) -> str:
    """``path:line`` or ``path:line-end`` of a comment."""
    line, end = c.get("line"), c.get("end_line")
    return f"{c.get('path')}:{line}" + (f"-{end}" if end not in (None, line) else "")


def anchor_of(comment: dict[str, Any], anchors: list[tuple[Target, ...]]) -> int | None:
    """The index of the row a comment shows under: the last row naming its file, a line within its
    range, and the text of its last quoted line. None: the comment is outdated."""
    path = comment.get("path")
    try:
        lo, hi = int(comment.get("line") or 0), int(comment.get("end_line") or comment.get("line") or 0)
    except (TypeError, ValueError):
        return None
    last = str(comment.get("quote") or "").split("\n")[-1]
    found = None
    for i, targets in enumerate(anchors):
        if any(t[0] == path and lo <= t[1] <= hi and t[2] == last for t in targets):
            found = i
    return found


def history_line(review: dict[str, Any]) -> str:
    """One sent review, as listed above the diff."""
    n = len(review.get("comments") or [])
    sent = parse_time(review.get("created_at"))
    when = sent.astimezone().strftime("%m-%d %H:%M") if sent else "?"
    state = "typed into the agent" if review.get("delivered") else "queued until the agent is idle"
    note = str(review.get("summary") or "").strip().splitlines()
    return (f" ✉ review #{review.get('id')} sent {when} · {n} comment{'s' if n != 1 else ''} · {state}"
            + (f" · “{note[0][:60]}”" if note else ""))


@dataclass
class ViewRow:
    """One screen row of the diff pane."""

    fragments: StyleAndTextTuples
    target: Target | None = None  # what a comment on it names
    comment: dict[str, Any] | None = None  # the draft comment this row shows
    anchors: tuple[Target, ...] = ()  # the lines a comment may be anchored to
    kind: str = ""
    path: str = ""


@dataclass
class _Layout:
    """What the rows were built from (a change rebuilds them)."""

    key: tuple[Any, ...] = ()
    rows: list[ViewRow] = field(default_factory=list)
    outdated: list[dict[str, Any]] = field(default_factory=list)


def _same_row(old: ViewRow, new: ViewRow) -> bool:
    """True when ``new`` shows what ``old`` showed (the same comment, or the same diff line)."""
    if old.comment is not None or new.comment is not None:
        return old.comment is not None and new.comment is not None and old.comment.get("id") == new.comment.get("id")
    return old.target is not None and new.target == old.target


class DiffPane:
    """One file's diff (or the whole worktree's), unified or split, with a row cursor and the
    task's review comments inline."""

    def __init__(self) -> None:
        self.path: str | None = None
        self.diff = ""
        self._split = False
        self.scroll = 0
        self.cursor = 0  # the row under the cursor
        self.mark: int | None = None  # the other end of a selected range (``v``)
        self.comments: list[dict[str, Any]] = []  # the task's draft comments
        self.reviews: list[dict[str, Any]] = []  # the task's sent reviews, newest first
        self.width = 80
        self._layout = _Layout()
        self._version = 0
        self.control = FormattedTextControl(self._fragments, focusable=True, show_cursor=False)
        self.window = Window(self.control, wrap_lines=False, width=Dimension(weight=3))

    # -- inputs ------------------------------------------------------------------------------

    def load(self, body: Any, path: str | None) -> None:
        """Show a git/diff answer; the cursor starts on the first changed line."""
        self.path = path
        self.diff = str(as_dict(body).get("diff") or "")
        self.scroll = 0
        self.mark = None
        self._changed()
        self.cursor = next((i for i, r in enumerate(self.rows) if r.kind in ("add", "del")), 0)
        self._follow()

    def set_review(self, comments: list[dict[str, Any]], reviews: list[dict[str, Any]]) -> None:
        """The task's draft comments and sent reviews (the cursor stays on its row)."""
        self.comments = [c for c in comments if isinstance(c, dict)]
        self.reviews = [r for r in reviews if isinstance(r, dict)]
        self._changed()

    @property
    def split(self) -> bool:
        """Side-by-side (True) or unified (False)."""
        return self._split

    @split.setter
    def split(self, value: bool) -> None:
        self._split = value
        self.mark = None
        self._changed()

    @property
    def targets(self) -> list[Target | None]:
        """What a comment on each row names (None for headers and comment rows)."""
        return [r.target for r in self.rows]

    def _changed(self) -> None:
        """Rebuild the rows now, keeping the cursor on the row (or comment) it was on: on the same
        row of a comment's block (a comment spans several rows, all of which show that comment)."""
        before = self._layout.rows
        old = before[self.cursor] if 0 <= self.cursor < len(before) else None
        nth = sum(1 for r in before[:self.cursor] if _same_row(old, r)) if old is not None else 0
        self._version += 1
        rows = self.rows
        if old is not None:
            same = [i for i, r in enumerate(rows) if _same_row(old, r)]
            if same:
                self.cursor = same[min(nth, len(same) - 1)]
        self.cursor = max(0, min(self.cursor, len(rows) - 1))
        if self.mark is not None:
            self.mark = max(0, min(self.mark, len(rows) - 1))

    # -- the rows ----------------------------------------------------------------------------

    @property
    def rows(self) -> list[ViewRow]:
        """The screen rows (rebuilt when the diff, mode, width or comments change)."""
        key = (self._version, self._split, self.width if self._split else 0)
        if self._layout.key != key:
            self._layout = self._build(key)
        return self._layout.rows

    @property
    def outdated(self) -> list[dict[str, Any]]:
        """The draft comments of this diff whose lines it no longer holds."""
        _ = self.rows
        return self._layout.outdated

    def _diff_rows(self) -> list[ViewRow]:
        if self._split:
            return [ViewRow(split_line(r, self.width), r.target,
                            anchors=tuple(t for t in (r.left_target, r.right_target) if t),
                            kind=("del" if r.left_kind == "del" and r.right_kind != "add" else
                                  "add" if r.right_kind == "add" else r.left_kind), path=r.path)
                    for r in split_rows(self.diff)]
        return [ViewRow([(_KIND_STYLE[d.kind], d.text.expandtabs(4))], d.target,
                        anchors=(d.target,) if d.target else (), kind=d.kind, path=d.path)
                for d in parse_diff(self.diff)]

    def _comment_rows(self, c: dict[str, Any], style: str, outdated: bool = False) -> list[ViewRow]:
        wrap = max(20, self.width - 6)
        head = (f"  ┌ {comment_label(c)}" + (" (outdated: these lines changed)" if outdated else "")
                + " · e edit · x delete")
        rows = [ViewRow([(style + " bold", head)], comment=c)]
        if outdated:
            rows += [ViewRow([(style, f"  │ > {q}"[:wrap + 6])], comment=c)
                     for q in str(c.get("quote") or "").split("\n")]
        for para in str(c.get("body") or "").splitlines() or [""]:
            for piece in textwrap.wrap(para, wrap) or [""]:
                rows.append(ViewRow([(style, f"  │ {piece}")], comment=c))
        return rows

    def _build(self, key: tuple[Any, ...]) -> _Layout:
        diff_rows = self._diff_rows()
        mine = [c for c in self.comments if self.path is None or c.get("path") == self.path]
        anchors = [r.anchors for r in diff_rows]
        under: dict[int, list[dict[str, Any]]] = {}
        outdated: list[dict[str, Any]] = []
        for c in mine:
            at = anchor_of(c, anchors)
            if at is None:
                outdated.append(c)
            else:
                under.setdefault(at, []).append(c)
        rows: list[ViewRow] = []
        for review in self.reviews[:HISTORY_SHOWN]:
            rows.append(ViewRow([(HISTORY_STYLE, history_line(review))]))
        if len(self.reviews) > HISTORY_SHOWN:
            rows.append(ViewRow([(HISTORY_STYLE, f"   (+{len(self.reviews) - HISTORY_SHOWN} older reviews)")]))
        files = {r.path for r in diff_rows if r.kind in ("hunk", "add", "del", "ctx")}
        waiting = {p: [c for c in outdated if c.get("path") == p] for p in {str(c.get("path")) for c in outdated}}

        def outdated_block(path: str) -> None:
            group = waiting.pop(path, [])
            if group:
                rows.append(ViewRow([(OUTDATED_STYLE + " bold",
                                      f" ⚠ {len(group)} outdated comment{'s' if len(group) != 1 else ''} on "
                                      f"{path} (sent with their quoted lines)")]))
                for c in group:
                    rows.extend(self._comment_rows(c, OUTDATED_STYLE, outdated=True))

        for path in sorted(p for p in list(waiting) if p not in files):
            outdated_block(path)  # files this diff no longer shows: at the top
        for i, r in enumerate(diff_rows):
            if r.kind == "hunk":
                outdated_block(r.path)
            if i in under:
                r = ViewRow([(MARK_STYLE, "●"), *r.fragments], r.target, anchors=r.anchors, kind=r.kind, path=r.path)
            elif r.kind not in ("meta", ""):
                r = ViewRow([("", " "), *r.fragments], r.target, anchors=r.anchors, kind=r.kind, path=r.path)
            rows.append(r)
            for c in under.get(i, []):
                rows.extend(self._comment_rows(c, COMMENT_STYLE))
        return _Layout(key, rows, outdated)

    # -- the cursor --------------------------------------------------------------------------

    def _height(self) -> int:
        info = self.window.render_info
        return max(1, (info.window_height if info is not None else 24) - 1)  # minus the title line

    def _follow(self) -> None:
        if self.cursor < self.scroll:
            self.scroll = self.cursor
        elif self.cursor >= self.scroll + self._height():
            self.scroll = self.cursor - self._height() + 1

    def scroll_by(self, n: int) -> None:
        """Move the cursor ``n`` rows (negative: up)."""
        rows = self.rows
        self.cursor = max(0, min(len(rows) - 1, self.cursor + n)) if rows else 0
        self._follow()

    def toggle_mark(self) -> None:
        """``v``: start a range at the cursor (again: drop it)."""
        self.mark = None if self.mark is not None else self.cursor

    def selection(self) -> tuple[str, int, int, str] | None:
        """The commented lines: ``(path, line, end_line, quote)``, or None when the cursor (or the
        range) holds no changed-file line or spans two files."""
        rows = self.rows
        if not rows:
            return None
        lo, hi = sorted((self.cursor, self.cursor if self.mark is None else self.mark))
        picked = [r.target for r in rows[lo:hi + 1] if r.target is not None]
        if not picked or len({t[0] for t in picked}) != 1:
            return None
        numbers = [t[1] for t in picked]
        return picked[0][0], min(numbers), max(numbers), "\n".join(t[2] for t in picked)

    def comment_at_cursor(self) -> dict[str, Any] | None:
        """The draft comment shown on the row under the cursor, if any."""
        rows = self.rows
        return rows[self.cursor].comment if 0 <= self.cursor < len(rows) else None

    # -- drawing -----------------------------------------------------------------------------

    def _fragments(self) -> StyleAndTextTuples:
        info = self.window.render_info
        if info is not None and info.window_width != self.width:
            self.width = info.window_width
            if self._split or self.comments:
                self._changed()
        mode = "split" if self._split else "unified"
        count = len([c for c in self.comments if self.path is None or c.get("path") == self.path])
        drafts = f" · {count} draft comment{'s' if count != 1 else ''}" if count else ""
        head: StyleAndTextTuples = [("class:pane.title.focused",
                                     f" Diff · {self.path or 'worktree'} · {mode}{drafts} "
                                     "(c comment · v range · R send · s split)\n")]
        rows = self.rows
        if not self.diff.strip() and not rows:
            return head + [("class:task.dim", " no changes\n")]
        out = list(head)
        lo, hi = sorted((self.cursor, self.cursor if self.mark is None else self.mark))
        for index, row in enumerate(rows[self.scroll:], start=self.scroll):
            line = row.fragments
            if lo <= index <= hi:
                line = [(f"{style} reverse", text) for style, text, *_ in line] or [("reverse", " ")]
            out.extend(line)
            out.append(("", "\n"))
        if not self.diff.strip():
            out.append(("class:task.dim", " no changes\n"))
        return out
