//! Learning-session routes: a breakout group's notes. Who may read or post is the
//! library's policy (`collab::access`); the collaborative database is SQLite, so its
//! calls run on the blocking pool, never on a runtime worker.

use axum::Json;
use serde::Deserialize;

use super::*;
use crate::collab::access::{self, NotesAction, SummaryAction};
use crate::collab::notes::{Note, NoteKind};
use crate::collab::{Collab, CollabError};

impl From<CollabError> for ApiError {
    fn from(e: CollabError) -> ApiError {
        match e {
            CollabError::Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, m),
            CollabError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, m),
            CollabError::Denied(m) => ApiError::new(StatusCode::FORBIDDEN, m),
            other => internal(other),
        }
    }
}

impl From<access::Denied> for ApiError {
    fn from(e: access::Denied) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, e.0)
    }
}

/// Runs `work` on the collaborative database, on the blocking pool.
pub(super) async fn with_collab<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&mut Collab) -> Result<T, CollabError> + Send + 'static,
) -> Result<T, ApiError> {
    let path = state.collab_path.clone();
    tokio::task::spawn_blocking(move || work(&mut Collab::open(&path)?))
        .await
        .map_err(internal)?
        .map_err(ApiError::from)
}

/// A note as `viewer` may see it: its organisation by peer code unless theirs.
fn note_json(current: &Edition, viewer: &Viewer, n: &Note) -> serde_json::Value {
    json!({
        "note_id": n.note_id,
        "org": current.pseudonyms.label(viewer, &n.org_code),
        "kind": n.kind,
        "text": n.text,
        "posted_at": n.posted_at,
        "answered": n.answered,
    })
}

/// The group exists in the session (after the policy has spoken, so a scoped viewer
/// learns nothing of other sessions' groups).
fn group_of(c: &Collab, session: i64, group: i64) -> Result<(), CollabError> {
    if c.session(session)?
        .groups
        .iter()
        .any(|g| g.group_id == group)
    {
        Ok(())
    } else {
        Err(CollabError::NotFound(format!(
            "session {session} has no group {group}"
        )))
    }
}

pub(crate) async fn list_notes(
    State(state): State<Arc<AppState>>,
    UrlPath((session, group)): UrlPath<(i64, i64)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    access::notes(&viewer, session, group, NotesAction::Read)?;
    let notes = with_collab(&state, move |c| {
        group_of(c, session, group)?;
        c.notes(session, group)
    })
    .await?;
    let current = state.current();
    let notes: Vec<_> = notes
        .iter()
        .map(|n| note_json(&current, &viewer, n))
        .collect();
    Ok(Json(json!({"session_id": session, "group_id": group, "notes": notes})).into_response())
}

/// A note as posted: `{"kind": "worked"|"question"|"idea", "text": "…"}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Posted {
    kind: String,
    text: String,
}

pub(crate) async fn post_note(
    State(state): State<Arc<AppState>>,
    UrlPath((session, group)): UrlPath<(i64, i64)>,
    headers: HeaderMap,
    Json(posted): Json<Posted>,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    access::notes(&viewer, session, group, NotesAction::Post)?;
    let kind = NoteKind::parse(&posted.kind).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "kind must be worked, question or idea",
        )
    })?;
    let org = viewer
        .org
        .clone()
        .ok_or_else(|| internal("a participant without an organisation"))?;
    let note = with_collab(&state, move |c| {
        c.post_note(session, group, &org, kind, &posted.text)
    })
    .await?;
    let body = note_json(&state.current(), &viewer, &note);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// A note's new text: `{"text": "…"}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Edited {
    text: String,
}

/// `PATCH …/notes/N`: its own organisation's participant rewrites a note. The note must
/// be one of this group's, so a path naming another group's note is a 404 after the
/// policy has refused what the viewer may not reach.
pub(crate) async fn edit_note(
    State(state): State<Arc<AppState>>,
    UrlPath((session, group, note)): UrlPath<(i64, i64, i64)>,
    headers: HeaderMap,
    Json(edited): Json<Edited>,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    access::notes(&viewer, session, group, NotesAction::Read)?;
    let checked = viewer.clone();
    let n = with_collab(&state, move |c| {
        let n = c.note(note)?;
        if n.session_id != session || n.group_id != group {
            return Err(CollabError::NotFound(format!(
                "group {group} of session {session} has no note {note}"
            )));
        }
        access::notes(
            &checked,
            session,
            group,
            NotesAction::Edit {
                org_code: &n.org_code,
            },
        )
        .map_err(|d| CollabError::Denied(d.0))?;
        c.edit_note(note, &edited.text)
    })
    .await?;
    Ok(Json(note_json(&state.current(), &viewer, &n)).into_response())
}

/// A summary item as the moderator makes it: `{"heading", "tags": [...], "notes": [ids]}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Condensed {
    heading: String,
    #[serde(default)]
    tags: Vec<String>,
    notes: Vec<i64>,
}

pub(crate) async fn add_summary_item(
    State(state): State<Arc<AppState>>,
    UrlPath((session, group)): UrlPath<(i64, i64)>,
    headers: HeaderMap,
    Json(item): Json<Condensed>,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    access::summary(&viewer, session, group, SummaryAction::Moderate)?;
    let made = with_collab(&state, move |c| {
        c.add_summary_item(session, group, &item.heading, &item.tags, &item.notes)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(made)).into_response())
}

pub(crate) async fn mark_answered(
    State(state): State<Arc<AppState>>,
    UrlPath((session, group, note)): UrlPath<(i64, i64, i64)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    access::summary(&viewer, session, group, SummaryAction::Moderate)?;
    let n = with_collab(&state, move |c| c.set_answered(session, group, note)).await?;
    Ok(Json(note_json(&state.current(), &viewer, &n)).into_response())
}

pub(crate) async fn publish_summary(
    State(state): State<Arc<AppState>>,
    UrlPath((session, group)): UrlPath<(i64, i64)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    access::summary(&viewer, session, group, SummaryAction::Moderate)?;
    let s = with_collab(&state, move |c| c.publish_summary(session, group)).await?;
    Ok(Json(s).into_response())
}

/// The group's summary: its draft for those who may read drafts, else only once
/// published.
pub(crate) async fn group_summary(
    State(state): State<Arc<AppState>>,
    UrlPath((session, group)): UrlPath<(i64, i64)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers)?;
    access::summary(&viewer, session, group, SummaryAction::ReadPublished)?;
    let draft_allowed = access::summary(&viewer, session, group, SummaryAction::ReadDraft).is_ok();
    let s = with_collab(&state, move |c| c.group_summary(session, group)).await?;
    if s.published_at.is_none() && !draft_allowed {
        return Err(ApiError::not_found("published summary for this group yet"));
    }
    Ok(Json(s).into_response())
}
