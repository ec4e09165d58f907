//! A panel as a viewer may see it: the filters they may choose, the panel computed
//! through the library's privacy rules, and the dashboards open to them.

use super::*;
use crate::dashboard::filters::FilterView;
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
pub(crate) fn dashboard_for<'a>(
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

/// The viewer's filter choices for `d`; a choice the policy refuses is a 400.
pub fn choose(
    current: &Edition,
    d: &Dashboard,
    viewer: &Viewer,
    query: &BTreeMap<String, String>,
) -> Result<(Choices, Vec<FilterView>), ApiError> {
    current
        .choose(d, viewer, query)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))
}

/// The panel as the viewer may see it ([`crate::dashboard::view::show`]); the engine's
/// words go to the log, not to the client.
pub async fn show(
    state: &AppState,
    current: &Edition,
    d: &Dashboard,
    panel: &Panel,
    viewer: &Viewer,
    choices: &Choices,
    views: &mut [FilterView],
) -> Result<Shown, ApiError> {
    crate::dashboard::view::show(&state.cache, current, d, panel, viewer, choices, views)
        .await
        .map_err(|e| {
            tracing::error!(panel = %panel.id, "computing: {e}");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("panel {} could not be computed", panel.id),
            )
        })
}
