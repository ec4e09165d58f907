//! The charts a breakout group sees, on its page and in its pack alike: the peer-group
//! dashboard's charts for the group, filtered to its members, and the equity
//! dashboard's (national, for context), at the lake version the session pinned. Both
//! outputs go through [`show`], so a chart is suppressed and relabelled the same way.

use std::collections::BTreeMap;

use crate::collab::{Session, SessionGroup};
use crate::dashboard::compute::{Cache, ComputeError};
use crate::dashboard::filters::FilterError;
use crate::dashboard::view::{Edition, Shown, show};
use crate::dashboard::{Dashboard, Panel};
use crate::privacy::Viewer;

/// The dashboards a breakout shows, and whether its charts are the group's (else
/// national, for context).
pub const DASHBOARDS: [(&str, bool); 2] = [("peer-group", true), ("equity", false)];

/// One dashboard's charts for a breakout.
pub struct Section<'a> {
    pub dashboard: &'a Dashboard,
    /// The group's charts (else the collaborative's, for context).
    pub of_group: bool,
    pub panels: Vec<(&'a Panel, Result<Shown, ComputeError>)>,
}

/// The group's members as `viewer` sees them (peer codes, or their own name).
pub fn member_labels(edition: &Edition, viewer: &Viewer, group: &SessionGroup) -> Vec<String> {
    group
        .members
        .iter()
        .map(|m| edition.pseudonyms.label(viewer, &m.org_code))
        .collect()
}

fn is_org_level(panel: &Panel) -> bool {
    panel.params.get("level").map(String::as_str) == Some("org")
}

/// The panels of `dashboard` a breakout shows: all of its group's dashboard; of a
/// context dashboard only the collaborative's (one organisation's chart, such as the
/// equity dashboard's Australian service panels, is no breakout's).
pub fn breakout_panels(dashboard: &Dashboard, of_group: bool) -> impl Iterator<Item = &Panel> {
    dashboard
        .panels
        .iter()
        .filter(move |p| of_group || !is_org_level(p))
}

/// Only the group's members, in an organisation-level table.
fn keep_members(shown: &mut Shown, panel: &Panel, labels: &[String]) {
    if !is_org_level(panel) {
        return;
    }
    let Some(c) = shown.table.col("org_code") else {
        return;
    };
    shown
        .table
        .rows
        .retain(|r| r[c].as_str().is_some_and(|o| labels.iter().any(|l| l == o)));
    // What the chart says was withheld is what was withheld of the rows it keeps.
    if let Some(why) = shown.table.col(crate::privacy::suppress::REASON) {
        shown.context.suppressed = shown
            .table
            .rows
            .iter()
            .filter(|r| !r[why].is_null())
            .count();
    }
}

/// Every chart of the breakout's dashboards, each computed through the viewer's privacy
/// rules; a panel that cannot be computed is returned as its error, in its place.
pub async fn sections<'a>(
    cache: &Cache,
    edition: &'a Edition,
    viewer: &Viewer,
    session: &Session,
    group: &SessionGroup,
) -> Result<Vec<Section<'a>>, FilterError> {
    let labels = member_labels(edition, viewer, group);
    let mut sections = Vec::new();
    for (id, of_group) in DASHBOARDS {
        let Some(d) = edition.source.dashboards.get(id) else {
            continue;
        };
        let query: BTreeMap<String, String> = if of_group {
            [
                ("grouping".to_string(), session.grouping.name().to_string()),
                ("peer_group".to_string(), group.name.clone()),
            ]
            .into()
        } else {
            BTreeMap::new()
        };
        // A participant's peer group may be locked to their own organisation's; then the
        // charts are of that group, filtered to this breakout's members.
        let (choices, mut views) = match edition.choose(d, viewer, &query) {
            Ok(c) => c,
            Err(_) => edition.choose(d, viewer, &BTreeMap::new())?,
        };
        // An organisation-level chart is of the group's members wherever their peer
        // groups put them (a facilitator may have moved one in), so it is not cut to
        // one peer group; [`keep_members`] keeps the members.
        let mut every_group = choices.clone();
        if let Some(g) = every_group.get_mut("peer_group") {
            g.clear();
        }
        let mut panels = Vec::new();
        for panel in breakout_panels(d, of_group) {
            let choices = if is_org_level(panel) {
                &every_group
            } else {
                &choices
            };
            let shown = show(cache, edition, d, panel, viewer, choices, &mut views)
                .await
                .map(|mut shown| {
                    keep_members(&mut shown, panel, &labels);
                    shown
                });
            panels.push((panel, shown));
        }
        sections.push(Section {
            dashboard: d,
            of_group,
            panels,
        });
    }
    Ok(sections)
}
