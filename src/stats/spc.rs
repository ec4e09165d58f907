//! Control charts and run charts in two conventions.
//!
//! * `anhoej` follows qicharts2: 3-sigma limits (and 2-sigma lines), sigma signals, and the
//!   Anhøj runs analysis about the centre line.
//! * `mdc` follows NHS England's "Making Data Count" as NHSRplotthedots implements it: an
//!   XmR chart with process limits at mean ± 2.66·MR̄, the four special-cause rules, point
//!   types relative to the improvement direction, a variation icon and target assurance.
//!
//! Positions in `freeze`, `exclude` and `part` are 1-based, as in both packages.

use serde::{Deserialize, Serialize};

use super::mdc::{self, Flag, Lines, Rule};
use super::runs::{self, Runs};
use super::{StatsError, finite};

/// d2 for moving ranges of two: σ ≈ MR̄ / 1.128.
const D2: f64 = 1.128;
/// D4 for moving ranges of two: moving ranges at or above 3.267·MR̄ are screened out.
const D4: f64 = 3.267;
/// Making Data Count's constant: 3 / 1.128 rounded, as the MDC tools write it.
const MDC_LIMIT: f64 = 2.66;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Chart {
    /// Run chart: median centre line, no limits.
    Run,
    /// Individuals (XmR) chart.
    I,
    /// Moving-range chart.
    Mr,
    /// Counts with equal opportunity.
    C,
    /// Rates: counts per unit of exposure.
    U,
    /// Proportions.
    P,
    /// Laney u′: a u chart widened by the between-subgroup variation.
    Up,
    /// Laney p′.
    Pp,
}

impl Chart {
    pub const ALL: [Chart; 8] = [
        Chart::Run,
        Chart::I,
        Chart::Mr,
        Chart::C,
        Chart::U,
        Chart::P,
        Chart::Up,
        Chart::Pp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Chart::Run => "run",
            Chart::I => "i",
            Chart::Mr => "mr",
            Chart::C => "c",
            Chart::U => "u",
            Chart::P => "p",
            Chart::Up => "up",
            Chart::Pp => "pp",
        }
    }

    /// Charts of counts (`x,count[,n]` input) rather than of measures (`x,y`).
    pub fn of_counts(self) -> bool {
        matches!(self, Chart::C | Chart::U | Chart::P | Chart::Up | Chart::Pp)
    }

    /// Charts that need a denominator.
    pub fn needs_sizes(self) -> bool {
        matches!(self, Chart::U | Chart::P | Chart::Up | Chart::Pp)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Convention {
    Anhoej,
    Mdc,
}

/// Which way is better (Making Data Count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Increase,
    Decrease,
    Neutral,
}

/// A point's type in Making Data Count (**contract** names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PointType {
    CommonCause,
    SpecialCauseImprovement,
    SpecialCauseConcern,
    SpecialCauseNeutralHigh,
    SpecialCauseNeutralLow,
}

impl PointType {
    pub fn name(self) -> &'static str {
        match self {
            PointType::CommonCause => "common_cause",
            PointType::SpecialCauseImprovement => "special_cause_improvement",
            PointType::SpecialCauseConcern => "special_cause_concern",
            PointType::SpecialCauseNeutralHigh => "special_cause_neutral_high",
            PointType::SpecialCauseNeutralLow => "special_cause_neutral_low",
        }
    }

    fn of(flag: Option<Flag>, direction: Direction) -> PointType {
        match (flag, direction) {
            (None, _) => PointType::CommonCause,
            (Some(f), Direction::Neutral) if f.high => PointType::SpecialCauseNeutralHigh,
            (Some(_), Direction::Neutral) => PointType::SpecialCauseNeutralLow,
            (Some(f), Direction::Increase) if f.high => PointType::SpecialCauseImprovement,
            (Some(f), Direction::Decrease) if !f.high => PointType::SpecialCauseImprovement,
            (Some(_), _) => PointType::SpecialCauseConcern,
        }
    }
}

/// Whether the process will meet a target (Making Data Count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Assurance {
    ConsistentPass,
    ConsistentFail,
    Inconsistent,
}

