"""The prompt dialog (``p`` on the task list): the selected task's full prompt, scrollable, with copy."""

from __future__ import annotations

from collections.abc import Callable

from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.layout import FormattedTextControl, HSplit, Window
from prompt_toolkit.layout.dimension import Dimension
from prompt_toolkit.widgets import Frame


class PromptView:
    """A scrollable dialog with one task's prompt; ``c`` copies it, Esc / ``q`` / Enter / ctrl+q close it."""

    hint = "j/k PgUp/PgDn scroll · c copy · Esc close"

    def __init__(self, title: str, prompt: str, on_copy: Callable[[str], None], on_close: Callable[[], None],
                 max_height: Callable[[], int]) -> None:
        self.prompt = prompt
        self.lines = prompt.splitlines() or ["(no prompt)"]
        self.top = 0
        self.on_close = on_close
        self.max_height = max_height
        kb = KeyBindings()
        for key in ("escape", "q", "c-q", "enter"):
            kb.add(key, eager=key == "escape")(self._close)
        kb.add("c")(lambda event: on_copy(self.prompt))
        for key, step in (("j", 1), ("down", 1), ("k", -1), ("up", -1), ("pagedown", 10), ("space", 10),
                          ("pageup", -10), ("g", -10**6), ("G", 10**6)):
            kb.add(key)(lambda event, step=step: self.scroll(step))
        self.window = Window(FormattedTextControl(self._fragments, focusable=True, show_cursor=False,
                                                  key_bindings=kb),
                             height=lambda: Dimension(preferred=len(self.lines), max=max(3, self.max_height())),
                             width=Dimension(preferred=96), wrap_lines=True)
        footer = Window(FormattedTextControl([("class:task.dim", self.hint)]), height=1)
        self.container = Frame(HSplit([self.window, footer]), title=title, style="class:form")

    def _close(self, event: KeyPressEvent) -> None:
        self.on_close()

    def scroll(self, step: int) -> None:
        """Move the first shown line by ``step`` (clamped)."""
        self.top = max(0, min(max(0, len(self.lines) - self.max_height()), self.top + step))

    def _fragments(self) -> StyleAndTextTuples:
        return [("", "\n".join(self.lines[self.top:]))]

    def first_focus(self) -> Window:
        """The text takes the focus (its keys scroll, copy and close)."""
        return self.window

    def contains(self, window: Window) -> bool:
        """Only its own window."""
        return window is self.window
