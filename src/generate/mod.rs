//! `ako generate`: a deterministic synthetic national sample. Never real people.
//!
//! Shaped by the real 2020/21 DHB populations and Māori shares, with rates in the AIHW
//! national range and the patterns users look for: Māori rates 1.6–3.6 times
//! non-Māori, improvers with a dated change idea, some worsening, outliers, minors,
//! long episodes, missing and late extracts, three source formats and a small share of
//! bad rows.

pub mod episodes;
pub mod export;
pub mod world;

use std::path::{Path, PathBuf};

use chrono::{Datelike, Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::ingest::profile::{CANONICAL_TOML, Profile};
use episodes::simulate;
use export::{Clock, ExtractWriter, Spoil, encode, spoil};
use world::{Export, Org, Trend, month_start};

/// The coded national-collection profile.
pub const NZ_COLLECTION_TOML: &str = include_str!("../../sample-data/profiles/nz_collection.toml");
/// The vendor JSON Lines profile.
pub const AU_COLLECTION_TOML: &str = include_str!("../../sample-data/profiles/au_collection.toml");
pub const VENDOR_JSONL_TOML: &str = include_str!("../../sample-data/profiles/vendor_jsonl.toml");

/// Options of `ako generate`.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub out: PathBuf,
    pub seed: u64,
    /// Financial years (July–June) ending June 2025.
    pub years: u32,
    /// Multiplies beds, and so activity and episodes.
    pub scale: f64,
    /// Share of rows spoiled.
    pub bad_row_share: f64,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            out: PathBuf::from("sample-data"),
            seed: 20_211_001,
            years: 4,
            scale: 1.0,
            bad_row_share: 0.004,
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct GenerateSummary {
    pub organisations: usize,
    pub extract_files: usize,
    pub episodes: usize,
    pub bad_rows: usize,
    pub bad_unparseable_date: usize,
    pub bad_end_before_start: usize,
    pub bad_unknown_code: usize,
    pub bad_missing_value: usize,
}

/// Errors of the generator.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--years must be 1 to 20 and --scale between 0.01 and 100")]
    BadOptions,
    #[error(transparent)]
    Profile(#[from] crate::ingest::profile::ProfileError),
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a reader never
/// sees half a file.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), GenerateError> {
    let io = |source| GenerateError::Io {
        path: path.to_path_buf(),
        source,
    };
    crate::atomic::write(path, bytes).map_err(io)
}

/// First month of the period: July of the first financial year.
pub fn period_start(years: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025 - years as i32, 7, 1).expect("valid date")
}

const CHANGE_IDEAS: [&str; 5] = [
    "Sensory modulation rooms opened on every ward",
    "Safewards model implemented with daily safety huddles",
    "Whānau liaison and peer support roles on the acute unit",
    "Post-seclusion debrief with the person and whānau within 72 hours",
    "Trauma-informed care training for all ward staff",
];