impl Assurance {
    pub fn name(self) -> &'static str {
        match self {
            Assurance::ConsistentPass => "consistent_pass",
            Assurance::ConsistentFail => "consistent_fail",
            Assurance::Inconsistent => "inconsistent",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SpcOptions {
    pub chart: Chart,
    pub convention: Convention,
    /// Limits from the first `freeze` points only (qicharts2 `freeze`; NHSRplotthedots
    /// `fix_after_n_points`, applied within each part).
    pub freeze: Option<usize>,
    /// Points left out of the centre line and limits (still plotted and signalled).
    pub exclude: Vec<usize>,
    /// Recompute after these positions: `part = [12]` makes points 1–12 and 13– two parts.
    pub part: Vec<usize>,
    /// Scales values, centre and limits after the calculation (100 for percentages).
    pub multiply: f64,
    /// Screen moving ranges of 3.267·MR̄ or more out of MR̄ (both packages' default).
    pub screen: bool,
    pub direction: Direction,
    pub target: Option<f64>,
    /// x is a label: a chart across units, not over time. Laney σ_z comes from the SD
    /// of z, and the runs analysis (which reads an order) is off.
    pub categorical: bool,
}

impl Default for SpcOptions {
    fn default() -> Self {
        SpcOptions {
            chart: Chart::Run,
            convention: Convention::Anhoej,
            freeze: None,
            exclude: Vec::new(),
            part: Vec::new(),
            multiply: 1.0,
            screen: true,
            direction: Direction::Increase,
            target: None,
            categorical: false,
        }
    }
}

/// One plotted point. Missing values and limits that do not apply are `None`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    pub y: Option<f64>,
    pub cl: Option<f64>,
    pub lcl: Option<f64>,
    pub ucl: Option<f64>,
    pub lcl95: Option<f64>,
    pub ucl95: Option<f64>,
    /// Outside the 3-sigma (anhoej) or process (mdc) limits.
    pub sigma_signal: bool,
    /// anhoej: a sigma signal or a runs signal in the point's part; mdc: any of the four
    /// rules.
    pub special_cause: bool,
    pub point_type: Option<PointType>,
    /// mdc: the rule that flagged the point.
    pub rule: Option<Rule>,
    /// mdc: NHSRplotthedots' wording of the rule.
    pub special_cause_type: Option<&'static str>,
    /// 1-based part the point belongs to.
    pub part: usize,
    /// Whether the point entered the centre line and limits.
    pub baseline: bool,
}

/// The verdict on a part (the chart's summary is its last part, the current process).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub n_useful: Option<usize>,
    pub longest_run: Option<usize>,
    pub longest_run_max: Option<usize>,
    pub n_crossings: Option<usize>,
    pub n_crossings_min: Option<usize>,
    pub runs_signal: Option<bool>,
    pub variation_icon: Option<PointType>,
    pub assurance: Option<Assurance>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpcChart {
    pub points: Vec<Point>,
    pub summary: Summary,
    pub parts: Vec<Summary>,
}

/// Draws a chart. `values` are the measures (run, i, mr) or counts (c, u, p, up, pp) in
/// plotting order, NaN where missing; `sizes` are the denominators of u, p, up and pp.
pub fn spc(
    values: &[f64],
    sizes: Option<&[f64]>,
    options: &SpcOptions,
) -> Result<SpcChart, StatsError> {
    let n = values.len();
    validate(values, sizes, options)?;
    let part_of = part_numbers(&options.part, n);
    let included: Vec<bool> = (1..=n).map(|pos| !options.exclude.contains(&pos)).collect();
    let parts = part_ranges(&part_of);
    let mut points = Vec::with_capacity(n);
    let mut summaries = Vec::with_capacity(parts.len());
    for (index, range) in parts.iter().enumerate() {
        let y = &values[range.clone()];
        let size = sizes.map(|s| &s[range.clone()]);
        let include = &included[range.clone()];
        let (part_points, summary) = match options.convention {
            Convention::Anhoej => {
                let baseline: Vec<bool> = range
                    .clone()
                    .map(|i| options.freeze.is_none_or(|k| i < k))
                    .zip(include)
                    .map(|(b, &inc)| b && inc)
                    .collect();
                anhoej_part(y, size, &baseline, include, options)
            }
            Convention::Mdc => {
                let baseline: Vec<bool> = (0..y.len())
                    .map(|i| options.freeze.is_none_or(|k| i < k) && include[i])
                    .collect();
                mdc_part(y, &baseline, options)
            }
        };
        points.extend(part_points.into_iter().map(|mut p| {
            p.part = index + 1;
            p
        }));
        summaries.push(summary);
    }
    let summary = summaries
        .last()
        .cloned()
        .expect("a chart has at least one part");
    Ok(SpcChart {
        points,
        summary,
        parts: summaries,
    })
}

fn validate(values: &[f64], sizes: Option<&[f64]>, o: &SpcOptions) -> Result<(), StatsError> {
    let n = values.len();
    if n == 0 {
        return Err(StatsError::invalid("a chart needs at least one point"));
    }
    if o.chart.needs_sizes() {
        match sizes {
            Some(s) if s.len() == n => {}
            _ => {
                return Err(StatsError::invalid(format!(
                    "a {} chart needs a denominator n for every point",
                    o.chart.name()
                )));
            }
        }
    }
    if !(o.multiply.is_finite() && o.multiply > 0.0) {
        return Err(StatsError::invalid("multiply must be a positive number"));
    }
    if let Some(k) = o.freeze
        && (k < 2 || k > n)
    {
        return Err(StatsError::invalid(format!(
            "freeze {k} is not a position between 2 and {n} (the number of points)"
        )));
    }
    if let Some(&bad) = o.exclude.iter().find(|&&p| p == 0 || p > n) {
        return Err(StatsError::invalid(format!(
            "exclude {bad} is not a position between 1 and {n}"
        )));
    }
    if let Some(&bad) = o.part.iter().find(|&&p| p == 0 || p >= n) {
        return Err(StatsError::invalid(format!(
            "part {bad} is not a position between 1 and {} (a new part starts after it)",
            n - 1
        )));
    }
    match o.convention {
        Convention::Anhoej => {
            if o.freeze.is_some() && !o.part.is_empty() {
                return Err(StatsError::invalid(
                    "freeze and part cannot be combined in the anhoej convention \
                     (qicharts2 ignores freeze when part is given): choose one",
                ));
            }
        }
        Convention::Mdc => {
            if o.chart != Chart::I {
                return Err(StatsError::invalid(format!(
                    "the mdc convention defines XmR (i) charts only, not {} charts: \
                     use the anhoej convention",
                    o.chart.name()
                )));
            }
            if o.categorical {
                return Err(StatsError::invalid(
                    "the mdc rules read a time order, but x is a label (a chart across units): \
                     use the anhoej convention",
                ));
            }
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                return Err(StatsError::invalid(format!(
                    "the mdc convention needs a value at every point; point {} has none",
                    i + 1
                )));
            }
        }
    }
    Ok(())
}

