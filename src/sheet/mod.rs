//! `ako stats`: the statistics engine over an analyst's own table (a sheet). Reads the sheet,
//! checks every cell, runs the method and shapes the output (**contract**).

pub mod input;
pub mod output;
mod workbook;

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use crate::stats::dsr::{self, Dsr};
use crate::stats::funnel::{self, FunnelOptions};
use crate::stats::rates::{self, Interval};
use crate::stats::ratio;
use crate::stats::spc::{self, SpcOptions};
use crate::stats::{Level, StatsError};

pub use input::{InputError, Sheet};
pub use output::{Node, Report};

impl From<StatsError> for InputError {
    fn from(e: StatsError) -> InputError {
        InputError::Method(e.to_string())
    }
}

/// European Standard Population 2013 in ako's age bands (85+ pooled), summing to 100,000.
pub const ESP2013: [(&str, f64); 18] = [
    ("00-04", 5000.0),
    ("05-09", 5500.0),
    ("10-14", 5500.0),
    ("15-19", 5500.0),
    ("20-24", 6000.0),
    ("25-29", 6000.0),
    ("30-34", 6500.0),
    ("35-39", 7000.0),
    ("40-44", 7000.0),
    ("45-49", 7000.0),
    ("50-54", 7000.0),
    ("55-59", 6500.0),
    ("60-64", 6000.0),
    ("65-69", 5500.0),
    ("70-74", 5000.0),
    ("75-79", 4000.0),
    ("80-84", 2500.0),
    ("85+", 2500.0),
];

/// What the x column holds, which decides the order of points and whether the chart is
/// over time or across units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XKind {
    Date,
    Number,
    Label,
}

/// A date as ISO (`2024-01-31`, or a month `2024-01`) or as NZ and AU spreadsheets
/// write it, day first with the year in full (`31/01/2024`).
fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d"))
        .ok()
        .or_else(|| local_date(text))
}

/// `31/01/2024` (or `1/2/2024`): day, month, year in full.
fn local_date(text: &str) -> Option<NaiveDate> {
    let parts: Vec<&str> = text.split('/').collect();
    if !looks_like_local_date(text)
        || parts[2].len() != 4
        || parts[0].len() > 2
        || parts[1].len() > 2
    {
        return None;
    }
    let n = |p: &str| p.parse::<u32>().ok();
    NaiveDate::from_ymd_opt(parts[2].parse().ok()?, n(parts[1])?, n(parts[0])?)
}

