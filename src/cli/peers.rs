//! `ako peers`: the peer groups of every organisation, and why each is where it is.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};

use ako::catalog::{self, Catalog};
use ako::config::Config;
use ako::deviants::{self, DeviantOptions, Evidence};
use ako::peers::{self, Group, Grouping};

use super::{open_session, user};

/// `--by` / `--grouping size|challenge|config`, parsed into the library's type.
pub(crate) fn grouping() -> impl clap::builder::TypedValueParser<Value = Grouping> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Grouping::ALL.map(Grouping::name))
        .map(|name| Grouping::parse(&name).expect("one of the possible values"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PeersFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct PeersArgs {
    /// size: population served, in the configured bands; challenge: clusters of
    /// similar indicators and tags; config: challenge groups with the facilitator's
    /// overrides.
    #[arg(long, value_parser = grouping(), default_value = "size")]
    by: Grouping,
    #[arg(long, value_enum, default_value_t = PeersFormat::Table)]
    format: PeersFormat,
    /// The lake folder.
    #[arg(long, env = "AKO_LAKE", default_value = "lake")]
    lake: PathBuf,
    /// Read the lake as it was: a lake version, a date or an RFC 3339 time.
    #[arg(long)]
    as_of: Option<String>,
    /// Configuration file (size bands, facilitator overrides).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The folder of indicator SQL files (the challenge profile is `peer_profile`).
    #[arg(long, env = "AKO_QUERIES")]
    queries: Option<PathBuf>,
}

/// Every organisation's profile for grouping; a lake without organisations is the
/// user's to fix (exit 2).
pub(crate) async fn org_profiles(
    ctx: &datafusion::prelude::SessionContext,
    catalog: &Catalog,
    config: &Config,
) -> anyhow::Result<Vec<peers::OrgProfile>> {
    peers::profiles(ctx, catalog, config.peers.profile_months)
        .await
        .map_err(|e| match e {
            peers::PeersError::NoOrganisations => user(e),
            other => anyhow::Error::new(other),
        })
}

pub async fn run(a: PeersArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(a.config.as_deref()).map_err(user)?;
    let dir = a.queries.unwrap_or_else(catalog::default_dir);
    let catalog = Catalog::load(&dir)
        .with_context(|| format!("loading indicators from {}", dir.display()))?;
    let (_, ctx) = open_session(&a.lake, a.as_of.as_deref()).await?;
    let profiles = org_profiles(&ctx, &catalog, &config).await?;
    let grouped = peers::group(&profiles, &config.peers, a.by).map_err(user)?;
    if let Some((k, silhouette)) = grouped.clustering {
        eprintln!(
            "{k} shared-challenge groups: of {} to {} groups of at least {} organisations, the number with the highest mean silhouette ({silhouette:.2})",
            config.peers.min_challenge_groups,
            config.peers.max_challenge_groups,
            config.peers.min_group_size,
        );
    }
    let groups: Vec<Group> = grouped.groups;
    match a.format {
        PeersFormat::Json => println!("{}", serde_json::to_string_pretty(&groups)?),
        PeersFormat::Table => {
            for g in &groups {
                println!("{} ({} organisations)", g.group, g.members.len());
                for m in &g.members {
                    println!("    {:<8} {}", m.org_code, m.reason);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct DeviantsArgs {
    #[arg(long, value_enum, default_value_t = PeersFormat::Table)]
    format: PeersFormat,
    /// The lake folder.
    #[arg(long, env = "AKO_LAKE", default_value = "lake")]
    lake: PathBuf,
    /// Read the lake as it was: a lake version, a date or an RFC 3339 time.
    #[arg(long)]
    as_of: Option<String>,
    /// The folder of indicator SQL files.
    #[arg(long, env = "AKO_QUERIES")]
    queries: Option<PathBuf>,
    /// Latest months the funnel pools.
    #[arg(long, default_value_t = DeviantOptions::default().funnel_months)]
    funnel_months: usize,
    /// Consecutive months of special-cause improvement that count as sustained.
    #[arg(long, default_value_t = DeviantOptions::default().sustained_months)]
    sustained_months: usize,
    /// Configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
}

pub async fn deviants_command(a: DeviantsArgs) -> anyhow::Result<ExitCode> {
    let dir = a.queries.unwrap_or_else(catalog::default_dir);
    let catalog = Catalog::load(&dir)
        .with_context(|| format!("loading indicators from {}", dir.display()))?;
    let (snapshot, ctx) = open_session(&a.lake, a.as_of.as_deref()).await?;
    let options = DeviantOptions {
        funnel_months: a.funnel_months.max(1),
        sustained_months: a.sustained_months.max(2),
    };
    let config = Config::load(a.config.as_deref()).map_err(user)?;
    let sources = ako::derived::Sources {
        catalog: &catalog,
        config: &config,
        compliance_dir: &ako::compliance::default_dir(),
        store: ako::derived::Store::for_lake(&a.lake, snapshot.lake_version),
    };
    let found = deviants::find(&ctx, &sources, &options).await?;
    match a.format {
        PeersFormat::Json => println!("{}", serde_json::to_string_pretty(&found)?),
        PeersFormat::Table => {
            if found.is_empty() {
                eprintln!("no positive deviants: nobody is significantly better than their peers");
            }
            for d in &found {
                let (kind, summary) = match &d.evidence {
                    Evidence::Funnel { summary, .. } => ("funnel", summary),
                    Evidence::Spc { summary, .. } => ("spc", summary),
                };
                println!("{:<8} {kind:<6} {summary}", d.org_code);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
