"""The help overlay (``?``): every command of the registry with its keys, grouped by view, the view
the user is in first. Generated from the same registry as the key bindings and the footer."""

from __future__ import annotations

from collections.abc import Callable

from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.widgets import Frame

from .commands import CommandRegistry
from .scrollview import ScrollView

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


class HelpOverlay(ScrollView):
    """A scrollable dialog with :func:`help_lines`; Esc, ``q``, ``?``, ctrl+q or Enter close it."""

    hint = "j/k PgUp/PgDn scroll · Esc close"

    def __init__(self, registry: CommandRegistry, view: str, on_close: Callable[[], None],
                 max_height: Callable[[], int]) -> None:
        self.lines = help_lines(registry, view)
        super().__init__(lambda: len(self.lines), on_close, max_height, ("escape", "q", "?", "c-q", "enter"))
        self.container = Frame(self.window, title="Keys (Esc closes)", style="class:form")

    def _fragments(self) -> StyleAndTextTuples:
        out: StyleAndTextTuples = []
        for line in self.lines[self.top:]:
            out.extend(line)
            out.append(("", "\n"))
        return out

    def text(self) -> str:
        """The whole overlay as plain text (every line, also those scrolled away)."""
        return "\n".join("".join(frag[1] for frag in line) for line in self.lines)


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
