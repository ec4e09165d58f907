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
pub struct Model {
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
        parts.push(crate::privacy::rounding::NOTE.to_string());
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
) -> Model {
    let mut model = match spec.kind {
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
        model.description = spec
            .empty
            .unwrap_or("Nothing to show for these choices.")
            .to_string();
    }
    model.title = spec.title.to_string();
    if !spec.wide {
        model.size = (640, 420);
    }
    if model.unit.is_empty() {
        model.unit = indicator.unit.clone();
    }
    if ctx.suppressed > 0 {
        model.description.push_str(&format!(
            " {} cells are withheld because they rest on fewer than 6 people or events.",
            ctx.suppressed
        ));
    }
    model
}

fn empty(indicator: &Indicator, why: &str) -> Model {
    Model {
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

/// The SPC or run chart of one series: the chart and rules chosen, the calculation, the
/// layers drawn, and the sentence that says what it shows.
fn spc_model(
    spec: &Spec<'_>,
    indicator: &Indicator,
    table: &Table,
    compare: Option<&Table>,
    ctx: &Context,
) -> Model {
    let (rows, series) = one_series(table, ctx.highlight.as_deref());
    let periods: Vec<String> = rows
        .iter()
        .filter_map(|&r| table.text(r, "period").map(str::to_string))
        .collect();
    // Withheld and missing periods are left out of the calculation, not zero.
    let usable: Vec<usize> = rows
        .iter()
        .copied()
        .filter(|&r| table.number(r, "value").is_some())
        .collect();
    let mut model = Model {
        title: String::new(),
        unit: indicator.unit.clone(),
        x_label: String::new(),
        categories: periods.clone(),
        x_range: (-0.5, periods.len().max(1) as f64 - 0.5),
        y_range: (0.0, 1.0),
        layers: Vec::new(),
        description: String::new(),
        footer: footer(&periods, ctx),
        size: (super::WIDTH, super::HEIGHT),
    };
    if usable.len() < 3 {
        model.description = format!(
            "{}: too few periods with data for an SPC chart ({} of {}).",
            if series.is_empty() {
                "This series"
            } else {
                &series
            },
            usable.len(),
            periods.len()
        );
        return model;
    }
    let options = spc_options(spec, indicator);
    let result = match spc_calculation(&options, table, &usable) {
        Ok(r) => r,
        Err(e) => {
            model.description = format!("No SPC chart: {e}.");
            return model;
        }
    };
    // Each usable row's place on the x axis (withheld periods keep their place, empty).
    let xs: Vec<f64> = usable
        .iter()
        .map(|&r| {
            rows.iter()
                .position(|&x| x == r)
                .expect("a row of the series") as f64
        })
        .collect();
    let drawn = Drawn {
        result: &result,
        xs: &xs,
        periods: &periods,
        series: &series,
        chart: options.chart,
        convention: options.convention,
    };
    spc_layers(&mut model, &drawn, compare, ctx);
    model.description = spc_sentence(&drawn, indicator);
    model
}

/// The chart and rules a panel asks for. Making Data Count puts every measure, rates
/// included, on an XmR chart; a run chart is read by the runs rules (Anhøj).
fn spc_options(spec: &Spec<'_>, indicator: &Indicator) -> SpcOptions {
    let convention = spec.convention.unwrap_or(Convention::Mdc);
    let chart = match (spec.kind, indicator.estimate, convention) {
        (ChartKind::Run, _, _) => Chart::Run,
        (_, _, Convention::Mdc) => Chart::I,
        (_, Some(Estimate::Poisson), _) => Chart::U,
        (_, Some(Estimate::Wilson), _) => Chart::P,
        _ => Chart::I,
    };
    SpcOptions {
        chart,
        convention: if chart == Chart::Run {
            Convention::Anhoej
        } else {
            convention
        },
        multiply: match chart {
            Chart::U | Chart::P => indicator.multiplier,
            _ => 1.0,
        },
        direction: spec.direction.unwrap_or(Direction::Decrease),
        ..SpcOptions::default()
    }
}

/// The SPC calculation on the usable rows: counts and their denominators for u and p
/// charts, the values themselves otherwise.
fn spc_calculation(
    options: &SpcOptions,
    table: &Table,
    usable: &[usize],
) -> Result<spc::SpcChart, crate::stats::StatsError> {
    let column = |name: &str| -> Vec<f64> {
        usable
            .iter()
            .map(|&r| table.number(r, name).unwrap_or(f64::NAN))
            .collect()
    };
    match options.chart {
        Chart::U | Chart::P => {
            spc::spc(&column("numerator"), Some(&column("denominator")), options)
        }
        _ => spc::spc(&column("value"), None, options),
    }
}

/// What the layers and the sentence read of one SPC calculation.
struct Drawn<'a> {
    result: &'a spc::SpcChart,
    /// x of each calculated point.
    xs: &'a [f64],
    periods: &'a [String],
    series: &'a str,
    chart: Chart,
    convention: Convention,
}

/// Centre line, limits, the comparison line, the series, its points coloured by signal,
/// and the change ideas as markers.
fn spc_layers(model: &mut Model, d: &Drawn<'_>, compare: Option<&Table>, ctx: &Context) {
    let (result, xs, periods, series, chart, convention) =
        (d.result, d.xs, d.periods, d.series, d.chart, d.convention);
    let line = |f: &dyn Fn(&spc::Point) -> Option<f64>| -> Vec<(f64, Option<f64>)> {
        xs.iter()
            .zip(&result.points)
            .map(|(x, p)| (*x, f(p)))
            .collect()
    };
    let step = matches!(chart, Chart::U | Chart::P);
    let runs_signal = result.summary.runs_signal == Some(true);
    model.layers.push(Layer::Line {
        name: Some(
            if chart == Chart::Run {
                "Median"
            } else {
                "Mean"
            }
            .into(),
        ),
        color: if runs_signal && convention == Convention::Anhoej {
            palette::VERMILLION
        } else {
            palette::INK
        },
        points: line(&|p| p.cl),
        dashed: runs_signal && convention == Convention::Anhoej,
        width: 1.5,
        step: false,
    });
    if chart != Chart::Run {
        for (f, name) in [
            (
                &(|p: &spc::Point| p.ucl) as &dyn Fn(&spc::Point) -> Option<f64>,
                Some("Process limits"),
            ),
            (&|p: &spc::Point| p.lcl, None),
        ] {
            model.layers.push(Layer::Line {
                name: name.map(String::from),
                color: palette::GREY,
                points: line(f),
                dashed: true,
                width: 1.2,
                step,
            });
        }
    }
    if let Some(compare) = compare {
        let (crow, cname) = one_series(compare, None);
        let points: Vec<(f64, Option<f64>)> = periods
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let v = crow
                    .iter()
                    .find(|&&r| compare.text(r, "period") == Some(p.as_str()))
                    .and_then(|&r| compare.number(r, "value"));
                (i as f64, v)
            })
            .collect();
        if points.iter().any(|(_, v)| v.is_some()) {
            model.layers.push(Layer::Line {
                name: Some(if cname.is_empty() {
                    "Peer group pooled".to_string()
                } else {
                    format!("Peer group pooled ({cname})")
                }),
                color: palette::PURPLE,
                points,
                dashed: true,
                width: 2.0,
                step: false,
            });
        }
    }
    model.layers.push(Layer::Line {
        name: Some(if series.is_empty() {
            "Value".into()
        } else {
            series.to_string()
        }),
        color: palette::GREY,
        points: line(&|p| p.y),
        dashed: false,
        width: 1.5,
        step: false,
    });
    let colour = |p: &spc::Point| -> RGBColor {
        match (convention, p.point_type) {
            (Convention::Mdc, Some(PointType::SpecialCauseImprovement)) => palette::BLUE,
            (Convention::Mdc, Some(PointType::SpecialCauseConcern)) => palette::ORANGE,
            (Convention::Mdc, Some(PointType::SpecialCauseNeutralHigh))
            | (Convention::Mdc, Some(PointType::SpecialCauseNeutralLow)) => palette::PURPLE,
            (Convention::Anhoej, _) if p.sigma_signal => palette::VERMILLION,
            _ => palette::GREY,
        }
    };
    model.layers.push(Layer::Points {
        points: xs
            .iter()
            .zip(&result.points)
            .filter_map(|(x, p)| p.y.map(|y| (*x, y, colour(p))))
            .collect(),
        size: 3.5,
    });
    for (date, title) in &ctx.annotations {
        let month = date.get(..7).unwrap_or(date);
        if let Some(i) = periods.iter().position(|p| {
            p.as_str() == month
                || (p.len() == 7 && p.contains("-Q") && quarter_of(month) == *p)
                || (p.len() == 4 && month.starts_with(p.as_str()))
        }) {
            let mut label: String = title.chars().take(38).collect();
            if title.chars().count() > 38 {
                label.push('…');
            }
            model.layers.push(Layer::Marker { x: i as f64, label });
        }
    }
    model.y_range = y_range(
        result
            .points
            .iter()
            .flat_map(|p| [p.y, p.ucl, p.lcl, p.cl])
            .flatten()
            .chain(model.layers.iter().flat_map(|l| match l {
                Layer::Line { points, .. } => points.iter().filter_map(|(_, v)| *v).collect(),
                _ => Vec::new(),
            })),
    );
}

