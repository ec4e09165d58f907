//! The pack as PDF: every page is laid out as an SVG (a heading, the chart's title, its
//! description, the chart, its period and lake version) and converted by `svg2pdf`,
//! which keeps text as text with the bundled font embedded, so the PDF can be searched,
//! read aloud and copied from.

use std::collections::HashMap;
use std::fmt::Write as _;

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, TextStr};
use svg2pdf::usvg;

use super::{Chart, Pack, PackError};
use crate::chart::{self, xml_escape as esc};

/// A4 landscape, in points.
const W: f32 = 842.0;
const H: f32 = 595.0;
const MARGIN: f32 = 36.0;
/// The bundled font: the charts' own, so the PDF reads as the screen does.
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// Rows of a table panel that fit on its page; the CSV holds all of them.
const TABLE_ROWS: usize = 32;

/// The pack's PDF: a cover page, then one page per chart.
pub fn pdf(pack: &Pack) -> Result<Vec<u8>, PackError> {
    let mut pages = vec![cover(pack)];
    let total = pack.charts.len() + 1;
    for (i, c) in pack.charts.iter().enumerate() {
        pages.push(chart_page(pack, c, i + 2, total)?);
    }
    let title = format!("{}: {}", pack.session.title, pack.group.name);
    assemble(&pages, &title)
}

/// `text` broken into lines of at most `width` characters, at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn open_page() -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"DejaVu Sans\"><rect width=\"{W}\" height=\"{H}\" fill=\"#ffffff\"/>"
    )
}

fn text(out: &mut String, x: f32, y: f32, size: f32, fill: &str, s: &str) {
    let _ = write!(
        out,
        "<text x=\"{x}\" y=\"{y}\" font-size=\"{size}\" fill=\"{fill}\">{}</text>",
        esc(s)
    );
}

fn heading(pack: &Pack, page: usize, total: usize) -> String {
    format!(
        "{} · {} · {} · lake version {} · page {page} of {total}",
        pack.session.title,
        pack.session.date,
        pack.group.name,
        version(pack.lake_version)
    )
}

fn version(v: Option<i64>) -> String {
    v.map_or("empty".into(), |v| v.to_string())
}

fn cover(pack: &Pack) -> String {
    let mut s = open_page();
    let total = pack.charts.len() + 1;
    text(
        &mut s,
        MARGIN,
        30.0,
        9.0,
        "#555555",
        &heading(pack, 1, total),
    );
    text(&mut s, MARGIN, 90.0, 24.0, "#1e1e1e", &pack.session.title);
    text(
        &mut s,
        MARGIN,
        122.0,
        16.0,
        "#1e1e1e",
        &format!("Breakout group: {}", pack.group.name),
    );
    let mut y = 160.0;
    let mut line = |s: &mut String, words: String| {
        for l in wrap(&words, 120) {
            text(s, MARGIN, y, 11.0, "#1e1e1e", &l);
            y += 16.0;
        }
        y += 6.0;
    };
    line(&mut s, format!("Held on {}.", pack.session.date));
    line(
        &mut s,
        format!(
            "Moderator: {}.",
            pack.group
                .moderator
                .as_deref()
                .unwrap_or("not yet nominated")
        ),
    );
    line(&mut s, format!("Members: {}.", pack.members.join(", ")));
    line(
        &mut s,
        format!(
            "Every chart shows lake version {}, the version the session pinned when it was made, so the pack does not change when a new month arrives.",
            version(pack.lake_version)
        ),
    );
    line(&mut s, format!("Prepared for {}.", pack.audience));
    line(
        &mut s,
        format!(
            "{} charts follow, one per page; each is also in this folder as SVG and PNG, with its data as CSV.",
            pack.charts.len()
        ),
    );
    s.push_str("</svg>");
    s
}

fn chart_page(pack: &Pack, c: &Chart, page: usize, total: usize) -> Result<String, PackError> {
    let mut s = open_page();
    text(
        &mut s,
        MARGIN,
        30.0,
        9.0,
        "#555555",
        &heading(pack, page, total),
    );
    text(&mut s, MARGIN, 58.0, 17.0, "#1e1e1e", &c.title);
    let mut y = 78.0;
    for l in wrap(&c.description, 135).into_iter().take(4) {
        text(&mut s, MARGIN, y, 10.0, "#1e1e1e", &l);
        y += 13.5;
    }
    let top = y + 6.0;
    let bottom = H - 44.0;
    match &c.figure {
        Some(figure) => {
            let svg = chart::svg(figure)?;
            let (fw, fh) = (figure.size.0 as f32, figure.size.1 as f32);
            let k = ((W - 2.0 * MARGIN) / fw).min((bottom - top) / fh);
            let x = (W - fw * k) / 2.0;
            let _ = write!(
                s,
                "<g transform=\"translate({x} {top}) scale({k})\">{}</g>",
                inner(&svg)
            );
        }
        None => table(&mut s, c, top),
    }
    // A chart prints its period and version under itself; a table has them here.
    let footer = if c.figure.is_some() { "" } else { &c.footer };
    for (i, l) in wrap(footer, 150).into_iter().take(2).enumerate() {
        text(
            &mut s,
            MARGIN,
            H - 26.0 + 12.0 * i as f32,
            9.0,
            "#555555",
            &l,
        );
    }
    s.push_str("</svg>");
    Ok(s)
}

