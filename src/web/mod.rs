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
use serde::Serialize;
use serde_json::json;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::catalog::{Catalog, Estimate};
use crate::chart::{self, model::Context};
use crate::config::Config;
use crate::dashboard::compute::{self, Access, Cache, Choices, PanelData, Source};
use crate::dashboard::{ChartKind, Dashboard, Dashboards, FilterKind, Panel, indicator_of};
use crate::lake::{Lake, LakeError};
use crate::privacy::suppress;
use crate::privacy::{Pseudonyms, Role, Viewer};
use crate::table::Table;

mod pages;
pub mod publish;
pub mod session;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("reading organisations: {0}")]
    Query(#[from] datafusion::error::DataFusionError),
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What the server serves.
pub struct Settings {
    pub lake: PathBuf,
    pub config: Config,
    /// The configuration file, watched so that a token removed from it stops working
    /// without a restart (none: the tokens in `config` stay as they are).
    pub config_path: Option<PathBuf>,
    pub catalog: Catalog,
    pub dashboards: Dashboards,
    pub compliance_dir: PathBuf,
}

/// The lake version being served, with what is read from it once.
pub struct Current {
    pub source: Source,
    pub pseudonyms: Pseudonyms,
    /// (org_code, started date, title).
    pub ideas: Vec<(String, String, String)>,
    /// Calendar years with episodes, for the period filter.
    pub years: Vec<String>,
}

/// Shared server state.
pub struct AppState {
    pub settings: Settings,
    current: RwLock<Arc<Current>>,
    pub cache: Cache,
    lake: Lake,
    catalog: Arc<Catalog>,
    config: Arc<Config>,
    /// Whether the server started with tokens: fixed for its life, so that emptying the
    /// token list leaves everyone public rather than making everyone an analyst.
    tokens_required: bool,
    pub tokens: session::TokenList,
    pub sessions: session::Sessions,
    /// Room for expensive requests ([`MAX_IN_FLIGHT`]).
    in_flight: Arc<tokio::sync::Semaphore>,
    /// Charts rasterised at once: one per core, since each takes a core while it runs.
    rasters: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    pub async fn open(settings: Settings) -> Result<Arc<AppState>, WebError> {
        let lake = Lake::open(&settings.lake)?;
        let catalog = Arc::new(settings.catalog.clone());
        let config = Arc::new(settings.config.clone());
        let current = load(&lake, &settings, &catalog, &config).await?;
        let tokens_required = !settings.config.tokens.is_empty();
        let tokens =
            session::TokenList::new(settings.config_path.clone(), settings.config.tokens.clone());
        Ok(Arc::new(AppState {
            tokens_required,
            tokens,
            sessions: session::Sessions::default(),
            in_flight: Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT)),
            rasters: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
            settings,
            current: RwLock::new(Arc::new(current)),
            cache: Cache::default(),
            lake,
            catalog,
            config,
        }))
    }

    pub fn current(&self) -> Arc<Current> {
        self.current.read().expect("state lock").clone()
    }

    /// The room for expensive requests: a permit per request computing or drawing. An
    /// operator's check (or a test) can hold permits to see the server refuse with 503.
    pub fn admission(&self) -> Arc<tokio::sync::Semaphore> {
        self.in_flight.clone()
    }

    /// Whether requests must carry a token (any are configured).
    pub fn tokens_required(&self) -> bool {
        self.tokens_required
    }

    /// Moves to the lake's newest version if an ingest made one; returns whether it did.
    /// Cached panels of older versions are dropped.
    pub async fn refresh(&self) -> Result<bool, WebError> {
        let latest = self.lake.snapshot(None).await?.lake_version;
        if latest == self.current().source.lake_version {
            return Ok(false);
        }
        let next = load(&self.lake, &self.settings, &self.catalog, &self.config).await?;
        let version = next.source.lake_version;
        *self.current.write().expect("state lock") = Arc::new(next);
        self.cache.retain_version(version);
        if let Some(v) = version {
            crate::derived::prune(&self.settings.lake, v);
        }
        tracing::info!(lake_version = ?version, "serving a new lake version");
        Ok(true)
    }
}

