//! Funnel plots of organisations in the latest period.

use super::*;

/// The funnel's x axis: what the denominator counts, as the indicator's header says it
/// ("Occupied bed days"), not "denominator".
fn denominator_words(indicator: &Indicator) -> String {
    let said = indicator
        .measures
        .iter()
        .find(|m| m.role.name() == "denominator")
        .map(|m| {
            m.description
                .trim()
                .trim_end_matches(" in the period")
                .to_string()
        })
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "Denominator (size)".into());
    capitalised(&said)
}

pub(super) fn funnel_model(indicator: &Indicator, table: &Table, ctx: &Context) -> Figure {
    let mut figure = empty(indicator, "");
    let Some(latest) = latest_period(table) else {
        figure.description = "No period has data to plot.".into();
        return figure;
    };
    let rows: Vec<usize> = (0..table.rows.len())
        .filter(|&r| {
            table.text(r, "period") == Some(latest.as_str())
                && table.number(r, "numerator").is_some()
                && table.number(r, "denominator").is_some_and(|d| d > 0.0)
        })
        .collect();
    figure.footer = footer(std::slice::from_ref(&latest), ctx);
    figure.x_label = denominator_words(indicator);
    if rows.len() < 3 {
        figure.description = format!(
            "{}: {} organisations with data; a funnel needs at least 3.",
            pretty_period(&latest),
            rows.len()
        );
        return figure;
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
            figure.description = format!("No funnel: {e}.");
            return figure;
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
            figure.layers.push(Layer::Line {
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
    figure.layers.push(Layer::Line {
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
            figure.layers.push(Layer::Label {
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
    figure.layers.push(Layer::Points { points, size: 4.0 });
    let pad = (xmax - xmin) * 0.05;
    figure.x_range = (0.0f64.max(xmin - pad), xmax + pad);
    figure.y_range = y_range(
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
    figure.description = format!(
        "{}: of {} organisations, {} above the 99.8% limit ({}) and {} below it ({}), around the pooled {} {}{}.",
        ranked_period_words(table).unwrap_or_else(|| pretty_period(&latest)),
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
    figure
}
