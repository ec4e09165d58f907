//! A crash in the middle of an ingest leaves the lake readable and as it was.

use std::time::Duration;

use crate::fixture::{Fixture, ako, pretty, row};

async fn episodes_by_id(f: &Fixture) -> String {
    pretty(
        &f.sql(
            "SELECT episode_id, person_key FROM episodes ORDER BY episode_id",
            None,
        )
        .await,
    )
}

async fn lake_with_march(f: &Fixture) {
    f.ingest_reference().await;
    let march = f.canonical(
        "in/TST/TST_march.csv",
        &[
            row(
                "E1",
                "P1",
                "seclusion",
                "2024-03-05T10:00:00+13:00",
                "",
                "maori",
            ),
            row(
                "E2",
                "P2",
                "seclusion",
                "2024-03-06T10:00:00+13:00",
                "",
                "european",
            ),
        ],
    );
    f.ingest(&[&march]).await;
}

#[tokio::test]
async fn abort_after_the_episodes_commit_is_invisible_and_recovered() {
    let f = Fixture::new();
    lake_with_march(&f).await;
    let before = f.snapshot(None).await;
    let before_rows = episodes_by_id(&f).await;
    // A replacement for March that also has a bad row, so episodes, rejections and the
    // manifest are all due to change.
    let newer = f.canonical(
        "in/TST/TST_march_v2.csv",
        &[
            row(
                "E1",
                "P7",
                "seclusion",
                "2024-03-05T10:00:00+13:00",
                "",
                "maori",
            ),
            row(
                "E3",
                "P3",
                "nonsense",
                "2024-03-07T10:00:00+13:00",
                "",
                "maori",
            ),
        ],
    );
    // Every step before the manifest commit: the lake is as it was.
    for failpoint in [
        "before-episodes-commit",
        "after-episodes-commit",
        "after-rejections-commit",
    ] {
        let out = ako()
            .env("AKO_FAILPOINT", failpoint)
            .args(["ingest", "--format", "json", "--lake"])
            .arg(f.lake_dir())
            .arg(&newer)
            .output()
            .unwrap();
        assert!(!out.status.success(), "the process aborted at {failpoint}");
        // Episodes (and rejections) moved on disk, but the lake is as it was.
        assert_eq!(f.snapshot(None).await, before, "{failpoint}");
        assert_eq!(episodes_by_id(&f).await, before_rows, "{failpoint}");
        let rejections = pretty(&f.sql("SELECT count(*) AS n FROM rejections", None).await);
        assert!(rejections.contains("| 0 "), "{failpoint}: {rejections}");
    }
    // The next ingest restores the tables and applies the file once.
    let report = &f.ingest(&[&newer]).await[0];
    assert_eq!((report.rows_accepted, report.rows_rejected), (1, 1));
    assert_eq!(report.lake_version, Some(before.lake_version.unwrap() + 1));
    let applied = f.snapshot(None).await;
    let after = episodes_by_id(&f).await;
    assert!(
        after.contains("| E1         | P7 ") && !after.contains("E2"),
        "{after}"
    );
    let rejections = pretty(&f.sql("SELECT line, reason FROM rejections", None).await);
    assert_eq!(
        rejections.matches("unknown_code").count(),
        1,
        "rejections recorded once: {rejections}"
    );
    // Killed after its manifest commit, an ingest has happened: once, and the file is
    // then known.
    let april = f.canonical(
        "in/TST/TST_2024-04_fp.csv",
        &[row(
            "A1",
            "P1",
            "seclusion",
            "2024-04-05T10:00:00+12:00",
            "",
            "maori",
        )],
    );
    let out = ako()
        .env("AKO_FAILPOINT", "after-manifest-commit")
        .args(["ingest", "--format", "json", "--lake"])
        .arg(f.lake_dir())
        .arg(&april)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let landed = f.snapshot(None).await;
    assert_eq!(landed.lake_version, Some(applied.lake_version.unwrap() + 1));
    let again = &f.ingest(&[&april]).await[0];
    assert_eq!(again.status, ako::ingest::Status::Unchanged);
    assert_eq!(f.snapshot(None).await, landed);
    assert!(episodes_by_id(&f).await.contains("| A1 "));
}

