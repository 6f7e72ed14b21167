"""The TUI's built-in commands and keys, and the commands plugins contribute (``argus_tui_commands``).

Everything a key does in the TUI is registered here into the app's
:class:`~argus.plugins.tui.commands.CommandRegistry`; the key bindings, the footer hints and the
help overlay are generated from it. Keys the focused widget handles itself (a dialog's fields, the
agent terminal's raw passthrough, a plugin view) are not commands: the footer's *lead* says so.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from prompt_toolkit.filters import Condition
from prompt_toolkit.key_binding import KeyPressEvent
from prompt_toolkit.keys import Keys

from . import claude_picker, navkeys, review
from .agentview import key_bytes
from .commands import CommandRegistry, KeySeq, command, parse_key

if TYPE_CHECKING:  # pragma: no cover
    from .app import ArgusTui
    from .host import UiHost
    from .layout import Tab

log = logging.getLogger("argus.tui")

BUILTIN_TAB_VIEWS = ("tasks", "settings", "dag", "hera.rail", "hera.roster", "hera.dag")
AGENT_VIEWS = ("agent.terminal", "agent.lists", "agent.diff")
HERA_VIEWS = ("hera.rail", "hera.agent", "hera.roster", "hera.dag")
# Names plugins may use for groups of views in ``argus_tui_commands``.
VIEW_GROUPS = {"tabs": "every tab", "agent": "every focus of the agent view"}


def declare_views(reg: CommandRegistry, tabs: Sequence[Tab]) -> list[str]:
    """Declare every view (the plugin tabs' ``tab:<key>`` included); returns the tab views."""
    reg.add_view("tasks", "Tasks tab")
    reg.add_view("settings", "Settings tab")
    reg.add_view("dag", "DAG (tab 2 while hera is off)")
    reg.add_view("hera.rail", "Hera tab: the rail")
    reg.add_view("hera.agent", "Hera tab: an agent pane", lead="keys go to the agent")
    reg.add_view("hera.roster", "Hera tab: a coordinator's roster")
    reg.add_view("hera.dag", "Hera tab: the dependency DAG")
    reg.add_view("agent.terminal", "Agent view: the terminal", lead="keys go to the agent")
    reg.add_view("agent.lists", "Agent view: the changes and files lists")
    reg.add_view("agent.diff", "Agent view: a diff")
    reg.add_view("plugin", "A plugin view", lead="keys go to the plugin · ctrl+q twice: back to Argus")
    reg.add_view("modal", "A dialog")
    views = list(BUILTIN_TAB_VIEWS)
    for tab in tabs:
        if not tab.builtin:
            reg.add_view(f"tab:{tab.key}", f"The {tab.title} tab")
            views.append(f"tab:{tab.key}")
    reg.add_group("tabs", "Every tab", views)
    reg.add_group("agent", "Agent view: everywhere", AGENT_VIEWS)
    return views


def register_builtin(reg: CommandRegistry, tui: ArgusTui, keys: Mapping[str, KeySeq] | None = None) -> None:
    """Register every built-in command of the TUI into ``reg``.

    ``keys`` (``{command name: key sequence}``, from ``[keybindings]``) replaces the default keys of
    the named commands; a clash raises ``ValueError`` like any other.
    """
    tab_views = declare_views(reg, tui.tabs)
    tasks, agent, act, hera, dag = tui.task_actions, tui.agent, tui.agent_actions, tui.hera, tui.dag
    settings = tui.settings
    remap = dict(keys or {})

    def add(name: str, help: str, keys: Sequence[Any], views: Iterable[str], run: Callable[[], object] | None = None,
            **kw: Any) -> None:
        reg.add(command(name, help, [remap[name]] if name in remap else keys, views, run=run, **kw))

    # ---- every tab ----
    for tab in tui.tabs:
        title = "Hera tab (the DAG while hera is off)" if tab.builtin == "hera" else f"{tab.title} tab"
        add(f"tab.{tab.key}", f"show the {title}", [tab.key], tab_views,
            functools.partial(tui.show_tab, tab.key))
    add("help", "show every key (this list)", ["?"], [*tab_views, "agent.lists", "agent.diff"], tui.show_help,
        hint="help", rank=1)
    add("quit", "quit Argus (the agents keep running)", ["q"], tab_views, lambda: tui.app.exit(result=0),
        hint="quit")
    add("redraw", "refresh the screen (wipe ghost cells)", ["c-l"], tab_views, tui.app.renderer.clear)
    add("view.hotkey", "open a plugin view by the hotkey it registered", [Keys.Any, ("escape", Keys.Any)],
        tab_views, on_key=tui.open_view_by_hotkey)

    # ---- Tasks tab ----
    on = ["tasks"]
    add("task.down", "move down", ["j", "down"], on, lambda: tui.tasklist.move(1))
    add("task.up", "move up", ["k", "up"], on, lambda: tui.tasklist.move(-1))
    add("task.first", "first task", ["g"], on, lambda: tui.tasklist.move(-10**6))
    add("task.last", "last task", ["G"], on, lambda: tui.tasklist.move(10**6))
    add("task.new", "new task (project, backend, model; /skill completion in the prompt)", ["n"], on,
        tasks.new_task, hint="new")
    add("task.open", "open the agent view", ["enter"], on, tasks.open_selected, hint="open")
    add("task.status.next", "advance the status", ["s"], on, lambda: tasks.advance(1), hint="status")
    add("task.status.prev", "revert the status", ["S"], on, lambda: tasks.advance(-1), hint="status")
    add("task.archive", "archive / unarchive", ["a"], on, tasks.toggle_archive, hint="archive")
    add("task.pin", "pin / unpin (★ section on top)", ["P"], on, tasks.toggle_pin, hint="pin")
    add("task.limit.cancel", "cancel the resume planned after the agent's usage limit (status limit)", ["L"], on,
        tasks.cancel_limit_resume, hint="cancel limit resume")
    add("task.rename", "rename (display name only; branch and worktree keep theirs)", ["r"], on,
        tasks.rename_task, hint="rename")
    add("task.merge", "merge: ahead / behind and conflicts, then rebase, merge or push a PR", ["m"], on,
        tasks.merge_task, hint="merge")
    add("task.copy", "copy the task's prompt to the clipboard", ["c"], on, tasks.copy_prompt, hint="copy")
    add("task.fork", "fork: a new task with this one's context", ["c-f"], on, tasks.fork_task, hint="fork")
    add("task.delete", "destroy the task (agent, worktree, branch)", ["c-d"], on, tasks.delete_task, hint="delete")
    add("task.repo", "open the project's GitHub repository (gh repo view --web)", ["c-o"], on, tasks.open_repo)
    add("task.prune", "prune: delete every completed task", ["c-r"], on, tasks.prune, hint="prune")
    add("task.archived", "show / hide archived tasks", ["A"], on, tasks.toggle_archived, hint="archived")
    add("task.hidden", "show / hide Hera's workers (hidden tasks)", ["H"], on, tasks.toggle_hera_workers,
        hint="hera")
    add("task.filter", "filter the list by name, project or branch (type; Esc clears, Enter keeps)", ["/"], on,
        tui.start_filter, hint="filter")
    add("task.prompt", "show the task's full prompt (scrollable, c copies)", ["p"], on, tasks.show_prompt,
        hint="prompt")
    add("task.worktree", "worktree: open in $EDITOR, a shell in it (tmux window in tmux), copy its path", ["w"], on,
        tasks.worktree_menu, hint="worktree")

    # ---- Settings tab ----
    on = ["settings"]
    add("settings.down", "move down", ["j", "down"], on, lambda: settings.move(1), hint="move")
    add("settings.up", "move up", ["k", "up"], on, lambda: settings.move(-1), hint="move")
    add("settings.enter", "change a setting, open a plugin section, Update Argus, Doctor, toggle Auto-start, "
        "Usage per day", ["enter"], on, lambda: settings.key("enter"), hint="change")
    add("settings.next", "next choice of a setting", ["right", "l"], on, lambda: settings.key("right"), hint="change")
    add("settings.prev", "previous choice of a setting", ["left", "h"], on, lambda: settings.key("left"),
        hint="change")
    for key, name, text, hint in (
            ("n", "new", "new project / backend / schedule", "new"),
            ("e", "edit", "edit a project / backend / schedule", "edit"),
            ("d", "delete", "delete a project or schedule; make a backend the default", "delete/default"),
            ("a", "allowlist", "edit a project's AppleEvents allowlist", ""),
            ("m", "model", "edit a backend's default model", "model"),
            ("i", "quick-add", "quick add projects (git repositories under a folder)", "quick add"),
            ("t", "schedule.toggle", "enable / disable a schedule", ""),
            ("r", "schedule.run", "run a schedule now", "")):
        add(f"settings.{name}", text, [key], on, functools.partial(settings.key, key), hint=hint)

    # ---- the DAG (tab 2 while hera is off, or a coordinator's details) ----
    on = ["dag", "hera.dag"]
    add("dag.down", "move down", ["j", "down"], on, lambda: dag.move(1), hint="move")
    add("dag.up", "move up", ["k", "up"], on, lambda: dag.move(-1), hint="move")
    add("dag.parent", "jump to a parent", ["left"], on, lambda: dag.jump(-1), hint="parent/child")
    add("dag.child", "jump to a child", ["right"], on, lambda: dag.jump(1), hint="parent/child")
    add("dag.open", "open the agent view", ["enter"], on, tui.open_dag_selection, hint="open")
    add("dag.link", "link: make the task depend on another", ["l"], on, dag.link, hint="link")
    add("dag.unlink", "unlink: remove one of its dependencies", ["L"], on, dag.unlink, hint="unlink")
    add("dag.halt", "halt downstream: stop and archive every task after it", ["h"], on, dag.halt,
        hint="halt downstream")

    # ---- Hera tab ----
    on = ["hera.rail"]
    add("hera.down", "move the rail cursor down", ["j", "down"], on, lambda: hera.move(1), hint="move")
    add("hera.up", "move the rail cursor up", ["k", "up"], on, lambda: hera.move(-1), hint="move")
    add("hera.fold", "collapse / expand an orchestrator or the Freelance / Archive section", ["space"], on,
        hera.toggle, hint="fold")
    add("hera.attach", "re-attach the role's dead session, then focus its pane", ["enter"], on, hera.enter,
        hint="attach")
    add("hera.worker", "spawn a worker under the selected orchestrator", ["w"], on, hera.spawn_worker, hint="worker")
    add("hera.rename", "rename the role / orchestrator", ["r"], on, hera.rename, hint="rename")
    add("hera.archive", "archive / unarchive the role / orchestrator", ["a"], on, lambda: hera.flag("archived"),
        hint="archive")
    add("hera.pin", "pin / unpin the role / orchestrator", ["P"], on, lambda: hera.flag("pinned"), hint="pin")
    add("hera.status.next", "advance the role's status (idle → working → blocked → done)", ["s"], on,
        lambda: hera.step_status(1), hint="status")
    add("hera.status.prev", "revert the role's status", ["S"], on, lambda: hera.step_status(-1), hint="status")
    add("hera.delete", "delete the role / orchestrator", ["c-d"], on, hera.delete, hint="delete")
    add("hera.details", "a coordinator's details: the roster or the dependency DAG", ["g"],
        ["hera.rail", "hera.roster", "hera.dag"], hera.toggle_dag, hint="roster/DAG")
    add("hera.next-region", "focus the next region (rail → coordinator → details)", ["tab"], HERA_VIEWS,
        lambda: hera.cycle_focus(1), hint="regions", eager=True)
    add("hera.prev-region", "focus the previous region", ["s-tab"], HERA_VIEWS, lambda: hera.cycle_focus(-1),
        hint="regions", eager=True)
    add("hera.to-rail", "back to the rail", ["c-q"], ["hera.agent", "hera.roster", "hera.dag"], hera.to_rail,
        hint="rail", eager=True)
    add("hera.type", "type into the focused agent", [Keys.Any, Keys.BracketedPaste], ["hera.agent"],
        on_key=lambda event: hera_passthrough(tui, event))

    # ---- the agent view ----
    term, lists, diff, panes = ["agent.terminal"], ["agent.lists"], ["agent.diff"], ["agent.lists", "agent.diff"]
    add("agent.back", "back to the task list (the agent keeps running)", ["c-q"], term, act.agent_back, hint="back",
        eager=True)
    add("agent.panes", "show / hide the git and file panes", ["c-z"], AGENT_VIEWS, agent.toggle_panes,
        hint="panes", eager=True)
    add("agent.switcher", "task switcher (tasks needing you first)", ["c-k"], AGENT_VIEWS, act.task_switcher,
        hint="switch", eager=True)
    add("agent.links", "link picker: every URL the session printed", ["c-l"], term, act.link_picker, hint="links",
        eager=True)
    add("agent.clipboard", "copy the agent-staged text (sent to the agent when none is staged)", ["c-y"], term,
        act.staged_clipboard, hint="copy", eager=True)
    add("agent.pr", "open the worktree branch's pull request (gh pr view --web)", ["c-p"], term, act.open_pr,
        hint="PR", eager=True)
    add("agent.sessions", "switch Claude session (other backends get the key)", ["c-r"], term,
        lambda: claude_picker.open_picker(tui, agent), hint="Claude sessions", eager=True)
    for way, help in (("left", "previous panel (no-op when zoomed)"), ("right", "next panel (no-op when zoomed)"),
                      ("up", "previous task"), ("down", "next task")):
        add(f"agent.{way}", help, [navkeys.NAV_KEYS[way]], AGENT_VIEWS, on_key=act.agent_nav,
            hint="panels" if way in ("left", "right") else "tasks", eager=True)
    add("agent.scroll-up", "scroll back (accelerates)", ["s-up"], term, lambda: agent.scroll(1), hint="scroll",
        eager=True)
    add("agent.scroll-down", "scroll forward (back to the live screen)", ["s-down"], term, lambda: agent.scroll(-1),
        hint="scroll", eager=True)
    add("agent.page-up", "scroll back a page", ["s-pageup"], term, lambda: act.scroll_page(1), eager=True)
    add("agent.page-down", "scroll forward a page", ["s-pagedown"], term, lambda: act.scroll_page(-1), eager=True)
    add("agent.terminal", "back to the terminal", ["escape"], panes, agent.focus_terminal, hint="terminal",
        eager=True)
    add("agent.list-back", "back to the task list", ["c-q"], lists, tui.show_list, hint="list")
    add("agent.diff-back", "back to the files panel", ["c-q"], diff, act.agent_back, hint="files")
    add("pane.down", "move down", ["j", "down"], lists, lambda: act.pane().move(1), hint="move")
    add("pane.up", "move up", ["k", "up"], lists, lambda: act.pane().move(-1), hint="move")
    add("pane.open", "open the file's diff, or enter the directory", ["enter"], lists, agent.pane_enter, hint="diff")
    add("pane.other", "the other list", ["tab"], lists, act.other_list, hint="other pane")
    add("pane.reload", "reload the lists", ["R"], lists, agent.refresh_panes)
    add("diff.down", "scroll down", ["j", "down"], diff, lambda: agent.diff.scroll_by(1), hint="move")
    add("diff.up", "scroll up", ["k", "up"], diff, lambda: agent.diff.scroll_by(-1), hint="move")
    add("diff.page-down", "page down", ["pagedown", "space"], diff, lambda: agent.diff.scroll_by(20))
    add("diff.page-up", "page up", ["pageup"], diff, lambda: agent.diff.scroll_by(-20))
    add("review.comment", "comment on the line (or range) under the cursor", ["c"], diff,
        lambda: review.comment(tui, agent), hint="comment")
    add("review.range", "start / drop a range", ["v"], diff, agent.diff.toggle_mark, hint="range")
    add("review.send", "send the draft review to the agent", ["R"], diff, lambda: review.send(tui, agent),
        hint="send review")
    add("pane.split", "split / unified diff", ["s"], panes, act.toggle_split, hint="split")
    add("pane.editor", "open the file in $EDITOR", ["e"], panes, act.pane_open_editor, hint="editor")
    add("pane.shell", "a shell in the worktree (a tmux window inside tmux)", ["t"], panes, act.pane_terminal,
        hint="shell")
    add("pane.open-file", "open the file with the default app", ["o"], panes, act.pane_open_default)
    add("pane.reveal", "reveal the file in its folder", ["f"], panes, lambda: act.pane_open_default(reveal=True))
    # after pane.editor: with the cursor on a draft comment, e edits the comment
    on_comment = Condition(lambda: agent.diff.comment_at_cursor() is not None)
    add("review.edit", "edit the draft comment under the cursor", ["e"], diff, lambda: review.edit(tui, agent),
        hint="edit comment", when=on_comment)
    add("review.delete", "delete the draft comment under the cursor", ["x", "d"], diff,
        lambda: review.delete(tui, agent), hint="delete comment")


def hera_passthrough(tui: ArgusTui, event: KeyPressEvent) -> None:
    """Raw keys into the Hera tab's focused agent pane."""
    pane = tui.hera.pane_for_focus()
    data = b"".join(key_bytes(k) for k in event.key_sequence)
    if pane is not None and data:
        pane.send(data)


def register_plugin_commands(reg: CommandRegistry, specs: Iterable[Any], host: UiHost,
                             tab_views: Sequence[str]) -> list[str]:
    """Add the commands of ``argus_tui_commands`` answers; returns the problems (each also logged).

    A spec is ``{"name", "help", "keys": ["ctrl+n", ...], "views": ["tasks", "tab:4", "tabs", ...],
    "run": callable(host), "hint": "short footer label"}``. ``tabs`` stands for every tab and
    ``agent`` for every focus of the agent view. A spec that is malformed or wants a key a command
    already holds in one of its views is skipped.
    """
    problems: list[str] = []
    for spec in specs:
        try:
            if not isinstance(spec, dict):
                raise ValueError("a command must be a dict")
            run = spec.get("run")
            if not callable(run):
                raise ValueError("run must be callable (it receives the TUI)")
            keys = spec.get("keys")
            if isinstance(keys, str):
                keys = [keys]
            if not isinstance(keys, list | tuple) or not keys or not all(isinstance(k, str) and k for k in keys):
                raise ValueError("keys must be a non-empty list of key names")
            views: list[str] = []
            for view in spec.get("views") or ["tabs"]:
                views.extend(tab_views if view == "tabs" else AGENT_VIEWS if view == "agent" else [str(view)])
            name = str(spec.get("name") or "")
            if not name:
                raise ValueError("a command needs a name")

            def invoke(run: Callable[[UiHost], object] = run) -> object:
                return run(host)

            reg.add(command(name, str(spec.get("help") or ""), [parse_key(k) for k in keys], views, run=invoke,
                            hint=str(spec.get("hint") or ""), source="plugin"))
        except ValueError as exc:
            problem = f"plugin TUI command {spec.get('name') if isinstance(spec, dict) else spec!r}: {exc}"
            log.error(problem)
            problems.append(problem)
    return problems

