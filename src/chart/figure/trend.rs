//! One line per group over time, with 95% intervals.

use super::*;

pub(super) fn trend_model(
    spec: &Spec<'_>,
    indicator: &Indicator,
    table: &Table,
    ctx: &Context,
) -> Figure {
    let mut figure = empty(indicator, "");
    let mut periods: Vec<String> = table.distinct("period");
    periods.sort();
    figure.footer = footer(&periods, ctx);
    figure.categories = periods.clone();
    figure.x_range = (-0.5, periods.len().max(1) as f64 - 0.5);
    let series: Vec<Option<String>> = match spec.series {
        Some(c) => table.distinct(c).into_iter().map(Some).collect(),
        None => vec![None],
    };
    let column = spec.series.unwrap_or("");
    let mut all_y = Vec::new();
    let mut latest_parts = Vec::new();
    let mut k = 0;
    for s in &series {
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
        // A group with no value in any period (people whose Indigenous status was not
        // stated have no population, so no rate) has no line; the table still lists it.
        if points.iter().all(|p| p.1.is_none()) {
            continue;
        }
        k += 1;
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
        figure.layers.push(Layer::Band {
            color: colour,
            points: band,
        });
        figure.layers.push(Layer::Line {
            name: Some(
                s.as_deref()
                    .map_or_else(|| capitalised(&indicator.unit), words),
            ),
            color: colour,
            points: points.clone(),
            dashed: false,
            width: 2.0,
            step: false,
        });
        figure.layers.push(Layer::Points {
            points: points
                .iter()
                .filter_map(|(x, y)| y.map(|y| (*x, y, colour)))
                .collect(),
            size: 3.0,
        });
    }
    let ratio = indicator.estimate.is_some_and(Estimate::is_ratio);
    let equal = if indicator.estimate == Some(Estimate::ProportionRatio) {
        "equal proportions"
    } else {
        "equal rates"
    };
    if ratio {
        figure.layers.push(Layer::Line {
            name: Some(format!("{} (1)", capitalised(equal))),
            color: palette::INK,
            points: vec![(-0.5, Some(1.0)), (periods.len() as f64 - 0.5, Some(1.0))],
            dashed: true,
            width: 1.0,
            step: false,
        });
        all_y.push(1.0);
    }
    figure.y_range = y_range(all_y.into_iter());
    let ci = |lo: Option<f64>, hi: Option<f64>| match (lo, hi) {
        (Some(l), Some(h)) => format!(" (95% CI {}–{})", round(l), round(h)),
        _ => String::new(),
    };
    let unit = if indicator.unit.is_empty() {
        "ratio"
    } else {
        indicator.unit.as_str()
    };
    // Each line's latest value: "Indigenous 128 (95% CI 89.3–178) in 2024/25".
    let each_latest = || -> String {
        latest_parts
            .iter()
            .map(|(s, p, v, lo, hi)| {
                format!(
                    "{} {}{} in {}",
                    words(s),
                    v.map_or("–".into(), round),
                    ci(*lo, *hi),
                    pretty_period(p)
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    figure.description = if latest_parts.is_empty() {
        "No period has data to show.".into()
    } else if ratio && latest_parts.len() > 1 {
        // One ratio per line (a jurisdiction each): every one is named.
        format!("Latest {unit}: {}; 1 would mean {equal}.", each_latest())
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
        let mut s = format!(
            "In {} the {unit} was {}{}; 1 would mean {equal}.",
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
        format!("Latest {}: {}.", indicator.unit, each_latest())
    };
    figure
}