/// One sentence on what the chart shows, then the latest value and centre line.
fn spc_sentence(d: &Drawn<'_>, indicator: &Indicator) -> String {
    let (result, xs, periods, series, chart, convention) =
        (d.result, d.xs, d.periods, d.series, d.chart, d.convention);
    let runs_signal = result.summary.runs_signal == Some(true);
    let who = if series.is_empty() {
        String::new()
    } else {
        format!("{series}: ")
    };
    let period_at = |i: usize| pretty_period(&periods[xs[i] as usize]);
    let last = result.points.len() - 1;
    let sentence = match convention {
        Convention::Mdc => {
            let kind = result.points[last].point_type;
            match kind {
                Some(t @ (PointType::SpecialCauseImprovement | PointType::SpecialCauseConcern)) => {
                    let mut start = last;
                    while start > 0 && result.points[start - 1].point_type == Some(t) {
                        start -= 1;
                    }
                    format!(
                        "{who}special-cause {} since {}.",
                        if t == PointType::SpecialCauseImprovement {
                            "improvement"
                        } else {
                            "concern"
                        },
                        period_at(start)
                    )
                }
                _ => match result
                    .points
                    .iter()
                    .rposition(|p| p.point_type.is_some_and(|t| t != PointType::CommonCause))
                {
                    Some(i) => format!(
                        "{who}common-cause variation in {}; the last special cause ({}) was in {}.",
                        period_at(last),
                        result.points[i]
                            .point_type
                            .map(|t| t.name().replace('_', " "))
                            .unwrap_or_default(),
                        period_at(i)
                    ),
                    None => format!(
                        "{who}common-cause variation only from {} to {}: no signal of change.",
                        period_at(0),
                        period_at(last)
                    ),
                },
            }
        }
        Convention::Anhoej => {
            let outside = result.points.iter().filter(|p| p.sigma_signal).count();
            let mut s = if runs_signal {
                format!(
                    "{who}non-random variation: the runs analysis signals a shift (longest run {}, crossings {})",
                    result.summary.longest_run.unwrap_or(0),
                    result.summary.n_crossings.unwrap_or(0)
                )
            } else {
                format!("{who}random variation by the runs analysis")
            };
            if outside > 0 {
                let i = result
                    .points
                    .iter()
                    .rposition(|p| p.sigma_signal)
                    .expect("one outside");
                s.push_str(&format!(
                    "; {outside} point(s) outside the limits, the latest in {}",
                    period_at(i)
                ));
            }
            s.push('.');
            s
        }
    };
    let latest = &result.points[last];
    format!(
        "{sentence} Latest ({}): {} {}; {} {}.",
        period_at(last),
        latest.y.map_or("–".into(), round),
        indicator.unit,
        if chart == Chart::Run {
            "median"
        } else {
            "mean"
        },
        latest.cl.map_or("–".into(), round)
    )
}

