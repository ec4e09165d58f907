//! The dashboard server: server-rendered HTML, a JSON API for every panel, CSV and chart
//! downloads. It calls the library (dashboard → privacy → chart) and never builds SQL:
//! request values reach indicators only as typed parameters checked against the
//! indicator's declared values.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde_json::json;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::catalog::{Catalog, Estimate};
use crate::chart;
use crate::config::Config;
use crate::dashboard::compute::{self, Access, Cache, Choices};
use crate::dashboard::view::{Basis, Edition, Shown};
use crate::dashboard::{ChartKind, Dashboard, Dashboards, Panel, indicator_of};
use crate::lake::{Lake, LakeError};
use crate::privacy::{Role, Viewer};

mod answers;
mod api;
mod auth;
mod breakout_page;
mod breakouts;
mod error;
mod ideas;
mod pages;
pub mod publish;
mod sessions_page;
pub mod signin;
mod state;
mod view;
mod workers;

use answers::*;
use api::*;
use auth::*;
use error::*;
use view::*;

pub use crate::dashboard::filters::FilterView;
pub use api::{panel_fields, panel_links, query_string};
pub use auth::{is_loopback_host, refuse_bind, viewer};
pub use error::ApiError;
pub use state::{AppState, Settings, WebError, warm};
pub use view::{choose, open_dashboards, show};

/// The routes.
pub fn router(state: Arc<AppState>) -> Router {
    let csp = HeaderValue::from_static(
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    );
    // Routes that may run queries or draw: admitted only while there is room, so that a
    // flood of uncached requests gets 503 quickly instead of queueing without end, and
    // the cheap routes (health, sign-in) stay quick.
    let expensive = Router::new()
        .route(
            "/sessions/{session}/groups/{group}",
            get(breakout_page::page),
        )
        .route(
            "/sessions/{session}/groups/{group}/pack.pdf",
            get(breakout_page::pack_pdf),
        )
        .route("/api/sessions", axum::routing::post(sessions_page::create))
        .route("/api/dashboards/{id}", get(api_dashboard))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), admit));
    // A dashboard's page and a panel's outputs are admitted the same way unless their
    // answer is kept.
    let page = Router::new()
        .route("/dashboards/{id}", get(pages::dashboard))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            admit_page,
        ));
    let panels = Router::new()
        .route("/api/dashboards/{id}/panels/{panel}", get(api_panel))
        .route(
            "/api/dashboards/{id}/panels/{panel}/data.csv",
            get(panel_csv),
        )
        .route(
            "/api/dashboards/{id}/panels/{panel}/chart.svg",
            get(panel_svg),
        )
        .route(
            "/api/dashboards/{id}/panels/{panel}/chart.png",
            get(panel_png),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            admit_panel,
        ));
    Router::new()
        .route("/", get(pages::index))
        .route("/healthz", get(healthz))
        .route("/login", get(login_page).post(login))
        .route("/logout", get(logout).post(logout))
        .route("/api/dashboards", get(api_dashboards))
        .route("/api/ideas", get(ideas::list).post(ideas::record))
        .route("/api/ideas/worked", get(ideas::worked))
        .route("/ideas", get(ideas::page))
        .route("/sessions", get(sessions_page::list_page))
        .route("/sessions/{session}", get(sessions_page::session_page))
        .route(
            "/api/sessions/{session}/move",
            axum::routing::post(sessions_page::move_member),
        )
        .route(
            "/api/sessions/{session}/groups/{group}/moderator",
            axum::routing::post(sessions_page::set_moderator),
        )
        .route(
            "/api/sessions/{session}/summary.md",
            get(sessions_page::summary_md),
        )
        .route(
            "/api/ideas/{idea}/stage",
            axum::routing::post(ideas::move_stage),
        )
        .route(
            "/api/sessions/{session}/groups/{group}/notes",
            get(breakouts::list_notes).post(breakouts::post_note),
        )
        .route(
            "/api/sessions/{session}/groups/{group}/notes/{note}",
            axum::routing::patch(breakouts::edit_note),
        )
        .route(
            "/api/sessions/{session}/groups/{group}/notes/{note}/answered",
            axum::routing::post(breakouts::mark_answered),
        )
        .route(
            "/api/sessions/{session}/groups/{group}/summary",
            get(breakouts::group_summary),
        )
        .route(
            "/api/sessions/{session}/groups/{group}/summary/items",
            axum::routing::post(breakouts::add_summary_item),
        )
        .route(
            "/api/sessions/{session}/groups/{group}/summary/publish",
            axum::routing::post(breakouts::publish_summary),
        )
        .merge(expensive)
        .merge(page)
        .merge(panels)
        // Inside compression, so it reads the handler's JSON before it is compressed.
        .layer(axum::middleware::from_fn(html_errors))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            csp,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        ))
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            loopback_host,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn(request_id))
        .with_state(state)
}

/// Requests that may compute at once; more get 503 with `Retry-After`.
pub const MAX_IN_FLIGHT: usize = 32;

async fn admit(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match state.in_flight.clone().try_acquire_owned() {
        Ok(_permit) => state.workers.run(same_request(next.run(request))).await,
        Err(_) => {
            let mut r = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is busy; try again in a moment",
            )
            .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
    }
}

/// What the server tells whoever started it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServeEvent {
    /// Listening on `addr`; `tokens` configured (none: loopback only, everyone an
    /// analyst).
    Listening { addr: SocketAddr, tokens: usize },
    /// Shut down after Ctrl-C or SIGTERM.
    Stopped,
}

/// Serves until Ctrl-C or SIGTERM, checking every `refresh` for a new lake version.
/// `announce` hears when it listens and when it stops.
pub async fn serve(
    state: Arc<AppState>,
    addr: SocketAddr,
    refresh: Duration,
    announce: &(dyn Fn(ServeEvent) + Sync),
) -> Result<(), WebError> {
    if let Some(refusal) = refuse_bind(&state.settings.config, addr) {
        return Err(WebError::Refused(refusal));
    }
    let listener = tokio::net::TcpListener::bind(addr).await?;
    announce(ServeEvent::Listening {
        addr: listener.local_addr()?,
        tokens: if state.tokens_required() {
            state.tokens.current().len()
        } else {
            0
        },
    });
    let watcher = state.clone();
    // On the workers: warming computes every panel, and must not hold the acceptor.
    let watch = state.workers.spawn(async move {
        warm(&watcher).await;
        let mut tick = tokio::time::interval(refresh);
        tick.tick().await;
        loop {
            tick.tick().await;
            match watcher.refresh().await {
                Ok(true) => warm(&watcher).await,
                Ok(false) => {}
                Err(e) => tracing::warn!("checking the lake for a new version: {e}"),
            }
        }
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown())
        .await?;
    // Stop warming and watching before saying so: a half-computed panel is dropped,
    // not reported as an error while the runtime winds down.
    watch.abort();
    let _ = watch.await;
    announce(ServeEvent::Stopped);
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Liveness for anyone: nothing here depends on who asked what (no cache counts), so it
/// cannot tell which panels or organisations others have been looking at.
async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    let current = state.current();
    axum::Json(json!({
        "status": "ok",
        "lake_version": current.source.lake_version,
        "dashboards": state.settings.dashboards.list.len(),
    }))
    .into_response()
}
