//! Argument parsing and command dispatch: translates between the terminal and the
//! library, and owns exit codes.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use ako::catalog::{self, Catalog};
use ako::compliance;
use ako::config::Config;
use ako::derived;
use ako::generate::{self, GenerateOptions};
use ako::ingest::{self, FileReport, IngestOptions, Status};
use ako::lake::{AsOf, Lake, LakeError, Snapshot};
use ako::render::{self, TableFormat};
use datafusion::prelude::SessionContext;

mod ideas;
mod peers;
mod serve;
mod session;
mod stats;

/// Exit code for refused input or input the user must correct (**contract**).
const EXIT_REFUSED: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "ako",
    version,
    about = "National benchmarking for reducing seclusion and restraint"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a deterministic synthetic national sample (never real people).
    Generate {
        /// Folder to write into.
        #[arg(long, default_value = "sample-data")]
        out: PathBuf,
        /// Random seed: the same seed gives the same files.
        #[arg(long, default_value_t = GenerateOptions::default().seed)]
        seed: u64,
        /// Financial years (July–June) ending June 2025.
        #[arg(long, default_value_t = 4)]
        years: u32,
        /// Multiplies beds, activity and episodes.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
    },
    /// Load extracts and reference tables (files or folders) into the lake.
    Ingest {
        /// Files or folders; folders are searched recursively.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The lake folder.
        #[arg(long, env = "AKO_LAKE", default_value = "lake")]
        lake: PathBuf,
        /// Read every extract with this profile instead of detecting it from the header.
        #[arg(long)]
        profile: Option<String>,
        /// A folder of profile TOML files (repeatable; also `AKO_PROFILES`, separated by
        /// `:`). A folder named `profiles` among PATHS is not read.
        #[arg(long = "profiles", env = "AKO_PROFILES", value_delimiter = ':')]
        profile_dirs: Vec<PathBuf>,
        /// `json` prints one object per file on its own line.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Run an indicator from `queries/` over the lake.
    Query {
        /// The indicator (a file stem in queries/).
        #[arg(required_unless_present = "list")]
        name: Option<String>,
        /// List the indicators with their parameters.
        #[arg(long)]
        list: bool,
        /// A parameter value, name=value (repeatable).
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        #[arg(long, value_parser = table_format(), default_value = "table")]
        format: TableFormat,
        /// The lake folder.
        #[arg(long, env = "AKO_LAKE", default_value = "lake")]
        lake: PathBuf,
        /// Read the lake as it was: a lake version, a date (YYYY-MM-DD) or an RFC 3339 time.
        #[arg(long)]
        as_of: Option<String>,
        /// The folder of indicator SQL files.
        #[arg(long, env = "AKO_QUERIES")]
        queries: Option<PathBuf>,
        /// Configuration file (peer-group settings for indicators by peer group).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Print the SQL's plan with each operator's rows and time (EXPLAIN ANALYZE)
        /// instead of the result.
        #[arg(long)]
        explain: bool,
    },
    /// Peer groups by size, by shared challenge, or as the facilitator set them.
    Peers(peers::PeersArgs),
    /// Organisations significantly better than their peers, with the evidence.
    Deviants(peers::DeviantsArgs),
    /// Serve the dashboards over HTTP (ingests the bundled sample if there is no lake).
    Serve(serve::ServeArgs),
    /// Bearer tokens for the dashboard server.
    Token {
        #[command(subcommand)]
        command: serve::TokenCommand,
    },
    /// Write the public dashboards as a static folder, small cells suppressed.
    Publish(serve::PublishArgs),
    /// Learning sessions: breakout groups by size or shared challenge, and moderators.
    Session {
        #[command(subcommand)]
        command: session::SessionCommand,
    },
    /// Change ideas (PDSA), what the charts show since each, and proposed rebases.
    Ideas {
        #[command(subcommand)]
        command: ideas::IdeasCommand,
    },
    /// The collaborative database (sessions, notes): an online backup.
    Collab {
        #[command(subcommand)]
        command: session::CollabCommand,
    },
    /// Statistics on your own CSV table: SPC charts, funnels, rates, DSRs, ratios.
    Stats {
        #[command(subcommand)]
        method: stats::StatsCommand,
    },
}

