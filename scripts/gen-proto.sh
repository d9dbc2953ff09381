#!/usr/bin/env bash
# Regenerates the Python code for proto/ into rcs/ (committed; CI regenerates and diffs).
# GEN_OUT=DIR writes DIR/rcs instead (make gen-check: a scratch copy to compare).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
# Absolute, so that it still names the interpreter from proto/ below.
PY="$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")"
export PATH="$(dirname "$PY"):$PATH"
"$PY" -c "import grpc_tools" || { echo "gen-proto: $PY has no grpcio-tools; set PY" >&2; exit 2; }
OUT=$(cd "${GEN_OUT:-.}" && pwd)
rm -rf "$OUT/rcs"
mkdir -p "$OUT/rcs"
mapfile -t protos < <(cd proto && find rcs -name '*.proto' | sort)
(cd proto && "$PY" -m grpc_tools.protoc -I . \
  --python_out="$OUT" --mypy_out=quiet:"$OUT" --grpc_python_out="$OUT" --mypy_grpc_out=quiet:"$OUT" "${protos[@]}")
# Packages, so that mypy and setuptools see ordinary packages.
cd "$OUT"
find rcs -type d -exec sh -c 'echo "# Generated from proto/ by scripts/gen-proto.sh; do not edit." > "$1/__init__.py"' _ {} \;
