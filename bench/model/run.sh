#!/usr/bin/env bash
# Leadgate model benchmark: our models vs LightGBM and scikit-learn on X Education's
# Leads.csv, on the identical seeded split. Prints one combined table.
#
#   bench/model/run.sh            (from anywhere; needs cargo and python3)
#
# The Python side runs in a venv under target/ with pinned versions, so figures are
# comparable between runs. OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE, set on this machine for old
# OpenBLAS builds, slow a current numpy: they are unset for the Python command only.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="$target/bench-venv"
out="$target/model-bench"
datasets="${LEADGATE_DATASETS:-$root/../shared/datasets}"
leads="$datasets/x-education/Leads.csv"

if [[ ! -f "$leads" ]]; then
    echo "Leads.csv not found at $leads (set LEADGATE_DATASETS to the folder holding x-education/)" >&2
    exit 1
fi
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check \
    lightgbm==4.7.0 scikit-learn==1.9.1 pandas==3.1.1 numpy==2.4.6

mkdir -p "$out"
(cd "$root" && LEADGATE_BENCH_OUT="$out" LEADGATE_DATASETS="$datasets" \
    cargo bench -p leadgate-model --bench x_education)
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
    "$venv/bin/python" "$root/bench/model/compare.py" --bench-out "$out" --leads "$leads"
