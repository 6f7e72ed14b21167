"""A scrollable read-only dialog: the keys and the window the help overlay and the prompt view share."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.layout import FormattedTextControl, Window
from prompt_toolkit.layout.dimension import Dimension

SCROLL_KEYS: tuple[tuple[str, int], ...] = (
    ("j", 1), ("down", 1), ("k", -1), ("up", -1), ("pagedown", 10), ("space", 10),
    ("pageup", -10), ("g", -10**6), ("G", 10**6))


class ScrollView:
    """Lines shown from ``top`` in one focusable window: j/k, arrows, PgUp/PgDn, space, g/G scroll,
    ``close_keys`` call ``on_close``. Subclasses fill ``lines`` and say how a line is drawn."""

    def __init__(self, line_count: Callable[[], int], on_close: Callable[[], None],
                 max_height: Callable[[], int], close_keys: Iterable[str], wrap_lines: bool = False) -> None:
        self.top = 0
        self.on_close = on_close
        self.max_height = max_height
        self._line_count = line_count
        self.keys = kb = KeyBindings()  # a subclass may add its own keys to it
        for key in close_keys:
            kb.add(key, eager=key == "escape")(self._close)
        for key, step in SCROLL_KEYS:
            kb.add(key)(lambda event, step=step: self.scroll(step))
        self.window = Window(FormattedTextControl(self._fragments, focusable=True, show_cursor=False,
                                                  key_bindings=kb),
                             height=lambda: Dimension(preferred=line_count(), max=max(3, self.max_height())),
                             width=Dimension(preferred=96), wrap_lines=wrap_lines)

    def _close(self, event: KeyPressEvent) -> None:
        self.on_close()

    def scroll(self, step: int) -> None:
        """Move the first shown line by ``step`` (clamped)."""
        self.top = max(0, min(max(0, self._line_count() - self.max_height()), self.top + step))

    def _fragments(self) -> StyleAndTextTuples:
        raise NotImplementedError

    def first_focus(self) -> Window:
        """The text takes the focus (its keys scroll and close)."""
        return self.window

    def contains(self, window: Window) -> bool:
        """Only its own window."""
        return window is self.window

