//! Whole panel answers (JSON, CSV, SVG, PNG) kept for the next identical request.
//!
//! An answer is a function of the edition (lake version and peer codes), the state of
//! the collaborative database (judged change ideas annotate charts), the viewer (role,
//! organisation and scope: what they may see), the dashboard, the panel, the query
//! string and the output. The key is a digest of all of these, so an answer is only
//! ever given again to the same viewer asking the same thing of the same data. Who the
//! viewer is (token, session) is still checked on every request, before the lookup.

use axum::extract::FromRequestParts;
use sha2::{Digest, Sha256};

use super::*;

/// Bytes of answers kept: a few hundred panels.
pub(crate) const ANSWER_BUDGET: usize = 32 << 20;

/// What a panel request may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Output {
    Json,
    Csv,
    Svg,
    Png,
    /// A dashboard's page (its panel is empty in the key).
    Page,
}

/// A response body with the headers that describe it.
pub struct Answer {
    pub(crate) content_type: &'static str,
    pub(crate) disposition: Option<String>,
    pub(crate) body: axum::body::Bytes,
}

impl Answer {
    pub(crate) fn response(&self) -> Response {
        let mut response = (
            [(header::CONTENT_TYPE, self.content_type)],
            self.body.clone(),
        )
            .into_response();
        if let Some(d) = &self.disposition
            && let Ok(value) = HeaderValue::from_str(d)
        {
            response
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, value);
        }
        response
    }
}

/// The digest of everything an answer depends on.
pub(crate) fn key(
    current: &Edition,
    viewer: &Viewer,
    dashboard: &str,
    panel: &str,
    query: &BTreeMap<String, String>,
    output: Output,
) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [
        current.serial.to_string(),
        current.collab_state(),
        format!("{viewer:?}"),
        dashboard.to_string(),
        panel.to_string(),
        format!("{query:?}"),
        format!("{output:?}"),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.finalize().into()
}

/// A panel request as its handlers receive it: the dashboard and panel named in the
/// path, the query string and the headers that say who asks.
pub(crate) struct PanelCall {
    dashboard: String,
    panel: String,
    query: BTreeMap<String, String>,
    headers: HeaderMap,
}

impl axum::extract::FromRequestParts<Arc<AppState>> for PanelCall {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let bad = |e: String| ApiError::new(StatusCode::BAD_REQUEST, e);
        let UrlPath((dashboard, panel)) =
            UrlPath::<(String, String)>::from_request_parts(parts, state)
                .await
                .map_err(|e| bad(e.body_text()))?;
        let Query(query) = Query::<BTreeMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| bad(e.body_text()))?;
        Ok(PanelCall {
            dashboard,
            panel,
            query,
            headers: parts.headers.clone(),
        })
    }
}

impl PanelCall {
    /// Who asks (checked on every request), and the key of their answer.
    fn identify(
        &self,
        state: &AppState,
        current: &Edition,
        output: Output,
    ) -> Result<(Viewer, [u8; 32]), ApiError> {
        let viewer = viewer(state, &self.headers)?;
        let key = key(
            current,
            &viewer,
            &self.dashboard,
            &self.panel,
            &self.query,
            output,
        );
        Ok((viewer, key))
    }

    /// The answer kept for this request, if any, after checking who asks.
    fn kept(&self, state: &AppState, output: Output) -> Result<Option<Response>, ApiError> {
        let (_, key) = self.identify(state, &state.current(), output)?;
        Ok(state.answers.get(&key).map(|a| a.response()))
    }

    /// The answer kept for this request, or made now and kept.
    pub(crate) async fn answer(
        self,
        state: &AppState,
        output: Output,
    ) -> Result<Response, ApiError> {
        let current = state.current();
        let (viewer, key) = self.identify(state, &current, output)?;
        if let Some(kept) = state.answers.get(&key) {
            return Ok(kept.response());
        }
        let (r, d, panel) = panel_request(
            state,
            viewer,
            current,
            &self.dashboard,
            &self.panel,
            &self.query,
        )
        .await?;
        let answer = make(state, output, r, &d, &panel).await?;
        let bytes = answer.body.len();
        Ok(state.answers.put(key, answer, bytes).response())
    }
}

