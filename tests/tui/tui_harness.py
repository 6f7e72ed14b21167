"""Run the TUI headless: pipe input, a vt100 output captured and replayed into a pyte screen.

A test writes ``async def scenario(h: Harness)`` and calls :func:`run_scenario`; the harness
sends keys as raw terminal bytes and reads back exactly what a terminal would show.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pyte
from argus.plugins.tui.app import ArgusTui
from argus.plugins.tui.client import ArgusClient
from argus_testkit import wait_for_async
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output

COLS, ROWS = 120, 36
#: Seconds a wait gives the TUI (and the daemon behind it): generous, the suite shares two cores.
WAIT = 30.0


class ScreenSink:
    """A file-like stdout whose bytes are parsed by pyte (what a real terminal would display)."""

    def __init__(self, cols: int = COLS, rows: int = ROWS) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.Stream(self.screen)
        self.raw: list[str] = []
        self.written = 0
        self.encoding = "utf-8"

    def write(self, data: str) -> int:
        if "\x1b]52;" in data:
            self.raw.append(data)  # clipboard writes (OSC 52), checked by tests
        self.stream.feed(data)
        self.written += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        raise OSError("no fd")

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)


class Harness:
    """Handles to a running TUI: ``keys``, ``until``, ``screen``, ``tui``."""

    def __init__(self, tui: ArgusTui, pipe: Any, sink: ScreenSink) -> None:
        self.tui = tui
        self.pipe = pipe
        self.sink = sink

    def keys(self, data: str | bytes) -> None:
        """Type raw terminal bytes (``"\\x1b"`` is Esc, ``"\\r"`` Enter, ``"\\x11"`` ctrl+q)."""
        if isinstance(data, bytes):
            self.pipe.send_bytes(data)
        else:
            self.pipe.send_text(data)

    def screen(self) -> str:
        """The terminal's visible text."""
        return self.sink.text()

    async def until(self, predicate: Callable[[], Any], timeout: float = WAIT, what: str = "") -> Any:
        """Wait until ``predicate()`` is truthy (checked every 20 ms) or fail with the screen."""
        return await wait_for_async(predicate, timeout, what or str(predicate), interval=0.02,
                                    detail=lambda: f"status: {self.tui.status_text!r}\n--- screen ---\n{self.screen()}")

    async def until_screen(self, text: str, timeout: float = WAIT) -> None:
        """Wait until ``text`` is visible on the terminal."""
        await self.until(lambda: text in self.screen(), timeout, what=f"{text!r} on screen")

    async def until_gone(self, text: str, timeout: float = WAIT) -> None:
        """Wait until ``text`` is no longer visible."""
        await self.until(lambda: text not in self.screen(), timeout, what=f"{text!r} to disappear")

    async def ready(self) -> None:
        """Wait until the first snapshot is loaded and painted."""
        await self.until(lambda: self.tui.snapshot_loaded.is_set(), what="snapshot")
        await asyncio.sleep(0.05)


def run_scenario(client: ArgusClient, scenario: Callable[[Harness], Awaitable[None]], *,
                 cols: int = COLS, rows: int = ROWS, plugin_tabs: list[dict[str, Any]] | None = None,
                 plugin_commands: list[dict[str, Any]] | None = None, timeout: float = 150.0) -> None:
    """Start the TUI on ``client``, run ``scenario``, quit, and re-raise what the scenario raised."""

    async def main() -> None:
        sink = ScreenSink(cols, rows)
        output = Vt100_Output(sink, lambda: Size(rows=rows, columns=cols), term="xterm-256color")  # type: ignore[arg-type]
        with create_pipe_input() as pipe:
            tui = ArgusTui(client, input=pipe, output=output, plugin_tabs=plugin_tabs,
                           plugin_commands=plugin_commands)
            app_task = asyncio.ensure_future(tui.run())
            h = Harness(tui, pipe, sink)
            try:
                await asyncio.wait_for(scenario(h), timeout)
            finally:
                if not app_task.done():
                    tui.app.exit(result=0)
                try:
                    await asyncio.wait_for(app_task, 10)
                except Exception:
                    app_task.cancel()
                    raise

    asyncio.run(main())
