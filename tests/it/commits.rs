//! An ingest run commits its files together (issue 14): one episodes write, one
//! rejections append and one manifest append for a folder, with the same rows as
//! committing them one by one, and the same crash guarantees; and a query opens only
//! the tables it names.

use std::path::Path;

use ako::ingest::Status;

use crate::fixture::{Fixture, ako, pretty, row};

async fn episodes_by_id(f: &Fixture) -> String {
    pretty(
        &f.sql(
            "SELECT episode_id, person_key, month FROM episodes ORDER BY episode_id",
            None,
        )
        .await,
    )
}

fn parquet_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "parquet"))
                .count()
        })
        .unwrap_or(0)
}

fn march(f: &Fixture, rel: &str) -> std::path::PathBuf {
    f.canonical(
        rel,
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
    )
}

/// April: A1 lands, A2 (line 3) is rejected for its practice.
fn april_with_a_bad_row(f: &Fixture) {
    f.canonical(
        "in/extracts/TST/TST_2024-04.csv",
        &[
            row(
                "A1",
                "P1",
                "seclusion",
                "2024-04-05T10:00:00+12:00",
                "",
                "maori",
            ),
            row(
                "A2",
                "P3",
                "nonsense",
                "2024-04-06T10:00:00+12:00",
                "",
                "maori",
            ),
        ],
    );
}

#[tokio::test]
async fn a_folder_of_extracts_lands_in_one_commit_of_each_table() {
    let f = Fixture::new();
    march(&f, "in/extracts/TST/TST_2024-03.csv");
    april_with_a_bad_row(&f);
    f.canonical(
        "in/extracts/TST/TST_2024-05.csv",
        &[row(
            "M1",
            "P4",
            "seclusion",
            "2024-05-02T10:00:00+12:00",
            "",
            "european",
        )],
    );
    let reports = f.ingest(&[&f.path("in")]).await;
    assert_eq!(reports.len(), 6, "{reports:#?}");
    assert!(reports.iter().all(|r| r.status == Status::Ingested));
    // Reference tables, episodes, rejections and the manifest: each written once.
    assert!(
        reports.iter().all(|r| r.lake_version == Some(0)),
        "{reports:#?}"
    );
    let snapshot = f.snapshot(None).await;
    assert_eq!(snapshot.lake_version, Some(0));
    for (table, version) in &snapshot.tables {
        assert_eq!(*version, 0, "{table}");
    }
    assert_eq!(
        snapshot.tables.keys().collect::<Vec<_>>(),
        [
            "episodes",
            "extracts",
            "reference/inpatient_activity",
            "reference/organisations",
            "reference/submissions",
            "rejections"
        ]
    );
    // Per-file counts are kept; the three months are one Parquet file.
    let counts: Vec<_> = reports[3..]
        .iter()
        .map(|r| {
            (
                r.period_from.as_deref().unwrap(),
                r.rows_accepted,
                r.rows_rejected,
            )
        })
        .collect();
    assert_eq!(
        counts,
        [("2024-03", 2, 0), ("2024-04", 1, 1), ("2024-05", 1, 0)]
    );
    assert_eq!(
        parquet_files(&f.lake_dir().join("episodes/org_code=TST")),
        1
    );
    let rows = episodes_by_id(&f).await;
    for id in ["A1 ", "E1 ", "E2 ", "M1 "] {
        assert_eq!(rows.matches(&format!("| {id}")).count(), 1, "{rows}");
    }
    assert!(!rows.contains("A2"), "{rows}");
    let rejections = pretty(&f.sql("SELECT line, reason FROM rejections", None).await);
    assert!(
        rejections.contains("| 3    | unknown_code |"),
        "{rejections}"
    );
    // Run again: every file is known, nothing is written.
    let again = f.ingest(&[&f.path("in")]).await;
    assert!(again.iter().all(|r| r.status == Status::Unchanged));
    assert_eq!(f.snapshot(None).await, snapshot);
}

#[tokio::test]
async fn files_that_replace_each_others_rows_commit_in_turn() {
    let f = Fixture::new();
    // Sorted, the files come in this order. The second replaces March (E2 goes, E1 is
    // P7); the third re-sends E1, a March episode, from April's extract (P9).
    march(&f, "in/extracts/TST/TST_2024-03.csv");
    f.canonical(
        "in/extracts/TST/TST_2024-03_v2.csv",
        &[row(
            "E1",
            "P7",
            "seclusion",
            "2024-03-05T10:00:00+13:00",
            "",
            "maori",
        )],
    );
    f.canonical(
        "in/extracts/TST/TST_2024-04.csv",
        &[
            row(
                "E1",
                "P9",
                "seclusion",
                "2024-03-05T10:00:00+13:00",
                "",
                "maori",
            ),
            row(
                "A1",
                "P1",
                "seclusion",
                "2024-04-05T10:00:00+12:00",
                "",
                "maori",
            ),
        ],
    );
    let reports = f.ingest(&[&f.path("in")]).await;
    let versions: Vec<_> = reports.iter().map(|r| r.lake_version).collect();
    // References and the first March commit together; the replacement and the re-send
    // each wait for what came before them.
    assert_eq!(
        versions,
        [Some(0), Some(0), Some(0), Some(0), Some(1), Some(2)]
    );
    let rows = episodes_by_id(&f).await;
    assert_eq!(
        rows,
        "+------------+------------+---------+\n\
         | episode_id | person_key | month   |\n\
         +------------+------------+---------+\n\
         | A1         | P1         | 2024-04 |\n\
         | E1         | P9         | 2024-03 |\n\
         +------------+------------+---------+"
    );
    // The same files one run each give the same rows.
    let g = Fixture::new();
    g.ingest_reference().await;
    for name in ["TST_2024-03.csv", "TST_2024-03_v2.csv", "TST_2024-04.csv"] {
        let text = std::fs::read_to_string(f.path(&format!("in/extracts/TST/{name}"))).unwrap();
        let path = g.write(&format!("in/extracts/TST/{name}"), &text);
        g.ingest(&[&path]).await;
    }
    assert_eq!(episodes_by_id(&g).await, rows);
}

