//! Learning sessions: breakout groups made from a peer grouping, members moved between
//! them by the facilitator, and a nominated moderator for each.

use chrono::NaiveDate;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Collab, CollabError};
use crate::peers::{self, Grouping};

/// An organisation in a breakout group, with why it is there (**contract**).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Member {
    pub org_code: String,
    pub reason: String,
}

/// One breakout group (**contract**: `{group_id, name, members, moderator}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionGroup {
    pub group_id: i64,
    pub name: String,
    pub members: Vec<Member>,
    pub moderator: Option<String>,
}

/// A learning session (**contract**: `{session_id, title, date, grouping,
/// lake_version, groups}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    pub session_id: i64,
    pub title: String,
    pub date: String,
    pub grouping: Grouping,
    /// The lake version its charts show, pinned when it was created.
    pub lake_version: Option<i64>,
    pub groups: Vec<SessionGroup>,
}

/// A line of `ako session list`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionSummary {
    pub session_id: i64,
    pub title: String,
    pub date: String,
    pub grouping: Grouping,
    pub lake_version: Option<i64>,
    pub groups: i64,
    pub organisations: i64,
}

/// What a new session is made from.
pub struct NewSession<'a> {
    pub title: &'a str,
    pub date: NaiveDate,
    pub grouping: Grouping,
    pub lake_version: Option<i64>,
    /// The grouping's current peer groups, which become its breakouts.
    pub groups: &'a [peers::Group],
}

