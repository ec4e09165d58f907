//! `ako session` (learning sessions and their breakout groups) and `ako collab` (the
//! collaborative database itself).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};

use ako::catalog::{self, Catalog};
use ako::collab::{self, Collab, CollabError, NewSession, Session};
use ako::config::Config;
use ako::peers::{self, Grouping};

use super::peers::{grouping, org_profiles};
use super::{open_session, user};

/// Where the lake and configuration are, as every other command takes them.
#[derive(Debug, Args)]
pub struct Place {
    /// The lake folder (the collaborative database is `collab.sqlite` in it, unless
    /// `[collab] path` in the configuration says otherwise).
    #[arg(long, env = "AKO_LAKE", default_value = "lake")]
    pub(super) lake: PathBuf,
    /// Configuration file (default ./ako.toml, or AKO_CONFIG).
    #[arg(long)]
    config: Option<PathBuf>,
}

impl Place {
    pub(super) fn collab_path(&self, config: &Config) -> PathBuf {
        collab::path(&self.lake, config.collab.path.as_deref())
    }

    pub(super) fn config(&self) -> anyhow::Result<Config> {
        Config::load(self.config.as_deref()).map_err(user)
    }

    pub(super) fn open(&self, config: &Config) -> anyhow::Result<Collab> {
        Collab::open(&self.collab_path(config)).map_err(refusal)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    Md,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// A session whose breakout groups are the current peer groups of a grouping.
    Create {
        #[arg(long)]
        title: String,
        /// The day it is held, YYYY-MM-DD.
        #[arg(long)]
        date: String,
        #[arg(long, value_parser = grouping())]
        grouping: Grouping,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// The folder of indicator SQL files (the challenge profile is `peer_profile`).
        #[arg(long, env = "AKO_QUERIES")]
        queries: Option<PathBuf>,
        #[command(flatten)]
        place: Place,
    },
    /// Move an organisation to another breakout group (its group_id or name).
    Move {
        session: i64,
        org: String,
        #[arg(long)]
        to: String,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        place: Place,
    },
    /// Nominate a group's moderator.
    Moderator {
        session: i64,
        /// The group's group_id or name.
        group: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        place: Place,
    },
    /// A session with its groups, members and moderators.
    Show {
        session: i64,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        place: Place,
    },
    /// Every group's summary, for the facilitator's report after the session, with the
    /// charts of its pack referenced.
    Summary {
        session: i64,
        #[arg(long, value_enum, default_value_t = SummaryFormat::Md)]
        format: SummaryFormat,
        /// The folder of dashboard files (whose charts the packs hold).
        #[arg(long, env = "AKO_DASHBOARDS")]
        dashboards: Option<PathBuf>,
        /// The folder of indicator SQL files.
        #[arg(long, env = "AKO_QUERIES")]
        queries: Option<PathBuf>,
        #[command(flatten)]
        place: Place,
    },
    /// Each breakout group's chart pack: a PDF (a page per chart), every chart as SVG
    /// and PNG and its data as CSV, at the session's pinned lake version, for the
    /// group's audience (every organisation by peer code, small cells withheld).
    Pack {
        session: i64,
        /// Only this group (its group_id or name).
        #[arg(long)]
        group: Option<String>,
        /// The folder the packs go in, one sub-folder per group (replaced whole).
        #[arg(long)]
        out: PathBuf,
        /// The folder of dashboard files.
        #[arg(long, env = "AKO_DASHBOARDS")]
        dashboards: Option<PathBuf>,
        /// The folder of indicator SQL files.
        #[arg(long, env = "AKO_QUERIES")]
        queries: Option<PathBuf>,
        #[command(flatten)]
        place: Place,
    },
    /// Every session, newest first.
    List {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        place: Place,
    },
}

#[derive(Debug, Subcommand)]
pub enum CollabCommand {
    /// An online, consistent copy of the collaborative database (safe while serving).
    Backup {
        file: PathBuf,
        #[command(flatten)]
        place: Place,
    },
}

/// A refusal of the user's input is exit 2; anything else is a failure.
pub(super) fn refusal(e: CollabError) -> anyhow::Error {
    match e {
        CollabError::Invalid(_) | CollabError::NotFound(_) | CollabError::Denied(_) => user(e),
        other => anyhow::Error::new(other),
    }
}

pub async fn session(command: SessionCommand) -> anyhow::Result<ExitCode> {
    let (session, format) = match command {
        SessionCommand::Create {
            title,
            date,
            grouping,
            format,
            queries,
            place,
        } => (
            create(&title, &date, grouping, queries, &place).await?,
            format,
        ),
        SessionCommand::Move {
            session,
            org,
            to,
            format,
            place,
        } => {
            let config = place.config()?;
            let moved = place
                .open(&config)?
                .move_member(session, &org, &to)
                .map_err(refusal)?;
            (moved, format)
        }
        SessionCommand::Moderator {
            session,
            group,
            name,
            format,
            place,
        } => {
            let config = place.config()?;
            let named = place
                .open(&config)?
                .set_moderator(session, &group, &name)
                .map_err(refusal)?;
            (named, format)
        }
        SessionCommand::Show {
            session,
            format,
            place,
        } => {
            let config = place.config()?;
            (
                place.open(&config)?.session(session).map_err(refusal)?,
                format,
            )
        }
        SessionCommand::Summary {
            session,
            format,
            dashboards,
            queries,
            place,
        } => {
            let config = place.config()?;
            let c = place.open(&config)?;
            let s = c.session(session).map_err(refusal)?;
            let groups = c.session_summary(session).map_err(refusal)?;
            let charts = ako::pack::chart_refs(&load_dashboards(dashboards, queries)?);
            match format {
                SummaryFormat::Md => {
                    print!("{}", ako::collab::summaries::markdown(&s, &groups, &charts))
                }
                SummaryFormat::Json => {
                    let groups: Vec<serde_json::Value> = groups
                        .iter()
                        .map(|g| {
                            let mut v = serde_json::to_value(g).expect("JSON values serialise");
                            v["pack"] = format!(
                                "/sessions/{}/groups/{}/pack.pdf",
                                s.session_id, g.group_id
                            )
                            .into();
                            v["charts"] = serde_json::to_value(&charts).expect("serialises");
                            v
                        })
                        .collect();
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&serde_json::json!({
                            "session_id": s.session_id,
                            "title": s.title,
                            "date": s.date,
                            "lake_version": s.lake_version,
                            "groups": groups,
                        }))?
                    )
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        SessionCommand::Pack {
            session,
            group,
            out,
            dashboards,
            queries,
            place,
        } => {
            return pack(session, group.as_deref(), &out, dashboards, queries, &place).await;
        }
        SessionCommand::List { format, place } => {
            let config = place.config()?;
            let list = place.open(&config)?.sessions().map_err(refusal)?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&list)?),
                Format::Text if list.is_empty() => {
                    eprintln!("no sessions yet: make one with `ako session create`")
                }
                Format::Text => {
                    for s in &list {
                        println!(
                            "{:>4}  {}  {:<9}  {:>2} groups, {:>3} organisations  {}",
                            s.session_id,
                            s.date,
                            s.grouping.name(),
                            s.groups,
                            s.organisations,
                            s.title
                        );
                    }
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    print(&session, format)?;
    Ok(ExitCode::SUCCESS)
}

async fn create(
    title: &str,
    date: &str,
    grouping: Grouping,
    queries: Option<PathBuf>,
    place: &Place,
) -> anyhow::Result<Session> {
    let date = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map_err(|_| user(format!("--date {date}: write the day as YYYY-MM-DD")))?;
    let config = place.config()?;
    let dir = queries.unwrap_or_else(catalog::default_dir);
    let catalog = Catalog::load(&dir)
        .with_context(|| format!("loading indicators from {}", dir.display()))?;
    let (snapshot, ctx) = open_session(&place.lake, None).await?;
    let profiles = org_profiles(&ctx, &catalog, &config).await?;
    let grouped = peers::group(&profiles, &config.peers, grouping).map_err(user)?;
    place
        .open(&config)?
        .create_session(&NewSession {
            title,
            date,
            grouping,
            lake_version: snapshot.lake_version,
            groups: &grouped.groups,
        })
        .map_err(refusal)
}

/// The indicators and the dashboards drawn from them.
fn load_both(
    dashboards: Option<PathBuf>,
    queries: Option<PathBuf>,
) -> anyhow::Result<(Catalog, ako::dashboard::Dashboards)> {
    let dir = queries.unwrap_or_else(catalog::default_dir);
    let catalog = Catalog::load(&dir)
        .with_context(|| format!("loading indicators from {}", dir.display()))?;
    let dir = dashboards.unwrap_or_else(ako::dashboard::default_dir);
    let dashboards = ako::dashboard::Dashboards::load(&dir, &catalog).map_err(user)?;
    Ok((catalog, dashboards))
}

fn load_dashboards(
    dashboards: Option<PathBuf>,
    queries: Option<PathBuf>,
) -> anyhow::Result<ako::dashboard::Dashboards> {
    Ok(load_both(dashboards, queries)?.1)
}

async fn pack(
    session: i64,
    group: Option<&str>,
    out: &std::path::Path,
    dashboards: Option<PathBuf>,
    queries: Option<PathBuf>,
    place: &Place,
) -> anyhow::Result<ExitCode> {
    let config = place.config()?;
    let s = place.open(&config)?.session(session).map_err(refusal)?;
    let groups: Vec<_> = match group {
        None => s.groups.iter().collect(),
        Some(name) => {
            let found = s
                .groups
                .iter()
                .find(|g| g.group_id.to_string() == name || g.name == name)
                .ok_or_else(|| {
                    user(format!(
                        "session {session} has no group `{name}` (give its group_id or name, as `ako session show` lists them)"
                    ))
                })?;
            vec![found]
        }
    };
    if config.privacy.pseudonym_key.is_none() {
        return Err(user(
            "a pack shows organisations by peer codes, which need a secret key: add `[privacy] pseudonym_key = \"…\"` (long random text, kept unchanged) to ako.toml, or run `ako token add`, which adds one",
        ));
    }
    let (catalog, dashboards) = load_both(dashboards, queries)?;
    let lake = ako::lake::Lake::open(&place.lake)
        .with_context(|| format!("opening the lake at {}", place.lake.display()))?;
    let basis = ako::dashboard::view::Basis {
        lake_root: place.lake.clone(),
        catalog: std::sync::Arc::new(catalog),
        config: std::sync::Arc::new(config.clone()),
        dashboards: std::sync::Arc::new(dashboards),
        compliance_dir: ako::compliance::default_dir(),
        collab_path: Some(place.collab_path(&config)),
    };
    let edition = ako::dashboard::view::Edition::load_at(&lake, &basis, s.lake_version).await?;
    let cache = ako::dashboard::compute::Cache::default();
    for g in groups {
        let viewer = ako::pack::breakout_audience(&s, g);
        let built = ako::pack::build(&cache, &edition, &viewer, &s, g).await?;
        let pdf = ako::pack::pdf(&built)?;
        let folder = ako::pack::write(&built, &pdf, out)?;
        println!(
            "group {} {}: {} charts at lake version {} -> {}",
            g.group_id,
            g.name,
            built.charts.len(),
            built.lake_version.map_or("empty".into(), |v| v.to_string()),
            folder.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn print(s: &Session, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(s)?);
        return Ok(());
    }
    println!(
        "session {}: {} ({}), breakout groups by {}, lake version {}",
        s.session_id,
        s.title,
        s.date,
        s.grouping.name(),
        s.lake_version.map_or("none".into(), |v| v.to_string())
    );
    for g in &s.groups {
        println!(
            "  group {}  {} ({} organisations), moderator: {}",
            g.group_id,
            g.name,
            g.members.len(),
            g.moderator.as_deref().unwrap_or("not yet nominated")
        );
        for m in &g.members {
            println!("      {:<8} {}", m.org_code, m.reason);
        }
    }
    Ok(())
}

pub fn collab(command: CollabCommand) -> anyhow::Result<ExitCode> {
    let CollabCommand::Backup { file, place } = command;
    let config = place.config()?;
    let source = collab::path(&place.lake, config.collab.path.as_deref());
    if !source.is_file() {
        return Err(user(format!(
            "no collaborative database at {}: nothing to back up",
            source.display()
        )));
    }
    place.open(&config)?.backup(&file).map_err(refusal)?;
    eprintln!("ako: backed up {} to {}", source.display(), file.display());
    Ok(ExitCode::SUCCESS)
}
