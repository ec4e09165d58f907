//! What a chart shows, worked out from a panel's (already protected) table: the layers
//! to draw and one sentence describing the picture for screen readers and for people
//! sharing it in a breakout.

use plotters::style::RGBColor;

use super::palette;
use super::{ChartKind, Spec};
use crate::catalog::{Estimate, Indicator};
use crate::stats::funnel::{self, FunnelOptions, FunnelType, Overdispersion};
use crate::stats::spc::{self, Chart, Convention, Direction, PointType, SpcOptions};
use crate::table::{Table, format_number};

mod bars;
mod funnel_plot;
mod spc_chart;
mod trend;

use bars::bars_model;
use funnel_plot::funnel_model;
use spc_chart::spc_model;
use trend::trend_model;

/// A figure in a sentence: three significant figures or so, not four decimals.
pub fn round(v: f64) -> String {
    let a = v.abs();
    let digits = if a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else {
        2
    };
    format_number(format!("{v:.digits$}").parse().unwrap_or(v))
}

/// One thing drawn.
#[derive(Debug, Clone)]
pub enum Layer {
    Line {
        name: Option<String>,
        color: RGBColor,
        points: Vec<(f64, Option<f64>)>,
        dashed: bool,
        width: f64,
        /// Steps centred on each point (limits that change with each point's size).
        step: bool,
    },
    Points {
        points: Vec<(f64, f64, RGBColor)>,
        size: f64,
    },
    /// Points of periods the data cover only in part: drawn hollow.
    Hollow {
        points: Vec<(f64, f64, RGBColor)>,
        size: f64,
    },
    /// Interval whiskers: x, lower, upper, own colour.
    Bars {
        color: RGBColor,
        bars: Vec<(f64, f64, f64, Option<RGBColor>)>,
    },
    /// A shaded interval band.
    Band {
        color: RGBColor,
        points: Vec<(f64, Option<f64>, Option<f64>)>,
    },
    /// A dated annotation (a change idea).
    Marker {
        x: f64,
        label: String,
    },
    Label {
        x: f64,
        y: f64,
        text: String,
    },
}

/// A chart, ready to draw.
#[derive(Debug, Clone)]
pub struct Figure {
    pub title: String,
    pub unit: String,
    pub x_label: String,
    /// Labels of x = 0, 1, 2, … (empty for a numeric x axis).
    pub categories: Vec<String>,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
    pub layers: Vec<Layer>,
    /// One or two sentences: what the chart shows.
    pub description: String,
    /// Period, lake version, suppression: printed under the chart.
    pub footer: String,
    /// Width and height in pixels (SVG; PNG is twice as large).
    pub size: (u32, u32),
}

/// What a chart needs beyond its table.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub lake_version: Option<i64>,
    /// The label of the viewer's own organisation, drawn highlighted.
    pub highlight: Option<String>,
    /// Dated change ideas of the organisation charted: (`YYYY-MM-DD`, title).
    pub annotations: Vec<(String, String)>,
    /// Rebases of the charted organisation's series after its change ideas: accepted
    /// ones restart the limits, proposed ones are drawn dashed beside them.
    pub rebases: Vec<crate::ideas::Rebase>,
    /// Rows withheld by suppression.
    pub suppressed: usize,
    /// Whether bed days (and the rates on them) were rounded for this viewer.
    pub bed_days_rounded: bool,
}

/// "2023-03" → "Mar 2023"; quarters, years and financial years as they are.
pub fn pretty_period(p: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    if p.len() == 7
        && p.as_bytes()[4] == b'-'
        && p.as_bytes()[5] != b'Q'
        && let Ok(m) = p[5..].parse::<usize>()
        && (1..=12).contains(&m)
    {
        return format!("{} {}", MONTHS[m - 1], &p[..4]);
    }
    p.to_string()
}

fn periods_span(periods: &[String]) -> String {
    match (periods.first(), periods.last()) {
        (Some(a), Some(b)) if a != b => format!("{} to {}", pretty_period(a), pretty_period(b)),
        (Some(a), _) => pretty_period(a),
        _ => "no periods".into(),
    }
}

