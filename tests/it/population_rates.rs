//! Rates per population: crude with Poisson limits, age-standardised with Dobson and
//! gamma limits, and the Māori : non-Māori rate ratio with exact and Wald limits, on a
//! hand-made lake where every value can be worked by hand.

use serde_json::Value;

use crate::fixture::{Fixture, close, query_rows, row};

async fn lake() -> Fixture {
    let f = Fixture::new();
    // Both months of FY 2023/24 that have activity arrived.
    f.write(
        "in/reference/submissions.csv",
        "org_code,month,due_date,received_date\nTST,2024-03,2024-04-20,2024-04-18\nTST,2024-04,2024-05-20,2024-05-19\n",
    );
    // 2024 (FY 2023/24) population: Māori 1,000 aged 30–34; non-Māori 4,000 aged 30–34
    // and 5,000 aged 40–44.
    f.write(
        "in/reference/population.csv",
        "org_code,year,age_band,sex,ethnicity,population\n\
         TST,2024,30-34,male,maori,1000\n\
         TST,2024,30-34,male,european,4000\n\
         TST,2024,40-44,female,european,5000\n",
    );
    f.write(
        "in/reference/standard_population.csv",
        "standard,age_band,weight\ntest,30-34,1\ntest,40-44,1\n",
    );
    f.ingest_reference().await;
    // People secluded (all aged 30–34): P1 Māori (twice), P2 and P3 European; P4's
    // physical restraint is not seclusion.
    let file = f.canonical(
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
            row(
                "E5",
                "P4",
                "physical_restraint",
                "2024-04-03T10:00:00+12:00",
                "2024-04-03T10:10:00+12:00",
                "european",
            ),
        ],
    );
    assert_eq!(f.ingest(&[&file]).await[0].rows_accepted, 5);
    f
}

fn by<'a>(rows: &'a [Value], ethnicity: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["ethnicity"] == ethnicity)
        .unwrap_or_else(|| panic!("{ethnicity}: {rows:?}"))
}

#[tokio::test]
async fn crude_rates_per_100000_with_exact_limits() {
    let f = lake().await;
    let r = query_rows(&f, "people_secluded_per_100000", &[]);
    assert_eq!(r.len(), 3, "{r:?}");
    // Exact Poisson limits for 1, 2 and 3 people (PHE's values), per population × 100,000.
    let cases = [
        ("maori", 1.0, 1000.0, 0.0253178079842899, 5.5716433909389),
        (
            "non_maori",
            2.0,
            9000.0,
            0.242209278543965,
            7.22468766772396,
        ),
        ("all", 3.0, 10000.0, 0.618672122895602, 8.76727306974232),
    ];
    for (ethnicity, people, population, lo, hi) in cases {
        let row = by(&r, ethnicity);
        assert_eq!(row["period"], "2023/24");
        assert_eq!(
            (row["numerator"].as_f64(), row["denominator"].as_f64()),
            (Some(people), Some(population))
        );
        close(&row["value"], people / population * 100_000.0);
        close(&row["lower_95"], lo / population * 100_000.0);
        close(&row["upper_95"], hi / population * 100_000.0);
    }
}

#[tokio::test]
async fn age_standardised_rates_per_100000() {
    let f = lake().await;
    let r = query_rows(&f, "people_secluded_dsr", &["standard=test"]);
    // All: (3/5000 + 0/5000) / 2 × 100,000 = 30 per 100,000.
    let all = by(&r, "all");
    close(&all["value"], 30.0);
    assert_eq!(
        (all["numerator"].as_f64(), all["denominator"].as_f64()),
        (Some(3.0), Some(10000.0))
    );
    // Fewer than 10 people: no Dobson limits, but gamma limits that bracket the rate.
    assert_eq!(all["lower_95"], Value::Null);
    assert_eq!(all["upper_95"], Value::Null);
    assert!(
        all["gamma_lower_95"].as_f64().unwrap() < 30.0
            && 30.0 < all["gamma_upper_95"].as_f64().unwrap()
    );
    // Non-Māori: (2/4000 + 0/5000) / 2 × 100,000 = 25.
    close(&by(&r, "non_maori")["value"], 25.0);
    // Māori live only in the 30–34 band here: 1/1000 × 100,000.
    close(&by(&r, "maori")["value"], 100.0);
}

#[tokio::test]
async fn maori_to_non_maori_rate_ratio() {
    let f = lake().await;
    let r = query_rows(&f, "maori_rate_ratio", &[]);
    assert_eq!(r.len(), 1);
    let row = &r[0];
    // (1/1000) / (2/9000) = 4.5.
    close(&row["value"], 4.5);
    let z = 1.959963984540054f64;
    let se = (1.0f64 + 0.5).sqrt();
    close(&row["wald_lower_95"], (4.5f64.ln() - z * se).exp());
    close(&row["wald_upper_95"], (4.5f64.ln() + z * se).exp());
    // Exact lower limit: π_L is the 2.5% quantile of Beta(1, 3), 1 − 0.975^(1/3); the
    // ratio is π/(1 − π) × 9000/1000.
    let pi = 1.0 - 0.975f64.powf(1.0 / 3.0);
    close(&row["lower_95"], pi / (1.0 - pi) * 9.0);
    assert!(row["upper_95"].as_f64().unwrap() > 4.5);
}
