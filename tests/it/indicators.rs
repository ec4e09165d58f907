//! Indicator values for a small hand-made extract equal values computed by hand.
//!
//! TST in March 2024 (NZ daylight time, +13:00), 1,000 bed days (Māori 300 / 10 people,
//! European 700 / 30 people):
//!   E1  P1 Māori     seclusion  2.5 h
//!   E2  P1 Māori     seclusion  4 h
//!   E3  P2 European  seclusion  1 h
//!   E4  P3 European  physical restraint
//!   E5  P4 European  seclusion starting 2024-04-01 00:30 local (31 March 11:30 UTC):
//!       an April episode, because months are the organisation's local months.
//! March seclusion: 3 events, 2 people, 7.5 hours; 3 × 1,000 / 1,000 = 3.0 per 1,000
//! bed days. % secluded: Māori 1/10 = 10%, non-Māori non-Pacific 1/30 = 3.33%, all
//! 2/40 = 5%. April: 1 event / 1,000 bed days = 1.0. May: extract missing, so null.

use crate::fixture::{Fixture, row};
use crate::formats::insta_like;

async fn hand_made() -> Fixture {
    let f = Fixture::new();
    f.ingest_reference().await;
    let file = f.canonical(
        "in/TST.csv",
        &[
            row(
                "E1",
                "P1",
                "seclusion",
                "2024-03-05T10:00:00+13:00",
                "2024-03-05T12:30:00+13:00",
                "maori",
            ),
            row(
                "E2",
                "P1",
                "seclusion",
                "2024-03-06T10:00:00+13:00",
                "2024-03-06T14:00:00+13:00",
                "maori",
            ),
            row(
                "E3",
                "P2",
                "seclusion",
                "2024-03-10T08:00:00+13:00",
                "2024-03-10T09:00:00+13:00",
                "european",
            ),
            row(
                "E4",
                "P3",
                "physical_restraint",
                "2024-03-11T08:00:00+13:00",
                "2024-03-11T08:05:00+13:00",
                "european",
            ),
            row(
                "E5",
                "P4",
                "seclusion",
                "2024-04-01T00:30:00+13:00",
                "2024-04-01T01:30:00+13:00",
                "european",
            ),
        ],
    );
    let r = &f.ingest(&[&file]).await[0];
    assert_eq!(r.rows_accepted, 5);
    f
}

#[tokio::test]
async fn events_people_and_hours() {
    let f = hand_made().await;
    let t = f
        .indicator("seclusion_events_by_org_month", &[("org", "TST")])
        .await;
    insta_like(&t, "| TST | 2024-03 | true | 3 | 2 | 7.5 | 0 |");
    insta_like(&t, "| TST | 2024-04 | true | 1 | 1 | 1.0 | 0 |");
    insta_like(&t, "| TST | 2024-05 | false | | | | |");
    let physical = f
        .indicator(
            "seclusion_events_by_org_month",
            &[("org", "TST"), ("practice", "physical_restraint")],
        )
        .await;
    insta_like(&physical, "| TST | 2024-03 | true | 1 | 1 | 0.08 | 0 |");
}

#[tokio::test]
async fn events_per_1000_bed_days() {
    let f = hand_made().await;
    let t = f.indicator("events_per_1000_bed_days", &[]).await;
    insta_like(&t, "| TST | 2024-03 | true | 3 | 1000 | 3.0 |");
    insta_like(&t, "| TST | 2024-04 | true | 1 | 1000 | 1.0 |");
    insta_like(&t, "| TST | 2024-05 | false | | 1000 | |");
}

#[tokio::test]
async fn percent_of_inpatients_secluded_by_ethnic_group() {
    let f = hand_made().await;
    let t = f
        .indicator("pct_inpatients_secluded", &[("org", "TST")])
        .await;
    insta_like(&t, "| TST | 2024-03 | all | true | 2 | 40 | 5.0 |");
    insta_like(&t, "| TST | 2024-03 | maori | true | 1 | 10 | 10.0 |");
    insta_like(
        &t,
        "| TST | 2024-03 | non_maori_non_pacific | true | 1 | 30 | 3.3333333333333335 |",
    );
    insta_like(&t, "| TST | 2024-04 | maori | true | 0 | 10 | 0.0 |");
}

#[tokio::test]
async fn completeness_flags_missing_and_late_months() {
    let f = hand_made().await;
    let t = f.indicator("data_completeness", &[]).await;
    insta_like(
        &t,
        "| TST | 2024-03 | on_time | 2024-04-20 | 2024-04-18 | -2 | 4 | true |",
    );
    insta_like(
        &t,
        "| TST | 2024-04 | late | 2024-05-20 | 2024-05-30 | 10 | 1 | true |",
    );
    insta_like(
        &t,
        "| TST | 2024-05 | missing | 2024-06-20 | | | 0 | true |",
    );
    let only_missing = f
        .indicator("data_completeness", &[("status", "missing")])
        .await;
    assert_eq!(only_missing.matches("| TST ").count(), 1, "{only_missing}");
}

#[tokio::test]
async fn parameters_are_bound_not_spliced() {
    let f = hand_made().await;
    // A value that would change the query if it were pasted into the SQL text matches
    // nothing instead.
    let t = f
        .indicator("events_per_1000_bed_days", &[("org", "TST' OR '1'='1")])
        .await;
    assert!(!t.contains("TST"), "{t}");
}

#[tokio::test]
async fn json_output_is_an_array_of_row_objects_with_explicit_nulls() {
    let f = hand_made().await;
    let out = f.cli_query(&[
        "events_per_1000_bed_days",
        "--format",
        "json",
        "--param",
        "org=TST",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["period"], "2024-03");
    assert_eq!(rows[0]["value"], 3.0);
    assert_eq!(rows[2]["period"], "2024-05");
    assert_eq!(rows[2]["numerator"], serde_json::Value::Null);
    assert_eq!(rows[2]["value"], serde_json::Value::Null);
    assert_eq!(rows[2]["extract_received"], false);
}

#[tokio::test]
async fn list_shows_every_indicator_with_its_parameters() {
    let out = crate::fixture::ako()
        .args(["query", "--list", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = list.iter().map(|i| i["name"].as_str().unwrap()).collect();
    for name in [
        "data_completeness",
        "events_per_1000_bed_days",
        "pct_inpatients_secluded",
        "seclusion_events_by_org_month",
    ] {
        assert!(names.contains(&name), "{names:?}");
    }
    let rate = list
        .iter()
        .find(|i| i["name"] == "events_per_1000_bed_days")
        .unwrap();
    assert_eq!(rate["unit"], "events per 1,000 bed days");
    assert_eq!(rate["params"][0]["name"], "practice");
    assert_eq!(rate["params"][0]["default"], "seclusion");
}
