//! Every vector in `tests/fixtures/qi_reference.json` (a copy of
//! `shared/reference/qi_reference.json`, produced by qicharts2, NHSRplotthedots, FunnelPlotR,
//! PHEindicatormethods and epitools), asserted through the library.

use std::sync::LazyLock;

use ako::stats::Level;
use ako::stats::dsr::{dsr, dsr_ratio};
use ako::stats::funnel::{self, FunnelOptions, FunnelType, Overdispersion};
use ako::stats::rates::{self, byar, exact_poisson, wilson};
use ako::stats::runs;
use ako::stats::spc::{self, Chart, Convention, Direction, SpcOptions};
use serde_json::Value;

pub static REFERENCE: LazyLock<Value> = LazyLock::new(|| {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/qi_reference.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("reference vectors")).expect("json")
});

/// Relative tolerance; values within 1e-12 of zero compare absolutely.
#[track_caller]
pub fn assert_close(actual: f64, expected: f64, tol: f64, what: &str) {
    let scale = expected.abs().max(actual.abs());
    let ok = if expected.abs() < 1e-12 {
        (actual - expected).abs() < 1e-12
    } else {
        (actual - expected).abs() <= tol * scale
    };
    assert!(ok, "{what}: got {actual:.15e}, reference {expected:.15e}");
}

