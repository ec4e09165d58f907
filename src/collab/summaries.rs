//! A moderator's summary of their breakout group: notes condensed into ordered items,
//! questions marked answered, and the whole published for the facilitator's report.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::notes::{Note, NoteKind};
use super::sessions::checked;
use super::{Collab, CollabError};

/// Longest heading, tag, and most tags an item takes.
pub const MAX_HEADING: usize = 200;
pub const MAX_TAG: usize = 50;
pub const MAX_TAGS: usize = 10;

/// One item of a summary (**contract**: `{item_id, heading, tags, notes}`, `notes`
/// being the ids of the notes it condenses).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryItem {
    pub item_id: i64,
    pub heading: String,
    pub tags: Vec<String>,
    pub notes: Vec<i64>,
}

/// A group's summary as it stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupSummary {
    pub group_id: i64,
    pub name: String,
    pub moderator: Option<String>,
    /// When the moderator published it; `None` while it is a draft.
    pub published_at: Option<String>,
    pub items: Vec<SummaryItem>,
    pub questions: usize,
    pub answered: usize,
}

impl Collab {
    /// The notes of `group` with these ids, or why not: each must be one of the group's.
    fn group_notes(&self, session: i64, group: i64, ids: &[i64]) -> Result<Vec<Note>, CollabError> {
        let mut out = Vec::new();
        for &id in ids {
            match self.note(id) {
                Ok(n) if n.session_id == session && n.group_id == group => out.push(n),
                _ => {
                    return Err(CollabError::Invalid(format!(
                        "note {id} is not one of this group's notes"
                    )));
                }
            }
        }
        Ok(out)
    }

    /// Condenses `notes` into a new item at the end of the group's summary.
    pub fn add_summary_item(
        &mut self,
        session: i64,
        group: i64,
        heading: &str,
        tags: &[String],
        notes: &[i64],
    ) -> Result<SummaryItem, CollabError> {
        let heading = checked("the heading", heading, MAX_HEADING)?.to_string();
        if tags.len() > MAX_TAGS {
            return Err(CollabError::Invalid(format!(
                "{} tags; at most {MAX_TAGS} are allowed",
                tags.len()
            )));
        }
        let tags = tags
            .iter()
            .map(|t| checked("a tag", t, MAX_TAG).map(str::to_string))
            .collect::<Result<Vec<_>, _>>()?;
        if notes.is_empty() {
            return Err(CollabError::Invalid(
                "an item condenses at least one note".into(),
            ));
        }
        self.group_notes(session, group, notes)?;
        let tx = self.conn.transaction()?;
        let id: i64 = tx.query_row(
            "INSERT INTO summary_items (session_id, group_id, heading, tags, position) \
             VALUES (?1, ?2, ?3, ?4, (SELECT coalesce(max(position), 0) + 1 FROM summary_items WHERE group_id = ?2)) \
             RETURNING item_id",
            params![
                session,
                group,
                heading,
                serde_json::to_string(&tags).expect("strings serialise")
            ],
            |r| r.get(0),
        )?;
        for n in notes {
            tx.execute(
                "INSERT OR IGNORE INTO summary_item_notes (item_id, note_id) VALUES (?1, ?2)",
                params![id, n],
            )?;
        }
        tx.commit()?;
        let mut sorted = notes.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        Ok(SummaryItem {
            item_id: id,
            heading,
            tags,
            notes: sorted,
        })
    }

    /// Marks one of the group's questions answered.
    pub fn set_answered(
        &self,
        session: i64,
        group: i64,
        note_id: i64,
    ) -> Result<Note, CollabError> {
        let note = self.group_notes(session, group, &[note_id])?.remove(0);
        if note.kind != NoteKind::Question {
            return Err(CollabError::Invalid(format!(
                "note {note_id} is not a question"
            )));
        }
        self.conn.execute(
            "UPDATE notes SET answered = 1 WHERE note_id = ?1",
            [note_id],
        )?;
        self.note(note_id)
    }