async fn load(
    lake: &Lake,
    settings: &Settings,
    catalog: &Arc<Catalog>,
    config: &Arc<Config>,
) -> Result<Current, WebError> {
    let snapshot = lake.snapshot(None).await?;
    let ctx = lake.session(&snapshot).await?;
    let orgs = strings(
        &ctx,
        "SELECT org_code, name FROM organisations ORDER BY org_code",
    )
    .await?;
    // Without a configured key (no tokens, so only analysts on loopback are served)
    // peer codes are keyed by a secret of this process alone; `ako publish` and a
    // server with tokens refuse to start without one.
    let key = settings
        .config
        .privacy
        .pseudonym_key
        .clone()
        .unwrap_or_else(|| hex::encode(rand::random::<[u8; 32]>()));
    let pseudonyms = Pseudonyms::new(
        &key,
        &orgs
            .into_iter()
            .map(|r| (r[0].clone(), r[1].clone()))
            .collect::<Vec<_>>(),
    );
    let ideas = crate::lake::change_ideas(&ctx).await?;
    let years = strings(
        &ctx,
        "SELECT DISTINCT substr(month, 1, 4) AS year FROM episodes ORDER BY year",
    )
    .await?
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    Ok(Current {
        source: Source {
            ctx,
            lake_version: snapshot.lake_version,
            lake_root: settings.lake.clone(),
            catalog: catalog.clone(),
            config: config.clone(),
            dashboards: Arc::new(settings.dashboards.clone()),
            compliance_dir: settings.compliance_dir.clone(),
        },
        pseudonyms,
        ideas,
        years,
    })
}

async fn strings(
    ctx: &datafusion::prelude::SessionContext,
    sql: &str,
) -> Result<Vec<Vec<String>>, WebError> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let table = Table::from_batches(&batches).map_err(|e| WebError::Refused(e.to_string()))?;
    Ok(table
        .rows
        .iter()
        .map(|r| r.iter().map(|c| c.display()).collect())
        .collect())
}

/// The routes.
pub fn router(state: Arc<AppState>) -> Router {
    let csp = HeaderValue::from_static(
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    );
    // Routes that may run queries or draw: admitted only while there is room, so that a
    // flood of uncached requests gets 503 quickly instead of queueing without end, and
    // the cheap routes (health, sign-in) stay quick.
    let expensive = Router::new()
        .route("/dashboards/{id}", get(pages::dashboard))
        .route("/api/dashboards/{id}", get(api_dashboard))
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
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), admit));
    Router::new()
        .route("/", get(pages::index))
        .route("/healthz", get(healthz))
        .route("/login", get(login_page).post(login))
        .route("/logout", get(logout).post(logout))
        .route("/api/dashboards", get(api_dashboards))
        .merge(expensive)
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
        Ok(_permit) => next.run(request).await,
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

/// Without tokens everyone is an analyst, so only this machine may ask: the socket is
/// bound to loopback, and the `Host` header must name loopback too, or a web page
/// elsewhere could reach the server through a name that resolves here (DNS
/// rebinding). A foreign host gets 421.
async fn loopback_host(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if state.tokens_required() {
        return next.run(request).await;
    }
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if is_loopback_host(host) {
        next.run(request).await
    } else {
        ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            "without tokens ako answers only requests addressed to this machine (localhost, 127.0.0.1 or [::1])",
        )
        .into_response()
    }
}

/// Whether a `Host` header names this machine: `localhost`, an address in 127.0.0.0/8
/// or `[::1]`, with or without a port.
pub fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                host
            }
        })
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Why the server may not listen on `addr`: without tokens everyone is an analyst, so
/// only this machine may connect.
pub fn refuse_bind(config: &Config, addr: SocketAddr) -> Option<String> {
    (config.tokens.is_empty() && !addr.ip().is_loopback()).then(|| {
        format!(
            "no tokens are configured, so ako serves only on loopback (127.0.0.1 or ::1), not {addr}; add one with `ako token add --role analyst` first"
        )
    })
}

