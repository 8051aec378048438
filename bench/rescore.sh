#!/usr/bin/env bash
# Full-rescore benchmark on SQLite and on a throwaway PostgreSQL (1,000,000 contacts with 10
# events each by default; generation takes several minutes and is not part of the figures).
#
#   bench/rescore.sh            BENCH_CONTACTS=100000 bench/rescore.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# PostgreSQL's default buffer cache (128 MB) is sized for the smallest machines; a deployment
# holding a million contacts gives it a share of memory (PostgreSQL's docs: about a quarter).
LEADGATE_TEST_POSTGRES_URL=$(LEADGATE_PG_SETTINGS="-c shared_buffers=${BENCH_PG_SHARED_BUFFERS:-2GB}" scripts/throwaway-postgres $$)
export LEADGATE_TEST_POSTGRES_URL
cargo bench -p leadgate-bench --bench rescore