fn quarter_of(month: &str) -> String {
    let m: u32 = month.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(1);
    format!("{}-Q{}", month.get(..4).unwrap_or(""), m.div_ceil(3))
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

fn funnel_model(indicator: &Indicator, table: &Table, ctx: &Context) -> Model {
    let mut model = empty(indicator, "");
    let Some(latest) = latest_period(table) else {
        model.description = "No period has data to plot.".into();
        return model;
    };
    let rows: Vec<usize> = (0..table.rows.len())
        .filter(|&r| {
            table.text(r, "period") == Some(latest.as_str())
                && table.number(r, "numerator").is_some()
                && table.number(r, "denominator").is_some_and(|d| d > 0.0)
        })
        .collect();
    model.footer = footer(std::slice::from_ref(&latest), ctx);
    model.x_label = "Denominator (size)".into();
    if rows.len() < 3 {
        model.description = format!(
            "{}: {} organisations with data; a funnel needs at least 3.",
            pretty_period(&latest),
            rows.len()
        );
        return model;
    }
    let nums: Vec<f64> = rows
        .iter()
        .map(|&r| table.number(r, "numerator").unwrap_or(0.0))
        .collect();
    let dens: Vec<f64> = rows
        .iter()
        .map(|&r| table.number(r, "denominator").unwrap_or(1.0))
        .collect();
    let options = FunnelOptions {
        kind: if indicator.estimate == Some(Estimate::Wilson) {
            FunnelType::Proportion
        } else {
            FunnelType::Rate
        },
        // Organisations differ by more than chance alone (case mix, size, services);
        // without allowing for it, half of them sit outside plain Poisson limits.
        od: Overdispersion::Spiegelhalter,
        trim: 0.1,
        multiplier: indicator.multiplier,
    };
    let f = match funnel::funnel(&nums, &dens, &options) {
        Ok(f) => f,
        Err(e) => {
            model.description = format!("No funnel: {e}.");
            return model;
        }
    };
    let target = f.target;
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| dens[a].total_cmp(&dens[b]));
    for (level, dashed, name) in [(0, true, "95% limits"), (1, false, "99.8% limits")] {
        for (side, named) in [(0, false), (1, true)] {
            let points = order
                .iter()
                .map(|&i| {
                    let l = f.units[i].od_limits.unwrap_or(f.units[i].limits)[level];
                    (dens[i], if side == 0 { l.0 } else { l.1 })
                })
                .collect();
            model.layers.push(Layer::Line {
                name: named.then(|| name.to_string()),
                color: palette::GREY,
                points,
                dashed,
                width: 1.2,
                step: false,
            });
        }
    }
    let (xmin, xmax) = (dens[order[0]], dens[*order.last().expect("3 units")]);
    model.layers.push(Layer::Line {
        name: Some(format!("Pooled {}", round(target))),
        color: palette::INK,
        points: vec![(xmin, Some(target)), (xmax, Some(target))],
        dashed: false,
        width: 1.5,
        step: false,
    });
    let (mut above, mut below) = (Vec::new(), Vec::new());
    let mut points = Vec::new();
    for (i, &r) in rows.iter().enumerate() {
        let v = f.units[i].value.unwrap_or(0.0);
        let label = unit_label(table, r);
        let colour = if f.units[i].outlier[1] && v > target {
            above.push(label.clone());
            palette::ORANGE
        } else if f.units[i].outlier[1] {
            below.push(label.clone());
            palette::BLUE
        } else {
            palette::GREY
        };
        points.push((dens[i], v, colour));
        if ctx.highlight.as_deref() == Some(label.as_str()) || f.units[i].outlier[1] {
            model.layers.push(Layer::Label {
                x: dens[i],
                y: v,
                text: format!("  {label}"),
            });
        }
    }
    if let Some(own) = ctx.highlight.as_deref()
        && let Some(i) = rows.iter().position(|&r| unit_label(table, r) == own)
    {
        points.push((dens[i], f.units[i].value.unwrap_or(0.0), palette::BLUE));
    }
    model.layers.push(Layer::Points { points, size: 4.0 });
    let pad = (xmax - xmin) * 0.05;
    model.x_range = (0.0f64.max(xmin - pad), xmax + pad);
    model.y_range = y_range(
        f.units
            .iter()
            .flat_map(|u| {
                let l = u.od_limits.unwrap_or(u.limits)[1];
                [u.value, l.0, l.1]
            })
            .flatten()
            .chain([target]),
    );
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    model.description = format!(
        "{}: of {} organisations, {} above the 99.8% limit ({}) and {} below it ({}), around the pooled {} {}{}.",
        pretty_period(&latest),
        rows.len(),
        above.len(),
        list(&above),
        below.len(),
        list(&below),
        round(target),
        indicator.unit,
        if f.adjusted {
            "; limits widened for overdispersion"
        } else {
            ""
        }
    );
    model
}