async fn make(
    state: &AppState,
    output: Output,
    r: PanelRequest,
    d: &Dashboard,
    panel: &Panel,
) -> Result<Answer, ApiError> {
    let version = r.current.source.lake_version;
    if matches!(output, Output::Svg | Output::Png) && panel.chart == ChartKind::Table {
        return Err(ApiError::not_found("chart: this panel is a table"));
    }
    Ok(match output {
        Output::Page => unreachable!("pages are made by pages::dashboard"),
        Output::Json => Answer {
            content_type: "application/json",
            disposition: None,
            body: panel_json(state, &r, d, panel).into(),
        },
        Output::Csv => Answer {
            content_type: "text/csv; charset=utf-8",
            disposition: Some(download_name(d, panel, version, "csv")),
            body: r.shown.table.to_csv().into(),
        },
        Output::Svg => {
            let figure = r.shown.figure(&state.settings.catalog, panel);
            Answer {
                content_type: "image/svg+xml",
                disposition: Some(
                    download_name(d, panel, version, "svg").replace("attachment", "inline"),
                ),
                body: chart::svg(&figure).map_err(internal)?.into(),
            }
        }
        Output::Png => {
            let figure = r.shown.figure(&state.settings.catalog, panel);
            Answer {
                content_type: "image/png",
                disposition: Some(download_name(d, panel, version, "png")),
                body: axum::body::Bytes::copy_from_slice(&png_of(state, figure).await?),
            }
        }
    })
}

/// A figure's PNG, kept by figure across viewers and filters that draw the same one.
async fn png_of(state: &AppState, figure: chart::Figure) -> Result<Arc<Vec<u8>>, ApiError> {
    let key = chart::cache::PngKey::of(&figure);
    if let Some(image) = state.pngs.get(&key) {
        return Ok(image);
    }
    // Rasterising takes milliseconds of CPU: keep it off the request threads, and no
    // more at once than there are cores.
    let _core = state.rasters.acquire().await.map_err(internal)?;
    let drawn = tokio::task::spawn_blocking(move || chart::png(&figure))
        .await
        .map_err(internal)?
        .map_err(internal)?;
    Ok(state.pngs.put(key, drawn))
}

/// Admission of the panel outputs: a kept answer is given at once, whatever the load,
/// since it computes nothing; one that must be computed waits for room like every
/// other expensive route ([`admit`]).
pub(crate) async fn admit_panel(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // `/api/dashboards/{id}/panels/{panel}` and its three downloads: the segment after
    // the panel's, if any, names the output.
    let output = match request.uri().path().split('/').nth(6) {
        Some("data.csv") => Output::Csv,
        Some("chart.svg") => Output::Svg,
        Some("chart.png") => Output::Png,
        _ => Output::Json,
    };
    // The handler's own extractor, so the lookup reads the request as the handler will.
    let (mut parts, body) = request.into_parts();
    if let Ok(call) = PanelCall::from_request_parts(&mut parts, &state).await {
        match call.kept(&state, output) {
            Ok(Some(kept)) => return kept,
            Err(refused) => return refused.into_response(),
            Ok(None) => {}
        }
    }
    admit(
        State(state),
        axum::extract::Request::from_parts(parts, body),
        next,
    )
    .await
}

/// Admission of a dashboard's page: kept, it is given at once (as [`admit_panel`]).
pub(crate) async fn admit_page(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    if let (Ok(UrlPath(id)), Ok(Query(query))) = (
        UrlPath::<String>::from_request_parts(&mut parts, &state).await,
        Query::<BTreeMap<String, String>>::from_request_parts(&mut parts, &state).await,
    ) && let Ok(viewer) = viewer(&state, &parts.headers)
        && dashboard_for(&state, &id, &viewer).is_ok()
    {
        let key = key(&state.current(), &viewer, &id, "", &query, Output::Page);
        if let Some(kept) = state.answers.get(&key) {
            return kept.response();
        }
    }
    admit(
        State(state),
        axum::extract::Request::from_parts(parts, body),
        next,
    )
    .await
}