/// 1-based part of each position (qicharts2's `makeparts`).
fn part_numbers(breaks: &[usize], n: usize) -> Vec<usize> {
    let mut breaks: Vec<usize> = breaks.to_vec();
    breaks.sort_unstable();
    breaks.dedup();
    (1..=n)
        .map(|pos| 1 + breaks.iter().filter(|&&b| pos > b).count())
        .collect()
}

fn part_ranges(part_of: &[usize]) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    for i in 1..=part_of.len() {
        if i == part_of.len() || part_of[i] != part_of[start] {
            ranges.push(start..i);
            start = i;
        }
    }
    ranges
}

/// Mean of the finite values.
fn mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, count) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    if count == 0 {
        f64::NAN
    } else {
        sum / count as f64
    }
}

/// Average moving range of a sequence (pairs touching a missing value are dropped),
/// optionally screened: ranges at or above 3.267·MR̄ are removed once and MR̄ recomputed.
fn average_moving_range(values: &[f64], screen: bool) -> f64 {
    let ranges: Vec<f64> = values
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .filter(|r| r.is_finite())
        .collect();
    let amr = mean(ranges.iter().copied());
    if screen {
        let limit = D4 * amr;
        mean(ranges.into_iter().filter(|&r| r < limit))
    } else {
        amr
    }
}

