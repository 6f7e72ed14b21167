#!/usr/bin/env bash
# A fake agent for the sandbox tests. Usage: probe_agent.sh TOKEN_FILE REPO TMPNAME [agent args...]
# Tries what the sandbox must refuse or allow, prints one "PROBE name=allowed|denied" line each,
# then becomes the fake agent (tests/fakeagent/fakeagent) with the remaining arguments.
token="$1" repo="$2" tmpname="$3"
shift 3
try() { if (eval "$2") >/dev/null 2>&1; then echo "PROBE $1=allowed"; else echo "PROBE $1=denied"; fi; }
port="${ARGUS_MCP_URL#http://127.0.0.1:}"
port="${port%%/*}"
try read_aws 'cat "$HOME/.aws/credentials"'
try read_ssh_key 'cat "$HOME/.ssh/id_ed25519"'
try read_ssh_pub 'cat "$HOME/.ssh/id_ed25519.pub"'
try read_notes 'cat "$HOME/notes.txt"'
try read_project_notes 'cat "$HOME/project-notes.txt"'
try read_token 'cat "$token"'
try write_worktree 'echo inside > sandbox-probe.txt'
try write_repo 'echo x > "$repo/escaped.txt"'
try write_home 'echo x > "$HOME/escaped.txt"'
try write_tmp 'echo private > "/tmp/$tmpname"'
try git_commit 'git add sandbox-probe.txt && git commit -q -m "commit from the sandbox"'
try reach_argus 'exec 3<>"/dev/tcp/127.0.0.1/$port"'
echo "PROBE done"
exec fakeagent "$@"
