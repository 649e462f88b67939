#!/usr/bin/env bash
# schemathesis over the whole API of a served demo county, with every check and the examples,
# coverage and fuzzing phases, as a dispatch officer. Exits non-zero on any failure.
#
#   bench/schemathesis.sh [SECONDS]      (default 300; needs the test extras installed)
#
# The demo is seeded into a private data directory (about 30 s) and served on port 8790
# (TONGXIN_BENCH_PORT to change it); both are removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
port="${TONGXIN_BENCH_PORT:-8790}"
bin="${VENV:-.venv}/bin"
data="$(mktemp -d)"
TONGXIN_DATA_DIR="$data" setsid "$bin/tongxin" demo --port "$port" --no-worker >"$data/demo.log" 2>&1 &
demo=$!
trap 'kill -- -"$demo" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 240); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/api/v1/openapi.json" && break
  kill -0 "$demo" 2>/dev/null || { cat "$data/demo.log"; exit 1; }
  sleep 1
done
token="$(curl -fsS -X POST "http://127.0.0.1:$port/api/v1/auth/token" -H 'Content-Type: application/json' \
  -d '{"username": "demo_dispatch_officer", "password": "Kangma-demo-4300m"}' |
  "$bin/python" -c 'import json, sys; print(json.load(sys.stdin)["token"])')"
"$bin/st" --config-file bench/schemathesis.toml run "http://127.0.0.1:$port/api/v1/openapi.json" \
  -H "Authorization: Bearer $token" --checks all --phases examples,coverage,fuzzing \
  --max-time "$seconds" --workers 1
