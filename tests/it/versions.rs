//! Re-ingest changes nothing; a newer extract replaces its organisation's months as a
//! new lake version; every earlier version stays readable.

use ako::ingest::Status;
use ako::lake::AsOf;

use crate::fixture::{Fixture, pretty, row};

fn march(ids: &[(&str, &str)]) -> Vec<String> {
    ids.iter()
        .enumerate()
        .map(|(i, (id, person))| {
            let day = format!("2024-03-{:02}T10:00:00+13:00", i + 5);
            row(id, person, "seclusion", &day, "", "maori")
        })
        .collect()
}

async fn count_by_month(f: &Fixture, as_of: Option<AsOf>) -> String {
    pretty(
        &f.sql(
            "SELECT month, count(*) AS n FROM episodes GROUP BY month ORDER BY month",
            as_of,
        )
        .await,
    )
}

#[tokio::test]
async fn the_same_file_twice_changes_nothing() {
    let f = Fixture::new();
    f.ingest_reference().await;
    let file = f.canonical(
        "in/TST/TST_2024-03.csv",
        &march(&[("E1", "P1"), ("E2", "P2")]),
    );
    let first = f.ingest(&[&file]).await;
    let snap = f.snapshot(None).await;
    let again = f.ingest(&[&file]).await;
    assert_eq!(again[0].status, Status::Unchanged);
    assert_eq!(again[0].lake_version, first[0].lake_version);
    assert_eq!(
        (again[0].rows_read, again[0].rows_accepted),
        (2, 2),
        "the report repeats the counts"
    );
    assert_eq!(f.snapshot(None).await, snap);
    // the same content under another name is the same extract
    let copy = f.path("in/copy.csv");
    std::fs::copy(&file, &copy).unwrap();
    assert_eq!(f.ingest(&[&copy]).await[0].status, Status::Unchanged);
    // reference tables too
    let reference = f.ingest_reference().await;
    assert_eq!(
        reference.len(),
        3,
        "the three reference tables: {reference:?}"
    );
    assert!(
        reference.iter().all(|r| r.status == Status::Unchanged),
        "{reference:?}"
    );
    assert_eq!(f.snapshot(None).await, snap);
}

#[tokio::test]
async fn a_newer_extract_replaces_its_months_and_the_older_stays_readable() {
    let f = Fixture::new();
    f.ingest_reference().await;
    let v1 = f.canonical(
        "in/TST/TST_2024-03_v1.csv",
        &march(&[("E1", "P1"), ("E2", "P2"), ("E3", "P3")]),
    );
    let april = f.canonical(
        "in/TST/TST_2024-04.csv",
        &[row(
            "A1",
            "P1",
            "seclusion",
            "2024-04-10T10:00:00+12:00",
            "",
            "maori",
        )],
    );
    f.ingest(&[&v1]).await;
    let after_v1 = f.ingest(&[&april]).await[0].lake_version.unwrap();
    assert_eq!(
        count_by_month(&f, None).await,
        "+---------+---+\n| month   | n |\n+---------+---+\n| 2024-03 | 3 |\n| 2024-04 | 1 |\n+---------+---+"
    );
    // March re-sent: E2 withdrawn, E3 corrected, E4 added.
    let v2 = f.canonical(
        "in/TST/TST_2024-03_v2.csv",
        &march(&[("E1", "P1"), ("E3", "P9"), ("E4", "P4"), ("E5", "P5")]),
    );
    let report = &f.ingest(&[&v2]).await[0];
    assert_eq!(report.status, Status::Ingested);
    assert_eq!(
        (report.period_from.as_deref(), report.period_to.as_deref()),
        (Some("2024-03"), Some("2024-03"))
    );
    let after_v2 = report.lake_version.unwrap();
    assert_eq!(after_v2, after_v1 + 1, "one new lake version");
    assert_eq!(
        count_by_month(&f, None).await,
        "+---------+---+\n| month   | n |\n+---------+---+\n| 2024-03 | 4 |\n| 2024-04 | 1 |\n+---------+---+",
        "March replaced, April untouched"
    );
    let ids = pretty(&f.sql("SELECT episode_id, person_key FROM episodes WHERE month = '2024-03' ORDER BY episode_id", None).await);
    assert!(
        ids.contains("| E3         | P9 ") && !ids.contains("E2"),
        "{ids}"
    );
    // the earlier version is still there, by version and by time
    assert_eq!(
        count_by_month(&f, Some(AsOf::Version(after_v1))).await,
        "+---------+---+\n| month   | n |\n+---------+---+\n| 2024-03 | 3 |\n| 2024-04 | 1 |\n+---------+---+"
    );
    let v1_ids = pretty(
        &f.sql(
            "SELECT episode_id FROM episodes WHERE month = '2024-03' ORDER BY 1",
            Some(AsOf::Version(after_v1)),
        )
        .await,
    );
    assert!(v1_ids.contains("E2"), "{v1_ids}");

    // and through the CLI's --as-of
    let as_of = after_v1.to_string();
    let out = f.cli_query(&[
        "seclusion_events_by_org_month",
        "--format",
        "csv",
        "--param",
        "org=TST",
        "--as-of",
        &as_of,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.contains("TST,2024-03,true,3,3,0.0,3"), "{csv}");
    let out = f.cli_query(&[
        "seclusion_events_by_org_month",
        "--format",
        "csv",
        "--param",
        "org=TST",
    ]);
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.contains("TST,2024-03,true,4,4,0.0,4"), "{csv}");
}

