//! Ranked estimates with their 95% intervals.

use super::*;

pub(super) fn bars_model(indicator: &Indicator, table: &Table, ctx: &Context) -> Figure {
    let mut figure = empty(indicator, "");
    let Some(latest) = latest_period(table) else {
        figure.description = "No period has data to rank.".into();
        return figure;
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
    figure.footer = footer(std::slice::from_ref(&latest), ctx);
    figure.categories = rows.iter().map(|&r| unit_label(table, r)).collect();
    figure.x_range = (-0.6, rows.len().max(1) as f64 - 0.4);
    let own = ctx.highlight.as_deref();
    let colour = |label: &str| {
        if Some(label) == own {
            palette::BLUE
        } else {
            palette::GREY
        }
    };
    figure.layers.push(Layer::Bars {
        color: palette::GREY,
        bars: rows
            .iter()
            .enumerate()
            .filter_map(|(i, &r)| {
                Some((
                    i as f64,
                    table.number(r, "lower_95")?,
                    table.number(r, "upper_95")?,
                    Some(colour(&figure.categories[i])),
                ))
            })
            .collect(),
    });
    figure.layers.push(Layer::Points {
        points: rows
            .iter()
            .enumerate()
            .map(|(i, &r)| {
                (
                    i as f64,
                    table.number(r, "value").unwrap_or(0.0),
                    colour(&figure.categories[i]),
                )
            })
            .collect(),
        size: 4.5,
    });
    figure.y_range = y_range(
        rows.iter()
            .flat_map(|&r| ["value", "lower_95", "upper_95"].map(|c| table.number(r, c)))
            .flatten(),
    );
    let describe = |i: usize| {
        let r = rows[i];
        format!(
            "{} {} (95% CI {}–{})",
            figure.categories[i],
            round(table.number(r, "value").unwrap_or(0.0)),
            table.number(r, "lower_95").map_or("–".into(), round),
            table.number(r, "upper_95").map_or("–".into(), round)
        )
    };
    let period = ranked_period_words(table).unwrap_or_else(|| pretty_period(&latest));
    figure.description = if rows.is_empty() {
        format!("{period}: nothing to rank.")
    } else {
        let mut s = format!(
            "{period}, lowest first: lowest {}; highest {}.",
            describe(0),
            describe(rows.len() - 1)
        );
        if let Some(i) = own.and_then(|o| figure.categories.iter().position(|c| c == o)) {
            s.push_str(&format!(
                " {} ranks {} of {}.",
                describe(i),
                i + 1,
                rows.len()
            ));
        }
        s
    };
    figure
}
