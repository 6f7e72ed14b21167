"""The help overlay (``?``): every command of the registry with its keys, grouped by view, the view
the user is in first. Generated from the same registry as the key bindings and the footer."""

from __future__ import annotations

from collections.abc import Callable

from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.layout import FormattedTextControl, Window
from prompt_toolkit.layout.dimension import Dimension
from prompt_toolkit.widgets import Frame

from .commands import CommandRegistry

KEY_WIDTH = 24


def help_lines(registry: CommandRegistry, first: str = "") -> list[StyleAndTextTuples]:
    """The overlay's lines: a title per view, then ``keys  help`` per command."""
    lines: list[StyleAndTextTuples] = []
    for view, rows in registry.help_sections(first):
        if lines:
            lines.append([])
        lines.append([("class:help.section", view.title)])
        for keys, text in rows:
            lines.append([("class:help.key", f"  {keys}".ljust(KEY_WIDTH) + " "), ("", text)])
    return lines


class HelpOverlay:
    """A scrollable dialog with :func:`help_lines`; Esc, ``q``, ``?``, ctrl+q or Enter close it."""

    hint = "j/k PgUp/PgDn scroll · Esc close"

    def __init__(self, registry: CommandRegistry, view: str, on_close: Callable[[], None],
                 max_height: Callable[[], int]) -> None:
        self.lines = help_lines(registry, view)
        self.top = 0
        self.on_close = on_close
        self.max_height = max_height
        kb = KeyBindings()
        for key in ("escape", "q", "?", "c-q", "enter"):
            kb.add(key, eager=key == "escape")(self._close)
        for key, step in (("j", 1), ("down", 1), ("k", -1), ("up", -1), ("pagedown", 10), ("space", 10),
                          ("pageup", -10), ("g", -10**6), ("G", 10**6)):
            kb.add(key)(lambda event, step=step: self.scroll(step))
        self.window = Window(FormattedTextControl(self._fragments, focusable=True, show_cursor=False,
                                                  key_bindings=kb),
                             height=lambda: Dimension(preferred=len(self.lines), max=max(3, self.max_height())),
                             width=Dimension(preferred=96))
        self.container = Frame(self.window, title="Keys (Esc closes)", style="class:form")

    def _close(self, event: KeyPressEvent) -> None:
        self.on_close()

    def scroll(self, step: int) -> None:
        """Move the first shown line by ``step`` (clamped)."""
        self.top = max(0, min(max(0, len(self.lines) - self.max_height()), self.top + step))

    def _fragments(self) -> StyleAndTextTuples:
        out: StyleAndTextTuples = []
        for line in self.lines[self.top:]:
            out.extend(line)
            out.append(("", "\n"))
        return out

    def text(self) -> str:
        """The whole overlay as plain text (every line, also those scrolled away)."""
        return "\n".join("".join(frag[1] for frag in line) for line in self.lines)

    def first_focus(self) -> Window:
        """The text takes the focus (its keys scroll and close)."""
        return self.window

    def contains(self, window: Window) -> bool:
        """Only its own window."""
        return window is self.window


def markdown(registry: CommandRegistry) -> str:
    """The keymap as Markdown tables, one per view (``docs/tui.md`` holds this text)."""
    out: list[str] = []
    for view, rows in registry.help_sections():
        out += [f"### {view.title}", ""]
        if view.lead:
            out += [f"Footer: *{view.lead}*.", ""]
        out += ["| Key | Action |", "|---|---|"]
        out += [f"| {_md(keys)} | {_md(text)} |" for keys, text in rows]
        out.append("")
    return "\n".join(out)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("$", "\\$")


def builtin_registry() -> CommandRegistry:
    """The registry of a TUI with no plugins, built headless (nothing connects)."""
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from .app import ArgusTui
    from .client import ArgusClient

    with create_pipe_input() as pipe:
        tui = ArgusTui(ArgusClient.remote("http://127.0.0.1:9", ""), input=pipe, output=DummyOutput())
        tui.executor.shutdown(wait=False)
        return tui.commands


if __name__ == "__main__":  # python -m argus.plugins.tui.helpview: the keymap of docs/tui.md
    print(markdown(builtin_registry()))