fn footer(periods: &[String], ctx: &Context) -> String {
    let mut parts = Vec::new();
    if !periods.is_empty() {
        parts.push(format!("Period: {}", periods_span(periods)));
    }
    parts.push(format!(
        "lake version {}",
        ctx.lake_version.map_or("empty".into(), |v| v.to_string())
    ));
    if ctx.suppressed > 0 {
        parts.push(format!(
            "{} cells withheld (small numbers and their complements)",
            ctx.suppressed
        ));
    }
    if ctx.bed_days_rounded {
        parts.push(crate::privacy::thresholds::ROUNDED_BED_DAYS.to_string());
    }
    parts.join(" · ")
}

/// Builds the chart `spec` describes.
pub fn build(
    spec: &Spec<'_>,
    indicator: &Indicator,
    table: &Table,
    compare: Option<&Table>,
    ctx: &Context,
) -> Figure {
    let mut figure = match spec.kind {
        ChartKind::Spc | ChartKind::Run => spc_model(spec, indicator, table, compare, ctx),
        ChartKind::Funnel => funnel_model(indicator, table, ctx),
        ChartKind::CiBars => bars_model(indicator, table, ctx),
        ChartKind::EquityTrend => trend_model(spec, indicator, table, ctx),
        ChartKind::Table => {
            let mut m = empty(indicator, &format!("A table of {} rows.", table.rows.len()));
            let mut periods = table.distinct("period");
            periods.sort();
            m.footer = footer(&periods, ctx);
            m
        }
    };
    // A chart with nothing to draw (every cell withheld) still says its period and lake
    // version, so a reader knows what was withheld from what.
    if figure.footer.is_empty() {
        let mut periods = table.distinct("period");
        periods.sort();
        figure.footer = footer(&periods, ctx);
    }
    if table.rows.is_empty() {
        figure.description = spec
            .empty
            .unwrap_or("Nothing to show for these choices.")
            .to_string();
    } else {
        mark_partial(&mut figure, table);
    }
    figure.title = spec.title.to_string();
    if !spec.wide {
        figure.size = (640, 420);
    }
    if figure.unit.is_empty() {
        figure.unit = indicator.unit.clone();
    }
    if ctx.suppressed > 0 {
        figure.description.push_str(&format!(
            " {} cells are withheld: those resting on fewer than 6 people or events, and \
             those that would let them be worked out.",
            ctx.suppressed
        ));
    }
    figure
}

fn empty(indicator: &Indicator, why: &str) -> Figure {
    Figure {
        title: String::new(),
        unit: indicator.unit.clone(),
        x_label: String::new(),
        categories: Vec::new(),
        x_range: (0.0, 1.0),
        y_range: (0.0, 1.0),
        layers: Vec::new(),
        description: why.to_string(),
        footer: String::new(),
        size: (super::WIDTH, super::HEIGHT),
    }
}

fn y_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (0.0f64, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !hi.is_finite() || hi <= lo {
        hi = lo + 1.0;
    }
    (lo, hi + (hi - lo) * 0.08)
}

/// Rows of one series: the viewer's own or the first organisation, "all" ethnic groups,
/// the first practice; sorted by period.
fn one_series(table: &Table, highlight: Option<&str>) -> (Vec<usize>, String) {
    let mut rows: Vec<usize> = (0..table.rows.len()).collect();
    let mut names = Vec::new();
    for (column, prefer) in [
        ("org_code", highlight),
        ("peer_group", None),
        ("jurisdiction", None),
        ("ethnicity", Some("all")),
        ("indigenous_status", Some("all")),
        ("practice", None),
    ] {
        let values: Vec<String> = {
            let mut v: Vec<String> = rows
                .iter()
                .filter_map(|&r| table.text(r, column).map(str::to_string))
                .collect();
            v.sort();
            v.dedup();
            v
        };
        if values.is_empty() {
            continue;
        }
        let pick = prefer
            .and_then(|p| values.iter().find(|v| v.as_str() == p))
            .unwrap_or(&values[0])
            .clone();
        let grouped = column == "org_code" || crate::model::is_group_column(column);
        if (values.len() > 1 || grouped) && pick != "all" {
            names.push(pick.clone());
        }
        rows.retain(|&r| table.text(r, column) == Some(pick.as_str()));
    }
    rows.sort_by(|&a, &b| table.text(a, "period").cmp(&table.text(b, "period")));
    (rows, names.join(", "))
}

