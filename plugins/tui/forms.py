"""Modal dialogs: typed forms, a fuzzy picker and a yes/no confirmation.

All three follow the manual's dialog keys: ``Esc`` / ``ctrl+q`` close, ``Enter`` confirms,
``Tab`` / ``Shift+Tab`` move between fields. Submitting runs an async callback; while it runs
the form stays open, and an error it raises is shown inside the form instead of closing it.

Every dialog is a *modal* frame: ``Tab`` / ``Shift+Tab`` cycle (wrapping) through the dialog's own
inputs only, never to the widgets behind it, and the focused input is marked (``▸`` before its
label and a highlighted value) so the user always sees where typing goes. ``contains(window)``
tells the app whether focus is still inside, so it can pull focus back if anything moved it out.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prompt_toolkit.application import get_app
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.filters import Condition
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.keys import Keys
from prompt_toolkit.layout import (
    AnyContainer,
    ConditionalContainer,
    Dimension,
    FormattedTextControl,
    HSplit,
    VSplit,
    Window,
)
from prompt_toolkit.layout.containers import Container, to_container
from prompt_toolkit.layout.layout import walk
from prompt_toolkit.widgets import Frame, TextArea

Submit = Callable[[dict[str, Any]], Awaitable[None] | None]


@dataclass
class FormField:
    """One input of a form. ``type`` is ``string``, ``int``, ``bool``, ``enum``, ``list`` or ``text``
    (a long line that wraps), matching the settings schema's field types."""

    key: str
    label: str = ""
    type: str = "string"
    value: Any = ""
    choices: Sequence[str] = ()
    help: str = ""
    completer: Completer | None = None
    password: bool = False


class SkillCompleter(Completer):
    """Completes ``/skill`` names from lists fetched from ``GET /api/skills?project=``: the list of
    the project ``project()`` names (per-project skills included), else ``skills``."""

    def __init__(self, project: Callable[[], str] | None = None) -> None:
        self.skills: list[dict[str, Any]] = []
        self.by_project: dict[str, list[dict[str, Any]]] = {}
        self.project = project

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        """Offer skills whose name contains what follows the ``/`` under the cursor."""
        word = document.get_word_before_cursor(WORD=True)
        if not word.startswith("/"):
            return
        needle = word[1:].lower()
        pool = self.by_project.get(self.project().strip(), self.skills) if self.project else self.skills
        for s in pool:
            name = str(s.get("name", "")) if isinstance(s, dict) else ""
            if name and needle in name.lower():
                yield Completion("/" + name, start_position=-len(word),
                                 display_meta=str(s.get("description", ""))[:60])


class ChoiceCompleter(Completer):
    """Completes a single-line field from a fixed list of choices (projects, backends)."""

    def __init__(self, choices: Callable[[], Sequence[str]]) -> None:
        self.choices = choices

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        """Every choice containing the typed text."""
        text = document.text_before_cursor.lower()
        for c in self.choices():
            if text in c.lower():
                yield Completion(c, start_position=-len(document.text_before_cursor))


LABEL_WIDTH = 18


def _is_focused(window: Window) -> bool:
    """True when ``window`` holds the focus of the running application."""
    try:
        return get_app().layout.current_window is window
    except Exception:  # no running app (unit tests building forms)
        return False


def _windows_of(container: Any) -> set[Any]:
    """Every container and window under ``container`` (a widget or a container)."""
    return set(walk(to_container(container)))