#[tokio::test]
async fn a_reference_table_killed_before_its_manifest_commit_is_invisible() {
    let f = Fixture::new();
    f.ingest_reference().await;
    let before = f.snapshot(None).await;
    let orgs = f.write(
        "in/ref2/organisations.csv",
        "org_code,name,jurisdiction,region,population,beds,tags\n\
         TST,Test DHB,NZ,Central,100000,34,\n\
         QTS,Test AMHS,QLD,North,50000,10,rural\n\
         NEW,New DHB,NZ,North,20000,8,\n",
    );
    let out = ako()
        .env("AKO_FAILPOINT", "after-reference-commit")
        .args(["ingest", "--format", "json", "--lake"])
        .arg(f.lake_dir())
        .arg(&orgs)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(f.snapshot(None).await, before);
    let count = pretty(&f.sql("SELECT count(*) AS n FROM organisations", None).await);
    assert!(count.contains("| 2 "), "{count}");
    // The next ingest lands it once.
    let report = &f.ingest(&[&orgs]).await[0];
    assert_eq!(report.status, ako::ingest::Status::Ingested);
    let count = pretty(&f.sql("SELECT count(*) AS n FROM organisations", None).await);
    assert!(count.contains("| 3 "), "{count}");
}

#[tokio::test]
async fn sigkill_at_any_moment_leaves_a_readable_lake_in_one_of_two_states() {
    let f = Fixture::new();
    lake_with_march(&f).await;
    let before = f.snapshot(None).await;
    let before_rows = episodes_by_id(&f).await;
    // A larger April extract, so the kill lands while it is being read or committed.
    let rows: Vec<String> = (0..60_000)
        .map(|i| {
            let day = 1 + i % 28;
            let start = format!("2024-04-{day:02}T{:02}:{:02}:00+12:00", i % 24, i % 60);
            row(
                &format!("A{i}"),
                &format!("P{}", i % 900),
                "physical_restraint",
                &start,
                "",
                "european",
            )
        })
        .collect();
    let april = f.canonical("in/TST/TST_april.csv", &rows);
    for delay_ms in [150, 600, 1500] {
        kill_ingest_after(&f, &april, delay_ms); // may already have finished
        let now = f.snapshot(None).await;
        let rows_now = pretty(&f.sql("SELECT count(*) AS n FROM episodes", None).await);
        if now == before {
            assert_eq!(
                episodes_by_id(&f).await,
                before_rows,
                "killed at {delay_ms} ms: unchanged"
            );
        } else {
            // the ingest completed before the kill: exactly once
            assert_eq!(now.lake_version, Some(before.lake_version.unwrap() + 1));
            assert!(
                rows_now.contains("| 60002 |"),
                "killed at {delay_ms} ms: {rows_now}"
            );
            return;
        }
    }
    // Whatever state the kills left, a final ingest lands the file exactly once.
    let report = &f.ingest(&[&april]).await[0];
    assert_eq!(report.rows_accepted, 60_000);
    let rows_now = pretty(&f.sql("SELECT count(*) AS n FROM episodes", None).await);
    assert!(rows_now.contains("| 60002 |"), "{rows_now}");
}

/// An April-to-September month's extract for TST with `n` episodes; `tag` makes each
/// version's content (and so its extract id) its own.
fn month_extract(f: &Fixture, month: u32, version: usize, n: usize) -> std::path::PathBuf {
    let rows: Vec<String> = (0..n)
        .map(|i| {
            let day = 1 + i % 28;
            let start = format!(
                "2024-{month:02}-{day:02}T{:02}:{:02}:00+12:00",
                i % 24,
                i % 60
            );
            row(
                &format!("M{month}-{i}"),
                &format!("P{}", (i + version) % 700),
                "physical_restraint",
                &start,
                "",
                "european",
            )
        })
        .collect();
    f.canonical(&format!("in/TST/TST_2024-{month:02}_v{version}.csv"), &rows)
}