fn looks_like_local_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('/').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// Reads `x` and returns the row order to plot in and the kind of axis. Dates and numbers
/// are sorted (a chart is read in time order, whatever order the rows came in); labels
/// keep the order written. A repeated x is refused: in an extract it is a double
/// submission far more often than two subgroups meant to be summed.
fn x_axis(t: &Sheet) -> Result<(Vec<usize>, XKind), InputError> {
    let col = t.column("x")?;
    let mut texts = Vec::with_capacity(t.len());
    for row in 0..t.len() {
        let text = t.label(row, col)?;
        if looks_like_local_date(text) && local_date(text).is_none() {
            return Err(t.cell_error(
                row,
                col,
                format!(
                    "'{text}' is not a date written day/month/year with the year in full, as NZ and AU write them (31/01/2024), nor YYYY-MM-DD"
                ),
            ));
        }
        texts.push(text);
    }
    let kind = if texts.iter().all(|x| parse_date(x).is_some()) {
        XKind::Date
    } else if texts
        .iter()
        .all(|x| x.parse::<f64>().is_ok_and(f64::is_finite))
    {
        XKind::Number
    } else {
        XKind::Label
    };
    let mut order: Vec<usize> = (0..t.len()).collect();
    match kind {
        XKind::Date => order.sort_by_key(|&r| parse_date(texts[r])),
        XKind::Number => order.sort_by(|&a, &b| {
            let (a, b) = (
                texts[a].parse::<f64>().unwrap(),
                texts[b].parse::<f64>().unwrap(),
            );
            a.total_cmp(&b)
        }),
        XKind::Label => {}
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for &row in &order {
        let key = match kind {
            XKind::Date => parse_date(texts[row])
                .map(|d| d.to_string())
                .unwrap_or_default(),
            XKind::Number => texts[row].parse::<f64>().unwrap().to_string(),
            XKind::Label => texts[row].to_string(),
        };
        if let Some(first) = seen.insert(key, row) {
            return Err(t.cell_error(
                row,
                col,
                format!(
                    "'{}' repeats line {}: one row per subgroup",
                    texts[row],
                    t.line(first)
                ),
            ));
        }
    }
    Ok((order, kind))
}

/// `ako stats spc`. `options.categorical` is set from the x column.
pub fn spc_report(t: &Sheet, mut options: SpcOptions) -> Result<Report, InputError> {
    if t.is_empty() {
        return Err(InputError::Method(format!(
            "{}: no rows to chart",
            t.name()
        )));
    }
    let (order, kind) = x_axis(t)?;
    options.categorical = kind == XKind::Label;
    let x_col = t.column("x")?;
    let chart = options.chart;
    let mut values = Vec::with_capacity(t.len());
    let mut sizes = Vec::with_capacity(t.len());
    if chart.of_counts() {
        let count_col = t.column("count")?;
        let n_col = if chart.needs_sizes() {
            Some(t.column("n")?)
        } else {
            t.optional_column("n")
        };
        for &row in &order {
            let count = t.optional_count(row, count_col)?;
            let n = match n_col {
                Some(c) => t.optional_denominator(row, c)?,
                None => None,
            };
            if let (Some(c), Some(n)) = (count, n)
                && matches!(chart, spc::Chart::P | spc::Chart::Pp)
                && c > n
            {
                return Err(t.cell_error(row, count_col, format!("{c} is more than its n {n}")));
            }
            // A subgroup missing either part is a missing point (as qicharts2).
            let complete = count.is_some() && (!chart.needs_sizes() || n.is_some());
            values.push(if complete { count.unwrap() } else { f64::NAN });
            sizes.push(if complete {
                n.unwrap_or(f64::NAN)
            } else {
                f64::NAN
            });
        }
    } else {
        let y_col = t.column("y")?;
        // A y written in percentages is the proportion it stands for (12.5% is 0.125,
        // as the workbook's own cell holds it); --multiply 100 charts it in percent.
        let percent = t.percent_column(y_col)?;
        for &row in &order {
            values.push(
                t.optional_proportion(row, y_col, percent)?
                    .unwrap_or(f64::NAN),
            );
        }
    }
    let chart_result = spc::spc(
        &values,
        chart.needs_sizes().then_some(sizes.as_slice()),
        &options,
    )?;
    let x_node = |row: usize| -> Node {
        let text = t.text(row, x_col);
        match kind {
            XKind::Number => match text.parse::<f64>() {
                // Whole numbers stay whole (week 3, not 3.0).
                Ok(v) if v.fract() == 0.0 && v.abs() < 9e15 => Node::Value((v as i64).into()),
                Ok(v) => v.into(),
                Err(_) => Node::Value(serde_json::Value::Null),
            },
            // A day written as NZ and AU spreadsheets do is given as ISO, as the
            // workbook's own date cell is.
            XKind::Date if looks_like_local_date(text) => local_date(text)
                .map_or_else(|| text.to_string(), |d| d.to_string())
                .as_str()
                .into(),
            _ => text.into(),
        }
    };
    let points: Vec<Node> = order
        .iter()
        .zip(&chart_result.points)
        .map(|(&row, p)| {
            Node::object()
                .with("x", x_node(row))
                .with("y", p.y)
                .with("cl", p.cl)
                .with("lcl", p.lcl)
                .with("ucl", p.ucl)
                .with("lcl95", p.lcl95)
                .with("ucl95", p.ucl95)
                .with("sigma_signal", p.sigma_signal)
                .with("special_cause", p.special_cause)
                .with("point_type", p.point_type.map(|t| t.name()))
                .with("special_cause_type", p.special_cause_type)
                .with("part", p.part)
                .with("baseline", p.baseline)
        })
        .collect();
    let summary = |s: &spc::Summary| {
        Node::object()
            .with("n_useful", s.n_useful)
            .with("longest_run", s.longest_run)
            .with("longest_run_max", s.longest_run_max)
            .with("n_crossings", s.n_crossings)
            .with("n_crossings_min", s.n_crossings_min)
            .with("runs_signal", s.runs_signal)
            .with("variation_icon", s.variation_icon.map(|p| p.name()))
            .with("assurance", s.assurance.map(|a| a.name()))
    };
    let parts: Vec<Node> = chart_result
        .parts
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut n = summary(s);
            if let Node::Object(fields) = &mut n {
                fields.insert(0, ("part".into(), (i + 1).into()));
            }
            n
        })
        .collect();
    let body = Node::object()
        .with("method", "spc")
        .with("chart", chart.name())
        .with(
            "convention",
            match options.convention {
                spc::Convention::Anhoej => "anhoej",
                spc::Convention::Mdc => "mdc",
            },
        )
        .with(
            "x_kind",
            match kind {
                XKind::Date => "date",
                XKind::Number => "number",
                XKind::Label => "label",
            },
        )
        .with("points", points)
        .with("summary", summary(&chart_result.summary))
        .with("parts", parts);
    Ok(Report {
        body,
        rows_key: "points",
    })
}