fn bars_model(indicator: &Indicator, table: &Table, ctx: &Context) -> Model {
    let mut model = empty(indicator, "");
    let Some(latest) = latest_period(table) else {
        model.description = "No period has data to rank.".into();
        return model;
    };
    let mut rows: Vec<usize> = (0..table.rows.len())
        .filter(|&r| table.text(r, "period") == Some(latest.as_str()))
        .filter(|&r| table.number(r, "value").is_some())
        .collect();
    rows.sort_by(|&a, &b| {
        table
            .number(a, "value")
            .unwrap_or(0.0)
            .total_cmp(&table.number(b, "value").unwrap_or(0.0))
    });
    model.footer = footer(std::slice::from_ref(&latest), ctx);
    model.categories = rows.iter().map(|&r| unit_label(table, r)).collect();
    model.x_range = (-0.6, rows.len().max(1) as f64 - 0.4);
    let own = ctx.highlight.as_deref();
    let colour = |label: &str| {
        if Some(label) == own {
            palette::BLUE
        } else {
            palette::GREY
        }
    };
    model.layers.push(Layer::Bars {
        color: palette::GREY,
        bars: rows
            .iter()
            .enumerate()
            .filter_map(|(i, &r)| {
                Some((
                    i as f64,
                    table.number(r, "lower_95")?,
                    table.number(r, "upper_95")?,
                    Some(colour(&model.categories[i])),
                ))
            })
            .collect(),
    });
    model.layers.push(Layer::Points {
        points: rows
            .iter()
            .enumerate()
            .map(|(i, &r)| {
                (
                    i as f64,
                    table.number(r, "value").unwrap_or(0.0),
                    colour(&model.categories[i]),
                )
            })
            .collect(),
        size: 4.5,
    });
    model.y_range = y_range(
        rows.iter()
            .flat_map(|&r| ["value", "lower_95", "upper_95"].map(|c| table.number(r, c)))
            .flatten(),
    );
    let describe = |i: usize| {
        let r = rows[i];
        format!(
            "{} {} (95% CI {}–{})",
            model.categories[i],
            round(table.number(r, "value").unwrap_or(0.0)),
            table.number(r, "lower_95").map_or("–".into(), round),
            table.number(r, "upper_95").map_or("–".into(), round)
        )
    };
    model.description = if rows.is_empty() {
        format!("{}: nothing to rank.", pretty_period(&latest))
    } else {
        let mut s = format!(
            "{}, lowest first: lowest {}; highest {}.",
            pretty_period(&latest),
            describe(0),
            describe(rows.len() - 1)
        );
        if let Some(i) = own.and_then(|o| model.categories.iter().position(|c| c == o)) {
            s.push_str(&format!(
                " {} ranks {} of {}.",
                describe(i),
                i + 1,
                rows.len()
            ));
        }
        s
    };
    model
}

