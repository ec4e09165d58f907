//! The breakout page `/sessions/S/groups/G`: the group's members by peer code, the
//! peer-group dashboard's charts for the group and the equity dashboard's for context,
//! at the lake version the session pinned; the members' change ideas with what their
//! charts show; the collaborative's positive deviants ("what worked where"); the group's
//! notes, with a form for participants and the moderator's tools.

use minijinja::context;
use serde::Serialize;

use super::breakouts::with_collab;
use super::pages::{PanelView, panel_view, render};
use super::*;
use crate::collab::access::{self, NotesAction, SummaryAction};
use crate::deviants::Evidence;
use crate::ideas::Verdict;

#[derive(Serialize)]
struct DeviantView {
    org: String,
    evidence: String,
    change_idea: Option<String>,
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

/// Group `group` of the session `s`.
fn group_in(
    s: &crate::collab::Session,
    group: i64,
) -> Result<crate::collab::SessionGroup, ApiError> {
    s.groups
        .iter()
        .find(|g| g.group_id == group)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&format!("group {group} in session {}", s.session_id)))
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
    let g = group_in(&s, group)?;
    let edition = state.edition_at(s.lake_version).await.map_err(internal)?;
    let label = |org: &str| edition.pseudonyms.label(&viewer, org);
    let members: Vec<_> = g
        .members
        .iter()
        .map(|m| {
            // A reason names the organisation's size and challenges: analysts only.
            context! { org => label(&m.org_code),
            reason => (viewer.role == Role::Analyst).then(|| m.reason.clone()) }
        })
        .collect();

    let found = crate::pack::charts::sections(&state.cache, &edition, &viewer, &s, &g)
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    let mut sections: Vec<(String, bool, Vec<PanelView>)> = Vec::new();
    for section in found {
        let panels = section
            .panels
            .iter()
            .map(|(panel, shown)| match shown {
                Ok(shown) => {
                    let figure = shown.figure(&state.settings.catalog, panel);
                    panel_view(panel, Ok((shown, &figure)))
                }
                Err(e) => {
                    tracing::error!(panel = %panel.id, "computing: {e}");
                    let e = ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!("panel {} could not be computed", panel.id),
                    );
                    panel_view(panel, Err(&e))
                }
            })
            .collect();
        sections.push((section.dashboard.title.clone(), section.of_group, panels));
    }

    let judged = edition.judged()?;
    let ideas: Vec<_> = judged
        .iter()
        .filter(|j| g.members.iter().any(|m| m.org_code == j.idea.org_code))
        .map(|j| super::ideas::idea_view(&state, &edition, &viewer, j))
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

/// `/sessions/S/groups/G/pack.pdf`: the group's chart pack as the viewer may see it,
/// at the session's pinned lake version.
pub(crate) async fn pack_pdf(
    State(state): State<Arc<AppState>>,
    UrlPath((session, group)): UrlPath<(i64, i64)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    access::notes(&viewer, session, group, NotesAction::Read)?;
    let s = with_collab(&state, move |c| c.session(session)).await?;
    let g = group_in(&s, group)?;
    let edition = state.edition_at(s.lake_version).await.map_err(internal)?;
    let pack = crate::pack::build(&state.cache, &edition, &viewer, &s, &g)
        .await
        .map_err(|e| {
            tracing::error!("building the pack of session {session} group {group}: {e}");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the pack could not be built",
            )
        })?;
    // Laying out and embedding fonts is CPU work: off the request threads, a core at a
    // time, like rasterising.
    let _core = state.rasters.acquire().await.map_err(internal)?;
    let name = format!("{}.pdf", pack.folder());
    let bytes = tokio::task::spawn_blocking(move || crate::pack::pdf(&pack))
        .await
        .map_err(internal)?
        .map_err(internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