/// Sample standard deviation of the finite values.
fn sample_sd(values: &[f64]) -> f64 {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.len() < 2 {
        return f64::NAN;
    }
    let m = mean(v.iter().copied());
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

fn pick<T: Copy>(values: &[T], mask: &[bool]) -> Vec<T> {
    values
        .iter()
        .zip(mask)
        .filter(|(_, m)| **m)
        .map(|(v, _)| *v)
        .collect()
}

struct Lines3 {
    y: Vec<f64>,
    cl: f64,
    lcl: Vec<f64>,
    ucl: Vec<f64>,
    lcl95: Vec<f64>,
    ucl95: Vec<f64>,
}

/// Centre line and limits of one anhoej part (qicharts2's `qic.<chart>` functions).
fn anhoej_lines(values: &[f64], sizes: Option<&[f64]>, base: &[bool], o: &SpcOptions) -> Lines3 {
    let n = values.len();
    let nan = vec![f64::NAN; n];
    let sigma_lines = |y: Vec<f64>, cl: f64, sd: Vec<f64>, lower_floor: bool, upper_cap: bool| {
        let clip = |v: f64, lower: bool| {
            if lower && lower_floor && v.is_finite() && v < 0.0 {
                0.0
            } else if !lower && upper_cap && v.is_finite() && v > 1.0 {
                1.0
            } else {
                v
            }
        };
        Lines3 {
            lcl: sd.iter().map(|s| clip(cl - 3.0 * s, true)).collect(),
            ucl: sd.iter().map(|s| clip(cl + 3.0 * s, false)).collect(),
            lcl95: sd.iter().map(|s| clip(cl - 2.0 * s, true)).collect(),
            ucl95: sd.iter().map(|s| clip(cl + 2.0 * s, false)).collect(),
            y,
            cl,
        }
    };
    match o.chart {
        Chart::Run => Lines3 {
            cl: runs::median(pick(values, base)),
            y: values.to_vec(),
            lcl: nan.clone(),
            ucl: nan.clone(),
            lcl95: nan.clone(),
            ucl95: nan,
        },
        Chart::I => {
            let cl = mean(pick(values, base));
            let sd = average_moving_range(&pick(values, base), o.screen) / D2;
            sigma_lines(values.to_vec(), cl, vec![sd; n], false, false)
        }
        Chart::Mr => {
            let y: Vec<f64> = std::iter::once(f64::NAN)
                .chain(values.windows(2).map(|w| (w[1] - w[0]).abs()))
                .collect();
            let cl = mean(pick(&y, base));
            Lines3 {
                y,
                cl,
                lcl: vec![0.0; n],
                ucl: vec![D4 * cl; n],
                lcl95: vec![0.0; n],
                ucl95: vec![D4 / 3.0 * 2.0 * cl; n],
            }
        }
        Chart::C => {
            let cl = mean(pick(values, base));
            sigma_lines(values.to_vec(), cl, vec![cl.sqrt(); n], true, false)
        }
        Chart::U | Chart::P | Chart::Up | Chart::Pp => {
            let sizes = sizes.expect("validated: sizes present");
            let y: Vec<f64> = values.iter().zip(sizes).map(|(c, n)| c / n).collect();
            let (count, size) = values
                .iter()
                .zip(sizes)
                .zip(base)
                .filter(|((c, n), b)| **b && c.is_finite() && n.is_finite())
                .fold((0.0, 0.0), |(sc, sn), ((c, n), _)| (sc + c, sn + n));
            let cl = count / size;
            let proportion = matches!(o.chart, Chart::P | Chart::Pp);
            let mut sd: Vec<f64> = sizes
                .iter()
                .map(|n| {
                    if proportion {
                        (cl * (1.0 - cl) / n).sqrt()
                    } else {
                        (cl / n).sqrt()
                    }
                })
                .collect();
            if matches!(o.chart, Chart::Up | Chart::Pp) {
                let z: Vec<f64> = y
                    .iter()
                    .zip(&sd)
                    .zip(base)
                    .filter(|(_, b)| **b)
                    .map(|((y, s), _)| (y - cl) / s)
                    .collect();
                let sigma_z = if o.categorical {
                    sample_sd(&z)
                } else {
                    average_moving_range(&z, o.screen) / D2
                };
                sd.iter_mut().for_each(|s| *s *= sigma_z);
            }
            sigma_lines(y, cl, sd, true, proportion)
        }
    }
}

fn anhoej_part(
    values: &[f64],
    sizes: Option<&[f64]>,
    base: &[bool],
    include: &[bool],
    o: &SpcOptions,
) -> (Vec<Point>, Summary) {
    let lines = anhoej_lines(values, sizes, base, o);
    let m = o.multiply;
    let cl = lines.cl * m;
    let y: Vec<f64> = lines.y.iter().map(|v| v * m).collect();
    let runs = if o.categorical {
        None
    } else {
        let cls = vec![cl; y.len()];
        Some(runs::analyse(&pick(&y, include), &pick(&cls, include)))
    };
    // Runs of moving ranges are not independent, so a runs signal is not given for them
    // (qicharts2 does the same); charts across units have no order to run along.
    let runs_signal = runs.as_ref().is_some_and(|r| r.signal) && o.chart != Chart::Mr;
    let points = (0..y.len())
        .map(|i| {
            let (lcl, ucl) = (finite(lines.lcl[i] * m), finite(lines.ucl[i] * m));
            let yi = finite(y[i]);
            let sigma_signal = match yi {
                Some(v) => ucl.is_some_and(|u| v > u) || lcl.is_some_and(|l| v < l),
                None => false,
            };
            Point {
                y: yi,
                cl: finite(cl),
                lcl,
                ucl,
                lcl95: finite(lines.lcl95[i] * m),
                ucl95: finite(lines.ucl95[i] * m),
                sigma_signal,
                special_cause: sigma_signal || (runs_signal && yi.is_some()),
                point_type: None,
                rule: None,
                special_cause_type: None,
                part: 0,
                baseline: base[i],
            }
        })
        .collect();
    let summary = Summary {
        n_useful: runs.as_ref().map(|r| r.n_useful),
        longest_run: runs.as_ref().and_then(|r| r.longest_run),
        longest_run_max: runs.as_ref().and_then(|r| r.longest_run_max),
        n_crossings: runs.as_ref().and_then(|r| r.n_crossings),
        n_crossings_min: runs.as_ref().and_then(|r| r.n_crossings_min),
        runs_signal: Some(runs_signal),
        variation_icon: None,
        assurance: None,
    };
    (points, summary)
}

fn mdc_part(values: &[f64], base: &[bool], o: &SpcOptions) -> (Vec<Point>, Summary) {
    let fixed = pick(values, base);
    let mean_y = mean(fixed.iter().copied());
    let amr = average_moving_range(&fixed, o.screen);
    let lines = Lines {
        mean: mean_y,
        lpl: mean_y - MDC_LIMIT * amr,
        upl: mean_y + MDC_LIMIT * amr,
        near_lower: mean_y - 2.0 * MDC_LIMIT / 3.0 * amr,
        near_upper: mean_y + 2.0 * MDC_LIMIT / 3.0 * amr,
    };
    let flags = mdc::flags(values, lines);
    let m = o.multiply;
    let points: Vec<Point> = values
        .iter()
        .zip(&flags)
        .zip(base)
        .map(|((&y, &flag), &b)| {
            let point_type = PointType::of(flag, o.direction);
            Point {
                y: finite(y * m),
                cl: finite(lines.mean * m),
                lcl: finite(lines.lpl * m),
                ucl: finite(lines.upl * m),
                lcl95: finite(lines.near_lower * m),
                ucl95: finite(lines.near_upper * m),
                sigma_signal: flag.is_some_and(|f| f.rule == Rule::OutsideLimits),
                special_cause: flag.is_some(),
                point_type: Some(point_type),
                rule: flag.map(|f| f.rule),
                special_cause_type: Some(flag.map_or("Common Cause", Flag::label)),
                part: 0,
                baseline: b,
            }
        })
        .collect();
    let last = points.last().expect("a part has at least one point");
    let assurance = match (o.target, o.direction) {
        (None, _) | (_, Direction::Neutral) => None,
        (Some(target), direction) => {
            let increasing = direction == Direction::Increase;
            let (lpl, upl) = (lines.lpl * m, lines.upl * m);
            Some(if target > upl {
                if increasing {
                    Assurance::ConsistentFail
                } else {
                    Assurance::ConsistentPass
                }
            } else if target < lpl {
                if increasing {
                    Assurance::ConsistentPass
                } else {
                    Assurance::ConsistentFail
                }
            } else {
                Assurance::Inconsistent
            })
        }
    };
    let summary = Summary {
        n_useful: None,
        longest_run: None,
        longest_run_max: None,
        n_crossings: None,
        n_crossings_min: None,
        runs_signal: None,
        variation_icon: last.point_type,
        assurance,
    };
    (points, summary)
}

/// The runs verdict of a plain series about its median (a run chart without options).
pub fn run_chart(values: &[f64]) -> (f64, Runs) {
    let median = runs::median(values.iter().copied());
    let cl = vec![median; values.len()];
    (median, runs::analyse(values, &cl))
}
