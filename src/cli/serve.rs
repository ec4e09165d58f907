//! `ako serve`, `ako token add` and `ako publish`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};

use ako::catalog::{self, Catalog};
use ako::compliance;
use ako::config::Config;
use ako::dashboard::compute::Cache;
use ako::dashboard::view::Edition;
use ako::dashboard::{self, Dashboards};
use ako::ingest::{self, IngestOptions, Status};
use ako::lake::Lake;
use ako::privacy::{Role, tokens};
use ako::web::{self, AppState, Settings};

use super::{UserError, user};

/// What the server and the publisher read.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// The lake folder.
    #[arg(long, env = "AKO_LAKE", default_value = "lake")]
    lake: PathBuf,
    /// Configuration file (tokens, pseudonym key, peer groups).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The folder of dashboard files.
    #[arg(long, env = "AKO_DASHBOARDS")]
    dashboards: Option<PathBuf>,
    /// The folder of indicator SQL files.
    #[arg(long, env = "AKO_QUERIES")]
    queries: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// With no lake there, the bundled sample is ingested first.
    #[command(flatten)]
    source: SourceArgs,
    /// Address to listen on. Without tokens configured only loopback is allowed.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Seconds between checks for a new lake version.
    #[arg(long, default_value_t = 10)]
    refresh: u64,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Folder to write the static site into (replaced whole).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    source: SourceArgs,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token; it is printed once and stored only as a hash.
    Add {
        #[arg(long, value_parser = role())]
        role: Role,
        /// The leader's or participant's organisation code.
        #[arg(long)]
        org: Option<String>,
        /// A moderator's or participant's learning session …
        #[arg(long)]
        session: Option<i64>,
        /// … and breakout group (its group_id, as `ako session show` lists it).
        #[arg(long)]
        group: Option<i64>,
        /// The lake folder, whose collaborative database holds the sessions.
        #[arg(long, env = "AKO_LAKE", default_value = "lake")]
        lake: PathBuf,
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// The session and group a moderator or participant token is for, checked against the
/// collaborative database: the group is the session's, and a participant's
/// organisation is in it.
fn token_scope(
    role: Role,
    org: Option<&str>,
    session: Option<i64>,
    group: Option<i64>,
    lake: &Path,
    config: &Config,
) -> anyhow::Result<Option<tokens::TokenScope>> {
    let (Some(session), Some(group)) = (session, group) else {
        if role.is_scoped() || session.is_some() || group.is_some() {
            return Err(user(tokens::TokenError::Scope));
        }
        return Ok(None);
    };
    let path = ako::collab::path(lake, config.collab.path.as_deref());
    if !path.is_file() {
        return Err(UserError(format!(
            "no collaborative database at {}: make the session first with `ako session create`",
            path.display()
        ))
        .into());
    }
    let found = ako::collab::Collab::open(&path)?
        .session(session)
        .map_err(user)?;
    let Some(g) = found.groups.iter().find(|g| g.group_id == group) else {
        return Err(UserError(format!("session {session} has no group {group}")).into());
    };
    if let Some(org) = org
        && !g.members.iter().any(|m| m.org_code == org)
    {
        return Err(UserError(format!(
            "{org} is not in group {group} ({}) of session {session}",
            g.name
        ))
        .into());
    }
    let date = chrono::NaiveDate::parse_from_str(&found.date, "%Y-%m-%d")
        .expect("the schema keeps dates as YYYY-MM-DD");
    Ok(Some(tokens::TokenScope {
        session,
        group,
        date,
    }))
}

/// `--role analyst|leader|facilitator|public`, parsed into the library's type.
fn role() -> impl clap::builder::TypedValueParser<Value = Role> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Role::ALL.map(Role::name))
        .map(|name| Role::parse(&name).expect("one of the possible values"))
}

fn sample_dir() -> PathBuf {
    let local = PathBuf::from("sample-data");
    if local.join("extracts").is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data")
}

async fn settings(args: SourceArgs) -> anyhow::Result<Settings> {
    let config = Config::load(args.config.as_deref()).map_err(user)?;
    let dir = args.queries.unwrap_or_else(catalog::default_dir);
    let catalog = Catalog::load(&dir)
        .with_context(|| format!("loading indicators from {}", dir.display()))?;
    let dir = args.dashboards.unwrap_or_else(dashboard::default_dir);
    let dashboards = Dashboards::load(&dir, &catalog).map_err(user)?;
    Ok(Settings {
        lake: args.lake,
        config,
        config_path: Some(Config::path(args.config.as_deref())).filter(|p| p.is_file()),
        catalog,
        dashboards,
        compliance_dir: compliance::default_dir(),
    })
}

