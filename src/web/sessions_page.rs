//! The facilitator's side of learning sessions in the browser: the list of sessions and
//! a form to make one, a session's groups with forms to move an organisation and
//! nominate a moderator, and the summary export. Organisations are shown and given by
//! peer code to anyone but an analyst; who may do this is `collab::access`.

use axum::Json;
use minijinja::context;
use serde::Deserialize;

use super::breakouts::with_collab;
use super::pages::render;
use super::*;
use crate::collab::access;
use crate::collab::{NewSession, Session};
use crate::peers::{self, Grouping};

/// A session as `viewer` sees it: members by peer code, and their reasons (which name
/// an organisation's size and challenges) for analysts only.
fn session_json(current: &Edition, viewer: &Viewer, s: &Session) -> serde_json::Value {
    let mut v = serde_json::to_value(s).expect("a session serialises");
    for (g, out) in s
        .groups
        .iter()
        .zip(v["groups"].as_array_mut().expect("groups"))
    {
        out["members"] = g
            .members
            .iter()
            .map(|m| {
                json!({
                    "org_code": current.pseudonyms.label(viewer, &m.org_code),
                    "reason": if viewer.role == Role::Analyst { json!(m.reason) } else { json!(null) },
                })
            })
            .collect();
    }
    v
}

/// A new session: `{"title", "date", "grouping"}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Made {
    title: String,
    date: String,
    grouping: String,
}

pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Json(m): Json<Made>,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    access::run_sessions(&viewer)?;
    let date = chrono::NaiveDate::parse_from_str(&m.date, "%Y-%m-%d").map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "date must be a day written YYYY-MM-DD",
        )
    })?;
    let grouping = Grouping::parse(&m.grouping).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "grouping must be size, challenge or config",
        )
    })?;
    let current = state.current();
    let config = &state.settings.config;
    let profiles = peers::profiles(
        &current.source.ctx,
        &state.settings.catalog,
        config.peers.profile_months,
    )
    .await
    .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    let grouped = peers::group(&profiles, &config.peers, grouping)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    let version = current.source.lake_version;
    let s = with_collab(&state, move |c| {
        c.create_session(&NewSession {
            title: &m.title,
            date,
            grouping,
            lake_version: version,
            groups: &grouped.groups,
        })
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(session_json(&current, &viewer, &s)),
    )
        .into_response())
}

/// A move: `{"org", "to"}`, the organisation by the code the viewer sees and the group
/// by id or name.
#[derive(Debug, Deserialize)]
pub(crate) struct Moved {
    org: String,
    to: String,
}

pub(crate) async fn move_member(
    State(state): State<Arc<AppState>>,
    UrlPath(session): UrlPath<i64>,
    headers: HeaderMap,
    Json(m): Json<Moved>,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    access::run_sessions(&viewer)?;
    let current = state.current();
    let org = current
        .pseudonyms
        .org_of(&viewer, m.org.trim())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("no organisation {}", m.org.trim()),
            )
        })?;
    let s = with_collab(&state, move |c| c.move_member(session, &org, &m.to)).await?;
    Ok(Json(session_json(&current, &viewer, &s)).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct Nominated {
    name: String,
}

pub(crate) async fn set_moderator(
    State(state): State<Arc<AppState>>,
    UrlPath((session, group)): UrlPath<(i64, i64)>,
    headers: HeaderMap,
    Json(n): Json<Nominated>,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    access::run_sessions(&viewer)?;
    let s = with_collab(&state, move |c| {
        c.set_moderator(session, &group.to_string(), &n.name)
    })
    .await?;
    Ok(Json(session_json(&state.current(), &viewer, &s)).into_response())
}

/// Every group's summary as Markdown, for the facilitator's report.
pub(crate) async fn summary_md(
    State(state): State<Arc<AppState>>,
    UrlPath(session): UrlPath<i64>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    access::run_sessions(&viewer)?;
    let charts = crate::pack::chart_refs(&state.settings.dashboards);
    let md = with_collab(&state, move |c| {
        let s = c.session(session)?;
        let groups = c.session_summary(session)?;
        Ok(crate::collab::summaries::markdown(&s, &groups, &charts))
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], md).into_response())
}

pub(crate) async fn list_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    access::run_sessions(&viewer)?;
    let sessions = with_collab(&state, |c| c.sessions()).await?;
    render(
        "sessions.html",
        context! {
            title => "Learning sessions",
            role => viewer.role.name(),
            lake_version => state.current().source.lake_version,
            sessions => sessions,
            home => "/",
        },
    )
}

pub(crate) async fn session_page(
    State(state): State<Arc<AppState>>,
    UrlPath(session): UrlPath<i64>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    access::run_sessions(&viewer)?;
    let s = with_collab(&state, move |c| c.session(session)).await?;
    let current = state.current();
    render(
        "session.html",
        context! {
            title => s.title.clone(),
            role => viewer.role.name(),
            lake_version => s.lake_version,
            session => session_json(&current, &viewer, &s),
            home => "/",
        },
    )
}
