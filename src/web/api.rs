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

pub(crate) async fn panel_request(
    state: &AppState,
    viewer: Viewer,
    current: Arc<Edition>,
    id: &str,
    panel_id: &str,
    query: &BTreeMap<String, String>,
) -> Result<(PanelRequest, Dashboard, Panel), ApiError> {
    let d = dashboard_for(state, id, &viewer)?;
    let panel = d
        .panel(panel_id)
        .ok_or_else(|| ApiError::not_found(&format!("panel `{panel_id}` in {id}")))?;
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
    call: PanelCall,
) -> Result<Response, ApiError> {
    call.answer(&state, Output::Json).await
}

/// The API's JSON of a panel: its fields, and who asked with which filters.
pub(crate) fn panel_json(
    state: &AppState,
    r: &PanelRequest,
    d: &Dashboard,
    panel: &Panel,
) -> String {
    let figure = r.shown.figure(&state.settings.catalog, panel);
    let params: BTreeMap<&str, &str> = r
        .shown
        .params
        .iter()
        .filter(|(k, _)| k != "org" || r.viewer.role == Role::Analyst)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut body = PanelJson::new(
        &state.settings.catalog,
        d,
        panel,
        r.current.source.lake_version,
        &r.shown,
        &figure,
    );
    body.role = Some(r.viewer.role);
    body.params = Some(params);
    body.filters = Some(&r.views);
    body.links = Some(panel_links(d, panel, &r.views));
    serde_json::to_string(&body).expect("panel JSON serialises")
}

/// A panel's JSON, written straight from the tables (no tree of values in between),
/// keys in alphabetical order as they always came out.
#[derive(serde::Serialize)]
pub(crate) struct PanelJson<'a> {
    chart: ChartKind,
    columns: &'a [String],
    compare: Option<crate::table::RowsJson<'a>>,
    dashboard: &'a str,
    description: &'a str,
    estimate: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    filters: Option<&'a [FilterView]>,
    indicator: &'a str,
    indicator_title: &'a str,
    lake_version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    links: Option<BTreeMap<&'static str, String>>,
    panel: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<BTreeMap<&'a str, &'a str>>,
    period: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<Role>,
    rows: crate::table::RowsJson<'a>,
    suppressed: usize,
    title: &'a str,
    unit: &'a str,
}

impl<'a> PanelJson<'a> {
    fn new(
        catalog: &'a Catalog,
        d: &'a Dashboard,
        panel: &'a Panel,
        lake_version: Option<i64>,
        shown: &'a Shown,
        figure: &'a chart::Figure,
    ) -> PanelJson<'a> {
        let indicator = indicator_of(catalog, panel);
        PanelJson {
            chart: panel.chart,
            columns: &shown.table.columns,
            compare: shown.compare.as_ref().map(|c| c.rows_json()),
            dashboard: &d.id,
            description: &figure.description,
            estimate: indicator.estimate.map(Estimate::name),
            filters: None,
            indicator: &indicator.name,
            indicator_title: &indicator.title,
            lake_version,
            links: None,
            panel: &panel.id,
            params: None,
            period: &figure.footer,
            role: None,
            rows: shown.table.rows_json(),
            suppressed: shown.suppressed(),
            title: &panel.title,
            unit: &indicator.unit,
        }
    }
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
    match serde_json::to_value(PanelJson::new(
        catalog,
        d,
        panel,
        lake_version,
        shown,
        figure,
    )) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => unreachable!("a struct serialises to an object"),
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

pub(crate) async fn panel_csv(
    State(state): State<Arc<AppState>>,
    call: PanelCall,
) -> Result<Response, ApiError> {
    call.answer(&state, Output::Csv).await
}

pub(crate) async fn panel_svg(
    State(state): State<Arc<AppState>>,
    call: PanelCall,
) -> Result<Response, ApiError> {
    call.answer(&state, Output::Svg).await
}

pub(crate) async fn panel_png(
    State(state): State<Arc<AppState>>,
    call: PanelCall,
) -> Result<Response, ApiError> {
    call.answer(&state, Output::Png).await
}