/// Serves until Ctrl-C or SIGTERM, checking every `refresh` for a new lake version.
pub async fn serve(
    state: Arc<AppState>,
    addr: SocketAddr,
    refresh: Duration,
) -> Result<(), WebError> {
    if let Some(refusal) = refuse_bind(&state.settings.config, addr) {
        return Err(WebError::Refused(refusal));
    }
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    if state.tokens_required() {
        eprintln!(
            "ako: serving http://{bound}/ ; {} token(s) configured; requests without one see public dashboards only",
            state.tokens.current().len()
        );
    } else {
        eprintln!(
            "ako: serving http://{bound}/ on loopback only: no tokens are configured, so everyone here is an analyst"
        );
    }
    let watcher = state.clone();
    let watch = tokio::spawn(async move {
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
    eprintln!("ako: stopped");
    Ok(())
}

/// Computes every dashboard's panels as first opened, so the first visitor after a
/// start or an ingest does not wait for them. Requests are served meanwhile: a cached
/// panel never waits, an uncached one takes its turn.
pub async fn warm(state: &AppState) {
    let current = state.current();
    let started = std::time::Instant::now();
    for d in &state.settings.dashboards.list {
        let Ok((choices, _)) = choose(state, &current, d, &Viewer::analyst(), &BTreeMap::new())
        else {
            continue;
        };
        for panel in &d.panels {
            let computed = compute::panel(
                &state.cache,
                &current.source,
                d,
                panel,
                &choices,
                Access::Analyst,
            )
            .await;
            if let Err(e) = computed {
                tracing::warn!(dashboard = %d.id, panel = %panel.id, "warming: {e}");
            }
        }
    }
    // With tokens, non-analysts are served from protected views: build them now too.
    if state.tokens_required() {
        let mut indicators: Vec<&str> = state
            .settings
            .dashboards
            .list
            .iter()
            .filter(|d| d.audience.iter().any(|r| *r != Role::Analyst))
            .flat_map(|d| d.panels.iter().map(|p| p.indicator.as_str()))
            .collect();
        indicators.sort_unstable();
        indicators.dedup();
        for name in indicators {
            let Ok(indicator) = state.settings.catalog.get(name) else {
                continue;
            };
            if let Err(e) = state.cache.protected(&current.source, indicator).await {
                tracing::warn!(indicator = name, "protecting: {e}");
            }
        }
    }
    tracing::info!(
        lake_version = ?current.source.lake_version,
        seconds = started.elapsed().as_secs_f64(),
        results = state.cache.len(),
        "dashboards computed"
    );
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

/// An error response: JSON for the API, a short page otherwise.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    fn not_found(what: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, format!("no {what}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = REQUEST_ID.try_with(Clone::clone).unwrap_or_default();
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            json!({
                "error": self.message,
                "status": self.status.as_u16(),
                "request_id": request_id,
            })
            .to_string(),
        )
            .into_response()
    }
}

tokio::task_local! {
    /// The id of the request being answered, for error bodies and log lines.
    static REQUEST_ID: String;
}

/// Gives every request an id: in the `x-request-id` response header, in any error body,
/// and on every log line written while answering it, so that a user's report of an
/// error finds its detail in the log.
async fn request_id(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use tracing::Instrument;
    let mut bytes = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let id = hex::encode(bytes);
    let span = tracing::info_span!("request", id = %id);
    let mut response = REQUEST_ID
        .scope(id.clone(), next.run(request).instrument(span))
        .await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
                .map(str::to_string)
        })
}

