#!/usr/bin/env bash
# Install Argus on a Debian (or Ubuntu) machine, then start it.
#
#   ./scripts/install.sh              system packages if missing, .venv with Argus, start the daemon
#   ./scripts/install.sh --no-start   the same without starting anything
#   ./scripts/install.sh --test       also what the test suite needs (Chromium, the '.[test]' extra)
#
# Idempotent and quick when everything is there: apt runs only for missing packages
# (`apt-get update` once, then one install), pip only when pyproject.toml changed.
# Runs as root, or as a user with sudo for the apt step. PYTHON=/path/to/python3.x picks the
# interpreter (3.11 or newer) the virtualenv is made from.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
START=1
TEST=0

usage() { sed -n '2,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
log() { printf '==> %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

for arg in "$@"; do
    case "$arg" in
        --no-start) START=0 ;;
        --test) TEST=1 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $arg" ;;
    esac
done
cd "$ROOT"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "not root and no sudo: cannot run '$*'"
    fi
}

python_ok() { # $1 is a Python 3.11+ interpreter
    command -v "$1" >/dev/null 2>&1 &&
        "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1
}

pick_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3 python3.13 python3.12 python3.11; do
        if [ -n "$candidate" ] && python_ok "$candidate"; then
            "$candidate" -c 'import sys; print(sys.executable)'  # the real one, not a pyenv shim
            return 0
        fi
    done
    return 1
}

# ---- system packages: "package:command that proves it is there"
wanted=(git:git bubblewrap:bwrap tmux:tmux)
if [ "$TEST" -eq 1 ]; then
    wanted+=(chromium:/usr/bin/chromium)  # Playwright drives Debian's Chromium, never a download
fi
missing=()
for item in "${wanted[@]}"; do
    command -v "${item#*:}" >/dev/null 2>&1 || missing+=("${item%%:*}")
done

py="$(pick_python || true)"
if [ -z "$py" ]; then
    missing+=(python3 python3-venv)
elif ! "$py" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    # Debian splits venv/ensurepip out of the interpreter package.
    [[ "$(readlink -f "$py")" == /usr/bin/* ]] || die "$py has no venv module; set PYTHON to one that has"
    missing+=("$(basename "$(readlink -f "$py")")-venv")
fi

if [ "${#missing[@]}" -gt 0 ]; then
    command -v apt-get >/dev/null 2>&1 ||
        die "missing ${missing[*]} and no apt-get here: install them with your package manager"
    log "installing system packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 \
        --no-install-recommends "${missing[@]}"
    py="$(pick_python)" || die "no Python 3.11+ found after installing python3"
fi

# ---- the virtualenv, with Argus installed editable
if ! python_ok "$VENV/bin/python"; then
    log "creating $VENV with $py"
    "$py" -m venv --clear "$VENV"
fi
spec="."
[ "$TEST" -eq 1 ] && spec=".[test]"
stamp="$VENV/.argus-install-stamp"
digest="$(sha256sum pyproject.toml | cut -d' ' -f1)"
up_to_date() { # the stamp says this pyproject.toml was installed with (at least) these extras
    local installed
    installed="$(cat "$stamp" 2>/dev/null || true)"
    [ "$installed" = "$digest .[test]" ] || [ "$installed" = "$digest $spec" ] || return 1
    "$VENV/bin/python" -c 'import argus.kernel, argus.plugins' >/dev/null 2>&1
}
if up_to_date; then
    log "Argus already installed in $VENV ($spec)"
else
    log "pip install -e '$spec' into $VENV"
    PIP_NO_INPUT=1 "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec"
    printf '%s %s\n' "$digest" "$spec" >"$stamp"
fi
# Bytecode for Argus's own sources (an editable install has none): without it, and with
# PYTHONDONTWRITEBYTECODE set, every daemon start compiles them all again (~0.2 s of CPU).
"$VENV/bin/python" -m compileall -q kernel plugins testing >/dev/null || true

# ---- start
if [ "$START" -eq 0 ]; then
    log "installed; start it with: $VENV/bin/argus daemon start"
    exit 0
fi
log "starting the Argus daemon"
"$VENV/bin/argus" daemon start

# Put `argus` on PATH when ~/.local/bin is on it (never replacing a file that is not our link).
argus_cmd="$VENV/bin/argus"
link="$HOME/.local/bin/argus"
if [[ ":$PATH:" == *":$HOME/.local/bin:"* ]] && { [ ! -e "$link" ] || [ -L "$link" ]; }; then
    ln -sfn "$VENV/bin/argus" "$link"
    argus_cmd="argus"
fi
home="${ARGUS_HOME:-$HOME/.argus}"
api_port="$("$VENV/bin/argus" daemon status 2>/dev/null |
    "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin).get("api_port") or "")' 2>/dev/null ||
    true)"
if [ -n "$api_port" ]; then
    pwa="http://127.0.0.1:$api_port/"
    if command -v tailscale >/dev/null 2>&1 && tailnet="$(tailscale ip -4 2>/dev/null | head -n1)" &&
        [ -n "$tailnet" ]; then
        pwa="$pwa  (phone, over Tailscale: http://$tailnet:$api_port/)"
    fi
else
    pwa="off: turn on Settings > Remote API in the TUI (or api.enabled = true in $home/config.toml),
        then open http://127.0.0.1:7743/ here or http://<tailscale-ip>:7743/ on your phone"
fi
cat <<EOM

Argus is running.
  TUI:  $argus_cmd
  PWA:  $pwa
        sign in with the master token: cat $home/api-token
  Stop: $argus_cmd daemon stop
EOM