fn unique_units(t: &Sheet, col: input::Column) -> Result<Vec<String>, InputError> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut units = Vec::with_capacity(t.len());
    for row in 0..t.len() {
        let unit = t.label(row, col)?;
        if let Some(first) = seen.insert(unit, row) {
            return Err(t.cell_error(row, col, format!("'{unit}' repeats line {}", t.line(first))));
        }
        units.push(unit.to_string());
    }
    Ok(units)
}

fn push_interval(row: &mut Node, prefix: &str, i: &Interval) {
    let s = i.level.suffix();
    row.push(format!("{prefix}lower_{s}"), i.lower);
    row.push(format!("{prefix}upper_{s}"), i.upper);
}

/// `ako stats funnel`.
pub fn funnel_report(t: &Sheet, options: FunnelOptions) -> Result<Report, InputError> {
    if t.is_empty() {
        return Err(InputError::Method(format!(
            "{}: no units to compare",
            t.name()
        )));
    }
    let unit_col = t.column("unit")?;
    let (num_col, den_col) = (t.column("numerator")?, t.column("denominator")?);
    let units = unique_units(t, unit_col)?;
    let mut num = Vec::with_capacity(t.len());
    let mut den = Vec::with_capacity(t.len());
    for row in 0..t.len() {
        let (n, d) = (t.count(row, num_col)?, t.denominator(row, den_col)?);
        if options.kind == funnel::FunnelType::Proportion && n > d {
            return Err(t.cell_error(
                row,
                num_col,
                format!("{n} is more than its denominator {d}"),
            ));
        }
        num.push(n);
        den.push(d);
    }
    let f = funnel::funnel(&num, &den, &options)?;
    let rows: Vec<Node> = f
        .units
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let mut row = Node::object()
                .with("unit", units[i].as_str())
                .with("numerator", num[i])
                .with("denominator", den[i])
                .with("value", u.value)
                .with("z", u.z);
            for (level, (lo, hi)) in funnel::LEVELS.iter().zip(u.limits) {
                row.push(format!("lower_{}", level.suffix()), lo);
                row.push(format!("upper_{}", level.suffix()), hi);
            }
            for (k, level) in funnel::LEVELS.iter().enumerate() {
                let (lo, hi) = u.od_limits.map_or((None, None), |l| l[k]);
                row.push(format!("od_lower_{}", level.suffix()), lo);
                row.push(format!("od_upper_{}", level.suffix()), hi);
            }
            row.push("outlier_95", u.outlier[0]);
            row.push("outlier_99_8", u.outlier[1]);
            row
        })
        .collect();
    let body = Node::object()
        .with("method", "funnel")
        .with(
            "type",
            match options.kind {
                funnel::FunnelType::Ratio => "ratio",
                funnel::FunnelType::Rate => "rate",
                funnel::FunnelType::Proportion => "proportion",
            },
        )
        .with(
            "od",
            match options.od {
                funnel::Overdispersion::None => "none",
                funnel::Overdispersion::Shmi => "shmi",
                funnel::Overdispersion::Spiegelhalter => "spiegelhalter",
            },
        )
        .with("target", f.target)
        .with("phi", f.phi)
        .with("tau2", f.tau2)
        .with("adjusted", f.adjusted)
        .with("units", rows);
    Ok(Report {
        body,
        rows_key: "units",
    })
}

/// `ako stats rate`: Poisson rates, exact below 10 events and Byar from 10.
pub fn rate_report(t: &Sheet, levels: &[Level], multiplier: f64) -> Result<Report, InputError> {
    count_report(t, levels, multiplier, false)
}

/// `ako stats proportion`: Wilson intervals.
pub fn proportion_report(
    t: &Sheet,
    levels: &[Level],
    multiplier: f64,
) -> Result<Report, InputError> {
    count_report(t, levels, multiplier, true)
}