class _Toggle:
    """A focusable bool or enum input: Space / ← / → (or h / l) change it; typing a letter jumps to
    the next choice starting with it. ``on_notice(text)`` reports a key that changed nothing."""

    def __init__(self, f: FormField, on_notice: Callable[[str], None] = lambda text: None) -> None:
        self.field = f
        self.on_notice = on_notice
        self.choices = list(f.choices) if f.type == "enum" else [False, True]
        self.value: Any = f.value if f.value in self.choices else (self.choices[0] if self.choices else "")
        kb = KeyBindings()

        @kb.add("space")
        @kb.add("right")
        @kb.add("l")
        def _next(event: KeyPressEvent) -> None:
            self.cycle(1)

        @kb.add("left")
        @kb.add("h")
        def _prev(event: KeyPressEvent) -> None:
            self.cycle(-1)

        @kb.add(Keys.Any)
        def _other(event: KeyPressEvent) -> None:
            self.type_ahead(event.data)

        self.control = FormattedTextControl(self._text, focusable=True, key_bindings=kb, show_cursor=False)
        self.window = Window(self.control, height=1, dont_extend_height=True)

    def cycle(self, step: int) -> None:
        """Move to the next (or previous) choice."""
        self.on_notice("")
        if len(self.choices) < 2:
            self.on_notice(f"{self.field.label or self.field.key}: no other choice")
        if self.choices:
            i = self.choices.index(self.value) if self.value in self.choices else 0
            self.value = self.choices[(i + step) % len(self.choices)]

    def type_ahead(self, char: str) -> None:
        """A typed character: the next choice starting with it (bool: ``y`` / ``n``), else a notice."""
        label = self.field.label or self.field.key
        if len(char) == 1 and char.isprintable():
            c = char.lower()
            if self.field.type == "bool" and c in "yn":
                self.value = c == "y"
                self.on_notice("")
                return
            names = [str(x) for x in self.choices]
            start = names.index(str(self.value)) + 1 if str(self.value) in names else 0
            for k in range(len(names)):
                n = (start + k) % len(names)
                if names[n].lower().startswith(c):
                    self.value = self.choices[n]
                    self.on_notice("")
                    return
            self.on_notice(f"{label} is a choice, not text: ←/→ or Space change it (no choice starts with {char!r})")
            return
        self.on_notice(f"{label} is a choice: ←/→ or Space change it, Tab moves to the next field")

    def _text(self) -> StyleAndTextTuples:
        focused = _is_focused(self.window)
        style = "class:form.toggle.focused" if focused else "class:form.toggle"
        if self.field.type == "bool":
            out: StyleAndTextTuples = [(style, "[x] yes" if self.value else "[ ] no")]
        else:
            out = [(style, f"◀ {self.value if self.value != '' else '(default)'} ▶")]
        if focused:
            out.append(("class:form.help", "  ←/→ Space change" if self.field.type == "enum" else "  Space toggles"))
        return out