#[track_caller]
fn assert_opt(actual: Option<f64>, expected: &Value, tol: f64, what: &str) {
    match (actual, expected.as_f64()) {
        (Some(a), Some(e)) => assert_close(a, e, tol, what),
        (None, None) => {}
        (a, _) => panic!("{what}: got {a:?}, reference {expected}"),
    }
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

/// A scalar or an array of 1-based positions (R's JSON writer unboxes one-element vectors).
fn positions(v: &Value) -> Vec<usize> {
    match v {
        Value::Array(a) => a.iter().map(|x| x.as_u64().unwrap() as usize).collect(),
        Value::Number(n) => vec![n.as_u64().unwrap() as usize],
        _ => Vec::new(),
    }
}

fn check_qic(case: &str, chart: Chart, freeze: Option<usize>, screen: bool) {
    let r = &REFERENCE["qicharts2"][case];
    let (values, sizes) = if chart.of_counts() {
        let n = r["input"].get("n").map(floats);
        (floats(&r["input"]["count"]), n)
    } else {
        (floats(&r["input"]["y"]), None)
    };
    let options = SpcOptions {
        chart,
        freeze,
        screen,
        ..Default::default()
    };
    let c = spc::spc(&values, sizes.as_deref(), &options).unwrap();
    let y = floats(&r["y"]);
    for (field, get) in [
        (
            "cl",
            (|p: &spc::Point| p.cl) as fn(&spc::Point) -> Option<f64>,
        ),
        ("lcl", |p| p.lcl),
        ("ucl", |p| p.ucl),
        ("lcl_95", |p| p.lcl95),
        ("ucl_95", |p| p.ucl95),
    ] {
        let expected = r[field].as_array().unwrap();
        assert_eq!(
            c.points.len(),
            expected.len(),
            "{case} {field}: as many points"
        );
        for (i, (p, e)) in c.points.iter().zip(expected).enumerate() {
            assert_opt(get(p), e, 1e-9, &format!("{case} {field}[{}]", i + 1));
        }
    }
    assert_eq!(c.points.len(), y.len(), "{case}: a point per value");
    for (i, (p, e)) in c.points.iter().zip(&y).enumerate() {
        match p.y {
            Some(v) => assert_close(v, *e, 1e-9, &format!("{case} y[{}]", i + 1)),
            None => assert!(e.is_nan(), "{case} y[{}] missing", i + 1),
        }
    }
    let signals: Vec<usize> = c
        .points
        .iter()
        .enumerate()
        .filter(|(_, p)| p.sigma_signal)
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(
        signals,
        positions(&r["sigma_signal"]),
        "{case} sigma signals"
    );
    let s = &c.summary;
    assert_eq!(
        s.n_useful,
        r["n_useful"].as_u64().map(|v| v as usize),
        "{case} n_useful"
    );
    assert_eq!(
        s.longest_run,
        r["longest_run"].as_u64().map(|v| v as usize),
        "{case} longest run"
    );
    assert_eq!(
        s.longest_run_max,
        r["longest_run_max"].as_u64().map(|v| v as usize),
        "{case}"
    );
    assert_eq!(
        s.n_crossings,
        r["n_crossings"].as_u64().map(|v| v as usize),
        "{case} crossings"
    );
    assert_eq!(
        s.n_crossings_min,
        r["n_crossings_min"].as_u64().map(|v| v as usize),
        "{case}"
    );
    assert_eq!(
        s.runs_signal,
        r["runs_signal"].as_bool(),
        "{case} runs signal"
    );
}

#[test]
fn qicharts2_i_chart_all_points() {
    check_qic("i_tbl0607_all", Chart::I, None, true);
}

#[test]
fn qicharts2_i_chart_frozen_after_20() {
    check_qic("i_tbl0607_freeze20", Chart::I, Some(20), true);
}

#[test]
fn qicharts2_mr_chart_frozen_after_20() {
    check_qic("mr_tbl0607_freeze20", Chart::Mr, Some(20), true);
}

#[test]
fn qicharts2_i_chart_screened_and_unscreened() {
    check_qic("i_outlier_screened", Chart::I, None, true);
    check_qic("i_outlier_unscreened", Chart::I, None, false);
}

#[test]
fn qicharts2_p_u_c_charts() {
    check_qic("p_tbl0704", Chart::P, None, true);
    check_qic("u_tbl0710", Chart::U, None, true);
    check_qic("c_tbl0710", Chart::C, None, true);
}

#[test]
fn qicharts2_run_charts() {
    for (name, r) in REFERENCE["qicharts2"]["run_charts"].as_object().unwrap() {
        let y = floats(&r["y"]);
        let c = spc::spc(&y, None, &SpcOptions::default()).unwrap();
        assert_close(
            c.points[0].cl.unwrap(),
            r["median"].as_f64().unwrap(),
            1e-12,
            name,
        );
        let s = &c.summary;
        assert_eq!(y.len() as u64, r["n_obs"].as_u64().unwrap());
        assert_eq!(
            s.n_useful,
            Some(r["n_useful"].as_u64().unwrap() as usize),
            "{name}"
        );
        assert_eq!(
            s.longest_run,
            Some(r["longest_run"].as_u64().unwrap() as usize),
            "{name}"
        );
        assert_eq!(
            s.longest_run_max,
            Some(r["longest_run_max"].as_u64().unwrap() as usize)
        );
        assert_eq!(
            s.n_crossings,
            Some(r["n_crossings"].as_u64().unwrap() as usize),
            "{name}"
        );
        assert_eq!(
            s.n_crossings_min,
            Some(r["n_crossings_min"].as_u64().unwrap() as usize)
        );
        assert_eq!(s.runs_signal, r["runs_signal"].as_bool(), "{name}");
    }
}

#[test]
fn anhoej_thresholds_for_1_to_100_points() {
    let t = &REFERENCE["qicharts2"]["anhoej_thresholds"];
    let (ns, longest, crossings) = (
        floats(&t["n"]),
        floats(&t["longest_run_max"]),
        floats(&t["n_crossings_min"]),
    );
    assert_eq!(ns.len(), 100);
    assert_eq!((longest.len(), crossings.len()), (100, 100));
    for ((n, longest), crossings) in ns.into_iter().zip(longest).zip(crossings) {
        let n = n as usize;
        assert_eq!(
            runs::longest_run_max(n),
            longest as usize,
            "longest run max at n = {n}"
        );
        assert_eq!(
            runs::crossings_min(n),
            crossings as usize,
            "crossings min at n = {n}"
        );
    }
}

#[test]
fn nhsrplotthedots_cases() {
    for (name, r) in REFERENCE["NHSRplotthedots"].as_object().unwrap() {
        let input = &r["input"];
        let direction = match input["improvement_direction"].as_str().unwrap() {
            "increase" => Direction::Increase,
            "decrease" => Direction::Decrease,
            _ => Direction::Neutral,
        };
        let options = SpcOptions {
            chart: Chart::I,
            convention: Convention::Mdc,
            screen: input["screen_outliers"].as_bool().unwrap(),
            freeze: input["fix_after_n_points"].as_u64().map(|v| v as usize),
            target: input["target"].as_f64(),
            direction,
            ..Default::default()
        };
        let c = spc::spc(&floats(&input["y"]), None, &options).unwrap();
        for p in &c.points {
            assert_close(
                p.cl.unwrap(),
                r["mean"].as_f64().unwrap(),
                1e-9,
                &format!("{name} mean"),
            );
            assert_close(
                p.lcl.unwrap(),
                r["lpl"].as_f64().unwrap(),
                1e-9,
                &format!("{name} lpl"),
            );
            assert_close(
                p.ucl.unwrap(),
                r["upl"].as_f64().unwrap(),
                1e-9,
                &format!("{name} upl"),
            );
        }
        let types: Vec<&str> = c
            .points
            .iter()
            .map(|p| p.special_cause_type.unwrap())
            .collect();
        let expected: Vec<&str> = r["special_cause_type"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(types, expected, "{name} special cause types");
        let point_types: Vec<&str> = c
            .points
            .iter()
            .map(|p| p.point_type.unwrap().name())
            .collect();
        let expected: Vec<&str> = r["point_type"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(point_types, expected, "{name} point types");
        assert_eq!(
            c.summary.variation_icon.map(|p| p.name()),
            r["variation_icon_last_point"].as_str(),
            "{name} variation icon"
        );
        assert_eq!(
            c.summary.assurance.map(|a| a.name()),
            r["assurance_type"].as_str(),
            "{name} assurance"
        );
    }
}

#[test]
fn funnelplotr_exact_poisson_limits() {
    let r = &REFERENCE["FunnelPlotR"]["sr_unadjusted_limits"];
    let target = r["target"].as_f64().unwrap();
    for row in r["calc"].as_array().unwrap() {
        let e = row["number_seq"].as_f64().unwrap();
        let (lo95, hi95) = funnel::poisson_ratio_limits(e, Level::P95);
        let (lo998, hi998) = funnel::poisson_ratio_limits(e, Level::P998);
        let what = format!("E = {e}");
        assert_close(
            lo95.unwrap() * target,
            row["ll95"].as_f64().unwrap(),
            1e-8,
            &what,
        );
        assert_close(
            hi95.unwrap() * target,
            row["ul95"].as_f64().unwrap(),
            1e-8,
            &what,
        );
        assert_close(
            lo998.unwrap() * target,
            row["ll998"].as_f64().unwrap(),
            1e-8,
            &what,
        );
        assert_close(
            hi998.unwrap() * target,
            row["ul998"].as_f64().unwrap(),
            1e-8,
            &what,
        );
    }
}

#[test]
fn funnelplotr_shmi_overdispersion() {
    let r = &REFERENCE["FunnelPlotR"]["test_dt_SHMI_default"];
    let rows = r["rows"].as_array().unwrap();
    let num: Vec<f64> = rows
        .iter()
        .map(|r| r["numerator"].as_f64().unwrap())
        .collect();
    let den: Vec<f64> = rows
        .iter()
        .map(|r| r["denominator"].as_f64().unwrap())
        .collect();
    let options = FunnelOptions {
        kind: FunnelType::Ratio,
        od: Overdispersion::Shmi,
        ..Default::default()
    };
    let f = funnel::funnel(&num, &den, &options).unwrap();
    assert_close(f.phi.unwrap(), r["phi"].as_f64().unwrap(), 1e-8, "phi");
    assert_close(f.tau2.unwrap(), r["tau2"].as_f64().unwrap(), 1e-8, "tau2");
    assert_eq!(f.adjusted, r["draw_adjusted"].as_bool().unwrap());
    assert_eq!(f.units.len(), rows.len(), "a unit per reference row");
    assert!(!rows.is_empty());
    for (u, row) in f.units.iter().zip(rows) {
        let g = row["group"].as_str().unwrap();
        assert_close(u.value.unwrap(), row["rr"].as_f64().unwrap(), 1e-9, g);
        assert_close(u.z.unwrap(), row["Uzscore"].as_f64().unwrap(), 1e-9, g);
        assert_eq!(
            u.truncated,
            row["truncated"].as_u64().unwrap() == 1,
            "{g} truncated"
        );
        let [(l95, u95), (l99, u99)] = u.limits;
        assert_close(
            l95.unwrap(),
            row["LCL95"].as_f64().unwrap(),
            1e-8,
            &format!("{g} LCL95"),
        );
        assert_close(
            u95.unwrap(),
            row["UCL95"].as_f64().unwrap(),
            1e-8,
            &format!("{g} UCL95"),
        );
        assert_close(
            l99.unwrap(),
            row["LCL99"].as_f64().unwrap(),
            1e-8,
            &format!("{g} LCL99"),
        );
        assert_close(
            u99.unwrap(),
            row["UCL99"].as_f64().unwrap(),
            1e-8,
            &format!("{g} UCL99"),
        );
        let [(ol95, ou95), (ol99, ou99)] = u.od_limits.unwrap();
        assert_close(
            ol95.unwrap(),
            row["OD95LCL"].as_f64().unwrap(),
            1e-7,
            &format!("{g} OD95LCL"),
        );
        assert_close(
            ou95.unwrap(),
            row["OD95UCL"].as_f64().unwrap(),
            1e-7,
            &format!("{g} OD95UCL"),
        );
        assert_close(
            ol99.unwrap(),
            row["OD99LCL"].as_f64().unwrap(),
            1e-7,
            &format!("{g} OD99LCL"),
        );
        assert_close(
            ou99.unwrap(),
            row["OD99UCL"].as_f64().unwrap(),
            1e-7,
            &format!("{g} OD99UCL"),
        );
        // FunnelPlotR's default limit is 99.8%.
        assert_eq!(
            u.outlier[1],
            row["outlier"].as_u64().unwrap() == 1,
            "{g} outlier"
        );
    }
}

#[test]
fn garwood_exact_poisson_limits() {
    for case in REFERENCE["rates"]["poisson_exact_garwood"]
        .as_array()
        .unwrap()
    {
        let level = Level::new(case["conf"].as_f64().unwrap()).unwrap();
        let (xs, lower, upper) = (
            floats(&case["x"]),
            floats(&case["lower"]),
            floats(&case["upper"]),
        );
        assert!(!xs.is_empty());
        assert_eq!((lower.len(), upper.len()), (xs.len(), xs.len()));
        for ((x, lo), hi) in xs.into_iter().zip(lower).zip(upper) {
            let (l, u) = exact_poisson(x, level);
            assert_close(l, lo, 1e-8, &format!("exact lower x = {x} at {level}"));
            assert_close(u, hi, 1e-8, &format!("exact upper x = {x} at {level}"));
        }
    }
}

#[test]
fn byar_limits() {
    for case in REFERENCE["rates"]["byars"].as_array().unwrap() {
        let level = Level::new(case["conf"].as_f64().unwrap()).unwrap();
        let x = floats(&case["x"]);
        for (i, &xi) in x.iter().enumerate() {
            let (l, u) = byar(xi, level);
            assert_opt(
                l,
                &case["lower"][i],
                1e-8,
                &format!("byar lower x = {xi} at {level}"),
            );
            assert_close(
                u,
                case["upper"][i].as_f64().unwrap(),
                1e-8,
                &format!("byar upper x = {xi}"),
            );
        }
    }
}

#[test]
fn phe_rates_per_100000() {
    for row in REFERENCE["rates"]["phe_rate_test_Rate_rows_9_16"]
        .as_array()
        .unwrap()
    {
        let area = row["Area"].as_str().unwrap();
        let r = rates::rate(
            row["Numerator"].as_f64().unwrap(),
            row["Denominator"].as_f64().unwrap(),
            &[Level::P95, Level::P998],
            100_000.0,
        )
        .unwrap();
        assert_close(r.value.unwrap(), row["value"].as_f64().unwrap(), 1e-9, area);
        assert_opt(r.intervals[0].lower, &row["lower95_0cl"], 1e-8, area);
        assert_opt(r.intervals[0].upper, &row["upper95_0cl"], 1e-8, area);
        assert_opt(r.intervals[1].lower, &row["lower99_8cl"], 1e-8, area);
        assert_opt(r.intervals[1].upper, &row["upper99_8cl"], 1e-8, area);
        let method = match r.method {
            rates::RateMethod::Exact => "Exact",
            rates::RateMethod::Byar => "Byars",
        };
        assert_eq!(method, row["method"].as_str().unwrap(), "{area}");
    }
}

#[test]
fn phe_wilson_proportions() {
    for row in REFERENCE["rates"]["phe_proportion_test_Prop_rows_1_8"]
        .as_array()
        .unwrap()
    {
        let area = row["Area"].as_str().unwrap();
        let (x, n) = (
            row["Numerator"].as_f64().unwrap(),
            row["Denominator"].as_f64().unwrap(),
        );
        let (value, intervals) = rates::proportion(x, n, &[Level::P95, Level::P998], 1.0).unwrap();
        assert_close(value.unwrap(), row["value"].as_f64().unwrap(), 1e-9, area);
        assert_opt(intervals[0].lower, &row["lower95_0cl"], 1e-8, area);
        assert_opt(intervals[0].upper, &row["upper95_0cl"], 1e-8, area);
        assert_opt(intervals[1].lower, &row["lower99_8cl"], 1e-8, area);
        assert_opt(intervals[1].upper, &row["upper99_8cl"], 1e-8, area);
        let (lo, hi) = wilson(x, n, Level::P95);
        assert!(lo <= x / n && x / n <= hi);
    }
}

/// The PHE test areas by band, in the order of the ESP 2013 vector.
pub fn dsr_areas() -> Vec<(String, Vec<f64>, Vec<f64>)> {
    let d = &REFERENCE["rates"]["dsr_dobson_esp2013"];
    let mut areas: Vec<(String, Vec<f64>, Vec<f64>)> = Vec::new();
    for row in d["data"].as_array().unwrap() {
        let area = row["area"].as_str().unwrap().to_string();
        if areas.last().is_none_or(|(a, _, _)| *a != area) {
            areas.push((area.clone(), Vec::new(), Vec::new()));
        }
        let last = areas.last_mut().unwrap();
        // PHE counts a missing count as zero (the tiny area has one).
        last.1.push(row["count"].as_f64().unwrap_or(0.0));
        last.2.push(row["pop"].as_f64().unwrap());
    }
    areas
}

#[test]
fn phe_dsr_dobson_esp2013() {
    let d = &REFERENCE["rates"]["dsr_dobson_esp2013"];
    let weights = floats(&d["esp2013"]);
    let areas = dsr_areas();
    assert_eq!(areas.len(), 3);
    let results = d["result"].as_array().unwrap();
    assert_eq!(results.len(), areas.len(), "a reference result per area");
    for ((area, counts, pops), expected) in areas.iter().zip(results) {
        let r = dsr(
            counts,
            pops,
            &weights,
            &[Level::P95, Level::P998],
            100_000.0,
        )
        .unwrap();
        assert_eq!(
            r.total_count,
            expected["total_count"].as_f64().unwrap(),
            "{area}"
        );
        assert_eq!(
            r.total_population,
            expected["total_pop"].as_f64().unwrap(),
            "{area}"
        );
        match expected["value"].as_f64() {
            Some(v) => assert_close(r.value, v, 1e-9, area),
            // PHE withholds the DSR below 10 events; ako gives it (METHODS.md) and withholds
            // only the Dobson interval. Hand check for the tiny area: Σ w·c/p / Σw.
            None => {
                let hand: f64 = counts
                    .iter()
                    .zip(pops)
                    .zip(&weights)
                    .map(|((c, p), w)| w * c / p)
                    .sum::<f64>()
                    / weights.iter().sum::<f64>()
                    * 100_000.0;
                assert_close(r.value, hand, 1e-12, area);
                assert!(r.total_count < 10.0);
            }
        }
        assert_opt(r.dobson[0].lower, &expected["lower95_0cl"], 1e-8, area);
        assert_opt(r.dobson[0].upper, &expected["upper95_0cl"], 1e-8, area);
        assert_opt(r.dobson[1].lower, &expected["lower99_8cl"], 1e-8, area);
        assert_opt(r.dobson[1].upper, &expected["upper99_8cl"], 1e-8, area);
        // The gamma interval is always given and brackets the rate.
        let g = r.gamma[0];
        assert!(
            g.lower.unwrap() <= r.value && r.value <= g.upper.unwrap(),
            "{area} gamma"
        );
    }
    // The ratio of the big to the small area's DSR, by the log method.
    let big = dsr(&areas[0].1, &areas[0].2, &weights, &[Level::P95], 100_000.0).unwrap();
    let small = dsr(&areas[1].1, &areas[1].2, &weights, &[Level::P95], 100_000.0).unwrap();
    let (ratio, lo, hi) = dsr_ratio(&big, &small, Level::P95);
    let se = (big.variance / big.rate.powi(2) + small.variance / small.rate.powi(2)).sqrt();
    let expected = 10430.2479914694 / 1103.2120253001;
    assert_close(ratio.unwrap(), expected, 1e-9, "dsr ratio");
    assert_close(
        lo.unwrap(),
        (expected.ln() - 1.959963984540054 * se).exp(),
        1e-9,
        "dsr ratio lower",
    );
    assert_close(
        hi.unwrap(),
        (expected.ln() + 1.959963984540054 * se).exp(),
        1e-9,
        "dsr ratio upper",
    );
}
