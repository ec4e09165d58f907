//! Australian equity: Indigenous status is its own code set, with its own populations,
//! indicators and comparison, and is never added to New Zealand's prioritised
//! ethnicity. A hand-made lake with one NZ organisation (TST) and one Queensland one
//! (QTS), every value worked by hand.

use std::collections::BTreeSet;

use ako::catalog::Catalog;
use serde_json::Value;

use crate::fixture::{AU_HEADER, Fixture, close, query_rows, row};

fn au_row(id: &str, person: &str, practice: &str, day: u32, status: &str) -> String {
    format!(
        "QTS,{id},{person},QTS-W1,adult_inpatient,{practice},2024-03-{day:02}T10:00:00+10:00,2024-03-{day:02}T11:00:00+10:00,30-34,false,male,{status},qld_treatment_authority,authorised_doctor,false,15,harm_to_others"
    )
}

/// Which organisations' data the lake holds.
#[derive(Clone, Copy, PartialEq)]
enum Holds {
    Both,
    NzOnly,
    AuOnly,
}

async fn lake(holds: Holds) -> Fixture {
    let f = Fixture::new();
    let nz = holds != Holds::AuOnly;
    let au = holds != Holds::NzOnly;
    let mut activity = String::from(
        "org_code,month,setting,ethnicity,indigenous_status,people,admissions,bed_days\n",
    );
    let mut submissions = String::from("org_code,month,due_date,received_date\n");
    let mut population =
        String::from("org_code,year,age_band,sex,ethnicity,indigenous_status,population\n");
    for month in ["2024-03", "2024-04"] {
        let due = if month == "2024-03" {
            "2024-04-20"
        } else {
            "2024-05-20"
        };
        if nz {
            activity.push_str(&format!(
                "TST,{month},adult_inpatient,maori,,10,8,300\nTST,{month},adult_inpatient,european,,30,20,700\n"
            ));
            submissions.push_str(&format!("TST,{month},{due},2024-04-18\n"));
        }
        if au {
            activity.push_str(&format!(
                "QTS,{month},adult_inpatient,,aboriginal,5,4,150\n\
                 QTS,{month},adult_inpatient,,neither,20,15,800\n\
                 QTS,{month},adult_inpatient,,not_stated,2,2,50\n"
            ));
            submissions.push_str(&format!("QTS,{month},{due},2024-04-18\n"));
        }
    }
    if nz {
        // Māori 1,000; non-Māori 9,000 (as in population_rates).
        population.push_str(
            "TST,2024,30-34,male,maori,,1000\n\
             TST,2024,30-34,male,european,,4000\n\
             TST,2024,40-44,female,european,,5000\n",
        );
    }
    if au {
        // Indigenous 900 + 60 + 40 = 1,000; non-Indigenous 9,000 (ABS-style: no
        // "not stated" in a population estimate).
        population.push_str(
            "QTS,2024,30-34,male,,aboriginal,900\n\
             QTS,2024,30-34,male,,torres_strait_islander,60\n\
             QTS,2024,30-34,male,,both,40\n\
             QTS,2024,30-34,male,,neither,9000\n",
        );
    }
    f.write("in/reference/inpatient_activity.csv", &activity);
    f.write("in/reference/submissions.csv", &submissions);
    f.write("in/reference/population.csv", &population);
    f.ingest_reference().await;
    let mut files = Vec::new();
    if nz {
        files.push(f.canonical(
            "in/TST/TST.csv",
            &[
                row(
                    "E1",
                    "P1",
                    "seclusion",
                    "2024-03-05T10:00:00+13:00",
                    "2024-03-05T11:00:00+13:00",
                    "maori",
                ),
                row(
                    "E2",
                    "P1",
                    "seclusion",
                    "2024-03-09T10:00:00+13:00",
                    "2024-03-09T11:00:00+13:00",
                    "maori",
                ),
                row(
                    "E3",
                    "P2",
                    "seclusion",
                    "2024-03-12T10:00:00+13:00",
                    "2024-03-12T11:00:00+13:00",
                    "european",
                ),
                row(
                    "E4",
                    "P3",
                    "seclusion",
                    "2024-04-02T10:00:00+12:00",
                    "2024-04-02T11:00:00+12:00",
                    "european",
                ),
            ],
        ));
    }
    if au {
        // Q1 Aboriginal (twice) and Q2 both: 2 Indigenous people. Q3 neither, and Q4
        // not stated once then neither: 2 non-Indigenous. Q5 never stated. Q6 was
        // restrained, not secluded.
        let rows = [
            au_row("A1", "Q1", "seclusion", 4, "aboriginal"),
            au_row("A2", "Q1", "seclusion", 8, "aboriginal"),
            au_row("A3", "Q2", "seclusion", 10, "both"),
            au_row("A4", "Q3", "seclusion", 12, "neither"),
            au_row("A5", "Q4", "seclusion", 14, "not_stated"),
            au_row("A6", "Q4", "seclusion", 16, "neither"),
            au_row("A7", "Q5", "seclusion", 18, "not_stated"),
            au_row("A8", "Q6", "physical_restraint", 20, "aboriginal"),
        ];
        files.push(f.write(
            "in/QTS/QTS.csv",
            &format!("{AU_HEADER}\n{}\n", rows.join("\n")),
        ));
    }
    let paths: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();
    for report in f.ingest(&paths).await {
        assert_eq!(report.rows_rejected, 0, "{report:?}");
    }
    f
}

