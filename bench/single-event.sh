#!/usr/bin/env bash
# Single-event POSTs against a release build on SQLite: requests/s and latency percentiles at
# 64 concurrent connections, with wrk (Debian package). Prints wrk's own report.
#
#   bench/single-event.sh [DURATION_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-15}
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; else echo "install wrk" >&2; exit 1; fi
fi
cargo build --release --quiet -p leadgate
dir=$(mktemp -d)
key=lg_wrk_benchmark_key_0123456789abcdef01234
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
target/release/leadgate --data-dir "$dir" --log warn serve --listen "127.0.0.1:$port" --bootstrap-api-key "$key" --rate-limit-api-key off >/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
contact=$(curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d '{"email":"wrk@bench.example"}' "http://127.0.0.1:$port/api/v1/contacts" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "POST /api/v1/events, 64 connections, 2 wrk threads, ${duration}s, SQLite (synchronous=FULL)"
LEADGATE_KEY=$key CONTACT_ID=$contact wrk -t2 -c64 -d"${duration}s" --latency -s bench/single-event.lua "http://127.0.0.1:$port"
stored=$(curl -sf -H "Authorization: Bearer $key" "http://127.0.0.1:$port/metrics" | grep 'route="/api/v1/events",status="201"' || true)
echo "server-side count: $stored"

echo
echo "Baseline 1 - HTTP ceiling: GET /healthz (one read query), same server, same connections"
wrk -t2 -c64 -d"${duration}s" --latency "http://127.0.0.1:$port/healthz" | grep -E "Requests/sec|99%"

echo
echo "Baseline 2 - storage ceiling: raw SQLite, one row per committed transaction (WAL, synchronous=FULL)"
python3 - "$dir/raw.sqlite3" "$duration" <<'PY'
import sqlite3, sys, time, uuid
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                 "CREATE TABLE events (id BLOB PRIMARY KEY, contact_id BLOB, kind TEXT, occurred_at INTEGER, properties TEXT);")
end = time.time() + float(sys.argv[2]); n = 0
while time.time() < end:
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO events VALUES (?, ?, 'page_view', ?, '{}')", (uuid.uuid4().bytes, b"c" * 16, n))
    db.execute("COMMIT")
    n += 1
print(f"Commits/sec: {n / float(sys.argv[2]):.0f}")
PY
