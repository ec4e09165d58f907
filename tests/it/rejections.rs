//! Bad rows land in `rejections` with line, column and reason; good rows land; nothing
//! is lost: rows read = accepted + rejected.

use ako::ingest::IngestOptions;

use crate::fixture::{CANONICAL_HEADER, Fixture, pretty, row, sample_profiles};

#[tokio::test]
async fn every_bad_row_kind_is_rejected_with_line_column_and_reason() {
    let f = Fixture::new();
    f.ingest_reference().await;
    let good = row(
        "E1",
        "P1",
        "seclusion",
        "2024-03-05T10:00:00+13:00",
        "2024-03-05T11:00:00+13:00",
        "maori",
    );
    let text = [
        CANONICAL_HEADER.to_string(),
        good.clone(), // line 2
        row(
            "E2",
            "P1",
            "seclusion",
            "yesterday",
            "2024-03-05T11:00:00+13:00",
            "maori",
        ), // 3
        row(
            "E3",
            "P1",
            "seclusion",
            "2024-03-05T10:00:00+13:00",
            "2024-03-05T09:00:00+13:00",
            "maori",
        ), // 4
        row(
            "E4",
            "P1",
            "SECL",
            "2024-03-05T10:00:00+13:00",
            "2024-03-05T11:00:00+13:00",
            "maori",
        ), // 5
        row(
            "E5",
            "",
            "seclusion",
            "2024-03-05T10:00:00+13:00",
            "2024-03-05T11:00:00+13:00",
            "maori",
        ), // 6
        row(
            "E1",
            "P2",
            "seclusion",
            "2024-03-06T10:00:00+13:00",
            "2024-03-06T11:00:00+13:00",
            "european",
        ), // 7
        "TST,E7,P1,TST-W1,adult_inpatient".to_string(), // 8
        row(
            "E8",
            "P1",
            "seclusion",
            "2024-03-05T10:00:00+13:00",
            "",
            "maori",
        )
        .replace(",false,male,", ",maybe,male,"), // 9
        row(
            "E9",
            "P1",
            "seclusion",
            "2024-03-05T10:00:00+13:00",
            "",
            "maori",
        )
        .replace(",15,harm", ",ten,harm"), // 10
        row(
            "E10",
            "P1",
            "seclusion",
            "2024-03-07T10:00:00+13:00",
            "",
            "martian",
        ), // 11
    ]
    .join("\n");
    let file = f.write("in/TST/TST_bad.csv", &format!("{text}\n"));
    let reports = f.ingest(&[&file]).await;
    let r = &reports[0];
    assert_eq!((r.rows_read, r.rows_accepted, r.rows_rejected), (10, 1, 9));
    assert_eq!(r.rows_read, r.rows_accepted + r.rows_rejected);
    let table = pretty(
        &f.sql(
            "SELECT line, \"column\", reason, value FROM rejections ORDER BY line",
            None,
        )
        .await,
    );
    let expected = "\
+------+-----------------+----------------------+---------------------------+
| line | column          | reason               | value                     |
+------+-----------------+----------------------+---------------------------+
| 3    | start_time      | bad_timestamp        | yesterday                 |
| 4    | end_time        | end_before_start     | 2024-03-05T09:00:00+13:00 |
| 5    | practice        | unknown_code         | SECL                      |
| 6    | person_key      | missing_value        |                           |
| 7    | episode_id      | duplicate_episode_id | E1                        |
| 8    |                 | malformed_record     |                           |
| 9    | minor           | bad_boolean          | maybe                     |
| 10   | max_obs_gap_min | bad_number           | ten                       |
| 11   | ethnicity       | unknown_code         | martian                   |
+------+-----------------+----------------------+---------------------------+";
    assert_eq!(table, expected);
    // each rejection names its file and organisation
    let files = pretty(
        &f.sql("SELECT DISTINCT org_code, file FROM rejections", None)
            .await,
    );
    assert!(
        files.contains("TST") && files.contains("TST_bad.csv"),
        "{files}"
    );
    // the good row landed, and only it
    let landed = pretty(&f.sql("SELECT episode_id FROM episodes", None).await);
    assert!(
        landed.contains("| E1 ") && !landed.contains("E8"),
        "{landed}"
    );
}

