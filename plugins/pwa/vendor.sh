#!/usr/bin/env bash
# Refresh the vendored xterm.js assets in static/vendor/ from the npm registry (pinned versions).
# Run by hand when upgrading; nothing runs this at install or run time (the built files are committed).
set -euo pipefail

XTERM_VERSION="6.0.0"
FIT_VERSION="0.11.0"

here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "@xterm/xterm@$XTERM_VERSION" "@xterm/addon-fit@$FIT_VERSION" >/dev/null
mkdir xterm fit
tar xzf "xterm-xterm-$XTERM_VERSION.tgz" -C xterm
tar xzf "xterm-addon-fit-$FIT_VERSION.tgz" -C fit

mkdir -p "$dest"
# ES module builds; drop the sourceMappingURL line (maps are not shipped).
sed '/^\/\/# sourceMappingURL=/d' xterm/package/lib/xterm.mjs >"$dest/xterm.mjs"
sed '/^\/\/# sourceMappingURL=/d' fit/package/lib/addon-fit.mjs >"$dest/addon-fit.mjs"
cp xterm/package/css/xterm.css "$dest/xterm.css"
cp xterm/package/LICENSE "$dest/LICENSE.xterm"
cp fit/package/LICENSE "$dest/LICENSE.addon-fit"
cat >"$dest/VERSIONS" <<EOV
@xterm/xterm $XTERM_VERSION
@xterm/addon-fit $FIT_VERSION
EOV
echo "vendored @xterm/xterm $XTERM_VERSION and @xterm/addon-fit $FIT_VERSION into $dest"
