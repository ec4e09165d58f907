//! Change ideas (PDSA cycles) and what the data say about them. Ideas are recorded in the
//! collaborative database (`collab::ideas`) or, as an import path, in the lake's
//! `change_ideas` reference table, read through the catalogue's `change_ideas` query
//! like every other SQL text. Each is judged on the organisation's own Making Data Count
//! charts ([`assess`]).

pub mod assess;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::catalog::{Catalog, CatalogError};
use crate::collab::ideas::{Decision, Idea, RebaseDecision};
use crate::derived::Sources;
use crate::model::ChangeIdea;
use crate::series::{self, SeriesError};
use crate::table::string_column;
pub use assess::{Assessment, Proposal, Verdict};

/// The query in `queries/` that lists them.
pub const QUERY: &str = "change_ideas";

/// The charts an idea is judged on: seclusion events per 1,000 bed days (the indicator
/// deviance is judged on, and the one "what worked" counts), then the HQSC headline for
/// all ethnic groups.
pub const JUDGED: [(&str, &[(&str, &str)]); 2] = [
    ("events_per_1000_bed_days", &[]),
    ("pct_inpatients_secluded", &[("ethnicity", "all")]),
];

#[derive(Debug, thiserror::Error)]
pub enum IdeasError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("reading change ideas: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    #[error(transparent)]
    Series(#[from] SeriesError),
}

/// Every organisation's change ideas, by organisation then start date.
pub async fn from_lake(
    ctx: &datafusion::prelude::SessionContext,
    catalog: &Catalog,
) -> Result<Vec<ChangeIdea>, IdeasError> {
    let batches = catalog.get(QUERY)?.run(ctx, &[]).await?;
    let mut out = Vec::new();
    for b in &batches {
        let (org, started, title) = (
            string_column(b, "org_code")?,
            string_column(b, "started")?,
            string_column(b, "title")?,
        );
        for i in 0..b.num_rows() {
            out.push(ChangeIdea {
                org_code: org.value(i).to_string(),
                started: started.value(i).to_string(),
                title: title.value(i).to_string(),
            });
        }
    }
    Ok(out)
}

/// Each organisation's monthly series of each judged indicator, raw from the lake.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// (indicator, organisation) → months ascending with their values.
    by: BTreeMap<(String, String), Vec<(String, f64)>>,
}

impl Series {
    pub async fn load(
        ctx: &datafusion::prelude::SessionContext,
        sources: &Sources<'_>,
    ) -> Result<Series, IdeasError> {
        let mut out = Series::default();
        for (indicator, keep) in JUDGED {
            let ind = sources.catalog.get(indicator)?;
            for m in series::org_months(ctx, sources, indicator, keep).await? {
                let v = m.value(ind.multiplier);
                out.by
                    .entry((indicator.to_string(), m.org_code))
                    .or_default()
                    .push((m.period, v));
            }
        }
        Ok(out)
    }

    pub fn of(&self, indicator: &str, org: &str) -> &[(String, f64)] {
        self.by
            .get(&(indicator.to_string(), org.to_string()))
            .map_or(&[], Vec::as_slice)
    }
}

/// Where a chart's rebase after an idea stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RebaseState {
    /// ako proposes it; no analyst has decided.
    Proposed,
    Accepted,
    Rejected,
}

/// A rebase of one organisation's chart of one indicator at one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rebase {
    pub period: String,
    pub state: RebaseState,
}

/// One indicator's assessment of an idea, with where its rebase stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judgement {
    #[serde(flatten)]
    pub assessment: Assessment,
    pub rebase: Option<Rebase>,
}

/// An idea with what each judged chart says of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judged {
    #[serde(flatten)]
    pub idea: Idea,
    pub judgements: Vec<Judgement>,
}

