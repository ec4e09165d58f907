//! The options qicharts2 and NHSRplotthedots name (`part`, `exclude`, `freeze`) worked by
//! hand, and property tests for invariants every method must keep.

use ako::sheet::{self, Sheet};
use ako::stats::dsr::dsr;
use ako::stats::funnel::{self, FunnelOptions, FunnelType, Overdispersion};
use ako::stats::rates::{self, exact_poisson, wilson};
use ako::stats::ratio::rate_ratio;
use ako::stats::spc::{self, Chart, Convention, SpcOptions};
use ako::stats::{Level, runs};
use proptest::prelude::*;

use crate::reference::assert_close;

const SIGMA_PER_MR: f64 = 3.0 / 1.128;

#[test]
fn part_recomputes_each_segment() {
    let y = [1.0, 2.0, 1.0, 2.0, 1.0, 10.0, 11.0, 10.0, 11.0, 10.0];
    let options = SpcOptions {
        chart: Chart::I,
        part: vec![5],
        ..Default::default()
    };
    let c = spc::spc(&y, None, &options).unwrap();
    assert_eq!(c.parts.len(), 2);
    for (i, p) in c.points.iter().enumerate() {
        let (part, mean) = if i < 5 { (1, 1.4) } else { (2, 10.4) };
        assert_eq!(p.part, part);
        assert_close(p.cl.unwrap(), mean, 1e-12, "part mean");
        // Every moving range inside a part is 1; the jump between parts is not one.
        assert_close(p.ucl.unwrap(), mean + SIGMA_PER_MR, 1e-12, "part ucl");
    }
    // The summary is the last part's: five useful points alternating about 10.4.
    assert_eq!(c.summary.n_useful, Some(5));
    assert_eq!(c.summary.n_crossings, Some(4));
}

#[test]
fn exclude_leaves_a_point_out_of_the_lines_but_not_the_chart() {
    let y = [1.0, 2.0, 1.0, 2.0, 50.0, 1.0, 2.0];
    let options = SpcOptions {
        chart: Chart::I,
        exclude: vec![5],
        ..Default::default()
    };
    let c = spc::spc(&y, None, &options).unwrap();
    // Mean of the six others 1.5; their moving ranges, bridging the gap, all 1.
    assert_close(c.points[0].cl.unwrap(), 1.5, 1e-12, "cl");
    assert_close(c.points[0].ucl.unwrap(), 1.5 + SIGMA_PER_MR, 1e-12, "ucl");
    assert!(c.points[4].sigma_signal && !c.points[4].baseline);
    assert_eq!(c.points.iter().filter(|p| p.sigma_signal).count(), 1);
    // The runs analysis skips the excluded point too.
    assert_eq!(c.summary.n_useful, Some(6));
}

#[test]
fn mdc_part_and_fixed_baseline_apply_within_each_part() {
    let y = [
        10.0, 12.0, 10.0, 12.0, 10.0, 12.0, 30.0, 20.0, 22.0, 20.0, 22.0, 20.0,
    ];
    let options = SpcOptions {
        chart: Chart::I,
        convention: Convention::Mdc,
        part: vec![6],
        freeze: Some(4),
        ..Default::default()
    };
    let c = spc::spc(&y, None, &options).unwrap();
    // Part 1 fixed on points 1–4: mean 11, MR̄ 2 → limits 11 ± 5.32.
    assert_close(c.points[0].cl.unwrap(), 11.0, 1e-12, "part 1 mean");
    assert_close(
        c.points[0].ucl.unwrap(),
        11.0 + 2.66 * 2.0,
        1e-12,
        "part 1 upl",
    );
    // Part 2 fixed on its own first four (30, 20, 22, 20): mean 23; ranges 10, 2, 2, and
    // 10 is not screened (3.267 × 14/3 > 10), so MR̄ 14/3.
    assert_close(c.points[6].cl.unwrap(), 23.0, 1e-12, "part 2 mean");
    assert_close(
        c.points[6].ucl.unwrap(),
        23.0 + 2.66 * 14.0 / 3.0,
        1e-12,
        "part 2 upl",
    );
    assert!(c.points[6..].iter().all(|p| p.part == 2));
}