fn trend_model(spec: &Spec<'_>, indicator: &Indicator, table: &Table, ctx: &Context) -> Model {
    let mut model = empty(indicator, "");
    let mut periods: Vec<String> = table.distinct("period");
    periods.sort();
    model.footer = footer(&periods, ctx);
    model.categories = periods.clone();
    model.x_range = (-0.5, periods.len().max(1) as f64 - 0.5);
    let series: Vec<Option<String>> = match spec.series {
        Some(c) => table.distinct(c).into_iter().map(Some).collect(),
        None => vec![None],
    };
    let column = spec.series.unwrap_or("");
    let mut all_y = Vec::new();
    let mut latest_parts = Vec::new();
    for (k, s) in series.iter().enumerate() {
        let colour = palette::SERIES[k % palette::SERIES.len()];
        // Row of each period in this series, looked up once rather than scanned for
        // every point (a national monthly series has hundreds of periods).
        let rows: std::collections::HashMap<&str, usize> = (0..table.rows.len())
            .filter(|&r| {
                s.as_deref()
                    .is_none_or(|s| table.text(r, column) == Some(s))
            })
            .filter_map(|r| table.text(r, "period").map(|p| (p, r)))
            .collect();
        let row_at = |p: &str| rows.get(p).copied();
        let get = |p: &str, c: &str| row_at(p).and_then(|r| table.number(r, c));
        let points: Vec<(f64, Option<f64>)> = periods
            .iter()
            .enumerate()
            .map(|(i, p)| (i as f64, get(p, "value")))
            .collect();
        let band: Vec<(f64, Option<f64>, Option<f64>)> = periods
            .iter()
            .enumerate()
            .map(|(i, p)| (i as f64, get(p, "lower_95"), get(p, "upper_95")))
            .collect();
        all_y.extend(points.iter().filter_map(|p| p.1));
        all_y.extend(band.iter().filter_map(|b| b.2));
        if let Some(p) = periods.iter().rev().find(|p| get(p, "value").is_some()) {
            latest_parts.push((
                s.clone().unwrap_or_default(),
                p.clone(),
                get(p, "value"),
                get(p, "lower_95"),
                get(p, "upper_95"),
            ));
        }
        model.layers.push(Layer::Band {
            color: colour,
            points: band,
        });
        model.layers.push(Layer::Line {
            name: Some(s.clone().unwrap_or_else(|| "Rate ratio".into())),
            color: colour,
            points: points.clone(),
            dashed: false,
            width: 2.0,
            step: false,
        });
        model.layers.push(Layer::Points {
            points: points
                .iter()
                .filter_map(|(x, y)| y.map(|y| (*x, y, colour)))
                .collect(),
            size: 3.0,
        });
    }
    let ratio = indicator.estimate == Some(Estimate::RateRatio);
    if ratio {
        model.layers.push(Layer::Line {
            name: Some("Equal rates (1)".into()),
            color: palette::INK,
            points: vec![(-0.5, Some(1.0)), (periods.len() as f64 - 0.5, Some(1.0))],
            dashed: true,
            width: 1.0,
            step: false,
        });
        all_y.push(1.0);
    }
    model.y_range = y_range(all_y.into_iter());
    let ci = |lo: Option<f64>, hi: Option<f64>| match (lo, hi) {
        (Some(l), Some(h)) => format!(" (95% CI {}–{})", round(l), round(h)),
        _ => String::new(),
    };
    model.description = if latest_parts.is_empty() {
        "No period has data to show.".into()
    } else if ratio {
        let (_, p, v, lo, hi) = &latest_parts[0];
        let first = periods.iter().find_map(|q| {
            (0..table.rows.len())
                .find(|&r| table.text(r, "period") == Some(q.as_str()))
                .and_then(|r| table.number(r, "value"))
                .map(|v| (q.clone(), v))
        });
        // The groups compared are the indicator's to name (its title); the chart says
        // only what any ratio means.
        let unit = if indicator.unit.is_empty() {
            "ratio"
        } else {
            indicator.unit.as_str()
        };
        let mut s = format!(
            "In {} the {unit} was {}{}; 1 would mean equal rates.",
            pretty_period(p),
            v.map_or("–".into(), round),
            ci(*lo, *hi)
        );
        if let Some((q, v0)) = first
            && q != *p
            && v.is_some()
        {
            s.push_str(&format!(" In {} it was {}.", pretty_period(&q), round(v0)));
        }
        s
    } else {
        let parts: Vec<String> = latest_parts
            .iter()
            .map(|(s, p, v, lo, hi)| {
                format!(
                    "{s} {}{} in {}",
                    v.map_or("–".into(), round),
                    ci(*lo, *hi),
                    pretty_period(p)
                )
            })
            .collect();
        format!("Latest {}: {}.", indicator.unit, parts.join("; "))
    };
    model
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_read_as_people_say_them() {
        assert_eq!(pretty_period("2023-03"), "Mar 2023");
        assert_eq!(pretty_period("2023-Q1"), "2023-Q1");
        assert_eq!(pretty_period("2023/24"), "2023/24");
        assert_eq!(quarter_of("2023-05"), "2023-Q2");
    }
}