/// Generates the sample into `options.out`.
pub fn generate(options: &GenerateOptions) -> Result<GenerateSummary, GenerateError> {
    if !(1..=20).contains(&options.years) || !(0.01..=100.0).contains(&options.scale) {
        return Err(GenerateError::BadOptions);
    }
    let out = &options.out;
    let months = options.years as usize * 12;
    let start = period_start(options.years);
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let orgs = world::organisations(&mut rng, months, options.scale);

    let canonical = Profile::from_toml(CANONICAL_TOML, Path::new("canonical.toml"))?;
    let coded = Profile::from_toml(NZ_COLLECTION_TOML, Path::new("nz_collection.toml"))?;
    let vendor = Profile::from_toml(VENDOR_JSONL_TOML, Path::new("vendor_jsonl.toml"))?;
    let au_coded = Profile::from_toml(AU_COLLECTION_TOML, Path::new("au_collection.toml"))?;
    for (name, text) in [
        ("canonical", CANONICAL_TOML),
        ("nz_collection", NZ_COLLECTION_TOML),
        ("au_collection", AU_COLLECTION_TOML),
        ("vendor_jsonl", VENDOR_JSONL_TOML),
    ] {
        write_file(
            &out.join("profiles").join(format!("{name}.toml")),
            text.as_bytes(),
        )?;
    }

    let mut summary = GenerateSummary {
        organisations: orgs.len(),
        ..Default::default()
    };
    let mut activity_csv = String::from(
        "org_code,month,setting,ethnicity,indigenous_status,people,admissions,bed_days\n",
    );
    let mut submissions_csv = String::from("org_code,month,due_date,received_date\n");
    let mut ideas_csv = String::from("org_code,started,title\n");
    let mut periods_csv = String::from("org_code,period,ethnicity,indigenous_status,people\n");
    for (i, org) in orgs.iter().enumerate() {
        let mut org_rng =
            ChaCha8Rng::seed_from_u64(options.seed.wrapping_mul(1_000_003).wrapping_add(i as u64));
        let sim = simulate(&mut org_rng, org, start, months);
        for a in &sim.activity {
            activity_csv.push_str(&format!(
                "{},{},{},{},{},{},{}\n",
                org.code,
                a.month,
                a.setting,
                a.group.cells(),
                a.people,
                a.admissions,
                a.bed_days
            ));
        }
        for (period, group, people) in episodes::period_inpatients(&sim) {
            periods_csv.push_str(&format!(
                "{},{period},{},{people}\n",
                org.code,
                group.cells()
            ));
        }
        for m in 0..months {
            let due = month_start(start, m + 1) + Duration::days(19);
            let received = if org.missing.contains(&m) {
                String::new()
            } else if let Some((_, days)) = org.late.iter().find(|(lm, _)| *lm == m) {
                (due + Duration::days(*days)).to_string()
            } else {
                (due - Duration::days(org_rng.random_range(0..12))).to_string()
            };
            submissions_csv.push_str(&format!(
                "{},{},{due},{received}\n",
                org.code,
                month_start(start, m).format("%Y-%m")
            ));
        }
        if let Trend::Improving { month_index } = org.trend {
            let title = CHANGE_IDEAS[i % CHANGE_IDEAS.len()];
            ideas_csv.push_str(&format!(
                "{},{},{title}\n",
                org.code,
                month_start(start, month_index)
            ));
        }
        write_extracts(
            org,
            &sim.episodes,
            start,
            months,
            options,
            &mut org_rng,
            [&canonical, &coded, &au_coded, &vendor],
            &mut summary,
        )?;
    }
    let reference = out.join("reference");
    write_file(
        &reference.join("organisations.csv"),
        world::organisations_csv(&orgs).as_bytes(),
    )?;
    let years = start.year()..=start.year() + options.years as i32;
    write_file(
        &reference.join("population.csv"),
        world::population_csv(&orgs, years).as_bytes(),
    )?;
    write_file(
        &reference.join("inpatient_activity.csv"),
        activity_csv.as_bytes(),
    )?;
    write_file(
        &reference.join("inpatients_by_period.csv"),
        periods_csv.as_bytes(),
    )?;
    write_file(
        &reference.join("standard_population.csv"),
        world::standard_population_csv().as_bytes(),
    )?;
    write_file(
        &reference.join("submissions.csv"),
        submissions_csv.as_bytes(),
    )?;
    write_file(&reference.join("change_ideas.csv"), ideas_csv.as_bytes())?;
    write_file(&out.join("README.md"), readme(options, &summary).as_bytes())?;
    Ok(summary)
}

