"""The plugin manager: built-ins through the ``argus`` entry-point group, the disabled list
(config.toml and saved settings), and ``ARGUS_PLUGINS`` for unpackaged plugins.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from argus.kernel import __version__
from argus.kernel.plugins import disabled_plugins, load_plugins
from kernel_helpers import argus, builtin_plugin_names, cli_env, write_config

PLUGIN_SRC = '''
from argus.kernel.api import Field, SettingsSection, hookimpl

__version__ = "2.5"


@hookimpl
def argus_settings_sections():
    return [SettingsSection("{name}", "T", [Field("x", "int", 1)])]
'''


def _plugin_file(tmp_path: Path, name: str, src: str = PLUGIN_SRC) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(src.replace("{name}", name))
    return path


def test_builtins_are_loaded_from_entry_points() -> None:
    pm, infos = load_plugins()
    by_name = {i.name: i for i in infos}
    assert set(builtin_plugin_names()) <= set(by_name)
    for name in builtin_plugin_names():
        info = by_name[name]
        assert info.enabled and info.source == "builtin" and info.version == __version__
        assert info.module.startswith("argus.plugins.")
        assert pm.get_plugin(name) is not None
    assert pm.get_plugin("kernel") is not None  # the kernel is a plugin of itself


def test_disabled_plugins_are_listed_but_not_registered() -> None:
    pm, infos = load_plugins({"kb"})
    kb = next(i for i in infos if i.name == "kb")
    assert not kb.enabled
    assert pm.get_plugin("kb") is None
    assert pm.get_plugin("tasks") is not None


def test_config_file_wins_over_saved_disabled_list() -> None:
    assert disabled_plugins({"plugins": {"disabled": ["kb"]}}, ["hera"]) == {"kb"}
    assert disabled_plugins({"plugins": {"disabled": []}}, ["hera"]) == set()
    assert disabled_plugins({}, ["hera"]) == {"hera"}
    assert disabled_plugins({"plugins": "junk"}, None) == set()


def test_argus_plugins_env_loads_files_and_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _plugin_file(tmp_path, "localplug")
    pkg = tmp_path / "site"
    pkg.mkdir()
    _plugin_file(pkg, "modplug")
    monkeypatch.syspath_prepend(str(pkg))
    monkeypatch.setenv("ARGUS_PLUGINS", f"{path}, modplug")
    pm, infos = load_plugins()
    by_name = {i.name: i for i in infos}
    assert by_name["localplug"].source == "ARGUS_PLUGINS" and by_name["localplug"].version == "2.5"
    assert by_name["localplug"].module == str(path)
    assert by_name["modplug"].enabled and by_name["modplug"].module == "modplug"
    sections = [s.name for group in pm.hook.argus_settings_sections() for s in (group or [])]
    assert {"localplug", "modplug"} <= set(sections)
    # Disabled like any other plugin.
    pm, infos = load_plugins({"localplug"})
    assert pm.get_plugin("localplug") is None
    assert not next(i for i in infos if i.name == "localplug").enabled


def test_argus_plugins_env_survives_broken_and_duplicate_entries(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    broken = _plugin_file(tmp_path, "broken", "raise RuntimeError('plugin import bug')\n")
    dup = _plugin_file(tmp_path, "kb")  # same name as a built-in
    monkeypatch.setenv("ARGUS_PLUGINS", f"{broken},{tmp_path / 'missing.py'},{dup},no_such_module_xyz")
    pm, infos = load_plugins()
    by_name = {i.name: i for i in infos}
    assert not by_name["broken"].enabled and "failed to load" in by_name["broken"].source
    assert not by_name["missing"].enabled and not by_name["no_such_module_xyz"].enabled
    assert by_name["kb"].source == "builtin"  # the built-in keeps its name
    assert pm.get_plugin("broken") is None


def test_cli_lists_plugins_with_version_and_source(argus_home: Path) -> None:
    out = argus(argus_home, "plugins")
    assert out.returncode == 0, out.stderr
    lines = {line.split()[0]: line for line in out.stdout.splitlines() if line.strip()}
    for name in builtin_plugin_names():
        assert name in lines, out.stdout
        fields = lines[name].split()
        assert fields[1] == __version__ and fields[2] == "builtin"
        assert "disabled" not in lines[name]
    data = json.loads(argus(argus_home, "plugins", "--json").stdout)
    assert {p["name"] for p in data} >= set(builtin_plugin_names())
    assert all({"name", "version", "source", "module", "enabled"} <= set(p) for p in data)


def test_config_disabled_shows_in_cli_and_daemon(argus_home: Path, daemon_factory: Any) -> None:
    write_config(argus_home, '[plugins]\ndisabled = ["kb"]\n')
    out = argus(argus_home, "plugins")
    kb = next(line for line in out.stdout.splitlines() if line.startswith("kb "))
    assert "(disabled)" in kb
    tasks = next(line for line in out.stdout.splitlines() if line.startswith("tasks "))
    assert "disabled" not in tasks
    d = daemon_factory("nokb", start=False)
    write_config(d.home, '[plugins]\ndisabled = ["kb"]\n')
    d.start()
    plugins = {p["name"]: p for p in d.client.get("/api/plugins").json()["plugins"]}
    assert plugins["kb"]["enabled"] is False
    assert plugins["tasks"]["enabled"] is True


def test_saved_disabled_list_applies_after_restart(daemon: Any) -> None:
    resp = daemon.client.put("/api/settings", json={"plugins": {"disabled": ["kb"]}})
    assert resp.status_code == 200
    daemon.restart()
    plugins = {p["name"]: p for p in daemon.client.get("/api/plugins").json()["plugins"]}
    assert plugins["kb"]["enabled"] is False
    write_config(daemon.home, "[plugins]\ndisabled = []\n")  # the file wins over the saved list
    daemon.restart()
    plugins = {p["name"]: p for p in daemon.client.get("/api/plugins").json()["plugins"]}
    assert plugins["kb"]["enabled"] is True


def test_a_plugin_that_fails_to_import_does_not_stop_the_cli(argus_home: Path, tmp_path: Path) -> None:
    broken = _plugin_file(tmp_path, "broken", "raise RuntimeError('plugin import bug')\n")
    out = argus(argus_home, "plugins", env=cli_env(argus_home, ARGUS_PLUGINS=str(broken)))
    assert out.returncode == 0, out.stderr
    line = next(line for line in out.stdout.splitlines() if line.startswith("broken "))
    assert "failed to load" in line
