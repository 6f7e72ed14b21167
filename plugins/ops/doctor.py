"""``argus doctor`` and ``GET /api/doctor``: check the installation and explain each problem with a fix.

Every check returns a :class:`Check` with a status: ``ok``, ``warn`` (works, but worth knowing),
``fail`` (broken: the command exits 1) or ``skip`` (does not apply here). Checks run in the daemon
when it answers (they then see the daemon's own environment, which is what agents inherit), else
locally in the CLI with what can be known without a daemon.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import trio
from argus.kernel.api import Kernel, Migration, pid_alive

from .install import install_mode

MIN_PYTHON = (3, 11)
MIN_GIT = (2, 17)  # `git worktree remove`/`move`
DISK_WARN = 1 << 30
DISK_FAIL = 100 << 20
PROBE_TIMEOUT = 5.0


@dataclass
class Check:
    """One line of the report."""

    name: str
    status: str  # ok | warn | fail | skip
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        """The check as JSON."""
        return asdict(self)


@dataclass
class Context:
    """What the checks may look at: the home, settings, backends, and the daemon when inside it."""

    home: Path
    setting: Callable[[str, str], Any]  # (section, key) -> value or None
    migrations: list[Migration]
    backends: list[dict[str, Any]] | None = None  # None: unknown (no daemon)
    default_backend: str | None = None
    kernel: Kernel | None = None  # set when running inside the daemon
    daemon_answer: dict[str, Any] | None = None


def _probe(argv: list[str], timeout: float = PROBE_TIMEOUT, env: dict[str, str] | None = None) -> tuple[int, str]:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                              env=env)
    except FileNotFoundError:
        return 127, f"{argv[0]}: not found"
    except subprocess.TimeoutExpired:
        return 124, f"{argv[0]}: no answer within {timeout:.0f} s"
    except OSError as exc:
        return 126, f"{argv[0]}: {exc}"
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def _version_tuple(text: str) -> tuple[int, ...]:
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(g) for g in match.groups() if g is not None) if match else ()


# -- individual checks -------------------------------------------------------------------------

def check_python(ctx: Context) -> Check:
    """The interpreter is new enough."""
    v = sys.version_info
    text = f"Python {v.major}.{v.minor}.{v.micro} ({sys.executable})"
    if (v.major, v.minor) < MIN_PYTHON:
        return Check("python", "fail", text, "install Python 3.11 or newer and reinstall Argus with it")
    return Check("python", "ok", text)


def check_install(ctx: Context) -> Check:
    """How Argus is installed (what self-update will use)."""
    mode = install_mode()
    detail = f"{mode['mode']}{' (editable)' if mode['editable'] else ''} at {mode['prefix']}"
    override = str(ctx.setting("update", "install_command") or "")
    if mode["mode"] == "system" and not override:
        return Check("install", "warn", detail + "; self-update cannot reinstall into a system Python",
                     "reinstall Argus into a virtualenv (or with uv tool / pipx), or set update.install_command")
    return Check("install", "ok", detail + (f"; install command: {override}" if override else ""))


def check_git(ctx: Context) -> Check:
    """git is installed and supports worktrees fully."""
    code, out = _probe(["git", "--version"])
    if code != 0:
        return Check("git", "fail", out or "git is not installed", "install git 2.17 or newer (apt install git)")
    version = _version_tuple(out)
    if version and version[:2] < MIN_GIT:
        return Check("git", "fail", f"{out}: worktree remove/move need git 2.17+", "upgrade git to 2.17 or newer")
    return Check("git", "ok", out)


def _agent_path() -> str:
    return os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])


def check_backends(ctx: Context) -> list[Check]:
    """Each backend's executable resolves and answers ``--version``; the default one must exist."""
    if ctx.backends is None:
        return [Check("backends", "skip", "backends are known to the daemon, which is not running",
                      "start it (argus daemon start) and run argus doctor again")]
    out = []
    env = {**os.environ, "PATH": _agent_path()}
    for b in ctx.backends:
        name = b.get("name", "?")
        is_default = name == ctx.default_backend
        label = f"backend {name}" + (" (default)" if is_default else "")
        try:
            exe = shlex.split(str(b.get("command", "")))[0]
        except (ValueError, IndexError):
            out.append(Check(label, "fail" if is_default else "warn", f"command {b.get('command')!r} cannot be parsed",
                             f"fix the command of backend {name} in Settings → Backends"))
            continue
        found = shutil.which(exe, path=env["PATH"])
        if found is None:
            fix = (f"install {exe} and make sure it runs from a plain shell ({exe} --version), "
                   f"or choose another default backend" if is_default else
                   f"install {exe} if you want to use backend {name}")
            out.append(Check(label, "fail" if is_default else "warn", f"{exe} is not on PATH", fix))
            continue
        code, text = _probe([found, "--version"], env=env)
        first = text.splitlines()[0] if text else ""
        if code != 0:
            out.append(Check(label, "warn", f"{found} --version exited {code}: {first}",
                             f"run {exe} --version in a shell and fix what it reports (login, config)"))
        else:
            out.append(Check(label, "ok", f"{found}: {first}"))
    return out