/// Who is asking: without configured tokens everyone (on loopback) is an analyst; with
/// them, a bearer token or the login cookie names the viewer, and no token means public.
pub fn viewer(state: &AppState, headers: &HeaderMap) -> Result<Viewer, ApiError> {
    if !state.tokens_required() {
        return Ok(Viewer::analyst());
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    if let Some(token) = bearer {
        return state.tokens.verify(&token).ok_or_else(|| {
            ApiError::new(StatusCode::UNAUTHORIZED, "this token is not recognised")
        });
    }
    match cookie_value(headers, session::COOKIE) {
        None => Ok(Viewer::public()),
        Some(id) => state
            .tokens
            .verify_session(&state.sessions, &id)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "your session has ended; sign in again at /login",
                )
            }),
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

/// The sign-in form. A token in the address is refused, not used: addresses end up in
/// browser history, proxy logs and the `Referer` of the next page.
async fn login_page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    if q.contains_key("token") {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "a token is never accepted in a web address; sign in with the form at /login",
        ));
    }
    let current = state.current();
    pages::render(
        "login.html",
        minijinja::context! {
            title => "Sign in",
            role => "nobody yet",
            lake_version => current.source.lake_version,
            home => "/",
        },
    )
}

#[derive(serde::Deserialize)]
struct LoginForm {
    token: String,
}

/// Exchanges a token, sent in the body, for a session cookie.
async fn login(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<LoginForm>,
) -> Result<Response, ApiError> {
    if !state.tokens_required() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "no tokens are configured: everyone on this machine is an analyst",
        ));
    }
    // A form posted from another site would sign the browser in as someone else.
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let bare = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        if bare != host {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "sign in from this server's own page",
            ));
        }
    }
    if state.tokens.verify(&form.token).is_none() {
        tracing::warn!("sign-in with an unknown token");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "this token is not recognised",
        ));
    }
    let id = state.sessions.start(form.token.trim());
    let cookie = format!(
        "{}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        session::COOKIE,
        session::TTL.as_secs()
    );
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(internal)?,
    );
    Ok(response)
}

/// Ends the session the cookie names and clears the cookie.
async fn logout(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(id) = cookie_value(&headers, session::COOKIE) {
        state.sessions.end(&id);
    }
    let mut response = Redirect::to("/").into_response();
    let cleared = format!(
        "{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
        session::COOKIE
    );
    if let Ok(v) = HeaderValue::from_str(&cleared) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// The dashboards open to `role`, in file-name order.
pub fn open_dashboards(state: &AppState, role: Role) -> impl Iterator<Item = &Dashboard> {
    state
        .settings
        .dashboards
        .list
        .iter()
        .filter(move |d| d.open_to(role))
}

/// A dashboard the viewer may open.
fn dashboard_for<'a>(
    state: &'a AppState,
    id: &str,
    viewer: &Viewer,
) -> Result<&'a Dashboard, ApiError> {
    let d = state
        .settings
        .dashboards
        .get(id)
        .ok_or_else(|| ApiError::not_found(&format!("dashboard `{id}`")))?;
    if !d.open_to(viewer.role) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "the {} dashboard is for {}",
                d.id,
                d.audience
                    .iter()
                    .map(|r| r.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok(d)
}

/// A filter's choices as the viewer sees them: (value, label).
#[derive(Debug, Clone, Serialize)]
pub struct FilterView {
    pub name: String,
    pub kind: FilterKind,
    pub label: String,
    pub value: String,
    pub options: Vec<(String, String)>,
    /// A leader's organisation cannot be changed.
    pub locked: bool,
}

/// The first declaration of parameter `name` among the dashboard's indicators.
fn param<'a>(state: &'a AppState, d: &Dashboard, name: &str) -> Option<&'a crate::catalog::Param> {
    d.panels
        .iter()
        .filter_map(|p| state.settings.catalog.get(&p.indicator).ok())
        .flat_map(|i| i.params.iter())
        .find(|p| p.name == name)
}