/// Whether row `r`'s period is covered by the data only in part.
fn is_partial(table: &Table, r: usize) -> bool {
    table.text(r, "partial") == Some("true")
}

/// Periods the data cover only in part, each with (months covered, months in it).
fn partial_periods(table: &Table) -> std::collections::BTreeMap<String, (usize, usize)> {
    (0..table.rows.len())
        .filter(|&r| is_partial(table, r))
        .filter_map(|r| {
            let p = table.text(r, "period")?;
            let covered = table.number(r, "months_covered")? as usize;
            Some((p.to_string(), (covered, crate::period::months(p).len())))
        })
        .collect()
}

fn partial_words(period: &str, (covered, of): (usize, usize)) -> String {
    format!(
        "{} has data for {covered} of {of} months",
        pretty_period(period)
    )
}

/// The latest period with values that the data cover whole: a ranking or funnel of a
/// part-period (a financial year under way) would set a few months against twelve.
/// With it, the later part-period passed over, if any.
fn latest_period(table: &Table) -> Option<String> {
    latest_ranked(table).map(|(p, _)| p)
}

fn latest_ranked(table: &Table) -> Option<(String, Option<String>)> {
    let with_values = || (0..table.rows.len()).filter(|&r| table.number(r, "value").is_some());
    let latest = with_values()
        .filter_map(|r| table.text(r, "period").map(str::to_string))
        .max()?;
    let complete = with_values()
        .filter(|&r| !is_partial(table, r))
        .filter_map(|r| table.text(r, "period").map(str::to_string))
        .max();
    match complete {
        Some(c) if c != latest => Some((c, Some(latest))),
        Some(c) => Some((c, None)),
        // Nothing whole to rank: the part-period, said to be one.
        None => Some((latest, None)),
    }
}

/// What a ranked chart says of its period: which it is, and the part-period it passed
/// over, or that it is itself a part-period.
fn ranked_period_words(table: &Table) -> Option<String> {
    let (period, skipped) = latest_ranked(table)?;
    let partial = partial_periods(table);
    Some(match (skipped, partial.get(&period)) {
        (Some(s), _) => format!(
            "{}, the latest period the data cover whole ({}, so it is not ranked)",
            pretty_period(&period),
            partial.get(&s).map_or_else(
                || format!("{} is partial", pretty_period(&s)),
                |&c| partial_words(&s, c)
            )
        ),
        (None, Some(&c)) => format!(
            "{} (only in part: {})",
            pretty_period(&period),
            partial_words(&period, c)
        ),
        (None, None) => pretty_period(&period),
    })
}

/// Points of part-periods drawn hollow, and said so in the description.
fn mark_partial(figure: &mut Figure, table: &Table) {
    let partial = partial_periods(table);
    let hollow_x: Vec<f64> = figure
        .categories
        .iter()
        .enumerate()
        .filter(|(_, c)| partial.contains_key(c.as_str()))
        .map(|(i, _)| i as f64)
        .collect();
    if hollow_x.is_empty() {
        return;
    }
    let mut hollow = Vec::new();
    for layer in &mut figure.layers {
        if let Layer::Points { points, size } = layer {
            let (h, keep): (Vec<_>, Vec<_>) =
                points.drain(..).partition(|(x, _, _)| hollow_x.contains(x));
            *points = keep;
            if !h.is_empty() {
                hollow.push(Layer::Hollow {
                    points: h,
                    size: *size,
                });
            }
        }
    }
    figure.layers.extend(hollow);
    let words: Vec<String> = figure
        .categories
        .iter()
        .filter_map(|c| partial.get(c).map(|&cov| partial_words(c, cov)))
        .collect();
    figure.description.push_str(&format!(
        " Hollow points mark periods the data cover only in part: {}.",
        words.join("; ")
    ));
}