class Form:
    """A modal form. ``on_submit(values)`` may be async; raising keeps the form open with the error."""

    def __init__(self, title: str, fields: Sequence[FormField], on_submit: Submit, *,
                 on_close: Callable[[], None] | None = None, help_text: str = "",
                 run: Callable[[Awaitable[Any]], Any] | None = None) -> None:
        self.title = title
        self.fields = list(fields)
        self.on_submit = on_submit
        self.on_close = on_close or (lambda: None)
        self.run = run
        self.error = ""
        self.notice = ""
        self.busy = False
        self.inputs: dict[str, TextArea | _Toggle] = {}
        self.windows: list[Window] = []  # the focusable inputs, in Tab order
        rows: list[Container] = []
        for f in self.fields:
            if f.type in ("bool", "enum"):
                widget: TextArea | _Toggle = _Toggle(f, self._set_notice)
                win: Any = widget.window
            else:
                text = ", ".join(f.value) if isinstance(f.value, list) else ("" if f.value is None else str(f.value))
                # "text" is a long single-line input that wraps: Enter submits the form.
                widget = TextArea(text=text, multiline=False, password=f.password,
                                  completer=f.completer, complete_while_typing=f.completer is not None,
                                  height=Dimension(min=1, max=5) if f.type == "text" else 1,
                                  style="class:form.input", wrap_lines=f.type == "text")
                widget.buffer.cursor_position = len(text)
                w = widget.window
                w.style = lambda w=w: ("class:text-area class:form.input"
                                       + (" class:form.input.focused" if _is_focused(w) else ""))
                win = widget
            self.inputs[f.key] = widget
            self.windows.append(widget.window)

            def label_text(f: FormField = f, w: Window = widget.window) -> StyleAndTextTuples:
                return self._label(f, w)
            label = Window(FormattedTextControl(label_text),
                           width=LABEL_WIDTH, height=1, dont_extend_width=True)
            rows.append(VSplit([label, win]))
            if f.help:
                rows.append(Window(FormattedTextControl([("class:form.help", " " * LABEL_WIDTH + f.help)]),
                                   height=1))
        rows.append(ConditionalContainer(
            Window(FormattedTextControl(lambda: [("class:form.error", self.error)]), height=1, wrap_lines=True),
            filter=Condition(lambda: bool(self.error))))
        hint = help_text or "Enter submit · Tab/Shift+Tab move · Esc cancel"
        rows.append(Window(FormattedTextControl(lambda: [
            ("class:form.notice" if self.notice and not self.busy else "class:form.help",
             "working…" if self.busy else (self.notice or hint))]), height=1, wrap_lines=True))
        kb = KeyBindings()

        @kb.add("tab")
        def _next(event: KeyPressEvent) -> None:
            buf = event.app.current_buffer
            if buf.complete_state is not None:
                buf.complete_next()
            else:
                self.focus_step(1)

        @kb.add("s-tab")
        def _prev(event: KeyPressEvent) -> None:
            buf = event.app.current_buffer
            if buf.complete_state is not None:
                buf.complete_previous()
            else:
                self.focus_step(-1)

        @kb.add("enter")
        def _submit(event: KeyPressEvent) -> None:
            buf = event.app.current_buffer
            state = buf.complete_state
            if state is not None and state.current_completion is not None:
                buf.apply_completion(state.current_completion)
                return
            self.submit()

        @kb.add("escape", eager=True)
        def _cancel(event: KeyPressEvent) -> None:
            buf = event.app.current_buffer
            if buf.complete_state is not None:
                buf.cancel_completion()  # the first Esc closes the completion menu
                return
            self.on_close()

        @kb.add("c-q", eager=True)
        def _close(event: KeyPressEvent) -> None:
            self.on_close()

        self.container = Frame(HSplit(rows, padding=0), title=title, style="class:form", key_bindings=kb,
                               width=Dimension(min=40, preferred=90, max=110), modal=True)
        self._inside: set[Any] | None = None

    def _label(self, f: FormField, window: Window) -> StyleAndTextTuples:
        text = (f.label or f.key)[:LABEL_WIDTH - 3]
        if _is_focused(window):
            return [("class:form.label.focused", f"▸ {text} ")]
        return [("class:form.label", f"  {text} ")]

    def _set_notice(self, text: str) -> None:
        self.notice = text

    def first_focus(self) -> AnyContainer:
        """The widget to focus when the form opens."""
        return self.windows[0] if self.windows else self.container

    def contains(self, window: Window) -> bool:
        """True when ``window`` is part of this form."""
        if self._inside is None:
            self._inside = _windows_of(self.container)
        return window in self._inside

    def focused_key(self) -> str | None:
        """The key of the field holding the focus, or None."""
        try:
            current = get_app().layout.current_window
        except Exception:
            return None
        for key, w in self.inputs.items():
            if w.window is current:
                return key
        return None

    def focus_step(self, step: int) -> None:
        """Move the focus ``step`` inputs forward (negative: back), wrapping, never out of the form."""
        if not self.windows:
            return
        layout = get_app().layout
        current = layout.current_window
        if current in self.windows:
            i = (self.windows.index(current) + step) % len(self.windows)
        else:
            i = 0 if step > 0 else len(self.windows) - 1
        self.notice = ""
        layout.focus(self.windows[i])

    def focus_field(self, key: str) -> None:
        """Focus the input of field ``key``."""
        get_app().layout.focus(self.inputs[key].window)

    def values(self) -> dict[str, Any]:
        """The entered values, typed (ints parsed, lists split); raises ValueError on bad input."""
        out: dict[str, Any] = {}
        for f in self.fields:
            w = self.inputs[f.key]
            if isinstance(w, _Toggle):
                out[f.key] = w.value
                continue
            text = w.text if f.type == "text" else w.text.strip()
            if f.type == "int":
                try:
                    out[f.key] = int(text)
                except ValueError:
                    raise ValueError(f"{f.label or f.key}: expected a whole number") from None
            elif f.type == "list":
                out[f.key] = [v.strip() for v in text.split(",") if v.strip()]
            else:
                out[f.key] = text
        return out

    def submit(self) -> None:
        """Validate, run ``on_submit``, close on success or show the error."""
        if self.busy:
            return
        try:
            values = self.values()
        except ValueError as exc:
            self.error = str(exc)
            return

        async def go() -> None:
            self.busy = True
            try:
                result = self.on_submit(values)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:  # shown in the form; the user can fix and retry
                self.error = str(exc) or type(exc).__name__
                return
            finally:
                self.busy = False
                _redraw()  # the outcome shows now, not on the next key
            self.on_close()

        if self.run is not None:
            self.run(go())
        else:
            import asyncio
            asyncio.get_event_loop().create_task(go())


def _redraw() -> None:
    """Ask the running application to repaint (nothing when none runs)."""
    try:
        get_app().invalidate()
    except Exception:  # no application (unit use of a Form)
        pass


def fuzzy_score(query: str, text: str) -> int | None:
    """A subsequence match score (higher is better), or None when ``query`` does not match."""
    if not query:
        return 0
    q, t = query.lower(), text.lower()
    if q in t:
        return 1000 - t.index(q) * 2 - len(t)
    score, pos, prev = 0, 0, -2
    for ch in q:
        i = t.find(ch, pos)
        if i < 0:
            return None
        score += 10 if i == prev + 1 else 1
        prev, pos = i, i + 1
    return score - len(t)


@dataclass
class PickerItem:
    """One choice in a picker: what is shown, what is returned, and an optional style."""

    label: str
    value: Any
    style: str = ""
    detail: str = ""
    pinned: bool = False