fn count_report(
    t: &Sheet,
    levels: &[Level],
    multiplier: f64,
    proportion: bool,
) -> Result<Report, InputError> {
    check_multiplier(multiplier)?;
    let unit_col = t.column("unit")?;
    let (count_col, den_col) = (t.column("count")?, t.column("denominator")?);
    let mut rows = Vec::with_capacity(t.len());
    for row in 0..t.len() {
        let unit = t.label(row, unit_col)?;
        let (count, den) = (t.count(row, count_col)?, t.denominator(row, den_col)?);
        let mut out = Node::object()
            .with("unit", unit)
            .with("count", count)
            .with("denominator", den);
        if proportion {
            if count > den {
                return Err(t.cell_error(
                    row,
                    count_col,
                    format!("{count} is more than its denominator {den}"),
                ));
            }
            let (value, intervals) = rates::proportion(count, den, levels, multiplier)?;
            out.push("value", value);
            intervals
                .iter()
                .for_each(|i| push_interval(&mut out, "", i));
            out.push("method", "wilson");
        } else {
            let r = rates::rate(count, den, levels, multiplier)?;
            out.push("value", r.value);
            r.intervals
                .iter()
                .for_each(|i| push_interval(&mut out, "", i));
            out.push(
                "method",
                match r.method {
                    rates::RateMethod::Exact => "exact",
                    rates::RateMethod::Byar => "byar",
                },
            );
        }
        rows.push(out);
    }
    let body = Node::object()
        .with("method", if proportion { "proportion" } else { "rate" })
        .with("multiplier", multiplier)
        .with("units", rows);
    Ok(Report {
        body,
        rows_key: "units",
    })
}

fn check_multiplier(m: f64) -> Result<(), InputError> {
    if m.is_finite() && m > 0.0 {
        Ok(())
    } else {
        Err(InputError::Method(format!(
            "multiplier {m} must be a positive number"
        )))
    }
}

/// A standard population: age bands in order with their weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Standard {
    pub name: String,
    pub bands: Vec<(String, f64)>,
}

impl Standard {
    pub fn esp2013() -> Standard {
        Standard {
            name: "esp2013".into(),
            bands: ESP2013.iter().map(|(b, w)| (b.to_string(), *w)).collect(),
        }
    }

    /// A table with columns `age_band,weight`.
    pub fn from_table(t: &Sheet) -> Result<Standard, InputError> {
        let (band_col, weight_col) = (t.column("age_band")?, t.column("weight")?);
        let mut bands: Vec<(String, f64)> = Vec::with_capacity(t.len());
        for row in 0..t.len() {
            let band = t.label(row, band_col)?;
            if let Some(i) = bands.iter().position(|(b, _)| b == band) {
                return Err(t.cell_error(
                    row,
                    band_col,
                    format!("'{band}' is listed twice (band {} too)", i + 1),
                ));
            }
            let weight = t.count(row, weight_col)?;
            bands.push((band.to_string(), weight));
        }
        if bands.is_empty() {
            return Err(InputError::Method(format!(
                "{}: the standard population has no age bands",
                t.name()
            )));
        }
        Ok(Standard {
            name: t.name().to_string(),
            bands,
        })
    }
}

