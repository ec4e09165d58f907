//! Who may do what with a learning session's breakout groups: the policy, in the library
//! so that every route, page and export asks the same question.

use crate::privacy::{Role, Scope, Viewer};

/// What a viewer asks to do with one group's notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotesAction<'a> {
    Read,
    Post,
    /// Change a note posted by `org_code`.
    Edit {
        org_code: &'a str,
    },
}

/// A refusal, with the reason the viewer is shown (always a 403: the request is
/// understood, and not theirs to make).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

/// Whether `viewer` may run learning sessions: make them, move organisations between
/// their breakout groups and nominate moderators. The programme's facilitators do, and
/// analysts; nobody else.
pub fn run_sessions(viewer: &Viewer) -> Result<(), Denied> {
    if matches!(viewer.role, Role::Facilitator | Role::Analyst) {
        Ok(())
    } else {
        Err(Denied(
            "learning sessions are run by the programme's facilitators".into(),
        ))
    }
}

/// What a viewer asks to do with change ideas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdeasAction<'a> {
    /// Read every organisation's ideas (others' by peer code) and "what worked".
    Read,
    /// Record or move on an idea of `org_code`.
    Record { org_code: &'a str },
}

/// Whether `viewer` may take `action` on change ideas. Ideas are the collaborative's
/// shared learning: everyone signed in reads them (each organisation other than the
/// viewer's by peer code); the public does not. An organisation's leader (or its
/// participant in a session) records its ideas; an analyst records any organisation's.
pub fn ideas(viewer: &Viewer, action: IdeasAction) -> Result<(), Denied> {
    let allowed = match action {
        IdeasAction::Read => viewer.role != Role::Public,
        IdeasAction::Record { org_code } => {
            viewer.role == Role::Analyst
                || (viewer.role.has_org() && viewer.org.as_deref() == Some(org_code))
        }
    };
    if allowed {
        return Ok(());
    }
    Err(Denied(
        match action {
            IdeasAction::Read => "change ideas are for the collaborative's members: sign in",
            IdeasAction::Record { .. } => {
                "an organisation's change ideas are recorded by its own leaders (or an analyst)"
            }
        }
        .into(),
    ))
}

fn in_scope(viewer: &Viewer, session: i64, group: i64) -> bool {
    viewer.scope == Some(Scope { session, group })
}

/// Whether `viewer` may take `action` on the notes of `group` of `session`. A group's
/// notes are read by its moderator and participants, and by the programme's facilitator
/// and analysts; never by another group, a leader outside the session, an advisor
/// (who reads published summaries) or the public. Only the group's participants post,
/// and each edits only their own organisation's notes.
pub fn notes(viewer: &Viewer, session: i64, group: i64, action: NotesAction) -> Result<(), Denied> {
    let scoped = in_scope(viewer, session, group);
    if viewer.role.is_scoped() && !scoped {
        return Err(Denied(
            "this sign-in is for another breakout group or session".into(),
        ));
    }
    let allowed = match action {
        NotesAction::Read => scoped || matches!(viewer.role, Role::Analyst | Role::Facilitator),
        NotesAction::Post => scoped && viewer.role == Role::Participant,
        NotesAction::Edit { org_code } => {
            scoped && viewer.role == Role::Participant && viewer.org.as_deref() == Some(org_code)
        }
    };
    if allowed {
        return Ok(());
    }
    Err(Denied(
        match action {
            NotesAction::Read => {
                "a group's notes are for its moderator and participants and the session's facilitator"
            }
            NotesAction::Post => "only the group's participants post notes",
            NotesAction::Edit { .. } => "a note is edited only by its own organisation",
        }
        .into(),
    ))
}

/// What a viewer asks to do with one group's summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryAction {
    /// Condense notes into items, mark questions answered, publish: the moderator's.
    Moderate,
    /// Read it as published.
    ReadPublished,
    /// Read the draft too.
    ReadDraft,
}

/// Whether `viewer` may take `action` on the summary of `group` of `session`. The
/// group's moderator writes it; its draft is read by the moderator, the group's
/// participants, facilitators and analysts; once published, advisors read every
/// session's too.
pub fn summary(
    viewer: &Viewer,
    session: i64,
    group: i64,
    action: SummaryAction,
) -> Result<(), Denied> {
    let scoped = in_scope(viewer, session, group);
    if viewer.role.is_scoped() && !scoped {
        return Err(Denied(
            "this sign-in is for another breakout group or session".into(),
        ));
    }
    let staff = matches!(viewer.role, Role::Analyst | Role::Facilitator);
    let allowed = match action {
        SummaryAction::Moderate => scoped && viewer.role == Role::Moderator,
        SummaryAction::ReadDraft => scoped || staff,
        SummaryAction::ReadPublished => scoped || staff || viewer.role == Role::Advisor,
    };
    if allowed {
        return Ok(());
    }
    Err(Denied(
        match action {
            SummaryAction::Moderate => {
                "only the group's moderator condenses and publishes its summary"
            }
            _ => "a group's summary is for its session, the facilitators and the advisory groups",
        }
        .into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scoped(role: Role, org: Option<&str>, session: i64, group: i64) -> Viewer {
        Viewer {
            role,
            org: org.map(String::from),
            scope: Some(Scope { session, group }),
        }
    }

    #[test]
    fn the_role_matrix_for_one_groups_notes() {
        let unscoped = |role| Viewer {
            role,
            org: (role == Role::Leader).then(|| "CMH".to_string()),
            scope: None,
        };
        let viewers = [
            ("analyst", unscoped(Role::Analyst)),
            ("facilitator", unscoped(Role::Facilitator)),
            ("leader", unscoped(Role::Leader)),
            ("public", unscoped(Role::Public)),
            ("advisor", unscoped(Role::Advisor)),
            ("moderator", scoped(Role::Moderator, None, 1, 10)),
            (
                "moderator of another group",
                scoped(Role::Moderator, None, 1, 11),
            ),
            (
                "moderator of another session",
                scoped(Role::Moderator, None, 2, 10),
            ),
            ("participant", scoped(Role::Participant, Some("CMH"), 1, 10)),
            (
                "participant of another group",
                scoped(Role::Participant, Some("CMH"), 1, 11),
            ),
        ];
        // (read, post, edit CMH's note, edit AKL's note)
        let expected = [
            (true, false, false, false),
            (true, false, false, false),
            (false, false, false, false),
            (false, false, false, false),
            (false, false, false, false),
            (true, false, false, false),
            (false, false, false, false),
            (false, false, false, false),
            (true, true, true, false),
            (false, false, false, false),
        ];
        for ((name, v), want) in viewers.iter().zip(expected) {
            let may = |a| notes(v, 1, 10, a).is_ok();
            let got = (
                may(NotesAction::Read),
                may(NotesAction::Post),
                may(NotesAction::Edit { org_code: "CMH" }),
                may(NotesAction::Edit { org_code: "AKL" }),
            );
            assert_eq!(got, want, "{name}");
        }
        assert_eq!(
            notes(&viewers[6].1, 1, 10, NotesAction::Read)
                .unwrap_err()
                .0,
            "this sign-in is for another breakout group or session"
        );
    }
}
