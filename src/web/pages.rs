//! Server-rendered pages (minijinja templates compiled into the binary).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Environment, context};
use serde::Serialize;

use super::{ApiError, AppState, Shown, choose, panel_links, show, viewer};
use crate::chart;
use crate::dashboard::Panel;

pub(super) fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, text) in [
            ("base.html", include_str!("templates/base.html")),
            ("index.html", include_str!("templates/index.html")),
            ("dashboard.html", include_str!("templates/dashboard.html")),
            ("login.html", include_str!("templates/login.html")),
            ("error.html", include_str!("templates/error.html")),
            ("breakout.html", include_str!("templates/breakout.html")),
            ("sessions.html", include_str!("templates/sessions.html")),
            ("session.html", include_str!("templates/session.html")),
            ("ideas.html", include_str!("templates/ideas.html")),
        ] {
            env.add_template(name, text).expect("templates parse");
        }
        env
    })
}

/// A page from its template.
pub(super) fn render_html(name: &str, ctx: minijinja::Value) -> Result<String, minijinja::Error> {
    templates().get_template(name).and_then(|t| t.render(ctx))
}

pub(super) fn render(name: &str, ctx: minijinja::Value) -> Result<Response, ApiError> {
    render_html(name, ctx)
        .map(|html| Html(html).into_response())
        .map_err(super::internal)
}

fn role_text(state: &AppState, viewer: &crate::privacy::Viewer) -> String {
    match (&viewer.org, state.tokens_required()) {
        (_, false) => "analyst (local, no tokens configured)".into(),
        (Some(org), _) => format!("{} of {org}", viewer.role.name()),
        (None, _) => viewer.role.name().into(),
    }
}

pub async fn index(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    let current = state.current();
    let dashboards: Vec<_> = super::open_dashboards(&state, viewer.role)
        .map(|d| {
            context! { id => d.id, title => d.title, description => d.description,
            href => format!("/dashboards/{}", d.id) }
        })
        .collect();
    render(
        "index.html",
        context! {
            title => "ako dashboards",
            role => role_text(&state, &viewer),
            lake_version => current.source.lake_version,
            dashboards => dashboards,
            sessions => crate::collab::access::run_sessions(&viewer).is_ok(),
            ideas => crate::collab::access::ideas(&viewer, crate::collab::access::IdeasAction::Read).is_ok(),
            tokens => state.tokens_required(),
            home => "/",
        },
    )
}

#[derive(Serialize)]
pub(super) struct PanelView {
    id: String,
    title: String,
    note: String,
    width: u8,
    pub(super) svg: Option<String>,
    description: String,
    footer: String,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
    pub(super) links: BTreeMap<&'static str, String>,
    error: Option<String>,
    is_table: bool,
}

/// A panel as the page shows it: its chart inline, its data with withheld cells marked.
pub(super) fn panel_view(
    panel: &Panel,
    shown: Result<(&Shown, &chart::Figure), &ApiError>,
) -> PanelView {
    let mut view = PanelView {
        id: panel.id.clone(),
        title: panel.title.clone(),
        note: panel.note.clone(),
        width: panel.width,
        svg: None,
        description: String::new(),
        footer: String::new(),
        columns: Vec::new(),
        rows: Vec::new(),
        links: BTreeMap::new(),
        error: None,
        is_table: !panel.chart.has_chart(),
    };
    match shown {
        Ok((shown, figure)) => {
            if panel.chart.has_chart() {
                match chart::svg(figure) {
                    Ok(svg) => view.svg = Some(svg),
                    Err(e) => view.error = Some(e.to_string()),
                }
            }
            view.description = figure.description.clone();
            view.footer = figure.footer.clone();
            view.columns = shown.table.columns.clone();
            view.rows = crate::dashboard::view::display_rows(&shown.table);
        }
        Err(e) => view.error = Some(e.message().to_string()),
    }
    view
}

pub async fn dashboard(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    let d = super::dashboard_for(&state, &id, &viewer)?;
    let current = state.current();
    // Kept whole like a panel's answer (by edition, viewer, dashboard and filters).
    let key = super::answers::key(&current, &viewer, &id, "", &query, super::Output::Page);
    if let Some(kept) = state.answers.get(&key) {
        return Ok(kept.response());
    }
    let (choices, mut views) = choose(&current, d, &viewer, &query)?;
    let mut panels = Vec::new();
    let mut complete = true;
    for panel in &d.panels {
        let shown = show(&state, &current, d, panel, &viewer, &choices, &mut views).await;
        let view = match &shown {
            Ok(shown) => panel_view(
                panel,
                Ok((shown, &shown.figure(&state.settings.catalog, panel))),
            ),
            Err(e) => {
                complete = false;
                panel_view(panel, Err(e))
            }
        };
        panels.push(view);
    }
    for (view, panel) in panels.iter_mut().zip(&d.panels) {
        view.links = panel_links(d, panel, &views);
    }
    let html = render_html(
        "dashboard.html",
        context! {
            title => d.title,
            description => d.description,
            id => d.id,
            role => role_text(&state, &viewer),
            lake_version => current.source.lake_version,
            filters => views,
            panels => panels,
            home => "/",
        },
    )
    .map_err(super::internal)?;
    let page = super::Answer {
        content_type: "text/html; charset=utf-8",
        disposition: None,
        body: html.into(),
    };
    // A page with a panel that could not be computed is not kept: the next visit tries
    // again.
    if complete {
        let bytes = page.body.len();
        Ok(state.answers.put(key, page, bytes).response())
    } else {
        Ok(page.response())
    }
}
