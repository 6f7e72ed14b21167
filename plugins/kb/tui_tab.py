"""The TUI's Notes tab (key ``4``): search the knowledge base as you type, read a note, attach it to a task.

Contributed through ``argus_tui_tabs``; it runs in the TUI process and talks to the daemon only
through the TUI's REST client (``/api/kb/search``, ``/api/kb/note``, ``/api/tasks/{id}/input``).
It knows the TUI object only by the small surface documented in the TUI app (``client``,
``spawn``, ``invalidate``, ``set_status``, ``subscribe``, ``tasklist``).

Keys: type to search · ↑/↓ choose · Enter read · Esc back (from the search box: to the list, where
``1``-``3`` switch tabs and ``/`` returns to the box) · ``a`` types ``[[note]]`` and its title into
the selected task's agent prompt (not sent: you finish the line).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from prompt_toolkit.application import get_app
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.filters import Condition
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.layout import BufferControl, FormattedTextControl, HSplit, Window
from prompt_toolkit.layout.processors import BeforeInput

SEARCH_DELAY = 0.15  # seconds of quiet typing before a search is sent
RESULTS = 30
BOLD = re.compile(r"\*\*(.+?)\*\*")


class NotesTab:
    """The tab's state and its prompt_toolkit container."""

    def __init__(self, tui: Any) -> None:
        self.tui = tui
        self.results: list[dict[str, Any]] = []
        self.selected = 0
        self.note: dict[str, Any] | None = None
        self.scroll = 0
        self.message = "Type to search your notes."
        self._generation = 0  # bumped per keystroke: only the latest search is sent and shown
        self.query = Buffer(multiline=False, on_text_changed=lambda _: self._schedule())
        keys = self._keys()
        self.search_window = Window(BufferControl(self.query, input_processors=[BeforeInput("Search notes: ")],
                                                  key_bindings=keys), height=1)
        self.list_window = Window(FormattedTextControl(self._render, focusable=True, key_bindings=keys),
                                  wrap_lines=False)
        self.container = HSplit([self.search_window, Window(height=1, char="─"), self.list_window])
        tui.subscribe(self._on_event)

    # -- searching ----------------------------------------------------------------------------

    def _schedule(self) -> None:
        self._generation += 1
        self.tui.spawn(self._search_later(self.query.text, self._generation), name="kb search")

    async def _search_later(self, text: str, generation: int) -> None:
        await asyncio.sleep(SEARCH_DELAY)
        if generation == self._generation:
            await self.search(text, generation)

    async def search(self, text: str, generation: int | None = None) -> None:
        """Run a search and show its results (an empty box clears them; a stale answer is dropped)."""
        if not text.strip():
            self.results, self.message = [], "Type to search your notes."
        else:
            try:
                out = await self.tui.client.get("/api/kb/search", q=text, limit=RESULTS)
            except Exception as exc:  # disabled (409), bad query: say so in the tab
                out = {"error": str(getattr(exc, "message", exc))}
            if generation is not None and generation != self._generation:
                return
            if "error" in out:
                self.results, self.message = [], out["error"]
            else:
                self.results = out.get("results", [])
                self.message = f"{len(self.results)} notes" if self.results else "No note matches."
        self.selected = 0
        self.note = None
        self.tui.invalidate()

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") != "kb.index.progress":
            return
        data = event.get("data") or {}
        if not data.get("done", True):
            self.message = f"Indexing… {data.get('seen', 0)}/{data.get('total') or '?'} files"
        elif self.message.startswith("Indexing…") or not self.results:
            # The scan's final counts, until the next search replaces them.
            self.message = (f"Indexed {data.get('seen', 0)} files: {data.get('indexed', 0)} read, "
                            f"{data.get('unchanged', 0)} unchanged, {data.get('errors', 0)} with problems.")
        else:
            return
        self.tui.invalidate()

    # -- reading and attaching ----------------------------------------------------------------

    async def open(self) -> None:
        """Read the selected note into the tab."""
        if not self.results:
            return
        path = self.results[self.selected]["path"]
        self.note = await self.tui.client.get("/api/kb/note", path=path)
        self.scroll = 0
        self.tui.focus(self.list_window)
        self.tui.invalidate()

    def _current(self) -> dict[str, Any] | None:
        if self.note is not None:
            return self.note
        return self.results[self.selected] if self.results else None

    async def attach(self) -> None:
        """Type a reference to the current note into the selected task's agent (without Enter)."""
        note = self._current()
        task = self.tui.selected_task()
        if note is None:
            self.tui.set_status("No note to attach.", error=True)
            return
        if task is None:
            self.tui.set_status("Select a task in the Tasks tab first.", error=True)
            return
        stem = note["path"].rsplit("/", 1)[-1].rsplit(".", 1)[0]
        text = f"See the note [[{stem}]] ({note['path']}: {note.get('title') or stem}), kb_read it. "
        await self.tui.client.send_input(task["id"], text.encode())
        self.tui.set_status(f"Attached {note['path']} to {task.get('name') or task['id']}'s prompt.")

    # -- drawing ------------------------------------------------------------------------------

    def _render(self) -> StyleAndTextTuples:
        if self.note is not None:
            return self._render_note()
        out: StyleAndTextTuples = [("class:hint", f" {self.message}\n")]
        for i, r in enumerate(self.results):
            style = "reverse" if i == self.selected else ""
            tags = " ".join(f"#{t}" for t in r.get("tags") or [])
            out.append((style + " bold", f" {r['title']} "))
            out.append((style, f" {r['path']}  {tags}\n"))
            out.append(("", "    "))
            out.extend(_highlight(" ".join((r.get("snippet") or "").split())[:200]))
            out.append(("", "\n"))
        out.append(("class:hint", "\n ↑/↓ choose · Enter read · a attach to the selected task · Esc list"))
        return out

    def _render_note(self) -> StyleAndTextTuples:
        note = self.note or {}
        lines = (note.get("content") or "").splitlines()
        head: StyleAndTextTuples = [("bold", f" {note.get('title')} "), ("", f" {note.get('path')}\n")]
        links = [ln.get("path") or ln.get("target") for ln in note.get("links") or []]
        back = [b["path"] for b in note.get("backlinks") or []]
        if links:
            head.append(("class:hint", f" links: {', '.join(links[:8])}\n"))
        if back:
            head.append(("class:hint", f" backlinks: {', '.join(back[:8])}\n"))
        body = "\n".join(lines[self.scroll:self.scroll + 400])
        return [*head, ("", "\n" + body + "\n"),
                ("class:hint", "\n ↑/↓ PgUp/PgDn scroll · a attach to the selected task · Esc back to results")]

    # -- keys ---------------------------------------------------------------------------------

    def _keys(self) -> KeyBindings:
        kb = KeyBindings()
        in_box = Condition(lambda: get_app().layout.has_focus(self.search_window))

        @kb.add("up")
        def _up(event: KeyPressEvent) -> None:
            if self.note is not None:
                self.scroll = max(0, self.scroll - 1)
            else:
                self.selected = max(0, self.selected - 1)
            self.tui.invalidate()

        @kb.add("down")
        def _down(event: KeyPressEvent) -> None:
            if self.note is not None:
                self.scroll = min(max(0, len((self.note.get("content") or "").splitlines()) - 1), self.scroll + 1)
            else:
                self.selected = min(max(0, len(self.results) - 1), self.selected + 1)
            self.tui.invalidate()

        @kb.add("pageup")
        def _pgup(event: KeyPressEvent) -> None:
            self.scroll = max(0, self.scroll - 20)
            self.tui.invalidate()

        @kb.add("pagedown")
        def _pgdn(event: KeyPressEvent) -> None:
            if self.note is not None:
                self.scroll = min(max(0, len((self.note.get("content") or "").splitlines()) - 1), self.scroll + 20)
            self.tui.invalidate()

        @kb.add("enter")
        def _enter(event: KeyPressEvent) -> None:
            if self.note is None:
                self.tui.spawn(self.open(), name="kb read")

        @kb.add("escape", eager=True)
        def _escape(event: KeyPressEvent) -> None:
            if self.note is not None:
                self.note = None
                self.tui.focus(self.search_window)
            elif event.app.layout.has_focus(self.search_window):
                event.app.layout.focus(self.list_window)
            self.tui.invalidate()

        @kb.add("/", filter=~in_box)
        def _slash(event: KeyPressEvent) -> None:
            self.note = None
            event.app.layout.focus(self.search_window)
            self.tui.invalidate()

        @kb.add("a", filter=~in_box)
        def _attach(event: KeyPressEvent) -> None:
            self.tui.spawn(self.attach(), name="kb attach")

        @kb.add("c-a", filter=in_box)
        def _attach_from_box(event: KeyPressEvent) -> None:
            self.tui.spawn(self.attach(), name="kb attach")

        return kb


def _highlight(text: str) -> StyleAndTextTuples:
    """A snippet with its ``**match**`` markers shown bold."""
    out: StyleAndTextTuples = []
    last = 0
    for m in BOLD.finditer(text):
        out.append(("", text[last:m.start()]))
        out.append(("bold underline", m.group(1)))
        last = m.end()
    out.append(("", text[last:]))
    return out


def tab_spec() -> dict[str, Any]:
    """The ``argus_tui_tabs`` entry: key ``4``, title *Notes*."""

    spec: dict[str, Any] = {"key": "4", "title": "Notes"}

    def factory(tui: Any) -> Any:
        tab = NotesTab(tui)
        spec["tab"] = tab
        spec["focus"] = tab.search_window  # read by the TUI after the factory ran
        return tab.container

    spec["factory"] = factory
    return spec
