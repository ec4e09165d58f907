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
        "in/TST_march.csv",
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
        "in/TST_march_v2.csv",
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
    for failpoint in ["after-episodes-commit", "after-rejections-commit"] {
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
    let april = f.canonical("in/TST_april.csv", &rows);
    for delay_ms in [150, 600, 1500] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ako"))
            .args(["ingest", "--format", "json", "--lake"])
            .arg(f.lake_dir())
            .arg(&april)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL; may already have finished
        let _ = child.wait();
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
