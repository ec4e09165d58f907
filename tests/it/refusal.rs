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

/// The CLI ingest succeeded (exit 0), its stderr shown if not.
#[track_caller]
fn assert_exit_0(out: &std::process::Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn lake_with_one_episode() -> Fixture {
    let f = Fixture::new();
    f.ingest_reference().await;
    let good = f.canonical(
        "in/TST/TST_good.csv",
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
        "in/TST/TST_nhi.csv",
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
    let file = f.write("in/TST/TST_nhi_new.csv", &text);
    assert_refused(&f, &file, &["line 3", "comment"]).await;
}

#[tokio::test]
async fn codes_shaped_like_an_nhi_with_a_wrong_check_digit_are_accepted() {
    let f = lake_with_one_episode().await;
    // WRD1234 has the NHI shape but its check digit fails, so it is a ward code.
    let file = f.canonical(
        "in/TST/TST_ward.csv",
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
    assert_exit_0(&out);
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
        let file = f.write(&format!("in/TST/TST_{column}.csv"), &text);
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
        "in/TST/mixed.csv",
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
        "in/b/TST/TST_nhi.csv",
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
        "in/b/TST/TST_more.csv",
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

/// One good canonical row of TST in March 2024 with `extra` appended to the line.
fn good_row(id: &str) -> String {
    row(
        id,
        "P2",
        "seclusion",
        "2024-03-06T10:00:00+13:00",
        "2024-03-06T11:00:00+13:00",
        "maori",
    )
}

#[tokio::test]
async fn an_nhi_however_it_is_written_refuses_the_file() {
    let f = lake_with_one_episode().await;
    for (i, written) in [
        "ZZZ-0016",
        "zzz 00 16",
        "ＺＺＺ００１６",
        "Z\u{0396}Z0016", // a Greek capital zeta among Latin Zs
        "moved (ZZZ.00AC) to HDU",
    ]
    .iter()
    .enumerate()
    {
        let text = format!(
            "{CANONICAL_HEADER},comment\n{},calm\n{},{written}\n",
            good_row("E2"),
            good_row("E3")
        );
        let file = f.write(&format!("in/TST/TST_written_{i}.csv"), &text);
        assert_refused(&f, &file, &["line 3", "comment", "NHI"]).await;
    }
}

#[tokio::test]
async fn column_names_are_matched_by_their_words() {
    let f = lake_with_one_episode().await;
    for (i, column) in [
        "patient_nhi",
        "client_name",
        "birth_dt",
        "n\u{0430}me", // Cyrillic a
        "ClientName",
        "ingoa",
    ]
    .iter()
    .enumerate()
    {
        let text = format!("{CANONICAL_HEADER},{column}\n{},x\n", good_row("E2"));
        let file = f.write(&format!("in/TST/TST_col_{i}.csv"), &text);
        assert_refused(&f, &file, &["line 1", column, "identifiable"]).await;
    }
    // a unit's name is not a person's
    let text = format!(
        "{CANONICAL_HEADER},unit_name\n{},Acute Unit\n",
        good_row("E2")
    );
    let file = f.write("in/TST/TST_unit_name.csv", &text);
    let out = f.cli_ingest(&[&file]);
    assert_eq!(json_reports(&out.stdout)[0]["status"], "ingested");
}

#[tokio::test]
async fn a_date_of_birth_refuses_the_file() {
    let f = lake_with_one_episode().await;
    let text = format!(
        "{CANONICAL_HEADER},d1\n{},2024-03-06\n{},14/07/1986\n",
        good_row("E2"),
        good_row("E3")
    );
    let file = f.write("in/TST/TST_dob.csv", &text);
    assert_refused(&f, &file, &["line 3", "d1", "date of birth"]).await;
}

#[tokio::test]
async fn json_arrays_are_walked() {
    let f = lake_with_one_episode().await;
    let profiles = crate::fixture::sample_profiles();
    let record = |extra: &str| {
        format!(
            r#"{{"facility":{{"org":"QTS","unit":"QTS-A"}},"event":{{"id":"J1","setting":"adult_inpatient","type":"seclusion","start":"2024-03-01T00:00:00Z","end":"2024-03-01T00:40:00Z","emergency":true,"authorised_by":"practitioner_in_charge","reason":"harm_to_self","max_observation_gap_minutes":20}},"patient":{{"key":"K7","age_band":"15-19","minor":true,"sex":"another","ethnicity":"pacific","legal_status":"qld_treatment_authority"}}{extra}}}"#
        )
    };
    for (i, (extra, expect)) in [
        (r#","notes":["calm","ZZZ 0016 seen"]"#, "NHI"),
        (
            r#","contacts":[{"relation":"kin","phone":"x"}]"#,
            "identifiable",
        ),
        (r#","contacts":[[{"full_name":"x"}]]"#, "identifiable"),
    ]
    .iter()
    .enumerate()
    {
        let file = f.write(
            &format!("in/QTS/QTS_{i}.jsonl"),
            &format!("{}\n", record(extra)),
        );
        let before = f.snapshot(None).await;
        let out = f.cli_ingest_args(&[&file], &["--profiles", profiles.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{extra}");
        let error = json_reports(&out.stdout)[0]["error"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            error.contains("line 1") && error.contains(expect),
            "{error}"
        );
        assert_eq!(f.snapshot(None).await, before);
    }
    // the same record without the extras lands, so the refusals above are the guard's
    let file = f.write("in/QTS/QTS_ok.jsonl", &format!("{}\n", record("")));
    let out = f.cli_ingest_args(&[&file], &["--profiles", profiles.to_str().unwrap()]);
    assert_exit_0(&out);
}

#[tokio::test]
async fn reference_tables_meet_the_guard() {
    let f = lake_with_one_episode().await;
    let before = f.snapshot(None).await;
    let file = f.write(
        "in/ref2/change_ideas.csv",
        "org_code,started,title\nTST,2024-01-10,Sensory room\nTST,2024-02-01,Review of ZZZ-0016 plan\n",
    );
    let out = f.cli_ingest(&[&file]);
    assert_eq!(out.status.code(), Some(2));
    let error = json_reports(&out.stdout)[0]["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        error.contains("line 3") && error.contains("title") && error.contains("NHI"),
        "{error}"
    );
    let file = f.write(
        "in/ref3/change_ideas.csv",
        "org_code,started,title,patient_name\nTST,2024-01-10,Sensory room,x\n",
    );
    let out = f.cli_ingest(&[&file]);
    let error = json_reports(&out.stdout)[0]["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        error.contains("patient_name") && error.contains("identifiable"),
        "{error}"
    );
    assert_eq!(f.snapshot(None).await, before, "nothing stored");
}

#[tokio::test]
async fn a_profiles_folder_among_the_inputs_is_not_read() {
    let f = lake_with_one_episode().await;
    // A profile that maps the canonical header but reads `reason` as the organisation
    // would change how every extract is read; dropped among the inputs it must do nothing.
    let evil = std::fs::read_to_string(crate::fixture::sample_profiles().join("canonical.toml"))
        .unwrap()
        .replace("name = \"canonical\"", "name = \"evil\"");
    f.write("in/drop/profiles/evil.toml", &evil);
    let file = f.canonical("in/drop/TST/TST_more.csv", &[good_row("E2")]);
    let out = f.cli_ingest(&[&f.path("in/drop")]);
    assert_exit_0(&out);
    let reports = json_reports(&out.stdout);
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0]["file"], file.display().to_string());
    assert_eq!(
        reports[0]["profile"], "canonical",
        "the built-in profile, not the dropped one"
    );
}

#[tokio::test]
async fn an_extract_replaces_only_the_organisation_of_its_folder() {
    let f = lake_with_one_episode().await;
    // A header-only file for TST's March dropped in QTS's folder would empty TST's month.
    let file = f.write("in/QTS/TST_2024-03.csv", &format!("{CANONICAL_HEADER}\n"));
    assert_refused(&f, &file, &["named for `TST`", "folder of `QTS`"]).await;
    // Named for nobody, outside any organisation's folder: no one is entitled.
    let file = f.write("in/loose/2024-03.csv", &format!("{CANONICAL_HEADER}\n"));
    assert_refused(&f, &file, &["folder named for its organisation"]).await;
    // TST's rows in QTS's folder.
    let file = f.canonical("in/QTS/QTS_2024-03.csv", &[good_row("E2")]);
    assert_refused(&f, &file, &["line 2", "org_code", "folder of `QTS`"]).await;
    // TST's rows outside any organisation's folder.
    let file = f.canonical("in/loose/extract.csv", &[good_row("E2")]);
    assert_refused(&f, &file, &["line 2", "not in a folder named for it"]).await;
    // In its own folder, deeper down, the same rows land.
    let file = f.canonical("in/TST/2024/TST_2024-03b.csv", &[good_row("E2")]);
    let out = f.cli_ingest(&[&file]);
    assert_exit_0(&out);
}

#[tokio::test]
async fn a_file_with_an_endless_line_or_a_huge_field_is_refused_by_number() {
    let f = lake_with_one_episode().await;
    // 3 MiB without a newline: refused at line 1 after reading about a megabyte.
    let file = f.write("in/TST/TST_one_line.csv", &"x".repeat(3 << 20));
    assert_refused(&f, &file, &["line 1", "longer than 1 MiB"]).await;
    // A good header, a good row, then a line of 2 MiB.
    let text = format!(
        "{CANONICAL_HEADER}\n{}\n{}\n",
        good_row("E2"),
        "y".repeat(2 << 20)
    );
    let file = f.write("in/TST/TST_long_line.csv", &text);
    assert_refused(&f, &file, &["line 3", "longer than 1 MiB"]).await;
    // A field of 100 KiB on an otherwise good line.
    let text = format!(
        "{CANONICAL_HEADER},comment\n{},calm\n{},{}\n",
        good_row("E2"),
        good_row("E3"),
        "z".repeat(100 << 10)
    );
    let file = f.write("in/TST/TST_big_field.csv", &text);
    assert_refused(&f, &file, &["line 3", "comment", "longer than 64 KiB"]).await;
}

#[cfg(unix)]
#[tokio::test]
async fn a_symbolic_link_loop_among_the_inputs_is_walked_once() {
    let f = lake_with_one_episode().await;
    let file = f.canonical("in/loopy/TST/TST_more.csv", &[good_row("E2")]);
    std::os::unix::fs::symlink(f.path("in/loopy"), f.path("in/loopy/TST/back")).unwrap();
    let out = f.cli_ingest(&[&f.path("in/loopy")]);
    assert_exit_0(&out);
    let reports = json_reports(&out.stdout);
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0]["file"], file.display().to_string());
}
