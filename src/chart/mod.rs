//! Charts QI teams trust, drawn with plotters: SPC and run charts with their signals,
//! funnel plots, ranked intervals and equity trends. A chart is first a [`Figure`] (what
//! to draw and a sentence saying what it shows), then SVG or PNG from the same figure, so
//! the picture, the download and the screen-reader text cannot disagree.

use plotters::prelude::*;
use plotters::style::{FontStyle, RGBColor};
use serde::{Deserialize, Serialize};

/// Chart kinds (**contract** names in dashboard files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    /// SPC chart of one series over time, limits and signals.
    Spc,
    /// Run chart: median and runs rules.
    Run,
    /// Funnel plot of organisations in the latest period.
    Funnel,
    /// Ranked estimates with 95% intervals, latest period.
    CiBars,
    /// One line per group (e.g. ethnicity) over time, with 95% intervals.
    EquityTrend,
    /// A table only.
    Table,
}

impl ChartKind {
    /// Whether the chart reads `value` and its interval (an indicator, not a table).
    pub fn needs_estimate(self) -> bool {
        !matches!(self, ChartKind::Table)
    }

    pub fn has_chart(self) -> bool {
        !matches!(self, ChartKind::Table)
    }
}

/// What to draw: the chart's own description, so that charts know nothing of
/// dashboards (a dashboard panel says it with [`crate::dashboard::Panel::chart_spec`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spec<'a> {
    pub kind: ChartKind,
    pub title: &'a str,
    /// Drawn across the page (else half of it).
    pub wide: bool,
    /// What to say when there are no rows.
    pub empty: Option<&'a str>,
    /// SPC: the signal rules (Making Data Count unless said).
    pub convention: Option<crate::stats::spc::Convention>,
    /// SPC: which way is better (lower, unless said).
    pub direction: Option<crate::stats::spc::Direction>,
    /// Trend: the column whose values are the lines.
    pub series: Option<&'a str>,
}

pub mod cache;
pub mod figure;

pub use cache::PngCache;
pub use figure::{Figure, build};

/// Okabe–Ito colours: told apart with every common colour-vision deficiency.
pub mod palette {
    use plotters::style::RGBColor;
    pub const BLUE: RGBColor = RGBColor(0, 114, 178);
    pub const ORANGE: RGBColor = RGBColor(230, 159, 0);
    pub const SKY: RGBColor = RGBColor(86, 180, 233);
    pub const GREEN: RGBColor = RGBColor(0, 158, 115);
    pub const VERMILLION: RGBColor = RGBColor(213, 94, 0);
    pub const PURPLE: RGBColor = RGBColor(204, 121, 167);
    pub const GREY: RGBColor = RGBColor(120, 120, 120);
    pub const LIGHT: RGBColor = RGBColor(190, 190, 190);
    pub const INK: RGBColor = RGBColor(30, 30, 30);
    /// Lines of a several-series chart, in order.
    pub const SERIES: [RGBColor; 6] = [BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY];
}

/// Size of a full-width chart; a half-width panel gets a narrower one so its text is
/// not shrunk to nothing on the page.
pub const WIDTH: u32 = 1000;
pub const HEIGHT: u32 = 440;

/// What went wrong drawing.
#[derive(Debug, thiserror::Error)]
#[error("drawing the chart: {0}")]
pub struct ChartError(String);

fn err<E: std::fmt::Debug>(e: E) -> ChartError {
    ChartError(format!("{e:?}"))
}

/// The chart as SVG text. The figure's description is the SVG's `<desc>` and title its
/// `<title>`, for screen readers and for anyone who opens the file on its own.
pub fn svg(figure: &Figure) -> Result<String, ChartError> {
    fonts();
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, figure.size).into_drawing_area();
        draw_with(&root, figure, 1.0)?;
        root.present().map_err(err)?;
    }
    let head = format!(
        "<title>{}</title><desc>{}</desc>",
        xml_escape(&figure.title),
        xml_escape(&figure.description)
    );
    Ok(match text.find('>') {
        Some(end) => {
            let (open, rest) = text.split_at(end + 1);
            let open = open.replacen(
                "<svg ",
                &format!(
                    "<svg role=\"img\" aria-label=\"{}\" ",
                    xml_escape(&figure.title)
                ),
                1,
            );
            format!("{open}{head}{rest}")
        }
        None => text,
    })
}

