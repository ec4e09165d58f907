//! The JSON API and the downloads (CSV, SVG, PNG): thin handlers over `view`.

use super::*;
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

pub(crate) fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub(crate) async fn api_dashboards(
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

pub(crate) async fn api_dashboard(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    let d = dashboard_for(&state, &id, &viewer)?;
    let current = state.current();
    let (_, views) = choose(&current, d, &viewer, &query)?;
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

pub(crate) struct PanelRequest {
    pub(crate) viewer: Viewer,
    pub(crate) current: Arc<Edition>,
    pub(crate) shown: Shown,
    pub(crate) views: Vec<FilterView>,
}

/// A panel request as its handlers receive it: the panel computed and protected for
/// whoever asked, with its dashboard and panel. Handlers take it as an extractor, so
/// each is a few lines about its output alone.
pub(crate) struct PanelAsk(
    pub(crate) PanelRequest,
    pub(crate) Dashboard,
    pub(crate) Panel,
);

impl axum::extract::FromRequestParts<Arc<AppState>> for PanelAsk {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let bad = |e: String| ApiError::new(StatusCode::BAD_REQUEST, e);
        let UrlPath((id, panel_id)) = UrlPath::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|e| bad(e.body_text()))?;
        let Query(query) = Query::<BTreeMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| bad(e.body_text()))?;
        let (r, d, panel) = panel_request(state, &id, &panel_id, &query, &parts.headers).await?;
        Ok(PanelAsk(r, d, panel))
    }
}

pub(crate) async fn panel_request(
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
    let (choices, mut views) = choose(&current, d, &viewer, query)?;
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

pub(crate) async fn api_panel(
    State(state): State<Arc<AppState>>,
    PanelAsk(r, d, panel): PanelAsk,
) -> Result<Response, ApiError> {
    let figure = r.shown.figure(&state.settings.catalog, &panel);
    let params: BTreeMap<_, _> = r
        .shown
        .params
        .iter()
        .filter(|(k, _)| k != "org" || r.viewer.role == Role::Analyst)
        .cloned()
        .collect();
    let mut body = panel_fields(
        &state.settings.catalog,
        &d,
        &panel,
        r.current.source.lake_version,
        &r.shown,
        &figure,
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
    catalog: &Catalog,
    d: &Dashboard,
    panel: &Panel,
    lake_version: Option<i64>,
    shown: &Shown,
    figure: &chart::Figure,
) -> serde_json::Map<String, serde_json::Value> {
    let indicator = indicator_of(catalog, panel);
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
        "period": figure.footer,
        "description": figure.description,
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

pub(crate) fn download_name(
    d: &Dashboard,
    panel: &Panel,
    lake_version: Option<i64>,
    ext: &str,
) -> String {
    format!(
        "attachment; filename=\"ako-{}-{}-v{}.{ext}\"",
        d.id,
        panel.id,
        lake_version.map_or("0".into(), |v| v.to_string())
    )
}

/// A download: its type, how the browser should treat it, and its bytes.
pub(crate) fn download(
    content_type: &'static str,
    disposition: String,
    body: impl IntoResponse,
) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

pub(crate) async fn panel_csv(PanelAsk(r, d, panel): PanelAsk) -> Result<Response, ApiError> {
    let name = download_name(&d, &panel, r.current.source.lake_version, "csv");
    Ok(download(
        "text/csv; charset=utf-8",
        name,
        r.shown.table.to_csv(),
    ))
}

/// The chart of a panel, as SVG or PNG.
pub(crate) async fn panel_chart(
    state: &AppState,
    PanelAsk(r, d, panel): PanelAsk,
    png: bool,
) -> Result<Response, ApiError> {
    if panel.chart == ChartKind::Table {
        return Err(ApiError::not_found("chart: this panel is a table"));
    }
    let version = r.current.source.lake_version;
    let figure = r.shown.figure(&state.settings.catalog, &panel);
    if png {
        let key = chart::cache::PngKey::of(&figure);
        let image = match state.pngs.get(&key) {
            Some(image) => image,
            None => {
                // Rasterising takes milliseconds of CPU: keep it off the request
                // threads, and no more at once than there are cores.
                let _core = state.rasters.acquire().await.map_err(internal)?;
                let drawn = tokio::task::spawn_blocking(move || chart::png(&figure))
                    .await
                    .map_err(internal)?
                    .map_err(internal)?;
                state.pngs.put(key, drawn)
            }
        };
        Ok(download(
            "image/png",
            download_name(&d, &panel, version, "png"),
            axum::body::Bytes::copy_from_slice(&image),
        ))
    } else {
        let svg = chart::svg(&figure).map_err(internal)?;
        let name = download_name(&d, &panel, version, "svg").replace("attachment", "inline");
        Ok(download("image/svg+xml", name, svg))
    }
}

pub(crate) async fn panel_svg(
    State(state): State<Arc<AppState>>,
    ask: PanelAsk,
) -> Result<Response, ApiError> {
    panel_chart(&state, ask, false).await
}

pub(crate) async fn panel_png(
    State(state): State<Arc<AppState>>,
    ask: PanelAsk,
) -> Result<Response, ApiError> {
    panel_chart(&state, ask, true).await
}