@dataclass
class Picker:
    """A fuzzy-search list: type to filter, ↑/↓ (or Tab / Shift+Tab, wrapping) to move, Enter picks,
    Esc closes.

    ``pinned`` items keep their place at the top of the list whatever the score.
    """

    title: str
    items: list[PickerItem]
    on_pick: Callable[[Any], Any]
    on_close: Callable[[], None] = lambda: None
    empty_text: str = "nothing to pick"
    index: int = 0
    container: Any = field(init=False)
    query: TextArea = field(init=False)

    def __post_init__(self) -> None:
        self.query = TextArea(multiline=False, prompt="› ", style="class:form.input")
        self.query.buffer.on_text_changed += lambda _: setattr(self, "index", 0)
        kb = KeyBindings()

        @kb.add("down")
        @kb.add("c-n")
        @kb.add("c-j")
        def _down(event: KeyPressEvent) -> None:
            self.index = min(self.index + 1, max(0, len(self.filtered()) - 1))

        @kb.add("up")
        @kb.add("c-p")
        def _up(event: KeyPressEvent) -> None:
            self.index = max(0, self.index - 1)

        @kb.add("tab")
        def _tab(event: KeyPressEvent) -> None:
            n = len(self.filtered())
            self.index = (self.index + 1) % n if n else 0

        @kb.add("s-tab")
        def _stab(event: KeyPressEvent) -> None:
            n = len(self.filtered())
            self.index = (self.index - 1) % n if n else 0

        @kb.add("enter")
        def _pick(event: KeyPressEvent) -> None:
            items = self.filtered()
            if items:
                item = items[min(self.index, len(items) - 1)]
                self.on_close()
                self.on_pick(item.value)

        @kb.add("escape", eager=True)
        @kb.add("c-q", eager=True)
        def _close(event: KeyPressEvent) -> None:
            self.on_close()

        body = Window(FormattedTextControl(self._list), height=Dimension(min=3, max=16))
        self.container = Frame(HSplit([self.query, body]), title=self.title, key_bindings=kb, style="class:form",
                               width=Dimension(min=40, preferred=80, max=100), modal=True)

    def first_focus(self) -> AnyContainer:
        """The query input."""
        return self.query

    def contains(self, window: Window) -> bool:
        """True when ``window`` is part of this picker."""
        return window in _windows_of(self.container)

    def filtered(self) -> list[PickerItem]:
        """Items matching the query, pinned first, then best score first."""
        q = self.query.text.strip()
        scored = []
        for n, it in enumerate(self.items):
            s = fuzzy_score(q, it.label)
            if s is not None:
                scored.append((0 if it.pinned else 1, -s if q else 0, n, it))
        scored.sort(key=lambda x: x[:3])
        return [x[3] for x in scored]

    def _list(self) -> StyleAndTextTuples:
        items = self.filtered()
        if not items:
            return [("class:task.dim", self.empty_text)]
        out: StyleAndTextTuples = []
        for n, it in enumerate(items[:200]):
            sel = n == self.index
            if sel:
                out.append(("[SetCursorPosition]", ""))
            style = "class:task.selected" if sel else it.style
            out.append((style, f" {it.label}"))
            if it.detail:
                out.append((f"{style} class:task.dim", f"  {it.detail}"))
            out.append(("", "\n"))
        return out


class Confirm:
    """A yes/no question: ``y`` / Enter confirms, ``n`` / Esc cancels."""

    def __init__(self, title: str, message: str, on_yes: Callable[[], Any],
                 on_close: Callable[[], None] = lambda: None) -> None:
        self.on_yes = on_yes
        self.on_close = on_close
        kb = KeyBindings()

        @kb.add("y")
        @kb.add("enter")
        def _yes(event: KeyPressEvent) -> None:
            self.on_close()
            self.on_yes()

        @kb.add("n")
        @kb.add("escape", eager=True)
        @kb.add("c-q", eager=True)
        def _no(event: KeyPressEvent) -> None:
            self.on_close()

        self._window = Window(FormattedTextControl(
            [("class:form.label", message + "\n\n"), ("class:form.help", "y / Enter: yes    n / Esc: no")],
            focusable=True, show_cursor=False), wrap_lines=True)
        self.container = Frame(self._window, title=title, key_bindings=kb, style="class:form.danger",
                               width=Dimension(min=30, preferred=70, max=90), modal=True)

    def first_focus(self) -> AnyContainer:
        """The message window (it holds the key bindings' focus)."""
        return self._window

    def contains(self, window: Window) -> bool:
        """True when ``window`` is part of this dialog."""
        return window is self._window or window in _windows_of(self.container)
