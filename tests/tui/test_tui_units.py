"""Pure parts of the TUI: SSE parsing, state, list rows, pyte rendering, keys, diffs, DAG, scans."""

from __future__ import annotations

import asyncio
from pathlib import Path

from argus.kernel.eventstream import SseParser
from argus.kernel.text import terminal_lines
from argus.plugins.tui.agentview import key_bytes
from argus.plugins.tui.dagview import dag_lines
from argus.plugins.tui.forms import Form, FormField, fuzzy_score
from argus.plugins.tui.panes import split_rows
from argus.plugins.tui.settings_tab import scan_git_repos
from argus.plugins.tui.state import AppState, format_elapsed, needs_you, next_status
from argus.plugins.tui.tasklist import SPINNERS, build_rows, spinner_frame, status_icon
from argus.plugins.tui.terminal import BACKLOG, Terminal, drop_to_tail, render_line
from prompt_toolkit.key_binding.key_processor import KeyPress
from prompt_toolkit.keys import Keys


def test_sse_parser_handles_split_chunks_comments_and_crlf() -> None:
    p = SseParser()
    assert p.feed(b": keepalive\n\nid: 7\nevent: task.upd") == []
    evs = p.feed(b"ated\r\ndata: {\"a\":\n") + p.feed(b"data: 1}\n\n")
    assert len(evs) == 1
    assert evs[0].event == "task.updated" and evs[0].id == "7" and evs[0].data == '{"a":\n1}'
    assert p.feed(b"data: x\n\n")[0].event == "message"


def test_state_applies_events_and_survives_garbage() -> None:
    st = AppState()
    st.set_tasks([{"id": "a", "status": "pending"}, "junk", {"no": "id"}])
    assert list(st.tasks) == ["a"]
    assert st.apply_event({"type": "task.updated", "data": {"task": {"id": "a", "status": "in_progress"}}}) == set()
    assert st.tasks["a"]["status"] == "in_progress"
    st.apply_event({"type": "task.idle", "data": {"id": "a"}})
    assert needs_you(st.tasks["a"])
    st.apply_event({"type": "task.deleted", "data": {"id": "a"}})
    assert st.tasks == {}
    assert st.apply_event({"type": "project.created", "data": None}) == {"projects"}
    assert st.apply_event({"type": "resync"}) == {"all"}
    assert st.apply_event({"type": 5, "data": [1]}) == set()
    assert st.apply_event({"type": "task.updated", "data": {"task": "nope"}}) == {"tasks"}


def test_rows_group_by_project_pinned_first_archived_hidden() -> None:
    st = AppState()
    st.set_tasks([
        {"id": "1", "name": "b1", "project": "beta", "status": "in_progress", "created_at": "2026-01-01T00:00:00Z"},
        {"id": "2", "name": "a1", "project": "alpha", "status": "complete"},
        {"id": "3", "name": "a2", "project": "alpha", "status": "in_progress", "idle": True},
        {"id": "4", "name": "p", "project": "beta", "pinned": True, "status": "pending"},
        {"id": "5", "name": "old", "project": "alpha", "archived": True},
        {"id": "6", "name": "w", "project": "alpha", "hidden": True},
    ])
    rows = build_rows(st)
    titles = [r.title for r in rows if r.kind == "header"]
    assert titles == ["★ Pinned (1)", "▾ alpha (2, 1 need you)", "▾ beta (1)"]
    ids = [r.task_id for r in rows if r.task_id]
    assert ids == ["4", "3", "2", "1"]  # needing you first within a project
    st.show_archived = True
    st.show_hera_workers = True
    rows = build_rows(st)
    assert "Archived (1)" in [r.title for r in rows]
    assert "6" in [r.task_id for r in rows]


def test_spinner_styles_and_icons() -> None:
    assert set(SPINNERS) == {"progress", "dots", "braille", "classic"}
    assert spinner_frame("classic", 0.0) == "|" and spinner_frame("classic", 0.16) == "/"
    assert spinner_frame("nonsense", 0.0) == SPINNERS["progress"][0][0]
    assert status_icon({"status": "complete"}, "dots")[1] == "✓"
    assert status_icon({"status": "in_progress", "idle": True}, "dots")[1] == "●"
    assert status_icon({"status": "in_progress", "running": False, "exit_code": 2}, "dots")[1] == "✗"
    assert status_icon({"status": "in_progress"}, "dots", now=0.0)[1] == "⠋"