fn by<'a>(rows: &'a [Value], column: &str, value: &str) -> &'a Value {
    rows.iter()
        .find(|r| r[column] == value)
        .unwrap_or_else(|| panic!("{column} = {value}: {rows:?}"))
}

/// The 2.5% quantile of Beta(2, 3): the Clopper–Pearson lower limit for 2 of 4, where
/// 1 − (1 − π)^4 − 4π(1 − π)^3 = 0.025 (solved by bisection to 1e-15).
const PI_LOWER_2_OF_4: f64 = 0.067_585_986_488_542_9;

#[tokio::test]
async fn indigenous_rate_ratio_by_hand_with_its_exact_interval() {
    let f = lake(Holds::Both).await;
    let r = query_rows(&f, "indigenous_rate_ratio", &["org=QTS"]);
    assert_eq!(r.len(), 1, "{r:?}");
    let row = &r[0];
    assert_eq!(
        (row["org_code"].as_str(), row["period"].as_str()),
        (Some("QTS"), Some("2023/24"))
    );
    // 2 Indigenous people of 1,000 against 2 non-Indigenous of 9,000; Q5, never
    // stated, is in neither group.
    let counts = [
        "numerator",
        "denominator",
        "comparison_numerator",
        "comparison_denominator",
    ]
    .map(|c| row[c].as_f64());
    assert_eq!(counts, [Some(2.0), Some(1000.0), Some(2.0), Some(9000.0)]);
    // (2/1000) / (2/9000) = 9.
    close(&row["value"], 9.0);
    // Exact conditional: the Indigenous share of the 4 people, 2/4, has Clopper–Pearson
    // limits π_L and 1 − π_L (symmetric at 2 of 4); the ratio is π/(1 − π) × 9000/1000.
    let pi = PI_LOWER_2_OF_4;
    close(&row["lower_95"], pi / (1.0 - pi) * 9.0);
    close(&row["upper_95"], (1.0 - pi) / pi * 9.0);
    close(&row["lower_95"], 0.652_364_582_237_600_6);
    close(&row["upper_95"], 124.163_699_571_443_97);
    // Wald on the log scale: se = √(1/2 + 1/2) = 1.
    let z = 1.959_963_984_540_054_f64;
    close(&row["wald_lower_95"], 9.0 * (-z).exp());
    close(&row["wald_upper_95"], 9.0 * z.exp());
}

#[tokio::test]
async fn indigenous_rates_per_100000_count_not_stated_and_keep_it_in_all() {
    let f = lake(Holds::Both).await;
    let r = query_rows(&f, "indigenous_people_secluded_per_100000", &["org=QTS"]);
    let groups: BTreeSet<&str> = r
        .iter()
        .filter_map(|x| x["indigenous_status"].as_str())
        .collect();
    assert_eq!(
        groups,
        BTreeSet::from(["all", "indigenous", "non_indigenous", "not_stated"])
    );
    let cases = [
        ("indigenous", 2.0, 1000.0),
        ("non_indigenous", 2.0, 9000.0),
        ("all", 5.0, 10000.0),
    ];
    for (group, people, population) in cases {
        let row = by(&r, "indigenous_status", group);
        assert_eq!(
            (row["numerator"].as_f64(), row["denominator"].as_f64()),
            (Some(people), Some(population)),
            "{group}"
        );
        close(&row["value"], people / population * 100_000.0);
    }
    // Exact Poisson limits for 2 people (PHE's values) over 1,000.
    let indigenous = by(&r, "indigenous_status", "indigenous");
    close(
        &indigenous["lower_95"],
        0.242_209_278_543_965 / 1000.0 * 100_000.0,
    );
    close(
        &indigenous["upper_95"],
        7.224_687_667_723_96 / 1000.0 * 100_000.0,
    );
    // Q5 is counted, not dropped: a row of its own (no population, so no rate) and in all.
    let not_stated = by(&r, "indigenous_status", "not_stated");
    assert_eq!(not_stated["numerator"].as_f64(), Some(1.0));
    assert_eq!(not_stated["denominator"], Value::Null);
    assert_eq!(not_stated["value"], Value::Null);
}