/// Reads filter values from the query string, holding each to what the viewer may
/// choose. Returns the internal choices (real organisation codes) and the filters as
/// the viewer sees them (peer codes).
pub fn choose(
    state: &AppState,
    current: &Current,
    d: &Dashboard,
    viewer: &Viewer,
    query: &BTreeMap<String, String>,
) -> Result<(Choices, Vec<FilterView>), ApiError> {
    let mut choices = Choices::new();
    let mut views = Vec::new();
    let bad = |m: String| ApiError::new(StatusCode::BAD_REQUEST, m);
    for f in &d.filters {
        let asked = query
            .get(&f.name)
            .cloned()
            .or_else(|| f.default.clone())
            .unwrap_or_default();
        let label = if f.label.is_empty() {
            f.name.clone()
        } else {
            f.label.clone()
        };
        let mut locked = false;
        let (value, shown, options): (String, String, Vec<(String, String)>) = match f.kind {
            FilterKind::Organisation => {
                let peers = &current.pseudonyms;
                match viewer.role {
                    Role::Analyst => {
                        if !asked.is_empty() && peers.name(&asked).is_none() {
                            return Err(bad(format!("no organisation `{asked}`")));
                        }
                        let mut o = vec![(String::new(), "All organisations".to_string())];
                        o.extend(
                            peers
                                .orgs()
                                .map(|(c, n)| (c.to_string(), format!("{c} — {n}"))),
                        );
                        (asked.clone(), asked, o)
                    }
                    Role::Leader => {
                        locked = true;
                        let own = viewer.org.clone().unwrap_or_default();
                        let name = peers.name(&own).unwrap_or("").to_string();
                        (
                            own.clone(),
                            own.clone(),
                            vec![(own.clone(), format!("{own} — {name}"))],
                        )
                    }
                    Role::Facilitator | Role::Public => {
                        let mut coded: Vec<(String, String)> = peers
                            .orgs()
                            .map(|(c, _)| (peers.label(viewer, c), c.to_string()))
                            .collect();
                        coded.sort();
                        // What a facilitator or the public asks for is a peer code.
                        // A dashboard's default names a real organisation; showing it
                        // selected would tell them which peer code it is, so they
                        // start from every organisation instead.
                        let from_file = !query.contains_key(&f.name);
                        let found = coded.iter().find(|(p, _)| *p == asked);
                        let (real, shown) = match found {
                            _ if asked.is_empty() || from_file => (String::new(), String::new()),
                            Some((p, c)) => (c.clone(), p.clone()),
                            None => return Err(bad(format!("no organisation `{asked}`"))),
                        };
                        let mut o = vec![(String::new(), "All organisations".to_string())];
                        o.extend(coded.iter().map(|(p, _)| (p.clone(), p.clone())));
                        (real, shown, o)
                    }
                }
            }
            FilterKind::Grain | FilterKind::Practice | FilterKind::Grouping => {
                let declared = param(state, d, &f.name);
                let allowed = declared.map(|p| p.allowed.clone()).unwrap_or_default();
                let value = if asked.is_empty() {
                    declared.map(|p| p.default.clone()).unwrap_or_default()
                } else {
                    asked
                };
                if !allowed.is_empty() && !allowed.contains(&value) {
                    return Err(bad(format!(
                        "{} must be one of {}, not `{value}`",
                        f.name,
                        allowed.join(", ")
                    )));
                }
                let o = allowed
                    .iter()
                    .map(|a| (a.clone(), a.replace('_', " ")))
                    .collect();
                (value.clone(), value, o)
            }
            FilterKind::Period => {
                if !asked.is_empty() && !current.years.contains(&asked) {
                    return Err(bad(format!("no data for the year `{asked}`")));
                }
                let mut o = vec![(String::new(), "All years".to_string())];
                o.extend(
                    current
                        .years
                        .iter()
                        .map(|y| (y.clone(), format!("from {y}"))),
                );
                (asked.clone(), asked, o)
            }
            FilterKind::PeerGroup | FilterKind::Ethnicity => {
                // Options come from the data (see `add_options`); a value is only ever
                // compared with cells, never placed in SQL.
                (
                    asked.clone(),
                    asked,
                    vec![(String::new(), "All".to_string())],
                )
            }
        };
        choices.insert(f.name.clone(), value);
        views.push(FilterView {
            name: f.name.clone(),
            kind: f.kind,
            label,
            value: shown,
            options,
            locked,
        });
    }
    Ok((choices, views))
}

