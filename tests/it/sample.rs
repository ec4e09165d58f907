//! The synthetic national sample: deterministic, in every format, and ingested
//! without losing a row.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ako::generate::{GenerateOptions, generate};
use ako::ingest::Status;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::fixture::{cells, pretty, sql_at};

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        } else {
            out.insert(
                p.strip_prefix(dir).unwrap().display().to_string(),
                std::fs::read(&p).unwrap(),
            );
        }
    }
    out
}

#[test]
fn the_bundled_sample_is_what_the_default_seed_generates() {
    let dir = tempfile::TempDir::new().unwrap();
    let out = dir.path().join("s");
    generate(&GenerateOptions {
        out: out.clone(),
        ..Default::default()
    })
    .unwrap();
    let generated = files(&out);
    let bundled = files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data"));
    assert_eq!(
        generated.keys().collect::<Vec<_>>(),
        bundled.keys().collect::<Vec<_>>(),
        "regenerate with `ako generate --out sample-data`"
    );
    for (name, bytes) in &generated {
        assert!(
            bytes == &bundled[name],
            "{name} differs: regenerate with `ako generate --out sample-data`"
        );
    }
}

#[test]
fn another_seed_gives_another_sample() {
    let dir = tempfile::TempDir::new().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    generate(&GenerateOptions {
        out: a.clone(),
        seed: 1,
        years: 4,
        scale: 0.2,
        ..Default::default()
    })
    .unwrap();
    generate(&GenerateOptions {
        out: b.clone(),
        seed: 2,
        years: 4,
        scale: 0.2,
        ..Default::default()
    })
    .unwrap();
    assert_ne!(
        files(&a)["reference/inpatient_activity.csv"],
        files(&b)["reference/inpatient_activity.csv"]
    );
}

