"""Self-update: ``git pull --ff-only`` in ``update.source_path``, reinstall, check, restart the daemon.

Steps, in order, each published as an ``update.step`` event (``running`` then ``ok``/``failed``):

1. ``check``: the source path is a git work tree whose branch tracks an upstream;
2. ``fetch``: ``git fetch`` and the list of commits that would be pulled (a dry run stops here);
3. ``pull``: ``git pull --ff-only``;
4. ``install``: reinstall into the environment Argus runs from (see ``install.py``);
5. ``verify``: ``argus daemon check`` run by the *new* code: plugins load, the schema is known;
6. ``restart``: a detached helper waits for this daemon to exit and starts the new one. Under the
   systemd user unit (``INVOCATION_ID`` set, this is the unit's main process) the daemon instead
   exits with ``RESTART_STATUS`` and systemd starts the new code inside the unit. Only the daemon
   restarts: agents live in the session supervisor (``KillMode=process`` leaves it running) and
   are re-attached.

Any failing step stops the update and leaves the running daemon as it was; ``update.finished``
carries the step and its output.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import trio
from argus.kernel.api import RESTART_STATUS, BackgroundJob, Kernel, under_systemd

from .compat import Conflict, Invalid, atomic_write
from .install import install_argv, install_mode

log = logging.getLogger(__name__)

GIT_TIMEOUT = 120.0
INSTALL_TIMEOUT = 900.0
VERIFY_TIMEOUT = 120.0
OUTPUT_MAX = 16_000
HOW_TO_SET = ("no source path is set: clone Argus somewhere (git clone <url> ~/src/argus) and set it with "
              "PUT /api/source-path {\"source_path\": \"~/src/argus\"}, the Settings row 'Source path', "
              "or [update] source_path in config.toml")


class StepFailed(Exception):
    """A step of the update failed; ``output`` is what its command printed."""

    def __init__(self, step: str, message: str, output: str = "") -> None:
        super().__init__(message)
        self.step = step
        self.message = message
        self.output = output


@dataclass
class UpdateRun:
    """One update attempt, as ``GET /api/update`` shows it."""

    id: str
    status: str = "running"  # running | restarting | failed | done
    steps: list[dict[str, Any]] = field(default_factory=list)
    commits: list[dict[str, str]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    started_at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        """The run as JSON."""
        return {"id": self.id, "status": self.status, "steps": self.steps, "commits": self.commits,
                "error": self.error, "started_at": self.started_at}


def _clip(text: str) -> str:
    return text if len(text) <= OUTPUT_MAX else "…" + text[-OUTPUT_MAX:]


async def _run(argv: list[str], cwd: str | None, timeout: float, step: str,
               env: dict[str, str] | None = None) -> str:
    """Run ``argv``; return stdout+stderr, or raise StepFailed with them."""
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})}
    try:
        with trio.fail_after(timeout):
            proc = await trio.run_process(argv, cwd=cwd, env=full_env, check=False, capture_stdout=True,
                                          capture_stderr=True, stdin=subprocess.DEVNULL)
    except trio.TooSlowError:
        raise StepFailed(step, f"{argv[0]} did not finish within {timeout:.0f} s") from None
    except OSError as exc:
        raise StepFailed(step, f"cannot run {argv[0]}: {exc}") from None
    out = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    if proc.returncode != 0:
        raise StepFailed(step, f"{' '.join(argv[:4])} exited with {proc.returncode}", _clip(out))
    return out


class SourceCheck(TypedDict):
    """What :func:`check_source` found: the path (expanded), whether it is usable, and why not."""

    source_path: str
    valid: bool
    detail: str


def check_source(path: str) -> SourceCheck:
    """Validate a source path (synchronously, for PUT /api/source-path): a git work tree."""
    if not path:
        return {"source_path": "", "valid": False, "detail": HOW_TO_SET}
    p = Path(path).expanduser()
    if not p.is_absolute():
        return {"source_path": path, "valid": False, "detail": "the source path must be absolute"}
    if not p.is_dir():
        return {"source_path": str(p), "valid": False, "detail": f"{p} is not a directory"}
    try:
        proc = subprocess.run(["git", "-C", str(p), "rev-parse", "--show-toplevel"], capture_output=True,
                              text=True, timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"source_path": str(p), "valid": False, "detail": f"git failed: {exc}"}
    if proc.returncode != 0:
        return {"source_path": str(p), "valid": False, "detail": f"{p} is not a git work tree"}
    if not (p / "pyproject.toml").exists():
        return {"source_path": str(p), "valid": False, "detail": f"{p} has no pyproject.toml (not an Argus checkout)"}
    return {"source_path": str(p), "valid": True, "detail": ""}


def source_revision(path: str) -> str | None:
    """HEAD of ``path`` (None when it is not a git work tree)."""
    if not path:
        return None
    try:
        proc = subprocess.run(["git", "-C", str(Path(path).expanduser()), "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() or None if proc.returncode == 0 else None


class Updater:
    """Runs updates one at a time in the kernel's nursery and remembers the last one."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.current: UpdateRun | None = None
        self.started_revision = source_revision(self.source_path())
        self._send, self._receive = trio.open_memory_channel[UpdateRun](1)
        self.current = self._finish_previous()

    @property
    def _last_file(self) -> Path:
        return Path(self.kernel.paths.home) / "update-last.json"

    def _finish_previous(self) -> UpdateRun | None:
        """The update that restarted the daemon into this process, now ``done`` (None if none)."""
        try:
            data = json.loads(self._last_file.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("status") != "restarting" or data.get("pid") == os.getpid():
            return None
        run = UpdateRun(str(data.get("id")), status="done", steps=list(data.get("steps") or []),
                        commits=list(data.get("commits") or []), started_at=float(data.get("started_at") or 0))
        run.steps = [s for s in run.steps if s.get("step") != "restart"] + [
            {"step": "restart", "status": "ok", "message": f"daemon {os.getpid()} is running the new code",
             "output": ""}]
        self._save(run)
        return run

    def _save(self, run: UpdateRun) -> None:
        try:
            atomic_write(self._last_file, json.dumps({**run.to_json(), "pid": os.getpid()}).encode(), 0o600)
        except OSError:
            log.warning("cannot record the update in %s", self._last_file, exc_info=True)

    def source_path(self) -> str:
        """``update.source_path`` with ``~`` expanded ("" when unset)."""
        raw = str(self.kernel.settings.get("update", "source_path") or "").strip()
        return str(Path(raw).expanduser()) if raw else ""

    def status(self) -> dict[str, Any]:
        """What GET /api/update answers."""
        path = self.source_path()
        return {"source_path": path, "source": check_source(path), "install": install_mode(),
                "running": {"version": self.kernel.version, "pid": os.getpid(),
                            "revision": self.started_revision},
                "update": self.current.to_json() if self.current else None}

    # -- the steps -----------------------------------------------------------------------------

    def _publish(self, run: UpdateRun, step: str, status: str, output: str = "", message: str = "") -> None:
        entry = {"step": step, "status": status, "message": message, "output": output}
        run.steps = [s for s in run.steps if s["step"] != step] + [entry]
        self.kernel.events.publish("update.step", {"id": run.id, **entry})

    async def _step(self, run: UpdateRun | None, step: str, coro: Any) -> Any:
        if run is not None:
            self._publish(run, step, "running")
        result = await coro
        if run is not None:
            self._publish(run, step, "ok", result if isinstance(result, str) else "")
        return result

    def _source_or_fail(self) -> str:
        path = self.source_path()
        info = check_source(path)
        if not info["valid"]:
            raise StepFailed("check", info["detail"])
        return info["source_path"]

    async def _upstream(self, src: str) -> str:
        try:
            out = await _run(["git", "-C", src, "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}"],
                             None, GIT_TIMEOUT, "check")
        except StepFailed as exc:
            raise StepFailed("check", f"the branch checked out in {src} tracks no upstream "
                                      "(git branch --set-upstream-to=origin/main)", exc.output) from None
        return out.strip()

    async def _fetch(self, src: str) -> list[dict[str, str]]:
        await _run(["git", "-C", src, "fetch", "--quiet"], None, GIT_TIMEOUT, "fetch")
        out = await _run(["git", "-C", src, "log", "--format=%H%x09%s", "HEAD..@{u}"], None, GIT_TIMEOUT, "fetch")
        commits = []
        for line in out.splitlines():
            sha, _, subject = line.partition("\t")
            if sha:
                commits.append({"sha": sha, "subject": subject})
        return commits

    async def dry_run(self) -> dict[str, Any]:
        """Check and fetch; list the commits a real update would pull (nothing is changed)."""
        try:
            src = self._source_or_fail()
            upstream = await self._upstream(src)
            commits = await self._fetch(src)
        except StepFailed as exc:
            raise Invalid(f"{exc.step}: {exc.message}", step=exc.step, output=exc.output) from None
        return {"dry_run": True, "source_path": src, "upstream": upstream, "commits": commits,
                "install_command": self._install_argv(src)}

    def _install_argv(self, src: str) -> list[str] | None:
        try:
            return install_argv(src, str(self.kernel.settings.get("update", "install_command") or ""))
        except ValueError:
            return None

    def start(self) -> UpdateRun:
        """Queue a real update (Conflict while one runs; Invalid when no source path is set)."""
        if self.current is not None and self.current.status in ("running", "restarting"):
            raise Conflict("an update is already running", update=self.current.id)
        if not self.source_path():
            raise Invalid(HOW_TO_SET)
        run = UpdateRun("u_" + secrets.token_hex(4))
        try:
            self._send.send_nowait(run)
        except trio.WouldBlock:
            raise Conflict("an update is already queued") from None
        self.current = run
        self.kernel.events.publish("update.started", {"id": run.id})
        return run

    async def worker(self) -> None:
        """The background job: run queued updates one after the other."""
        async for run in self._receive:
            try:
                await self._perform(run)
            except StepFailed as exc:
                run.status = "failed"
                run.error = {"step": exc.step, "message": exc.message, "output": exc.output}
                self._publish(run, exc.step, "failed", exc.output, exc.message)
                self.kernel.events.publish("update.finished", {"id": run.id, "ok": False, **run.error})
                self._save(run)
                log.warning("update %s failed at %s: %s", run.id, exc.step, exc.message)
            except Exception as exc:  # a bug: report it, keep serving
                log.exception("update %s crashed", run.id)
                run.status = "failed"
                run.error = {"step": "internal", "message": repr(exc), "output": ""}
                self.kernel.events.publish("update.finished", {"id": run.id, "ok": False, **run.error})

    async def _perform(self, run: UpdateRun) -> None:
        self._publish(run, "check", "running")
        src = self._source_or_fail()
        await self._upstream(src)
        argv = self._install_argv(src)
        if argv is None:
            try:
                install_argv(src, "")
            except ValueError as exc:
                raise StepFailed("check", str(exc)) from None
        assert argv is not None
        self._publish(run, "check", "ok")
        run.commits = await self._step(run, "fetch", self._fetch(src))
        await self._step(run, "pull", _run(["git", "-C", src, "pull", "--ff-only"], None, GIT_TIMEOUT, "pull"))
        await self._step(run, "install", _run(argv, src, INSTALL_TIMEOUT, "install"))
        await self._step(run, "verify", self._verify())
        self._publish(run, "restart", "running")
        run.status = "restarting"
        self._save(run)  # the new daemon reads it and reports the update as done
        systemd = under_systemd()
        self.kernel.events.publish("update.finished", {"id": run.id, "ok": True, "restarting": True,
                                                    "commits": len(run.commits),
                                                    "via": "systemd" if systemd else "relaunch"})
        if not systemd:
            await trio.to_thread.run_sync(self._spawn_relauncher)
        log.info("update %s installed; restarting the daemon%s (agents keep running)", run.id,
                 f" through systemd (exit status {RESTART_STATUS})" if systemd else "")
        await trio.sleep(0.2)  # let SSE clients receive the last events
        self.kernel.request_stop(RESTART_STATUS if systemd else 0)

    async def _verify(self) -> str:
        env = {"ARGUS_HOME": str(self.kernel.paths.home)}
        try:
            out = await _run([sys.executable, "-m", "argus.kernel.cli", "daemon", "check"], None,
                             VERIFY_TIMEOUT, "verify", env)
        except StepFailed as exc:
            detail = exc.output
            try:
                report = json.loads(detail[detail.index("{"):])
                if report.get("too_new"):
                    exc.message = "; ".join(report["too_new"])
                elif report.get("failed"):
                    exc.message = "plugins failed to load with the new code: " + ", ".join(report["failed"])
            except ValueError:
                pass
            raise
        return out

    def _spawn_relauncher(self) -> None:
        paths = self.kernel.paths
        env = {**os.environ, "ARGUS_HOME": str(paths.home)}
        with open(paths.daemon_log, "ab") as log_fh:
            subprocess.Popen([sys.executable, "-m", "argus.plugins.ops.relaunch", str(os.getpid())],
                             stdin=subprocess.DEVNULL, stdout=log_fh, stderr=log_fh, env=env,
                             start_new_session=True, close_fds=True)

    def jobs(self) -> list[BackgroundJob]:
        """Background jobs for the kernel's nursery."""
        return [self.worker]
