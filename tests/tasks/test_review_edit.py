"""Editing and deleting draft review comments over REST against a real daemon: the new text is
stored and announced, an unknown (or already sent, or another task's) comment is 404, a bad body
is 400, and the routes need a token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from orch_helpers import create_task, events


def test_edit_and_delete_draft_comments_with_validation(daemon: Any, project: dict[str, Any]) -> None:
    c = daemon.client
    gate = create_task(c, project["name"], "gate")
    held = create_task(c, project["name"], "held", depends_on=[gate["id"]])  # pending: no agent types
    other = create_task(c, project["name"], "other", depends_on=[gate["id"]])
    for t in (held, other):
        (Path(t["worktree_path"]) / "app.py").write_text("".join(f"line {n}\n" for n in range(1, 11)))
    base = f"/api/tasks/{held['id']}/review/comments"
    first = c.post(base, json={"path": "app.py", "line": 2, "body": "first"}).json()["comment"]
    second = c.post(base, json={"path": "app.py", "line": 4, "end_line": 5, "body": "second"}).json()["comment"]

    edited = c.put(f"{base}/{first['id']}", json={"body": "  first, reworded  "})
    assert edited.status_code == 200, edited.text
    out = edited.json()["comment"]
    assert out["body"] == "first, reworded" and out["id"] == first["id"]
    assert (out["line"], out["end_line"], out["quote"]) == (2, 2, "line 2")  # only the text changes
    drafts = c.get(base).json()["comments"]
    assert [(d["id"], d["body"]) for d in drafts] == [(first["id"], "first, reworded"), (second["id"], "second")]
    updated = [e for e in events(c) if e["type"] == "review.comment_updated"]
    assert updated and updated[-1]["data"]["comment"]["body"] == "first, reworded"

    # bad bodies: 400 with an error, the comment unchanged
    for bad in ({}, {"body": ""}, {"body": "   "}, {"body": 12}, {"body": None}, {"body": "x" * (17 * 1024)}):
        resp = c.put(f"{base}/{first['id']}", json=bad)
        assert resp.status_code == 400, (bad, resp.text)
        assert resp.json()["error"]
    resp = c.put(f"{base}/{first['id']}", content=b"not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.json()["error"]
    assert c.get(base).json()["comments"][0]["body"] == "first, reworded"

    # unknown ids: 404 for edit and delete
    for cid in ("999999", "abc", "-1", "1" * 30):
        for resp in (c.put(f"{base}/{cid}", json={"body": "x"}), c.delete(f"{base}/{cid}")):
            assert resp.status_code == 404, (cid, resp.text)
            assert resp.json()["error"]
    # another task's comment is not this task's
    other_base = f"/api/tasks/{other['id']}/review/comments"
    assert c.put(f"{other_base}/{first['id']}", json={"body": "x"}).status_code == 404
    assert c.delete(f"{other_base}/{first['id']}").status_code == 404
    assert c.put(f"/api/tasks/t_missing/review/comments/{first['id']}", json={"body": "x"}).status_code == 404

    assert c.delete(f"{base}/{second['id']}").json() == {"ok": True}
    assert c.delete(f"{base}/{second['id']}").status_code == 404  # gone
    assert [d["id"] for d in c.get(base).json()["comments"]] == [first["id"]]

    # once sent, a comment belongs to the history: no more edits or deletes
    review = c.post(f"/api/tasks/{held['id']}/review").json()["review"]
    assert [x["body"] for x in review["comments"]] == ["first, reworded"]
    assert c.put(f"{base}/{first['id']}", json={"body": "too late"}).status_code == 404
    assert c.delete(f"{base}/{first['id']}").status_code == 404

    with httpx.Client(base_url=daemon.url, timeout=10) as anon:
        assert anon.put(f"{base}/{first['id']}", json={"body": "x"}).status_code == 401
        assert anon.delete(f"{base}/{first['id']}").status_code == 401
