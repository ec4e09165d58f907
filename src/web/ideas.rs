//! Change-idea routes: every idea with what its organisation's charts show since, the
//! national "what worked" view, and a leader recording their organisation's ideas. Who
//! may do what is the library's policy (`collab::access::ideas`).

use axum::Json;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::breakouts::with_collab;
use super::*;
use crate::collab::access::{self, IdeasAction};
use crate::collab::ideas::{NewIdea, Stage};
use crate::ideas::{Judged, RebaseState, Verdict};

/// An idea on a page: its organisation as the viewer sees it and, for each judged chart,
/// (chart, what it shows since, the rebase proposed or decided).
#[derive(Serialize)]
pub(super) struct IdeaView {
    id: Option<i64>,
    org: String,
    mine: bool,
    title: String,
    started: String,
    description: String,
    stage: Option<&'static str>,
    stages: Vec<(&'static str, String)>,
    tags: Vec<String>,
    from_lake: bool,
    judgements: Vec<(String, String, Option<String>)>,
}

pub(super) fn idea_view(
    state: &AppState,
    current: &Edition,
    viewer: &Viewer,
    j: &Judged,
) -> IdeaView {
    let chart = |indicator: &str| {
        state
            .settings
            .catalog
            .get(indicator)
            .map_or(indicator.to_string(), |i| i.title.clone())
    };
    IdeaView {
        id: j.idea.idea_id,
        org: current.pseudonyms.label(viewer, &j.idea.org_code),
        mine: viewer.org.as_deref() == Some(j.idea.org_code.as_str()),
        title: j.idea.title.clone(),
        started: j.idea.started.clone(),
        description: j.idea.description.clone(),
        stage: j.idea.stage.map(|s| s.name()),
        stages: j
            .idea
            .stages
            .iter()
            .map(|c| (c.stage.name(), c.since.clone()))
            .collect(),
        tags: j.idea.tags.clone(),
        from_lake: j.idea.source == crate::collab::ideas::Source::Lake,
        judgements: j
            .judgements
            .iter()
            .map(|g| {
                (
                    chart(&g.assessment.indicator),
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
    }
}

fn verdict_words(v: Verdict) -> &'static str {
    match v {
        Verdict::SustainedImprovement => "sustained improvement",
        Verdict::Concern => "concern",
        Verdict::NoSignalYet => "no signal yet",
        Verdict::NoBaseline => "too little data before it",
    }
}

/// `/ideas`: the collaborative's change ideas with what each organisation's charts show
/// since, "what worked" by tag, and for a leader (or an analyst) the form to record one
/// and move their ideas through plan, do, study and act.
pub(crate) async fn page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    access::ideas(&viewer, IdeasAction::Read)?;
    let (current, judged) = tokio::task::spawn_blocking({
        let state = state.clone();
        move || judged(&state)
    })
    .await
    .map_err(internal)??;
    let mut ideas: Vec<IdeaView> = judged
        .iter()
        .map(|j| idea_view(&state, &current, &viewer, j))
        .collect();
    // The viewer's own first; then as recorded.
    ideas.sort_by_key(|i| !i.mine);
    let worked: Vec<_> = crate::ideas::what_worked(&judged)
        .into_iter()
        .map(|w| {
            context! { tag => w.tag, organisations => w.organisations, improved => w.improved,
            ideas => w.ideas.iter().map(|(org, title, verdict)| context! {
                org => current.pseudonyms.label(&viewer, org), title => title,
                verdict => verdict_words(*verdict) }).collect::<Vec<_>>() }
        })
        .collect();
    let records = viewer.role == Role::Analyst || viewer.role.has_org();
    super::pages::render(
        "ideas.html",
        context! {
            title => "Change ideas (PDSA) and what the data say",
            role => format!("{}{}", viewer.role.name(), viewer.org.as_ref().map(|o| format!(" of {o}")).unwrap_or_default()),
            lake_version => current.source.lake_version,
            ideas => ideas,
            worked => worked,
            records => records,
            analyst => viewer.role == Role::Analyst,
            own => viewer.org,
            tags => state.settings.config.ideas.tags,
            home => "/",
        },
    )
}

/// An idea as `viewer` may see it: its organisation by peer code unless theirs; the
/// means and limits behind each judgement only for analysts (a mean over months would
/// let the shown months give away a withheld one).
fn idea_json(current: &Edition, viewer: &Viewer, j: &Judged) -> serde_json::Value {
    let mut v = serde_json::to_value(j).expect("an idea serialises");
    v["org_code"] = json!(current.pseudonyms.label(viewer, &j.idea.org_code));
    if viewer.role != Role::Analyst
        && let Some(list) = v["judgements"].as_array_mut()
    {
        for g in list {
            if let Some(g) = g.as_object_mut() {
                g.remove("baseline_mean");
                g.remove("proposal");
            }
        }
    }
    v
}

#[derive(Debug, Deserialize)]
pub(crate) struct IdeasQuery {
    tag: Option<String>,
    org: Option<String>,
}

fn judged(state: &AppState) -> Result<(Arc<Edition>, Arc<Vec<Judged>>), ApiError> {
    let current = state.current();
    let judged = current.judged()?;
    Ok((current, judged))
}

pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    Query(q): Query<IdeasQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    access::ideas(&viewer, IdeasAction::Read)?;
    let (current, judged) = tokio::task::spawn_blocking({
        let state = state.clone();
        move || judged(&state)
    })
    .await
    .map_err(internal)??;
    // `org` is matched against what the viewer sees (a peer code unless theirs), so
    // filtering by a real code tells them nothing the list does not.
    let ideas: Vec<serde_json::Value> = judged
        .iter()
        .filter(|j| q.tag.as_ref().is_none_or(|t| j.idea.tags.contains(t)))
        .filter(|j| {
            q.org
                .as_ref()
                .is_none_or(|o| current.pseudonyms.label(&viewer, &j.idea.org_code) == *o)
        })
        .map(|j| idea_json(&current, &viewer, j))
        .collect();
    Ok(Json(json!({"lake_version": current.source.lake_version, "ideas": ideas})).into_response())
}

/// "What worked": ideas by tag, how many organisations tried each and how many saw a
/// sustained improvement after it.
pub(crate) async fn worked(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    access::ideas(&viewer, IdeasAction::Read)?;
    let (current, judged) = tokio::task::spawn_blocking({
        let state = state.clone();
        move || judged(&state)
    })
    .await
    .map_err(internal)??;
    let tags: Vec<serde_json::Value> = crate::ideas::what_worked(&judged)
        .into_iter()
        .map(|w| {
            json!({
                "tag": w.tag,
                "organisations": w.organisations,
                "improved": w.improved,
                "ideas": w.ideas.iter().map(|(org, title, verdict)| json!({
                    "org_code": current.pseudonyms.label(&viewer, org),
                    "title": title,
                    "verdict": verdict,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(json!({"lake_version": current.source.lake_version, "tags": tags})).into_response())
}

/// A new idea: `{"org_code", "title", "started", "description", "tags", "stage"}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Recorded {
    org_code: Option<String>,
    title: String,
    started: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    tags: Vec<String>,
    stage: Option<String>,
}

fn stage(name: Option<&str>) -> Result<Stage, ApiError> {
    match name {
        None => Ok(Stage::Plan),
        Some(n) => Stage::parse(n).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "stage must be plan, do, study or act",
            )
        }),
    }
}

fn day(text: &str, field: &str) -> Result<chrono::NaiveDate, ApiError> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("{field} must be a day written YYYY-MM-DD"),
        )
    })
}