#[allow(clippy::too_many_arguments)]
fn write_extracts(
    org: &Org,
    episodes: &[episodes::SimEpisode],
    start: NaiveDate,
    months: usize,
    options: &GenerateOptions,
    rng: &mut ChaCha8Rng,
    [canonical, coded, au_coded, vendor]: [&Profile; 4],
    summary: &mut GenerateSummary,
) -> Result<(), GenerateError> {
    let (profile, clock, ext) = match org.export {
        Export::Canonical => (canonical, Clock::LocalOffset, "csv"),
        Export::Coded => (coded, Clock::LocalOffset, "txt"),
        Export::AuCoded => (au_coded, Clock::LocalOffset, "csv"),
        Export::Jsonl => (vendor, Clock::Utc, "jsonl"),
    };
    let start_index = start.year() * 12 + start.month0() as i32;
    let mut files: Vec<ExtractWriter> = (0..options.years)
        .map(|_| ExtractWriter::new(profile, org.jurisdiction.group_code_set()))
        .collect();
    let mut rows = vec![0usize; files.len()];
    for e in episodes {
        let local = e.start.date_naive();
        let m = (local.year() * 12 + local.month0() as i32 - start_index) as usize;
        if m >= months || org.missing.contains(&m) {
            continue;
        }
        let mut values = encode(e, &org.code, profile, clock);
        if rng.random_bool(options.bad_row_share) {
            summary.bad_rows += 1;
            match spoil(rng, &mut values) {
                Spoil::UnparseableDate => summary.bad_unparseable_date += 1,
                Spoil::EndBeforeStart => summary.bad_end_before_start += 1,
                Spoil::UnknownCode => summary.bad_unknown_code += 1,
                Spoil::MissingValue => summary.bad_missing_value += 1,
            }
        } else {
            summary.episodes += 1;
        }
        files[m / 12].push(&values);
        rows[m / 12] += 1;
    }
    for (fy, file) in files.into_iter().enumerate() {
        if rows[fy] == 0 {
            continue;
        }
        let first_year = start.year() + fy as i32;
        let name = format!(
            "{}_FY{}-{:02}.{ext}",
            org.code,
            first_year,
            (first_year + 1) % 100
        );
        write_file(
            &options.out.join("extracts").join(&org.code).join(name),
            &file.finish(),
        )?;
        summary.extract_files += 1;
    }
    Ok(())
}

fn readme(options: &GenerateOptions, s: &GenerateSummary) -> String {
    format!(
        "# Synthetic sample (never real people)\n\n\
Generated by `ako generate --seed {} --years {} --scale {}`. Every person, episode and\n\
organisation figure here is invented; DHB populations and Māori shares are the real\n\
2020/21 Ministry of Health projections, used only to give the sample a realistic shape.\n\
The Australian services, their populations and their Indigenous population shares are\n\
synthetic (of the order of their regions', not any real service's): no ABS file ships\n\
here, so `population.csv` gives their catchments by Indigenous status as the ABS\n\
estimated resident population would (Aboriginal, Torres Strait Islander, both, neither).\n\n\
- `reference/`: organisations, population, inpatient activity, standard population,\n  \
extract submissions (due and received dates) and dated change ideas.\n\
- `extracts/<ORG>/`: one file per organisation and financial year, in that\n  \
organisation's own format: canonical CSV (`.csv`), the coded NZ national-collection\n  \
layout (`.txt`, pipe-delimited), a coded Australian state collection (`.csv`, ABS\n  \
Indigenous status codes) or a vendor JSON Lines export (`.jsonl`). New Zealand rows\n  \
carry prioritised ethnicity; Australian rows carry Indigenous status instead.\n\
- `profiles/`: how each format maps onto the episode model.\n\n\
{} organisations, {} extract files, {} valid episodes and {} deliberately bad rows\n\
({} unparseable dates, {} ends before starts, {} unknown codes, {} missing values).\n",
        options.seed,
        options.years,
        options.scale,
        s.organisations,
        s.extract_files,
        s.episodes,
        s.bad_rows,
        s.bad_unparseable_date,
        s.bad_end_before_start,
        s.bad_unknown_code,
        s.bad_missing_value
    )
}
