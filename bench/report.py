#!/usr/bin/env python3
"""Gathers one bench/compare.sh sitting into bench/results/DATE.json, and writes the
README's benchmark table from such a file, so every figure there comes from one run.

    python3 bench/report.py --collect WORK > bench/results/DATE.json
    python3 bench/report.py bench/results/DATE.json --readme README.md
"""
import datetime
import glob
import json
import os
import platform
import re
import sys

START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def load(path):
    with open(path) as f:
        return json.load(f)


def collect(work):
    ingest = []
    for path in sorted(glob.glob(os.path.join(work, "ako_ingest_*.json")), key=lambda p: int(re.findall(r"\d+", os.path.basename(p))[0])):
        rows = re.findall(r"\d+", os.path.basename(path))[0]
        ako = load(path)
        duck = load(os.path.join(work, f"duckdb_ingest_{rows}.json"))
        if ako["rows"] != duck["rows"]:
            sys.exit(f"ingest of {rows} rows: ako accepted {ako['rows']}, DuckDB read {duck['rows']}")
        ingest.append({
            "rows": ako["rows"],
            "ako_s": round(ako["seconds"], 2),
            "duckdb_s": round(duck["seconds"], 2),
            "ratio": round(ako["seconds"] / duck["seconds"], 2),
            "ako_peak_rss_mib": round(ako["peak_rss_mib"]),
            "duckdb_peak_rss_mib": round(duck["peak_rss_mib"]),
        })
    cat_dir = os.path.join(work, "catalogue")
    ako = load(os.path.join(cat_dir, "ako_catalogue.json"))
    duck = load(os.path.join(cat_dir, "duckdb_catalogue.json"))
    indicators = {}
    for name, d in sorted(duck["indicators"].items()):
        indicators[name] = {
            "ako_s": round(d["ako_s"], 3) if d["ako_s"] is not None else None,
            "duckdb_s": d["duckdb_s"],
            "ratio": round(d["ako_s"] / d["duckdb_s"], 2) if d["ako_s"] and d["duckdb_s"] else None,
            "rows": d["rows"],
            "agree": d["agree"],
        }
    disagree = [n for n, d in indicators.items() if d["agree"] is False]
    uncompared = [n for n, d in indicators.items() if d["agree"] is None]
    # Only indicators both engines answered, and answered alike, count towards the ratio.
    both = [d for d in indicators.values() if d["agree"] and d["ako_s"] is not None]
    ako_total = sum(d["ako_s"] for d in both)
    duck_total = sum(d["duckdb_s"] for d in both)
    return {
        "date": datetime.date.today().isoformat(),
        "machine": {"cores": os.cpu_count(), "system": platform.platform()},
        "ingest": ingest,
        "catalogue": {
            "episodes": ako["episodes"],
            "ako_s": round(ako_total, 2),
            "duckdb_s": round(duck_total, 2),
            "ratio": round(ako_total / duck_total, 2) if duck_total else None,
            "ako_peak_rss_mib": round(ako["peak_rss_mib"]),
            "answers_differ": disagree,
            "not_compared": uncompared,
            "indicators": indicators,
        },
        "compliance": {
            "ako_read_s": round(ako["compliance_read_s"], 2),
            "ako_evaluate_s": round(ako["compliance_evaluate_s"], 2),
            "duckdb_rolling_9h_s": duck["duckdb_rolling_9h_s"],
        },
    }


def table(r):
    lines = [
        f"Measured by `bench/compare.sh` on {r['date']} ({r['machine']['cores']} cores, release build); "
        f"from `bench/results/{r['date']}.json`.",
        "",
        "| workload | ako | DuckDB | ako / DuckDB | ako peak RSS |",
        "|---|---|---|---|---|",
    ]
    for i in r["ingest"]:
        lines.append(
            f"| ingest, {i['rows']:,} canonical rows | {i['ako_s']:.1f} s | {i['duckdb_s']:.1f} s "
            f"| {i['ratio']:.2f} | {i['ako_peak_rss_mib']} MiB |"
        )
    c = r["catalogue"]
    lines.append(
        f"| catalogue, {len(c['indicators']) - len(c['answers_differ']) - len(c['not_compared'])} indicators one-shot, {c['episodes']:,} episodes "
        f"| {c['ako_s']:.1f} s | {c['duckdb_s']:.1f} s | {c['ratio']:.2f} | {c['ako_peak_rss_mib']} MiB (the bench process: generation and ingest too) |"
    )
    k = r["compliance"]
    lines.append(
        f"| compliance: every rule (ako) / the 9 h in 24 h window alone (DuckDB) "
        f"| {k['ako_read_s'] + k['ako_evaluate_s']:.1f} s | {k['duckdb_rolling_9h_s']:.1f} s "
        f"| {(k['ako_read_s'] + k['ako_evaluate_s']) / k['duckdb_rolling_9h_s']:.2f} | |"
    )
    if c["not_compared"]:
        lines.append("")
        lines.append("Not in the catalogue ratio, having no common shape to compare (ako standardises in Rust): "
                     + ", ".join(f"`{n}`" for n in c["not_compared"]) + ".")
    if c["answers_differ"]:
        lines.append("")
        lines.append("Left out of the catalogue ratio because the engines' answers differ: "
                     + ", ".join(f"`{n}`" for n in c["answers_differ"]) + ".")
    return "\n".join(lines)


def main():
    if sys.argv[1] == "--collect":
        json.dump(collect(sys.argv[2]), sys.stdout, indent=1)
        print()
        return
    r = load(sys.argv[1])
    text = table(r)
    if "--readme" in sys.argv:
        path = sys.argv[sys.argv.index("--readme") + 1]
        with open(path) as f:
            readme = f.read()
        if START not in readme or END not in readme:
            sys.exit(f"{path}: no {START} … {END} section to rewrite")
        head, rest = readme.split(START, 1)
        _, tail = rest.split(END, 1)
        with open(path + ".tmp", "w") as f:
            f.write(head + START + "\n" + text + "\n" + END + tail)
        os.replace(path + ".tmp", path)
    else:
        print(text)


if __name__ == "__main__":
    main()