/// Every idea judged, in the order given. A decision stands for the month it was made
/// at: an accepted rebase stays where it was accepted even when later data move the
/// proposal; a rejection silences only the proposal it rejected.
pub fn judge(ideas: Vec<Idea>, series: &Series, decisions: &[RebaseDecision]) -> Vec<Judged> {
    ideas
        .into_iter()
        .map(|idea| {
            let judgements = JUDGED
                .iter()
                .map(|(indicator, _)| {
                    let assessment = assess::assess(
                        indicator,
                        series.of(indicator, &idea.org_code),
                        &idea.started,
                    );
                    let decision = decisions
                        .iter()
                        .find(|d| Some(d.idea_id) == idea.idea_id && d.indicator == *indicator);
                    let proposed = assessment.proposal.as_ref().map(|p| &p.period);
                    let rebase = match decision {
                        Some(d) if d.decision == Decision::Accepted => Some(Rebase {
                            period: d.period.clone(),
                            state: RebaseState::Accepted,
                        }),
                        Some(d) if Some(&d.period) == proposed => Some(Rebase {
                            period: d.period.clone(),
                            state: RebaseState::Rejected,
                        }),
                        _ => proposed.map(|p| Rebase {
                            period: p.clone(),
                            state: RebaseState::Proposed,
                        }),
                    };
                    Judgement { assessment, rebase }
                })
                .collect();
            Judged { idea, judgements }
        })
        .collect()
}

/// The rebases an organisation's chart of `indicator` draws: accepted ones restart its
/// limits, proposed ones are drawn dashed beside them; rejected ones are not drawn.
pub fn chart_rebases(judged: &[Judged], org: &str, indicator: &str) -> Vec<Rebase> {
    let mut out: Vec<Rebase> = judged
        .iter()
        .filter(|j| j.idea.org_code == org)
        .flat_map(|j| &j.judgements)
        .filter(|j| j.assessment.indicator == indicator)
        .filter_map(|j| j.rebase.clone())
        .filter(|r| r.state != RebaseState::Rejected)
        .collect();
    out.sort_by(|a, b| a.period.cmp(&b.period));
    out.dedup_by(|a, b| a.period == b.period);
    out
}

/// One tag of the national "what worked" view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Worked {
    /// The tag, or `untagged` for ideas without one (the lake's table has no tags).
    pub tag: String,
    /// Organisations that tried an idea with the tag.
    pub organisations: usize,
    /// Of those, how many saw a sustained improvement in seclusion events per 1,000 bed
    /// days after it.
    pub improved: usize,
    /// (organisation, idea title, verdict), by organisation.
    pub ideas: Vec<(String, String, Verdict)>,
}

/// Ideas grouped by tag, the most tried first.
pub fn what_worked(judged: &[Judged]) -> Vec<Worked> {
    let mut by_tag: BTreeMap<String, Vec<&Judged>> = BTreeMap::new();
    for j in judged {
        if j.idea.tags.is_empty() {
            by_tag.entry("untagged".into()).or_default().push(j);
        }
        for t in &j.idea.tags {
            by_tag.entry(t.clone()).or_default().push(j);
        }
    }
    let mut out: Vec<Worked> = by_tag
        .into_iter()
        .map(|(tag, js)| {
            let verdict = |j: &Judged| j.judgements[0].assessment.verdict;
            let mut orgs: Vec<&str> = js.iter().map(|j| j.idea.org_code.as_str()).collect();
            orgs.sort_unstable();
            orgs.dedup();
            let improved = orgs
                .iter()
                .filter(|o| {
                    js.iter().any(|j| {
                        j.idea.org_code == **o && verdict(j) == Verdict::SustainedImprovement
                    })
                })
                .count();
            Worked {
                tag,
                organisations: orgs.len(),
                improved,
                ideas: js
                    .iter()
                    .map(|j| (j.idea.org_code.clone(), j.idea.title.clone(), verdict(j)))
                    .collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.organisations
            .cmp(&a.organisations)
            .then(a.tag.cmp(&b.tag))
    });
    out
}

/// Every idea, recorded or only in the lake, judged on the lake `ctx` reads, with the
/// decisions recorded in `collab` (none without one).
pub async fn load_judged(
    ctx: &datafusion::prelude::SessionContext,
    sources: &Sources<'_>,
    collab: Option<&crate::collab::Collab>,
) -> Result<Vec<Judged>, LoadError> {
    let lake = from_lake(ctx, sources.catalog).await?;
    let series = Series::load(ctx, sources).await?;
    let (recorded, decisions) = match collab {
        Some(c) => (c.ideas(None, None)?, c.rebase_decisions()?),
        None => (Vec::new(), Vec::new()),
    };
    Ok(judge(
        crate::collab::ideas::merged(recorded, &lake),
        &series,
        &decisions,
    ))
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Ideas(#[from] IdeasError),
    #[error(transparent)]
    Collab(#[from] crate::collab::CollabError),
}
