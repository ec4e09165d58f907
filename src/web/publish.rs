//! `ako publish`: the dashboards open to the public, written as a static folder for QI
//! analysts to put on a website. Everything goes through the same privacy step as the
//! server with the public role, so a published figure is exactly what a member of the
//! public would see. The folder is written beside the target and renamed into place.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::context;
use serde_json::json;

use super::pages::{PanelView, panel_view, render_html};
use super::{WebError, panel_fields};
use crate::chart;
use crate::dashboard::compute::Cache;
use crate::dashboard::view::{self, Edition};
use crate::privacy::{Role, Viewer};

#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub dashboards: usize,
    pub panels: usize,
    pub lake_version: Option<i64>,
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), WebError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, bytes)?;
    Ok(())
}

fn render(name: &str, ctx: minijinja::Value) -> Result<String, WebError> {
    render_html(name, ctx).map_err(|e| WebError::Refused(e.to_string()))
}

/// Writes the public dashboards of `edition` into `out`, replacing what was there only
/// once the new folder is complete. Needs nothing of a server: the same privacy step
/// ([`view::show`]) with the public role, and a cache for the protected views.
pub async fn publish(cache: &Cache, edition: &Edition, out: &Path) -> Result<Summary, WebError> {
    let source = &edition.source;
    if source.config.privacy.pseudonym_key.is_none() {
        return Err(WebError::Refused(
            "ako publish shows organisations by peer codes, which need a secret key: add `[privacy] pseudonym_key = \"…\"` (long random text, kept unchanged) to ako.toml, or run `ako token add`, which adds one".into(),
        ));
    }
    let viewer = Viewer::public();
    let current = edition;
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let staging = tempfile::Builder::new()
        .prefix(".ako-publish-")
        .tempdir_in(parent)?;
    let root = staging.path();
    let mut summary = Summary {
        dashboards: 0,
        panels: 0,
        lake_version: current.source.lake_version,
    };
    let mut listed = Vec::new();
    for d in source
        .dashboards
        .list
        .iter()
        .filter(|d| d.audience.contains(&Role::Public))
    {
        let (choices, mut views) = current
            .choose(d, &viewer, &BTreeMap::new())
            .map_err(|e| WebError::Refused(e.to_string()))?;
        let mut panels: Vec<PanelView> = Vec::new();
        for panel in &d.panels {
            let shown = view::show(cache, current, d, panel, &viewer, &choices, &mut views)
                .await
                .map_err(|e| WebError::Refused(format!("panel {}: {e}", panel.id)))?;
            let base = root.join(&d.id).join(&panel.id);
            let figure = shown.figure(&source.catalog, panel);
            // The page's inline SVG is the file's SVG: drawn once.
            let mut view = panel_view(panel, Ok((&shown, &figure)));
            let mut links = BTreeMap::new();
            if let Some(svg) = &view.svg {
                write(&base.with_extension("svg"), svg.as_bytes())?;
                let png = chart::png(&figure).map_err(|e| WebError::Refused(e.to_string()))?;
                write(&base.with_extension("png"), &png)?;
                links.insert("svg", format!("{}.svg", panel.id));
                links.insert("png", format!("{}.png", panel.id));
            }
            write(&base.with_extension("csv"), shown.table.to_csv().as_bytes())?;
            let body = panel_fields(
                &source.catalog,
                d,
                panel,
                current.source.lake_version,
                &shown,
                &figure,
            );
            write(
                &base.with_extension("json"),
                serde_json::to_string_pretty(&body)
                    .expect("JSON values serialise")
                    .as_bytes(),
            )?;
            links.insert("csv", format!("{}.csv", panel.id));
            links.insert("json", format!("{}.json", panel.id));
            view.links = links;
            panels.push(view);
            summary.panels += 1;
        }
        let html = render(
            "dashboard.html",
            context! {
                title => d.title, description => d.description, id => d.id,
                role => "public (published)", lake_version => current.source.lake_version,
                filters => Vec::<()>::new(), panels => panels, home => "../index.html",
            },
        )?;
        write(&root.join(&d.id).join("index.html"), html.as_bytes())?;
        listed.push(
            context! { id => d.id, title => d.title, description => d.description,
            href => format!("{}/index.html", d.id) },
        );
        summary.dashboards += 1;
    }
    let html = render(
        "index.html",
        context! {
            title => "published dashboards", role => "public (published)",
            lake_version => current.source.lake_version, dashboards => listed,
            tokens => false, home => "index.html",
        },
    )?;
    write(&root.join("index.html"), html.as_bytes())?;
    write(
        &root.join("manifest.json"),
        serde_json::to_string_pretty(&json!({
            "lake_version": current.source.lake_version,
            "published": chrono::Utc::now().to_rfc3339(),
            "dashboards": summary.dashboards,
            "panels": summary.panels,
            "suppression": "counts 1-5 shown as <6; rates on fewer than 100 bed days withheld; complementary suppression",
        }))
        .expect("JSON values serialise")
        .as_bytes(),
    )?;
    let staged = staging.keep();
    if out.exists() {
        let old = parent.join(format!(
            ".ako-publish-old-{}",
            out.file_name().and_then(|n| n.to_str()).unwrap_or("out")
        ));
        let _ = std::fs::remove_dir_all(&old);
        std::fs::rename(out, &old)?;
        std::fs::rename(&staged, out)?;
        std::fs::remove_dir_all(&old)?;
    } else {
        std::fs::rename(&staged, out)?;
    }
    Ok(summary)
}
