"""Review in place in the TUI's diff view against a real daemon and fake agent: a comment on a
range of changed lines under the cursor, then the review sent and typed into the agent."""

from __future__ import annotations

from typing import Any

from argus.plugins.tui.client import ArgusClient
from argus.plugins.tui.panes import line_targets
from tui_harness import Harness, run_scenario

ENTER = "\r"


def test_line_targets_number_new_and_removed_lines() -> None:
    diff = ("diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -3,3 +3,3 @@ def f():\n"
            " keep\n-old\n+new\n tail\n\\ No newline at end of file\n"
            "diff --git a/gone.txt b/gone.txt\n--- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n")
    assert line_targets(diff) == [None, None, None, None, ("app.py", 3, "keep"), ("app.py", 4, "old"),
                                  ("app.py", 4, "new"), ("app.py", 5, "tail"), None,
                                  None, None, None, None, ("gone.txt", 1, "bye")]


def test_comment_on_the_diff_and_send_the_review(daemon: Any, project: dict[str, Any]) -> None:
    task = daemon.client.post("/api/tasks", json={"project": project["name"], "prompt": "note this",
                                                  "name": "reviewed"}).json()["task"]

    async def scenario(h: Harness) -> None:
        await h.ready()
        await h.until_screen("reviewed")
        h.tui.tasklist.selected_id = task["id"]
        h.keys(ENTER)
        await h.until_screen("? for shortcuts", timeout=20)
        h.keys("\x1a")  # ctrl+z: the side panes, focus on the changes list (ARGUS_DEMO.md)
        await h.until(lambda: h.tui.agent.selected_path() == "ARGUS_DEMO.md", what="the changes list")
        h.keys(ENTER)
        await h.until(lambda: h.tui.agent.focus == "diff" and h.tui.agent.diff.targets, what="the diff")
        diff = h.tui.agent.diff
        first = diff.selection()
        assert first is not None and first[0] == "ARGUS_DEMO.md"
        h.keys("v")
        h.keys("j")
        await h.until(lambda: diff.selection() and diff.selection()[2] == first[1] + 1, what="a two-line range")
        h.keys("c")
        await h.until_screen(f"Comment on ARGUS_DEMO.md:{first[1]}-{first[1] + 1}")
        h.keys("explain the entry")
        h.keys(ENTER)
        # The diff header and the form closed, not the status line: a resize notice may replace
        # "1 in the draft review", and a key pressed before the form closes would land in it.
        await h.until(lambda: "1 draft comment" in h.screen() and h.tui.modal is None, what="comment added",
                      timeout=30)
        drafts = daemon.client.get(f"/api/tasks/{task['id']}/review/comments").json()["comments"]
        assert [(d["line"], d["end_line"], d["body"]) for d in drafts] == [(first[1], first[1] + 1,
                                                                            "explain the entry")]
        assert drafts[0]["quote"] == first[3] + "\n" + diff.targets[diff.cursor][2]
        h.keys("R")
        await h.until_screen("Send review (1 comment)", timeout=30)
        h.keys("tui note")
        h.keys(ENTER)
        await h.until(lambda: not daemon.client.get(f"/api/tasks/{task['id']}/review/comments").json()["comments"],
                      what="review sent (drafts cleared)", timeout=30)

    run_scenario(ArgusClient.local(daemon.home), scenario, timeout=150)
    from argus_testkit import wait_for

    reviews = wait_for(lambda: [r for r in daemon.client.get(f"/api/tasks/{task['id']}/reviews").json()["reviews"]
                                if r["delivered"]], what="the review delivered")
    assert reviews[0]["summary"] == "tui note" and "ARGUS_DEMO.md:" in reviews[0]["message"]
