#!/usr/bin/env bash
# Installs the node-smpp fake SMSC of tests/interop (exact versions from package-lock.json)
# into scripts/interop/npm-smsc/node_modules. Skipped when node_modules already matches the
# lock file (npm writes node_modules/.package-lock.json; equal contents = current).
# Fails loudly when node or npm is missing: the interop tests need them.
set -euo pipefail

dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "$tool not found: the SMPP interop tests (tests/interop) need Node.js and npm;" \
      "install them (e.g. apt-get install nodejs npm) and rerun" >&2
    exit 1
  fi
done
if [ -f "$dir/node_modules/.package-lock.json" ] && [ -f "$dir/node_modules/smpp/package.json" ] \
  && node -e '
    const fs = require("fs"), [lock, installed] = process.argv.slice(1).map((p) => JSON.parse(fs.readFileSync(p)));
    const same = Object.keys(lock.packages).filter((k) => k).every(
      (k) => installed.packages[k] && installed.packages[k].version === lock.packages[k].version);
    process.exit(same ? 0 : 1);' "$dir/package-lock.json" "$dir/node_modules/.package-lock.json"
then
  echo "npm-smsc: node_modules current" >&2
  exit 0
fi
npm ci --prefix "$dir" --no-audit --no-fund >&2
echo "npm-smsc: installed" >&2