/// An error that is the user's to correct: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UserError(String);

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AKO_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ako: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ako: {e:#}");
            if e.downcast_ref::<UserError>().is_some() {
                ExitCode::from(EXIT_REFUSED)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Stats { method } => stats::run(method),
        Command::Session { command } => session::session(command).await,
        Command::Collab { command } => session::collab(command),
        Command::Ideas { command } => ideas::ideas(command).await,
        Command::Serve(args) => serve::serve(args).await,
        Command::Token { command } => serve::token(command),
        Command::Publish(args) => serve::publish(args).await,
        Command::Peers(args) => peers::run(args).await,
        Command::Deviants(args) => peers::deviants_command(args).await,
        Command::Generate {
            out,
            seed,
            years,
            scale,
        } => {
            let options = GenerateOptions {
                out: out.clone(),
                seed,
                years,
                scale,
                ..Default::default()
            };
            let s = generate::generate(&options).map_err(|e| match e {
                generate::GenerateError::BadOptions => anyhow::Error::new(UserError(e.to_string())),
                other => anyhow::Error::new(other),
            })?;
            println!(
                "wrote {}: {} organisations, {} extract files, {} episodes, {} bad rows",
                out.display(),
                s.organisations,
                s.extract_files,
                s.episodes,
                s.bad_rows
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Ingest {
            paths,
            lake,
            profile,
            profile_dirs,
            format,
        } => ingest_command(paths, lake, profile, profile_dirs, format).await,
        Command::Query {
            name,
            list,
            params,
            format,
            lake,
            as_of,
            queries,
            config,
            explain,
        } => {
            let dir = queries.unwrap_or_else(catalog::default_dir);
            let catalog = Catalog::load(&dir)
                .with_context(|| format!("loading indicators from {}", dir.display()))?;
            if list {
                return list_indicators(&catalog, format);
            }
            let name = name.expect("clap requires NAME without --list");
            let indicator = catalog.get(&name).map_err(user)?;
            let given = params
                .iter()
                .map(|p| catalog::parse_param_arg(p))
                .collect::<Result<Vec<_>, _>>()
                .map_err(user)?;
            indicator.bind(&given).map_err(user)?;
            let (snapshot, ctx) = open_session(&lake, as_of.as_deref()).await?;
            let config = Config::load(config.as_deref()).map_err(user)?;
            let sources = derived::Sources {
                catalog: &catalog,
                config: &config,
                compliance_dir: &compliance::default_dir(),
                store: derived::Store::for_lake(&lake, snapshot.lake_version),
            };
            if explain {
                let plan = derived::explain(&ctx, indicator, &given, &sources)
                    .await
                    .map_err(user)?;
                println!("{plan}");
                return Ok(ExitCode::SUCCESS);
            }
            let batches = derived::run(&ctx, indicator, &given, &sources)
                .await
                .map_err(|e| match e {
                    derived::DerivedError::Rules(_) | derived::DerivedError::Peers(_) => user(e),
                    other => anyhow::Error::new(other),
                })?;
            let text = render::render(&batches, format)?;
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{}", text.trim_end())?;
            if format == TableFormat::Table {
                eprintln!(
                    "{} (lake version {})",
                    indicator.title,
                    snapshot
                        .lake_version
                        .map_or("empty".into(), |v| v.to_string())
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The lake at `dir` as of `as_of` (a version, date or time), with a query session over it.
pub(crate) async fn open_session(
    dir: &std::path::Path,
    as_of: Option<&str>,
) -> anyhow::Result<(Snapshot, SessionContext)> {
    let as_of = as_of.map(|a| a.parse::<AsOf>()).transpose().map_err(user)?;
    if !dir.exists() {
        return Err(UserError(format!(
            "no lake at {}; load one first with `ako ingest sample-data --lake {}`",
            dir.display(),
            dir.display()
        ))
        .into());
    }
    let lake = Lake::open(dir)?;
    let snapshot = lake.snapshot(as_of.as_ref()).await.map_err(|e| match e {
        LakeError::NoSuchVersion { .. } | LakeError::NothingAsOf(_) => {
            anyhow::Error::new(UserError(e.to_string()))
        }
        other => other.into(),
    })?;
    let ctx = lake.session(&snapshot).await?;
    Ok((snapshot, ctx))
}

/// Marks catalogue and lake errors that the user must correct.
pub(crate) fn user<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::Error::new(UserError(e.to_string()))
}

fn list_indicators(catalog: &Catalog, format: TableFormat) -> anyhow::Result<ExitCode> {
    let indicators: Vec<_> = catalog.indicators().collect();
    match format {
        TableFormat::Json => println!("{}", serde_json::to_string_pretty(&indicators)?),
        TableFormat::Csv => {
            println!("name,title,unit,params");
            for i in indicators {
                let params: Vec<String> = i
                    .params
                    .iter()
                    .map(|p| format!("{}={}", p.name, p.default))
                    .collect();
                println!(
                    "{},\"{}\",\"{}\",\"{}\"",
                    i.name,
                    i.title,
                    i.unit,
                    params.join(" ")
                );
            }
        }
        TableFormat::Table => {
            for i in indicators {
                println!("{}\n    {} [{}]", i.name, i.title, i.unit);
                for p in &i.params {
                    let default = if p.default.is_empty() {
                        "''".to_string()
                    } else {
                        p.default.clone()
                    };
                    println!(
                        "    --param {}=… ({}, default {default}) {}",
                        p.name,
                        serde_json::to_value(p.kind)?.as_str().unwrap_or(""),
                        p.description
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(r: &FileReport, format: ReportFormat) {
    match format {
        ReportFormat::Json => {
            println!("{}", serde_json::to_string(r).expect("a report serialises"));
        }
        ReportFormat::Text => {
            let version = r.lake_version.map_or("-".into(), |v| v.to_string());
            match r.status {
                Status::Refused => println!(
                    "refused    {}\n           {}",
                    r.file,
                    r.error.as_deref().unwrap_or("")
                ),
                status => println!(
                    "{:<10} {}  {}  read {} = accepted {} + rejected {}  (lake version {version})",
                    format!("{status:?}").to_lowercase(),
                    r.file,
                    r.org_code.as_deref().unwrap_or(r.kind.name()),
                    r.rows_read,
                    r.rows_accepted,
                    r.rows_rejected
                ),
            }
        }
    }
}

/// `--format table|csv|json`, parsed into the library's type (which carries no
/// command-line crate).
fn table_format() -> impl clap::builder::TypedValueParser<Value = TableFormat> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["table", "csv", "json"]).map(|s| match s.as_str() {
        "csv" => TableFormat::Csv,
        "json" => TableFormat::Json,
        _ => TableFormat::Table,
    })
}

/// The terminal's progress bar for an ingest.
struct Bar(ProgressBar);

impl ingest::Progress for Bar {
    fn start(&self, total_bytes: u64) {
        self.0.set_length(total_bytes);
    }
    fn set(&self, bytes: u64) {
        self.0.set_position(bytes);
    }
    fn done(&self) {
        self.0.finish_and_clear();
    }
}

async fn ingest_command(
    paths: Vec<PathBuf>,
    lake: PathBuf,
    profile: Option<String>,
    profile_dirs: Vec<PathBuf>,
    format: ReportFormat,
) -> anyhow::Result<ExitCode> {
    let lake =
        Lake::open(&lake).with_context(|| format!("opening the lake at {}", lake.display()))?;
    let options = IngestOptions {
        profile,
        profile_dirs,
    };
    let progress = if format == ReportFormat::Text && std::io::stderr().is_terminal() {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} ingest [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let reports = ingest::ingest(&lake, &paths, &options, &Bar(progress.clone()), &mut |r| {
        progress.suspend(|| print_report(r, format));
    })
    .await
    .map_err(|e| match e {
        ingest::IngestError::NoInput(_)
        | ingest::IngestError::UnknownProfile { .. }
        | ingest::IngestError::Profile(_) => anyhow::Error::new(UserError(e.to_string())),
        other => anyhow::Error::new(other)
            .context("ingest failed; the lake is as it was before this file"),
    })?;
    let refused = reports
        .iter()
        .filter(|r| r.status == Status::Refused)
        .count();
    if format == ReportFormat::Text {
        let sum = |f: fn(&FileReport) -> u64| reports.iter().map(f).sum::<u64>();
        eprintln!(
            "{} files: {} ingested, {} unchanged, {refused} refused; rows read {} = accepted {} + rejected {}",
            reports.len(),
            reports
                .iter()
                .filter(|r| r.status == Status::Ingested)
                .count(),
            reports
                .iter()
                .filter(|r| r.status == Status::Unchanged)
                .count(),
            sum(|r| r.rows_read),
            sum(|r| r.rows_accepted),
            sum(|r| r.rows_rejected),
        );
    }
    Ok(if refused > 0 {
        ExitCode::from(EXIT_REFUSED)
    } else {
        ExitCode::SUCCESS
    })
}