/// Starts `ako ingest FILE`, sends it SIGKILL after `ms` milliseconds (it may have
/// finished by then) and returns how it ended.
fn kill_ingest_after(f: &Fixture, file: &std::path::Path, ms: u64) -> std::process::ExitStatus {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ako"))
        .args(["ingest", "--format", "json", "--lake"])
        .arg(f.lake_dir())
        .arg(file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(ms));
    let _ = child.kill();
    child.wait().unwrap()
}

/// The operation and mode of the episodes table's latest commit, from its log.
fn last_episodes_commit(f: &Fixture) -> (String, String) {
    let log = f.lake_dir().join("episodes/_delta_log");
    let mut commits: Vec<_> = std::fs::read_dir(&log)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    commits.sort();
    let text = std::fs::read_to_string(commits.last().unwrap()).unwrap();
    let info = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find_map(|v| v.get("commitInfo").cloned())
        .unwrap();
    let mode = info["operationParameters"]["mode"]
        .as_str()
        .unwrap_or("")
        .to_string();
    (info["operation"].as_str().unwrap().to_string(), mode)
}

/// Extracts large enough that their staged files are committed as they are (issue 14)
/// keep the same guarantees: aborted at every step before the manifest, the lake is as
/// it was; then killed at random moments, every version a reader opens is whole.
#[tokio::test]
async fn large_extracts_committed_as_staged_files_are_crash_safe_too() {
    use rand::{Rng, SeedableRng};
    let f = Fixture::new();
    f.ingest_reference().await;
    let large = ako::lake::AS_IS_MIN_ROWS as usize + 500;
    let first = month_extract(&f, 4, 0, large);
    assert_eq!(f.cli_ingest(&[&first]).status.code(), Some(0));
    // A new table: created by the commit that adds the staged files.
    assert_eq!(last_episodes_commit(&f).0, "CREATE TABLE");
    let before = f.snapshot(None).await;
    let may = month_extract(&f, 5, 0, large);
    // (It rejects no row, so has no rejections commit; the test above covers that step.)
    for failpoint in ["before-episodes-commit", "after-episodes-commit"] {
        let out = ako()
            .env("AKO_FAILPOINT", failpoint)
            .args(["ingest", "--format", "json", "--lake"])
            .arg(f.lake_dir())
            .arg(&may)
            .output()
            .unwrap();
        assert!(!out.status.success(), "the process aborted at {failpoint}");
        assert_eq!(f.snapshot(None).await, before, "{failpoint}");
        let (_, months) = whole_version(&f).await;
        assert_eq!(months.len(), 1, "{failpoint}: {months:?}");
    }
    assert_eq!(f.cli_ingest(&[&may]).status.code(), Some(0));
    // A new month replaces nothing: an append of the staged files, not a replace.
    assert_eq!(
        last_episodes_commit(&f),
        ("WRITE".to_string(), "Append".to_string())
    );
    let (_, months) = whole_version(&f).await;
    assert_eq!(
        months.values().copied().collect::<Vec<_>>(),
        [large as i64; 2]
    );

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20261204);
    let started = std::time::Instant::now();
    let june = month_extract(&f, 6, 0, large);
    assert_eq!(f.cli_ingest(&[&june]).status.code(), Some(0));
    let whole_ms = started.elapsed().as_millis().max(200) as u64;
    for loop_ in 1..=crash_loops().div_ceil(5) {
        let file = month_extract(&f, 7 + (loop_ % 3) as u32, loop_, large);
        kill_ingest_after(&f, &file, rng.random_range(0..whole_ms * 6 / 5));
        whole_version(&f).await;
    }
    let out = f.cli_ingest(&[&f.path("in/TST")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, months) = whole_version(&f).await;
    assert!(months.len() >= 4, "{months:?}");
}

