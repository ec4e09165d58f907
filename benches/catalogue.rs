//! Catalogue benchmark (not a test): a generated national lake of about 10 million
//! episodes, every indicator in `queries/` timed as `ako query` runs it (a fresh session
//! each, derived tables included), the compliance rules timed alone, and peak memory.
//!
//!     cargo bench --bench catalogue -- --work /tmp/ako-catalogue      # scale 100, 14 years: 9.7 M
//!     cargo bench --bench catalogue -- --work /tmp/ako-catalogue --scale 15 --years 4 --reuse
//!
//! It leaves `WORK/derived/*.parquet` (peer groups, compliance findings) and
//! `WORK/ako_catalogue.json` so `python3 bench/duckdb_catalogue.py WORK` can run the same
//! SQL in DuckDB on the same Parquet files and report the ratio.

mod common;

use common::peak_rss_mib;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ako::catalog::Catalog;
use ako::compliance::{self, RuleSet};
use ako::config::Config;
use ako::derived::{self, Sources};
use ako::generate::{GenerateOptions, generate};
use ako::ingest::{self, IngestOptions};
use ako::lake::Lake;
use ako::peers;
use datafusion::dataframe::DataFrameWriteOptions;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut scale = 100.0;
    let mut years = 14;
    let mut work: Option<PathBuf> = None;
    let mut reuse = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--scale" => scale = args.next().ok_or("--scale F")?.parse()?,
            "--years" => years = args.next().ok_or("--years N")?.parse()?,
            "--work" => work = Some(args.next().ok_or("--work DIR")?.into()),
            "--reuse" => reuse = true,
            _ => {} // cargo bench passes --bench
        }
    }
    let tmp = tempfile::TempDir::new()?;
    let work = work.unwrap_or_else(|| tmp.path().to_path_buf());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let runtime = tokio::runtime::Runtime::new()?;
    let lake_dir = work.join("lake");
    let mut report = serde_json::Map::new();
    report.insert("scale".into(), scale.into());

    if !(reuse && lake_dir.exists()) {
        let _ = std::fs::remove_dir_all(&work);
        let t = Instant::now();
        let summary = generate(&GenerateOptions {
            out: work.join("sample"),
            scale,
            years,
            ..Default::default()
        })?;
        println!(
            "generated {} episodes in {:.1} s",
            summary.episodes,
            t.elapsed().as_secs_f64()
        );
        let lake = Lake::open(&lake_dir)?;
        let t = Instant::now();
        let reports = runtime.block_on(ingest::ingest(
            &lake,
            &[work.join("sample")],
            &IngestOptions::for_bundle(&work.join("sample")),
            &(),
            &mut |_| {},
        ))?;
        let rows: u64 = reports.iter().map(|r| r.rows_accepted).sum();
        let secs = t.elapsed().as_secs_f64();
        println!(
            "ingested {rows} rows from {} files in {secs:.1} s ({:.0} rows/s); peak RSS so far {:.0} MiB",
            reports.len(),
            rows as f64 / secs,
            peak_rss_mib()
        );
        report.insert("ingest_s".into(), secs.into());
        report.insert("ingest_files".into(), reports.len().into());
        report.insert("ingest_peak_rss_mib".into(), peak_rss_mib().into());
    }

    let lake = Lake::open(&lake_dir)?;
    let catalog = Catalog::load(&root.join("queries"))?;
    let config = Config::default();
    let rules_dir = root.join("compliance");
    let version = runtime.block_on(lake.snapshot(None))?.lake_version;
    // Derived tables are kept per lake version; start cold, as after an ingest.
    let _ = std::fs::remove_dir_all(lake_dir.join("_derived"));
    let sources = Sources {
        catalog: &catalog,
        config: &config,
        compliance_dir: &rules_dir,
        store: derived::Store::for_lake(&lake_dir, version),
    };
    let episodes: i64 = runtime.block_on(async {
        let snap = lake.snapshot(None).await?;
        let ctx = lake.session(&snap).await?;
        let b = ctx
            .sql("SELECT count(*) AS n FROM episodes")
            .await?
            .collect()
            .await?;
        Ok::<i64, Box<dyn std::error::Error>>(
            datafusion::arrow::array::AsArray::as_primitive::<
                datafusion::arrow::datatypes::Int64Type,
            >(b[0].column(0))
            .value(0),
        )
    })?;
    println!("lake: {episodes} episodes");
    report.insert("episodes".into(), episodes.into());

    // Compliance alone: reading the episodes, then the rules (the rolling sweeps included).
    let sets = RuleSet::load_dir(&rules_dir)?;
    let (read_s, eval_s, findings) = runtime.block_on(async {
        let snap = lake.snapshot(None).await?;
        let ctx = lake.session(&snap).await?;
        let t = Instant::now();
        let e = compliance::read_episodes(&ctx, &sets).await?;
        let read_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let ev = compliance::evaluate(&sets, &e);
        Ok::<_, Box<dyn std::error::Error>>((read_s, t.elapsed().as_secs_f64(), ev.findings.len()))
    })?;
    println!(
        "compliance: read episodes {read_s:.2} s, evaluate every rule {eval_s:.2} s, {findings} findings"
    );
    report.insert("compliance_read_s".into(), read_s.into());
    report.insert("compliance_evaluate_s".into(), eval_s.into());

    let mut timings = serde_json::Map::new();
    let mut answers = serde_json::Map::new();
    let mut total = 0.0;
    for indicator in catalog.indicators() {
        let (secs, batches) = runtime.block_on(async {
            let t = Instant::now();
            let snap = lake.snapshot(None).await?;
            let ctx = lake.session(&snap).await?;
            let batches = derived::run(&ctx, indicator, &[], &sources).await?;
            Ok::<_, Box<dyn std::error::Error>>((t.elapsed().as_secs_f64(), batches))
        })?;
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        total += secs;
        println!("{:<34} {secs:>7.2} s {rows:>8} rows", indicator.name);
        timings.insert(indicator.name.clone(), secs.into());
        answers.insert(indicator.name.clone(), common::answer(&batches));
    }
    println!(
        "{:<34} {total:>7.2} s; peak RSS {:.0} MiB",
        "catalogue",
        peak_rss_mib()
    );
    report.insert("indicators_s".into(), timings.into());
    report.insert("answers".into(), answers.into());
    report.insert("catalogue_s".into(), total.into());
    report.insert("peak_rss_mib".into(), peak_rss_mib().into());

    // The derived tables, for DuckDB to read beside the lake.
    runtime.block_on(async {
        let snap = lake.snapshot(None).await?;
        let ctx = lake.session(&snap).await?;
        compliance::register(&ctx, &sets).await?;
        peers::register(&ctx, &catalog, &config.peers).await?;
        std::fs::create_dir_all(work.join("derived"))?;
        for table in ["peer_groups", "compliance_flags", "compliance_counts"] {
            let path = work.join("derived").join(format!("{table}.parquet"));
            ctx.table(table)
                .await?
                .write_parquet(
                    path.to_str().ok_or("path")?,
                    DataFrameWriteOptions::new().with_single_file_output(true),
                    None,
                )
                .await?;
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    std::fs::write(
        work.join("ako_catalogue.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    println!("wrote {}", work.join("ako_catalogue.json").display());
    Ok(())
}
