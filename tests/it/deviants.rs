//! Positive deviants: a funnel outlier on the good side and a sustained improvement on
//! an organisation's own chart are found, with their evidence; ordinary variation and an
//! improvement that has not lasted are not.

use ako::deviants::{DeviantOptions, Evidence, Month, funnel_deviants, spc_deviants};

fn month(org: &str, jurisdiction: &str, period: String, events: f64, bed_days: f64) -> Month {
    Month {
        org_code: org.into(),
        jurisdiction: jurisdiction.into(),
        period,
        numerator: events,
        denominator: bed_days,
    }
}

fn period(i: usize) -> String {
    format!("{}-{:02}", 2023 + i / 12, i % 12 + 1)
}

#[test]
fn a_rate_below_the_funnel_is_a_positive_deviant() {
    // Six organisations, 12 months of 1,000 bed days each: five near 10 events a month,
    // one with 2. Pooled rate (5 × 120 + 24) / 72,000 × 1,000 = 8.667 per 1,000.
    let mut months = Vec::new();
    for i in 0..12 {
        for (org, events) in [
            ("A", 10.0),
            ("B", 9.0),
            ("C", 11.0),
            ("D", 10.0),
            ("E", 10.0),
            ("LOW", 2.0),
        ] {
            months.push(month(org, "NZ", period(i), events, 1000.0));
        }
    }
    // Another jurisdiction with two organisations is too small a funnel to judge.
    for i in 0..12 {
        months.push(month("Q1", "QLD", period(i), 1.0, 1000.0));
        months.push(month("Q2", "QLD", period(i), 30.0, 1000.0));
    }
    let found = funnel_deviants(&months, &DeviantOptions::default());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].org_code, "LOW");
    assert_eq!(found[0].indicator, "events_per_1000_bed_days");
    let Evidence::Funnel {
        rate,
        target,
        lower_99_8,
        from,
        to,
        events,
        bed_days,
        ..
    } = &found[0].evidence
    else {
        panic!("funnel evidence");
    };
    assert_eq!((*events, *bed_days), (24.0, 12_000.0));
    assert!((rate - 2.0).abs() < 1e-12);
    assert!((target - 624.0 / 72_000.0 * 1000.0).abs() < 1e-9);
    assert!(rate < lower_99_8 && *lower_99_8 < *target);
    assert_eq!((from.as_str(), to.as_str()), ("2023-01", "2023-12"));
}

#[test]
fn a_sustained_improvement_with_its_change_idea() {
    let mut months = Vec::new();
    // IMP: 14 months near 10 per 1,000, then 10 months near 5 after a change in month 15.
    // FLAT: the same noise, no change. RELAPSE: improves, then its latest month is back.
    let noise = [0.4, -0.3, 0.2, -0.5, 0.1, 0.3, -0.2, 0.0, 0.5, -0.4];
    for i in 0..24 {
        let n = noise[i % noise.len()];
        let improved = if i < 14 { 10.0 + n } else { 5.0 + n };
        months.push(month("IMP", "NZ", period(i), improved, 1000.0));
        months.push(month("FLAT", "NZ", period(i), 10.0 + n, 1000.0));
        let relapse = if i == 23 { 10.0 } else { improved };
        months.push(month("RELAPSE", "NZ", period(i), relapse, 1000.0));
    }
    let idea = |org: &str, started: &str, title: &str| ako::model::ChangeIdea {
        org_code: org.into(),
        started: started.into(),
        title: title.into(),
    };
    let ideas = vec![
        idea("IMP", "2024-01-15", "Sensory rooms"),
        idea("IMP", "2026-01-01", "Not yet begun"),
        idea("FLAT", "2024-01-01", "Did not help"),
    ];
    let found = spc_deviants(&months, &ideas, &DeviantOptions::default());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].org_code, "IMP");
    let Evidence::Spc {
        from,
        to,
        months: run,
        change_idea,
        signal,
        ..
    } = &found[0].evidence
    else {
        panic!("spc evidence");
    };
    // Limits from the 12 months before the change idea (mean 10.02). The run begins a
    // month before the step: 2024-02 (9.5) is below that mean and begins the unbroken
    // run of points below it, which the shift rule flags whole.
    assert_eq!(
        (from.as_str(), to.as_str(), *run),
        ("2024-02", "2024-12", 11)
    );
    // The run's first month is flagged by the shift rule (seven or more below the mean);
    // the step to 5 itself falls below the lower limit.
    assert_eq!(signal, "7 Points Below CL");
    assert_eq!(
        change_idea.as_deref(),
        Some("Sensory rooms (from 2024-01-15)")
    );
}