def test_status_cycle_and_elapsed_format() -> None:
    assert next_status("pending", 1) == "in_progress"
    assert next_status("complete", 1) == "complete"
    assert next_status("in_review", -1) == "in_progress"
    assert [format_elapsed(s) for s in (5, 120, 3900, 90000)] == ["5s", "2m", "1h05m", "1d1h"]


def test_terminal_renders_colours_and_attributes() -> None:
    async def go() -> Terminal:
        t = Terminal(30, 4)
        t.push(b"a\x1b[1;31mB\x1b[0m\x1b[38;5;46mc\x1b[48;2;1;2;3md\x1b[7me\x1b[0m\r\n\xe4\xb8\xadx", 20)
        while await t.step():
            pass
        return t

    t = asyncio.run(go())
    line = t.lines[0]
    assert line[0] == ("", "a")
    assert line[1] == ("fg:ansired bold", "B")
    assert line[2] == ("fg:#00ff00", "c")
    assert line[3] == ("fg:#00ff00 bg:#010203", "d")
    assert line[4][0].endswith("reverse")
    assert t.lines[1] == [("", "中x")]  # the wide char's second cell is skipped
    assert t.cursor == (3, 1)


def test_terminal_keeps_history_and_alternate_screen_separately() -> None:
    async def go() -> Terminal:
        t = Terminal(20, 3)
        t.push(b"".join(b"line %d\r\n" % i for i in range(6)))
        t.push(b"\x1b[?1049hA\r\nB\r\nC\r\nD\r\nFULLSCREEN")
        while await t.step():
            pass
        assert "FULLSCREEN" in t.text()
        t.push(b"\x1b[?1049l")
        while await t.step():
            pass
        return t

    t = asyncio.run(go())
    history = ["".join(s for _, s in line) for line in t.history_fragments()]
    assert history == [f"line {i}" for i in range(4)]
    assert "FULLSCREEN" not in t.text()
    assert "line 5" in t.text()


def test_history_reports_when_it_no_longer_reaches_the_start() -> None:
    async def go(n: int) -> Terminal:
        t = Terminal(20, 3)
        blob = b"".join(b"l%d\r\n" % i for i in range(n))
        t.push(blob, len(blob))
        while await t.step():
            pass
        return t

    assert asyncio.run(go(50)).history_complete()
    assert not asyncio.run(go(2100)).history_complete()  # more lines than HISTORY_LINES


