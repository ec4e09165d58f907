"""DuckDB on the ingest benchmark's extract: read the CSV and COPY it to Parquet.

    pip install duckdb
    cargo bench --bench ingest -- --keep /tmp/ako-bench
    python3 bench/duckdb_copy.py /tmp/ako-bench/in/BNC_extract.csv [--json OUT]

DuckDB does no validation, profile mapping, identifiable-data guard or Delta commit
here: it is the floor for "CSV to Parquet" on this machine, not a like-for-like ingest.
"""
import json
import os
import resource
import sys
import tempfile
import time

import duckdb

path = sys.argv[1]
out = os.path.join(tempfile.mkdtemp(), "episodes.parquet")
con = duckdb.connect()
t = time.perf_counter()
rows = con.execute(
    f"COPY (SELECT * FROM read_csv('{path}', header=true, all_varchar=false)) TO '{out}' (FORMAT parquet, COMPRESSION zstd)"
).fetchone()[0]
secs = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"duckdb {duckdb.__version__}: {rows} rows in {secs:.1f} s: {rows / secs:.0f} rows/s; peak RSS {peak:.0f} MiB")
if "--json" in sys.argv:
    out_json = sys.argv[sys.argv.index("--json") + 1]
    with open(out_json, "w") as f:
        json.dump({"duckdb": duckdb.__version__, "rows": rows, "seconds": secs, "peak_rss_mib": peak}, f, indent=1)
