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
        parts.push(format!("{} cells withheld (small numbers)", ctx.suppressed));
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
    if table.rows.is_empty() {
        figure.description = spec
            .empty
            .unwrap_or("Nothing to show for these choices.")
            .to_string();
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
            " {} cells are withheld because they rest on fewer than 6 people or events.",
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
        if (values.len() > 1 || column == "org_code" || column == "ethnicity") && pick != "all" {
            names.push(pick.clone());
        }
        rows.retain(|&r| table.text(r, column) == Some(pick.as_str()));
    }
    rows.sort_by(|&a, &b| table.text(a, "period").cmp(&table.text(b, "period")));
    (rows, names.join(", "))
}

fn latest_period(table: &Table) -> Option<String> {
    (0..table.rows.len())
        .filter(|&r| table.number(r, "value").is_some())
        .filter_map(|r| table.text(r, "period").map(str::to_string))
        .max()
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
    use super::spc_chart::quarter_of;
    use super::*;

    #[test]
    fn periods_read_as_people_say_them() {
        assert_eq!(pretty_period("2023-03"), "Mar 2023");
        assert_eq!(pretty_period("2023-Q1"), "2023-Q1");
        assert_eq!(pretty_period("2023/24"), "2023/24");
        assert_eq!(quarter_of("2023-05"), "2023-Q2");
    }
}