pub(crate) async fn record(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Json(r): Json<Recorded>,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    // A leader records for their own organisation without naming it.
    let org = r
        .org_code
        .clone()
        .or_else(|| viewer.org.clone())
        .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "org_code is required"))?;
    access::ideas(&viewer, IdeasAction::Record { org_code: &org })?;
    let started = day(&r.started, "started")?;
    let stage = stage(r.stage.as_deref())?;
    let allowed = state.settings.config.ideas.tags.clone();
    let idea = with_collab(&state, move |c| {
        c.add_idea(
            &NewIdea {
                org_code: &org,
                title: &r.title,
                started,
                description: &r.description,
                tags: &r.tags,
                stage,
            },
            &allowed,
        )
    })
    .await?;
    Ok((StatusCode::CREATED, Json(idea)).into_response())
}

/// A stage change: `{"stage", "on"}` (`on` defaults to today).
#[derive(Debug, Deserialize)]
pub(crate) struct Moved {
    stage: String,
    on: Option<String>,
}

pub(crate) async fn move_stage(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<i64>,
    headers: HeaderMap,
    Json(m): Json<Moved>,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    let stage = stage(Some(&m.stage))?;
    let on = match m.on.as_deref() {
        Some(d) => day(d, "on")?,
        None => chrono::Local::now().date_naive(),
    };
    let idea = with_collab(&state, move |c| {
        let idea = c.idea(id)?;
        // Refused before anything changes.
        access::ideas(
            &viewer,
            IdeasAction::Record {
                org_code: &idea.org_code,
            },
        )?;
        c.set_stage(id, stage, on)
    })
    .await?;
    Ok(Json(idea).into_response())
}
