//! Notes participants post to their breakout group during a learning session.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::{Collab, CollabError};

/// The longest note, in characters.
pub const MAX_NOTE: usize = 2000;

/// What a note is (**contract** names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoteKind {
    /// Something that worked for the organisation.
    Worked,
    Question,
    /// A change idea to try.
    Idea,
}

impl NoteKind {
    pub const ALL: [NoteKind; 3] = [NoteKind::Worked, NoteKind::Question, NoteKind::Idea];

    pub fn name(self) -> &'static str {
        match self {
            NoteKind::Worked => "worked",
            NoteKind::Question => "question",
            NoteKind::Idea => "idea",
        }
    }

    pub fn parse(name: &str) -> Option<NoteKind> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// A stored note. `org_code` is the poster's organisation as stored: every output
/// relabels it for its viewer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    pub note_id: i64,
    pub session_id: i64,
    pub group_id: i64,
    pub org_code: String,
    pub kind: NoteKind,
    pub text: String,
    pub posted_at: String,
    pub answered: bool,
}

/// The note's text as stored, or why it cannot be: empty, or over [`MAX_NOTE`]
/// characters. Line breaks are kept (a note may be a paragraph); other control
/// characters are not.
pub fn checked_text(text: &str) -> Result<String, CollabError> {
    let text = text.trim();
    let n = text.chars().count();
    if n == 0 {
        return Err(CollabError::Invalid("the note is empty".into()));
    }
    if n > MAX_NOTE {
        return Err(CollabError::Invalid(format!(
            "the note has {n} characters; at most {MAX_NOTE} are allowed"
        )));
    }
    Ok(text
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect())
}

fn note(r: &rusqlite::Row) -> rusqlite::Result<Note> {
    Ok(Note {
        note_id: r.get(0)?,
        session_id: r.get(1)?,
        group_id: r.get(2)?,
        org_code: r.get(3)?,
        kind: NoteKind::parse(&r.get::<_, String>(4)?).expect("the schema allows only kinds"),
        text: r.get(5)?,
        posted_at: r.get(6)?,
        answered: r.get(7)?,
    })
}

const COLUMNS: &str = "note_id, session_id, group_id, org_code, kind, text, posted_at, answered";

impl Collab {
    /// Posts a note from `org_code` to a group of a session; the organisation must be
    /// a member of that group.
    pub fn post_note(
        &self,
        session_id: i64,
        group_id: i64,
        org_code: &str,
        kind: NoteKind,
        text: &str,
    ) -> Result<Note, CollabError> {
        let text = checked_text(text)?;
        let member: Option<i64> = self
            .conn
            .query_row(
                "SELECT group_id FROM members WHERE session_id = ?1 AND org_code = ?2",
                params![session_id, org_code],
                |r| r.get(0),
            )
            .optional()?;
        if member != Some(group_id) {
            return Err(CollabError::Invalid(format!(
                "{org_code} is not a member of group {group_id} of session {session_id}"
            )));
        }
        let id = self.conn.query_row(
            "INSERT INTO notes (session_id, group_id, org_code, kind, text, posted_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING note_id",
            params![
                session_id,
                group_id,
                org_code,
                kind.name(),
                text,
                chrono::Utc::now().to_rfc3339()
            ],
            |r| r.get::<_, i64>(0),
        )?;
        self.note(id)
    }

    pub fn note(&self, note_id: i64) -> Result<Note, CollabError> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM notes WHERE note_id = ?1"),
                [note_id],
                note,
            )
            .optional()?
            .ok_or_else(|| CollabError::NotFound(format!("no note {note_id}")))
    }

    /// A group's notes, oldest first.
    pub fn notes(&self, session_id: i64, group_id: i64) -> Result<Vec<Note>, CollabError> {
        let mut q = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM notes WHERE session_id = ?1 AND group_id = ?2 ORDER BY note_id"
        ))?;
        let rows = q.query_map(params![session_id, group_id], note)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Rewrites a note's text (its poster's organisation only: checked by the caller's
    /// access policy).
    pub fn edit_note(&self, note_id: i64, text: &str) -> Result<Note, CollabError> {
        let text = checked_text(text)?;
        let n = self.conn.execute(
            "UPDATE notes SET text = ?1 WHERE note_id = ?2",
            params![text, note_id],
        )?;
        if n == 0 {
            return Err(CollabError::NotFound(format!("no note {note_id}")));
        }
        self.note(note_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collab::NewSession;
    use crate::peers::{Group, Grouping, Member};

    fn session(c: &mut Collab) -> crate::collab::Session {
        let groups = vec![
            Group {
                group: "a".into(),
                members: vec![Member {
                    org_code: "AAA".into(),
                    reason: "r".into(),
                }],
            },
            Group {
                group: "b".into(),
                members: vec![Member {
                    org_code: "BBB".into(),
                    reason: "r".into(),
                }],
            },
        ];
        c.create_session(&NewSession {
            title: "hui",
            date: chrono::NaiveDate::from_ymd_opt(2026, 12, 9).unwrap(),
            grouping: Grouping::Size,
            lake_version: None,
            groups: &groups,
        })
        .unwrap()
    }

    #[test]
    fn notes_are_kept_per_group_in_order_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Collab::open(&dir.path().join("c.sqlite")).unwrap();
        let s = session(&mut c);
        let (a, b) = (s.groups[0].group_id, s.groups[1].group_id);
        let first = c
            .post_note(
                s.session_id,
                a,
                "AAA",
                NoteKind::Worked,
                " Sensory room\tused daily \n",
            )
            .unwrap();
        assert_eq!(first.text, "Sensory roomused daily", "trimmed, tab dropped");
        c.post_note(s.session_id, a, "AAA", NoteKind::Question, "How?\nWho?")
            .unwrap();
        c.post_note(s.session_id, b, "BBB", NoteKind::Idea, "Debriefs")
            .unwrap();
        let texts: Vec<String> = c
            .notes(s.session_id, a)
            .unwrap()
            .into_iter()
            .map(|n| n.text)
            .collect();
        assert_eq!(texts, ["Sensory roomused daily", "How?\nWho?"]);
        let refused = |r: Result<Note, CollabError>| r.unwrap_err().to_string();
        assert_eq!(
            refused(c.post_note(s.session_id, a, "BBB", NoteKind::Idea, "x")),
            format!(
                "BBB is not a member of group {a} of session {}",
                s.session_id
            )
        );
        assert_eq!(
            refused(c.post_note(s.session_id, a, "AAA", NoteKind::Idea, &"é".repeat(2001))),
            "the note has 2001 characters; at most 2000 are allowed"
        );
        assert!(
            c.post_note(s.session_id, a, "AAA", NoteKind::Idea, &"é".repeat(2000))
                .is_ok()
        );
        assert_eq!(
            refused(c.post_note(s.session_id, a, "AAA", NoteKind::Idea, "  ")),
            "the note is empty"
        );
        assert_eq!(c.edit_note(first.note_id, "Edited").unwrap().text, "Edited");
    }
}
