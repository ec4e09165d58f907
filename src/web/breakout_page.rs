//! The breakout page `/sessions/S/groups/G`: the group's members by peer code, the
//! peer-group dashboard's charts for the group and the equity dashboard's for context,
//! at the lake version the session pinned; the members' change ideas with what their
//! charts show; the collaborative's positive deviants ("what worked where"); the group's
//! notes, with a form for participants and the moderator's tools.

use std::collections::BTreeMap;

use minijinja::context;
use serde::Serialize;

use super::breakouts::with_collab;
use super::pages::{PanelView, panel_view, render};
use super::*;
use crate::collab::access::{self, NotesAction, SummaryAction};
use crate::deviants::Evidence;
use crate::ideas::{RebaseState, Verdict};

/// The dashboards a breakout shows, and whether its charts are the group's (else
/// national, for context).
const DASHBOARDS: [(&str, bool); 2] = [("peer-group", true), ("equity", false)];

#[derive(Serialize)]
struct IdeaView {
    org: String,
    title: String,
    started: String,
    stage: Option<&'static str>,
    tags: Vec<String>,
    judgements: Vec<(String, String, Option<String>)>,
}

#[derive(Serialize)]
struct DeviantView {
    org: String,
    evidence: String,
    change_idea: Option<String>,
}

/// Only the group's members, in an organisation-level table.
fn keep_members(shown: &mut Shown, panel: &Panel, labels: &[String]) {
    if panel.params.get("level").map(String::as_str) != Some("org") {
        return;
    }
    let Some(c) = shown.table.col("org_code") else {
        return;
    };
    shown
        .table
        .rows
        .retain(|r| r[c].as_str().is_some_and(|o| labels.iter().any(|l| l == o)));
}

/// A deviant's evidence in words without its numbers: the rates and counts behind it
/// are pooled over months the dashboards cut differently, so only analysts get them.
fn evidence_words(e: &Evidence) -> String {
    match e {
        Evidence::Funnel { from, to, .. } => format!(
            "Below the 99.8% funnel limit of its jurisdiction's organisations from {from} to {to}."
        ),
        Evidence::Spc {
            from,
            to,
            months,
            signal,
            ..
        } => {
            format!("{months} months of special-cause improvement from {from} to {to} ({signal}).")
        }
    }
}

pub(crate) async fn page(
    State(state): State<Arc<AppState>>,
    UrlPath((session, group)): UrlPath<(i64, i64)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    access::notes(&viewer, session, group, NotesAction::Read)?;
    let (s, notes, summary) = with_collab(&state, move |c| {
        let s = c.session(session)?;
        let summary = c.group_summary(session, group)?;
        Ok((s, c.notes(session, group)?, summary))
    })
    .await?;
    let g = s
        .groups
        .iter()
        .find(|g| g.group_id == group)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&format!("group {group} in session {session}")))?;
    let edition = state.edition_at(s.lake_version).await.map_err(internal)?;
    let label = |org: &str| edition.pseudonyms.label(&viewer, org);
    let labels: Vec<String> = g.members.iter().map(|m| label(&m.org_code)).collect();
    let members: Vec<_> = g
        .members
        .iter()
        .map(|m| {
            // A reason names the organisation's size and challenges: analysts only.
            context! { org => label(&m.org_code),
            reason => (viewer.role == Role::Analyst).then(|| m.reason.clone()) }
        })
        .collect();

    let mut sections: Vec<(String, bool, Vec<PanelView>)> = Vec::new();
    for (id, of_group) in DASHBOARDS {
        let Some(d) = state.settings.dashboards.get(id) else {
            continue;
        };
        let query: BTreeMap<String, String> = if of_group {
            [
                ("grouping".to_string(), s.grouping.name().to_string()),
                ("peer_group".to_string(), g.name.clone()),
            ]
            .into()
        } else {
            BTreeMap::new()
        };
        // A participant's peer group may be locked to their own organisation's; then the
        // charts are of that group, filtered to this breakout's members.
        let (choices, mut views) = match edition.choose(d, &viewer, &query) {
            Ok(c) => c,
            Err(_) => choose(&edition, d, &viewer, &BTreeMap::new())?,
        };
        let mut panels = Vec::new();
        for panel in &d.panels {
            let view = match show(&state, &edition, d, panel, &viewer, &choices, &mut views).await {
                Ok(mut shown) => {
                    keep_members(&mut shown, panel, &labels);
                    let figure = shown.figure(&state.settings.catalog, panel);
                    panel_view(panel, Ok((&shown, &figure)))
                }
                Err(e) => panel_view(panel, Err(&e)),
            };
            panels.push(view);
        }
        sections.push((d.title.clone(), of_group, panels));
    }

    let judged = edition.judged()?;
    let ideas: Vec<IdeaView> = judged
        .iter()
        .filter(|j| g.members.iter().any(|m| m.org_code == j.idea.org_code))
        .map(|j| IdeaView {
            org: label(&j.idea.org_code),
            title: j.idea.title.clone(),
            started: j.idea.started.clone(),
            stage: j.idea.stage.map(|s| s.name()),
            tags: j.idea.tags.clone(),
            judgements: j
                .judgements
                .iter()
                .map(|g| {
                    (
                        state
                            .settings
                            .catalog
                            .get(&g.assessment.indicator)
                            .map_or(g.assessment.indicator.clone(), |i| i.title.clone()),
                        g.assessment.sentence.clone(),
                        g.rebase.as_ref().map(|r| {
                            format!(
                                "rebase at {}: {}",
                                r.period,
                                match r.state {
                                    RebaseState::Proposed => "proposed, for an analyst to decide",
                                    RebaseState::Accepted => "accepted",
                                    RebaseState::Rejected => "rejected",
                                }
                            )
                        }),
                    )
                })
                .collect(),
        })
        .collect();
    let deviants: Vec<DeviantView> = match edition.deviants().await {
        Ok(found) => found
            .iter()
            .map(|d| DeviantView {
                org: label(&d.org_code),
                evidence: evidence_words(&d.evidence),
                change_idea: judged
                    .iter()
                    .filter(|j| {
                        j.idea.org_code == d.org_code
                            && j.judgements[0].assessment.verdict == Verdict::SustainedImprovement
                    })
                    .map(|j| format!("{} (from {})", j.idea.title, j.idea.started))
                    .next(),
            })
            .collect(),
        Err(e) => {
            tracing::error!("finding positive deviants: {e}");
            Vec::new()
        }
    };
    let notes: Vec<_> = notes
        .iter()
        .map(|n| {
            context! { id => n.note_id, org => label(&n.org_code), kind => n.kind.name(),
            text => n.text, answered => n.answered, posted_at => n.posted_at }
        })
        .collect();
    let moderates = access::summary(&viewer, session, group, SummaryAction::Moderate).is_ok();
    let posts = access::notes(&viewer, session, group, NotesAction::Post).is_ok();
    render(
        "breakout.html",
        context! {
            title => format!("{}: {}", s.title, g.name),
            session => s,
            group => g,
            role => format!("{}{}", viewer.role.name(), viewer.org.as_ref().map(|o| format!(" of {o}")).unwrap_or_default()),
            lake_version => edition.source.lake_version,
            members => members,
            sections => sections.into_iter().map(|(t, of_group, panels)| context! { title => t, of_group => of_group, panels => panels }).collect::<Vec<_>>(),
            ideas => ideas,
            deviants => deviants,
            notes => notes,
            summary => summary,
            moderates => moderates,
            posts => posts,
            home => "/",
        },
    )
}
