//! A small hand-made collection: two organisations, a month of inpatient activity each,
//! and helpers to write extracts, ingest them and read the lake back.

use std::path::{Path, PathBuf};

use ako::catalog::Catalog;
use ako::ingest::{self, FileReport, IngestOptions};
use ako::lake::{AsOf, Lake, Snapshot};
use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::arrow::util::pretty::pretty_format_batches;
use tempfile::TempDir;

pub const CANONICAL_HEADER: &str = "org_code,episode_id,person_key,unit_code,setting,practice,start_time,end_time,age_band,minor,sex,ethnicity,legal_status,authorised_by,emergency,max_obs_gap_min,reason";

/// The canonical header as an Australian service writes it: Indigenous status in place
/// of New Zealand's prioritised ethnicity.
pub const AU_HEADER: &str = "org_code,episode_id,person_key,unit_code,setting,practice,start_time,end_time,age_band,minor,sex,indigenous_status,legal_status,authorised_by,emergency,max_obs_gap_min,reason";

/// A canonical CSV row for organisation TST with the given id, person, practice,
/// start, end and ethnicity; other fields fixed.
pub fn row(
    id: &str,
    person: &str,
    practice: &str,
    start: &str,
    end: &str,
    ethnicity: &str,
) -> String {
    format!(
        "TST,{id},{person},TST-W1,adult_inpatient,{practice},{start},{end},30-34,false,male,{ethnicity},mha_s30,authorised_doctor,false,15,harm_to_others"
    )
}

/// Runs `sql` on the lake at `dir`, as of `as_of` (the latest version without one).
pub async fn sql_at(dir: &Path, sql: &str, as_of: Option<AsOf>) -> Vec<RecordBatch> {
    let lake = Lake::open(dir).expect("open lake");
    let snap = lake.snapshot(as_of.as_ref()).await.expect("snapshot");
    let ctx = lake.session(&snap).await.expect("session");
    ctx.sql(sql)
        .await
        .expect("plan")
        .collect()
        .await
        .expect("run")
}

pub struct Fixture {
    pub dir: TempDir,
}

