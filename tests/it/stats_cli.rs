//! `ako stats` through the command line: each method on CSV files as an analyst writes
//! them, checked against the reference vectors or values worked by hand, and bad input
//! refused with exit code 2 naming the line and column.

use std::path::PathBuf;

use serde_json::Value;
use tempfile::TempDir;

use crate::fixture::ako;
use crate::reference::{REFERENCE, assert_close};

struct Files(TempDir);

impl Files {
    fn new() -> Files {
        Files(TempDir::new().unwrap())
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn run_stats(args: &[&str], input: &PathBuf) -> std::process::Output {
    ako()
        .arg("stats")
        .args(args)
        .arg("--input")
        .arg(input)
        .output()
        .unwrap()
}

fn stats_json(args: &[&str], input: &PathBuf) -> Value {
    let out = run_stats(args, input);
    assert!(
        out.status.success(),
        "ako stats {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json output")
}

fn stats_refused(args: &[&str], input: &PathBuf) -> String {
    let out = run_stats(args, input);
    assert_eq!(out.status.code(), Some(2), "expected exit 2 for {args:?}");
    assert!(out.stdout.is_empty(), "nothing written on refusal");
    String::from_utf8(out.stderr).unwrap()
}

/// ako's bound names beside PHEindicatormethods'.
const BOUNDS: [(&str, &str); 4] = [
    ("lower_95", "lower95_0cl"),
    ("upper_95", "upper95_0cl"),
    ("lower_99_8", "lower99_8cl"),
    ("upper_99_8", "upper99_8cl"),
];

/// Each of ako's fields equals the reference's (or both are null).
#[track_caller]
fn assert_fields(ours: &Value, theirs: &Value, pairs: &[(&str, &str)], tol: f64) {
    for (a, b) in pairs {
        match theirs[b].as_f64() {
            Some(v) => assert_close(f(&ours[a]), v, tol, a),
            None => assert_eq!(ours[a], Value::Null, "{a} is withheld"),
        }
    }
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

#[test]
fn spc_i_chart_from_dated_rows_in_any_order() {
    let r = &REFERENCE["qicharts2"]["i_tbl0607_freeze20"];
    let y: Vec<f64> = r["input"]["y"].as_array().unwrap().iter().map(f).collect();
    // Months from 2021-07, written newest first with blank lines and quotes.
    let mut text = String::from("\"x\",\"y\"\n");
    for (i, v) in y.iter().enumerate().rev() {
        let (year, month) = (2021 + (6 + i) / 12, (6 + i) % 12 + 1);
        text.push_str(&format!("{year}-{month:02}-01,\"{v}\"\n\n"));
    }
    let files = Files::new();
    let input = files.write("i.csv", &text);
    let out = stats_json(&["spc", "--chart", "i", "--freeze", "20"], &input);
    assert_eq!(out["x_kind"], "date");
    let points = out["points"].as_array().unwrap();
    assert_eq!(points.len(), 40);
    assert_eq!(points[0]["x"], "2021-07-01");
    assert_eq!(points[39]["x"], "2024-10-01");
    for (i, p) in points.iter().enumerate() {
        assert_close(f(&p["y"]), y[i], 1e-12, "y");
        assert_close(f(&p["cl"]), f(&r["cl"][i]), 1e-9, "cl");
        assert_close(f(&p["lcl"]), f(&r["lcl"][i]), 1e-9, "lcl");
        assert_close(f(&p["ucl"]), f(&r["ucl"][i]), 1e-9, "ucl");
        assert_close(f(&p["lcl95"]), f(&r["lcl_95"][i]), 1e-9, "lcl95");
        assert_close(f(&p["ucl95"]), f(&r["ucl_95"][i]), 1e-9, "ucl95");
        assert_eq!(p["baseline"], i < 20);
        assert_eq!(p["point_type"], Value::Null, "anhoej has no point types");
    }
    let signals: Vec<usize> = points
        .iter()
        .enumerate()
        .filter(|(_, p)| p["sigma_signal"] == true)
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(signals, vec![39, 40]);
    let s = &out["summary"];
    assert_eq!(s["n_useful"], 40);
    assert_eq!(s["longest_run"], 6);
    assert_eq!(s["longest_run_max"], 8);
    assert_eq!(s["n_crossings"], 20);
    assert_eq!(s["n_crossings_min"], 14);
    assert_eq!(s["runs_signal"], false);
    assert_eq!(s["variation_icon"], Value::Null);
    assert_eq!(s["assurance"], Value::Null);
}

#[test]
fn spc_p_chart_with_counts_and_denominators() {
    let r = &REFERENCE["qicharts2"]["p_tbl0704"];
    let counts = r["input"]["count"].as_array().unwrap();
    let n = r["input"]["n"].as_array().unwrap();
    let mut text = String::from("x,count,n\n");
    for i in 0..counts.len() {
        text.push_str(&format!("{},{},{}\n", i + 1, counts[i], n[i]));
    }
    let files = Files::new();
    let out = stats_json(&["spc", "--chart", "p"], &files.write("p.csv", &text));
    let points = out["points"].as_array().unwrap();
    assert_eq!(points[0]["x"], 1, "whole-number x stays whole");
    for (i, p) in points.iter().enumerate() {
        assert_close(f(&p["y"]), f(&r["y"][i]), 1e-12, "p");
        assert_close(f(&p["lcl"]), f(&r["lcl"][i]), 1e-9, "p lcl");
        assert_close(f(&p["ucl"]), f(&r["ucl"][i]), 1e-9, "p ucl");
        assert_eq!(p["sigma_signal"], i + 1 == 11, "point {}", i + 1);
    }
    // --multiply 100 gives percentages: every line scales, signals do not change.
    let pct = stats_json(
        &["spc", "--chart", "p", "--multiply", "100"],
        &files.write("p.csv", &text),
    );
    for (a, b) in pct["points"].as_array().unwrap().iter().zip(points) {
        assert_close(f(&a["ucl"]), 100.0 * f(&b["ucl"]), 1e-12, "scaled ucl");
        assert_eq!(a["sigma_signal"], b["sigma_signal"]);
    }
}

#[test]
fn spc_mdc_fixed_baseline_point_types_and_assurance() {
    let r = &REFERENCE["NHSRplotthedots"]["P10_fix12"];
    let mut text = String::from("x,y\n");
    for (i, v) in r["input"]["y"].as_array().unwrap().iter().enumerate() {
        text.push_str(
            &format!("2024-{:02}-01,{v}\n", i % 12 + 1)
                .replace("2024-", &format!("{}-", 2024 + i / 12)),
        );
    }
    let files = Files::new();
    let input = files.write("mdc.csv", &text);
    let out = stats_json(
        &[
            "spc",
            "--chart",
            "i",
            "--convention",
            "mdc",
            "--freeze",
            "12",
            "--target",
            "15",
        ],
        &input,
    );
    let points = out["points"].as_array().unwrap();
    for (i, p) in points.iter().enumerate() {
        assert_close(f(&p["cl"]), 10.0, 1e-12, "mean");
        assert_close(f(&p["lcl"]), f(&r["lpl"]), 1e-9, "lpl");
        assert_close(f(&p["ucl"]), f(&r["upl"]), 1e-9, "upl");
        assert_eq!(p["point_type"], r["point_type"][i], "point {}", i + 1);
        assert_eq!(
            p["special_cause_type"],
            r["special_cause_type"][i],
            "point {}",
            i + 1
        );
    }
    assert_eq!(
        out["summary"]["variation_icon"],
        "special_cause_improvement"
    );
    // Target 15 lies above the upper process limit 13.627: an increasing measure will
    // consistently fall short of it.
    assert_eq!(out["summary"]["assurance"], "consistent_fail");
    assert_eq!(out["summary"]["runs_signal"], Value::Null);
    // Lower is better: the same points are now concerns, and the target is always met.
    let down = stats_json(
        &[
            "spc",
            "--chart",
            "i",
            "--convention",
            "mdc",
            "--freeze",
            "12",
            "--direction",
            "decrease",
            "--target",
            "15",
        ],
        &input,
    );
    assert_eq!(down["points"][12]["point_type"], "special_cause_concern");
    assert_eq!(down["summary"]["assurance"], "consistent_pass");
    let neutral = stats_json(
        &[
            "spc",
            "--chart",
            "i",
            "--convention",
            "mdc",
            "--freeze",
            "12",
            "--direction",
            "neutral",
            "--target",
            "15",
        ],
        &input,
    );
    assert_eq!(
        neutral["points"][12]["point_type"],
        "special_cause_neutral_high"
    );
    assert_eq!(neutral["summary"]["assurance"], Value::Null);
}

#[test]
fn spc_laney_p_prime_across_units_uses_the_sd_of_z() {
    // Four organisations (label x): Laney σ_z is the sample SD of the z-scores, and there
    // is no runs analysis. Worked by hand: p̄ = 60/1000 = 0.06.
    let text = "x,count,n\nAUK,10,100\nCMH,20,300\nTKI,25,400\nWTO,5,200\n";
    let files = Files::new();
    let out = stats_json(&["spc", "--chart", "pp"], &files.write("pp.csv", text));
    assert_eq!(out["x_kind"], "label");
    let p_bar: f64 = 0.06;
    let rows = [(10.0, 100.0), (20.0, 300.0), (25.0, 400.0), (5.0, 200.0)];
    let z: Vec<f64> = rows
        .iter()
        .map(|(c, n)| (c / n - p_bar) / (p_bar * (1.0 - p_bar) / n).sqrt())
        .collect();
    let mean_z = z.iter().sum::<f64>() / 4.0;
    let sd_z = (z.iter().map(|v| (v - mean_z).powi(2)).sum::<f64>() / 3.0).sqrt();
    let points = out["points"].as_array().unwrap();
    assert_eq!(points[0]["x"], "AUK", "labels keep the order written");
    for (p, (_, n)) in points.iter().zip(rows) {
        let sigma = (p_bar * (1.0 - p_bar) / n).sqrt() * sd_z;
        assert_close(f(&p["cl"]), p_bar, 1e-12, "p̄");
        assert_close(f(&p["ucl"]), (p_bar + 3.0 * sigma).min(1.0), 1e-12, "ucl");
        assert_close(f(&p["lcl"]), (p_bar - 3.0 * sigma).max(0.0), 1e-12, "lcl");
    }
    assert_eq!(out["summary"]["n_useful"], Value::Null);
    assert_eq!(out["summary"]["runs_signal"], false);
}

#[test]
fn funnel_shmi_through_the_cli() {
    let r = &REFERENCE["FunnelPlotR"]["test_dt_SHMI_default"];
    let mut text = String::from("unit,numerator,denominator\n");
    for row in r["rows"].as_array().unwrap() {
        text.push_str(&format!(
            "{},{},{}\n",
            row["group"].as_str().unwrap(),
            row["numerator"],
            row["denominator"]
        ));
    }
    let files = Files::new();
    let out = stats_json(
        &["funnel", "--type", "ratio", "--od", "shmi"],
        &files.write("f.csv", &text),
    );
    assert_close(f(&out["phi"]), f(&r["phi"]), 1e-8, "phi");
    assert_close(f(&out["tau2"]), f(&r["tau2"]), 1e-8, "tau2");
    assert_eq!(out["target"], 1.0);
    for (u, row) in out["units"]
        .as_array()
        .unwrap()
        .iter()
        .zip(r["rows"].as_array().unwrap())
    {
        assert_eq!(u["unit"], row["group"]);
        assert_close(f(&u["value"]), f(&row["rr"]), 1e-9, "rr");
        assert_close(f(&u["z"]), f(&row["Uzscore"]), 1e-9, "z");
        assert_close(f(&u["lower_95"]), f(&row["LCL95"]), 1e-8, "LCL95");
        assert_close(f(&u["upper_99_8"]), f(&row["UCL99"]), 1e-8, "UCL99");
        assert_close(f(&u["od_lower_95"]), f(&row["OD95LCL"]), 1e-7, "OD95LCL");
        assert_close(f(&u["od_upper_95"]), f(&row["OD95UCL"]), 1e-7, "OD95UCL");
        assert_close(f(&u["od_lower_99_8"]), f(&row["OD99LCL"]), 1e-7, "OD99LCL");
        assert_close(f(&u["od_upper_99_8"]), f(&row["OD99UCL"]), 1e-7, "OD99UCL");
        assert_eq!(u["outlier_99_8"], row["outlier"] == 1);
    }
    // b (150 observed, 112 expected) is outside the 95% limits it would have without
    // overdispersion, but inside the widened ones.
    let b = &out["units"][1];
    assert!(f(&b["value"]) > f(&b["upper_95"]));
    assert_eq!(b["outlier_95"], false);
}

#[test]
fn funnel_spiegelhalter_rates_square_back_to_the_rate_scale() {
    // Seclusion events per 1,000 bed days in six units. Worked by hand below from the
    // Spiegelhalter (2005) formulas; the limits are squared back, not left on the
    // square-root scale (FunnelPlotR issue #33).
    let units: [(&str, f64, f64); 6] = [
        ("A", 12.0, 2000.0),
        ("B", 40.0, 3000.0),
        ("C", 5.0, 1500.0),
        ("D", 30.0, 2500.0),
        ("E", 2.0, 1000.0),
        ("F", 25.0, 4000.0),
    ];
    let mut text = String::from("unit,numerator,denominator\n");
    for (u, n, d) in units {
        text.push_str(&format!("{u},{n},{d}\n"));
    }
    let files = Files::new();
    let out = stats_json(
        &[
            "funnel",
            "--type",
            "rate",
            "--od",
            "spiegelhalter",
            "--multiplier",
            "1000",
        ],
        &files.write("rates.csv", &text),
    );
    let target = 114.0 / 14000.0;
    assert_close(f(&out["target"]), target * 1000.0, 1e-12, "pooled rate");
    let z: Vec<f64> = units
        .iter()
        .map(|(_, o, d)| 2.0 * (o.sqrt() - (target * d).sqrt()))
        .collect();
    let mut sorted = z.clone();
    sorted.sort_by(f64::total_cmp);
    // Type-7 quantiles of six values at 0.1 and 0.9: h = 0.5 and 4.5.
    let lo = sorted[0] + 0.5 * (sorted[1] - sorted[0]);
    let hi = sorted[4] + 0.5 * (sorted[5] - sorted[4]);
    let w: Vec<f64> = z.iter().map(|v| v.clamp(lo, hi)).collect();
    let phi = w.iter().map(|v| v * v).sum::<f64>() / 6.0;
    assert_close(f(&out["phi"]), phi, 1e-12, "phi");
    let weights: Vec<f64> = units.iter().map(|(_, _, d)| 4.0 * target * d).collect();
    let sw: f64 = weights.iter().sum();
    let sw2: f64 = weights.iter().map(|w| w * w).sum();
    let tau2 = (6.0 * phi - 5.0) / (sw - sw2 / sw);
    assert!(tau2 > 0.0, "these units are overdispersed");
    assert_close(f(&out["tau2"]), tau2, 1e-12, "tau2");
    let z95 = 1.959963984540054;
    for (u, (_, _, d)) in out["units"].as_array().unwrap().iter().zip(units) {
        let e = target * d;
        let spread = (1.0 / (4.0 * e) + tau2).sqrt();
        let upper = target * 1000.0 * (1.0 + z95 * spread).powi(2);
        let lower = target * 1000.0 * (1.0 - z95 * spread).max(0.0).powi(2);
        assert_close(f(&u["od_upper_95"]), upper, 1e-9, "od upper");
        assert_close(f(&u["od_lower_95"]), lower, 1e-9, "od lower");
    }
}

#[test]
fn rates_and_proportions_at_two_levels() {
    let files = Files::new();
    let mut text = String::from("unit,count,denominator\n");
    let rows = REFERENCE["rates"]["phe_rate_test_Rate_rows_9_16"]
        .as_array()
        .unwrap();
    for row in rows {
        text.push_str(&format!(
            "{},{},{}\n",
            row["Area"].as_str().unwrap(),
            row["Numerator"],
            row["Denominator"]
        ));
    }
    let input = files.write("rates.csv", &text);
    let out = stats_json(
        &["rate", "--multiplier", "100000", "--conf", "0.95,0.998"],
        &input,
    );
    for (u, row) in out["units"].as_array().unwrap().iter().zip(rows) {
        assert_close(f(&u["value"]), f(&row["value"]), 1e-9, "rate");
        assert_fields(u, row, &BOUNDS, 1e-8);
        let method = if f(&row["Numerator"]) < 10.0 {
            "exact"
        } else {
            "byar"
        };
        assert_eq!(u["method"], method);
    }
    let rows = REFERENCE["rates"]["phe_proportion_test_Prop_rows_1_8"]
        .as_array()
        .unwrap();
    let out = stats_json(&["proportion", "--conf", "0.998"], &input);
    for (u, row) in out["units"].as_array().unwrap().iter().zip(rows) {
        assert_fields(u, row, &BOUNDS[2..], 1e-8);
        assert!(u.get("lower_95").is_none(), "only the level asked for");
    }
    let csv = run_stats(&["rate", "--format", "csv"], &input);
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert_eq!(
        csv.lines().next().unwrap(),
        "unit,count,denominator,value,lower_95,upper_95,method"
    );
    assert_eq!(csv.lines().count(), 9);
}

#[test]
fn dsr_with_a_standard_file_and_the_builtin_esp2013() {
    let d = &REFERENCE["rates"]["dsr_dobson_esp2013"];
    let data = d["data"].as_array().unwrap();
    // The PHE test bands (one is labelled "55-69" there) with the ESP 2013 weights.
    let mut standard = String::from("age_band,weight\n");
    for (row, w) in data.iter().zip(d["esp2013"].as_array().unwrap()) {
        standard.push_str(&format!("{},{w}\n", row["ageband"].as_str().unwrap()));
    }
    let mut text = String::from("unit,age_band,count,population\n");
    for row in data {
        let count = row["count"]
            .as_f64()
            .map(|c| c.to_string())
            .unwrap_or_default();
        text.push_str(&format!(
            "{},{},{count},{}\n",
            row["area"].as_str().unwrap(),
            row["ageband"].as_str().unwrap(),
            row["pop"]
        ));
    }
    let files = Files::new();
    let std_path = files.write("std.csv", &standard);
    let out = stats_json(
        &[
            "dsr",
            "--standard",
            std_path.to_str().unwrap(),
            "--conf",
            "0.95,0.998",
            "--reference",
            "testdata_small",
        ],
        &files.write("dsr.csv", &text),
    );
    let units = out["units"].as_array().unwrap();
    for (u, e) in units.iter().zip(d["result"].as_array().unwrap()) {
        assert_eq!(u["unit"], e["area"]);
        assert_eq!(u["total_count"], e["total_count"].as_f64().unwrap());
        // Dobson limits, null below 10 events (PHE withholds them).
        assert_fields(u, e, &BOUNDS, 1e-8);
        assert!(f(&u["gamma_lower_95"]) <= f(&u["dsr"]) && f(&u["dsr"]) <= f(&u["gamma_upper_95"]));
    }
    assert_close(f(&units[0]["dsr"]), 10430.2479914694, 1e-9, "big");
    assert!(f(&units[2]["dsr"]) > 0.0, "the tiny area's DSR is given");
    assert_close(
        f(&units[0]["ratio"]),
        10430.2479914694 / 1103.2120253001,
        1e-9,
        "ratio to small",
    );
    assert_close(f(&units[1]["ratio"]), 1.0, 1e-12, "the reference to itself");

    // The built-in standard uses ako's bands: one unit, every band 10 events in 1,000
    // people, standardises to exactly 1,000 per 100,000.
    let mut flat = String::from("unit,age_band,count,population\n");
    for band in ako::model::AGE_BANDS {
        flat.push_str(&format!("NZ,{band},10,1000\n"));
    }
    let out = stats_json(&["dsr"], &files.write("flat.csv", &flat));
    assert_eq!(out["standard"], "esp2013");
    assert_close(f(&out["units"][0]["dsr"]), 1000.0, 1e-12, "flat rate");
    assert_eq!(out["units"][0]["total_count"], 180.0);
}

#[test]
fn rate_ratios_with_zero_counts() {
    let text =
        "unit,a,pa,b,pb\nboth,30,1000,20,2000\nnone_in_a,0,1000,8,1000\nnone_in_b,5,1000,0,1000\n";
    let files = Files::new();
    let out = stats_json(&["ratio"], &files.write("rr.csv", text));
    let rows = out["rows"].as_array().unwrap();
    let z = 1.959963984540054;
    let se = (1.0f64 / 30.0 + 1.0 / 20.0).sqrt();
    assert_eq!(rows[0]["unit"], "both");
    assert_close(f(&rows[0]["rr"]), 3.0, 1e-12, "rr");
    assert_close(
        f(&rows[0]["wald_lower_95"]),
        (3f64.ln() - z * se).exp(),
        1e-12,
        "wald lower",
    );
    assert_close(
        f(&rows[0]["wald_upper_95"]),
        (3f64.ln() + z * se).exp(),
        1e-12,
        "wald upper",
    );
    let (lo, hi) = (f(&rows[0]["exact_lower_95"]), f(&rows[0]["exact_upper_95"]));
    assert!(lo < 3.0 && 3.0 < hi);
    // a = 0: rr 0, no Wald limits, exact upper from Beta(1, 8): π = 1 − 0.025^(1/8).
    assert_eq!(rows[1]["rr"], 0.0);
    assert_eq!(rows[1]["wald_lower_95"], Value::Null);
    assert_eq!(rows[1]["exact_lower_95"], 0.0);
    let pi: f64 = 1.0 - 0.025f64.powf(1.0 / 8.0);
    assert_close(
        f(&rows[1]["exact_upper_95"]),
        pi / (1.0 - pi),
        1e-9,
        "exact upper, a = 0",
    );
    // b = 0: the ratio is unbounded; the exact lower limit from Beta(5, 1): π = 0.025^(1/5).
    assert_eq!(rows[2]["rr"], Value::Null);
    assert_eq!(rows[2]["exact_upper_95"], Value::Null);
    let pi: f64 = 0.025f64.powf(1.0 / 5.0);
    assert_close(
        f(&rows[2]["exact_lower_95"]),
        pi / (1.0 - pi),
        1e-9,
        "exact lower, b = 0",
    );
}

#[test]
fn bad_input_names_the_line_and_column() {
    // (arguments, file name, content, what the message must say)
    let cases: [(&[&str], &str, &str, &str); 8] = [
        (
            &["spc", "--chart", "u"],
            "m.csv",
            "x,count\n1,3\n",
            "m.csv: no column 'n'",
        ),
        (
            &["spc", "--chart", "i"],
            "w.csv",
            "x,y\n1,3\n2,abc\n",
            "w.csv line 3, column 'y': 'abc' is not a number",
        ),
        (
            &["rate"],
            "n.csv",
            "unit,count,denominator\nA,4,10\n\nB,-2,10\n",
            "n.csv line 4, column 'count': -2 is a negative count",
        ),
        (
            &["funnel", "--type", "rate"],
            "z.csv",
            "unit,numerator,denominator\nA,4,0\n",
            "z.csv line 2, column 'denominator': is a zero denominator",
        ),
        (
            &["spc", "--chart", "c"],
            "r.csv",
            "x,count\n2024-01-01,3\n2024-01-01,4\n",
            "r.csv line 3, column 'x': '2024-01-01' repeats line 2",
        ),
        (
            &["spc", "--chart", "c"],
            "d.csv",
            "x,count\n04/13/2024,3\n",
            "d.csv line 2, column 'x': '04/13/2024' is not a date written day/month/year with the year in full",
        ),
        (
            &["spc", "--chart", "p", "--convention", "mdc"],
            "p.csv",
            "x,count,n\n1,1,10\n2,2,10\n",
            "XmR (i) charts only",
        ),
        (
            &["dsr"],
            "b.csv",
            "unit,age_band,count,population\nA,0-4,1,100\n",
            "b.csv line 2, column 'age_band': '0-4' is not an age band",
        ),
    ];
    let files = Files::new();
    for (args, name, content, expected) in cases {
        let message = stats_refused(args, &files.write(name, content));
        assert!(message.contains(expected), "{args:?}: {message}");
    }
}

/// The monthly table of the issue as an analyst's spreadsheet holds it: 24 months from
/// January 2023, seclusions (some over a thousand) and bed days (thousands), and the share
/// of inpatients secluded.
fn excel_months() -> Vec<(chrono::NaiveDate, f64, f64, f64)> {
    (0..24)
        .map(|i| {
            let first =
                chrono::NaiveDate::from_ymd_opt(2023 + i / 12, (i % 12) as u32 + 1, 1).unwrap();
            // The month's last day, as a spreadsheet of month ends writes it.
            let last = first
                .checked_add_months(chrono::Months::new(1))
                .unwrap()
                .pred_opt()
                .unwrap();
            let count = 950.0 + 17.0 * f64::from(i % 7) + 60.0 * f64::from(i % 3);
            let bed_days = 11_800.0 + 125.0 * f64::from(i % 5);
            let share = 0.05 + 0.0025 * f64::from(i % 9);
            (last, count, bed_days, share)
        })
        .collect()
}

/// `1204` as Excel's CSV export writes it: `"1,204"`.
fn thousands(v: f64) -> String {
    let whole = format!("{}", v as i64);
    let mut out = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn excel_files(files: &Files) -> (PathBuf, PathBuf) {
    // The CSV as Excel saves it in New Zealand: a BOM, CRLF line ends, day-first dates,
    // thousands separators (so quoted) and percentages.
    let mut csv = String::from("\u{feff}Month,Seclusions,Bed days,Secluded\r\n");
    for (d, count, bed_days, share) in excel_months() {
        csv.push_str(&format!(
            "{},\"{}\",\"{}\",{}%\r\n",
            d.format("%d/%m/%Y"),
            thousands(count),
            thousands(bed_days),
            (share * 100.0 * 100.0).round() / 100.0
        ));
    }
    let csv = files.write("months.csv", &csv);
    // The same numbers as the workbook's own cells: dates, numbers, a percentage.
    let xlsx = files.0.path().join("months.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let date = rust_xlsxwriter::Format::new().set_num_format("dd/mm/yyyy");
    let thousand = rust_xlsxwriter::Format::new().set_num_format("#,##0");
    let percent = rust_xlsxwriter::Format::new().set_num_format("0.00%");
    let sheet = book.add_worksheet();
    sheet.set_name("Monthly").unwrap();
    for (c, h) in ["Month", "Seclusions", "Bed days", "Secluded"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (i, (d, count, bed_days, share)) in excel_months().into_iter().enumerate() {
        let r = i as u32 + 1;
        let day = rust_xlsxwriter::ExcelDateTime::from_ymd(
            d.format("%Y").to_string().parse().unwrap(),
            d.format("%m").to_string().parse().unwrap(),
            d.format("%d").to_string().parse().unwrap(),
        )
        .unwrap();
        sheet.write_datetime_with_format(r, 0, &day, &date).unwrap();
        sheet
            .write_number_with_format(r, 1, count, &thousand)
            .unwrap();
        sheet
            .write_number_with_format(r, 2, bed_days, &thousand)
            .unwrap();
        sheet
            .write_number_with_format(r, 3, (share * 10_000.0).round() / 10_000.0, &percent)
            .unwrap();
    }
    // A second sheet, read only when asked for.
    let other = book.add_worksheet();
    other.set_name("Other").unwrap();
    other.write_string(0, 0, "Month").unwrap();
    other.write_string(0, 1, "Seclusions").unwrap();
    other.write_string(0, 2, "Bed days").unwrap();
    for r in 1..=3u32 {
        other.write_string(r, 0, format!("2024-0{r}")).unwrap();
        other.write_number(r, 1, f64::from(r)).unwrap();
        other.write_number(r, 2, 100.0).unwrap();
    }
    book.save(&xlsx).unwrap();
    (csv, xlsx)
}

#[test]
fn an_excel_table_is_read_as_it_comes_and_its_workbook_gives_the_same_result() {
    let files = Files::new();
    let (csv, xlsx) = excel_files(&files);
    let u = [
        "spc",
        "--chart",
        "u",
        "--multiply",
        "1000",
        "--x",
        "Month",
        "--count",
        "Seclusions",
        "--n",
        "Bed days",
    ];
    let from_csv = run_stats(&u, &csv);
    assert!(
        from_csv.status.success(),
        "{}",
        String::from_utf8_lossy(&from_csv.stderr)
    );
    let from_xlsx = run_stats(&u, &xlsx);
    assert!(
        from_xlsx.status.success(),
        "{}",
        String::from_utf8_lossy(&from_xlsx.stderr)
    );
    assert_eq!(
        String::from_utf8(from_csv.stdout.clone()).unwrap(),
        String::from_utf8(from_xlsx.stdout).unwrap(),
        "the CSV and the workbook give the same chart"
    );
    let chart: Value = serde_json::from_slice(&from_csv.stdout).unwrap();
    assert_eq!(chart["x_kind"], "date");
    let points = chart["points"].as_array().unwrap();
    assert_eq!(points.len(), 24);
    // By hand: January 2023 has 950 seclusions over 11,800 bed days.
    assert_eq!(points[0]["x"], "2023-01-31");
    assert_close(
        f(&points[0]["y"]),
        950.0 / 11_800.0 * 1000.0,
        1e-9,
        "first point",
    );
    assert_eq!(points[23]["x"], "2024-12-31");
    // The same numbers as x,count,n give the same chart: the flags only rename.
    let mut plain = String::from("x,count,n\n");
    for (d, count, bed_days, _) in excel_months() {
        plain.push_str(&format!("{d},{count},{bed_days}\n"));
    }
    let plain = run_stats(
        &["spc", "--chart", "u", "--multiply", "1000"],
        &files.write("plain.csv", &plain),
    );
    assert_eq!(plain.stdout, from_csv.stdout);

    // Percentages are proportions: 5.00% is 0.05, from the CSV's text and the cell alike.
    let i = ["spc", "--chart", "i", "--x", "Month", "--y", "Secluded"];
    let a = run_stats(&i, &csv);
    let b = run_stats(&i, &xlsx);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert_eq!(a.stdout, b.stdout);
    let chart: Value = serde_json::from_slice(&a.stdout).unwrap();
    assert_close(f(&chart["points"][0]["y"]), 0.05, 1e-12, "5.00%");
    assert_close(f(&chart["points"][1]["y"]), 0.0525, 1e-12, "5.25%");

    // Another sheet when asked for; a sheet that is not there is named with those that are.
    let other = stats_json(
        &[
            "spc",
            "--chart",
            "c",
            "--sheet",
            "Other",
            "--x",
            "Month",
            "--count",
            "Seclusions",
        ],
        &xlsx,
    );
    let ys: Vec<f64> = other["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| f(&p["y"]))
        .collect();
    assert_eq!(ys, [1.0, 2.0, 3.0]);
    let refused = stats_refused(&["spc", "--chart", "c", "--sheet", "Yearly"], &xlsx);
    assert!(
        refused.contains("no sheet 'Yearly' (the workbook has: Monthly, Other)"),
        "{refused}"
    );
    let refused = stats_refused(&["spc", "--chart", "c", "--sheet", "Monthly"], &csv);
    assert!(
        refused.contains("--sheet Monthly is for spreadsheet workbooks"),
        "{refused}"
    );
    // A bad cell in a workbook names the sheet, its row and the analyst's column.
    let refused = stats_refused(
        &[
            "spc",
            "--chart",
            "u",
            "--x",
            "Month",
            "--count",
            "Seclusions",
            "--n",
            "Month",
        ],
        &xlsx,
    );
    assert!(
        refused.contains(
            "months.xlsx sheet 'Monthly' line 2, column 'month': '2023-01-31' is not a number"
        ),
        "{refused}"
    );
    // A flag for a column the method does not read, and a column that is not there.
    let refused = stats_refused(&["funnel", "--type", "rate", "--y", "Seclusions"], &csv);
    assert!(
        refused.contains(
            "--y: ako stats funnel does not read a y column (it reads unit, numerator, denominator)"
        ),
        "{refused}"
    );
    let refused = stats_refused(&["spc", "--chart", "u", "--count", "Events"], &csv);
    assert!(
        refused.contains(
            "no column 'Events' for --count (the header has: month, seclusions, bed days, secluded)"
        ),
        "{refused}"
    );
}
