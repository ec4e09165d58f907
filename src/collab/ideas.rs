//! Organisations' PDSA change ideas (plan, do, study, act) as the collaborative records
//! them, and analysts' decisions on the rebases ako proposes after them. What the data
//! say about an idea is worked out from the lake (`crate::ideas`), never stored here.

use chrono::NaiveDate;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::{Collab, CollabError};
use crate::model::ChangeIdea;

/// The longest title and description, in characters.
pub const MAX_TITLE: usize = 200;
pub const MAX_DESCRIPTION: usize = 2000;

/// A PDSA stage (**contract** names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Plan,
    Do,
    Study,
    Act,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Stage::Plan, Stage::Do, Stage::Study, Stage::Act];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Plan => "plan",
            Stage::Do => "do",
            Stage::Study => "study",
            Stage::Act => "act",
        }
    }

    pub fn parse(name: &str) -> Option<Stage> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// Where an idea was recorded: in ako, or in the lake's `change_ideas` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Ako,
    Lake,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageChange {
    pub stage: Stage,
    /// `YYYY-MM-DD`.
    pub since: String,
}

/// One change idea. `idea_id` is `None` for a row of the lake's table not yet imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Idea {
    pub idea_id: Option<i64>,
    pub org_code: String,
    pub title: String,
    /// `YYYY-MM-DD`.
    pub started: String,
    pub description: String,
    pub tags: Vec<String>,
    /// The latest stage, if any was recorded.
    pub stage: Option<Stage>,
    pub stages: Vec<StageChange>,
    pub source: Source,
}

/// What `ako ideas add` and the leader's form give.
#[derive(Debug, Clone)]
pub struct NewIdea<'a> {
    pub org_code: &'a str,
    pub title: &'a str,
    pub started: NaiveDate,
    pub description: &'a str,
    pub tags: &'a [String],
    pub stage: Stage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Accepted,
    Rejected,
}

impl Decision {
    pub fn name(self) -> &'static str {
        match self {
            Decision::Accepted => "accepted",
            Decision::Rejected => "rejected",
        }
    }
}

/// An analyst's decision on one proposed rebase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RebaseDecision {
    pub idea_id: i64,
    pub org_code: String,
    pub indicator: String,
    /// The month the limits restart at.
    pub period: String,
    pub decision: Decision,
    pub decided_at: String,
}

fn checked(text: &str, what: &str, max: usize, may_be_empty: bool) -> Result<String, CollabError> {
    let text = text.trim();
    let n = text.chars().count();
    if n == 0 && !may_be_empty {
        return Err(CollabError::Invalid(format!("the {what} is empty")));
    }
    if n > max {
        return Err(CollabError::Invalid(format!(
            "the {what} has {n} characters; at most {max} are allowed"
        )));
    }
    Ok(text
        .chars()
        .filter(|c| !c.is_control() || (*c == '\n' && may_be_empty))
        .collect())
}