/// Reads the lake as a reader would, at one version, and checks it against its own
/// manifest: every month holds exactly the rows its latest extract accepted, no episode
/// twice. Returns (lake version, episodes per month).
async fn whole_version(f: &Fixture) -> (Option<i64>, std::collections::BTreeMap<String, i64>) {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::Int64Type;
    let lake = f.lake();
    let snap = lake.snapshot(None).await.expect("the lake opens");
    let ctx = lake.session(&snap).await.expect("a session on it");
    let run = |sql: &'static str| {
        let ctx = ctx.clone();
        async move { ctx.sql(sql).await.unwrap().collect().await.unwrap() }
    };
    let mut lake_rows = std::collections::BTreeMap::new();
    for b in run(
        "SELECT month, count(*) AS n, count(DISTINCT episode_id) AS d FROM episodes GROUP BY month",
    )
    .await
    {
        let months = datafusion::arrow::compute::cast(
            b.column(0),
            &datafusion::arrow::datatypes::DataType::Utf8,
        )
        .unwrap();
        let months = months.as_string::<i32>();
        let n = b.column(1).as_primitive::<Int64Type>();
        let d = b.column(2).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            assert_eq!(
                n.value(i),
                d.value(i),
                "no episode twice in {}",
                months.value(i)
            );
            lake_rows.insert(months.value(i).to_string(), n.value(i));
        }
    }
    let mut manifest = std::collections::BTreeMap::new();
    for b in run("SELECT period_from, rows_accepted FROM extracts WHERE kind = 'extract' AND org_code = 'TST' ORDER BY ingested_at, table_version").await {
        let from = datafusion::arrow::compute::cast(b.column(0), &datafusion::arrow::datatypes::DataType::Utf8).unwrap();
        let from = from.as_string::<i32>();
        let accepted = b.column(1).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            manifest.insert(from.value(i).to_string(), accepted.value(i));
        }
    }
    manifest.retain(|_, n| *n > 0);
    assert_eq!(
        lake_rows, manifest,
        "version {:?}: rows as the manifest says",
        snap.lake_version
    );
    (snap.lake_version, lake_rows)
}

fn crash_loops() -> usize {
    std::env::var("AKO_CRASH_LOOPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

/// Issue 10 section 6: ingests killed with SIGKILL at random moments, each followed by a
/// reader's check. `.ci/run` runs 100 (`AKO_CRASH_LOOPS`); a laptop 20.
#[tokio::test]
async fn ingests_killed_at_random_moments_never_lose_or_duplicate_a_row() {
    use rand::{Rng, SeedableRng};
    let f = Fixture::new();
    f.ingest_reference().await;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20261202);
    // How long a whole ingest takes here, so kills land anywhere inside one.
    let started = std::time::Instant::now();
    let first = month_extract(&f, 4, 0, 8_000);
    let out = f.cli_ingest(&[&first]);
    assert_eq!(out.status.code(), Some(0));
    let whole_ms = started.elapsed().as_millis().max(200) as u64;
    let mut landed = 1;
    for loop_ in 1..=crash_loops() {
        let month = 4 + (loop_ % 6) as u32;
        let file = month_extract(&f, month, loop_, rng.random_range(1_000..12_000));
        let status = kill_ingest_after(&f, &file, rng.random_range(0..whole_ms * 6 / 5));
        if status.success() {
            landed += 1;
        }
        whole_version(&f).await;
    }
    // After all the kills, an ingest of everything lands and the lake still agrees.
    let out = f.cli_ingest(&[&f.path("in/TST")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, months) = whole_version(&f).await;
    assert_eq!(months.len(), 6, "{months:?}");
    eprintln!(
        "{} kills, {landed} ingests finished before their kill",
        crash_loops()
    );
}

/// A reader polling while ingests run sees only whole versions: every version it opens
/// agrees with its own manifest, and versions never go backwards.
#[tokio::test]
async fn readers_during_ingests_see_only_whole_versions() {
    let f = Fixture::new();
    f.ingest_reference().await;
    let files: Vec<_> = (0..6)
        .map(|v| month_extract(&f, 4 + (v % 3) as u32, v, 6_000))
        .collect();
    let lake = f.lake_dir();
    let writer = std::thread::spawn(move || {
        for file in files {
            let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("ako"))
                .args(["ingest", "--format", "json", "--lake"])
                .arg(&lake)
                .arg(&file)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0));
        }
    });
    let mut seen = Vec::new();
    while !writer.is_finished() {
        let (version, _) = whole_version(&f).await;
        if seen.last() != Some(&version) {
            seen.push(version);
        }
    }
    writer.join().unwrap();
    seen.push(whole_version(&f).await.0);
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert!(
        seen.len() >= 3,
        "the reader saw versions change under it: {seen:?}"
    );
}
