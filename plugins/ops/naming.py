"""Smart auto-naming: a task created without a name gets a kebab-case name from a small model.

The task is created at once with the slug made from its prompt; off the request path a background
job asks the task's agent CLI in print mode (Claude Code ``--print --model haiku``, ``codex exec``,
``pi --print``; the demo agent's ``--print``) for a name, with a short timeout
(``autoname.timeout``, 3 s by default). The answer renames the task unless the user renamed it in
the meantime; a timeout, an error, an unknown CLI or an unusable answer leave the slug, silently
(a ``task.autoname`` event says what happened). ``autoname.enabled = false`` turns it off.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import trio
from argus.kernel.api import Kernel

from .compat import tasks_of

if TYPE_CHECKING:  # pragma: no cover
    from argus.kernel.api import Event

log = logging.getLogger(__name__)

QUEUE = 64
CONCURRENCY = 2
MAX_NAME = 60
PROMPT_CHARS = 2000
INSTRUCTION = ("Reply with only a short kebab-case name (2 to 5 lowercase words joined by hyphens) for this "
               "coding task. No quotes, no punctuation, no explanation.\n\nTask: {prompt}")
DEFAULT_MODEL = {"claude": "haiku"}
_NOT_NAME = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Request:
    """One task waiting for a name."""

    task_id: str
    original: str
    prompt: str
    backend: str


def kind_of(command: str) -> tuple[str, str]:
    """``(kind, executable)`` of a backend command: claude, codex, pi, demo or generic."""
    try:
        exe = shlex.split(command)[0]
    except (ValueError, IndexError):
        return "generic", ""
    base = os.path.basename(exe)
    if base == "argus-demo":
        return "demo", exe
    return (base if base in ("claude", "codex", "pi") else "generic"), exe


def print_argv(command: str, prompt: str, model: str = "") -> list[str] | None:
    """The print-mode command asking ``command``'s CLI for a name, or None for an unknown CLI."""
    kind, exe = kind_of(command)
    if kind == "generic":
        return None
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    found = shutil.which(exe, path=path)
    if found is None:
        return None
    text = INSTRUCTION.format(prompt=prompt[:PROMPT_CHARS])
    model = model or DEFAULT_MODEL.get(kind, "")
    if kind == "codex":
        return [found, "exec", "--skip-git-repo-check", *(["--model", model] if model else []), text]
    return [found, "--print", *(["--model", model] if model else []), text]


def clean_name(answer: str) -> str | None:
    """The kebab-case name in a CLI's answer (its last non-empty line), or None when unusable."""
    lines = [ln.strip() for ln in answer.splitlines() if ln.strip()]
    if not lines:
        return None
    name = _NOT_NAME.sub("-", lines[-1].strip("`'\" .").lower()).strip("-")
    words = name.split("-")
    if not name or len(name) > MAX_NAME or len(words) > 8 or not re.search(r"[a-z]", name):
        return None
    return name


class Namer:
    """Receives created tasks from the event bus and names them in the kernel's nursery."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self._send, self._receive = trio.open_memory_channel[Request](QUEUE)
        self._limit = trio.CapacityLimiter(CONCURRENCY)

    def _setting(self, key: str) -> Any:
        return self.kernel.settings.get("autoname", key)

    def on_event(self, event: Event) -> None:
        """Bus listener (quick, synchronous): queue tasks created without a name."""
        if event.type != "task.created" or event.data.get("name_given", True):
            return
        task = event.data.get("task") or {}
        if not task.get("prompt") or not self._setting("enabled"):
            return
        try:
            self._send.send_nowait(Request(task["id"], task["name"], task["prompt"], task.get("backend", "")))
        except trio.WouldBlock:  # too many at once: those keep their slug
            log.info("auto-naming queue full; %s keeps its slug", task.get("id"))

    async def worker(self) -> None:
        """Background job: name queued tasks, a few at a time."""
        async with trio.open_nursery() as nursery:
            async for req in self._receive:
                nursery.start_soon(self._name_one, req)

    async def _name_one(self, req: Request) -> None:
        async with self._limit:
            try:
                name, reason = await self.ask(req)
            except Exception:
                log.debug("auto-naming %s failed", req.task_id, exc_info=True)
                name, reason = None, "error"
        applied = False
        tasks = tasks_of(self.kernel)
        if name is not None and tasks is not None:
            try:
                current = tasks.get(req.task_id)
            except Exception:  # deleted meanwhile
                current = None
            if current is None:
                reason = "task deleted"
            elif current.get("name") != req.original:
                reason = "renamed by the user"
            elif name != req.original:
                tasks.rename(req.task_id, name)
                applied, reason = True, "renamed"
            else:
                reason = "same as the slug"
        self.kernel.events.publish("task.autoname", {"id": req.task_id, "name": name, "was": req.original,
                                                  "applied": applied, "reason": reason})

    async def ask(self, req: Request) -> tuple[str | None, str]:
        """Ask the task's CLI for a name within ``autoname.timeout`` seconds: ``(name, reason)``;
        the name is None on any failure and the reason says which."""
        tasks = tasks_of(self.kernel)
        if tasks is None:
            return None, "tasks plugin not loaded"
        try:
            backend = tasks.backend(req.backend)
        except Exception:
            return None, "unknown backend"
        argv = print_argv(str(backend.get("command", "")), req.prompt, str(self._setting("model") or ""))
        if argv is None:
            return None, "the backend has no known print mode"
        timeout = float(self._setting("timeout"))
        with trio.move_on_after(timeout):
            proc = await trio.run_process(argv, check=False, capture_stdout=True, capture_stderr=True,
                                          stdin=subprocess.DEVNULL, cwd=str(self.kernel.paths.home),
                                          deliver_cancel=_kill)
            if proc.returncode != 0:
                return None, f"the CLI exited with {proc.returncode}"
            name = clean_name(proc.stdout.decode("utf-8", "replace"))
            return name, "answered" if name else "unusable answer"
        log.info("auto-naming %s: no answer within %.0f s; keeping the slug", req.task_id, timeout)
        return None, "timeout"


async def _kill(proc: trio.Process) -> None:
    """Cancel delivery: a naming call past its timeout is killed at once."""
    proc.kill()
