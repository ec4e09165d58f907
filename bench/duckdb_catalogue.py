#!/usr/bin/env python3
"""The catalogue's SQL in DuckDB on the same Parquet files, beside ako's timings.

usage: python3 bench/duckdb_catalogue.py WORK   (WORK from `cargo bench --bench catalogue -- --work WORK`)

Each queries/*.sql runs with its parameters' defaults written in as literals and a few
dialect differences translated (timestamps to microseconds, VALUES column names,
approximate percentiles). DuckDB runs the SQL only; ako's times include adding the
confidence intervals in Rust and, for peer-group and compliance queries, computing those
derived tables (DuckDB reads ako's results for them from WORK/derived). The lake's active
files are taken from each Delta table's transaction log, as a Delta reader would.
"""
import glob, json, os, re, sys, time

import duckdb

work = sys.argv[1]
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
lake = os.path.join(work, "lake")


def active_files(table_dir):
    files = set()
    for log in sorted(glob.glob(os.path.join(table_dir, "_delta_log", "*.json"))):
        with open(log) as f:
            for line in f:
                action = json.loads(line)
                if "add" in action:
                    files.add(action["add"]["path"])
                elif "remove" in action:
                    files.discard(action["remove"]["path"])
    return [os.path.join(table_dir, p) for p in sorted(files)]


con = duckdb.connect()
con.execute("SET threads TO 2")


def view(name, table_dir, hive=False):
    files = active_files(table_dir)
    if not files:
        return False
    listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{listing}], hive_partitioning = {str(hive).lower()}, union_by_name = true)")
    return True


view("episodes", os.path.join(lake, "episodes"), hive=True)
view("rejections", os.path.join(lake, "rejections"))
view("extracts", os.path.join(lake, "extracts"))
for t in sorted(os.listdir(os.path.join(lake, "reference"))):
    view(t, os.path.join(lake, "reference", t))
for t in ("peer_groups", "compliance_flags", "compliance_counts"):
    con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{os.path.join(work, 'derived', t + '.parquet')}')")


def portable(sql):
    params = {}
    for line in sql.splitlines():
        m = re.match(r"--\s*param:\s*(\w+)\s+(text|int|float)\s+default\s+('([^']*)'|\S*)", line)
        if m:
            name, kind, raw, quoted = m.group(1), m.group(2), m.group(3), m.group(4)
            value = quoted if quoted is not None else raw
            params[name] = "'" + value.replace("'", "''") + "'" if kind == "text" else value
    for name in sorted(params, key=len, reverse=True):
        sql = re.sub(r"\$" + name + r"\b", params[name], sql)
    sql = re.sub(r"CAST\(([\w.]*(?:start_time|end_time)) AS BIGINT\)", r"epoch_us(\1)", sql)
    sql = sql.replace("approx_percentile_cont(", "approx_quantile(")
    sql = sql.replace("to_unixtime(", "epoch(")
    sql = sql.replace("SELECT column1 AS practice", "SELECT col0 AS practice")
    return sql


ako = json.load(open(os.path.join(work, "ako_catalogue.json")))
INTEGER = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}


def agrees(name, sql, rows):
    """Row count and each whole-number column's sum, against ako's answer (float sums
    differ in their last digits with row order, so they are not compared). Columns only
    one engine has (ako adds confidence intervals in Rust) are left out."""
    mine = ako.get("answers", {}).get(name)
    if mine is None:
        return False
    if re.search(r"^--\s*ci:\s*dsr", sql, re.M):
        # ako standardises the SQL's age-band rows in Rust, so there is no common shape
        # to compare; the DSR itself is tested against reference vectors.
        return None
    if mine["rows"] != rows:
        print(f"  {name}: ako {mine['rows']} rows, DuckDB {rows}")
        return False
    rel = con.sql(sql.strip().rstrip(";"))
    cols = [c for c, t in zip(rel.columns, rel.types) if str(t) in INTEGER and c in mine["integer_sums"]]
    if not cols:
        return True
    body = sql.strip().rstrip(";")
    sums = con.execute("SELECT " + ", ".join(f'CAST(coalesce(sum("{c}"), 0) AS HUGEINT)' for c in cols) + f" FROM (\n{body}\n)").fetchone()
    ok = True
    for c, v in zip(cols, sums):
        if str(v) != mine["integer_sums"][c]:
            print(f"  {name}.{c}: ako sum {mine['integer_sums'][c]}, DuckDB {v}")
            ok = False
    return ok

res = {"episodes": con.execute("SELECT count(*) FROM episodes").fetchone()[0], "indicators": {}}
total = 0.0
print(f"{'indicator':<34} {'duckdb s':>9} {'ako s':>8} {'ako/duckdb':>10}")
for path in sorted(glob.glob(os.path.join(root, "queries", "*.sql"))):
    name = os.path.splitext(os.path.basename(path))[0]
    sql = portable(open(path).read())
    t = time.time()
    try:
        rows = len(con.execute(sql).fetchall())
    except Exception as e:  # report, don't stop: the point is the comparison
        print(f"{name:<34} failed in DuckDB: {str(e).splitlines()[0]}")
        continue
    secs = time.time() - t
    total += secs
    mine = ako["indicators_s"].get(name)
    ratio = f"{mine / secs:10.2f}" if mine else ""
    agree = agrees(name, sql, rows)
    print(f"{name:<34} {secs:9.2f} {mine or float('nan'):8.2f} {ratio} ({rows} rows){'' if agree or agree is None else '  ANSWERS DIFFER'}")
    res["indicators"][name] = {"duckdb_s": round(secs, 3), "ako_s": mine, "rows": rows, "agree": agree}
res["duckdb_catalogue_s"] = round(total, 2)
res["ako_catalogue_s"] = ako["catalogue_s"]
print(f"{'catalogue':<34} {total:9.2f} {ako['catalogue_s']:8.2f} {ako['catalogue_s'] / total:10.2f}")

# The QLD rule "no more than 9 hours in any 24" as a RANGE window, the shape the peer
# baseline measured, against ako's sweep (which evaluates every rule of every set).
t = time.time()
n = con.execute("""
    SELECT count(*) FROM (
        SELECT sum(epoch(end_time) - epoch(start_time)) OVER (
                   PARTITION BY org_code, person_key ORDER BY end_time
                   RANGE BETWEEN INTERVAL 24 HOURS PRECEDING AND CURRENT ROW) AS secs
        FROM episodes
        WHERE practice = 'seclusion' AND jurisdiction = 'QLD' AND end_time IS NOT NULL)
    WHERE secs > 9 * 3600""").fetchone()[0]
res["duckdb_rolling_9h_s"] = round(time.time() - t, 3)
print(f"rolling 9 h in 24 h: DuckDB window {res['duckdb_rolling_9h_s']:.2f} s ({n} over); "
      f"ako reads episodes {ako['compliance_read_s']:.2f} s and evaluates every rule in {ako['compliance_evaluate_s']:.2f} s")
json.dump(res, open(os.path.join(work, "duckdb_catalogue.json"), "w"), indent=1)
