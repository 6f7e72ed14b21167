"""macOS: the SBPL profile (``sandbox-exec -f``) that enforces a ``Policy``.

SBPL evaluates rules in order and the last matching rule wins, so the profile is laid out from
broad to narrow: allow by default; deny reading the hidden ``ARGUS_HOME`` and allow back the run
dir and worktree; deny every write and allow back the writable paths; deny the read-only islands
again; deny the credential paths last (they beat any grant); IOKit user-client opens for headful
Chrome; AppleEvents only to the allowed bundle ids; the network limited to loopback when it is off.
"""

from __future__ import annotations

from collections.abc import Sequence

from .policy import Policy


def _q(text: str) -> str:
    """An SBPL string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _re_escape(text: str) -> str:
    """``text`` escaped for an SBPL regex (``#"..."``) so it matches literally."""
    special = set("\\.^$|?*+()[]{}\"")
    return "".join("\\" + c if c in special else c for c in text)


def _subpaths(paths: Sequence[str]) -> list[str]:
    return [f"    (subpath {_q(p)})" for p in paths]


def sbpl_profile(policy: Policy) -> str:
    """The profile text (deterministic for a given policy: golden-file tested)."""
    hidden, keep = policy.hidden_except
    lines = [
        "(version 1)",
        f";; Argus sandbox profile for task {policy.task_id}",
        "(allow default)",
        "",
        ";; Argus's own state is hidden, except this task's run dir and worktree",
        f"(deny file-read* file-write* (subpath {_q(hidden)}))",
        "(allow file-read*",
        f"    (subpath {_q(keep)})",
        f"    (subpath {_q(policy.worktree)}))",
        "",
        ";; everything is read-only except the writable paths",
        "(deny file-write*)",
        "(allow file-write*",
        '    (literal "/dev/null") (literal "/dev/zero") (literal "/dev/dtracehelper")',
        '    (regex #"^/dev/tty") (regex #"^/dev/fd/") (regex #"^/dev/ptmx$")',
        *[f"    (subpath {_q(p)})" for p in policy.write[:-1]],
        f"    (subpath {_q(policy.write[-1])}))",
    ]
    if policy.read_only:
        lines += ["(deny file-write*", *_subpaths(policy.read_only[:-1]),
                  f"    (subpath {_q(policy.read_only[-1])}))"]
    lines += ["", ";; denied reads beat every grant above"]
    if policy.deny_read:
        lines += ["(deny file-read* file-write*", *_subpaths(policy.deny_read[:-1]),
                  f"    (subpath {_q(policy.deny_read[-1])}))"]
    if policy.ssh_dir is not None:
        ssh = "^" + _re_escape(policy.ssh_dir.rstrip("/") + "/")
        public = r"(config|known_hosts[^/]*|authorized_keys[^/]*|[^/]*\.pub)$"
        lines += [
            ";; ~/.ssh: private keys hidden, public material readable",
            f'(deny file-read* file-write* (regex #"{ssh}"))',
            f'(allow file-read* (regex #"{ssh}{public}"))',
        ]
    lines += [
        "",
        ";; headful Chrome (Playwright/Puppeteer) opens IOKit user clients at startup",
        "(allow iokit-open)",
        "(allow iokit-open-user-client)",
        "",
        ";; AppleEvents only to the allowed applications",
        "(deny appleevent-send)",
    ]
    for bundle in policy.apple_events:
        lines.append(f"(allow appleevent-send (appleevent-destination {_q(bundle)}))")
    if not policy.network:
        lines += [
            "",
            ";; network off: loopback only (Argus's MCP and hook endpoints stay reachable)",
            "(deny network*)",
            '(allow network* (remote ip "localhost:*"))',
            '(allow network* (local ip "localhost:*"))',
            '(allow network* (remote unix-socket))',
        ]
    return "\n".join(lines) + "\n"


def sandbox_exec_argv(profile_path: str, argv: Sequence[str], *,
                      sandbox_exec: str = "/usr/bin/sandbox-exec") -> list[str]:
    """The command line that runs ``argv`` under the profile written at ``profile_path``."""
    return [sandbox_exec, "-f", profile_path, *argv]
