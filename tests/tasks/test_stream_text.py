"""The task stream's ``?encoding=text``: UTF-8 output travels as a JSON string, anything else as
base64, and the bytes stay exact: a large flood of mixed output (escapes, multi-byte characters,
bytes that are not UTF-8) read whole, and resumed with ``since=`` part-way, equals the session log
and the base64 stream."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

from argus.plugins.tasks.routes import TEXT_SPLITS, _output_message
from argus_testkit import Daemon
from test_tasks_api import agent_env, create_task, read_sse, stream_bytes, wait_output

__all__ = ["agent_env"]  # the autouse fixture

END = b"@@MIXED-END@@"

#: Writes READY, then for every line of input a ~2 MB mix of terminal output, then END.
MIXED_AGENT = r'''
import os, sys
unit = 'line %05d \x1b[1;32m\u2713 ok\x1b[0m "quoted" back\\slash\ttab \u00e9\u20ac\U0001F600 done\n'
parts = []
for i in range(30000):
    parts.append((unit % i).encode())
    if i % 997 == 0:
        parts.append(b"not utf-8: \xff\xfe \x80 \xc3 end\n")
blob = b"".join(parts)
os.write(1, b"READY\n")
while sys.stdin.buffer.readline():
    view = memoryview(blob)
    while view:
        view = view[os.write(1, view[:65536]):]
    os.write(1, b"@@MIXED-END@@\n")
'''


def _mixed_task(daemon: Daemon, tmp_path: Path) -> dict[str, Any]:
    script = tmp_path / "mixed_agent.py"
    script.write_text(MIXED_AGENT)
    c = daemon.client
    resp = c.post("/api/backends", json={"name": "mixed", "command": shlex.join([sys.executable, str(script)])})
    assert resp.status_code == 201, resp.text
    task = create_task(c, name="mixed output", backend="mixed")
    wait_output(c, task["id"], "READY")
    return task


def _ends(marker: bytes) -> Any:
    return lambda ms: marker in stream_bytes(ms)[-4096:]


def test_text_stream_is_byte_exact_for_a_flood_and_across_a_resume(
        daemon: Daemon, project: dict[str, Any], tmp_path: Path) -> None:
    c = daemon.client
    task = _mixed_task(daemon, tmp_path)
    tid, session_id = task["id"], task["session_id"]
    path = f"/api/tasks/{tid}/stream"

    # Read from the top as text; start the flood once the stream is open; stop part-way through.
    first: list[dict[str, Any]] = []
    typed = False

    def part_way(ms: list[dict[str, Any]]) -> bool:
        nonlocal typed
        first[:] = ms
        if not typed:
            assert c.post(f"/api/tasks/{tid}/input", json={"data": "go\r"}).status_code == 200
            typed = True
        return len(stream_bytes(ms)) >= 300_000

    read_sse(c, path, params={"since": 0, "encoding": "text"}, until=part_way, timeout=60, what="part of the flood")
    last_id = int(first[-1]["id"])
    rest = read_sse(c, path, params={"since": last_id, "session": session_id, "encoding": "text"},
                    until=_ends(END), timeout=120, what="the end of the flood")
    assert rest[0]["event"] == "session" and rest[0]["data"]["offset"] == last_id
    assert next(m for m in rest if m["event"] == "output")["data"]["offset"] == last_id  # no gap, no overlap
    whole = stream_bytes(first) + stream_bytes(rest)

    log = (daemon.home / "sessions" / f"{session_id}.log").read_bytes()
    assert whole == log[:len(whole)] and END in whole
    assert len(whole) > 2_000_000
    assert "✓ ok" in whole.decode("utf-8", "replace") and b"\xff\xfe \x80 \xc3 end" in whole
    outputs = [m["data"] for m in first + rest if m["event"] == "output"]
    texts = [o for o in outputs if "text" in o]
    assert texts and sum(len(o["text"].encode()) for o in texts) > len(whole) // 2  # mostly text
    assert any("data" in o for o in outputs)  # the bytes that are not UTF-8 came as base64

    # The default stream (base64) carries the same bytes.
    b64 = read_sse(c, path, params={"since": 0}, until=_ends(END), timeout=120, what="the base64 stream")
    assert all("text" not in m["data"] for m in b64 if m["event"] == "output")
    assert stream_bytes(b64)[:len(whole)] == whole


def test_text_stream_rejects_an_unknown_encoding(daemon: Daemon, project: dict[str, Any], tmp_path: Path) -> None:
    task = _mixed_task(daemon, tmp_path)
    resp = daemon.client.get(f"/api/tasks/{task['id']}/stream", params={"encoding": "hex"})
    assert resp.status_code == 400 and "error" in resp.json()


def _messages(wire: bytes) -> list[dict[str, Any]]:
    out = []
    for block in wire.decode().split("\n\n")[:-1]:
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append({"event": fields["event"], "id": fields["id"], "data": json.loads(fields["data"])})
    return out


def test_bytes_that_are_not_utf8_and_a_character_cut_by_the_batch_edge_go_out_at_once() -> None:
    data = "ab\r\n\x1b[0m\"\\ ✓".encode()
    cut = data[:-1]  # the check mark lacks its last byte: nothing is held back for it
    msgs = _messages(_output_message(100, cut, text=True))
    assert [m["data"] for m in msgs] == [{"offset": 100, "text": "ab\r\n\x1b[0m\"\\ "},
                                         {"offset": 100 + len(cut) - 2, "data": "4pw="}]
    assert [int(m["id"]) for m in msgs] == [100 + len(cut) - 2, 100 + len(cut)]
    assert stream_bytes(msgs) == cut
    assert _messages(_output_message(7, data, text=True))[0]["data"] == {"offset": 7, "text": data.decode()}
    dense = bytes(range(32)) * 64  # escapes everywhere: the json.dumps path
    assert stream_bytes(_messages(_output_message(0, dense, text=True))) == dense
    assert [m["data"] for m in _messages(_output_message(0, b"\xff\xfe ok \x80", text=True))] == [
        {"offset": 0, "data": "//4="}, {"offset": 2, "text": " ok "}, {"offset": 6, "data": "gA=="}]
    junk = b"\xffa" * 1000  # binary: a few text runs, then the rest as base64 in one message
    msgs = _messages(_output_message(0, junk, text=True))
    assert stream_bytes(msgs) == junk and len(msgs) <= 2 * TEXT_SPLITS and "data" in msgs[-1]["data"]
    assert _messages(_output_message(0, data))[0]["data"]["data"]  # base64 unless asked
