"""The Argus demo agent: a scripted agent CLI that looks like Claude Code from the outside.

It is the ``demo`` backend that ships with Argus (so a machine without any agent CLI works end to
end) and the core of the tests' fake agent (``tests/fakeagent/{claude,codex,pi,fakeagent}``). It is
pure standard library on purpose: it runs inside the agent's PTY, possibly under another
interpreter or a sandbox, and must start fast.

Run it as ``python -m argus.plugins.tasks.demo_agent [options] [PROMPT]``.

What it does, in order:

1. Prints a banner: name, model, session id, cwd (and ``resumed session ID`` with ``--resume``).
2. With a prompt (and not resuming): prints ``Plan: 1. read files 2. edit <file> 3. wait for you``,
   shows a busy spinner redrawn with ``\\r`` whose line contains ``esc to interrupt``, then appends
   a note to ``ARGUS_DEMO.md`` in its cwd (never commits).
3. Runs the ``--mcp-call`` tool calls, printing ``mcp TOOL -> <result text>``.
4. Shows an input prompt: a line containing ``? for shortcuts`` followed by a line ``> ``, and
   reads keys in cbreak mode with its own echo and line editing (printable characters, backspace,
   Ctrl-U, Enter). A lone ESC prints ``[interrupted]`` and redraws the prompt; ESC or Ctrl-C
   during a busy phase interrupts it. Shift+Tab cycles the permission mode shown in the footer.
   Ctrl-C on an empty line twice in a row exits 130; Ctrl-D on an empty line exits 0.
5. On each submitted line prints ``you said: <line>``, a busy phase, an answer, the prompt again.

Slash commands: ``/exit [N]`` exits N (default 0); ``/crash`` prints a traceback-like text and
exits 1; ``/flood N`` prints N KB of numbered lines quickly, then ``flood done: N KB``;
``/sleep S`` is busy for S seconds; ``/link`` prints ``https://example.com/argus/<session>``;
``/limit S`` prints a usage-limit message whose reset is S seconds ahead (Claude Code's wording,
``5-hour limit reached ∙ resets 3:15:42pm``, with seconds; as ``codex``: ``You've hit your usage
limit. ... try again in S seconds.``) and waits for input;
``/mcp TOOL [JSON]`` calls an MCP tool now; ``/help`` lists them.

Options (unknown flags are ignored, like a tolerant CLI wrapper; flags known to take a value in
the real CLIs have their value skipped too; ``--flag=value`` forms work for every flag):

- ``PROMPT`` (positional words, joined) or ``-p/--prompt PROMPT``
- ``--model/-m M``, ``--session-id ID``, ``--resume/-r ID`` (``-c``/``--continue`` resumes
  ``latest``), ``--mcp-config PATH|JSON``, ``--settings PATH|JSON``, ``--permission-mode X``,
  ``--dangerously-skip-permissions`` (recorded and shown in the banner)
- ``-c key=value`` / ``--config key=value``: Codex-style config overrides (recorded; ``notify``
  is honoured, see below)
- ``--mcp-call TOOL JSON`` (repeatable), ``--busy S``, ``--edit-file NAME``, ``--no-edit``
- ``--print``: print mode, as ``claude -p``/``pi -p``: one answer on stdout, then exit (Codex:
  ``exec`` as the first positional word); see ``FAKEAGENT_PRINT_*`` below
- ``--version``, ``--help``
- With ``FAKEAGENT_AS=codex`` (set by the ``codex`` wrapper), ``resume ID`` / ``resume --last``
  as the first positional words resume that session, like ``codex resume``.
- With ``FAKEAGENT_AS=opencode`` (the ``opencode`` wrapper), ``--session/-s ID`` resumes that session
  and a new session is recorded under ``$XDG_DATA_HOME/opencode/storage/session/`` (when set).

Environment variables:

- ``FAKEAGENT_BUSY``: seconds of each busy phase, initial work and every answer (default 1.5).
- ``FAKEAGENT_EXIT``: exit with this code right after the banner.
- ``FAKEAGENT_LIMIT``: seconds; after the initial prompt's work, print the ``/limit`` message with
  its reset that far ahead (a resumed session does not print it again).
- ``FAKEAGENT_EDIT_FILE``: file in the cwd to append to (default ``ARGUS_DEMO.md``).
- ``FAKEAGENT_NO_EDIT``: when set (and not ``0``), edit nothing.
- ``FAKEAGENT_NAME``: the name in the banner (default: ``FAKEAGENT_AS`` or ``demo``).
- ``FAKEAGENT_AS``: which CLI to imitate for argument quirks (``codex``); set by the wrappers.
- ``FAKEAGENT_RECORD``: a file to which each launch appends one JSON line (argv, cwd, parsed
  options, ``ARGUS_*`` variables with token values masked), for tests of command building.
- ``FAKEAGENT_PRINT_ANSWER`` / ``FAKEAGENT_PRINT_DELAY`` / ``FAKEAGENT_PRINT_EXIT``: print mode's answer
  (default: empty), delay in seconds before it, and exit code; ``FAKEAGENT_PRINT_RECORD``: the file
  print-mode launches are recorded to (never ``FAKEAGENT_RECORD``).
- ``CODEX_HOME``: as Codex (``FAKEAGENT_AS=codex``), a new session writes its rollout file under
  ``$CODEX_HOME/sessions/YYYY/MM/DD/`` (first line ``session_meta`` with ``id`` and ``cwd``).
- ``FAKEAGENT_MCP_TIMEOUT``: seconds per MCP HTTP request (default 30).
- ``FAKEAGENT_IGNORE_HUP=1``: ignore SIGHUP (survive the terminal's hangup), as some real CLIs do.
- ``ARGUS_HOOK_URL``: when set (and not imitating ``claude``, ``codex``, ``pi`` or ``opencode``, which report only
  through their own hooks/notify, or not at all), POST ``{"event": "Stop", "task_id", "session_id", "cwd"}``
  whenever a fresh input prompt is shown, and ``{"event": "UserPromptSubmit", ..., "prompt"}``
  whenever a prompt is submitted (the initial one included). Synchronous, 1 s timeout, errors
  ignored. ``ARGUS_HOOK_TOKEN`` adds ``Authorization: Bearer <token>``; ``ARGUS_TASK_ID`` fills
  ``task_id``.
- ``ARGUS_MCP_URL``: the MCP endpoint (default: the ``argus`` server, else the first server with a
  ``url``, in ``--mcp-config`` or ``./.mcp.json``, else Codex's ``-c mcp_servers.argus.url="..."``;
  else ``http://127.0.0.1:7742/mcp``). Headers of that config entry are sent (``${VAR}`` expanded
  from the environment); Codex's ``-c mcp_servers.argus.bearer_token_env_var="VAR"`` sends ``$VAR``
  as a bearer token; ``ARGUS_MCP_TOKEN`` adds one when none is configured (not when imitating
  ``claude`` or ``codex``, which read only their config).

Like the real CLIs, it also runs the ``command`` hooks of Claude Code settings (``--settings``,
``./.claude/settings.json``, ``./.claude/settings.local.json``) for ``UserPromptSubmit`` and
``Stop`` (JSON on stdin), and Codex's ``-c notify=[...]`` program after each turn (JSON as last
argument). Unlike ``ARGUS_HOOK_URL``, those fire ``Stop``/notify only after a turn, as the real
CLIs do, not when the first prompt appears without work.
"""


from .cli import main
from .options import Options, parse_args

__all__ = ["Options", "main", "parse_args"]