/// The chart as a PNG file's bytes, twice the SVG's size for sharp slides.
pub fn png(figure: &Figure) -> Result<Vec<u8>, ChartError> {
    fonts();
    let (w, h) = (figure.size.0 * 2, figure.size.1 * 2);
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        draw_with(&root, figure, 2.0)?;
        root.present().map_err(err)?;
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(err)?;
        writer.write_image_data(&rgb).map_err(err)?;
    }
    Ok(out)
}

fn fonts() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let font: &'static [u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
        // plotters measures text with these for both backends; no system fonts are read.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, font);
        let _ = plotters::style::register_font("sans-serif", FontStyle::Bold, font);
    });
}

/// Text made safe inside SVG or XML.
pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn draw_with<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    figure: &Figure,
    scale: f64,
) -> Result<(), ChartError> {
    use figure::Layer;
    let px = |v: f64| (v * scale).round() as i32;
    let pxu = |v: f64| (v * scale).round() as u32;
    root.fill(&WHITE).map_err(err)?;
    let (x0, x1) = figure.x_range;
    let (y0, y1) = figure.y_range;
    let mut chart = ChartBuilder::on(root)
        .caption(
            &figure.title,
            ("sans-serif", pxu(17.0)).into_font().color(&palette::INK),
        )
        .margin(px(10.0))
        .x_label_area_size(px(if figure.categories.is_empty() {
            40.0
        } else {
            70.0
        }))
        .y_label_area_size(px(62.0))
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    let categories = figure.categories.clone();
    let label_font = ("sans-serif", pxu(11.0)).into_font().color(&palette::INK);
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(220, 220, 220))
        .axis_desc_style(("sans-serif", pxu(12.0)).into_font().color(&palette::INK))
        .label_style(label_font.clone())
        .y_desc(&figure.unit)
        .x_desc(&figure.x_label);
    let formatter = move |x: &f64| {
        if categories.is_empty() {
            crate::table::format_number(*x)
        } else {
            let i = x.round();
            if (x - i).abs() < 1e-9 && i >= 0.0 && (i as usize) < categories.len() {
                categories[i as usize].clone()
            } else {
                String::new()
            }
        }
    };
    if !figure.categories.is_empty() {
        mesh.x_labels(figure.categories.len().min(14));
    }
    mesh.x_label_formatter(&formatter).draw().map_err(err)?;
    for layer in &figure.layers {
        draw_layer(&mut chart, layer, scale, figure.x_range, figure.y_range)?;
    }
    if figure
        .layers
        .iter()
        .any(|l| matches!(l, Layer::Line { name: Some(_), .. }))
    {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(palette::LIGHT)
            .label_font(("sans-serif", pxu(11.0)).into_font().color(&palette::INK))
            .draw()
            .map_err(err)?;
    }
    if !figure.footer.is_empty() {
        root.draw(&Text::new(
            figure.footer.clone(),
            (px(8.0), px(figure.size.1 as f64 - 14.0)),
            ("sans-serif", pxu(10.0)).into_font().color(&palette::GREY),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// The plotting area of a chart: numbers on both axes.
type Plot<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// Draws one layer of a chart's figure.
fn draw_layer<DB: DrawingBackend>(
    chart: &mut Plot<'_, DB>,
    layer: &figure::Layer,
    scale: f64,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> Result<(), ChartError> {
    use figure::Layer;
    let px = |v: f64| (v * scale).round() as i32;
    let pxu = |v: f64| (v * scale).round() as u32;
    match layer {
        Layer::Line {
            name,
            color,
            points,
            dashed,
            width,
            step,
        } => {
            let style = ShapeStyle::from(color).stroke_width(pxu(*width));
            for segment in segments(points) {
                let path = if *step { stepped(&segment) } else { segment };
                if *dashed {
                    chart
                        .draw_series(DashedLineSeries::new(
                            path,
                            px(6.0) as u32,
                            px(4.0) as u32,
                            style,
                        ))
                        .map_err(err)?;
                } else {
                    chart
                        .draw_series(LineSeries::new(path, style))
                        .map_err(err)?;
                }
            }
            if let Some(name) = name {
                let c = *color;
                let w = pxu(*width);
                let _ = chart
                    .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
                    .map_err(err)?
                    .label(name.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(w))
                    });
            }
        }
        Layer::Points { points, size } => {
            chart
                .draw_series(points.iter().map(|(x, y, c)| {
                    Circle::new((*x, *y), pxu(*size), ShapeStyle::from(c).filled())
                }))
                .map_err(err)?;
        }
        Layer::Hollow { points, size } => {
            chart
                .draw_series(points.iter().map(|(x, y, _)| {
                    Circle::new((*x, *y), pxu(*size), ShapeStyle::from(&WHITE).filled())
                }))
                .map_err(err)?;
            chart
                .draw_series(points.iter().map(|(x, y, c)| {
                    Circle::new(
                        (*x, *y),
                        pxu(*size),
                        ShapeStyle::from(c).stroke_width(pxu(1.5)),
                    )
                }))
                .map_err(err)?;
        }
        Layer::Bars { color, bars } => {
            for (x, lo, hi, c) in bars {
                let c = c.unwrap_or(*color);
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(*x, *lo), (*x, *hi)],
                        c.stroke_width(pxu(2.0)),
                    )))
                    .map_err(err)?;
                let w = (x1 - x0) * 0.006;
                for y in [*lo, *hi] {
                    chart
                        .draw_series(std::iter::once(PathElement::new(
                            vec![(*x - w, y), (*x + w, y)],
                            c.stroke_width(pxu(2.0)),
                        )))
                        .map_err(err)?;
                }
            }
        }
        Layer::Band { color, points } => {
            for segment in band_segments(points) {
                let mut outline: Vec<(f64, f64)> =
                    segment.iter().map(|(x, lo, _)| (*x, *lo)).collect();
                outline.extend(segment.iter().rev().map(|(x, _, hi)| (*x, *hi)));
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        outline,
                        color.mix(0.18).filled(),
                    )))
                    .map_err(err)?;
            }
        }
        Layer::Marker { x, label } => {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(*x, y0), (*x, y1)],
                    px(3.0) as u32,
                    px(3.0) as u32,
                    palette::GREEN.stroke_width(pxu(1.5)),
                ))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    label.clone(),
                    (*x, y1),
                    ("sans-serif", pxu(11.0)).into_font().color(&palette::GREEN),
                )))
                .map_err(err)?;
        }
        Layer::Label { x, y, text } => {
            chart
                .draw_series(std::iter::once(Text::new(
                    text.clone(),
                    (*x, *y),
                    ("sans-serif", pxu(11.0)).into_font().color(&palette::INK),
                )))
                .map_err(err)?;
        }
    }
    Ok(())
}

