"""The TUI diff pane's rows: what a comment names in the unified and the split view, draft comments
shown under their lines, outdated ones at the top of their file, and the sent reviews above."""

from __future__ import annotations

from typing import Any

from argus.plugins.tui.diffview import DiffPane, anchor_of, split_rows

DIFF = ("diff --git a/app.py b/app.py\nindex 1..2 100644\n--- a/app.py\n+++ b/app.py\n"
        "@@ -1,5 +1,5 @@\n keep\n-old two\n-old three\n+new two\n tail four\n five\n"
        "diff --git a/b.txt b/b.txt\n--- a/b.txt\n+++ b/b.txt\n@@ -1 +1,2 @@\n b1\n+b2\n")


def pane(split: bool = False, comments: list[dict[str, Any]] | None = None) -> DiffPane:
    p = DiffPane()
    p.width = 100
    p.load({"diff": DIFF}, None)
    p.split = split
    if comments:
        p.set_review(comments, [])
    return p


def comment(cid: int, path: str, line: int, quote: str, body: str = "fix", end: int | None = None) -> dict[str, Any]:
    return {"id": cid, "path": path, "line": line, "end_line": end or line, "quote": quote, "body": body}


def row_text(p: DiffPane, i: int) -> str:
    return "".join(f[1] for f in p.rows[i].fragments)


def test_split_rows_name_the_new_line_or_the_removed_one() -> None:
    rows = [r for r in split_rows(DIFF) if r.path == "app.py" and r.left_kind != "meta"]
    assert [r.target for r in rows[1:]] == [("app.py", 1, "keep"), ("app.py", 2, "new two"),
                                            ("app.py", 3, "old three"), ("app.py", 3, "tail four"),
                                            ("app.py", 4, "five")]
    assert rows[2].left_target == ("app.py", 2, "old two")  # the removed line on a paired row


def test_split_cursor_and_range_pick_lines() -> None:
    p = pane(split=True)
    assert p.selection() == ("app.py", 2, 2, "new two")  # the cursor starts on the first change
    p.scroll_by(1)
    assert p.selection() == ("app.py", 3, 3, "old three")  # only a removed line: the old file's number
    p.toggle_mark()
    p.scroll_by(1)
    assert p.selection() == ("app.py", 3, 3, "old three\ntail four")
    p.scroll_by(10)
    assert p.selection() is None  # the range spans two files


def test_comments_show_under_their_lines_in_both_views() -> None:
    drafts = [comment(1, "app.py", 2, "new two", "rename it"), comment(2, "app.py", 3, "old three", "why?"),
              comment(3, "b.txt", 2, "b2", "a long remark " * 12)]
    for split in (False, True):
        p = pane(split, drafts)
        texts = [row_text(p, i) for i in range(len(p.rows))]
        first = next(i for i, t in enumerate(texts) if "new two" in t and p.rows[i].comment is None)
        assert texts[first].startswith("●")  # the commented line is marked
        assert "app.py:2" in texts[first + 1] and p.rows[first + 1].comment == drafts[0]
        assert texts[first + 2].strip() == "│ rename it"
        assert any("why?" in t for t in texts) and p.outdated == []
        long_rows = [t for i, t in enumerate(texts) if p.rows[i].comment == drafts[2]]
        assert len(long_rows) >= 3 and all(len(t) <= 100 for t in long_rows)  # wrapped to the pane
        # the cursor on a comment row picks the comment, not a line
        p.cursor = first + 2
        assert p.comment_at_cursor() == drafts[0] and p.selection() is None


def test_outdated_comments_are_listed_at_the_top_of_their_file() -> None:
    drafts = [comment(1, "app.py", 2, "old text the agent replaced", "still relevant"),
              comment(2, "gone.py", 1, "vanished", "file reverted"), comment(3, "b.txt", 2, "b2")]
    p = pane(comments=drafts)
    assert [c["id"] for c in p.outdated] == [1, 2]
    texts = [row_text(p, i) for i in range(len(p.rows))]
    gone = next(i for i, t in enumerate(texts) if "outdated comment on gone.py" in t)
    head = next(i for i, t in enumerate(texts) if "outdated comment on app.py" in t)
    hunk = next(i for i, t in enumerate(texts) if t.startswith(" @@"))
    assert gone < head < hunk and texts.index("+++ b/app.py") < head  # after the header, before the hunk
    assert any("> old text the agent replaced" in t for t in texts)
    assert any("still relevant" in t for t in texts)
    assert anchor_of(drafts[2], [r.anchors for r in p.rows]) is not None
    # a one-file diff shows only that file's comments
    one = DiffPane()
    one.load({"diff": DIFF}, "b.txt")
    one.set_review(drafts, [])
    assert one.outdated == [] and sum(1 for r in one.rows if r.comment) == 2  # head and body of comment 3


def test_sent_reviews_are_listed_above_the_diff_and_the_cursor_stays() -> None:
    p = pane()
    p.scroll_by(1)
    on = p.selection()
    p.set_review([], [{"id": 7, "comments": [{}, {}], "delivered": False, "created_at": "2026-01-02T03:04:05Z",
                       "summary": "two things"}])
    assert "review #7" in row_text(p, 0) and "2 comments" in row_text(p, 0) and "queued" in row_text(p, 0)
    assert p.selection() == on


def test_a_refresh_keeps_the_cursor_on_the_same_row_of_a_comment() -> None:
    """The review is re-read after each change (an event): with the cursor on the second row of a
    comment, the refresh must not pull it back to the comment's first row (a key moving it down
    would seem lost)."""
    drafts = [comment(1, "app.py", 2, "new two", "rename it")]
    for split in (False, True):
        p = pane(split, drafts)
        body = next(i for i, r in enumerate(p.rows) if r.comment is not None and "rename it" in row_text(p, i))
        assert p.rows[body - 1].comment == drafts[0]  # the comment's head is the row above
        p.cursor = body
        p.set_review([dict(c) for c in drafts], [])  # the same comments, read again
        assert p.cursor == body and "rename it" in row_text(p, p.cursor)
        p.scroll_by(1)
        assert p.comment_at_cursor() is None  # and the next key leaves the comment
