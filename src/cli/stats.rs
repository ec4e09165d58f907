//! `ako stats METHOD --input FILE.csv`: the statistics engine on an analyst's own table.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use ako::sheet::{self, Report, Sheet, Standard};
use ako::stats::funnel::{FunnelOptions, FunnelType, Overdispersion};
use ako::stats::level::parse_levels;
use ako::stats::spc::{Chart, Convention, Direction, SpcOptions};

use super::UserError;

#[derive(Debug, Subcommand)]
pub enum StatsCommand {
    /// Run chart or control chart (input x,y or x,count,n).
    Spc(SpcArgs),
    /// Funnel plot comparing units (input unit,numerator,denominator).
    Funnel(FunnelArgs),
    /// Rates with exact (<10 events) or Byar limits (input unit,count,denominator).
    Rate(RateArgs),
    /// Proportions with Wilson limits (input unit,count,denominator).
    Proportion(RateArgs),
    /// Directly age-standardised rates (input unit,age_band,count,population).
    Dsr(DsrArgs),
    /// Rate ratios a/pa ÷ b/pb, Wald and exact (input a,pa,b,pb).
    Ratio(RatioArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct Io {
    /// The table: CSV (`-` reads standard input) or a workbook (.xlsx, .xls, .ods).
    #[arg(long)]
    input: PathBuf,
    /// The workbook's sheet to read (default: its first).
    #[arg(long)]
    sheet: Option<String>,
    /// `csv` writes the rows only (points, units); `json` the whole result.
    #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
    format: OutputFormat,
    #[command(flatten)]
    roles: Roles,
}

/// The table's own column names for what a method reads, so an analyst's spreadsheet
/// is read as it comes (`--x month --count seclusions --n bed_days`). Each defaults to
/// the role's own name.
#[derive(Debug, Args)]
pub struct Roles {
    /// The column of subgroups (spc): dates, numbers or labels.
    #[arg(long, value_name = "COL")]
    x: Option<String>,
    /// The column of values (spc run, i and mr charts).
    #[arg(long, value_name = "COL")]
    y: Option<String>,
    /// The column of counts (spc c, u, p charts; rate; proportion).
    #[arg(long, value_name = "COL")]
    count: Option<String>,
    /// The column of subgroup sizes (spc u and p charts).
    #[arg(long, value_name = "COL")]
    n: Option<String>,
    /// The column naming each unit (funnel, rate, proportion, dsr).
    #[arg(long, value_name = "COL")]
    unit: Option<String>,
    /// The column of numerators (funnel).
    #[arg(long, value_name = "COL")]
    numerator: Option<String>,
    /// The column of denominators (funnel, rate, proportion).
    #[arg(long, value_name = "COL")]
    denominator: Option<String>,
}

impl Roles {
    fn given(&self) -> Vec<(&'static str, &str)> {
        [
            ("x", &self.x),
            ("y", &self.y),
            ("count", &self.count),
            ("n", &self.n),
            ("unit", &self.unit),
            ("numerator", &self.numerator),
            ("denominator", &self.denominator),
        ]
        .into_iter()
        .filter_map(|(role, col)| col.as_deref().map(|c| (role, c)))
        .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChartArg {
    Run,
    I,
    Mr,
    C,
    U,
    P,
    Up,
    Pp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConventionArg {
    Anhoej,
    Mdc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    Increase,
    Decrease,
    Neutral,
}

#[derive(Debug, Args)]
pub struct SpcArgs {
    #[command(flatten)]
    io: Io,
    #[arg(long, value_enum)]
    chart: ChartArg,
    /// `anhoej` (qicharts2) or `mdc` (NHS Making Data Count, XmR only).
    #[arg(long, value_enum, default_value_t = ConventionArg::Anhoej)]
    convention: ConventionArg,
    /// Centre and limits from points 1..=K only (mdc: within each part).
    #[arg(long, value_name = "K")]
    freeze: Option<usize>,
    /// Points (1-based) left out of the centre and limits, e.g. 3,7.
    #[arg(long, value_delimiter = ',')]
    exclude: Vec<usize>,
    /// Recalculate after these points (1-based), e.g. 12,24.
    #[arg(long, value_delimiter = ',')]
    part: Vec<usize>,
    /// Multiply values and lines by M (100 for percentages).
    #[arg(long, default_value_t = 1.0, value_name = "M")]
    multiply: f64,
    /// Screen moving ranges of 3.267·MR̄ or more out of the limits.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    screen: bool,
    /// Which way is improvement (mdc).
    #[arg(long, value_enum, default_value_t = DirectionArg::Increase)]
    direction: DirectionArg,
    /// A target for the mdc assurance icon.
    #[arg(long, value_name = "T")]
    target: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FunnelTypeArg {
    Ratio,
    Rate,
    Proportion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OdArg {
    None,
    Shmi,
    Spiegelhalter,
}

#[derive(Debug, Args)]
pub struct FunnelArgs {
    #[command(flatten)]
    io: Io,
    /// `ratio`: denominator is the expected count; `rate`: an exposure; `proportion`: cases.
    #[arg(long = "type", value_enum)]
    kind: FunnelTypeArg,
    /// Overdispersion: `shmi` (log scale, rank truncation) or `spiegelhalter` (winsorised).
    #[arg(long, value_enum, default_value_t = OdArg::None)]
    od: OdArg,
    /// Share truncated or winsorised at each end before φ is estimated.
    #[arg(long, default_value_t = 0.1)]
    trim: f64,
    #[arg(long, default_value_t = 1.0, value_name = "M")]
    multiplier: f64,
}

#[derive(Debug, Args)]
pub struct RateArgs {
    #[command(flatten)]
    io: Io,
    /// Per M of the denominator (1000 for per 1,000 bed days).
    #[arg(long, default_value_t = 1.0, value_name = "M")]
    multiplier: f64,
    /// Confidence levels, e.g. 0.95,0.998.
    #[arg(long, default_value = "0.95")]
    conf: String,
}

#[derive(Debug, Args)]
pub struct DsrArgs {
    #[command(flatten)]
    io: Io,
    /// `esp2013` or a CSV of age_band,weight.
    #[arg(long, default_value = "esp2013")]
    standard: String,
    #[arg(long, default_value_t = 100_000.0, value_name = "M")]
    multiplier: f64,
    #[arg(long, default_value = "0.95")]
    conf: String,
    /// Add each unit's ratio to this unit's DSR (log method).
    #[arg(long, value_name = "UNIT")]
    reference: Option<String>,
}

#[derive(Debug, Args)]
pub struct RatioArgs {
    #[command(flatten)]
    io: Io,
    #[arg(long, default_value = "0.95")]
    conf: String,
}

fn user(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::new(UserError(e.to_string()))
}

/// The table, its roles read from the columns the flags name; a flag for a column the
/// method does not read is refused rather than ignored.
fn read(io: &Io, method: &str, reads: &[&str]) -> anyhow::Result<Sheet> {
    let given = io.roles.given();
    if let Some((role, _)) = given.iter().find(|(r, _)| !reads.contains(r)) {
        return Err(user(format!(
            "--{role}: ako stats {method} does not read a {role} column (it reads {})",
            reads.join(", ")
        )));
    }
    let mut t = Sheet::read(&io.input, io.sheet.as_deref()).map_err(user)?;
    for (role, column) in given {
        t.alias(role, column).map_err(user)?;
    }
    Ok(t)
}

pub fn run(command: StatsCommand) -> anyhow::Result<ExitCode> {
    let (report, format) = match command {
        StatsCommand::Spc(a) => {
            let options = SpcOptions {
                chart: match a.chart {
                    ChartArg::Run => Chart::Run,
                    ChartArg::I => Chart::I,
                    ChartArg::Mr => Chart::Mr,
                    ChartArg::C => Chart::C,
                    ChartArg::U => Chart::U,
                    ChartArg::P => Chart::P,
                    ChartArg::Up => Chart::Up,
                    ChartArg::Pp => Chart::Pp,
                },
                convention: match a.convention {
                    ConventionArg::Anhoej => Convention::Anhoej,
                    ConventionArg::Mdc => Convention::Mdc,
                },
                freeze: a.freeze,
                exclude: a.exclude,
                part: a.part,
                multiply: a.multiply,
                screen: a.screen,
                direction: match a.direction {
                    DirectionArg::Increase => Direction::Increase,
                    DirectionArg::Decrease => Direction::Decrease,
                    DirectionArg::Neutral => Direction::Neutral,
                },
                target: a.target,
                categorical: false,
            };
            let t = read(&a.io, "spc", &["x", "y", "count", "n"])?;
            (sheet::spc_report(&t, options).map_err(user)?, a.io.format)
        }
        StatsCommand::Funnel(a) => {
            let options = FunnelOptions {
                kind: match a.kind {
                    FunnelTypeArg::Ratio => FunnelType::Ratio,
                    FunnelTypeArg::Rate => FunnelType::Rate,
                    FunnelTypeArg::Proportion => FunnelType::Proportion,
                },
                od: match a.od {
                    OdArg::None => Overdispersion::None,
                    OdArg::Shmi => Overdispersion::Shmi,
                    OdArg::Spiegelhalter => Overdispersion::Spiegelhalter,
                },
                trim: a.trim,
                multiplier: a.multiplier,
            };
            let t = read(&a.io, "funnel", &["unit", "numerator", "denominator"])?;
            (
                sheet::funnel_report(&t, options).map_err(user)?,
                a.io.format,
            )
        }
        StatsCommand::Rate(a) => {
            let levels = parse_levels(&a.conf).map_err(user)?;
            let t = read(&a.io, "rate", &["unit", "count", "denominator"])?;
            (
                sheet::rate_report(&t, &levels, a.multiplier).map_err(user)?,
                a.io.format,
            )
        }
        StatsCommand::Proportion(a) => {
            let levels = parse_levels(&a.conf).map_err(user)?;
            let t = read(&a.io, "proportion", &["unit", "count", "denominator"])?;
            (
                sheet::proportion_report(&t, &levels, a.multiplier).map_err(user)?,
                a.io.format,
            )
        }
        StatsCommand::Dsr(a) => {
            let levels = parse_levels(&a.conf).map_err(user)?;
            let standard = if a.standard.eq_ignore_ascii_case("esp2013") {
                Standard::esp2013()
            } else {
                let t = Sheet::read(std::path::Path::new(&a.standard), None).map_err(user)?;
                Standard::from_table(&t).map_err(user)?
            };
            let t = read(&a.io, "dsr", &["unit"])?;
            let report =
                sheet::dsr_report(&t, &standard, &levels, a.multiplier, a.reference.as_deref())
                    .map_err(user)?;
            (report, a.io.format)
        }
        StatsCommand::Ratio(a) => {
            let levels = parse_levels(&a.conf).map_err(user)?;
            let t = read(&a.io, "ratio", &["unit"])?;
            (sheet::ratio_report(&t, &levels).map_err(user)?, a.io.format)
        }
    };
    write(&report, format)?;
    Ok(ExitCode::SUCCESS)
}

fn write(report: &Report, format: OutputFormat) -> anyhow::Result<()> {
    let text = match format {
        OutputFormat::Json => report.json(),
        OutputFormat::Csv => report.csv(),
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", text.trim_end())?;
    Ok(())
}
