"""The prompt dialog (``p`` on the task list): the selected task's full prompt, scrollable, with copy."""

from __future__ import annotations

from collections.abc import Callable

from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.layout import FormattedTextControl, HSplit, Window
from prompt_toolkit.widgets import Frame

from .scrollview import ScrollView


class PromptView(ScrollView):
    """A scrollable dialog with one task's prompt; ``c`` copies it, Esc / ``q`` / Enter / ctrl+q close it."""

    hint = "j/k PgUp/PgDn scroll · c copy · Esc close"

    def __init__(self, title: str, prompt: str, on_copy: Callable[[str], None], on_close: Callable[[], None],
                 max_height: Callable[[], int]) -> None:
        self.prompt = prompt
        self.lines = prompt.splitlines() or ["(no prompt)"]
        super().__init__(lambda: len(self.lines), on_close, max_height, ("escape", "q", "c-q", "enter"),
                         wrap_lines=True)
        self.keys.add("c")(lambda event: on_copy(self.prompt))
        footer = Window(FormattedTextControl([("class:task.dim", self.hint)]), height=1)
        self.container = Frame(HSplit([self.window, footer]), title=title, style="class:form")

    def _fragments(self) -> StyleAndTextTuples:
        return [("", "\n".join(self.lines[self.top:]))]
