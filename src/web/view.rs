//! A panel as a viewer may see it: the filters they may choose, the panel computed
//! through the library's privacy rules, and the dashboards open to them.

use super::*;
use crate::dashboard::filters::{self, FilterView, add_options};
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

/// The viewer's filter choices for `d`, checked by the library's policy
/// ([`crate::dashboard::filters::choose`]).
pub fn choose(
    state: &AppState,
    current: &Current,
    d: &Dashboard,
    viewer: &Viewer,
    query: &BTreeMap<String, String>,
) -> Result<(Choices, Vec<FilterView>), ApiError> {
    let known = filters::Known {
        catalog: &state.settings.catalog,
        peers: &current.pseudonyms,
        years: &current.years,
    };
    filters::choose(d, &known, viewer, query)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))
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
    pub fn figure(&self, state: &AppState, panel: &Panel) -> chart::Figure {
        let indicator = indicator_of(&state.settings.catalog, panel);
        chart::build(
            &panel.chart_spec(),
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
                .filter(|i| i.org_code == *o)
                .map(|i| (i.started.clone(), i.title.clone()))
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

pub(crate) fn project(table: &Table, columns: &[String]) -> Table {
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