#[tokio::test]
async fn not_stated_is_a_data_quality_percentage_with_wilson_limits() {
    let f = lake(Holds::Both).await;
    let r = query_rows(&f, "indigenous_status_not_stated", &["org=QTS"]);
    assert_eq!(r.len(), 1, "{r:?}");
    let row = &r[0];
    // Q5 of the 5 people secluded: 20%.
    assert_eq!(
        (row["numerator"].as_f64(), row["denominator"].as_f64()),
        (Some(1.0), Some(5.0))
    );
    close(&row["value"], 20.0);
    let (z, n, p) = (1.959_963_984_540_054_f64, 5.0, 0.2);
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / (1.0 + z * z / n);
    close(&row["lower_95"], (centre - half) * 100.0);
    close(&row["upper_95"], (centre + half) * 100.0);
    // New Zealand reports ethnicity: no row for TST.
    assert!(
        query_rows(&f, "indigenous_status_not_stated", &[])
            .iter()
            .all(|r| r["org_code"] != "TST")
    );
}

/// Every indicator with a `level`, at national level, on `f`.
fn national(f: &Fixture, catalog: &Catalog) -> Vec<(String, Vec<Value>)> {
    catalog
        .indicators()
        .filter(|i| {
            i.params
                .iter()
                .any(|p| p.name == "level" && p.allowed.iter().any(|v| v == "national"))
        })
        .map(|i| (i.name.clone(), query_rows(f, &i.name, &["level=national"])))
        .collect()
}

fn jurisdiction_rows<'a>(rows: &'a [Value], j: &str) -> Vec<&'a Value> {
    rows.iter().filter(|r| r["jurisdiction"] == j).collect()
}

#[tokio::test]
async fn no_indicator_adds_nz_ethnicity_to_australian_indigenous_status() {
    let catalog = Catalog::load(&ako::catalog::default_dir()).unwrap();
    let both = national(&lake(Holds::Both).await, &catalog);
    let nz = national(&lake(Holds::NzOnly).await, &catalog);
    let au = national(&lake(Holds::AuOnly).await, &catalog);
    assert!(
        both.len() >= 10,
        "indicators with a national level: {}",
        both.len()
    );
    for (((name, rows), (_, nz_rows)), (_, au_rows)) in both.iter().zip(&nz).zip(&au) {
        // Every national row is one jurisdiction's: nothing pools across the two.
        for r in rows {
            assert!(
                r["jurisdiction"].is_string(),
                "{name}: a row of no jurisdiction {r}"
            );
        }
        // Adding Queensland changes no New Zealand figure, and the reverse: no count,
        // denominator or ratio of one code set takes in the other's people.
        assert_eq!(
            jurisdiction_rows(rows, "NZ"),
            nz_rows.iter().collect::<Vec<_>>(),
            "{name}: NZ"
        );
        assert_eq!(
            jurisdiction_rows(rows, "QLD"),
            au_rows.iter().collect::<Vec<_>>(),
            "{name}: QLD"
        );
        for r in jurisdiction_rows(rows, "QLD") {
            let e = &r["ethnicity"];
            assert!(
                e.is_null() || e == "all",
                "{name}: QLD row by ethnicity {r}"
            );
        }
        for r in jurisdiction_rows(rows, "NZ") {
            let s = &r["indigenous_status"];
            assert!(
                s.is_null() || s == "all",
                "{name}: NZ row by Indigenous status {r}"
            );
        }
        // Each equity comparison is its own jurisdiction's alone.
        if name.starts_with("maori_") {
            assert!(
                jurisdiction_rows(rows, "QLD").is_empty(),
                "{name} has Queensland rows"
            );
            assert!(
                !jurisdiction_rows(rows, "NZ").is_empty(),
                "{name} has no NZ rows"
            );
        }
        if name.starts_with("indigenous_") {
            assert!(
                jurisdiction_rows(rows, "NZ").is_empty(),
                "{name} has NZ rows"
            );
            assert!(
                !jurisdiction_rows(rows, "QLD").is_empty(),
                "{name} has no Queensland rows"
            );
        }
    }
    // The Māori : non-Māori ratio is TST's alone: (1/1000) / (2/9000), as without QTS.
    let ratio = &both
        .iter()
        .find(|(n, _)| n == "maori_rate_ratio")
        .unwrap()
        .1;
    assert_eq!(ratio.len(), 1, "{ratio:?}");
    assert_eq!(ratio[0]["comparison_numerator"].as_f64(), Some(2.0));
    close(&ratio[0]["value"], 4.5);
}

