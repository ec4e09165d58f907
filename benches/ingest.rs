//! Ingest benchmark (not a test): writes a large canonical extract, ingests it into a
//! fresh lake, and prints rows per second and peak memory.
//!
//!     cargo bench --bench ingest                 # 10 million episodes
//!     cargo bench --bench ingest -- --rows 1000000 --keep /tmp/ako-bench --json out.json
//!
//! Compare with DuckDB on the same file: `python3 bench/duckdb_copy.py FILE`;
//! `bench/compare.sh` runs both and writes `bench/results/DATE.json`.

mod common;

use common::peak_rss_mib;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use ako::ingest::{self, IngestOptions};
use ako::lake::Lake;

const HEADER: &str = "org_code,episode_id,person_key,unit_code,setting,practice,start_time,end_time,age_band,minor,sex,ethnicity,legal_status,authorised_by,emergency,max_obs_gap_min,reason";

fn write_extract(path: &PathBuf, rows: u64) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(w, "{HEADER}")?;
    let practices = [
        "seclusion",
        "physical_restraint",
        "mechanical_restraint",
        "chemical_restraint",
        "environmental_restraint",
    ];
    let ethnicities = [
        "maori", "pacific", "asian", "melaa", "european", "other", "unknown",
    ];
    for i in 0..rows {
        // ten years of minutes, spread over the day; NZ standard time offset
        let day = i % 3650;
        let (y, rest) = (2015 + day / 365, day % 365);
        let (m, d) = (1 + rest / 31 % 12, 1 + rest % 28);
        let (h, min) = ((i / 7) % 24, (i / 3) % 60);
        let start = format!("{y}-{m:02}-{d:02}T{h:02}:{min:02}:00+12:00");
        let end_h = (h + 1) % 24;
        let end = if end_h > h {
            format!("{y}-{m:02}-{d:02}T{end_h:02}:{min:02}:00+12:00")
        } else {
            String::new()
        };
        writeln!(
            w,
            "BNC,E{i},P{},BNC-W{},adult_inpatient,{},{start},{end},30-34,false,male,{},mha_s30,authorised_doctor,false,15,harm_to_others",
            i % 250_000,
            i % 8,
            practices[(i % 5) as usize],
            ethnicities[(i % 7) as usize],
        )?;
    }
    w.flush()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rows: u64 = 10_000_000;
    let mut keep: Option<PathBuf> = None;
    let mut json: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rows" => rows = args.next().ok_or("--rows N")?.parse()?,
            "--keep" => keep = Some(args.next().ok_or("--keep DIR")?.into()),
            "--json" => json = Some(args.next().ok_or("--json FILE")?.into()),
            _ => {} // cargo bench passes --bench
        }
    }
    let tmp = tempfile::TempDir::new()?;
    let dir = keep.unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(dir.join("in/reference"))?;
    std::fs::create_dir_all(dir.join("in/BNC"))?;
    std::fs::write(
        dir.join("in/reference/organisations.csv"),
        "org_code,name,jurisdiction,region,population,beds,tags\nBNC,Benchmark DHB,NZ,Central,1000000,100,\n",
    )?;
    let extract = dir.join("in/BNC/BNC_extract.csv");
    let t = Instant::now();
    write_extract(&extract, rows)?;
    let bytes = std::fs::metadata(&extract)?.len();
    println!(
        "wrote {rows} episodes, {:.0} MiB, in {:.1} s",
        bytes as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );

    let runtime = tokio::runtime::Runtime::new()?;
    let lake_dir = dir.join("lake");
    let _ = std::fs::remove_dir_all(&lake_dir);
    let lake = Lake::open(&lake_dir)?;
    let rss_before = peak_rss_mib();
    let t = Instant::now();
    let reports = runtime.block_on(ingest::ingest(
        &lake,
        &[dir.join("in/reference"), extract.clone()],
        &IngestOptions::default(),
        &(),
        &mut |_| {},
    ))?;
    let secs = t.elapsed().as_secs_f64();
    let r = reports
        .iter()
        .find(|r| r.kind == ingest::FileKind::Extract)
        .ok_or("no extract report")?;
    assert_eq!(r.rows_accepted, rows, "every row accepted: {r:?}");
    println!(
        "ingested {} rows in {secs:.1} s: {:.0} rows/s, {:.0} MiB/s; peak RSS {:.0} MiB (before ingest {:.0} MiB)",
        r.rows_accepted,
        r.rows_accepted as f64 / secs,
        bytes as f64 / 1048576.0 / secs,
        peak_rss_mib(),
        rss_before
    );
    if let Some(path) = json {
        let report = serde_json::json!({
            "rows": r.rows_accepted,
            "bytes": bytes,
            "file": extract,
            "seconds": secs,
            "peak_rss_mib": peak_rss_mib(),
        });
        std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
    }
    Ok(())
}