/// What lies inside an SVG document's root element.
fn inner(svg: &str) -> &str {
    let start = svg
        .find("<svg")
        .and_then(|i| svg[i..].find('>').map(|j| i + j + 1))
        .unwrap_or(0);
    let end = svg.rfind("</svg>").unwrap_or(svg.len());
    &svg[start..end.max(start)]
}

/// A table panel drawn as text, its first rows; the CSV has every row.
fn table(s: &mut String, c: &Chart, top: f32) {
    let rows = crate::dashboard::view::display_rows(&c.table);
    let cols = c.table.columns.len().max(1);
    // Columns as wide as their longest cell, shared out over the page.
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .take(TABLE_ROWS)
                .filter_map(|r| r.get(i))
                .chain(c.table.columns.get(i))
                .map(|v| v.chars().count().min(40))
                .max()
                .unwrap_or(1)
                .max(3)
        })
        .collect();
    let total: usize = widths.iter().sum();
    let mut xs = Vec::with_capacity(cols);
    let mut x = MARGIN;
    for w in &widths {
        xs.push(x);
        x += (W - 2.0 * MARGIN) * *w as f32 / total as f32;
    }
    let size = 8.0;
    let fit = |v: &str, w: usize| -> String {
        if v.chars().count() > w {
            format!(
                "{}…",
                v.chars().take(w.saturating_sub(1)).collect::<String>()
            )
        } else {
            v.to_string()
        }
    };
    let mut y = top + 12.0;
    for (i, h) in c.table.columns.iter().enumerate() {
        text(s, xs[i], y, size, "#1e1e1e", &fit(h, widths[i]));
    }
    y += 4.0;
    let _ = write!(
        s,
        "<line x1=\"{MARGIN}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#999999\" stroke-width=\"0.5\"/>",
        W - MARGIN
    );
    for r in rows.iter().take(TABLE_ROWS) {
        y += 12.5;
        for (i, v) in r.iter().enumerate() {
            text(s, xs[i], y, size, "#1e1e1e", &fit(v, widths[i]));
        }
    }
    if rows.len() > TABLE_ROWS {
        y += 14.0;
        text(
            s,
            MARGIN,
            y,
            size,
            "#555555",
            &format!(
                "… and {} more rows in {}.csv.",
                rows.len() - TABLE_ROWS,
                c.file
            ),
        );
    }
}

fn options() -> usvg::Options<'static> {
    let mut options = usvg::Options {
        font_family: "DejaVu Sans".into(),
        ..usvg::Options::default()
    };
    let db = options.fontdb_mut();
    db.load_font_data(FONT.to_vec());
    db.set_sans_serif_family("DejaVu Sans");
    options
}

/// The pages, each an SVG of one A4 landscape page, as one PDF.
fn assemble(pages: &[String], title: &str) -> Result<Vec<u8>, PackError> {
    let options = options();
    let mut alloc = Ref::new(1);
    let catalog = alloc.bump();
    let tree = alloc.bump();
    let mut pdf = Pdf::new();
    let mut kids = Vec::with_capacity(pages.len());
    let mut chunks = Vec::with_capacity(pages.len());
    for (i, svg) in pages.iter().enumerate() {
        let page_err = |message: String| PackError::Page {
            page: i + 1,
            message,
        };
        let parsed = usvg::Tree::from_str(svg, &options).map_err(|e| page_err(e.to_string()))?;
        let (chunk, object) = svg2pdf::to_chunk(&parsed, svg2pdf::ConversionOptions::default())
            .map_err(|e| page_err(e.to_string()))?;
        // Each page's objects get numbers of their own in the one file.
        let mut map = HashMap::new();
        let chunk = chunk.renumber(|old| *map.entry(old).or_insert_with(|| alloc.bump()));
        let object = map[&object];
        let page = alloc.bump();
        let content = alloc.bump();
        let mut p = pdf.page(page);
        p.media_box(Rect::new(0.0, 0.0, W, H));
        p.parent(tree);
        p.contents(content);
        p.resources().x_objects().pair(Name(b"Page"), object);
        p.finish();
        let mut c = Content::new();
        // The page's form is one point square: stretch it over the page.
        c.transform([W, 0.0, 0.0, H, 0.0, 0.0]);
        c.x_object(Name(b"Page"));
        pdf.stream(content, &c.finish());
        kids.push(page);
        chunks.push(chunk);
    }
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(kids.iter().copied())
        .count(kids.len() as i32);
    for chunk in &chunks {
        pdf.extend(chunk);
    }
    pdf.document_info(alloc.bump())
        .title(TextStr(title))
        .producer(TextStr("ako"));
    Ok(pdf.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_wrap_at_spaces_within_the_width() {
        assert_eq!(
            wrap("one two three four", 9),
            vec!["one two", "three", "four"]
        );
        assert_eq!(wrap("", 9), Vec::<String>::new());
        // A word longer than the line stands alone rather than being cut.
        assert_eq!(wrap("a abcdefghijk b", 5), vec!["a", "abcdefghijk", "b"]);
    }

    #[test]
    fn a_chart_svg_is_nested_without_its_root_element() {
        assert_eq!(
            inner("<svg width=\"2\" a=\"b\"><title>t</title><rect/></svg>"),
            "<title>t</title><rect/>"
        );
    }
}