    /// Publishes the group's summary (again, if it changed since).
    pub fn publish_summary(&self, session: i64, group: i64) -> Result<GroupSummary, CollabError> {
        let draft = self.group_summary(session, group)?;
        if draft.items.is_empty() {
            return Err(CollabError::Invalid(
                "nothing to publish: condense notes into summary items first".into(),
            ));
        }
        self.conn.execute(
            "INSERT INTO published_summaries (group_id, published_at) VALUES (?1, ?2) \
             ON CONFLICT (group_id) DO UPDATE SET published_at = excluded.published_at",
            params![group, chrono::Utc::now().to_rfc3339()],
        )?;
        self.group_summary(session, group)
    }

    /// The group's summary, draft or published.
    pub fn group_summary(&self, session: i64, group: i64) -> Result<GroupSummary, CollabError> {
        let s = self.session(session)?;
        let g = s
            .groups
            .iter()
            .find(|g| g.group_id == group)
            .ok_or_else(|| {
                CollabError::NotFound(format!("session {session} has no group {group}"))
            })?;
        let published_at: Option<String> = self
            .conn
            .query_row(
                "SELECT published_at FROM published_summaries WHERE group_id = ?1",
                [group],
                |r| r.get(0),
            )
            .optional()?;
        let mut q = self.conn.prepare(
            "SELECT i.item_id, i.heading, i.tags, \
                    (SELECT json_group_array(note_id) FROM \
                        (SELECT note_id FROM summary_item_notes n WHERE n.item_id = i.item_id ORDER BY note_id)) \
             FROM summary_items i WHERE i.group_id = ?1 ORDER BY i.position",
        )?;
        let items = q
            .query_map([group], |r| {
                let tags: String = r.get(2)?;
                let notes: String = r.get(3)?;
                Ok(SummaryItem {
                    item_id: r.get(0)?,
                    heading: r.get(1)?,
                    tags: serde_json::from_str(&tags).unwrap_or_default(),
                    notes: serde_json::from_str(&notes).unwrap_or_default(),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let (questions, answered): (i64, i64) = self.conn.query_row(
            "SELECT count(*), coalesce(sum(answered), 0) FROM notes WHERE group_id = ?1 AND kind = 'question'",
            [group],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(GroupSummary {
            group_id: group,
            name: g.name.clone(),
            moderator: g.moderator.clone(),
            published_at,
            items,
            questions: questions as usize,
            answered: answered as usize,
        })
    }

    /// Every group's summary of the session, in the groups' order.
    pub fn session_summary(&self, session: i64) -> Result<Vec<GroupSummary>, CollabError> {
        self.session(session)?
            .groups
            .iter()
            .map(|g| self.group_summary(session, g.group_id))
            .collect()
    }
}

/// A chart of a group's pack, for a report to point to (the same charts for every
/// group, each drawn for its own group).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChartRef {
    /// Its page of the pack's PDF.
    pub page: usize,
    pub title: String,
    /// The stem of its SVG, PNG and CSV in the group's pack folder.
    pub file: String,
}

/// The session's summaries as Markdown, for the facilitator's report, each group's with
/// the charts of its pack that the breakout looked at.
pub fn markdown(session: &super::Session, groups: &[GroupSummary], charts: &[ChartRef]) -> String {
    let mut md = format!(
        "# {}, {}\n\nBreakout groups by {}; charts from lake version {}.\n",
        session.title,
        session.date,
        session.grouping.name(),
        session
            .lake_version
            .map_or("none".into(), |v| v.to_string())
    );
    for g in groups {
        md.push_str(&format!("\n## {}\n\n", g.name));
        md.push_str(&format!(
            "Moderator: {}. {}. Questions answered: {} of {}.\n\n",
            g.moderator.as_deref().unwrap_or("not nominated"),
            g.published_at
                .as_deref()
                .map_or("Not yet published".to_string(), |p| format!(
                    "Published {p}"
                )),
            g.answered,
            g.questions
        ));
        if g.items.is_empty() {
            md.push_str("No summary items yet.\n");
        }
        for (i, item) in g.items.iter().enumerate() {
            let tags = if item.tags.is_empty() {
                String::new()
            } else {
                format!(" [{}]", item.tags.join(", "))
            };
            let notes: Vec<String> = item.notes.iter().map(|n| n.to_string()).collect();
            md.push_str(&format!(
                "{}. {}{tags} (notes {})\n",
                i + 1,
                item.heading,
                notes.join(", ")
            ));
        }
        if !charts.is_empty() {
            md.push_str(&format!(
                "\nCharts, in the group's pack (`/sessions/{}/groups/{}/pack.pdf`, or `ako session pack {} --group {}`):\n\n",
                session.session_id, g.group_id, session.session_id, g.group_id
            ));
            for c in charts {
                md.push_str(&format!(
                    "- page {}: {} (`{}.svg`, `.png`, `.csv`)\n",
                    c.page, c.title, c.file
                ));
            }
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collab::NewSession;
    use crate::peers::{Group, Grouping, Member};

    #[test]
    fn a_moderator_condenses_answers_and_publishes() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Collab::open(&dir.path().join("c.sqlite")).unwrap();
        let groups: Vec<Group> = ["a", "b"]
            .iter()
            .map(|name| Group {
                group: (*name).into(),
                members: vec![Member {
                    org_code: format!("{}{}{}", name, name, name).to_uppercase(),
                    reason: "r".into(),
                }],
            })
            .collect();
        let s = c
            .create_session(&NewSession {
                title: "Hui",
                date: chrono::NaiveDate::from_ymd_opt(2026, 12, 9).unwrap(),
                grouping: Grouping::Size,
                lake_version: Some(4),
                groups: &groups,
            })
            .unwrap();
        let (a, b) = (s.groups[0].group_id, s.groups[1].group_id);
        let worked = c
            .post_note(s.session_id, a, "AAA", NoteKind::Worked, "debriefs")
            .unwrap();
        let asked = c
            .post_note(s.session_id, a, "AAA", NoteKind::Question, "how?")
            .unwrap();
        let other = c
            .post_note(s.session_id, b, "BBB", NoteKind::Idea, "x")
            .unwrap();
        let refused = |e: CollabError| e.to_string();
        assert_eq!(
            refused(c.publish_summary(s.session_id, a).unwrap_err()),
            "nothing to publish: condense notes into summary items first"
        );
        assert_eq!(
            refused(
                c.add_summary_item(s.session_id, a, "Debriefs", &[], &[other.note_id])
                    .unwrap_err()
            ),
            format!("note {} is not one of this group's notes", other.note_id)
        );
        assert_eq!(
            refused(c.set_answered(s.session_id, a, worked.note_id).unwrap_err()),
            format!("note {} is not a question", worked.note_id)
        );
        let item = c
            .add_summary_item(
                s.session_id,
                a,
                "Debriefs after every seclusion",
                &["debriefing".to_string()],
                &[asked.note_id, worked.note_id],
            )
            .unwrap();
        assert_eq!(item.notes, [worked.note_id, asked.note_id]);
        assert!(
            c.set_answered(s.session_id, a, asked.note_id)
                .unwrap()
                .answered
        );
        let published = c.publish_summary(s.session_id, a).unwrap();
        assert!(published.published_at.is_some());
        assert_eq!(published.items, [item]);
        assert_eq!((published.questions, published.answered), (1, 1));
        let all = c.session_summary(s.session_id).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].published_at, None);
        let charts = [ChartRef {
            page: 2,
            title: "Members".into(),
            file: "01-peer-group-members".into(),
        }];
        let md = markdown(&s, &all, &charts);
        assert!(
            md.contains(&format!(
                "Charts, in the group's pack (`/sessions/{0}/groups/{1}/pack.pdf`, or `ako session pack {0} --group {1}`):\n\n- page 2: Members (`01-peer-group-members.svg`, `.png`, `.csv`)\n",
                s.session_id, a
            )),
            "{md}"
        );
        assert!(
            md.starts_with(
                "# Hui, 2026-12-09\n\nBreakout groups by size; charts from lake version 4.\n"
            ),
            "{md}"
        );
        assert!(
            md.contains(&format!(
                "1. Debriefs after every seclusion [debriefing] (notes {}, {})\n",
                worked.note_id, asked.note_id
            )),
            "{md}"
        );
        assert!(md.contains("Questions answered: 1 of 1."), "{md}");
        assert!(
            md.contains("## b\n\nModerator: not nominated. Not yet published."),
            "{md}"
        );
    }
}
