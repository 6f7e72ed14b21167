"""Review in place in the TUI's split (side-by-side) diff against a real daemon and fake agent: a
comment on a changed line shows under that line, ``e`` edits it, ``x`` deletes another; once the
agent rewrites the line the comment is listed as outdated at the top of the file's diff, and the
review sent with ``R`` carries its quoted line and appears above the diff."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from argus.plugins.tui.client import ArgusClient
from argus_testkit import wait_for
from tui_harness import Harness, run_scenario

ENTER = "\r"
CTRL_U = "\x15"
CTRL_Q = "\x11"


def test_comment_edit_delete_outdated_and_send_in_split_view(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    task = c.post("/api/tasks", json={"project": project["name"], "prompt": "note this",
                                      "name": "splitreview"}).json()["task"]
    tid = task["id"]
    readme = Path(task["worktree_path"]) / "README.md"
    readme.write_text("# changed title\nsecond line\n")  # was "# test repo"

    async def open_readme(h: Harness) -> None:
        agent = h.tui.agent
        await h.until(lambda: any(e.get("path") == "README.md" for e in agent.changes.entries), what="README.md")
        agent.changes.index = next(i for i, e in enumerate(agent.changes.entries) if e.get("path") == "README.md")
        h.keys(ENTER)
        await h.until(lambda: agent.focus == "diff" and agent.diff.path == "README.md" and agent.diff.rows,
                      what="the README diff")

    def screen_lines(h: Harness) -> list[str]:
        return h.screen().splitlines()

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("splitreview")
        h.tui.tasklist.selected_id = tid
        h.keys(ENTER)
        await h.until_screen("? for shortcuts", timeout=20)
        h.keys("\x1a")  # ctrl+z: the side panes, focus on the changes list
        await open_readme(h)
        diff = h.tui.agent.diff
        h.keys("s")
        await h.until(lambda: diff.split and "· split" in h.screen(), what="the split view")
        # the cursor starts on the paired row: removed "# test repo" | added "# changed title"
        assert diff.selection() == ("README.md", 1, 1, "# changed title")
        h.keys("c")
        await h.until_screen("Comment on README.md:1")
        h.keys("retitle it")
        h.keys(ENTER)
        await h.until(lambda: "1 in the draft review" in h.tui.status_text, what="comment added", timeout=30)
        await h.until_screen("│ retitle it")
        lines = screen_lines(h)
        at = next(i for i, line in enumerate(lines) if "│ retitle it" in line)
        assert "README.md:1" in lines[at - 1] and "x delete" in lines[at - 1]
        assert "# test repo" in lines[at - 2] and "# changed title" in lines[at - 2]  # under its line
        assert "●" in lines[at - 2]

        # a second comment on the next row (an added line only), then deleted with x
        rows_before = len(diff.rows)
        h.keys("j")
        await h.until(lambda: diff.comment_at_cursor() is not None, what="cursor on the comment")
        while diff.comment_at_cursor() is not None:
            h.keys("j")
            await h.until(lambda n=diff.cursor: diff.cursor != n or diff.cursor == rows_before - 1, what="moved")
        assert diff.selection() == ("README.md", 2, 2, "second line")
        h.keys("c")
        await h.until_screen("Comment on README.md:2")
        h.keys("drop me")
        h.keys(ENTER)
        await h.until_screen("│ drop me", timeout=30)
        h.keys("j")
        await h.until(lambda: (diff.comment_at_cursor() or {}).get("body") == "drop me", what="on the 2nd comment")
        h.keys("x")
        await h.until(lambda: "deleted" in h.tui.status_text, what="comment deleted", timeout=30)
        await h.until_gone("drop me")
        drafts = c.get(f"/api/tasks/{tid}/review/comments").json()["comments"]
        assert [(d["line"], d["quote"], d["body"]) for d in drafts] == [(1, "# changed title", "retitle it")]

        # e on the remaining comment edits it
        while (diff.comment_at_cursor() or {}).get("body") != "retitle it":
            h.keys("k")
            await h.until(lambda n=diff.cursor: diff.cursor != n or diff.cursor == 0, what="moved up")
        h.keys("e")
        await h.until_screen("Edit comment on README.md:1")
        h.keys(CTRL_U)
        h.keys("use a clearer title")
        h.keys(ENTER)
        await h.until_screen("│ use a clearer title", timeout=30)
        assert c.get(f"/api/tasks/{tid}/review/comments").json()["comments"][0]["body"] == "use a clearer title"

        # the agent rewrites the line: the comment is outdated, listed at the top of the file's diff
        readme.write_text("# another title\nsecond line\n")
        h.keys(CTRL_Q)
        await h.until(lambda: h.tui.agent.focus == "changes", what="back to the changes list")
        await open_readme(h)
        await h.until_screen("1 outdated comment on README.md")
        lines = screen_lines(h)
        top = next(i for i, line in enumerate(lines) if "outdated comment on README.md" in line)
        hunk = next(i for i, line in enumerate(lines) if "@@" in line)
        assert top < hunk and any("> # changed title" in line for line in lines[top:hunk])

        h.keys("R")
        await h.until_screen("Send review (1 comment)")
        h.keys(ENTER)
        await h.until(lambda: h.tui.status_text.startswith("review sent"), what="review sent", timeout=30)
        await h.until_screen("review #", timeout=30)  # the review history above the diff
        assert "1 comment" in next(line for line in screen_lines(h) if "review #" in line)

    run_scenario(ArgusClient.local(daemon.home), scenario, timeout=200)
    reviews = wait_for(lambda: [r for r in c.get(f"/api/tasks/{tid}/reviews").json()["reviews"] if r["delivered"]],
                       what="the review delivered")
    assert "README.md:1\n> # changed title\nuse a clearer title" in reviews[0]["message"]
