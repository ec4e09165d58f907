//! A breakout group's chart pack: the charts its page shows, each with its title,
//! one-sentence description, period and lake version, as one PDF (a page per chart,
//! real text) and as SVG, PNG and CSV files, for a facilitator to share in the online
//! breakout. Built from the session's pinned lake version through the same privacy step
//! as the dashboards, for the pack's audience.
//!
//! A pack is reproducible: the same session and lake give byte-identical SVG, CSV and
//! manifest, since nothing in them depends on when or where it was made.

pub mod charts;
mod files;
mod pdf;

use serde::Serialize;

use crate::chart::{self, Figure};
use crate::collab::summaries::ChartRef;
use crate::collab::{Session, SessionGroup};
use crate::dashboard::Dashboards;
use crate::dashboard::compute::{Cache, ComputeError};
use crate::dashboard::filters::FilterError;
use crate::dashboard::view::Edition;
use crate::privacy::{Role, Viewer};
use crate::table::Table;

pub use files::write;
pub use pdf::pdf;

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("choosing the breakout's charts: {0}")]
    Filter(#[from] FilterError),
    #[error("panel {panel} of the {dashboard} dashboard could not be computed: {source}")]
    Panel {
        dashboard: String,
        panel: String,
        source: Box<ComputeError>,
    },
    #[error(transparent)]
    Chart(#[from] chart::ChartError),
    #[error("laying out page {page} of the PDF: {message}")]
    Page { page: usize, message: String },
    #[error("writing {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// One chart of the pack.
#[derive(Debug, Clone)]
pub struct Chart {
    /// The stem of its SVG, PNG and CSV files: `01-peer-group-rate`.
    pub file: String,
    pub dashboard: String,
    pub panel: String,
    pub title: String,
    /// What the chart shows, in one or two sentences (the figure's own).
    pub description: String,
    /// Period, lake version and what was withheld.
    pub footer: String,
    /// Its picture (none for a table panel, drawn in the PDF as text).
    pub figure: Option<Figure>,
    /// Its data as the audience may see it: the dashboards' CSV download of it.
    pub table: Table,
}

/// A breakout group's pack.
#[derive(Debug, Clone)]
pub struct Pack {
    pub session: Session,
    pub group: SessionGroup,
    pub lake_version: Option<i64>,
    /// Who it is prepared for, in words.
    pub audience: String,
    /// The group's members as the audience sees them.
    pub members: Vec<String>,
    pub charts: Vec<Chart>,
}

/// The breakout's own audience: its moderator, to whom every organisation is a peer
/// code, so that a pack can be shared with anyone in the group. `ako session pack`
/// makes packs for this viewer.
pub fn breakout_audience(session: &Session, group: &SessionGroup) -> Viewer {
    Viewer {
        role: Role::Moderator,
        org: None,
        scope: Some(crate::privacy::Scope {
            session: session.session_id,
            group: group.group_id,
        }),
    }
}

fn audience_words(viewer: &Viewer) -> String {
    match (viewer.role, &viewer.org) {
        (Role::Analyst, _) => {
            "analysts: organisations named, nothing withheld; not for sharing".into()
        }
        (_, Some(org)) => format!(
            "{org}, a participant of the breakout: other organisations by peer code, small cells withheld"
        ),
        _ => "the breakout group: every organisation by peer code, small cells withheld".into(),
    }
}

/// A file stem's words: lower case letters and digits joined by `-`.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// The stem of the `n`th chart's files (from 1).
fn stem(n: usize, dashboard: &str, panel: &str) -> String {
    format!("{n:02}-{dashboard}-{}", slug(panel))
}

/// The charts every group's pack holds, in order, for a report to point to.
pub fn chart_refs(dashboards: &Dashboards) -> Vec<ChartRef> {
    charts::DASHBOARDS
        .iter()
        .filter_map(|&(id, of_group)| dashboards.get(id).map(|d| (d, of_group)))
        .flat_map(|(d, of_group)| charts::breakout_panels(d, of_group).map(move |p| (d, p)))
        .enumerate()
        .map(|(i, (d, p))| ChartRef {
            page: i + 2,
            title: p.title.clone(),
            file: stem(i + 1, &d.id, &p.id),
        })
        .collect()
}

/// The pack of `group` as `viewer` may see it, from `edition` (the session's pinned lake
/// version). A chart that cannot be computed fails the pack: a pack missing a chart
/// without saying so would mislead the room.
pub async fn build(
    cache: &Cache,
    edition: &Edition,
    viewer: &Viewer,
    session: &Session,
    group: &SessionGroup,
) -> Result<Pack, PackError> {
    let sections = charts::sections(cache, edition, viewer, session, group).await?;
    let mut out = Vec::new();
    for section in sections {
        for (panel, shown) in section.panels {
            let shown = shown.map_err(|source| PackError::Panel {
                dashboard: section.dashboard.id.clone(),
                panel: panel.id.clone(),
                source: Box::new(source),
            })?;
            let figure = shown.figure(&edition.source.catalog, panel);
            out.push(Chart {
                file: stem(out.len() + 1, &section.dashboard.id, &panel.id),
                dashboard: section.dashboard.id.clone(),
                panel: panel.id.clone(),
                title: panel.title.clone(),
                description: figure.description.clone(),
                footer: figure.footer.clone(),
                table: shown.table,
                figure: panel.chart.has_chart().then_some(figure),
            });
        }
    }
    Ok(Pack {
        session: session.clone(),
        group: group.clone(),
        lake_version: edition.source.lake_version,
        audience: audience_words(viewer),
        members: charts::member_labels(edition, viewer, group),
        charts: out,
    })
}

/// The pack's manifest (`pack.json`): what each file holds.
#[derive(Debug, Serialize)]
pub struct Manifest<'a> {
    pub session_id: i64,
    pub session: &'a str,
    pub date: &'a str,
    pub group_id: i64,
    pub group: &'a str,
    pub lake_version: Option<i64>,
    pub audience: &'a str,
    pub members: &'a [String],
    pub charts: Vec<ManifestChart<'a>>,
}

#[derive(Debug, Serialize)]
pub struct ManifestChart<'a> {
    pub page: usize,
    pub dashboard: &'a str,
    pub panel: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub footer: &'a str,
    pub svg: Option<String>,
    pub png: Option<String>,
    pub csv: String,
}

impl Pack {
    pub fn manifest(&self) -> Manifest<'_> {
        Manifest {
            session_id: self.session.session_id,
            session: &self.session.title,
            date: &self.session.date,
            group_id: self.group.group_id,
            group: &self.group.name,
            lake_version: self.lake_version,
            audience: &self.audience,
            members: &self.members,
            charts: self
                .charts
                .iter()
                .enumerate()
                .map(|(i, c)| ManifestChart {
                    // Page 1 is the cover.
                    page: i + 2,
                    dashboard: &c.dashboard,
                    panel: &c.panel,
                    title: &c.title,
                    description: &c.description,
                    footer: &c.footer,
                    svg: c.figure.as_ref().map(|_| format!("{}.svg", c.file)),
                    png: c.figure.as_ref().map(|_| format!("{}.png", c.file)),
                    csv: format!("{}.csv", c.file),
                })
                .collect(),
        }
    }

    /// The folder a pack is written to inside `--out`: `group-3-large-inpatient`.
    pub fn folder(&self) -> String {
        format!("group-{}-{}", self.group.group_id, slug(&self.group.name))
    }
}