#[tokio::test]
async fn the_whole_sample_ingests_without_losing_a_row() {
    // The shared lake holds the bundled sample, which is what the default options
    // generate (tested above): the generator's summary says what it must hold.
    let scratch = tempfile::tempdir().unwrap();
    let summary = generate(&GenerateOptions {
        out: scratch.path().join("sample"),
        ..Default::default()
    })
    .unwrap();
    let reports = crate::server::sample_reports();
    let lake = crate::server::sample_lake();
    assert!(
        reports.iter().all(|r| r.status == Status::Ingested),
        "no file refused"
    );
    let extracts: Vec<_> = reports
        .iter()
        .filter(|r| r.kind == ako::ingest::FileKind::Extract)
        .collect();
    assert_eq!(extracts.len(), summary.extract_files);
    for r in reports {
        assert_eq!(r.rows_read, r.rows_accepted + r.rows_rejected, "{}", r.file);
    }
    let accepted: u64 = extracts.iter().map(|r| r.rows_accepted).sum();
    let rejected: u64 = extracts.iter().map(|r| r.rows_rejected).sum();
    assert_eq!(accepted as usize, summary.episodes, "every good row landed");
    assert_eq!(
        rejected as usize, summary.bad_rows,
        "every spoiled row was rejected"
    );
    let profiles: BTreeSet<&str> = extracts
        .iter()
        .filter_map(|r| r.profile.as_deref())
        .collect();
    assert_eq!(
        profiles,
        BTreeSet::from([
            "au_collection",
            "canonical",
            "nz_collection",
            "vendor_jsonl"
        ])
    );

    // every kind of bad row the generator makes is in the rejections table
    let reasons: BTreeMap<String, usize> = cells(
        &sql_at(
            lake,
            "SELECT reason, count(*) AS n FROM rejections GROUP BY reason",
            None,
        )
        .await,
    )
    .into_iter()
    .map(|r| (r[0].clone(), r[1].parse().unwrap()))
    .collect();
    let expected = BTreeMap::from([
        ("bad_timestamp".to_string(), summary.bad_unparseable_date),
        ("end_before_start".to_string(), summary.bad_end_before_start),
        ("missing_value".to_string(), summary.bad_missing_value),
        ("unknown_code".to_string(), summary.bad_unknown_code),
    ]);
    assert!(
        expected.values().all(|n| *n > 0),
        "the sample has every kind: {expected:?}"
    );
    assert_eq!(reasons, expected);

    // the patterns users look for are present
    let seclusion = &cells(
        &sql_at(
            lake,
            "SELECT count(DISTINCT practice) AS practices, \
                    count(*) FILTER (WHERE minor) AS minors, \
                    count(*) FILTER (WHERE practice = 'seclusion' AND to_unixtime(end_time) - to_unixtime(start_time) > 3 * 3600) AS over_3h, \
                    count(*) FILTER (WHERE practice = 'seclusion' AND to_unixtime(end_time) - to_unixtime(start_time) > 24 * 3600) AS over_24h, \
                    count(DISTINCT jurisdiction) AS jurisdictions \
             FROM episodes",
            None,
        )
        .await,
    )[0];
    let n: Vec<i64> = seclusion.iter().map(|c| c.parse().unwrap()).collect();
    assert_eq!(n[0], 5, "all five practices");
    assert!(
        n[1] > 0 && n[2] > 100 && n[3] > 10,
        "minors, > 3 h and > 24 h: {n:?}"
    );
    assert_eq!(n[4], 3, "NZ, QLD and NSW");

    // Māori rates are 1.5–4 times non-Māori nationally (NZ seclusion per 1,000 bed days)
    let rr: f64 = cells(
        &sql_at(
            lake,
            "WITH e AS (SELECT ethnicity = 'maori' AS m, count(*) AS n FROM episodes WHERE practice = 'seclusion' AND jurisdiction = 'NZ' GROUP BY 1), \
                  b AS (SELECT ethnicity = 'maori' AS m, sum(bed_days) AS d FROM inpatient_activity a JOIN organisations o USING (org_code) WHERE o.jurisdiction = 'NZ' GROUP BY 1) \
             SELECT max(CASE WHEN e.m THEN e.n / CAST(b.d AS DOUBLE) END) / max(CASE WHEN NOT e.m THEN e.n / CAST(b.d AS DOUBLE) END) AS rr \
             FROM e JOIN b ON e.m = b.m",
            None,
        )
        .await,
    )[0][0]
        .parse()
        .unwrap();
    assert!(
        (1.5..4.0).contains(&rr),
        "Māori : non-Māori rate ratio {rr}"
    );

    // missing extracts show as missing months
    let missing = pretty(&sql_at(lake, "SELECT org_code, count(*) AS n FROM submissions WHERE received_date IS NULL GROUP BY org_code ORDER BY org_code", None).await);
    assert!(
        missing.contains("WCO") && missing.contains("TKI"),
        "{missing}"
    );

    // Peer groups over the whole sample: every organisation exactly once in each
    // grouping, and the shared-challenge groups the same on a second run.
    let peers_json = |by: &str| {
        let out = crate::fixture::ako()
            .args(["peers", "--by", by, "--format", "json", "--lake"])
            .arg(lake)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    for by in ["size", "challenge"] {
        let groups: Vec<serde_json::Value> = serde_json::from_str(&peers_json(by)).unwrap();
        let mut codes: Vec<String> = groups
            .iter()
            .flat_map(|g| g["members"].as_array().unwrap().iter())
            .map(|m| m["org_code"].as_str().unwrap().to_string())
            .collect();
        codes.sort();
        let before = codes.len();
        codes.dedup();
        assert_eq!((before, codes.len()), (25, 25), "--by {by}");
        if by == "challenge" {
            assert!(groups.len() >= 3, "breakout-sized groups");
            for g in &groups {
                assert!(g["members"].as_array().unwrap().len() >= 3, "{g}");
            }
        }
    }
    assert_eq!(peers_json("challenge"), peers_json("challenge"), "stable");

    // The generator gives CAN a dated change idea after which its seclusion rate steps
    // down: it is found as a positive deviant, with the change idea as evidence.
    let out = crate::fixture::ako()
        .args(["deviants", "--format", "json", "--lake"])
        .arg(lake)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deviants: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let can = deviants
        .iter()
        .find(|d| d["org_code"] == "CAN" && d["evidence"]["kind"] == "spc")
        .unwrap_or_else(|| panic!("CAN among {deviants:?}"));
    assert_eq!(can["indicator"], "events_per_1000_bed_days");
    assert!(
        can["evidence"]["change_idea"]
            .as_str()
            .unwrap()
            .starts_with("Whānau liaison and peer support roles"),
        "{can}"
    );
    assert!(can["evidence"]["run_mean"].as_f64() < can["evidence"]["mean"].as_f64());
    // Organisations the generator made worse are never positive deviants.
    let found: Vec<&str> = deviants
        .iter()
        .map(|d| d["org_code"].as_str().unwrap())
        .collect();
    for worse in ["WKO", "MCE", "SOU"] {
        assert!(!found.contains(&worse), "{found:?}");
    }

    // Another client reads the Parquet files directly: the episodes of a fresh lake
    // are exactly the accepted rows (no superseded files yet).
    let mut parquet_rows = 0usize;
    let mut stack = vec![lake.join("episodes")];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "_delta_log") {
                continue;
            }
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        } else if p.extension().is_some_and(|e| e == "parquet") {
            let file = std::fs::File::open(&p).unwrap();
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .unwrap()
                .build()
                .unwrap();
            for batch in reader {
                let batch = batch.unwrap();
                assert!(batch.schema().field_with_name("episode_id").is_ok());
                parquet_rows += batch.num_rows();
            }
        }
    }
    assert_eq!(parquet_rows, summary.episodes);
}