#[test]
fn missing_values_are_gaps() {
    let y = [3.0, f64::NAN, 4.0, 3.0, 5.0, 4.0];
    let c = spc::spc(
        &y,
        None,
        &SpcOptions {
            chart: Chart::I,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(c.points[1].y, None);
    assert!(!c.points[1].sigma_signal);
    // Mean of the five values; a range touching the gap is dropped, leaving those of
    // (4, 3), (3, 5) and (5, 4): 1, 2 and 1.
    assert_close(c.points[0].cl.unwrap(), 19.0 / 5.0, 1e-12, "mean");
    assert_close(
        c.points[0].ucl.unwrap(),
        19.0 / 5.0 + SIGMA_PER_MR * 4.0 / 3.0,
        1e-12,
        "ucl",
    );
    assert_eq!(c.summary.n_useful, Some(5));
}

fn table(rows: &[(String, f64)]) -> String {
    let mut text = String::from("x,y\n");
    for (x, y) in rows {
        text.push_str(&format!("{x},{y}\n"));
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn control_limits_bracket_the_centre_line(
        counts in prop::collection::vec(0u32..60, 3..40),
        sizes in prop::collection::vec(20u32..400, 40),
        which in 0usize..5,
    ) {
        let chart = [Chart::C, Chart::U, Chart::P, Chart::Up, Chart::Pp][which];
        let n: Vec<f64> = sizes[..counts.len()].iter().map(|&s| s as f64).collect();
        let c: Vec<f64> = counts.iter().zip(&n).map(|(&c, n)| (c as f64).min(*n)).collect();
        let options = SpcOptions { chart, ..Default::default() };
        let out = spc::spc(&c, chart.needs_sizes().then_some(n.as_slice()), &options).unwrap();
        for p in &out.points {
            if let (Some(l), Some(cl), Some(u)) = (p.lcl, p.cl, p.ucl) {
                prop_assert!(l <= cl && cl <= u, "{l} <= {cl} <= {u}");
                prop_assert!(p.lcl95.unwrap() >= l && p.ucl95.unwrap() <= u);
            }
        }
    }

    #[test]
    fn xmr_limits_bracket_the_mean_in_both_conventions(
        y in prop::collection::vec(-1000.0f64..1000.0, 2..50),
        mdc in any::<bool>(),
        screen in any::<bool>(),
    ) {
        let convention = if mdc { Convention::Mdc } else { Convention::Anhoej };
        let options = SpcOptions { chart: Chart::I, convention, screen, ..Default::default() };
        let out = spc::spc(&y, None, &options).unwrap();
        for p in &out.points {
            let (l, cl, u) = (p.lcl.unwrap(), p.cl.unwrap(), p.ucl.unwrap());
            prop_assert!(l <= cl && cl <= u);
            // A point flagged outside the limits is outside them.
            prop_assert_eq!(p.sigma_signal, p.y.unwrap() > u || p.y.unwrap() < l);
        }
    }

    #[test]
    fn runs_signal_agrees_with_its_thresholds(y in prop::collection::vec(0u8..5, 1..80)) {
        let y: Vec<f64> = y.into_iter().map(f64::from).collect();
        let (_, r) = spc::run_chart(&y);
        if let (Some(l), Some(lm), Some(c), Some(cm)) = (r.longest_run, r.longest_run_max, r.n_crossings, r.n_crossings_min) {
            prop_assert_eq!(r.signal, l > lm || c < cm);
            prop_assert!(c < r.n_useful && l <= r.n_useful);
            prop_assert_eq!(lm, runs::longest_run_max(r.n_useful));
        }
    }

    #[test]
    fn a_dated_chart_ignores_row_order(
        y in prop::collection::vec(0.0f64..100.0, 5..30),
        seed in any::<u64>(),
    ) {
        let rows: Vec<(String, f64)> = y
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("{}-{:02}-01", 2020 + i / 12, i % 12 + 1), *v))
            .collect();
        let mut shuffled = rows.clone();
        // A deterministic shuffle from the seed.
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let options = SpcOptions { chart: Chart::I, ..Default::default() };
        let a = sheet::spc_report(&Sheet::parse("a", &table(&rows)).unwrap(), options.clone()).unwrap();
        let b = sheet::spc_report(&Sheet::parse("b", &table(&shuffled)).unwrap(), options).unwrap();
        prop_assert_eq!(a.json(), b.json());
    }

    #[test]
    fn exact_and_byar_intervals_contain_the_count(x in 0u32..5000, conf in 0usize..2) {
        let level = [Level::P95, Level::P998][conf];
        let x = x as f64;
        let (lo, hi) = exact_poisson(x, level);
        prop_assert!(lo <= x && x <= hi);
        let r = rates::rate(x, 1000.0, &[level], 1000.0).unwrap();
        let i = r.intervals[0];
        prop_assert!(i.lower.unwrap_or(0.0) <= r.value.unwrap() && r.value.unwrap() <= i.upper.unwrap());
    }

    #[test]
    fn wilson_contains_the_proportion(n in 1u32..10_000, share in 0.0f64..=1.0) {
        let n = n as f64;
        let x = (share * n).floor();
        let (lo, hi) = wilson(x, n, Level::P95);
        prop_assert!(0.0 <= lo && lo <= x / n + 1e-15 && x / n <= hi + 1e-15 && hi <= 1.0);
    }

    #[test]
    fn a_rate_ratio_inverts_when_the_groups_swap(
        a in 0u32..500, b in 0u32..500, pa in 1.0f64..1e5, pb in 1.0f64..1e5,
    ) {
        let (a, b) = (a as f64, b as f64);
        let ab = rate_ratio(a, pa, b, pb, Level::P95).unwrap();
        let ba = rate_ratio(b, pb, a, pa, Level::P95).unwrap();
        let inverse = |v: Option<f64>| v.map(|v| 1.0 / v);
        let close = |x: Option<f64>, y: Option<f64>| match (x, y) {
            (Some(x), Some(y)) if x.is_finite() && y.is_finite() => (x - y).abs() <= 1e-7 * x.abs().max(y.abs()),
            (None, None) => true,
            (Some(x), Some(y)) => x == y,
            // 1/0 is unbounded, written as no value.
            (Some(x), None) | (None, Some(x)) => x == f64::INFINITY || x == 0.0,
        };
        prop_assert!(close(ab.wald.0, inverse(ba.wald.1)) && close(ab.wald.1, inverse(ba.wald.0)));
        prop_assert!(close(ab.exact.0, inverse(ba.exact.1)), "{:?} vs {:?}", ab.exact, ba.exact);
        prop_assert!(close(ab.exact.1, inverse(ba.exact.0)));
        if let (Some(rr), Some(lo)) = (ab.rr, ab.exact.0) {
            prop_assert!(lo <= rr * (1.0 + 1e-9) && ab.exact.1.is_none_or(|hi| rr <= hi * (1.0 + 1e-9)));
        }
        prop_assert!(ab.rr.is_none_or(f64::is_finite));
    }

    #[test]
    fn dsr_intervals_contain_the_rate(
        bands in prop::collection::vec((0u32..200, 100u32..20_000), 18),
    ) {
        let counts: Vec<f64> = bands.iter().map(|b| b.0 as f64).collect();
        let pops: Vec<f64> = bands.iter().map(|b| b.1 as f64).collect();
        let weights: Vec<f64> = ako::sheet::ESP2013.iter().map(|b| b.1).collect();
        let d = dsr(&counts, &pops, &weights, &[Level::P95], 100_000.0).unwrap();
        let g = d.gamma[0];
        prop_assert!(g.lower.unwrap() <= d.value * (1.0 + 1e-12) && d.value <= g.upper.unwrap());
        if let (Some(lo), Some(hi)) = (d.dobson[0].lower, d.dobson[0].upper) {
            prop_assert!(lo <= d.value && d.value <= hi);
        }
    }

    #[test]
    fn a_funnel_ignores_unit_order(
        units in prop::collection::vec((0u32..300, 10u32..5000), 3..25),
        od in 0usize..3,
        kind in 0usize..3,
    ) {
        let kind = [FunnelType::Ratio, FunnelType::Rate, FunnelType::Proportion][kind];
        let od = [Overdispersion::None, Overdispersion::Shmi, Overdispersion::Spiegelhalter][od];
        prop_assume!(!(kind == FunnelType::Proportion && od == Overdispersion::Shmi));
        let num: Vec<f64> = units.iter().map(|u| (u.0 as f64).min(u.1 as f64)).collect();
        let den: Vec<f64> = units.iter().map(|u| u.1 as f64).collect();
        let options = FunnelOptions { kind, od, ..Default::default() };
        let f = funnel::funnel(&num, &den, &options).unwrap();
        let rev_num: Vec<f64> = num.iter().rev().copied().collect();
        let rev_den: Vec<f64> = den.iter().rev().copied().collect();
        let g = funnel::funnel(&rev_num, &rev_den, &options).unwrap();
        let same = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-300),
            (a, b) => a == b,
        };
        prop_assert!(same(f.phi, g.phi) && same(f.tau2, g.tau2));
        for (u, v) in f.units.iter().zip(g.units.iter().rev()) {
            prop_assert_eq!(u.outlier, v.outlier);
            for k in 0..2 {
                prop_assert!(same(u.limits[k].0, v.limits[k].0) && same(u.limits[k].1, v.limits[k].1));
                // Limits bracket the target.
                if let (Some(lo), Some(hi)) = u.limits[k] {
                    prop_assert!(lo <= f.target * (1.0 + 1e-12) && f.target <= hi * (1.0 + 1e-12));
                }
            }
        }
    }
}
