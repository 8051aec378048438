#!/usr/bin/env bash
# CSV import benchmark: 1,000,000 generated X Education-shaped rows through the release binary,
# on SQLite and on a throwaway PostgreSQL, beside raw SQLite inserts of the same rows.
#
#   bench/import.sh            BENCH_ROWS=100000 bench/import.sh
set -euo pipefail
cd "$(dirname "$0")/.."
LEADGATE_TEST_POSTGRES_URL=$(scripts/throwaway-postgres $$)
export LEADGATE_TEST_POSTGRES_URL
cargo build --release --quiet -p leadgate
cargo bench -p leadgate-bench --bench import