#[tokio::test]
async fn an_australian_row_in_the_nz_code_set_is_refused_naming_the_column() {
    let f = lake(Holds::AuOnly).await;
    // A QLD extract written with New Zealand's ethnicity column: each row is refused,
    // naming the column and what the jurisdiction reports instead.
    let text = format!(
        "{}\n{}\n",
        crate::fixture::CANONICAL_HEADER,
        "QTS,X1,Q9,QTS-W1,adult_inpatient,seclusion,2024-03-22T10:00:00+10:00,2024-03-22T11:00:00+10:00,30-34,false,male,maori,qld_treatment_authority,authorised_doctor,false,15,harm_to_others"
    );
    let path = f.write("in/QTS/QTS-wrong.csv", &text);
    let report = &f.ingest(&[&path]).await[0];
    assert_eq!(
        (report.rows_accepted, report.rows_rejected),
        (0, 1),
        "{report:?}"
    );
    let rejected = crate::fixture::sql_at(
        &f.lake_dir(),
        "SELECT line, \"column\", value, reason, message FROM rejections",
        None,
    )
    .await;
    let cells = crate::fixture::cells(&rejected);
    assert_eq!(cells.len(), 1, "{cells:?}");
    assert_eq!(cells[0][..4], ["2", "ethnicity", "maori", "wrong_code_set"]);
    assert!(
        cells[0][4].contains("QLD organisations report Indigenous status (Australia)"),
        "{}",
        cells[0][4]
    );
}

#[tokio::test]
async fn a_reference_row_in_the_other_code_set_refuses_the_file() {
    let f = Fixture::new();
    f.write(
        "in/reference/population.csv",
        "org_code,year,age_band,sex,ethnicity,indigenous_status,population\n\
         TST,2024,30-34,male,maori,,1000\n\
         QTS,2024,30-34,male,maori,,900\n",
    );
    let reports = f.ingest_reference().await;
    let population = reports
        .iter()
        .find(|r| r.file.ends_with("population.csv"))
        .expect("population read");
    let error = population.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("line 3") && error.contains("ethnicity"),
        "names the row and column: {error}"
    );
    assert!(
        error.contains("QLD organisations report Indigenous status (Australia)"),
        "{error}"
    );
}

/// A server on the bundled sample whose one token is a leader of Brisbane North.
fn queensland_leader() -> (crate::server::Server, &'static str) {
    let token = "ako_test_qld_leader";
    let text = format!(
        "[privacy]\npseudonym_key = \"test key\"\n\n\
         [[tokens]]\nrole = \"leader\"\norg = \"QLD-MN\"\nhash = \"{}\"\n",
        ako::privacy::tokens::hash(token)
    );
    let config = ako::config::Config::parse(std::path::Path::new("test.toml"), &text).unwrap();
    (crate::server::start(config), token)
}

