//! SPC and run charts of one series: the chart and rules, the calculation, the layers
//! and the sentence.

use super::*;
use crate::ideas::RebaseState;

/// The SPC or run chart of one series: the chart and rules chosen, the calculation, the
/// layers drawn, and the sentence that says what it shows.
pub(super) fn spc_model(
    spec: &Spec<'_>,
    indicator: &Indicator,
    table: &Table,
    compare: Option<&Table>,
    ctx: &Context,
) -> Figure {
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
    let mut figure = Figure {
        title: String::new(),
        unit: indicator.unit.clone(),
        x_label: String::new(),
        categories: periods.clone(),
        x_range: (-0.5, periods.len().max(1) as f64 - 0.5),
        y_range: (0.0, 1.0),
        layers: Vec::new(),
        description: String::new(),
        footer: footer(&periods, ctx),
        size: (crate::chart::WIDTH, crate::chart::HEIGHT),
    };
    if usable.len() < 3 {
        figure.description = format!(
            "{}: too few periods with data for an SPC chart ({} of {}).",
            if series.is_empty() {
                "This series"
            } else {
                &series
            },
            usable.len(),
            periods.len()
        );
        return figure;
    }
    let mut options = spc_options(spec, indicator);
    // A change idea's rebase, by the usable point it starts at (never the first: a part
    // needs points before it).
    let at = |period: &str| {
        usable
            .iter()
            .position(|&r| table.text(r, "period") == Some(period))
            .filter(|&i| i > 0)
    };
    let mut accepted: Vec<(usize, &str)> = ctx
        .rebases
        .iter()
        .filter(|r| r.state == RebaseState::Accepted)
        .filter_map(|r| at(&r.period).map(|i| (i, r.period.as_str())))
        .collect();
    accepted.sort_unstable();
    options.part = accepted.iter().map(|(i, _)| *i).collect();
    let proposed = ctx
        .rebases
        .iter()
        .filter(|r| r.state == RebaseState::Proposed)
        .filter_map(|r| at(&r.period).map(|i| (i, r.period.as_str())))
        .filter(|(i, _)| !options.part.contains(i))
        // One proposal at a time: the earliest undecided (after it, a later one).
        .min();
    let result = match spc_calculation(&options, table, &usable) {
        Ok(r) => r,
        Err(e) => {
            figure.description = format!("No SPC chart: {e}.");
            return figure;
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
    spc_layers(&mut figure, &drawn, compare, ctx);
    figure.description = spc_sentence(&drawn, indicator);
    for (_, period) in &accepted {
        figure.description.push_str(&format!(
            " The limits restart at {} (a rebase after a change idea, accepted by an analyst).",
            pretty_period(period)
        ));
    }
    if let Some((from, period)) = proposed {
        let mut with = options.clone();
        with.part.push(from);
        with.part.sort_unstable();
        if let Ok(p) = spc_calculation(&with, table, &usable) {
            proposed_layers(&mut figure, &p, &xs, from, period);
            figure.description.push_str(&format!(
                " Dashed blue: the limits ako proposes from {}, after a sustained shift following a change idea; an analyst has not yet accepted them.",
                pretty_period(period)
            ));
        }
    }
    figure
}

/// The proposed centre line and limits from the point `from` on, dashed, beside the
/// current ones.
fn proposed_layers(figure: &mut Figure, p: &spc::SpcChart, xs: &[f64], from: usize, period: &str) {
    let line = |f: &dyn Fn(&spc::Point) -> Option<f64>| -> Vec<(f64, Option<f64>)> {
        xs.iter()
            .zip(&p.points)
            .skip(from)
            .map(|(x, pt)| (*x, f(pt)))
            .collect()
    };
    let layers = [
        (
            Some(format!("Proposed mean from {}", pretty_period(period))),
            line(&|pt| pt.cl),
        ),
        (Some("Proposed limits".to_string()), line(&|pt| pt.ucl)),
        (None, line(&|pt| pt.lcl)),
    ];
    let (lo, hi) = figure.y_range;
    for (name, points) in layers {
        figure.layers.push(Layer::Line {
            name,
            color: palette::BLUE,
            points,
            dashed: true,
            width: 1.2,
            step: false,
        });
    }
    let drawn = figure.layers.iter().flat_map(|l| match l {
        Layer::Line { points, .. } => points.iter().filter_map(|(_, v)| *v).collect(),
        _ => Vec::new(),
    });
    let (nlo, nhi) = y_range(drawn);
    figure.y_range = (lo.min(nlo), hi.max(nhi));
}

/// The chart and rules a panel asks for. Making Data Count puts every measure, rates
/// included, on an XmR chart; a run chart is read by the runs rules (Anhøj).
pub(super) fn spc_options(spec: &Spec<'_>, indicator: &Indicator) -> SpcOptions {
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
pub(super) fn spc_calculation(
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
pub(super) struct Drawn<'a> {
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
pub(super) fn spc_layers(
    figure: &mut Figure,
    d: &Drawn<'_>,
    compare: Option<&Table>,
    ctx: &Context,
) {
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
    figure.layers.push(Layer::Line {
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
            figure.layers.push(Layer::Line {
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
            figure.layers.push(Layer::Line {
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
    figure.layers.push(Layer::Line {
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
    figure.layers.push(Layer::Points {
        points: xs
            .iter()
            .zip(&result.points)
            .filter_map(|(x, p)| p.y.map(|y| (*x, y, colour(p))))
            .collect(),
        size: 3.5,
    });
    for (date, title) in &ctx.annotations {
        let month = date.get(..7).unwrap_or(date);
        // The period whose months hold the idea's: a month, quarter, calendar or
        // financial year alike.
        if let Some(i) = periods
            .iter()
            .position(|p| crate::period::months(p).iter().any(|m| m == month))
        {
            let mut label: String = title.chars().take(38).collect();
            if title.chars().count() > 38 {
                label.push('…');
            }
            figure.layers.push(Layer::Marker { x: i as f64, label });
        }
    }
    figure.y_range = y_range(
        result
            .points
            .iter()
            .flat_map(|p| [p.y, p.ucl, p.lcl, p.cl])
            .flatten()
            .chain(figure.layers.iter().flat_map(|l| match l {
                Layer::Line { points, .. } => points.iter().filter_map(|(_, v)| *v).collect(),
                _ => Vec::new(),
            })),
    );
}

/// One sentence on what the chart shows, then the latest value and centre line.
pub(super) fn spc_sentence(d: &Drawn<'_>, indicator: &Indicator) -> String {
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