#[tokio::test]
async fn as_of_a_time_reads_the_lake_as_it_was() {
    let f = Fixture::new();
    f.ingest_reference().await;
    let v1 = f.canonical("in/TST/TST_v1.csv", &march(&[("E1", "P1")]));
    f.ingest(&[&v1]).await;
    let between = chrono::Utc::now();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let v2 = f.canonical("in/TST/TST_v2.csv", &march(&[("E1", "P1"), ("E2", "P2")]));
    f.ingest(&[&v2]).await;
    assert!(
        count_by_month(&f, Some(AsOf::Time(between)))
            .await
            .contains("| 2024-03 | 1 |")
    );
    assert!(count_by_month(&f, None).await.contains("| 2024-03 | 2 |"));
}

#[tokio::test]
async fn a_version_that_does_not_exist_is_a_clear_error() {
    let f = Fixture::new();
    f.ingest_reference().await;
    let out = f.cli_query(&["data_completeness", "--as-of", "999"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("lake version 999 does not exist"), "{err}");
}

#[tokio::test]
async fn a_re_sent_episode_from_an_earlier_month_replaces_only_itself() {
    let f = Fixture::new();
    f.ingest_reference().await;
    let march = f.canonical(
        "in/TST/TST_2024-03.csv",
        &march(&[("E1", "P1"), ("E2", "P2"), ("E3", "P3")]),
    );
    f.ingest(&[&march]).await;
    // April's extract also re-sends E2 (a March episode) with a corrected person.
    let april = f.canonical(
        "in/TST/TST_2024-04.csv",
        &[
            row(
                "A1",
                "P1",
                "seclusion",
                "2024-04-10T10:00:00+12:00",
                "",
                "maori",
            ),
            row(
                "E2",
                "P9",
                "seclusion",
                "2024-03-06T10:00:00+13:00",
                "",
                "maori",
            ),
        ],
    );
    let r = &f.ingest(&[&april]).await[0];
    assert_eq!(
        (r.period_from.as_deref(), r.period_to.as_deref()),
        (Some("2024-04"), Some("2024-04"))
    );
    let rows = pretty(
        &f.sql(
            "SELECT episode_id, person_key, month FROM episodes ORDER BY episode_id",
            None,
        )
        .await,
    );
    let expected = "\
+------------+------------+---------+
| episode_id | person_key | month   |
+------------+------------+---------+
| A1         | P1         | 2024-04 |
| E1         | P1         | 2024-03 |
| E2         | P9         | 2024-03 |
| E3         | P3         | 2024-03 |
+------------+------------+---------+";
    assert_eq!(
        rows, expected,
        "March kept E1 and E3; E2 replaced, not duplicated"
    );
}

#[tokio::test]
async fn an_empty_extract_for_a_month_means_no_episodes_that_month() {
    let f = Fixture::new();
    f.ingest_reference().await;
    let march = f.canonical(
        "in/TST/TST_2024-03.csv",
        &march(&[("E1", "P1"), ("E2", "P2")]),
    );
    f.ingest(&[&march]).await;
    // The organisation re-sends March with no episodes (the programme's goal).
    let empty = f.canonical("in/TST/TST_2024-03_resend.csv", &[]);
    let r = &f.ingest(&[&empty]).await[0];
    assert_eq!(
        (r.status, r.org_code.as_deref(), r.rows_read),
        (Status::Ingested, Some("TST"), 0)
    );
    assert!(
        pretty(&f.sql("SELECT count(*) AS n FROM episodes", None).await).contains("| 0 |"),
        "March emptied"
    );
    let completeness = f
        .indicator("seclusion_events_by_org_month", &[("org", "TST")])
        .await;
    assert!(
        completeness.contains("| TST      | 2024-03 | true             | 0      |"),
        "{completeness}"
    );
}

#[tokio::test]
async fn an_extract_whose_rows_are_all_rejected_replaces_nothing() {
    let f = Fixture::new();
    f.ingest_reference().await;
    let march = f.canonical(
        "in/TST/TST_2024-03.csv",
        &march(&[("E1", "P1"), ("E2", "P2")]),
    );
    f.ingest(&[&march]).await;
    let broken = f.canonical(
        "in/TST/TST_2024-03_broken.csv",
        &[row(
            "E1",
            "P1",
            "seclusion",
            "05/03/2024 10:00",
            "",
            "maori",
        )],
    );
    let r = &f.ingest(&[&broken]).await[0];
    assert_eq!((r.rows_accepted, r.rows_rejected), (0, 1));
    assert!(
        pretty(&f.sql("SELECT count(*) AS n FROM episodes", None).await).contains("| 2 "),
        "March kept"
    );
}

#[tokio::test]
async fn the_head_version_read_from_the_log_names_is_the_snapshots() {
    let f = Fixture::new();
    // No manifest yet: no version, as the snapshot says.
    assert_eq!(f.lake().head_version().unwrap(), None);
    assert_eq!(f.snapshot(None).await.lake_version, None);
    f.ingest_reference().await;
    let after_reference = f.snapshot(None).await.lake_version;
    assert_eq!(f.lake().head_version().unwrap(), after_reference);
    let file = f.canonical("in/TST/TST_2024-03.csv", &march(&[("E1", "P1")]));
    let report = f.ingest(&[&file]).await;
    let head = f.lake().head_version().unwrap();
    assert_eq!(head, report[0].lake_version);
    assert_eq!(head, f.snapshot(None).await.lake_version);
    assert!(head > after_reference);
    // A re-ingest that changes nothing commits nothing.
    f.ingest(&[&file]).await;
    assert_eq!(f.lake().head_version().unwrap(), head);
}