/// Ingests the bundled sample when the lake holds nothing yet.
async fn ensure_lake(dir: &Path) -> anyhow::Result<()> {
    let lake = Lake::open(dir).with_context(|| format!("opening the lake at {}", dir.display()))?;
    if lake.snapshot(None).await?.lake_version.is_some() {
        return Ok(());
    }
    let sample = sample_dir();
    eprintln!(
        "ako: no lake at {}; ingesting the bundled synthetic sample from {} first",
        dir.display(),
        sample.display()
    );
    let reports = ingest::ingest(
        &lake,
        std::slice::from_ref(&sample),
        &IngestOptions::for_bundle(&sample),
        &(),
        &mut |_| {},
    )
    .await
    .context("ingesting the sample")?;
    let ingested = reports
        .iter()
        .filter(|r| r.status == Status::Ingested)
        .count();
    eprintln!("ako: ingested {ingested} sample files");
    Ok(())
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let settings = settings(args.source).await?;
    // Refused before the sample is ingested, not after.
    if let Some(refusal) = web::refuse_bind(&settings.config, args.addr) {
        return Err(UserError(refusal).into());
    }
    ensure_lake(&settings.lake).await?;
    let state = AppState::open(settings).await?;
    let announce = |event: web::ServeEvent| match event {
        web::ServeEvent::Listening { addr, tokens: 0 } => eprintln!(
            "ako: serving http://{addr}/ on loopback only: no tokens are configured, so everyone here is an analyst"
        ),
        web::ServeEvent::Listening { addr, tokens } => eprintln!(
            "ako: serving http://{addr}/ ; {tokens} token(s) configured; requests without one see public dashboards only"
        ),
        web::ServeEvent::Stopped => eprintln!("ako: stopped"),
    };
    // Held past the server's end so that the query runtime is never torn down under a
    // warm-up: the Delta kernel's `block_on` waits on a task spawned on that runtime and
    // panics when shutdown drops it. Every request has been answered by then and derived
    // files are written whole (temporary file, then rename), so the process just ends.
    let held = state.clone();
    web::serve(
        state,
        args.addr,
        Duration::from_secs(args.refresh.max(1)),
        &announce,
    )
    .await?;
    std::mem::forget(held);
    Ok(ExitCode::SUCCESS)
}

pub async fn publish(args: PublishArgs) -> anyhow::Result<ExitCode> {
    if !args.source.lake.exists() {
        return Err(UserError(format!("no lake at {}", args.source.lake.display())).into());
    }
    let settings = settings(args.source).await?;
    let lake = Lake::open(&settings.lake)
        .with_context(|| format!("opening the lake at {}", settings.lake.display()))?;
    let edition = Edition::load(&lake, &settings.basis()).await?;
    let summary = web::publish::publish(&Cache::default(), &edition, &args.out)
        .await
        .map_err(|e| match e {
            web::WebError::Refused(m) => anyhow::Error::new(UserError(m)),
            other => other.into(),
        })?;
    println!(
        "published {} dashboards, {} panels (lake version {}) to {}; every figure suppressed for the public",
        summary.dashboards,
        summary.panels,
        summary
            .lake_version
            .map_or("empty".into(), |v| v.to_string()),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn token(command: TokenCommand) -> anyhow::Result<ExitCode> {
    let TokenCommand::Add {
        role,
        org,
        session,
        group,
        lake,
        config,
    } = command;
    let path = Config::path(config.as_deref());
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let parsed = Config::parse(&path, &text).map_err(user)?;
    let scope = token_scope(role, org.as_deref(), session, group, &lake, &parsed)?;
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let token = tokens::add(
        &path,
        &text,
        parsed.privacy.pseudonym_key.is_some(),
        role,
        org.as_deref(),
        scope,
        &today,
    )
    .map_err(|e| match e {
        tokens::TokenError::Io { .. } => anyhow::Error::new(e),
        other => user(other),
    })?;
    // Re-read so a file this made invalid is caught now, not at the next start.
    let text = std::fs::read_to_string(&path)?;
    Config::parse(&path, &text).map_err(user)?;
    println!("{token}");
    eprintln!(
        "ako: added a {} token{} to {}; it is shown only now. Send it as `Authorization: Bearer TOKEN`, or sign in with it at /login in a browser.",
        role.name(),
        org.map(|o| format!(" for {o}")).unwrap_or_default(),
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}