#[test]
fn a_queensland_leader_sees_their_own_indigenous_comparison() {
    use crate::server::get;
    let (s, token) = queensland_leader();
    let panel = |id: &str, query: &str| {
        let got = get(
            &s.url(&format!("/api/dashboards/equity/panels/{id}{query}")),
            Some(token),
        );
        assert_eq!(got.status, 200, "{id}: {}", got.text());
        got.json()
    };
    // Their own service's Indigenous : non-Indigenous ratio, by financial year, named as
    // the comparison it makes; asking for another service changes nothing.
    for query in ["", "?org=QLD-GC"] {
        let ratio = panel("indigenous-ratio-org", query);
        assert!(
            ratio["title"]
                .as_str()
                .unwrap()
                .contains("Indigenous : non-Indigenous"),
            "{}",
            ratio["title"]
        );
        let rows = ratio["rows"].as_array().unwrap();
        let periods: Vec<&str> = rows.iter().map(|r| r["period"].as_str().unwrap()).collect();
        assert_eq!(
            periods,
            ["2021/22", "2022/23", "2023/24", "2024/25"],
            "{query}"
        );
        assert!(
            rows.iter()
                .all(|r| r["org_code"] == "QLD-MN" && r["jurisdiction"] == "QLD")
        );
        // The sample's 2021/22: 43 Indigenous people secluded of 26,514 against 221 of
        // 1,033,990 non-Indigenous.
        let first = &rows[0];
        let counts = [
            "numerator",
            "denominator",
            "comparison_numerator",
            "comparison_denominator",
        ]
        .map(|c| first[c].as_f64());
        assert_eq!(
            counts,
            [Some(43.0), Some(26514.0), Some(221.0), Some(1_033_990.0)]
        );
        close(&first["value"], (43.0 / 26514.0) / (221.0 / 1_033_990.0));
        assert!(first["lower_95"].as_f64().unwrap() > 1.0, "{first}");
    }
    // Rates by Indigenous status, with "not stated" counted in its own row.
    let rates = panel("indigenous-rates-org", "");
    let groups: BTreeSet<&str> = rates["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["indigenous_status"].as_str())
        .collect();
    assert_eq!(
        groups,
        BTreeSet::from(["all", "indigenous", "non_indigenous", "not_stated"])
    );
    let description = rates["description"].as_str().unwrap();
    assert!(
        description.contains("Indigenous 1") && description.contains("Non-Indigenous 2"),
        "{description}"
    );
    // New Zealand's panels stay New Zealand's: Māori : non-Māori, national, NZ only.
    let nz = panel("maori-ratio", "");
    assert!(
        nz["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["jurisdiction"] == "NZ")
    );
    // The page a person sees: both comparisons, each named, their own service named and
    // no other Australian service's name.
    let html = get(&s.url("/dashboards/equity"), Some(token)).text();
    for words in [
        "Indigenous : non-Indigenous rate ratio of people secluded: one Australian service",
        "Māori : non-Māori rate ratio of people secluded, New Zealand",
        "QLD-MN — Brisbane North AMHS (synthetic)",
        "Non-Indigenous",
    ] {
        assert!(html.contains(words), "the page says {words}");
    }
    for other in ["Gold Coast", "Townsville", "Harbour Disability", "Riverina"] {
        assert!(!html.contains(other), "the page names {other}");
    }
}

#[test]
fn query_list_finds_the_indigenous_indicators_by_name_and_title() {
    let out = crate::fixture::ako()
        .args(["query", "--list", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let titles: Vec<(&str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["name"].as_str().unwrap(), i["title"].as_str().unwrap()))
        .filter(|(n, _)| n.contains("indigenous"))
        .collect();
    assert_eq!(
        titles.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        [
            "indigenous_people_secluded_per_100000",
            "indigenous_rate_ratio",
            "indigenous_status_not_stated"
        ]
    );
    assert!(
        titles
            .iter()
            .all(|(_, t)| t.contains("Indigenous") && t.contains("Australia"))
    );
}

#[tokio::test]
async fn a_header_with_neither_population_group_column_is_refused_naming_both() {
    let f = Fixture::new();
    f.ingest_reference().await;
    let header = crate::fixture::CANONICAL_HEADER.replace(",ethnicity,", ",");
    let path = f.write(
        "in/TST/TST_2024-03.csv",
        &format!(
            "{header}\nTST,E1,P1,TST-W1,adult_inpatient,seclusion,2024-03-05T10:00:00+13:00,2024-03-05T11:00:00+13:00,30-34,false,male,mha_s30,authorised_doctor,false,15,harm_to_others\n"
        ),
    );
    let options = ako::ingest::IngestOptions {
        profile: Some("canonical".into()),
        ..Default::default()
    };
    let report = &f.ingest_with(&[&path], options).await[0];
    assert_eq!(report.status, ako::ingest::Status::Refused, "{report:?}");
    let error = report.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("neither an ethnicity column nor an Indigenous status column")
            && error.contains("`ethnicity` or `indigenous_status`"),
        "{error}"
    );
}