impl Fixture {
    /// Reference tables only. TST (NZ) has 1,000 bed days in March and in April 2024:
    /// Māori 300 bed days / 10 people, European 700 / 30. March and April extracts
    /// arrived; May's did not.
    pub fn new() -> Fixture {
        let f = Fixture {
            dir: TempDir::new().expect("temp dir"),
        };
        f.write(
            "in/reference/organisations.csv",
            "org_code,name,jurisdiction,region,population,beds,tags\n\
             TST,Test DHB,NZ,Central,100000,34,\n\
             QTS,Test AMHS,QLD,North,50000,10,rural\n",
        );
        f.write(
            "in/reference/inpatient_activity.csv",
            "org_code,month,setting,ethnicity,people,admissions,bed_days\n\
             TST,2024-03,adult_inpatient,maori,10,8,300\n\
             TST,2024-03,adult_inpatient,european,30,20,700\n\
             TST,2024-04,adult_inpatient,maori,10,8,300\n\
             TST,2024-04,adult_inpatient,european,30,20,700\n\
             TST,2024-05,adult_inpatient,maori,10,8,300\n\
             TST,2024-05,adult_inpatient,european,30,20,700\n",
        );
        f.write(
            "in/reference/submissions.csv",
            "org_code,month,due_date,received_date\n\
             TST,2024-03,2024-04-20,2024-04-18\n\
             TST,2024-04,2024-05-20,2024-05-30\n\
             TST,2024-05,2024-06-20,\n",
        );
        f
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn lake_dir(&self) -> PathBuf {
        self.path("lake")
    }

    pub fn lake(&self) -> Lake {
        Lake::open(&self.lake_dir()).expect("open lake")
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A canonical extract from rows (header added).
    pub fn canonical(&self, rel: &str, rows: &[String]) -> PathBuf {
        let mut text = String::from(CANONICAL_HEADER);
        for r in rows {
            text.push('\n');
            text.push_str(r);
        }
        text.push('\n');
        self.write(rel, &text)
    }

    pub async fn ingest(&self, paths: &[&Path]) -> Vec<FileReport> {
        self.ingest_with(paths, IngestOptions::default()).await
    }

    pub async fn ingest_with(&self, paths: &[&Path], options: IngestOptions) -> Vec<FileReport> {
        let paths: Vec<PathBuf> = paths.iter().map(|p| p.to_path_buf()).collect();
        ingest::ingest(&self.lake(), &paths, &options, &(), &mut |_| {})
            .await
            .expect("ingest runs")
    }

    /// `ako query ARGS… --lake LAKE`, run as a user would.
    pub fn cli_query(&self, args: &[&str]) -> std::process::Output {
        ako()
            .arg("query")
            .args(args)
            .arg("--lake")
            .arg(self.lake_dir())
            .output()
            .unwrap()
    }

    /// `ako ingest --format json --lake LAKE PATHS…`, run as a user would.
    pub fn cli_ingest(&self, paths: &[&Path]) -> std::process::Output {
        ako()
            .args(["ingest", "--format", "json", "--lake"])
            .arg(self.lake_dir())
            .args(paths)
            .output()
            .unwrap()
    }

    /// `ako ingest --format json --lake LAKE ARGS… PATHS…`.
    pub fn cli_ingest_args(&self, paths: &[&Path], args: &[&str]) -> std::process::Output {
        ako()
            .args(["ingest", "--format", "json", "--lake"])
            .arg(self.lake_dir())
            .args(args)
            .args(paths)
            .output()
            .unwrap()
    }

    /// Loads the reference tables.
    pub async fn ingest_reference(&self) -> Vec<FileReport> {
        self.ingest(&[&self.path("in/reference")]).await
    }

    pub async fn snapshot(&self, as_of: Option<AsOf>) -> Snapshot {
        self.lake()
            .snapshot(as_of.as_ref())
            .await
            .expect("snapshot")
    }

    pub async fn sql(&self, sql: &str, as_of: Option<AsOf>) -> Vec<RecordBatch> {
        sql_at(&self.lake_dir(), sql, as_of).await
    }

    /// Runs an indicator from `queries/` and pretty-prints the result.
    pub async fn indicator(&self, name: &str, params: &[(&str, &str)]) -> String {
        let catalog =
            Catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("queries")).expect("catalog");
        let lake = self.lake();
        let snap = lake.snapshot(None).await.expect("snapshot");
        let ctx = lake.session(&snap).await.expect("session");
        let given: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let config = ako::config::Config::default();
        let sources = ako::derived::Sources {
            catalog: &catalog,
            config: &config,
            compliance_dir: &Path::new(env!("CARGO_MANIFEST_DIR")).join("compliance"),
            store: None,
        };
        let batches = ako::derived::run(
            &ctx,
            catalog.get(name).expect("indicator"),
            &given,
            &sources,
        )
        .await
        .expect("runs");
        pretty(&batches)
    }
}

pub fn pretty(batches: &[RecordBatch]) -> String {
    pretty_format_batches(batches)
        .expect("printable")
        .to_string()
}

/// The sample's profile folder (canonical, nz_collection, vendor_jsonl).
pub fn sample_profiles() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/profiles")
}

/// An indicator's rows as JSON objects, run through the command line.
pub fn query_rows(f: &Fixture, name: &str, params: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec![name, "--format", "json"];
    for p in params {
        args.extend(["--param", p]);
    }
    let out = f.cli_query(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A JSON number equal to `expected` within a relative 1e-9.
#[track_caller]
pub fn close(v: &serde_json::Value, expected: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"));
    assert!(
        (got - expected).abs() <= 1e-9 * expected.abs().max(1e-12),
        "{got} vs {expected}"
    );
}

/// The `ako` binary, for tests of the command line contract.
pub fn ako() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("ako").expect("binary built")
}

/// Every cell of a result as display text, row by row (nulls as "").
pub fn cells(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    use datafusion::arrow::util::display::array_value_to_string;
    let mut rows = Vec::new();
    for b in batches {
        for i in 0..b.num_rows() {
            rows.push(
                b.columns()
                    .iter()
                    .map(|c| {
                        if c.is_null(i) {
                            String::new()
                        } else {
                            array_value_to_string(c, i).unwrap()
                        }
                    })
                    .collect(),
            );
        }
    }
    rows
}
