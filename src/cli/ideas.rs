//! `ako ideas`: organisations' PDSA change ideas, what their charts show since, and the
//! analyst's decisions on proposed rebases.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};

use ako::catalog::{self, Catalog};
use ako::collab::ideas::{Decision, NewIdea, Stage};
use ako::ideas::{self, Judged, RebaseState};
use ako::{compliance, derived};

use super::session::{Format, Place, refusal};
use super::{open_session, user};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StageArg {
    Plan,
    Do,
    Study,
    Act,
}

impl From<StageArg> for Stage {
    fn from(s: StageArg) -> Stage {
        match s {
            StageArg::Plan => Stage::Plan,
            StageArg::Do => Stage::Do,
            StageArg::Study => Stage::Study,
            StageArg::Act => Stage::Act,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum IdeasCommand {
    /// Record an organisation's change idea.
    Add {
        #[arg(long)]
        org: String,
        #[arg(long)]
        title: String,
        /// The day it started, YYYY-MM-DD.
        #[arg(long)]
        started: String,
        #[arg(long, default_value = "")]
        description: String,
        /// A tag from `[ideas] tags` in ako.toml; repeat for more.
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[arg(long, value_enum, default_value_t = StageArg::Plan)]
        stage: StageArg,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        place: Place,
    },
    /// Move an idea to its next PDSA stage.
    Stage {
        idea: i64,
        #[arg(long, value_enum)]
        to: StageArg,
        /// The day of the change, YYYY-MM-DD (default today).
        #[arg(long)]
        on: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        place: Place,
    },
    /// Every idea with what the organisation's charts show since it started.
    List {
        #[arg(long)]
        org: Option<String>,
        #[arg(long)]
        tag: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[arg(long, env = "AKO_QUERIES")]
        queries: Option<PathBuf>,
        #[command(flatten)]
        place: Place,
    },
    /// Copy the lake's change_ideas table into the collaborative database.
    Import {
        #[arg(long, env = "AKO_QUERIES")]
        queries: Option<PathBuf>,
        #[command(flatten)]
        place: Place,
    },
    /// Accept or reject the rebase ako proposes after an idea.
    Rebase {
        org: String,
        idea: i64,
        #[arg(long, conflicts_with = "reject", required_unless_present = "reject")]
        accept: bool,
        #[arg(long)]
        reject: bool,
        /// Only this indicator's proposal (default: every proposal of the idea).
        #[arg(long)]
        indicator: Option<String>,
        #[arg(long, env = "AKO_QUERIES")]
        queries: Option<PathBuf>,
        #[command(flatten)]
        place: Place,
    },
    /// Ideas by tag: how many organisations tried each and how many improved after it.
    Worked {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[arg(long, env = "AKO_QUERIES")]
        queries: Option<PathBuf>,
        #[command(flatten)]
        place: Place,
    },
}

fn day(text: &str, flag: &str) -> anyhow::Result<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| user(format!("{flag} {text}: write the day as YYYY-MM-DD")))
}

pub async fn ideas(command: IdeasCommand) -> anyhow::Result<ExitCode> {
    match command {
        IdeasCommand::Add {
            org,
            title,
            started,
            description,
            tags,
            stage,
            format,
            place,
        } => {
            let config = place.config()?;
            let started = day(&started, "--started")?;
            let idea = place
                .open(&config)?
                .add_idea(
                    &NewIdea {
                        org_code: &org,
                        title: &title,
                        started,
                        description: &description,
                        tags: &tags,
                        stage: stage.into(),
                    },
                    &config.ideas.tags,
                )
                .map_err(refusal)?;
            print_idea(&idea, format)
        }
        IdeasCommand::Stage {
            idea,
            to,
            on,
            format,
            place,
        } => {
            let config = place.config()?;
            let on = match on {
                Some(d) => day(&d, "--on")?,
                None => chrono::Local::now().date_naive(),
            };
            let idea = place
                .open(&config)?
                .set_stage(idea, to.into(), on)
                .map_err(refusal)?;
            print_idea(&idea, format)
        }
        IdeasCommand::List {
            org,
            tag,
            format,
            queries,
            place,
        } => {
            let judged: Vec<Judged> = judged(&place, queries)
                .await?
                .into_iter()
                .filter(|j| org.as_ref().is_none_or(|o| &j.idea.org_code == o))
                .filter(|j| tag.as_ref().is_none_or(|t| j.idea.tags.contains(t)))
                .collect();
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&judged)?),
                Format::Text => print_judged(&judged),
            }
            Ok(ExitCode::SUCCESS)
        }
        IdeasCommand::Import { queries, place } => {
            let config = place.config()?;
            let catalog = load_catalog(queries)?;
            let (_, ctx) = open_session(&place.lake, None).await?;
            let lake = ideas::from_lake(&ctx, &catalog).await?;
            let added = place.open(&config)?.import_lake(&lake).map_err(refusal)?;
            eprintln!(
                "ako: imported {added} of the lake's {} change ideas ({} were here already)",
                lake.len(),
                lake.len() - added
            );
            Ok(ExitCode::SUCCESS)
        }
        IdeasCommand::Rebase {
            org,
            idea,
            accept,
            reject: _,
            indicator,
            queries,
            place,
        } => rebase(&org, idea, accept, indicator.as_deref(), queries, &place).await,
        IdeasCommand::Worked {
            format,
            queries,
            place,
        } => {
            let worked = ideas::what_worked(&judged(&place, queries).await?);
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&worked)?),
                Format::Text => {
                    for w in &worked {
                        println!(
                            "{}: {} organisation(s) tried it, {} saw a sustained improvement",
                            w.tag, w.organisations, w.improved
                        );
                        for (org, title, verdict) in &w.ideas {
                            println!("    {org:<8} {title} ({})", verdict_words(*verdict));
                        }
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn load_catalog(queries: Option<PathBuf>) -> anyhow::Result<Catalog> {
    let dir = queries.unwrap_or_else(catalog::default_dir);
    Catalog::load(&dir).with_context(|| format!("loading indicators from {}", dir.display()))
}

/// Every idea judged on the lake's latest version.
async fn judged(place: &Place, queries: Option<PathBuf>) -> anyhow::Result<Vec<Judged>> {
    let config = place.config()?;
    let catalog = load_catalog(queries)?;
    let (snapshot, ctx) = open_session(&place.lake, None).await?;
    let sources = derived::Sources {
        catalog: &catalog,
        config: &config,
        compliance_dir: &compliance::default_dir(),
        store: derived::Store::for_lake(&place.lake, snapshot.lake_version),
    };
    // Listing never creates the database: without one there are only the lake's ideas.
    let collab = if place.collab_path(&config).is_file() {
        Some(place.open(&config)?)
    } else {
        None
    };
    Ok(ideas::load_judged(&ctx, &sources, collab.as_ref()).await?)
}

async fn rebase(
    org: &str,
    idea: i64,
    accept: bool,
    indicator: Option<&str>,
    queries: Option<PathBuf>,
    place: &Place,
) -> anyhow::Result<ExitCode> {
    let config = place.config()?;
    let stored = place.open(&config)?.idea(idea).map_err(refusal)?;
    if stored.org_code != org {
        return Err(user(format!(
            "idea {idea} is {}'s, not {org}'s",
            stored.org_code
        )));
    }
    let judged = judged(place, queries).await?;
    let j = judged
        .iter()
        .find(|j| j.idea.idea_id == Some(idea))
        .expect("a stored idea is judged");
    let proposals: Vec<(&str, &str)> = j
        .judgements
        .iter()
        .filter(|g| indicator.is_none_or(|i| g.assessment.indicator == i))
        .filter_map(|g| {
            g.assessment
                .proposal
                .as_ref()
                .map(|p| (g.assessment.indicator.as_str(), p.period.as_str()))
        })
        .collect();
    if proposals.is_empty() {
        return Err(user(format!(
            "no rebase is proposed after idea {idea} ({}){}: {}",
            stored.title,
            indicator.map(|i| format!(" on {i}")).unwrap_or_default(),
            j.judgements
                .iter()
                .map(|g| g.assessment.sentence.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        )));
    }
    let decision = if accept {
        Decision::Accepted
    } else {
        Decision::Rejected
    };
    let mut c = place.open(&config)?;
    for (indicator, period) in proposals {
        c.decide_rebase(idea, indicator, period, decision)
            .map_err(refusal)?;
        println!(
            "{org}: the rebase of {indicator} at {period} after idea {idea} is {}",
            decision.name()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn verdict_words(v: ideas::Verdict) -> &'static str {
    match v {
        ideas::Verdict::SustainedImprovement => "sustained improvement",
        ideas::Verdict::Concern => "concern",
        ideas::Verdict::NoSignalYet => "no signal yet",
        ideas::Verdict::NoBaseline => "no baseline",
    }
}

fn print_idea(idea: &ako::collab::ideas::Idea, format: Format) -> anyhow::Result<ExitCode> {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(idea)?),
        Format::Text => println!(
            "idea {}: {} {} from {} ({}){}",
            idea.idea_id.map_or("-".into(), |i| i.to_string()),
            idea.org_code,
            idea.title,
            idea.started,
            idea.stage.map_or("no stage", |s| s.name()),
            if idea.tags.is_empty() {
                String::new()
            } else {
                format!(" [{}]", idea.tags.join(", "))
            }
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_judged(judged: &[Judged]) {
    if judged.is_empty() {
        eprintln!("no change ideas yet: record one with `ako ideas add`");
    }
    for j in judged {
        let i = &j.idea;
        println!(
            "{:>4}  {:<8} {}  {}{}",
            i.idea_id.map_or("-".into(), |i| i.to_string()),
            i.org_code,
            i.started,
            i.title,
            if i.idea_id.is_none() {
                " (lake only: `ako ideas import` to decide on its rebases)"
            } else {
                ""
            }
        );
        for g in &j.judgements {
            let rebase = match &g.rebase {
                Some(r) => format!(
                    " [rebase at {}: {}]",
                    r.period,
                    match r.state {
                        RebaseState::Proposed => "proposed",
                        RebaseState::Accepted => "accepted",
                        RebaseState::Rejected => "rejected",
                    }
                ),
                None => String::new(),
            };
            println!(
                "        {}: {}{rebase}",
                g.assessment.indicator, g.assessment.sentence
            );
        }
    }
}