/// Adds the values found in the data to row filters' options.
fn add_options(views: &mut [FilterView], data: &PanelData) {
    for v in views.iter_mut() {
        if let Some(values) = data.options.get(&v.name) {
            for value in values {
                if !v.options.iter().any(|(o, _)| o == value) {
                    v.options.push((value.clone(), value.replace('_', " ")));
                }
            }
        }
    }
}

/// A panel as the viewer may see it.
pub struct Shown {
    pub table: Table,
    pub compare: Option<Table>,
    pub params: Vec<(String, String)>,
    /// What its chart needs beyond the tables (rows withheld among it).
    pub context: Context,
}

impl Shown {
    /// Rows withheld by suppression.
    pub fn suppressed(&self) -> usize {
        self.context.suppressed
    }

    /// The panel's chart, drawn from the protected tables; built only by the outputs
    /// that show it or its description (not the CSV).
    pub fn model(&self, state: &AppState, panel: &Panel) -> chart::Model {
        let indicator = indicator_of(&state.settings.catalog, panel);
        chart::build(
            panel,
            indicator,
            &self.table,
            self.compare.as_ref(),
            &self.context,
        )
    }
}

/// Computes a panel and applies the viewer's privacy rules before anything is drawn.
pub async fn show(
    state: &AppState,
    current: &Current,
    d: &Dashboard,
    panel: &Panel,
    viewer: &Viewer,
    choices: &Choices,
    views: &mut [FilterView],
) -> Result<Shown, ApiError> {
    let access = if viewer.role == Role::Analyst {
        Access::Analyst
    } else {
        Access::Protected
    };
    let data = compute::panel(&state.cache, &current.source, d, panel, choices, access)
        .await
        .map_err(|e| {
            tracing::error!(panel = %panel.id, "computing: {e}");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("panel {} could not be computed", panel.id),
            )
        })?;
    add_options(views, &data);
    let mut table = data.table;
    let suppressed = viewer.protect(&mut table, &current.pseudonyms);
    let compare = data.compare.map(|mut c| {
        viewer.protect(&mut c, &current.pseudonyms);
        c
    });
    if !panel.columns.is_empty() {
        let mut keep: Vec<String> = panel.columns.clone();
        if table.col(suppress::REASON).is_some() {
            keep.push(suppress::REASON.into());
        }
        table = project(&table, &keep);
    }
    let org = choices.get("org").filter(|o| !o.is_empty());
    let context = Context {
        lake_version: current.source.lake_version,
        highlight: viewer
            .org
            .clone()
            .or_else(|| org.map(|o| current.pseudonyms.label(viewer, o))),
        annotations: match org {
            Some(o) if viewer.may_name(o) => current
                .ideas
                .iter()
                .filter(|(c, _, _)| c == o)
                .map(|(_, d, t)| (d.clone(), t.clone()))
                .collect(),
            _ => Vec::new(),
        },
        suppressed,
        bed_days_rounded: access == Access::Protected
            && crate::dashboard::reach::rounds_bed_days(indicator_of(
                &state.settings.catalog,
                panel,
            )),
    };
    Ok(Shown {
        table,
        compare,
        params: data.params,
        context,
    })
}

fn project(table: &Table, columns: &[String]) -> Table {
    let idx: Vec<usize> = columns.iter().filter_map(|c| table.col(c)).collect();
    Table {
        columns: idx.iter().map(|&i| table.columns[i].clone()).collect(),
        rows: table
            .rows
            .iter()
            .map(|r| idx.iter().map(|&i| r[i].clone()).collect())
            .collect(),
    }
}