#[tokio::test]
async fn an_ongoing_episode_with_no_end_is_accepted() {
    let f = Fixture::new();
    f.ingest_reference().await;
    let file = f.canonical(
        "in/TST/TST_ongoing.csv",
        &[row(
            "E1",
            "P1",
            "seclusion",
            "2024-03-05T10:00:00+13:00",
            "",
            "maori",
        )],
    );
    let r = &f.ingest(&[&file]).await[0];
    assert_eq!((r.rows_accepted, r.rows_rejected), (1, 0));
    let ended = pretty(
        &f.sql(
            "SELECT count(*) AS n FROM episodes WHERE end_time IS NULL",
            None,
        )
        .await,
    );
    assert!(ended.contains("| 1 "), "{ended}");
}

#[tokio::test]
async fn a_spring_forward_gap_time_is_rejected_not_guessed() {
    let f = Fixture::new();
    f.ingest_reference().await;
    // NZ clocks went from 02:00 to 03:00 on 24 September 2023: 02:30 never happened.
    let text = "ORGANISATION_ID|EVENT_ID|CLIENT_KEY|TEAM_CODE|SETTING_CODE|RP_TYPE_CODE|START_DATETIME|END_DATETIME|AGE_GROUP|UNDER_18_FLAG|GENDER_CODE|ETHNICITY_CODE|LEGAL_STATUS_CODE|AUTHORISER_CODE|EMERGENCY_FLAG|MAX_OBS_INTERVAL|REASON_CODE\n\
                TST|C1|P9|TST-W2|AI|SE|24/09/2023 02:30|24/09/2023 04:00|40-44|N|F|2|S30|AD|N|10|HS\n";
    let file = f.write("in/TST/TST_gap.txt", text);
    let options = IngestOptions {
        profile: Some("nz_collection".into()),
        profile_dirs: vec![sample_profiles()],
    };
    let reports = f.ingest_with(&[&file], options).await;
    assert_eq!((reports[0].rows_accepted, reports[0].rows_rejected), (0, 1));
    let why = pretty(&f.sql("SELECT reason, message FROM rejections", None).await);
    assert!(
        why.contains("bad_timestamp") && why.contains("daylight-saving gap"),
        "{why}"
    );
}

#[tokio::test]
async fn the_first_of_repeated_episode_ids_is_kept_and_later_ones_rejected() {
    let f = Fixture::new();
    f.ingest_reference().await;
    let file = f.canonical(
        "in/TST/TST_repeats.csv",
        &[
            row(
                "E1",
                "P1",
                "seclusion",
                "2024-03-05T10:00:00+13:00",
                "",
                "maori",
            ), // line 2: kept
            row(
                "E2",
                "P2",
                "seclusion",
                "2024-03-05T11:00:00+13:00",
                "",
                "maori",
            ), // 3
            row(
                "E1",
                "P8",
                "seclusion",
                "2024-03-06T10:00:00+13:00",
                "",
                "maori",
            ), // 4: repeat
            row(
                "E1",
                "P9",
                "seclusion",
                "2024-03-07T10:00:00+13:00",
                "",
                "maori",
            ), // 5: repeat
        ],
    );
    let r = &f.ingest(&[&file]).await[0];
    assert_eq!((r.rows_read, r.rows_accepted, r.rows_rejected), (4, 2, 2));
    let rejected = pretty(
        &f.sql(
            "SELECT line, value, reason FROM rejections ORDER BY line",
            None,
        )
        .await,
    );
    assert_eq!(
        rejected,
        "+------+-------+----------------------+\n\
         | line | value | reason               |\n\
         +------+-------+----------------------+\n\
         | 4    | E1    | duplicate_episode_id |\n\
         | 5    | E1    | duplicate_episode_id |\n\
         +------+-------+----------------------+"
    );
    let kept = pretty(
        &f.sql(
            "SELECT episode_id, person_key FROM episodes ORDER BY episode_id",
            None,
        )
        .await,
    );
    assert!(
        kept.contains("| E1         | P1 ") && !kept.contains("P8") && !kept.contains("P9"),
        "{kept}"
    );
}