def check_sandbox(ctx: Context) -> Check:
    """bubblewrap and unprivileged user namespaces (Linux) or sandbox-exec (macOS)."""
    enabled = bool(ctx.setting("sandbox", "enabled"))
    bad = "fail" if enabled else "warn"
    if sys.platform == "darwin":
        if shutil.which("sandbox-exec"):
            return Check("sandbox", "ok", "sandbox-exec is available")
        return Check("sandbox", bad, "sandbox-exec not found", "it ships with macOS; check your PATH")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Check("sandbox", bad, "bubblewrap (bwrap) is not installed; agents cannot be sandboxed",
                     "apt install bubblewrap (or dnf install bubblewrap)")
    code, out = _probe([bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--unshare-user", "true"])
    if code != 0:
        return Check("sandbox", bad, f"bwrap cannot create a user namespace: {out[:200]}",
                     "enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu "
                     "24.04+ an AppArmor profile for bwrap), or run where they are allowed")
    return Check("sandbox", "ok", f"{bwrap} works with user namespaces")


def check_tmux(ctx: Context) -> Check:
    """The TUI's terminal: tmux (optional) and a TERM with colours."""
    term = os.environ.get("TERM", "")
    code, out = _probe(["tmux", "-V"])
    parts = [f"TERM={term or '(unset)'}"]
    if code == 0:
        parts.append(out)
    if not term or term == "dumb":
        return Check("terminal", "warn", ", ".join(parts), "run the TUI in a terminal with TERM=xterm-256color")
    return Check("terminal", "ok", ", ".join(parts) + ("" if code == 0 else "; tmux not installed (optional)"))


def check_home(ctx: Context) -> list[Check]:
    """ARGUS_HOME is private (0700), the token file is 0600, and the disk has room."""
    home = ctx.home
    out: list[Check] = []
    try:
        mode = stat.S_IMODE(home.stat().st_mode)
    except FileNotFoundError:
        return [Check("home", "warn", f"{home} does not exist yet", "run argus (or argus daemon start) once")]
    if mode & 0o077:
        out.append(Check("home", "fail", f"{home} has mode {mode:04o}: other users can read tokens and data",
                         f"chmod 700 {shlex.quote(str(home))}"))
    else:
        out.append(Check("home", "ok", f"{home} (mode {mode:04o})"))
    token = home / "api-token"
    if token.exists():
        tmode = stat.S_IMODE(token.stat().st_mode)
        if tmode & 0o077:
            out.append(Check("api token", "fail", f"{token} has mode {tmode:04o}",
                             f"chmod 600 {shlex.quote(str(token))}"))
    usage = shutil.disk_usage(home)
    free = f"{usage.free / (1 << 30):.1f} GiB free"
    if usage.free < DISK_FAIL:
        out.append(Check("disk", "fail", free, "free disk space: agents, worktrees and SQLite need room"))
    elif usage.free < DISK_WARN:
        out.append(Check("disk", "warn", free, "free some disk space (worktrees grow with every task)"))
    else:
        out.append(Check("disk", "ok", free))
    return out


def check_database(ctx: Context) -> list[Check]:
    """SQLite integrity (quick_check) and whether this code knows the recorded schema."""
    from .compat import migration_plan

    db = ctx.home / "data.sql"
    if not db.exists():
        return [Check("database", "warn", f"{db} does not exist yet", "start the daemon once (argus daemon start)")]
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            result = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return [Check("database", "fail", f"{db}: {exc}",
                      "restore data.sql from a backup, or move it away to start fresh")]
    out = []
    if result != "ok":
        out.append(Check("database", "fail", f"integrity check: {result}",
                         "stop the daemon, back up data.sql, and recover it (sqlite3 data.sql .recover)"))
    else:
        out.append(Check("database", "ok", f"{db}: integrity ok"))
    plan = migration_plan(db, ctx.migrations)
    if plan["too_new"]:
        out.append(Check("schema", "fail", "; ".join(plan["too_new"]),
                         "upgrade Argus (self-update or reinstall), or point ARGUS_HOME elsewhere"))
    elif plan["pending"]:
        steps = ", ".join(f"{p} v{v}" for p, v in plan["pending"])
        out.append(Check("schema", "warn", f"migrations pending: {steps}", "restart the daemon to apply them"))
    else:
        versions = ", ".join(f"{p} v{v}" for p, v in sorted(plan["recorded"].items()))
        out.append(Check("schema", "ok", f"up to date ({versions})"))
    return out


def check_processes(ctx: Context) -> list[Check]:
    """Daemon and supervisor answer (the supervisor's hello succeeds only on a matching protocol)."""
    from .compat import supervisor_report

    out = []
    if ctx.kernel is not None:
        out.append(Check("daemon", "ok", f"running (pid {os.getpid()}, version {ctx.kernel.version})"))
        sup = ctx.kernel.supervisor_status()
        if not sup.get("enabled"):
            out.append(Check("supervisor", "warn", "disabled: agents run inside the daemon and stop with it",
                             "set [supervisor] enabled = true and restart the daemon"))
            return out
    elif ctx.daemon_answer is not None:
        out.append(Check("daemon", "ok", f"running (version {ctx.daemon_answer.get('version')})"))
    else:
        out.append(Check("daemon", "warn", "not running", "argus daemon start (or argus daemon install for login)"))
    info = supervisor_report(str(ctx.home))
    pid_file = ctx.home / "supervisor.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        pid = None
    if not info.get("running") and pid is not None and pid_alive(pid):
        out.append(Check("supervisor", "fail", f"supervisor {pid} is alive but does not answer this Argus "
                                               "(a different protocol version, or hung)",
                         "let agents finish, then argus session-supervisor stop && argus daemon restart"))
    elif not info.get("running"):
        status = "fail" if ctx.kernel is not None else "warn"
        out.append(Check("supervisor", status, "the session supervisor does not answer",
                         "argus session-supervisor start (the daemon also starts it)"))
    else:
        out.append(Check("supervisor", "ok", f"running (pid {info.get('pid')}, protocol {info.get('protocol')}, "
                                             f"{len(info.get('sessions') or [])} sessions)"))
    return out


def _listening(port: int) -> list[str]:
    """Local addresses listening on TCP ``port`` (Linux /proc/net/tcp{,6}); [] when unknown."""
    found = []
    for name, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) < 4 or parts[3] != "0A":  # LISTEN
                continue
            addr, _, hexport = parts[1].partition(":")
            if int(hexport, 16) != port:
                continue
            if width == 8:
                found.append(".".join(str(b) for b in reversed(bytes.fromhex(addr))))
            else:
                found.append("::" if set(addr) == {"0"} else addr)
    return found


def check_listeners(ctx: Context) -> Check:
    """The daemon listens on loopback and the Tailscale address only, never 0.0.0.0."""
    if ctx.kernel is None:
        return Check("listeners", "skip", "checked by the running daemon", "argus daemon start")
    ports = {"api": ctx.kernel.api_port, "mcp": ctx.kernel.mcp_port}
    seen = []
    for label, port in ports.items():
        if not port:
            continue
        addrs = _listening(port)
        if any(a in ("0.0.0.0", "::") for a in addrs):
            return Check("listeners", "fail", f"{label} port {port} listens on all interfaces ({', '.join(addrs)})",
                         "report this as a bug; stop the daemon (argus daemon stop)")
        seen.append(f"{label} {','.join(addrs) or '?'}:{port}")
    return Check("listeners", "ok", "; ".join(seen) or "API off; MCP not bound")


def check_tailscale(ctx: Context) -> Check:
    """The Tailscale address the API binds (for the PWA from a phone)."""
    from .compat import tailscale_ipv4

    ip = tailscale_ipv4()
    if ip:
        return Check("tailscale", "ok", f"tailscale0 has {ip}")
    return Check("tailscale", "skip", "no Tailscale address (the API is reachable on 127.0.0.1 only)",
                 "install Tailscale and run tailscale up to reach the PWA from your phone")


def check_vapid(ctx: Context) -> Check:
    """Web Push keys exist and are private (when the push plugin made them)."""
    keys = sorted(p for p in ctx.home.glob("vapid*") if p.is_file())
    if not keys:
        return Check("vapid", "skip", "no VAPID keys (made when Web Push is first used)")
    loose = [p.name for p in keys if stat.S_IMODE(p.stat().st_mode) & 0o077]
    if loose:
        return Check("vapid", "fail", f"readable by others: {', '.join(loose)}",
                     "chmod 600 " + " ".join(shlex.quote(str(ctx.home / n)) for n in loose))
    return Check("vapid", "ok", ", ".join(p.name for p in keys))


def check_kb(ctx: Context) -> Check:
    """The knowledge-base vault is a readable directory (when the KB is enabled)."""
    if not ctx.setting("kb", "enabled"):
        return Check("kb vault", "skip", "the knowledge base is off")
    raw = ctx.setting("kb", "vault_path") or ctx.setting("kb", "metis_vault_path") or ""
    path = Path(str(raw)).expanduser()
    if not raw or not path.is_dir():
        return Check("kb vault", "fail", f"vault {str(raw) or '(unset)'} is not a directory",
                     "set [kb] vault_path to your Markdown vault, or turn the KB off")
    if not os.access(path, os.R_OK | os.X_OK):
        return Check("kb vault", "fail", f"{path} is not readable", f"chmod u+rx {shlex.quote(str(path))}")
    return Check("kb vault", "ok", str(path))


def check_stale(ctx: Context) -> Check:
    """Pid files of dead processes and sockets nobody answers on."""
    stale = []
    for name in ("daemon.pid", "supervisor.pid"):
        f = ctx.home / name
        try:
            pid = int(f.read_text().strip())
        except (FileNotFoundError, ValueError):
            continue
        if not pid_alive(pid):
            stale.append(f"{name} (pid {pid} is gone)")
    sock = ctx.home / "daemon.sock"
    if ctx.kernel is None and ctx.daemon_answer is None and sock.exists():
        stale.append("daemon.sock (no daemon answers)")
    if stale:
        files = " ".join(shlex.quote(str(ctx.home / s.split()[0])) for s in stale)
        return Check("stale files", "warn", ", ".join(stale), f"rm {files}  (only while no daemon runs)")
    return Check("stale files", "ok", "none")


CHECKS: list[Callable[[Context], Check | list[Check]]] = [
    check_python, check_install, check_git, check_backends, check_sandbox, check_tmux, check_home,
    check_database, check_processes, check_listeners, check_tailscale, check_vapid, check_kb, check_stale,
]


def run_checks(ctx: Context, checks: Iterable[Callable[[Context], Check | list[Check]]] = CHECKS) -> dict[str, Any]:
    """Run every check (a crashing check is reported, never raised); ``ok`` is False on any fail."""
    results: list[Check] = []
    for fn in checks:
        try:
            got = fn(ctx)
        except Exception as exc:  # a check must never break the report
            got = Check(fn.__name__.removeprefix("check_"), "warn", f"the check itself failed: {exc!r}",
                        "report this as a bug")
        results.extend(got if isinstance(got, list) else [got])
    return {"ok": not any(c.status == "fail" for c in results), "checks": [c.to_json() for c in results]}


def _kernel_setting(kernel: Kernel) -> Callable[[str, str], Any]:
    def get(section: str, key: str) -> Any:
        try:
            return kernel.settings.get(section, key)
        except Exception:
            return None
    return get


async def run_in_daemon(kernel: Kernel) -> dict[str, Any]:
    """The report as the daemon sees it (``GET /api/doctor``); probes run off the event loop."""
    from .compat import tasks_of

    tasks = tasks_of(kernel)
    backends = tasks.backends() if tasks is not None and hasattr(tasks, "backends") else None
    default = next((b["name"] for b in backends or [] if b.get("default")), None)
    migrations = [m for group in kernel.pm.hook.argus_migrations() for m in (group or [])]
    ctx = Context(home=kernel.paths.home, setting=_kernel_setting(kernel), migrations=migrations,
                  backends=backends, default_backend=default, kernel=kernel)
    report = await trio.to_thread.run_sync(run_checks, ctx)
    report["where"] = "daemon"
    return report


def run_local() -> dict[str, Any]:
    """The report from the CLI: the daemon's when it answers, else the local checks."""
    from .compat import local_report, offline_context

    answer = local_report()
    if answer is not None:
        return answer
    ctx = offline_context()
    report = run_checks(ctx)
    report["where"] = "local"
    return report
