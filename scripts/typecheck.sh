#!/usr/bin/env bash
# Type-check the installed packages argus.kernel, argus.plugins and argus.testing with mypy
# (settings: [tool.mypy] in pyproject.toml). The sources live in kernel/, plugins/ and testing/ and
# setuptools maps them to argus.kernel/argus.plugins/argus.testing (package-dir), which mypy cannot
# follow, so this script builds a throwaway tree argus/kernel -> kernel, argus/plugins -> plugins,
# argus/testing -> testing (symlinks) and checks `-p argus.kernel -p argus.plugins -p argus.testing`
# from there, with the third-party libraries of .venv.
# Reported paths are rewritten back to kernel/..., plugins/... and testing/....
#
#   bash scripts/typecheck.sh          needs .venv (./scripts/install.sh --test), exit code is mypy's
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || { echo "typecheck.sh: no .venv; run ./scripts/install.sh --test first" >&2; exit 2; }

TREE="$(mktemp -d "${TMPDIR:-/tmp}/argus-typecheck.XXXXXX")"
trap 'rm -rf "$TREE"' EXIT
mkdir -p "$TREE/argus"
ln -s "$ROOT/kernel" "$TREE/argus/kernel"
ln -s "$ROOT/plugins" "$TREE/argus/plugins"
ln -s "$ROOT/testing" "$TREE/argus/testing"

cd "$TREE"
status=0
"$PY" -m mypy --config-file "$ROOT/pyproject.toml" --cache-dir "$ROOT/.mypy_cache" \
    --python-executable "$PY" -p argus.kernel -p argus.plugins -p argus.testing 2>&1 \
    | sed -e 's#^argus/kernel/#kernel/#' -e 's#^argus/plugins/#plugins/#' -e 's#^argus/testing/#testing/#' \
    || status=$?  # pipefail: mypy's status
exit "$status"
