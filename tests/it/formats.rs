//! Every source format lands as the same canonical episode.

use ako::ingest::IngestOptions;

use crate::fixture::{Fixture, pretty, row, sample_profiles};

const EPISODE_COLUMNS: &str = "SELECT org_code, episode_id, person_key, unit_code, setting, practice, \
    CAST(start_time AS VARCHAR) AS start_time, CAST(end_time AS VARCHAR) AS end_time, age_band, minor, sex, \
    ethnicity, legal_status, authorised_by, emergency, max_obs_gap_min, reason, jurisdiction, month \
    FROM episodes ORDER BY episode_id";

const EPISODE_HEADER: &str = "| org_code | episode_id | person_key | unit_code | setting | practice | start_time | end_time | age_band | minor | sex | ethnicity | legal_status | authorised_by | emergency | max_obs_gap_min | reason | jurisdiction | month |";

#[tokio::test]
async fn canonical_csv_keeps_every_column_and_reads_offsets() {
    let f = Fixture::new();
    f.ingest_reference().await;
    // 10:00 at +13:00 (NZ daylight time) is 21:00 UTC the day before.
    let file = f.canonical(
        "in/TST/TST_canonical.csv",
        &[row(
            "E1",
            "P1",
            "seclusion",
            "2024-03-05T10:00:00+13:00",
            "2024-03-05T12:30:00+13:00",
            "maori",
        )],
    );
    let reports = f.ingest(&[&file]).await;
    assert_eq!(reports[0].profile.as_deref(), Some("canonical"));
    assert_eq!(
        (
            reports[0].rows_read,
            reports[0].rows_accepted,
            reports[0].rows_rejected
        ),
        (1, 1, 0)
    );
    assert_table(
        &pretty(&f.sql(EPISODE_COLUMNS, None).await),
        &[
            EPISODE_HEADER,
            "| TST      | E1         | P1         | TST-W1    | adult_inpatient | seclusion | 2024-03-04T21:00:00Z | 2024-03-04T23:30:00Z | 30-34    | false | male | maori     | mha_s30      | authorised_doctor | false     | 15              | harm_to_others | NZ           | 2024-03 |",
        ],
    );
}

#[tokio::test]
async fn coded_collection_layout_maps_codes_and_local_time() {
    let f = Fixture::new();
    f.ingest_reference().await;
    // 05:45 on 1 July 2021 in Auckland (NZST, +12:00) is 17:45 UTC on 30 June.
    let text = "ORGANISATION_ID|EVENT_ID|CLIENT_KEY|TEAM_CODE|SETTING_CODE|RP_TYPE_CODE|START_DATETIME|END_DATETIME|AGE_GROUP|UNDER_18_FLAG|GENDER_CODE|ETHNICITY_CODE|LEGAL_STATUS_CODE|AUTHORISER_CODE|EMERGENCY_FLAG|MAX_OBS_INTERVAL|REASON_CODE\n\
                TST|C1|P9|TST-W2|ID|SE|01/07/2021 05:45|01/07/2021 08:20|40-44|N|F|2|IDC|DEL|Y||HS\n";
    let file = f.write("in/TST/TST_coded.txt", text);
    let options = IngestOptions {
        profile: None,
        profile_dirs: vec![sample_profiles()],
    };
    let reports = f.ingest_with(&[&file], options).await;
    assert_eq!(reports[0].profile.as_deref(), Some("nz_collection"));
    assert_eq!(reports[0].rows_accepted, 1, "{reports:?}");
    assert_table(
        &pretty(&f.sql(EPISODE_COLUMNS, None).await),
        &[
            EPISODE_HEADER,
            "| TST      | C1         | P9         | TST-W2    | intellectual_disability | seclusion | 2021-06-30T17:45:00Z | 2021-06-30T20:20:00Z | 40-44    | false | female | maori     | idccr        | delegate      | true      |                 | harm_to_self | NZ           | 2021-07 |",
        ],
    );
}

#[tokio::test]
async fn vendor_json_lines_with_nested_objects() {
    let f = Fixture::new();
    f.ingest_reference().await;
    let line = r#"{"facility":{"org":"QTS","unit":"QTS-A"},"event":{"id":"J1","setting":"adult_inpatient","type":"mechanical_restraint","start":"2024-03-01T00:00:00Z","end":"2024-03-01T00:40:00Z","emergency":true,"authorised_by":"practitioner_in_charge","reason":"harm_to_self","max_observation_gap_minutes":20},"patient":{"key":"K7","age_band":"15-19","minor":true,"sex":"another","indigenous_status":"torres_strait_islander","legal_status":"qld_treatment_authority"}}"#;
    let file = f.write("in/QTS/QTS.jsonl", &format!("{line}\n\n"));
    let profiles = f.path("profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    std::fs::copy(
        sample_profiles().join("vendor_jsonl.toml"),
        profiles.join("vendor_jsonl.toml"),
    )
    .unwrap();
    // a `profiles` folder among the inputs is neither read as profiles nor as data
    let reports = f.ingest(&[&file, &profiles]).await;
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].status, ako::ingest::Status::Refused);
    assert!(
        reports[0]
            .error
            .as_deref()
            .unwrap()
            .contains("no profile matches"),
        "{:?}",
        reports[0].error
    );
    let options = ako::ingest::IngestOptions {
        profile_dirs: vec![profiles.clone()],
        ..Default::default()
    };
    let reports = f.ingest_with(&[&file, &profiles], options).await;
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].profile.as_deref(), Some("vendor_jsonl"));
    assert_eq!(
        (reports[0].rows_read, reports[0].rows_accepted),
        (1, 1),
        "blank lines are not records"
    );
    // Brisbane has no daylight saving: 00:00 UTC is 10:00 on 1 March local, month 2024-03.
    assert_table(
        &pretty(&f.sql(EPISODE_COLUMNS, None).await),
        &[
            EPISODE_HEADER,
            "| QTS      | J1         | K7         | QTS-A     | adult_inpatient | mechanical_restraint | 2024-03-01T00:00:00Z | 2024-03-01T00:40:00Z | 15-19    | true  | another |           | qld_treatment_authority | practitioner_in_charge | true      | 20              | harm_to_self | QLD          | 2024-03 |",
        ],
    );
    // A Queensland row carries Indigenous status, not ethnicity.
    assert_eq!(
        crate::fixture::cells(
            &f.sql("SELECT ethnicity, indigenous_status FROM episodes", None)
                .await
        ),
        [["", "torres_strait_islander"]]
    );
}

/// Asserts that `table` contains the row `expected` (whitespace-insensitive).
/// The header and rows of a pretty-printed table, cells trimmed, borders dropped.
fn rows_of(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .filter(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// Compares a whole pretty-printed table, header and every row in order, as
/// DataFusion's `assert_batches_eq!` does, ignoring only the padding of cells.
pub fn assert_table(table: &str, expected: &[&str]) {
    let want: Vec<Vec<String>> = expected.iter().flat_map(|l| rows_of(l)).collect();
    assert_eq!(rows_of(table), want, "whole table:\n{table}");
}
