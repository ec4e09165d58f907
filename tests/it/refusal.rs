//! Files with identifiable data, or from an unknown organisation, are refused whole:
//! exit code 2, an error naming file, line and column, and the lake unchanged.

use crate::fixture::{CANONICAL_HEADER, Fixture, row};

fn json_reports(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// Ingests `file` with the CLI into a lake that already holds the reference tables and
/// one good extract; asserts refusal and that the lake version did not move.
async fn assert_refused(f: &Fixture, file: &std::path::Path, expect_in_error: &[&str]) {
    let before = f.snapshot(None).await;
    let out = f.cli_ingest(&[file]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reports = json_reports(&out.stdout);
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(r["status"], "refused");
    assert_eq!(r["rows_accepted"], 0);
    let error = r["error"].as_str().expect("error text");
    assert!(
        error.contains(&file.display().to_string()),
        "names the file: {error}"
    );
    for needle in expect_in_error {
        assert!(error.contains(needle), "`{needle}` in: {error}");
    }
    assert_eq!(r["lake_version"], serde_json::json!(before.lake_version));
    let after = f.snapshot(None).await;
    assert_eq!(after, before, "the lake is unchanged");
    let episodes = f.sql("SELECT count(*) AS n FROM episodes", None).await;
    assert_eq!(
        crate::fixture::pretty(&episodes).matches("| 1 ").count(),
        1,
        "still one episode"
    );
}

async fn lake_with_one_episode() -> Fixture {
    let f = Fixture::new();
    f.ingest_reference().await;
    let good = f.canonical(
        "in/TST_good.csv",
        &[row(
            "E1",
            "P1",
            "seclusion",
            "2024-03-05T10:00:00+13:00",
            "2024-03-05T11:00:00+13:00",
            "maori",
        )],
    );
    f.ingest(&[&good]).await;
    f
}

#[tokio::test]
async fn a_valid_nhi_anywhere_refuses_the_file() {
    let f = lake_with_one_episode().await;
    // ZZZ0016 is a valid NHI (old format); it sits in person_key on line 3.
    let file = f.canonical(
        "in/TST_nhi.csv",
        &[
            row(
                "E2",
                "P2",
                "seclusion",
                "2024-03-06T10:00:00+13:00",
                "2024-03-06T11:00:00+13:00",
                "maori",
            ),
            row(
                "E3",
                "ZZZ0016",
                "seclusion",
                "2024-03-06T10:00:00+13:00",
                "2024-03-06T11:00:00+13:00",
                "maori",
            ),
        ],
    );
    assert_refused(&f, &file, &["line 3", "person_key", "NHI"]).await;
    // the 2022 format (check letter), typed into free text in an unmapped column
    let mut text = format!("{CANONICAL_HEADER},comment\n");
    text.push_str(&row(
        "E4",
        "P4",
        "seclusion",
        "2024-03-06T10:00:00+13:00",
        "2024-03-06T11:00:00+13:00",
        "maori",
    ));
    text.push_str(",calm\n");
    text.push_str(&row(
        "E5",
        "P4",
        "seclusion",
        "2024-03-06T10:00:00+13:00",
        "2024-03-06T11:00:00+13:00",
        "maori",
    ));
    text.push_str(",see ZZZ00AC notes\n");
    let file = f.write("in/TST_nhi_new.csv", &text);
    assert_refused(&f, &file, &["line 3", "comment"]).await;
}

#[tokio::test]
async fn codes_shaped_like_an_nhi_with_a_wrong_check_digit_are_accepted() {
    let f = lake_with_one_episode().await;
    // WRD1234 has the NHI shape but its check digit fails, so it is a ward code.
    let file = f.canonical(
        "in/TST_ward.csv",
        &[row(
            "E2",
            "P2",
            "seclusion",
            "2024-03-06T10:00:00+13:00",
            "2024-03-06T11:00:00+13:00",
            "maori",
        )
        .replace("TST-W1", "WRD1234")],
    );
    let out = f.cli_ingest(&[&file]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json_reports(&out.stdout)[0]["status"], "ingested");
}

#[tokio::test]
async fn identifying_columns_refuse_the_file() {
    let f = lake_with_one_episode().await;
    for column in ["nhi", "dob", "name", "Date_of_Birth", "email"] {
        let mut text = format!("{CANONICAL_HEADER},{column}\n");
        text.push_str(&row(
            "E2",
            "P2",
            "seclusion",
            "2024-03-06T10:00:00+13:00",
            "2024-03-06T11:00:00+13:00",
            "maori",
        ));
        text.push_str(",x\n");
        let file = f.write(&format!("in/TST_{column}.csv"), &text);
        assert_refused(&f, &file, &["line 1", column, "identifiable"]).await;
    }
}

#[tokio::test]
async fn an_unknown_organisation_refuses_the_file() {
    let f = lake_with_one_episode().await;
    let file = f.canonical(
        "in/XYZ.csv",
        &[row(
            "E2",
            "P2",
            "seclusion",
            "2024-03-06T10:00:00+13:00",
            "2024-03-06T11:00:00+13:00",
            "maori",
        )
        .replacen("TST", "XYZ", 1)],
    );
    assert_refused(
        &f,
        &file,
        &["line 2", "org_code", "`XYZ` is not in the organisations"],
    )
    .await;
}

#[tokio::test]
async fn a_file_mixing_organisations_is_refused() {
    let f = lake_with_one_episode().await;
    let file = f.canonical(
        "in/mixed.csv",
        &[
            row(
                "E2",
                "P2",
                "seclusion",
                "2024-03-06T10:00:00+13:00",
                "2024-03-06T11:00:00+13:00",
                "maori",
            ),
            row(
                "E3",
                "P3",
                "seclusion",
                "2024-03-06T10:00:00+13:00",
                "2024-03-06T11:00:00+13:00",
                "maori",
            )
            .replacen("TST", "QTS", 1),
        ],
    );
    assert_refused(&f, &file, &["line 3", "one organisation"]).await;
}

#[tokio::test]
async fn a_header_no_profile_knows_is_refused_with_the_known_profiles() {
    let f = lake_with_one_episode().await;
    let file = f.write("in/odd.csv", "a,b,c\n1,2,3\n");
    assert_refused(&f, &file, &["no profile matches", "canonical", "--profile"]).await;
}

#[tokio::test]
async fn refused_and_good_files_together_exit_2_and_the_good_file_lands() {
    let f = lake_with_one_episode().await;
    let bad = f.canonical(
        "in/b/TST_nhi.csv",
        &[row(
            "E9",
            "ZZZ0016",
            "seclusion",
            "2024-03-06T10:00:00+13:00",
            "",
            "maori",
        )],
    );
    let good = f.canonical(
        "in/b/TST_more.csv",
        &[row(
            "E2",
            "P2",
            "seclusion",
            "2024-04-06T10:00:00+12:00",
            "",
            "maori",
        )],
    );
    let out = f.cli_ingest(&[&bad, &good]);
    assert_eq!(out.status.code(), Some(2));
    let reports = json_reports(&out.stdout);
    let status: Vec<(&str, &str)> = reports
        .iter()
        .map(|r| {
            (
                r["file"].as_str().unwrap().rsplit('/').next().unwrap(),
                r["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        status,
        [("TST_more.csv", "ingested"), ("TST_nhi.csv", "refused")],
        "files are taken in path order"
    );
    for r in &reports {
        for key in [
            "file",
            "org_code",
            "status",
            "rows_read",
            "rows_accepted",
            "rows_rejected",
            "error",
            "lake_version",
        ] {
            assert!(r.get(key).is_some(), "JSON report has `{key}`: {r}");
        }
    }
    assert_eq!(reports[0]["error"], serde_json::Value::Null);
    assert_eq!(reports[0]["org_code"], "TST");
}
