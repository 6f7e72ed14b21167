"""Auto-start at login: a systemd user unit on Linux, a launchd LaunchAgent on macOS.

``argus daemon install`` writes the service definition for this ARGUS_HOME and enables it;
``uninstall`` disables and removes it; ``status`` (and the Settings row) shows what is installed.

- Linux: ``~/.config/systemd/user/argus-daemon.service`` running ``argus daemon run``, restarted on
  failure but not after a clean stop; exit status ``RESTART_STATUS`` (a self-update) is a clean exit
  that systemd restarts (older units without those lines restart on it too: it is non-zero).
  Where ``systemctl --user`` cannot run (containers, no user session) the unit is still written
  and the answer says so, with ``loginctl enable-linger``.
  ``ARGUS_SYSTEMD_USER_DIR`` overrides the unit directory and ``ARGUS_SYSTEMCTL`` the ``systemctl``
  command (split like a shell line; tests point them at a temporary directory and a fake).
- macOS: ``~/Library/LaunchAgents/com.drn.argus.daemon.plist`` with ``RunAtLoad`` and
  ``KeepAlive {SuccessfulExit = false}`` (a crash restarts it, a clean ``argus daemon stop`` is
  honoured), logs in ``$ARGUS_HOME/launchd.log``. It runs ``$ARGUS_HOME/argusd``, a symlink to the
  resolved ``argus`` executable that every install rewrites, so launchd picks up a reinstall.
"""

from __future__ import annotations

import getpass
import os
import plistlib
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from .paths import Paths

UNIT_NAME = "argus-daemon.service"
# The exit status that asks the service manager for a restart (EX_TEMPFAIL): a self-update under
# the systemd unit exits with it and ``Restart=on-failure`` starts the new code inside the unit.
RESTART_STATUS = 75
LAUNCHD_LABEL = "com.drn.argus.daemon"
LINGER_HINT = ("systemd user services need a user session: run `loginctl enable-linger {user}` (as root or "
               "with sudo) so they start at boot without a login, or start the daemon yourself with "
               "`argus daemon start`")


def under_systemd() -> bool:
    """Whether this process is a systemd service's main process: systemd sets ``INVOCATION_ID``
    and (since v248) ``SYSTEMD_EXEC_PID``, which must then be this pid; children that merely
    inherited the variables (a daemon started from a shell inside some other service) are not."""
    if sys.platform == "darwin" or not os.environ.get("INVOCATION_ID"):
        return False
    exec_pid = (os.environ.get("SYSTEMD_EXEC_PID") or "").strip()
    return not exec_pid or exec_pid == str(os.getpid())


def system() -> str:
    """``launchd`` on macOS, ``systemd`` elsewhere."""
    return "launchd" if sys.platform == "darwin" else "systemd"


# -- systemd ------------------------------------------------------------------------------------

def unit_path() -> Path:
    """Where the user unit lives: ``$ARGUS_SYSTEMD_USER_DIR``, else ``$XDG_CONFIG_HOME/systemd/user``
    (``~/.config`` by default)."""
    override = os.environ.get("ARGUS_SYSTEMD_USER_DIR")
    if override:
        return Path(override) / UNIT_NAME
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "systemd" / "user" / UNIT_NAME


def systemctl_argv() -> list[str]:
    """The ``systemctl`` command: ``$ARGUS_SYSTEMCTL`` (split like a shell line) or ``systemctl``."""
    try:
        words = shlex.split(os.environ.get("ARGUS_SYSTEMCTL", ""))
    except ValueError:
        words = []
    return words or ["systemctl"]


