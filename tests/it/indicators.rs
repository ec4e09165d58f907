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

use crate::fixture::{Fixture, close, query_rows, row};
use crate::formats::assert_table;

async fn hand_made() -> Fixture {
    let f = Fixture::new();
    f.ingest_reference().await;
    let file = f.canonical(
        "in/TST/TST.csv",
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
    assert_table(
        &t,
        &[
            "| org_code | period | extract_received | events | people | hours | ongoing | months_covered | covered_from | covered_to | partial |",
            "| TST | 2024-03 | true | 3 | 2 | 7.5 | 0 | 1 | 2024-03 | 2024-03 | false |",
            "| TST | 2024-04 | true | 1 | 1 | 1.0 | 0 | 1 | 2024-04 | 2024-04 | false |",
            "| TST | 2024-05 | false | | | | | 1 | 2024-05 | 2024-05 | false |",
        ],
    );
    let physical = f
        .indicator(
            "seclusion_events_by_org_month",
            &[("org", "TST"), ("practice", "physical_restraint")],
        )
        .await;
    assert_table(
        &physical,
        &[
            "| org_code | period | extract_received | events | people | hours | ongoing | months_covered | covered_from | covered_to | partial |",
            "| TST | 2024-03 | true | 1 | 1 | 0.08 | 0 | 1 | 2024-03 | 2024-03 | false |",
            "| TST | 2024-04 | true | 0 | 0 | 0.0 | 0 | 1 | 2024-04 | 2024-04 | false |",
            "| TST | 2024-05 | false | | | | | 1 | 2024-05 | 2024-05 | false |",
        ],
    );
}

#[tokio::test]
async fn events_per_1000_bed_days_with_poisson_limits() {
    let f = hand_made().await;
    let r = query_rows(&f, "events_per_1000_bed_days", &[]);
    assert_eq!(r.len(), 3);
    // March: 3 seclusions in 1,000 bed days. Below 10 events the limits are exact
    // (Garwood): χ²(0.025, 6)/2 = 0.6187 and χ²(0.975, 8)/2 = 8.7673 events, per 1,000
    // bed days × 1,000 (PHE's reference values for x = 3).
    assert_eq!(
        (r[0]["org_code"].as_str(), r[0]["period"].as_str()),
        (Some("TST"), Some("2024-03"))
    );
    assert_eq!(r[0]["jurisdiction"], "NZ");
    assert_eq!(r[0]["peer_group"], "small");
    assert_eq!(r[0]["practice"], "seclusion");
    assert_eq!(
        (r[0]["numerator"].as_f64(), r[0]["denominator"].as_f64()),
        (Some(3.0), Some(1000.0))
    );
    close(&r[0]["value"], 3.0);
    close(&r[0]["lower_95"], 0.618672122895602);
    close(&r[0]["upper_95"], 8.76727306974232);
    // April: 1 event: 0.0253 to 5.5716.
    close(&r[1]["value"], 1.0);
    close(&r[1]["lower_95"], 0.0253178079842899);
    close(&r[1]["upper_95"], 5.5716433909389);
    // May's extract never arrived: no count, no rate, no interval.
    assert_eq!(r[2]["period"], "2024-05");
    assert_eq!(r[2]["extract_received"], false);
    for column in ["numerator", "value", "lower_95", "upper_95"] {
        assert_eq!(r[2][column], serde_json::Value::Null, "{column}");
    }
    assert_eq!(r[2]["denominator"], 1000);
}

#[tokio::test]
async fn events_per_1000_bed_days_by_quarter_peer_group_and_nation() {
    let f = hand_made().await;
    // Q2 holds April (received) and May (never arrived): the organisation's quarter has no
    // count, while the peer group and the nation pool the month that arrived.
    let org = query_rows(&f, "events_per_1000_bed_days", &["grain=quarter"]);
    assert_eq!(org.len(), 2);
    assert_eq!(
        (org[0]["period"].as_str(), org[0]["numerator"].as_f64()),
        (Some("2024-Q1"), Some(3.0))
    );
    assert_eq!(org[1]["period"], "2024-Q2");
    assert_eq!(org[1]["numerator"], serde_json::Value::Null);
    assert_eq!(org[1]["denominator"], 2000);
    for level in ["level=peer_group", "level=national"] {
        let r = query_rows(&f, "events_per_1000_bed_days", &["grain=quarter", level]);
        assert_eq!(r.len(), 2, "{level}");
        assert_eq!(r[0]["org_code"], serde_json::Value::Null);
        assert_eq!(
            (r[1]["numerator"].as_f64(), r[1]["denominator"].as_f64()),
            (Some(1.0), Some(1000.0)),
            "{level}"
        );
        close(&r[1]["upper_95"], 5.5716433909389);
        assert_eq!(
            r[1]["extract_received"], false,
            "{level}: not every month arrived"
        );
    }
    let national = query_rows(
        &f,
        "events_per_1000_bed_days",
        &["level=national", "grain=year"],
    );
    assert_eq!(national.len(), 1);
    assert_eq!(national[0]["jurisdiction"], "NZ");
    assert_eq!(national[0]["peer_group"], serde_json::Value::Null);
    assert_eq!(
        (
            national[0]["numerator"].as_f64(),
            national[0]["denominator"].as_f64()
        ),
        (Some(4.0), Some(2000.0))
    );
    // Every practice in its own rows: the physical restraint of March.
    let all = query_rows(
        &f,
        "events_per_1000_bed_days",
        &["practice=all", "grain=year"],
    );
    assert_eq!(all.len(), 5);
    let physical = all
        .iter()
        .find(|r| r["practice"] == "physical_restraint")
        .unwrap();
    assert_eq!(
        physical["numerator"],
        serde_json::Value::Null,
        "a year with a missing month"
    );
    // A value outside the declared set is refused.
    let out = f.cli_query(&["events_per_1000_bed_days", "--param", "grain=weekly"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not one of month, quarter, year"));
}

#[tokio::test]
async fn percent_of_inpatients_secluded_by_ethnic_group() {
    let f = hand_made().await;
    let r = query_rows(&f, "pct_inpatients_secluded", &["org=TST"]);
    let find = |period: &str, ethnicity: &str| {
        r.iter()
            .find(|row| row["period"] == period && row["ethnicity"] == ethnicity)
            .unwrap_or_else(|| panic!("{period} {ethnicity}: {r:?}"))
            .clone()
    };
    // March: 2 of 40 inpatients secluded, 5%. Wilson 95% limits worked by hand:
    // (2x + z² ∓ z√(z² + 4x(1 − p))) / 2(n + z²) with x = 2, n = 40, z = 1.959964.
    let all = find("2024-03", "all");
    assert_eq!(
        (all["numerator"].as_f64(), all["denominator"].as_f64()),
        (Some(2.0), Some(40.0))
    );
    close(&all["value"], 5.0);
    close(&all["lower_95"], 1.3820667386148353);
    close(&all["upper_95"], 16.50387736914096);
    let maori = find("2024-03", "maori");
    close(&maori["value"], 10.0);
    close(&maori["lower_95"], 1.7876213095072906);
    close(&maori["upper_95"], 40.41500267952385);
    let others = find("2024-03", "non_maori_non_pacific");
    close(&others["value"], 100.0 / 30.0);
    close(&others["lower_95"], 0.5908590381612445);
    // April: no Māori inpatient secluded: 0%, upper limit 27.75%.
    let april = find("2024-04", "maori");
    close(&april["value"], 0.0);
    assert_eq!(april["lower_95"], 0.0);
    close(&april["upper_95"], 27.75327998628892);
    // May's extract never arrived.
    assert_eq!(find("2024-05", "all")["value"], serde_json::Value::Null);
    // The jurisdiction pools March and April for NZ: 3 people of 80 inpatient-months.
    let nz = query_rows(&f, "pct_inpatients_secluded", &["level=national"]);
    let march = nz
        .iter()
        .find(|row| row["period"] == "2024-03" && row["ethnicity"] == "all")
        .unwrap();
    assert_eq!(march["jurisdiction"], "NZ");
    assert_eq!(march["org_code"], serde_json::Value::Null);
    close(&march["value"], 5.0);
}

#[tokio::test]
async fn completeness_flags_missing_and_late_months() {
    let f = hand_made().await;
    let t = f.indicator("data_completeness", &[]).await;
    assert_table(
        &t,
        &[
            "| org_code | period | status | due_date | received_date | days_late | episodes | activity_supplied | rows_read | rows_rejected | pct_rejected | months_covered | covered_from | covered_to | partial |",
            "| TST | 2024-03 | on_time | 2024-04-20 | 2024-04-18 | -2 | 4 | true | 5 | 0 | 0.0 | 1 | 2024-03 | 2024-03 | false |",
            "| TST | 2024-04 | late | 2024-05-20 | 2024-05-30 | 10 | 1 | true | 5 | 0 | 0.0 | 1 | 2024-04 | 2024-04 | false |",
            "| TST | 2024-05 | missing | 2024-06-20 | | | 0 | true | 0 | 0 | | 1 | 2024-05 | 2024-05 | false |",
        ],
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
    assert_eq!(rate["kind"], "indicator");
    assert_eq!(rate["params"][0]["name"], "practice");
    assert_eq!(rate["params"][0]["default"], "seclusion");
}

#[tokio::test]
async fn how_long_seclusions_last_and_who_is_secluded_again() {
    let f = hand_made().await;
    // March's seclusions last 2.5 h and 4 h (P1) and 1 h (P2); April's, 1 h (P4).
    let over3 = query_rows(&f, "seclusion_over_hours", &[]);
    assert_eq!(
        (
            over3[0]["period"].as_str(),
            over3[0]["numerator"].as_f64(),
            over3[0]["denominator"].as_f64()
        ),
        (Some("2024-03"), Some(1.0), Some(3.0))
    );
    close(&over3[0]["value"], 100.0 / 3.0);
    close(&over3[0]["lower_95"], 6.149194472039624);
    close(&over3[0]["upper_95"], 79.23403991979524);
    let year = query_rows(&f, "seclusion_over_hours", &["grain=year"]);
    assert_eq!(
        (
            year[0]["numerator"].as_f64(),
            year[0]["denominator"].as_f64()
        ),
        (Some(1.0), Some(4.0))
    );
    close(&year[0]["upper_95"], 69.93581574175981);
    let over24 = query_rows(&f, "seclusion_over_hours", &["hours=24"]);
    assert_eq!(over24[0]["numerator"], 0);
    close(&over24[0]["upper_95"], 56.14970317550455);

    let duration = query_rows(&f, "seclusion_duration", &[]);
    let march = &duration[0];
    assert_eq!(
        (march["episodes"].as_i64(), march["ended"].as_i64()),
        (Some(3), Some(3))
    );
    close(&march["hours"], 7.5);
    close(&march["median_hours"], 2.5);
    let p90 = march["p90_hours"].as_f64().unwrap();
    assert!((2.5..=4.0).contains(&p90), "{p90}");

    // P1 secluded twice and P2 once in March: 1 of 2 people, 3 episodes for 2 people.
    let again = query_rows(&f, "people_secluded_more_than_once", &[]);
    close(&again[0]["value"], 50.0);
    close(&again[0]["lower_95"], 9.453120573423071);
    close(&again[0]["upper_95"], 90.54687942657694);
    let per_person = query_rows(&f, "episodes_per_person", &[]);
    close(&per_person[0]["value"], 1.5);
    assert_eq!(
        per_person[0]["lower_95"],
        serde_json::Value::Null,
        "a mean has no interval here"
    );
}

#[tokio::test]
async fn completeness_shows_the_share_of_rows_rejected() {
    let f = hand_made().await;
    // A corrected April extract: one good row and one with an unreadable start time.
    let bad = row(
        "E9",
        "P9",
        "seclusion",
        "not a time",
        "2024-04-09T11:00:00+12:00",
        "maori",
    );
    let file = f.canonical(
        "in/TST/TST_2024-04.csv",
        &[
            row(
                "E5",
                "P4",
                "seclusion",
                "2024-04-01T00:30:00+13:00",
                "2024-04-01T01:30:00+13:00",
                "european",
            ),
            bad,
        ],
    );
    let r = &f.ingest(&[&file]).await[0];
    assert_eq!((r.rows_read, r.rows_rejected), (2, 1));
    let t = f.indicator("data_completeness", &[]).await;
    // April is covered by both extracts: 5 + 2 rows read, 1 rejected: 14.29%.
    assert_table(
        &t,
        &[
            "| org_code | period | status | due_date | received_date | days_late | episodes | activity_supplied | rows_read | rows_rejected | pct_rejected | months_covered | covered_from | covered_to | partial |",
            "| TST | 2024-03 | on_time | 2024-04-20 | 2024-04-18 | -2 | 4 | true | 5 | 0 | 0.0 | 1 | 2024-03 | 2024-03 | false |",
            "| TST | 2024-04 | late | 2024-05-20 | 2024-05-30 | 10 | 1 | true | 7 | 1 | 14.29 | 1 | 2024-04 | 2024-04 | false |",
            "| TST | 2024-05 | missing | 2024-06-20 | | | 0 | true | 0 | 0 | | 1 | 2024-05 | 2024-05 | false |",
        ],
    );
}

#[tokio::test]
async fn explain_shows_where_an_indicator_spends_its_time() {
    let f = hand_made().await;
    let out = f.cli_query(&["events_per_1000_bed_days", "--explain"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan = String::from_utf8(out.stdout).unwrap();
    // The physical plan with each operator's measured rows and time.
    assert!(plan.contains("AggregateExec"), "{plan}");
    assert!(plan.contains("DataSourceExec"), "{plan}");
    assert!(plan.contains("output_rows="), "{plan}");
    assert!(plan.contains("elapsed_compute="), "{plan}");
    let bad = f.cli_query(&[
        "events_per_1000_bed_days",
        "--explain",
        "--param",
        "grain=week",
    ]);
    assert_eq!(bad.status.code(), Some(2));
}

/// DataFusion computes a CTE once for every place it is named, so an indicator that
/// names an episode-level CTE twice reads and aggregates the episodes twice (it was
/// half the time of five indicators on a 10 M-episode lake). Each indicator's plan reads
/// the episodes once, but for those listed with why.
#[tokio::test]
async fn each_indicator_reads_the_episodes_once() {
    let f = hand_made().await;
    // Seclusions of every month for the rate, and the last months' durations for the
    // median: two groupings no one aggregate gives.
    let twice = ["peer_profile"];
    let list = f.cli_query(&["--list", "--format", "json"]);
    assert!(list.status.success());
    let listed: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let names: Vec<String> = listed
        .as_array()
        .expect("a list")
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.len() >= 19, "{names:?}");
    let mut reads = Vec::new();
    for name in &names {
        let out = f.cli_query(&[name, "--explain"]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let plan = String::from_utf8(out.stdout).unwrap();
        let scans = plan
            .lines()
            .filter(|l| l.contains("DataSourceExec") && l.contains("/episodes/"))
            .count();
        let allowed = if twice.contains(&name.as_str()) { 2 } else { 1 };
        if scans > allowed {
            reads.push(format!("{name}: {scans}"));
        }
    }
    assert!(reads.is_empty(), "episodes read more than once: {reads:?}");
}