/// A code as people say it: `non_maori_non_pacific` is "Non-Māori non-Pacific".
pub fn words(code: &str) -> String {
    match code {
        "maori" => "Māori".into(),
        "pacific" => "Pacific".into(),
        "non_maori" => "Non-Māori".into(),
        "non_maori_non_pacific" => "Non-Māori non-Pacific".into(),
        "indigenous" => "Indigenous".into(),
        "non_indigenous" => "Non-Indigenous".into(),
        "aboriginal" => "Aboriginal".into(),
        "torres_strait_islander" => "Torres Strait Islander".into(),
        "both" => "Aboriginal and Torres Strait Islander".into(),
        "neither" => "Neither Aboriginal nor Torres Strait Islander".into(),
        "not_stated" => "Not stated".into(),
        "all" => "All".into(),
        "unknown" => "Unknown".into(),
        _ if code.contains('_') => capitalised(&code.replace('_', " ")),
        _ => code.to_string(),
    }
}

/// `s` with its first letter in upper case.
fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

fn unit_label(table: &Table, r: usize) -> String {
    ["org_code", "peer_group", "jurisdiction"]
        .iter()
        .find_map(|c| table.text(r, c))
        .unwrap_or("?")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart;
    use crate::period::quarter_of;
    use crate::table::Cell;

    fn catalog() -> crate::catalog::Catalog {
        crate::catalog::Catalog::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("queries"),
        )
        .unwrap()
    }

    /// Two organisations' rates in a whole 2024 and in a 2025 of six months.
    fn two_years() -> Table {
        let row = |org: &str, period: &str, v: f64, partial: bool| {
            vec![
                Cell::Text(org.into()),
                Cell::Text(period.into()),
                Cell::Float(v * 10.0),
                Cell::Float(10_000.0),
                Cell::Float(v),
                Cell::Float(v - 1.0),
                Cell::Float(v + 1.0),
                Cell::Int(if partial { 6 } else { 12 }),
                Cell::Text(partial.to_string()),
            ]
        };
        Table {
            columns: [
                "org_code",
                "period",
                "numerator",
                "denominator",
                "value",
                "lower_95",
                "upper_95",
                "months_covered",
                "partial",
            ]
            .map(String::from)
            .to_vec(),
            rows: vec![
                row("A", "2024", 5.0, false),
                row("B", "2024", 7.0, false),
                row("A", "2025", 9.0, true),
                row("B", "2025", 3.0, true),
            ],
        }
    }

    fn spec(kind: ChartKind) -> Spec<'static> {
        Spec {
            kind,
            title: "t",
            wide: true,
            empty: None,
            convention: None,
            direction: None,
            series: Some("org_code"),
        }
    }

    #[test]
    fn a_ranking_passes_over_a_part_period_for_the_latest_whole_one() {
        let c = catalog();
        let ind = c.get("events_per_1000_bed_days").unwrap();
        let f = build(
            &spec(ChartKind::CiBars),
            ind,
            &two_years(),
            None,
            &Context::default(),
        );
        assert!(
            f.description.starts_with(
                "2024, the latest period the data cover whole (2025 has data for 6 of 12 months, so it is not ranked), lowest first: lowest A 5 (95% CI 4–6); highest B 7"
            ),
            "{}",
            f.description
        );
        // Only part-periods to rank: ranked, and said to be partial.
        let mut only = two_years();
        only.rows.retain(|r| r[1] == Cell::Text("2025".into()));
        let f = build(
            &spec(ChartKind::CiBars),
            ind,
            &only,
            None,
            &Context::default(),
        );
        assert!(
            f.description
                .starts_with("2025 (only in part: 2025 has data for 6 of 12 months), lowest first"),
            "{}",
            f.description
        );
        // The funnel's axis names its denominator.
        let f = build(
            &spec(ChartKind::Funnel),
            ind,
            &two_years(),
            None,
            &Context::default(),
        );
        assert_eq!(f.x_label, "Occupied bed days");
    }

    #[test]
    fn a_ratio_per_jurisdiction_names_each_and_a_line_without_values_is_not_drawn() {
        let c = catalog();
        let ratio = c.get("indigenous_rate_ratio").unwrap();
        let mut t = two_years();
        t.columns[0] = "jurisdiction".into();
        for r in &mut t.rows {
            r[0] = Cell::Text(
                if r[0] == Cell::Text("A".into()) {
                    "NSW"
                } else {
                    "QLD"
                }
                .into(),
            );
        }
        let f = build(
            &spec_of("jurisdiction"),
            ratio,
            &t,
            None,
            &Context::default(),
        );
        assert_eq!(
            f.description,
            "Latest rate ratio: NSW 9 (95% CI 8–10) in 2025; QLD 3 (95% CI 2–4) in 2025; 1 would mean equal rates. \
             Hollow points mark periods the data cover only in part: 2025 has data for 6 of 12 months.",
        );
        // People whose status was not stated have a count and no rate: no line for them.
        let rates = c.get("indigenous_people_secluded_per_100000").unwrap();
        let mut t = two_years();
        t.columns[0] = "indigenous_status".into();
        for r in &mut t.rows {
            if r[0] == Cell::Text("B".into()) {
                r[0] = Cell::Text("not_stated".into());
                r[3] = Cell::Null;
                r[4] = Cell::Null;
                r[5] = Cell::Null;
                r[6] = Cell::Null;
            } else {
                r[0] = Cell::Text("indigenous".into());
            }
        }
        let f = build(
            &spec_of("indigenous_status"),
            rates,
            &t,
            None,
            &Context::default(),
        );
        let lines: Vec<&str> = f
            .layers
            .iter()
            .filter_map(|l| match l {
                Layer::Line { name: Some(n), .. } => Some(n.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(lines, ["Indigenous"]);
    }

    #[test]
    fn a_change_idea_is_marked_in_the_period_that_holds_it_financial_years_too() {
        let c = catalog();
        let ind = c.get("events_per_1000_bed_days").unwrap();
        let row = |period: &str, v: f64| {
            vec![
                Cell::Text("A".into()),
                Cell::Text(period.into()),
                Cell::Float(v * 10.0),
                Cell::Float(10_000.0),
                Cell::Float(v),
            ]
        };
        let periods = [
            "2020/21", "2021/22", "2022/23", "2023/24", "2024/25", "2025/26",
        ];
        let t = Table {
            columns: ["org_code", "period", "numerator", "denominator", "value"]
                .map(String::from)
                .to_vec(),
            rows: periods
                .iter()
                .enumerate()
                .map(|(i, p)| row(p, 5.0 + i as f64 % 2.0))
                .collect(),
        };
        let ctx = Context {
            annotations: vec![("2023-09-01".into(), "Sensory room".into())],
            ..Context::default()
        };
        let f = build(&spec(ChartKind::Spc), ind, &t, None, &ctx);
        let marks: Vec<(f64, &str)> = f
            .layers
            .iter()
            .filter_map(|l| match l {
                Layer::Marker { x, label } => Some((*x, label.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(
            marks,
            [(3.0, "Sensory room")],
            "September 2023 is in 2023/24"
        );
    }

    fn spec_of(series: &'static str) -> Spec<'static> {
        Spec {
            series: Some(series),
            ..spec(ChartKind::EquityTrend)
        }
    }

    #[test]
    fn a_part_periods_points_are_hollow_and_said_to_be() {
        let c = catalog();
        let ind = c.get("events_per_1000_bed_days").unwrap();
        let f = build(
            &spec(ChartKind::EquityTrend),
            ind,
            &two_years(),
            None,
            &Context::default(),
        );
        let hollow: Vec<f64> = f
            .layers
            .iter()
            .filter_map(|l| match l {
                Layer::Hollow { points, .. } => Some(points.iter().map(|p| p.0)),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(hollow, [1.0, 1.0], "2025's point of each line");
        let filled: usize = f
            .layers
            .iter()
            .map(|l| match l {
                Layer::Points { points, .. } => points.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(filled, 2);
        assert!(
            f.description.ends_with(" Hollow points mark periods the data cover only in part: 2025 has data for 6 of 12 months."),
            "{}",
            f.description
        );
        assert!(chart::svg(&f).is_ok());
    }

    #[test]
    fn codes_read_as_people_say_them() {
        assert_eq!(words("non_maori_non_pacific"), "Non-Māori non-Pacific");
        assert_eq!(words("maori"), "Māori");
        assert_eq!(words("peer_support"), "Peer support");
        assert_eq!(words("P123"), "P123");
    }

    #[test]
    fn periods_read_as_people_say_them() {
        assert_eq!(pretty_period("2023-03"), "Mar 2023");
        assert_eq!(pretty_period("2023-Q1"), "2023-Q1");
        assert_eq!(pretty_period("2023/24"), "2023/24");
        assert_eq!(quarter_of("2023-05"), "2023-Q2");
    }
}
