"""Linux: a ``bwrap`` (bubblewrap) argv that enforces a ``Policy``.

Mount order matters (later mounts cover earlier ones):

1. ``--ro-bind / /``: the whole filesystem read-only; ``--dev /dev`` and ``--proc /proc``.
2. ``--bind <run dir>/tmp /tmp``: a private ``/tmp``; then the paths the agent must still see
   that live under ``/tmp`` (home, repository, worktree, run dir) are bound back read-only.
3. ``--tmpfs ARGUS_HOME``: Argus's own state hidden; the run dir bound back read-only.
4. ``--bind`` each writable path (worktree, ``.git``, agent state, ``extra_write``).
5. Each denied path covered: an empty tmpfs over a directory, ``/dev/null`` over a file, so a
   denied read beats a write grant.
6. ``--ro-bind`` the read-only islands (``.git/hooks``, ``.git/config``).
7. ``--remount-ro`` every tmpfs used as a mask (they were writable while mount points were made).

Paths that do not exist on the host are skipped (nothing to hide or to grant). No
``--new-session``: the agent keeps the PTY as its controlling terminal (job control, Ctrl+C,
window size); ``--die-with-parent`` takes the agent down if bwrap is killed. ``--unshare-net``
when the network is off (the agent then cannot reach Argus's MCP/hook endpoints either).

Signals: bwrap stays outside as the agent's parent, in the same process group, and dies of the
first SIGINT/SIGHUP/SIGTERM it gets (bubblewrap issue #369), which would turn a Ctrl+C meant for
the agent into the agent's death. With GNU ``env`` (``signal_env``), bwrap runs with those
signals ignored and the agent gets them back at their defaults, so Ctrl+C and Argus's
SIGHUP/SIGTERM reach only the agent, and bwrap exits with the agent's status.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from .policy import Policy, is_within

TMP = "/tmp"


def _kind(path: str) -> str | None:
    """``dir``, ``file`` or None (missing) for a host path, following symlinks."""
    if os.path.isdir(path):
        return "dir"
    if os.path.exists(path):
        return "file"
    return None


def _by_depth(paths: Sequence[str]) -> list[str]:
    return sorted(paths, key=lambda p: (p.count("/"), p))


SHIELDED = "INT,QUIT,TSTP,HUP,TERM"


def bwrap_argv(policy: Policy, argv: Sequence[str], *, bwrap: str = "bwrap", signal_env: str = "") -> list[str]:
    """The command line that runs ``argv`` inside ``policy`` (see the module docstring)."""
    out = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    if signal_env:
        out = [signal_env, f"--ignore-signal={SHIELDED}", *out]
        argv = [signal_env, f"--default-signal={SHIELDED}", *argv]
    masks: list[str] = []

    if policy.private_tmp:
        os.makedirs(policy.private_tmp, mode=0o700, exist_ok=True)
        out += ["--bind", policy.private_tmp, TMP]
        under_tmp = [p for p in policy.visible if is_within(p, TMP) and p != TMP and _kind(p)]
        # Only the outermost of nested paths needs binding back.
        tops = [p for p in _by_depth(under_tmp) if not any(q != p and is_within(p, q) for q in under_tmp)]
        for p in tops:
            out += ["--ro-bind", p, p]
        out += ["--setenv", "TMPDIR", TMP]

    hidden, keep = policy.hidden_except
    if _kind(hidden) == "dir":
        out += ["--tmpfs", hidden]
        masks.append(hidden)
        if _kind(keep):
            out += ["--ro-bind", keep, keep]

    for p in _by_depth(policy.write):
        if _kind(p):
            out += ["--bind", p, p]

    for p in _by_depth(policy.deny_read):
        kind = _kind(p)
        if kind == "dir":
            out += ["--tmpfs", p]
            masks.append(p)
        elif kind == "file":
            out += ["--ro-bind", "/dev/null", p]

    for p in _by_depth(policy.read_only):
        if _kind(p):
            out += ["--ro-bind", p, p]

    for p in reversed(masks):
        out += ["--remount-ro", p]

    if policy.ssh_dir is not None:
        out += ["--unsetenv", "SSH_AUTH_SOCK"]  # the agent socket would hand out the hidden keys
    if not policy.network:
        out += ["--unshare-net"]
    out += ["--die-with-parent", "--chdir", policy.worktree, "--", *argv]
    return out