/// Splits a line at missing points so a gap stays a gap.
fn segments(points: &[(f64, Option<f64>)]) -> Vec<Vec<(f64, f64)>> {
    let mut out = vec![Vec::new()];
    for (x, y) in points {
        match y {
            Some(y) if y.is_finite() => out.last_mut().expect("one segment").push((*x, *y)),
            _ => {
                if !out.last().expect("one segment").is_empty() {
                    out.push(Vec::new());
                }
            }
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

fn band_segments(points: &[(f64, Option<f64>, Option<f64>)]) -> Vec<Vec<(f64, f64, f64)>> {
    let mut out = vec![Vec::new()];
    for (x, lo, hi) in points {
        match (lo, hi) {
            (Some(lo), Some(hi)) if lo.is_finite() && hi.is_finite() => {
                out.last_mut().expect("one segment").push((*x, *lo, *hi))
            }
            _ => {
                if !out.last().expect("one segment").is_empty() {
                    out.push(Vec::new());
                }
            }
        }
    }
    out.retain(|s| s.len() > 1);
    out
}

/// Limits that change with each point's size are drawn as steps centred on the points.
fn stepped(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2);
    for (i, (x, y)) in points.iter().enumerate() {
        let left = if i == 0 {
            x - 0.5
        } else {
            (points[i - 1].0 + x) / 2.0
        };
        let right = if i + 1 == points.len() {
            x + 0.5
        } else {
            (points[i + 1].0 + x) / 2.0
        };
        out.push((left, *y));
        out.push((right, *y));
    }
    out
}
