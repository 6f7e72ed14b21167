#!/usr/bin/env bash
# Install everything the tests need (as ./scripts/install.sh --test does: apt packages git,
# bubblewrap, tmux, chromium when missing; .venv with `pip install -e '.[test]'`), then run
# `ruff check .`, `lint-imports`, mypy (scripts/typecheck.sh) and the whole pytest suite.
#
#   ./scripts/test.sh                  everything (what CI runs)
#   ./scripts/test.sh tests/foo.py -x  extra arguments go to pytest
#
# Exit code: pytest's (5, "no tests ran", counts as a failure), or 1 when pytest passed but ruff,
# lint-imports or mypy did not. Needs no standard input; fine under CI=true.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash "$ROOT/scripts/install.sh" --no-start --test </dev/null

export PATH="$ROOT/.venv/bin:$PATH"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1  # the browser tests use Debian's /usr/bin/chromium
# A throwaway ARGUS_HOME as a safety net: the tests set their own and must never see ~/.argus.
ARGUS_HOME="$(mktemp -d "${TMPDIR:-/tmp}/argus-test-home.XXXXXX")"
export ARGUS_HOME
trap 'rm -rf "$ARGUS_HOME"' EXIT

lint=0
echo "==> ruff check ."
ruff check . || lint=1
echo "==> lint-imports"
lint-imports || lint=1
echo "==> mypy (scripts/typecheck.sh)"
bash "$ROOT/scripts/typecheck.sh" || lint=1

# Test files run in parallel (one file per worker: files share module-scoped daemons).
# ARGUS_TEST_WORKERS=0 runs serially.
workers="${ARGUS_TEST_WORKERS:-3}"
parallel=()
if [ "$workers" != "0" ]; then parallel=(-n "$workers" --dist loadfile); fi
echo "==> pytest -q ${parallel[*]} $*"
status=0
pytest -q "${parallel[@]}" "$@" </dev/null || status=$?
if [ "$status" -eq 5 ]; then
    echo "test.sh: pytest ran no tests: that is a failure" >&2
elif [ "$status" -eq 0 ] && [ "$lint" -ne 0 ]; then
    echo "test.sh: tests passed but ruff, lint-imports or mypy failed" >&2
    status=1
fi
exit "$status"