/// `ako stats dsr`: directly standardised rates by unit, with Dobson and gamma limits and,
/// given a reference unit, each unit's ratio to it.
pub fn dsr_report(
    t: &Sheet,
    standard: &Standard,
    levels: &[Level],
    multiplier: f64,
    reference: Option<&str>,
) -> Result<Report, InputError> {
    check_multiplier(multiplier)?;
    let unit_col = t.column("unit")?;
    let band_col = t.column("age_band")?;
    let (count_col, pop_col) = (t.column("count")?, t.column_of(&["population", "pop"])?);
    let band_index: HashMap<&str, usize> = standard
        .bands
        .iter()
        .enumerate()
        .map(|(i, (b, _))| (b.as_str(), i))
        .collect();
    // Units in first-seen order; per unit, (count, population, line) by band.
    let mut order: Vec<String> = Vec::new();
    let mut cells: HashMap<String, BTreeMap<usize, (f64, f64, usize)>> = HashMap::new();
    for row in 0..t.len() {
        let unit = t.label(row, unit_col)?;
        let band = t.label(row, band_col)?;
        let Some(&b) = band_index.get(band) else {
            return Err(t.cell_error(
                row,
                band_col,
                format!(
                    "'{band}' is not an age band of the standard {}",
                    standard.name
                ),
            ));
        };
        // PHE counts a missing count as no events.
        let count = t.optional_count(row, count_col)?.unwrap_or(0.0);
        let pop = t.denominator(row, pop_col)?;
        if !cells.contains_key(unit) {
            order.push(unit.to_string());
        }
        let by_band = cells.entry(unit.to_string()).or_default();
        if let Some((_, _, first)) = by_band.insert(b, (count, pop, row)) {
            return Err(t.cell_error(
                row,
                band_col,
                format!("'{band}' repeats line {} for unit '{unit}'", t.line(first)),
            ));
        }
    }
    let weights: Vec<f64> = standard.bands.iter().map(|(_, w)| *w).collect();
    let mut results: Vec<(String, Dsr)> = Vec::with_capacity(order.len());
    for unit in &order {
        let by_band = &cells[unit];
        if let Some((missing, _)) = standard
            .bands
            .iter()
            .enumerate()
            .find(|(i, _)| !by_band.contains_key(i))
            .map(|(_, b)| b)
        {
            return Err(InputError::Method(format!(
                "{}: unit '{unit}' has no row for age band '{missing}' (give every band of the standard, with count 0 where there were none)",
                t.name()
            )));
        }
        let counts: Vec<f64> = by_band.values().map(|c| c.0).collect();
        let pops: Vec<f64> = by_band.values().map(|c| c.1).collect();
        let d = dsr::dsr(&counts, &pops, &weights, levels, multiplier)?;
        results.push((unit.clone(), d));
    }
    let reference = match reference {
        Some(r) => Some(
            results
                .iter()
                .find(|(u, _)| u == r)
                .map(|(_, d)| d.clone())
                .ok_or_else(|| {
                    InputError::Method(format!("{}: no unit '{r}' to compare with", t.name()))
                })?,
        ),
        None => None,
    };
    let rows: Vec<Node> = results
        .iter()
        .map(|(unit, d)| {
            let mut row = Node::object()
                .with("unit", unit.as_str())
                .with("total_count", d.total_count)
                .with("total_population", d.total_population)
                .with("dsr", d.value);
            d.dobson.iter().for_each(|i| push_interval(&mut row, "", i));
            d.gamma
                .iter()
                .for_each(|i| push_interval(&mut row, "gamma_", i));
            if let Some(base) = &reference {
                let mut first = true;
                for &level in levels {
                    let (ratio, lo, hi) = dsr::dsr_ratio(d, base, level);
                    if first {
                        row.push("ratio", ratio);
                        first = false;
                    }
                    row.push(format!("ratio_lower_{}", level.suffix()), lo);
                    row.push(format!("ratio_upper_{}", level.suffix()), hi);
                }
            }
            row
        })
        .collect();
    let body = Node::object()
        .with("method", "dsr")
        .with("standard", standard.name.as_str())
        .with("multiplier", multiplier)
        .with("units", rows);
    Ok(Report {
        body,
        rows_key: "units",
    })
}

/// `ako stats ratio`: rate ratios a/pa over b/pb, Wald and exact.
pub fn ratio_report(t: &Sheet, levels: &[Level]) -> Result<Report, InputError> {
    let label_col = t
        .optional_column("unit")
        .or_else(|| t.optional_column("label"));
    let cols = [
        t.column("a")?,
        t.column("pa")?,
        t.column("b")?,
        t.column("pb")?,
    ];
    let mut rows = Vec::with_capacity(t.len());
    for row in 0..t.len() {
        let a = t.count(row, cols[0])?;
        let pa = t.denominator(row, cols[1])?;
        let b = t.count(row, cols[2])?;
        let pb = t.denominator(row, cols[3])?;
        let mut out = Node::object();
        if let Some(c) = label_col {
            out.push("unit", t.text(row, c));
        }
        out = out.with("a", a).with("pa", pa).with("b", b).with("pb", pb);
        let mut first = true;
        for &level in levels {
            let r = ratio::rate_ratio(a, pa, b, pb, level)?;
            if first {
                out.push("rr", r.rr);
                first = false;
            }
            let s = level.suffix();
            out.push(format!("wald_lower_{s}"), r.wald.0);
            out.push(format!("wald_upper_{s}"), r.wald.1);
            out.push(format!("exact_lower_{s}"), r.exact.0);
            out.push(format!("exact_upper_{s}"), r.exact.1);
        }
        rows.push(out);
    }
    Ok(Report {
        body: Node::object().with("method", "ratio").with("rows", rows),
        rows_key: "rows",
    })
}