/// URLs of a panel's outputs, keeping the filter values.
pub fn panel_links(
    d: &Dashboard,
    panel: &Panel,
    views: &[FilterView],
) -> BTreeMap<&'static str, String> {
    let q = query_string(views);
    let base = format!("/api/dashboards/{}/panels/{}", d.id, panel.id);
    let mut links = BTreeMap::new();
    links.insert("json", format!("{base}{q}"));
    links.insert("csv", format!("{base}/data.csv{q}"));
    if panel.chart.has_chart() {
        links.insert("svg", format!("{base}/chart.svg{q}"));
        links.insert("png", format!("{base}/chart.png{q}"));
    }
    links
}

/// `?name=value&…` of the filters with a value (the viewer's own labels).
pub fn query_string(views: &[FilterView]) -> String {
    let pairs: Vec<String> = views
        .iter()
        .filter(|v| !v.value.is_empty() && !v.locked)
        .map(|v| format!("{}={}", enc(&v.name), enc(&v.value)))
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn api_dashboards(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    let list: Vec<_> = open_dashboards(&state, viewer.role)
        .map(|d| {
            json!({
                "id": d.id,
                "title": d.title,
                "description": d.description,
                "audience": d.audience,
                "html": format!("/dashboards/{}", d.id),
                "api": format!("/api/dashboards/{}", d.id),
                "filters": d.filters.iter().map(|f| json!({"name": f.name, "kind": f.kind, "label": f.label})).collect::<Vec<_>>(),
                "panels": d.panels.iter().map(|p| {
                    let links = panel_links(d, p, &[]);
                    json!({"id": p.id, "title": p.title, "indicator": p.indicator, "chart": p.chart,
                           "json": links.get("json"), "csv": links.get("csv"),
                           "svg": links.get("svg"), "png": links.get("png")})
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(axum::Json(json!({ "role": viewer.role, "dashboards": list })).into_response())
}

async fn api_dashboard(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    let d = dashboard_for(&state, &id, &viewer)?;
    let current = state.current();
    let (_, views) = choose(&state, &current, d, &viewer, &query)?;
    let panels: Vec<_> = d
        .panels
        .iter()
        .map(|p| {
            let links = panel_links(d, p, &views);
            json!({"id": p.id, "title": p.title, "indicator": p.indicator, "chart": p.chart,
                   "width": p.width, "links": links})
        })
        .collect();
    Ok(axum::Json(json!({
        "id": d.id, "title": d.title, "description": d.description,
        "audience": d.audience, "role": viewer.role,
        "lake_version": current.source.lake_version,
        "filters": views, "panels": panels,
    }))
    .into_response())
}

struct PanelRequest {
    viewer: Viewer,
    current: Arc<Current>,
    shown: Shown,
    views: Vec<FilterView>,
}

async fn panel_request(
    state: &AppState,
    id: &str,
    panel_id: &str,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
) -> Result<(PanelRequest, Dashboard, Panel), ApiError> {
    let viewer = viewer(state, headers)?;
    let d = dashboard_for(state, id, &viewer)?;
    let panel = d
        .panel(panel_id)
        .ok_or_else(|| ApiError::not_found(&format!("panel `{panel_id}` in {id}")))?;
    let current = state.current();
    let (choices, mut views) = choose(state, &current, d, &viewer, query)?;
    let shown = show(state, &current, d, panel, &viewer, &choices, &mut views).await?;
    Ok((
        PanelRequest {
            viewer,
            current,
            shown,
            views,
        },
        d.clone(),
        panel.clone(),
    ))
}

async fn api_panel(
    State(state): State<Arc<AppState>>,
    UrlPath((id, panel_id)): UrlPath<(String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (r, d, panel) = panel_request(&state, &id, &panel_id, &query, &headers).await?;
    let model = r.shown.model(&state, &panel);
    let params: BTreeMap<_, _> = r
        .shown
        .params
        .iter()
        .filter(|(k, _)| k != "org" || r.viewer.role == Role::Analyst)
        .cloned()
        .collect();
    let mut body = panel_fields(
        &state,
        &d,
        &panel,
        r.current.source.lake_version,
        &r.shown,
        &model,
    );
    for (key, value) in [
        ("role", json!(r.viewer.role)),
        ("params", json!(params)),
        ("filters", json!(r.views)),
        ("links", json!(panel_links(&d, &panel, &r.views))),
    ] {
        body.insert(key.into(), value);
    }
    Ok(axum::Json(body).into_response())
}

/// A panel's JSON as both the API and the published site give it.
pub fn panel_fields(
    state: &AppState,
    d: &Dashboard,
    panel: &Panel,
    lake_version: Option<i64>,
    shown: &Shown,
    model: &chart::Model,
) -> serde_json::Map<String, serde_json::Value> {
    let indicator = indicator_of(&state.settings.catalog, panel);
    let body = json!({
        "dashboard": d.id,
        "panel": panel.id,
        "title": panel.title,
        "indicator": indicator.name,
        "indicator_title": indicator.title,
        "unit": indicator.unit,
        "chart": panel.chart,
        "estimate": indicator.estimate.map(Estimate::name),
        "lake_version": lake_version,
        "period": model.footer,
        "description": model.description,
        "suppressed": shown.suppressed(),
        "columns": shown.table.columns,
        "rows": shown.table.rows_json(),
        "compare": shown.compare.as_ref().map(|c| c.rows_json()),
    });
    match body {
        serde_json::Value::Object(map) => map,
        _ => unreachable!("json! of braces is an object"),
    }
}

fn download_name(d: &Dashboard, panel: &Panel, lake_version: Option<i64>, ext: &str) -> String {
    format!(
        "attachment; filename=\"ako-{}-{}-v{}.{ext}\"",
        d.id,
        panel.id,
        lake_version.map_or("0".into(), |v| v.to_string())
    )
}

/// A download: its type, how the browser should treat it, and its bytes.
fn download(content_type: &'static str, disposition: String, body: impl IntoResponse) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

/// An error whose detail belongs in the log, not in front of the user: the client gets
/// a short message and the request id that finds the detail.
pub(super) fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!("internal error: {e}");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "something went wrong on the server; quote the request id to the programme team",
    )
}

async fn panel_csv(
    State(state): State<Arc<AppState>>,
    UrlPath((id, panel_id)): UrlPath<(String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (r, d, panel) = panel_request(&state, &id, &panel_id, &query, &headers).await?;
    let name = download_name(&d, &panel, r.current.source.lake_version, "csv");
    Ok(download(
        "text/csv; charset=utf-8",
        name,
        r.shown.table.to_csv(),
    ))
}

/// The chart of a panel, as SVG or PNG.
async fn panel_chart(
    state: &AppState,
    id: &str,
    panel_id: &str,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
    png: bool,
) -> Result<Response, ApiError> {
    let (r, d, panel) = panel_request(state, id, panel_id, query, headers).await?;
    if panel.chart == ChartKind::Table {
        return Err(ApiError::not_found("chart: this panel is a table"));
    }
    let version = r.current.source.lake_version;
    let model = r.shown.model(state, &panel);
    if png {
        // Rasterising takes milliseconds of CPU: keep it off the request threads, and
        // no more at once than there are cores.
        let _core = state.rasters.acquire().await.map_err(internal)?;
        let bytes = tokio::task::spawn_blocking(move || chart::png(&model))
            .await
            .map_err(internal)?
            .map_err(internal)?;
        Ok(download(
            "image/png",
            download_name(&d, &panel, version, "png"),
            bytes,
        ))
    } else {
        let svg = chart::svg(&model).map_err(internal)?;
        let name = download_name(&d, &panel, version, "svg").replace("attachment", "inline");
        Ok(download("image/svg+xml", name, svg))
    }
}

async fn panel_svg(
    State(state): State<Arc<AppState>>,
    UrlPath((id, panel_id)): UrlPath<(String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    panel_chart(&state, &id, &panel_id, &query, &headers, false).await
}

async fn panel_png(
    State(state): State<Arc<AppState>>,
    UrlPath((id, panel_id)): UrlPath<(String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    panel_chart(&state, &id, &panel_id, &query, &headers, true).await
}