#[tokio::test]
async fn the_same_content_twice_in_one_run_is_ingested_once() {
    let f = Fixture::new();
    march(&f, "in/extracts/TST/TST_2024-03.csv");
    march(&f, "in/extracts/TST/resent/TST_2024-03.csv");
    let reports = f.ingest(&[&f.path("in")]).await;
    let statuses: Vec<_> = reports[3..].iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Status::Ingested, Status::Unchanged]);
    assert_eq!(reports[4].rows_accepted, 2);
    let n = pretty(&f.sql("SELECT count(*) AS n FROM episodes", None).await);
    assert!(n.contains("| 2 |"), "{n}");
    let manifest = pretty(&f.sql("SELECT count(*) AS n FROM extracts", None).await);
    assert!(
        manifest.contains("| 4 |"),
        "three references and March once: {manifest}"
    );
}

#[tokio::test]
async fn a_run_killed_before_its_manifest_commit_leaves_no_file_of_it() {
    let f = Fixture::new();
    f.ingest_reference().await;
    let before = f.snapshot(None).await;
    march(&f, "in/extracts/TST/TST_2024-03.csv");
    april_with_a_bad_row(&f);
    let folder = f.path("in/extracts");
    for failpoint in ["after-episodes-commit", "after-rejections-commit"] {
        let out = ako()
            .env("AKO_FAILPOINT", failpoint)
            .args(["ingest", "--format", "json", "--lake"])
            .arg(f.lake_dir())
            .arg(&folder)
            .output()
            .unwrap();
        assert!(!out.status.success(), "aborted at {failpoint}");
        assert_eq!(f.snapshot(None).await, before, "{failpoint}");
        let n = pretty(&f.sql("SELECT count(*) AS n FROM episodes", None).await);
        assert!(n.contains("| 0 |"), "{failpoint}: {n}");
    }
    // The next run restores the tables and lands both files in one version.
    let reports = f.ingest(&[&folder]).await;
    let next = before.lake_version.unwrap() + 1;
    assert!(
        reports
            .iter()
            .all(|r| r.status == Status::Ingested && r.lake_version == Some(next)),
        "{reports:#?}"
    );
    let rows = episodes_by_id(&f).await;
    assert_eq!(rows.matches("| 2024-0").count(), 3, "{rows}");
    let rejections = pretty(&f.sql("SELECT count(*) AS n FROM rejections", None).await);
    assert!(rejections.contains("| 1 |"), "once: {rejections}");
}

#[tokio::test]
async fn a_query_opens_only_the_tables_it_names() {
    let f = Fixture::new();
    march(&f, "in/extracts/TST/TST_2024-03.csv");
    f.ingest(&[&f.path("in")]).await;
    // Break two tables on disk that the query below does not read: an eager session
    // would fail opening them; a lazy one never looks.
    for table in ["reference/inpatient_activity", "reference/submissions"] {
        let log = f.lake_dir().join(table).join("_delta_log");
        std::fs::remove_dir_all(&log).unwrap();
    }
    let rows = pretty(
        &f.sql(
            "SELECT e.org_code, count(*) AS n FROM episodes e JOIN organisations o USING (org_code) GROUP BY e.org_code",
            None,
        )
        .await,
    );
    assert!(rows.contains("| TST      | 2 |"), "{rows}");
    // Naming a broken table is an error that says which.
    let lake = f.lake();
    let ctx = lake.session(&f.snapshot(None).await).await.unwrap();
    let err = ctx
        .sql("SELECT count(*) FROM submissions")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("reference/submissions"), "{err}");
    // A derived table may not take a lake table's name.
    let empty =
        datafusion::datasource::MemTable::try_new(ako::model::episode_schema(), vec![vec![]])
            .unwrap();
    let err = ctx
        .register_table("episodes", std::sync::Arc::new(empty))
        .unwrap_err();
    assert!(err.to_string().contains("is a lake table"), "{err}");
}

#[tokio::test]
async fn a_repeated_episode_id_is_left_out_of_a_commit_of_many_files() {
    let f = Fixture::new();
    march(&f, "in/extracts/TST/TST_2024-03.csv");
    // April repeats A1 on line 3 (P8): that row is rejected, the first A1 (P1) lands.
    f.canonical(
        "in/extracts/TST/TST_2024-04.csv",
        &[
            row(
                "A1",
                "P1",
                "seclusion",
                "2024-04-05T10:00:00+12:00",
                "",
                "maori",
            ),
            row(
                "A1",
                "P8",
                "seclusion",
                "2024-04-06T10:00:00+12:00",
                "",
                "maori",
            ),
        ],
    );
    let reports = f.ingest(&[&f.path("in")]).await;
    assert_eq!(
        (reports[4].rows_accepted, reports[4].rows_rejected),
        (1, 1),
        "{reports:#?}"
    );
    assert!(reports.iter().all(|r| r.lake_version == Some(0)));
    let rows = episodes_by_id(&f).await;
    assert!(rows.contains("| A1         | P1 "), "{rows}");
    assert!(!rows.contains("P8"), "{rows}");
    assert_eq!(rows.matches("| E").count(), 2, "{rows}");
    let rejections = pretty(&f.sql("SELECT line, reason FROM rejections", None).await);
    assert!(rejections.contains("duplicate_episode_id"), "{rejections}");
}