def test_terminal_drops_a_flood_to_its_tail() -> None:
    async def go() -> Terminal:
        t = Terminal(40, 5)
        blob = b"".join(b"n %07d\r\n" % i for i in range(BACKLOG // 5))
        t.push(blob + b"LAST", len(blob) + 4)
        while await t.step():
            pass
        return t

    t = asyncio.run(go())
    assert t.dropped_bytes > 0
    assert "LAST" in t.text()
    assert t.contiguous_from and t.contiguous_from > 0


def test_drop_to_tail_starts_after_a_newline() -> None:
    data = b"x" * 100 + b"\n" + b"y" * 50
    assert drop_to_tail(data, 60) == b"y" * 50
    assert drop_to_tail(b"short", 60) == b"short"


def test_strip_ansi_and_render_line_trim() -> None:
    assert terminal_lines(b"\x1b[31mred\x1b[0m\r\nab\rX\x1b]8;;http://x\x07link") == ["red", "Xlink"]
    assert render_line({}, 10) == []


def test_key_bytes_are_raw() -> None:
    assert key_bytes(KeyPress(Keys.Escape, "\x1b")) == b"\x1b"
    assert key_bytes(KeyPress(Keys.Up, "\x1b[A")) == b"\x1b[A"
    assert key_bytes(KeyPress(Keys.ControlC)) == b"\x03"
    assert key_bytes(KeyPress(Keys.Up)) == b"\x1b[A"
    assert key_bytes(KeyPress(Keys.BracketedPaste, "a\nb"), bracketed_paste=True) == b"\x1b[200~a\rb\x1b[201~"
    assert key_bytes(KeyPress(Keys.BracketedPaste, "a\nb")) == b"a\rb"
    assert key_bytes(KeyPress(Keys.CPRResponse, "\x1b[1;1R")) == b""
    assert key_bytes(KeyPress("é", "é")) == "é".encode()


def test_split_diff_pairs_changes() -> None:
    rows = split_rows("--- a/x\n+++ b/x\n@@ -1,2 +1,3 @@\n same\n-old\n+new\n+more\n")
    kinds = [(r.left_kind, r.right_kind) for r in rows]
    assert kinds == [("meta", ""), ("meta", ""), ("hunk", "hunk"), ("ctx", "ctx"), ("del", "add"), ("", "add")]
    assert (rows[4].left, rows[4].right) == ("old", "new")


def test_fuzzy_score_orders_substrings_first() -> None:
    assert fuzzy_score("lgn", "fix-login") is not None
    assert fuzzy_score("zz", "fix-login") is None
    assert fuzzy_score("login", "fix-login") > fuzzy_score("lgn", "fix-login")  # type: ignore[operator]


def test_dag_lines_indent_children_and_cut_cycles() -> None:
    nodes = [{"id": "a"}, {"id": "b"}, {"id": "c"}, {"id": "x"}, {"id": "y"}]
    edges = [{"child_id": "b", "parent_id": "a"}, {"child_id": "c", "parent_id": "b"},
             {"child_id": "x", "parent_id": "y"}, {"child_id": "y", "parent_id": "x"}, "junk"]
    out = [(d, n["id"]) for d, n in dag_lines(nodes, edges)]
    assert out[:3] == [(0, "a"), (1, "b"), (2, "c")]
    assert sorted(i for _, i in out) == ["a", "b", "c", "x", "y"]


def test_scan_finds_git_repos(tmp_path: Path) -> None:
    for rel in ("one/.git", "deep/er/two/.git", "node_modules/three/.git"):
        (tmp_path / rel).mkdir(parents=True)
    found = {p.name for p in scan_git_repos(tmp_path)}
    assert found == {"one", "two"}


def test_form_choice_fields_take_type_ahead_and_explain_other_keys() -> None:
    form = Form("t", [FormField("name", "Name"),
                      FormField("backend", "Backend", "enum", "claude", ["claude", "codex", "demo", "pi"]),
                      FormField("ok", "OK", "bool", False)], lambda v: None)
    backend, ok = form.inputs["backend"], form.inputs["ok"]
    assert [w for w in form.windows] == [form.inputs[k].window for k in ("name", "backend", "ok")]
    backend.type_ahead("c")
    assert backend.value == "codex" and form.notice == ""
    backend.type_ahead("c")
    assert backend.value == "claude"  # the next choice starting with c, wrapping
    backend.type_ahead("P")
    assert backend.value == "pi"
    backend.type_ahead("x")
    assert backend.value == "pi" and "Backend is a choice" in form.notice
    backend.cycle(1)
    assert backend.value == "claude" and form.notice == ""
    ok.type_ahead("y")
    assert ok.value is True
    ok.type_ahead("q")
    assert "OK is a choice" in form.notice
    assert form.values() == {"name": "", "backend": "claude", "ok": True}


async def test_dag_reload_keeps_the_selected_task_when_rows_reorder() -> None:
    """A reload that puts another task first (a new edge) keeps the cursor on the same task."""
    from argus.plugins.tui.dagview import DagView

    answers = [
        {"nodes": [{"id": "a", "name": "alpha"}, {"id": "b", "name": "beta"}], "edges": []},
        {"nodes": [{"id": "b", "name": "beta"}, {"id": "c", "name": "gamma"}, {"id": "a", "name": "alpha"}],
         "edges": [{"parent_id": "c", "child_id": "a"}]},
    ]

    class Client:
        async def get(self, path: str) -> dict[str, object]:
            return answers.pop(0)

    class Host:
        client = Client()

        def invalidate(self) -> None:
            pass

    view = DagView(Host())  # type: ignore[arg-type]
    await view.load()
    view.move(1)
    assert view.selected_id() == "b"
    await view.load()
    assert view.selected_id() == "b"


def test_decode_output_reads_text_and_base64_messages_and_drops_a_resent_overlap() -> None:
    from argus.kernel.eventstream import SseEvent
    from argus.plugins.tui.termview import decode_output

    text = SseEvent("output", '{"offset":10,"text":"h\\u00e9\\r\\n\\u001b[0m"}', "18")
    assert decode_output(text, None) == ("hé\r\n\x1b[0m".encode(), 10, 18)
    assert decode_output(text, 13) == (b"\r\n\x1b[0m", 10, 18)  # bytes before ``since`` came already
    b64 = SseEvent("output", '{"offset":18,"data":"/w=="}', "19")
    assert decode_output(b64, 18) == (b"\xff", 18, 19)