/// `tags` as stored: each one of `allowed` (the `[ideas] tags` of `ako.toml`), once.
pub fn checked_tags(tags: &[String], allowed: &[String]) -> Result<Vec<String>, CollabError> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = t.trim();
        if !allowed.iter().any(|a| a == t) {
            return Err(CollabError::Invalid(format!(
                "unknown tag {t:?}; the tags are {} (set them in ako.toml under [ideas] tags)",
                allowed
                    .iter()
                    .map(|a| format!("{a:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    Ok(out)
}

impl Collab {
    /// Records a new idea at its first stage (dated the day it started).
    pub fn add_idea(&mut self, new: &NewIdea<'_>, allowed: &[String]) -> Result<Idea, CollabError> {
        let title = checked(new.title, "title", MAX_TITLE, false)?;
        let description = checked(new.description, "description", MAX_DESCRIPTION, true)?;
        let tags = checked_tags(new.tags, allowed)?;
        let started = new.started.format("%Y-%m-%d").to_string();
        let tx = self.conn.transaction()?;
        let clash: Option<i64> = tx
            .query_row(
                "SELECT idea_id FROM ideas WHERE org_code = ?1 AND started = ?2 AND title = ?3",
                params![new.org_code, started, title],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = clash {
            return Err(CollabError::Invalid(format!(
                "{} already has the idea {title:?} from {started} (idea {id})",
                new.org_code
            )));
        }
        tx.execute(
            "INSERT INTO ideas (org_code, title, started, description, source, created_at)
             VALUES (?1, ?2, ?3, ?4, 'ako', ?5)",
            params![
                new.org_code,
                title,
                started,
                description,
                chrono::Utc::now().to_rfc3339()
            ],
        )?;
        let id = tx.last_insert_rowid();
        for t in &tags {
            tx.execute("INSERT INTO idea_tags VALUES (?1, ?2)", params![id, t])?;
        }
        tx.execute(
            "INSERT INTO idea_stages VALUES (?1, ?2, ?3, 1)",
            params![id, new.stage.name(), started],
        )?;
        tx.commit()?;
        self.idea(id)
    }

    /// Moves an idea to `stage` on `since`: no earlier than it started or than its last
    /// stage change.
    pub fn set_stage(
        &mut self,
        id: i64,
        stage: Stage,
        since: NaiveDate,
    ) -> Result<Idea, CollabError> {
        let idea = self.idea(id)?;
        let since = since.format("%Y-%m-%d").to_string();
        let last = idea
            .stages
            .last()
            .map_or(idea.started.as_str(), |s| s.since.as_str());
        if since.as_str() < last {
            return Err(CollabError::Invalid(format!(
                "idea {id} cannot move to {} on {since}: that is before {last}",
                stage.name()
            )));
        }
        self.conn.execute(
            "INSERT INTO idea_stages
             SELECT ?1, ?2, ?3, coalesce(max(seq), 0) + 1 FROM idea_stages WHERE idea_id = ?1",
            params![id, stage.name(), since],
        )?;
        self.idea(id)
    }

    pub fn idea(&self, id: i64) -> Result<Idea, CollabError> {
        let mut found = self.query_ideas("WHERE idea_id = ?1", params![id])?;
        found
            .pop()
            .ok_or_else(|| CollabError::NotFound(format!("no change idea {id}")))
    }

    /// The recorded ideas, by organisation then start date; of one organisation and with
    /// one tag when given.
    pub fn ideas(&self, org: Option<&str>, tag: Option<&str>) -> Result<Vec<Idea>, CollabError> {
        self.query_ideas(
            "WHERE (?1 IS NULL OR org_code = ?1)
               AND (?2 IS NULL OR idea_id IN (SELECT idea_id FROM idea_tags WHERE tag = ?2))",
            params![org, tag],
        )
    }

    fn query_ideas(
        &self,
        filter: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<Idea>, CollabError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT idea_id, org_code, title, started, description, source FROM ideas {filter}
             ORDER BY org_code, started, idea_id"
        ))?;
        let mut ideas: Vec<Idea> = stmt
            .query_map(args, |r| {
                Ok(Idea {
                    idea_id: Some(r.get(0)?),
                    org_code: r.get(1)?,
                    title: r.get(2)?,
                    started: r.get(3)?,
                    description: r.get(4)?,
                    tags: Vec::new(),
                    stage: None,
                    stages: Vec::new(),
                    source: if r.get::<_, String>(5)? == "lake" {
                        Source::Lake
                    } else {
                        Source::Ako
                    },
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut tags = self
            .conn
            .prepare("SELECT tag FROM idea_tags WHERE idea_id = ?1 ORDER BY tag")?;
        let mut stages = self
            .conn
            .prepare("SELECT stage, since FROM idea_stages WHERE idea_id = ?1 ORDER BY seq")?;
        for idea in &mut ideas {
            let id = idea.idea_id.expect("stored");
            idea.tags = tags
                .query_map([id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            idea.stages = stages
                .query_map([id], |r| {
                    Ok(StageChange {
                        stage: Stage::parse(&r.get::<_, String>(0)?)
                            .expect("the schema allows only stages"),
                        since: r.get(1)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            idea.stage = idea.stages.last().map(|s| s.stage);
        }
        Ok(ideas)
    }

    /// Copies the lake's change ideas in (source `lake`); those already here are left
    /// as they are. Returns how many were new.
    pub fn import_lake(&mut self, lake: &[ChangeIdea]) -> Result<usize, CollabError> {
        let tx = self.conn.transaction()?;
        let mut added = 0;
        for i in lake {
            added += tx.execute(
                "INSERT INTO ideas (org_code, title, started, description, source, created_at)
                 VALUES (?1, ?2, ?3, '', 'lake', ?4)
                 ON CONFLICT (org_code, started, title) DO NOTHING",
                params![
                    i.org_code,
                    i.title,
                    i.started,
                    chrono::Utc::now().to_rfc3339()
                ],
            )?;
        }
        tx.commit()?;
        Ok(added)
    }

    /// Records (or replaces) the decision on idea `id`'s proposed rebase of `indicator` at
    /// `period`.
    pub fn decide_rebase(
        &mut self,
        id: i64,
        indicator: &str,
        period: &str,
        decision: Decision,
    ) -> Result<RebaseDecision, CollabError> {
        let idea = self.idea(id)?;
        self.conn.execute(
            "INSERT INTO rebase_decisions VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (idea_id, indicator) DO UPDATE SET
                 period = excluded.period, decision = excluded.decision,
                 decided_at = excluded.decided_at",
            params![
                id,
                indicator,
                period,
                decision.name(),
                chrono::Utc::now().to_rfc3339()
            ],
        )?;
        Ok(self
            .rebase_decisions()?
            .into_iter()
            .find(|d| d.idea_id == id && d.indicator == indicator)
            .unwrap_or_else(|| unreachable!("just stored for {}", idea.org_code)))
    }

    /// Every rebase decision, by organisation then period.
    pub fn rebase_decisions(&self) -> Result<Vec<RebaseDecision>, CollabError> {
        let mut stmt = self.conn.prepare(
            "SELECT d.idea_id, i.org_code, d.indicator, d.period, d.decision, d.decided_at
             FROM rebase_decisions d JOIN ideas i USING (idea_id)
             ORDER BY i.org_code, d.period, d.idea_id",
        )?;
        let out = stmt
            .query_map([], |r| {
                Ok(RebaseDecision {
                    idea_id: r.get(0)?,
                    org_code: r.get(1)?,
                    indicator: r.get(2)?,
                    period: r.get(3)?,
                    decision: if r.get::<_, String>(4)? == "accepted" {
                        Decision::Accepted
                    } else {
                        Decision::Rejected
                    },
                    decided_at: r.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(out)
    }
}

/// The recorded ideas, then the lake's rows not imported: each idea once.
pub fn merged(recorded: Vec<Idea>, lake: &[ChangeIdea]) -> Vec<Idea> {
    let mut out = recorded;
    for l in lake {
        let known = out
            .iter()
            .any(|i| i.org_code == l.org_code && i.started == l.started && i.title == l.title);
        if !known {
            out.push(Idea {
                idea_id: None,
                org_code: l.org_code.clone(),
                title: l.title.clone(),
                started: l.started.clone(),
                description: String::new(),
                tags: Vec::new(),
                stage: None,
                stages: Vec::new(),
                source: Source::Lake,
            });
        }
    }
    out.sort_by(|a, b| {
        (&a.org_code, &a.started, a.idea_id).cmp(&(&b.org_code, &b.started, b.idea_id))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags() -> Vec<String> {
        crate::config::IdeasConfig::default().tags
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn an_idea_keeps_its_tags_and_dated_stages() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Collab::open(&dir.path().join("c.sqlite")).unwrap();
        let idea = c
            .add_idea(
                &NewIdea {
                    org_code: "CMH",
                    title: "  Sensory rooms on every ward ",
                    started: day("2024-03-01"),
                    description: "Two rooms, staff trained first.",
                    tags: &["sensory modulation".into(), "sensory modulation".into()],
                    stage: Stage::Plan,
                },
                &tags(),
            )
            .unwrap();
        assert_eq!(idea.title, "Sensory rooms on every ward");
        assert_eq!(idea.tags, vec!["sensory modulation"]);
        assert_eq!(idea.stage, Some(Stage::Plan));
        let id = idea.idea_id.unwrap();
        let moved = c.set_stage(id, Stage::Do, day("2024-04-15")).unwrap();
        assert_eq!(moved.stage, Some(Stage::Do));
        assert_eq!(
            moved.stages,
            vec![
                StageChange {
                    stage: Stage::Plan,
                    since: "2024-03-01".into()
                },
                StageChange {
                    stage: Stage::Do,
                    since: "2024-04-15".into()
                },
            ]
        );
        // Back in time, an unknown tag, a duplicate and an empty title are refused.
        assert!(
            matches!(c.set_stage(id, Stage::Study, day("2024-04-01")), Err(CollabError::Invalid(m)) if m.contains("before 2024-04-15"))
        );
        let bad = |t: &'static str, tag: &str| NewIdea {
            org_code: "CMH",
            title: t,
            started: day("2024-03-01"),
            description: "",
            tags: std::slice::from_ref(Box::leak(Box::new(tag.to_string()))),
            stage: Stage::Plan,
        };
        assert!(
            matches!(c.add_idea(&bad("X", "yoga"), &tags()), Err(CollabError::Invalid(m)) if m.contains("unknown tag \"yoga\""))
        );
        assert!(
            matches!(c.add_idea(&bad("Sensory rooms on every ward", "debriefing"), &tags()), Err(CollabError::Invalid(m)) if m.contains("already has"))
        );
        assert!(
            matches!(c.add_idea(&bad(" ", "debriefing"), &tags()), Err(CollabError::Invalid(m)) if m == "the title is empty")
        );
        assert_eq!(
            c.ideas(Some("CMH"), Some("sensory modulation"))
                .unwrap()
                .len(),
            1
        );
        assert!(c.ideas(Some("CMH"), Some("debriefing")).unwrap().is_empty());
        assert!(c.ideas(Some("HBY"), None).unwrap().is_empty());
    }

    #[test]
    fn the_lake_table_imports_once_and_merges_without_doubles() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Collab::open(&dir.path().join("c.sqlite")).unwrap();
        let lake = vec![
            ChangeIdea {
                org_code: "CAN".into(),
                started: "2023-02-01".into(),
                title: "Whānau liaison".into(),
            },
            ChangeIdea {
                org_code: "HBY".into(),
                started: "2023-09-01".into(),
                title: "Sensory rooms".into(),
            },
        ];
        // Before the import each lake row is listed once, without an id.
        let before = merged(c.ideas(None, None).unwrap(), &lake);
        assert_eq!(before.len(), 2);
        assert!(
            before
                .iter()
                .all(|i| i.idea_id.is_none() && i.source == Source::Lake)
        );
        assert_eq!(c.import_lake(&lake).unwrap(), 2);
        assert_eq!(c.import_lake(&lake).unwrap(), 0);
        let after = merged(c.ideas(None, None).unwrap(), &lake);
        assert_eq!(after.len(), 2);
        assert!(after.iter().all(|i| i.idea_id.is_some()));
        let id = after[0].idea_id.unwrap();
        c.decide_rebase(
            id,
            "events_per_1000_bed_days",
            "2023-03",
            Decision::Rejected,
        )
        .unwrap();
        let d = c
            .decide_rebase(
                id,
                "events_per_1000_bed_days",
                "2023-03",
                Decision::Accepted,
            )
            .unwrap();
        assert_eq!(
            (d.org_code.as_str(), d.decision),
            ("CAN", Decision::Accepted)
        );
        assert_eq!(c.rebase_decisions().unwrap().len(), 1);
    }
}
