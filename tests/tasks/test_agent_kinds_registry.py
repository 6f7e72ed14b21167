"""The built-in agent CLIs are ``argus_agent_kinds`` registrations like any plugin's: the registry
lists the built-in kinds and the example plugin's ``fake`` kind the same way, launches both through
the same builder, and unregistering a kind (built-in or not) removes it and its backend. The
lifecycle modules name no CLI.

Runs on the real plugin manager (``load_plugins`` with the example in ``ARGUS_PLUGINS``) and a real
SQLite database with the tasks migrations; no daemon.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pluggy
import pytest
from argus.kernel.api import hookimpl
from argus.kernel.db import Database
from argus.kernel.errors import Invalid
from argus.kernel.plugins import load_plugins
from argus.plugins.tasks import kinds
from argus.plugins.tasks.api import AgentKind
from argus.plugins.tasks.backends import Backends
from argus.plugins.tasks.launch import build_launch
from argus.plugins.tasks.store import MIGRATIONS, Store

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "agent_kind.py"
BUILTIN = {"claude", "codex", "opencode", "pi", "demo"}


@pytest.fixture
def pm(monkeypatch: pytest.MonkeyPatch) -> pluggy.PluginManager:
    """The plugin manager a daemon loads, with the example kind plugin and the built-in kinds."""
    monkeypatch.setenv("ARGUS_PLUGINS", str(EXAMPLE))
    manager, _ = load_plugins()
    kinds.register(manager)  # what the tasks plugin does in argus_register
    return manager


@pytest.fixture
def registry(pm: pluggy.PluginManager, tmp_path: Path) -> Backends:
    """The backends registry over an empty backends table (no seeded rows)."""
    db = Database(tmp_path / "data.sql")
    db.migrate(MIGRATIONS)
    events: list[tuple[str, dict[str, Any]]] = []
    return Backends(Store(db), pm.hook, lambda: {}, lambda: "claude", lambda t, d: events.append((t, d)))


def providers(pm: pluggy.PluginManager) -> dict[str, str]:
    """Kind name → the name of the plugin whose ``argus_agent_kinds`` returned it."""
    out: dict[str, str] = {}
    for impl in pm.hook.argus_agent_kinds.get_hookimpls():
        for kind in impl.function() or ():
            out[kind.name] = impl.plugin_name
    return out


def test_builtin_and_plugin_kinds_are_registered_the_same_way(pm: pluggy.PluginManager, registry: Backends) -> None:
    found = registry.agent_kinds()
    assert set(found) == BUILTIN | {"fake"}
    assert all(isinstance(k, AgentKind) for k in found.values())
    by = providers(pm)
    assert {name: by[name] for name in BUILTIN} == {name: f"tasks.kinds.{name}" for name in BUILTIN}
    assert by["fake"] == "agent_kind"  # the example plugin, loaded from ARGUS_PLUGINS
    # Every kind is listed as a backend the same way (no stored rows here).
    listed = {b["name"]: b for b in registry.all()}
    assert set(listed) == BUILTIN | {"fake"}
    assert {b["source"] for b in listed.values()} == {"plugin"}
    assert {name: listed[name]["kind"] for name in listed} == {name: name for name in listed}
    assert listed["codex"]["command"] == "codex --dangerously-bypass-approvals-and-sandbox"
    assert listed["fake"]["command"] == "fakeagent"
    assert listed["opencode"]["prompt_flag"] == "--prompt" and listed["fake"]["prompt_flag"] == ""


def test_unregistering_a_kind_removes_it_and_its_backend(pm: pluggy.PluginManager, registry: Backends) -> None:
    registry.store.put_backend("mine", "pi --fast", "", "")
    assert registry.get("mine")["kind"] == "pi"
    pm.unregister(name="tasks.kinds.pi")
    pm.unregister(name="agent_kind")
    assert set(registry.agent_kinds()) == BUILTIN - {"pi"}
    names = {b["name"] for b in registry.all()}
    assert "pi" not in names and "fake" not in names
    assert registry.get("mine")["kind"] == "generic"  # no kind claims `pi` any more
    with pytest.raises(Invalid, match="'fake' is not provided"):
        registry.kind_named("fake")
    with pytest.raises(Invalid, match="unknown backend 'fake'"):
        registry.get("fake")


def test_a_later_kind_cannot_take_a_builtin_name(pm: pluggy.PluginManager, registry: Backends) -> None:
    class Impostor:
        @hookimpl
        def argus_agent_kinds(self) -> list[AgentKind]:
            return [AgentKind("claude", lambda spec: ["evil"]), AgentKind("generic", lambda spec: ["evil"])]

    pm.register(Impostor(), name="impostor")
    assert registry.agent_kinds()["claude"] is kinds.claude.CLAUDE
    assert "generic" not in registry.agent_kinds()


def test_builtin_and_plugin_kinds_launch_through_the_same_builder(registry: Backends, tmp_path: Path) -> None:
    task = {"id": "t_1", "agent_session_id": "s-1", "model": "m1"}
    common = {"task": task, "prompt": "hi", "resume": False, "mcp_url": "http://127.0.0.1:1/mcp",
              "hook_url": "http://127.0.0.1:1/api/agent/hook", "token": "tok", "run_dir": tmp_path / "run"}
    claude = registry.get("claude")
    launch = build_launch(registry.kind_of(claude), backend=claude, permission_mode="plan", **common)
    assert launch.argv[:3] == ["claude", "--session-id", "s-1"]
    assert "--mcp-config" in launch.argv and "--settings" in launch.argv
    assert launch.argv[-5:] == ["--permission-mode", "plan", "--model", "m1", "hi"]
    assert "ARGUS_MCP_TOKEN" not in launch.env  # Claude reads it from its --mcp-config file
    assert "tok" in (tmp_path / "run" / "mcp.json").read_text()
    fake = registry.get("fake")
    launch = build_launch(registry.kind_of(fake), backend=fake, **common)
    assert launch.argv == ["fakeagent", "--session-id", "s-1", "--model", "m1", "hi"]
    assert launch.env["ARGUS_MCP_TOKEN"] == "tok" and launch.env["ARGUS_TASK_ID"] == "t_1"


LIFECYCLE = ["service.py", "view.py", "backends.py", "launch.py", "launcher.py", "creation.py", "lifecycle.py",
             "session_events.py", "terminal.py", "merge_actions.py", "idle.py", "hooks.py", "reconcile.py",
             "limit_resume.py"]


def test_the_lifecycle_code_names_no_agent_cli() -> None:
    names = BUILTIN | {"generic"}
    found = []
    for module in LIFECYCLE:
        path = ROOT / "plugins" / "tasks" / module
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                constants = [n.value for n in ast.walk(node) if isinstance(n, ast.Constant)]
                if any(c in names for c in constants if isinstance(c, str)):
                    found.append(f"{module}:{node.lineno}")
    assert found == []
