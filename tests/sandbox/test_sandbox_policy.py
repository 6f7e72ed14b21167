"""The sandbox policy model, the settings overlay and the SBPL renderer (no sandbox is run here).

The SBPL output is compared with golden files in ``golden/``; regenerate them after an intended
change with ``ARGUS_UPDATE_GOLDEN=1 pytest tests/sandbox/test_sandbox_policy.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from argus.kernel.api import SettingsSection
from argus.plugins.sandbox.bwrap import bwrap_argv
from argus.plugins.sandbox.config import SANDBOX_SECTION, effective, project_sandbox
from argus.plugins.sandbox.policy import PolicyInputs, compute_policy, ssh_private_files
from argus.plugins.sandbox.sbpl import sbpl_profile
from argus.plugins.sandbox.service import git_common_dir

GOLDEN = Path(__file__).parent / "golden"


class FakeSettings:
    """Just enough of the kernel's Settings: the declared section's defaults + overrides + raw toml."""

    def __init__(self, values: dict[str, Any] | None = None, raw: dict[str, Any] | None = None,
                 section: SettingsSection = SANDBOX_SECTION) -> None:
        self.values = {f.key: f.default for f in section.fields} | (values or {})
        self._raw = raw or {}

    def section(self, name: str) -> dict[str, Any]:
        return dict(self.values)

    def raw(self, name: str) -> dict[str, Any]:
        return self._raw


def mac_inputs(**over: Any) -> PolicyInputs:
    base: dict[str, Any] = dict(
        task_id="t_0123abcd", worktree="/Users/me/.argus/worktrees/web/fix-login",
        run_dir="/Users/me/.argus/run/t_0123abcd", argus_home="/Users/me/.argus", home="/Users/me",
        git_dir="/Users/me/code/web/.git", repo="/Users/me/code/web", platform="darwin",
    )
    return PolicyInputs(**(base | over))


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("ARGUS_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"{name} differs from the golden file (ARGUS_UPDATE_GOLDEN=1 regenerates)"


def test_sbpl_profile_of_the_default_policy_matches_golden() -> None:
    check_golden("default.sb", sbpl_profile(compute_policy(mac_inputs())))


def test_sbpl_profile_with_lists_network_off_and_apple_events_matches_golden() -> None:
    policy = compute_policy(mac_inputs(
        deny_read=["~/Documents/private", "/etc/secrets"], extra_write=["~/scratch", "/opt/cache"],
        network=False, apple_events=["com.apple.iChat", "com.apple.finder"]))
    check_golden("lists-network-off.sb", sbpl_profile(policy))


def test_sbpl_profile_with_ssh_keys_allowed_has_no_ssh_rule() -> None:
    text = sbpl_profile(compute_policy(mac_inputs(allow_ssh_keys=True)))
    assert ".ssh" not in text
    assert '(deny file-read* file-write* (regex #"^/Users/me/\\.ssh/"))' in sbpl_profile(compute_policy(mac_inputs()))


def test_sbpl_quotes_paths_with_quotes_and_backslashes() -> None:
    text = sbpl_profile(compute_policy(mac_inputs(deny_read=['/tmp/we"ird\\dir'])))
    assert '(subpath "/tmp/we\\"ird\\\\dir"))' in text


def test_always_denied_paths_and_argus_home_are_in_every_policy(tmp_path: Path) -> None:
    home = tmp_path / "home"
    policy = compute_policy(PolicyInputs(task_id="t1", worktree=str(tmp_path / "ah/worktrees/p/s"),
                                         run_dir=str(tmp_path / "ah/run/t1"), argus_home=str(tmp_path / "ah"),
                                         home=str(home)))
    for name in (".gnupg", ".aws", ".kube", ".config/gcloud"):
        assert str(home / name) in policy.deny_read
    assert policy.hidden_except == (str(tmp_path / "ah"), str(tmp_path / "ah/run/t1"))
    assert policy.private_tmp == str(tmp_path / "ah/run/t1/tmp")
    assert policy.network is True


def test_writable_paths_are_worktree_git_dir_agent_state_and_extra_write(tmp_path: Path) -> None:
    policy = compute_policy(PolicyInputs(task_id="t1", worktree="/w/t", run_dir="/a/run/t1", argus_home="/a",
                                         home="/h", git_dir="/r/.git", extra_write=["~/cache", "/srv/out"]))
    assert policy.write == ("/w/t", "/r/.git", "/h/.claude.json", "/h/.claude", "/h/.codex", "/h/cache", "/srv/out")
    assert policy.read_only == ("/r/.git/hooks", "/r/.git/config")


def test_deny_entries_that_would_hide_the_worktree_are_ignored_with_a_reason() -> None:
    policy = compute_policy(PolicyInputs(task_id="t1", worktree="/a/worktrees/p/s", run_dir="/a/run/t1",
                                         argus_home="/a", home="/h", deny_read=["/a/worktrees", "/", "/etc/x"]))
    assert "/etc/x" in policy.deny_read and "/a/worktrees" not in policy.deny_read
    assert [p for p, _ in policy.ignored] == ["/a/worktrees", "/"]


def test_ssh_private_keys_are_denied_but_public_material_stays(tmp_path: Path) -> None:
    ssh = tmp_path / "home/.ssh"
    ssh.mkdir(parents=True)
    for name in ("id_ed25519", "id_ed25519.pub", "known_hosts", "known_hosts.old", "config", "authorized_keys",
                 "work_key"):
        (ssh / name).write_text("x")
    assert ssh_private_files(str(ssh)) == [str(ssh / "id_ed25519"), str(ssh / "work_key")]
    inp = dict(task_id="t1", worktree="/w", run_dir="/r", argus_home="/a", home=str(tmp_path / "home"))
    assert str(ssh / "id_ed25519") in compute_policy(PolicyInputs(**inp)).deny_read
    allowed = compute_policy(PolicyInputs(**inp, allow_ssh_keys=True))
    assert allowed.ssh_dir is None and not any(".ssh" in p for p in allowed.deny_read)


def test_project_enabled_false_overrides_global_true() -> None:
    settings = FakeSettings({"enabled": True})
    assert effective(settings, {"sandbox": {"enabled": False}}).enabled is False
    assert effective(settings, {"sandbox": {"enabled": None}}).enabled is True
    assert effective(settings, {"sandbox": {"enabled": None}}).enabled_from == "global"
    assert effective(FakeSettings(), {"sandbox": {"enabled": True}}).enabled_from == "project"


def test_project_lists_append_to_the_global_lists() -> None:
    settings = FakeSettings({"deny_read": ["/g1"], "extra_write": ["/gw"], "allow_apple_events": ["com.a"]})
    eff = effective(settings, {"sandbox": {"deny_read": ["/p1"], "extra_write": ["/pw"],
                                           "allow_apple_events": ["com.b"]}})
    assert eff.deny_read == ("/g1", "/p1") and eff.extra_write == ("/gw", "/pw")
    assert eff.apple_events == ("com.a", "com.b")


def test_network_defaults_on_and_a_project_can_turn_it_off() -> None:
    assert effective(FakeSettings(), None).network is True
    assert effective(FakeSettings(), {"sandbox": {"network": False}}).network is False
    assert effective(FakeSettings({"network": False}), {"sandbox": {"network": None}}).network is False


def test_the_manuals_lowercased_spellings_are_aliases() -> None:
    assert project_sandbox({"denyread": ["~/.ssh"], "extrawrite": "/a, /b", "allowappleevents": ["x"]}) == {
        "enabled": None, "network": None, "deny_read": ["~/.ssh"], "extra_write": ["/a", "/b"],
        "allow_apple_events": ["x"]}
    eff = effective(FakeSettings(raw={"denyread": ["/from-toml"]}), None)
    assert eff.deny_read == ("/from-toml",)


def test_the_sandbox_section_is_master_only() -> None:
    assert SANDBOX_SECTION.master_only
    assert {f.key for f in SANDBOX_SECTION.fields} >= {"enabled", "deny_read", "extra_write", "allow_apple_events",
                                                        "network"}


def test_bwrap_argv_shape(tmp_path: Path) -> None:
    home, ah = tmp_path / "home", tmp_path / "ah"
    (home / ".aws").mkdir(parents=True)
    wt, run = ah / "worktrees/p/s", ah / "run/t1"
    wt.mkdir(parents=True)
    run.mkdir(parents=True)
    policy = compute_policy(PolicyInputs(task_id="t1", worktree=str(wt), run_dir=str(run), argus_home=str(ah),
                                         home=str(home), network=False))
    argv = bwrap_argv(policy, ["claude", "--x"], bwrap="/usr/bin/bwrap")
    assert argv[:8] == ["/usr/bin/bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    assert argv[-3:] == ["--", "claude", "--x"]
    assert "--new-session" not in argv and "--die-with-parent" in argv and "--unshare-net" in argv
    assert ["--bind", str(run / "tmp"), "/tmp"] == argv[8:11]
    joined = " ".join(argv)
    assert f"--tmpfs {ah}" in joined and f"--ro-bind {run} {run}" in joined and f"--bind {wt} {wt}" in joined
    assert f"--tmpfs {home / '.aws'}" in joined and f"--remount-ro {home / '.aws'}" in joined
    # the mask of ARGUS_HOME comes before the worktree is bound back into it
    assert joined.index(f"--tmpfs {ah}") < joined.index(f"--bind {wt} {wt}")


def test_git_common_dir_of_a_linked_worktree(tmp_path: Path) -> None:
    from argus_testkit import make_repo, run_git

    repo = make_repo(tmp_path / "repo")
    run_git(repo, "worktree", "add", "-q", "-b", "argus/x", str(tmp_path / "wt"))
    assert git_common_dir(str(tmp_path / "wt")) == str(repo / ".git")
    assert git_common_dir(str(repo)) == str(repo / ".git")
    assert git_common_dir(str(tmp_path / "nothing")) is None


@pytest.mark.parametrize("platform", ["linux", "darwin"])
def test_policy_json_is_serialisable(platform: str) -> None:
    import json

    policy = compute_policy(mac_inputs(platform=platform))
    assert json.loads(json.dumps(policy.to_json()))["platform"] == platform


def test_config_toml_project_sandbox_accepts_both_spellings() -> None:
    from argus.plugins.tasks.projects import config_sandbox as _config_sandbox

    assert _config_sandbox({"enabled": True, "denyread": ["~/.ssh"], "extra_write": ["/x"], "network": False}) == {
        "enabled": True, "network": False, "deny_read": ["~/.ssh"], "extra_write": ["/x"], "allow_apple_events": []}
    assert _config_sandbox({"enabled": "yes"})["enabled"] is None
