#!/usr/bin/env bash
# Fails when proto/ breaks wire or source compatibility with the contracts of the commit
# named in proto/BREAKING_BASELINE (buf's FILE rules). A deliberate break moves the
# baseline to the new commit in the same change, with the reason in its message.
set -euo pipefail
cd "$(dirname "$0")/.."
BUF=${BUF:-npx -y @bufbuild/buf@1.75.0}
baseline=$(grep -v '^#' proto/BREAKING_BASELINE | head -1 | tr -d '[:space:]')
if ! git cat-file -e "${baseline}^{commit}" 2>/dev/null; then
  # A shallow clone lacks the baseline; say so instead of passing silently.
  echo "buf breaking: baseline ${baseline} is not in this clone (shallow?); not checked" >&2
  exit 0
fi
$BUF breaking --against ".git#ref=${baseline}"