/// `text` trimmed, or why it cannot be stored as `what`: empty, longer than `max`
/// characters, or holding control characters (a line break in a title, say).
pub(super) fn checked<'a>(what: &str, text: &'a str, max: usize) -> Result<&'a str, CollabError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(CollabError::Invalid(format!("{what} is empty")));
    }
    let n = text.chars().count();
    if n > max {
        return Err(CollabError::Invalid(format!(
            "{what} has {n} characters; at most {max} are allowed"
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(CollabError::Invalid(format!(
            "{what} holds a control character (a line break or tab)"
        )));
    }
    Ok(text)
}

/// Longest session title, and moderator name.
pub const MAX_TITLE: usize = 200;
pub const MAX_NAME: usize = 100;

impl Collab {
    /// Makes a session whose breakout groups are `new.groups`, in their order.
    pub fn create_session(&mut self, new: &NewSession) -> Result<Session, CollabError> {
        let title = checked("the title", new.title, MAX_TITLE)?;
        if new.groups.iter().all(|g| g.members.is_empty()) {
            return Err(CollabError::Invalid(
                "the lake has no organisations to group: ingest the reference tables first".into(),
            ));
        }
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO sessions (title, date, grouping, lake_version, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                title,
                new.date.format("%Y-%m-%d").to_string(),
                new.grouping.name(),
                new.lake_version,
                chrono::Utc::now().to_rfc3339(),
            ],
        )?;
        let session_id = tx.last_insert_rowid();
        for (position, g) in new.groups.iter().enumerate() {
            tx.execute(
                "INSERT INTO breakout_groups (session_id, name, position) VALUES (?1, ?2, ?3)",
                params![session_id, g.group, position as i64],
            )?;
            let group_id = tx.last_insert_rowid();
            for m in &g.members {
                tx.execute(
                    "INSERT INTO members (session_id, org_code, group_id, reason) \
                     VALUES (?1, ?2, ?3, ?4)",
                    params![session_id, m.org_code, group_id, m.reason],
                )?;
            }
        }
        tx.commit()?;
        self.session(session_id)
    }

    /// The session with its groups, members and moderators.
    pub fn session(&self, session_id: i64) -> Result<Session, CollabError> {
        let head = self
            .conn
            .query_row(
                "SELECT title, date, grouping, lake_version FROM sessions WHERE session_id = ?1",
                [session_id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                    ))
                },
            )
            .optional()?
            .ok_or_else(|| CollabError::NotFound(format!("no session {session_id}")))?;
        let mut groups: Vec<SessionGroup> = self
            .conn
            .prepare(
                "SELECT group_id, name, moderator FROM breakout_groups \
                 WHERE session_id = ?1 ORDER BY position",
            )?
            .query_map([session_id], |r| {
                Ok(SessionGroup {
                    group_id: r.get(0)?,
                    name: r.get(1)?,
                    members: Vec::new(),
                    moderator: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut members = self.conn.prepare(
            "SELECT group_id, org_code, reason FROM members WHERE session_id = ?1 \
             ORDER BY org_code",
        )?;
        let rows = members.query_map([session_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                Member {
                    org_code: r.get(1)?,
                    reason: r.get(2)?,
                },
            ))
        })?;
        for row in rows {
            let (group_id, member) = row?;
            if let Some(g) = groups.iter_mut().find(|g| g.group_id == group_id) {
                g.members.push(member);
            }
        }
        Ok(Session {
            session_id,
            title: head.0,
            date: head.1,
            grouping: Grouping::parse(&head.2).expect("the schema allows only groupings"),
            lake_version: head.3,
            groups,
        })
    }

    /// Every session, newest date first.
    pub fn sessions(&self) -> Result<Vec<SessionSummary>, CollabError> {
        let mut q = self.conn.prepare(
            "SELECT s.session_id, s.title, s.date, s.grouping, s.lake_version, \
                    (SELECT count(*) FROM breakout_groups g WHERE g.session_id = s.session_id), \
                    (SELECT count(*) FROM members m WHERE m.session_id = s.session_id) \
             FROM sessions s ORDER BY s.date DESC, s.session_id DESC",
        )?;
        let rows = q.query_map([], |r| {
            Ok(SessionSummary {
                session_id: r.get(0)?,
                title: r.get(1)?,
                date: r.get(2)?,
                grouping: Grouping::parse(&r.get::<_, String>(3)?)
                    .expect("the schema allows only groupings"),
                lake_version: r.get(4)?,
                groups: r.get(5)?,
                organisations: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The group of `session_id` that `group` names: its id, or its name.
    fn find_group(&self, session_id: i64, group: &str) -> Result<(i64, String), CollabError> {
        self.session(session_id)?;
        let by_id = group.parse::<i64>().ok();
        self.conn
            .query_row(
                "SELECT group_id, name FROM breakout_groups \
                 WHERE session_id = ?1 AND (group_id = ?2 OR name = ?3)",
                params![session_id, by_id, group],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| {
                CollabError::NotFound(format!(
                    "session {session_id} has no group `{group}` (give its group_id or name, as `ako session show` lists them)"
                ))
            })
    }

    /// Moves `org_code` to the group `to` (its id or name); the reason says the
    /// facilitator moved it and from where.
    pub fn move_member(
        &mut self,
        session_id: i64,
        org_code: &str,
        to: &str,
    ) -> Result<Session, CollabError> {
        let (to_id, to_name) = self.find_group(session_id, to)?;
        let from: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT g.group_id, g.name FROM members m \
                 JOIN breakout_groups g ON g.group_id = m.group_id \
                 WHERE m.session_id = ?1 AND m.org_code = ?2",
                params![session_id, org_code],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((from_id, from_name)) = from else {
            return Err(CollabError::NotFound(format!(
                "{org_code} is not in session {session_id}"
            )));
        };
        if from_id == to_id {
            return Err(CollabError::Invalid(format!(
                "{org_code} is already in {to_name}"
            )));
        }
        self.conn.execute(
            "UPDATE members SET group_id = ?1, reason = ?2 WHERE session_id = ?3 AND org_code = ?4",
            params![
                to_id,
                format!("moved by the facilitator (was in {from_name})"),
                session_id,
                org_code
            ],
        )?;
        self.session(session_id)
    }

    /// Nominates `name` to moderate `group` (its id or name), replacing any other.
    pub fn set_moderator(
        &mut self,
        session_id: i64,
        group: &str,
        name: &str,
    ) -> Result<Session, CollabError> {
        let name = checked("the moderator's name", name, MAX_NAME)?;
        let (group_id, _) = self.find_group(session_id, group)?;
        self.conn.execute(
            "UPDATE breakout_groups SET moderator = ?1 WHERE group_id = ?2",
            params![name, group_id],
        )?;
        self.session(session_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peers::{Group, Member as PeerMember};

    fn groups() -> Vec<Group> {
        let g = |name: &str, orgs: &[&str]| Group {
            group: name.into(),
            members: orgs
                .iter()
                .map(|o| PeerMember {
                    org_code: (*o).into(),
                    reason: format!("{o} reason"),
                })
                .collect(),
        };
        vec![g("small", &["AAA", "BBB"]), g("large", &["CCC"])]
    }

    fn collab() -> (tempfile::TempDir, Collab) {
        let dir = tempfile::tempdir().unwrap();
        let c = Collab::open(&dir.path().join("c.sqlite")).unwrap();
        (dir, c)
    }

    fn new<'a>(title: &'a str, groups: &'a [Group]) -> NewSession<'a> {
        NewSession {
            title,
            date: NaiveDate::from_ymd_opt(2026, 12, 9).unwrap(),
            grouping: Grouping::Size,
            lake_version: Some(7),
            groups,
        }
    }

    #[test]
    fn a_session_keeps_its_groups_in_order_with_members_and_reasons() {
        let (_d, mut c) = collab();
        let g = groups();
        let s = c.create_session(&new("  December hui ", &g)).unwrap();
        assert_eq!(s.title, "December hui");
        assert_eq!(s.date, "2026-12-09");
        assert_eq!(s.lake_version, Some(7));
        let names: Vec<&str> = s.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["small", "large"]);
        assert_eq!(
            s.groups[0].members,
            [
                Member {
                    org_code: "AAA".into(),
                    reason: "AAA reason".into()
                },
                Member {
                    org_code: "BBB".into(),
                    reason: "BBB reason".into()
                }
            ]
        );
        assert_eq!(s.groups[1].moderator, None);
        assert_eq!(c.session(s.session_id).unwrap(), s);
    }

    #[test]
    fn moving_and_moderating_by_id_or_name() {
        let (_d, mut c) = collab();
        let g = groups();
        let s = c.create_session(&new("hui", &g)).unwrap();
        let large = s.groups[1].group_id;
        let moved = c
            .move_member(s.session_id, "BBB", &large.to_string())
            .unwrap();
        assert_eq!(
            moved.groups[1].members,
            [
                Member {
                    org_code: "BBB".into(),
                    reason: "moved by the facilitator (was in small)".into()
                },
                Member {
                    org_code: "CCC".into(),
                    reason: "CCC reason".into()
                }
            ]
        );
        assert_eq!(moved.groups[0].members.len(), 1);
        let m = c.set_moderator(s.session_id, "small", "Aroha").unwrap();
        assert_eq!(m.groups[0].moderator.as_deref(), Some("Aroha"));
        assert_eq!(m.groups[1].moderator, None);
    }

    #[test]
    fn what_cannot_be_stored_is_refused_with_its_reason() {
        let (_d, mut c) = collab();
        let g = groups();
        let s = c.create_session(&new("hui", &g)).unwrap();
        let other = c.create_session(&new("another", &g)).unwrap();
        let refusal = |r: Result<Session, CollabError>| r.unwrap_err().to_string();
        assert_eq!(
            refusal(c.create_session(&new(" ", &g))),
            "the title is empty"
        );
        assert_eq!(
            refusal(c.create_session(&new(&"x".repeat(201), &g))),
            "the title has 201 characters; at most 200 are allowed"
        );
        assert_eq!(
            refusal(c.create_session(&new("two\nlines", &g))),
            "the title holds a control character (a line break or tab)"
        );
        assert_eq!(
            refusal(c.move_member(s.session_id, "ZZZ", "large")),
            format!("ZZZ is not in session {}", s.session_id)
        );
        assert_eq!(
            refusal(c.move_member(s.session_id, "AAA", "small")),
            "AAA is already in small"
        );
        // A group of another session is not this session's, by id or by name.
        let foreign = other.groups[1].group_id.to_string();
        assert!(refusal(c.move_member(s.session_id, "AAA", &foreign)).contains("has no group"));
        assert_eq!(refusal(c.session(999)), "no session 999");
        assert_eq!(
            refusal(c.set_moderator(s.session_id, "small", "")),
            "the moderator's name is empty"
        );
        // Nothing refused was half-written.
        assert_eq!(c.sessions().unwrap().len(), 2);
        assert_eq!(c.session(s.session_id).unwrap().groups[0].members.len(), 2);
    }

    #[test]
    fn sessions_are_listed_newest_first_with_their_sizes() {
        let (_d, mut c) = collab();
        let g = groups();
        let mut early = new("early", &g);
        early.date = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        c.create_session(&early).unwrap();
        c.create_session(&new("late", &g)).unwrap();
        let list = c.sessions().unwrap();
        let titles: Vec<&str> = list.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(titles, ["late", "early"]);
        assert_eq!((list[0].groups, list[0].organisations), (2, 3));
    }

    #[test]
    fn a_backup_is_a_whole_copy() {
        let (d, mut c) = collab();
        let g = groups();
        let s = c.create_session(&new("hui", &g)).unwrap();
        let to = d.path().join("copies/backup.sqlite");
        c.backup(&to).unwrap();
        let copy = Collab::open(&to).unwrap();
        assert_eq!(copy.session(s.session_id).unwrap(), s);
    }
}
