#!/usr/bin/env bash
# ako beside DuckDB on the same work, in one sitting (issue 14):
#   - ingest of a canonical extract at 1 M, 3 M and 10 M rows (memory must not grow with
#     size) against DuckDB reading the same CSV and writing Parquet;
#   - every catalogue indicator as a one-shot query on a generated national lake, and the
#     QLD 9-hours-in-24 rule, against DuckDB running the same SQL on the same files.
# Answers are compared (row counts, whole-number column sums) before any time is
# reported. Writes bench/results/DATE.json; `python3 bench/report.py FILE --readme
# README.md` then rewrites the README's benchmark table from it.
#
#   pip install duckdb            # DuckDB 2.x
#   bench/compare.sh [WORK] [SCALE] [YEARS]   # defaults /tmp/ako-compare, 100, 14 (9.7 M episodes)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
work=${1:-/tmp/ako-compare}
scale=${2:-100}
years=${3:-14}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ako-target}
python3 -c 'import duckdb' 2>/dev/null || { echo "compare.sh: pip install duckdb first" >&2; exit 2; }
mkdir -p "$work" "$root/bench/results"
cd "$root"

for rows in 1000000 3000000 10000000; do
  cargo bench --locked --bench ingest -- --rows "$rows" --keep "$work/ingest-$rows" \
    --json "$work/ako_ingest_$rows.json"
  python3 bench/duckdb_copy.py "$work/ingest-$rows/in/BNC/BNC_extract.csv" \
    --json "$work/duckdb_ingest_$rows.json"
  rm -rf "$work/ingest-$rows"
done

cargo bench --locked --bench catalogue -- --work "$work/catalogue" --scale "$scale" --years "$years"
python3 bench/duckdb_catalogue.py "$work/catalogue"

out="$root/bench/results/$(date -u +%F).json"
python3 bench/report.py --collect "$work" > "$out"
echo "wrote $out"