def unit_text(paths: Paths) -> str:
    """The unit file: foreground daemon, restart on crash only, logs in ARGUS_HOME."""
    exe = f"{sys.executable} -m argus.kernel.cli"
    return (
        "[Unit]\n"
        "Description=Argus daemon (LLM coding agent orchestrator)\n"
        "After=network-online.target\n\n"
        "[Service]\n"
        "Type=simple\n"
        f"Environment=ARGUS_HOME={paths.home}\n"
        "Environment=ARGUS_DAEMON_STANDBY=0\n"  # systemd restarts a crashed daemon itself
        f"ExecStart={exe} daemon run\n"
        "Restart=on-failure\n"
        f"RestartForceExitStatus={RESTART_STATUS}\n"
        f"SuccessExitStatus={RESTART_STATUS}\n"
        "RestartSec=2\n"
        "KillMode=process\n\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def _run(argv: list[str]) -> tuple[bool, str]:
    if shutil.which(argv[0]) is None:
        return False, f"{argv[0]} not found"
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()


def _systemctl(*args: str) -> tuple[bool, str]:
    return _run([*systemctl_argv(), "--user", *args])


def _user_manager() -> tuple[bool, str]:
    """Whether a systemd user manager answers; else why not (for the Settings row)."""
    ok, out = _systemctl("show-environment")
    if ok:
        return True, ""
    if out.endswith("not found"):
        return False, "systemctl not found (no systemd here)"
    first = out.splitlines()[0] if out else "systemctl --user failed"
    return False, f"no systemd user session ({first})"


def _linger() -> bool | None:
    ok, out = _run(["loginctl", "show-user", getpass.getuser(), "-p", "Linger", "--value"])
    return (out.strip() == "yes") if ok else None


def _systemd_install(paths: Paths) -> dict[str, object]:
    path = unit_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(unit_text(paths))
    ok, out = _systemctl("daemon-reload")
    if ok:
        ok, out = _systemctl("enable", UNIT_NAME)
    result: dict[str, object] = {"system": "systemd", "unit": str(path), "enabled": ok, "detail": out}
    if not ok:
        result["hint"] = LINGER_HINT.format(user=getpass.getuser())
    elif _linger() is False:
        result["hint"] = ("enabled: it starts when you log in; to start it at boot without a login run "
                          f"`loginctl enable-linger {getpass.getuser()}`")
    return result


def _systemd_uninstall() -> dict[str, object]:
    path = unit_path()
    _systemctl("disable", UNIT_NAME)
    existed = path.exists()
    if existed:
        path.unlink()
    _systemctl("daemon-reload")
    return {"system": "systemd", "unit": str(path), "removed": existed}


def _systemd_state() -> dict[str, object]:
    path = unit_path()
    available, reason = _user_manager()
    enabled = active = False
    if available and path.exists():
        enabled = _systemctl("is-enabled", UNIT_NAME)[0]
        active = _systemctl("is-active", UNIT_NAME)[0]
    out: dict[str, object] = {"system": "systemd", "unit": str(path), "installed": path.exists(),
                              "enabled": enabled, "active": active, "available": available, "reason": reason}
    if not available:
        out["hint"] = LINGER_HINT.format(user=getpass.getuser())
    return out


# -- launchd ------------------------------------------------------------------------------------

def plist_path() -> Path:
    """``~/Library/LaunchAgents/com.drn.argus.daemon.plist``."""
    return Path.home() / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"


def argus_executable() -> Path | None:
    """The resolved ``argus`` console script of this environment (None when it has none)."""
    candidate = Path(sys.executable).parent / "argus"
    if candidate.exists():
        return candidate.resolve()
    found = shutil.which("argus")
    return Path(found).resolve() if found else None


def stable_link(paths: Paths) -> Path:
    """``$ARGUS_HOME/argusd``: the symlink the LaunchAgent runs."""
    return paths.home / "argusd"


def plist_text(paths: Paths, program: list[str]) -> str:
    """The LaunchAgent plist running ``program`` (``[argusd, "daemon", "run"]``) for this home."""
    log = str(paths.home / "launchd.log")
    data = {
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": program,
        # launchd restarts a crashed daemon itself: no warm standby (see argus.kernel.standby).
        "EnvironmentVariables": {"ARGUS_HOME": str(paths.home), "ARGUS_DAEMON_STANDBY": "0"},
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "StandardOutPath": log,
        "StandardErrorPath": log,
        "ProcessType": "Interactive",
    }
    return plistlib.dumps(data, sort_keys=True).decode()


def _launchd_program(paths: Paths) -> list[str]:
    exe = argus_executable()
    if exe is None:  # no console script: run the module with this interpreter
        return [sys.executable, "-m", "argus.kernel.cli", "daemon", "run"]
    link = stable_link(paths)
    tmp = link.with_name(f".argusd.{os.getpid()}")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(exe)
    os.replace(tmp, link)  # atomic: launchd never sees a missing link
    return [str(link), "daemon", "run"]


def _domain() -> str:
    return f"gui/{os.getuid()}"


def _launchd_install(paths: Paths) -> dict[str, object]:
    path = plist_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    program = _launchd_program(paths)
    path.write_text(plist_text(paths, program))
    _run(["launchctl", "bootout", f"{_domain()}/{LAUNCHD_LABEL}"])  # reload when already loaded
    ok, out = _run(["launchctl", "bootstrap", _domain(), str(path)])
    return {"system": "launchd", "plist": str(path), "program": program, "loaded": ok, "detail": out}


def _launchd_uninstall(paths: Paths) -> dict[str, object]:
    path = plist_path()
    _run(["launchctl", "bootout", f"{_domain()}/{LAUNCHD_LABEL}"])
    existed = path.exists()
    if existed:
        path.unlink()
    link = stable_link(paths)
    if link.is_symlink():
        link.unlink()
    return {"system": "launchd", "plist": str(path), "removed": existed}


def _launchd_state() -> dict[str, object]:
    path = plist_path()
    loaded, _ = _run(["launchctl", "print", f"{_domain()}/{LAUNCHD_LABEL}"]) if path.exists() else (False, "")
    available = shutil.which("launchctl") is not None
    return {"system": "launchd", "plist": str(path), "installed": path.exists(), "loaded": loaded,
            "available": available, "reason": "" if available else "launchctl not found"}


# -- the API the CLI uses -----------------------------------------------------------------------

def install(paths: Paths, kind: str | None = None) -> dict[str, object]:
    """Write and (when possible) enable the service; report what happened."""
    return _launchd_install(paths) if (kind or system()) == "launchd" else _systemd_install(paths)


def uninstall(paths: Paths | None = None, kind: str | None = None) -> dict[str, object]:
    """Disable and remove the service."""
    if (kind or system()) == "launchd":
        return _launchd_uninstall(paths or Paths.default())
    return _systemd_uninstall()


def state(kind: str | None = None) -> dict[str, object]:
    """Installed / enabled state for ``argus daemon status`` and the Settings row: ``installed``
    (the unit or plist exists), ``enabled``/``active`` (systemd) or ``loaded`` (launchd), and
    ``available`` with the ``reason`` (and a ``hint``) when the service manager cannot be used."""
    return _launchd_state() if (kind or system()) == "launchd" else _systemd_state()


def set_enabled(paths: Paths, enabled: bool, kind: str | None = None) -> dict[str, object]:
    """Install (``enabled``) or uninstall the service; the answer of :func:`install` or
    :func:`uninstall` under ``"result"``, and the new :func:`state` merged in."""
    result = install(paths, kind) if enabled else uninstall(paths, kind)
    return {**state(kind), "result": result}
