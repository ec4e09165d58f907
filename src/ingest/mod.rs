//! Ingest: extract files and reference tables into the lake.
//!
//! Per extract: hash the file (its `extract_id`); skip it if the manifest already has
//! it; detect or take its profile; stream its records through the identifiable-data
//! guard and row validation into staging Parquet. The run then commits what it staged
//! together ([`commit`]): episodes (each extract replacing its organisation's months),
//! rejections and the manifest rows, in that order. Nothing is written to a table until
//! a whole file has been read, so a refused file leaves the lake untouched.

mod ahead;
pub mod batch;
mod commit;
pub mod duplicates;
pub mod guard;
pub mod limits;
pub mod period;
pub mod profile;
pub mod reference;
pub mod source;
pub mod validate;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::RecordBatch;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::lake::{Lake, LakeError, Snapshot, StagedRows, StagedWriter, WriteInput, WriteMode};
use crate::model::{self, Jurisdiction, ReferenceTable};
use batch::{BATCH_ROWS, EpisodeBatch, Lines, RejectionBatch};
use commit::{CommitSet, Known, ManifestEntry, PendingExtract};
use period::Period;
use profile::{Profile, ProfileError, ProfileSet, SourceFormat};
use source::{Item, Refusal};
use validate::{Episode, RejectReason, RowRejection, Validator};

/// Outcome of one file (**contract**: `ako ingest --format json` prints these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ingested,
    Unchanged,
    Refused,
}

/// What a file is (**contract** names in the JSON report and the manifest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// An organisation's episodes.
    Extract,
    /// A reference table (`organisations.csv`, …).
    Reference,
}

impl FileKind {
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Extract => "extract",
            FileKind::Reference => "reference",
        }
    }
}

/// What happened to one file (**contract** for the JSON fields).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileReport {
    pub file: String,
    pub kind: FileKind,
    pub org_code: Option<String>,
    pub profile: Option<String>,
    pub status: Status,
    pub rows_read: u64,
    pub rows_accepted: u64,
    pub rows_rejected: u64,
    /// First and last month (`YYYY-MM`, local time) the extract covers.
    pub period_from: Option<String>,
    pub period_to: Option<String>,
    /// Why the file was refused; null otherwise.
    pub error: Option<String>,
    /// The lake version after this file: the run commits files together, so those
    /// committed at once share it (null for an empty lake).
    pub lake_version: Option<i64>,
}

/// Failures that stop an ingest (as opposed to a refused file, which is reported).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("staging: {0}")]
    Parquet(#[from] datafusion::parquet::errors::ParquetError),
    #[error("staging: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    #[error(transparent)]
    DataFusion(Box<datafusion::error::DataFusionError>),
    #[error("{0}: no such file or folder")]
    NoInput(PathBuf),
    #[error("--profile {name}: no such profile (known: {known})")]
    UnknownProfile { name: String, known: String },
}

boxed_datafusion_error!(IngestError, IngestError::DataFusion);

/// How an ingest reports progress, in bytes of input read. The command line draws a bar
/// with it; a server, a benchmark or a test passes `&()`, which reports nothing.
pub trait Progress: Sync {
    /// The ingest will read about `total_bytes`.
    fn start(&self, _total_bytes: u64) {}
    /// `bytes` of the total are read.
    fn set(&self, _bytes: u64) {}
    /// The ingest is over.
    fn done(&self) {}
}

impl Progress for () {}

/// The position of an ingest in its input, passed on to a [`Progress`].
struct Meter<'a> {
    sink: &'a dyn Progress,
    position: std::sync::atomic::AtomicU64,
}

impl<'a> Meter<'a> {
    fn new(sink: &'a dyn Progress) -> Meter<'a> {
        Meter {
            sink,
            position: 0.into(),
        }
    }

    fn position(&self) -> u64 {
        self.position.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn set_position(&self, bytes: u64) {
        self.position
            .store(bytes, std::sync::atomic::Ordering::Relaxed);
        self.sink.set(bytes);
    }

    fn inc(&self, bytes: u64) {
        self.set_position(self.position() + bytes);
    }
}

/// Options of an ingest.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Use this profile for every extract instead of detecting one from the header.
    pub profile: Option<String>,
    /// Folders of profile TOML files, from `--profiles` or configuration. A folder of
    /// profiles that happens to be among the inputs is never read: whoever can put a
    /// file among the inputs must not be able to change how every extract is mapped.
    pub profile_dirs: Vec<PathBuf>,
}

impl IngestOptions {
    /// How to ingest a folder laid out as `ako generate` writes it (`reference/`,
    /// `extracts/ORG/`, `profiles/`): the caller names the folder, so its profiles are
    /// the ones meant.
    pub fn for_bundle(dir: &Path) -> IngestOptions {
        IngestOptions {
            profile: None,
            profile_dirs: vec![dir.join("profiles")],
        }
    }
}

/// Files found under the inputs.
#[derive(Debug, Default)]
pub struct Discovered {
    pub reference: Vec<(ReferenceTable, PathBuf)>,
    pub extracts: Vec<PathBuf>,
    /// Folders named `profiles` among the inputs: not read (see [`IngestOptions`]), but
    /// named in a warning so that someone used to the old behaviour is not puzzled.
    pub unread_profile_dirs: Vec<PathBuf>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> IngestError + '_ {
    move |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn format_of(path: &Path) -> Option<SourceFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "csv" | "txt" | "tsv" => Some(SourceFormat::Csv),
        "jsonl" | "ndjson" | "json" => Some(SourceFormat::Jsonl),
        _ => None,
    }
}

/// Finds reference tables, extracts and profile folders under `inputs`. Hidden files
/// and anything that is not CSV or JSON Lines are passed over.
pub fn discover(inputs: &[PathBuf]) -> Result<Discovered, IngestError> {
    let mut found = Discovered::default();
    let mut stack: Vec<PathBuf> = Vec::new();
    // Folders already walked, by their real path: a symbolic link back up the tree
    // (or two links to one folder) is walked once, not forever.
    let mut walked: std::collections::HashSet<PathBuf> = std::collections::HashSet::new();
    for input in inputs {
        if !input.exists() {
            return Err(IngestError::NoInput(input.clone()));
        }
        stack.push(input.clone());
        while let Some(path) = stack.pop() {
            let hidden = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if hidden && path != *input {
                continue;
            }
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == "profiles") {
                    found.unread_profile_dirs.push(path);
                    continue;
                }
                let real = std::fs::canonicalize(&path).map_err(io_err(&path))?;
                if !walked.insert(real) {
                    tracing::warn!(dir = %path.display(), "a folder reached again through a symbolic link is not walked twice");
                    continue;
                }
                for entry in std::fs::read_dir(&path).map_err(io_err(&path))? {
                    stack.push(entry.map_err(io_err(&path))?.path());
                }
            } else if format_of(&path).is_some() {
                let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
                match ReferenceTable::from_name(stem)
                    .filter(|_| format_of(&path) == Some(SourceFormat::Csv))
                {
                    Some(table) => found.reference.push((table, path)),
                    None => found.extracts.push(path),
                }
            }
        }
    }
    found.reference.sort();
    found.extracts.sort();
    found.extracts.dedup();
    Ok(found)
}

/// Content hash of a file: the `extract_id`.
pub fn content_hash(path: &Path) -> Result<String, IngestError> {
    let mut file = std::fs::File::open(path).map_err(io_err(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Organisation codes known to the lake, with their jurisdiction.
async fn organisations(
    lake: &Lake,
    snapshot: &Snapshot,
) -> Result<HashMap<String, Jurisdiction>, IngestError> {
    let ctx = lake.session(snapshot).await?;
    let batches = ctx
        .sql("SELECT org_code, jurisdiction FROM organisations")
        .await?
        .collect()
        .await?;
    let mut orgs = HashMap::new();
    for b in &batches {
        let codes = crate::table::string_column(b, "org_code")?;
        let juris = crate::table::string_column(b, "jurisdiction")?;
        for i in 0..b.num_rows() {
            if let Some(j) = Jurisdiction::parse(juris.value(i)) {
                orgs.insert(codes.value(i).to_string(), j);
            }
        }
    }
    Ok(orgs)
}

/// Test hook: abort the process at a named point, to prove a crash there leaves the
/// lake whole: `before-episodes-commit`, `after-episodes-commit`,
/// `after-rejections-commit`, `after-manifest-commit` (an extract's steps) and
/// `after-reference-commit`. Set `AKO_FAILPOINT=NAME`.
fn failpoint(name: &str) {
    if std::env::var("AKO_FAILPOINT").is_ok_and(|v| v == name) {
        eprintln!("ako: failpoint {name}: aborting");
        std::process::abort();
    }
}

/// The state an ingest carries from file to file.
struct Session<'a> {
    lake: &'a Lake,
    snapshot: Snapshot,
    orgs: HashMap<String, Jurisdiction>,
    profiles: ProfileSet,
    forced_profile: Option<String>,
    progress: Meter<'a>,
    /// The files the lake already has, by extract id.
    known: HashMap<String, Known>,
    pending: CommitSet,
    /// Reports whose files are committed or changed nothing, not yet given.
    ready: Vec<FileReport>,
}

/// Ingests every file under `inputs`: reference tables first, then extracts. Calls
/// `on_report` as each file finishes. A refused file is reported, not an error.
pub async fn ingest(
    lake: &Lake,
    inputs: &[PathBuf],
    options: &IngestOptions,
    progress: &dyn Progress,
    on_report: &mut dyn FnMut(&FileReport),
) -> Result<Vec<FileReport>, IngestError> {
    let found = discover(inputs)?;
    for dir in &found.unread_profile_dirs {
        if !options.profile_dirs.contains(dir) {
            tracing::warn!(
                dir = %dir.display(),
                "a profiles folder among the inputs is not read; pass it with --profiles DIR"
            );
        }
    }
    let profiles = ProfileSet::load(&options.profile_dirs)?;
    if let Some(name) = &options.profile
        && profiles.get(name).is_none()
    {
        return Err(IngestError::UnknownProfile {
            name: name.clone(),
            known: profiles.names().join(", "),
        });
    }
    let _lock = lake.lock()?;
    let snapshot = lake.snapshot(None).await?;
    // A server may still be serving this version until it refreshes; older ones' derived
    // files (episode-level compliance findings among them) are no longer needed.
    if let Some(v) = snapshot.lake_version {
        crate::derived::prune(lake.root(), v);
    }
    let restored = lake.recover(&snapshot).await?;
    if !restored.is_empty() {
        tracing::warn!(tables = ?restored, "restored tables left ahead of the manifest by an interrupted ingest");
    }
    let orgs = organisations(lake, &snapshot).await?;
    let known = commit::known(&lake.manifest(&snapshot).await?)?;
    let total: u64 = found
        .reference
        .iter()
        .map(|(_, p)| p)
        .chain(&found.extracts)
        .filter_map(|p| std::fs::metadata(p).ok().map(|m| m.len()))
        .sum();
    progress.start(total);
    let mut session = Session {
        lake,
        snapshot,
        orgs,
        profiles,
        forced_profile: options.profile.clone(),
        progress: Meter::new(progress),
        known,
        pending: CommitSet::default(),
        ready: Vec::new(),
    };
    let mut reports = Vec::new();
    let mut give = |ready: Vec<FileReport>| {
        for report in ready {
            on_report(&report);
            reports.push(report);
        }
    };
    for (table, path) in &found.reference {
        session.reference(*table, path).await?;
        give(std::mem::take(&mut session.ready));
    }
    for path in &found.extracts {
        session.extract(path).await?;
        give(std::mem::take(&mut session.ready));
    }
    session.commit().await?;
    give(std::mem::take(&mut session.ready));
    progress.done();
    Ok(reports)
}

fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

impl Session<'_> {
    fn refused(
        &self,
        path: &Path,
        kind: FileKind,
        org: Option<String>,
        profile: Option<String>,
        why: &Refusal,
        read: u64,
    ) -> FileReport {
        FileReport {
            file: display(path),
            kind,
            org_code: org,
            profile,
            status: Status::Refused,
            rows_read: read,
            rows_accepted: 0,
            rows_rejected: 0,
            period_from: None,
            period_to: None,
            error: Some(format!("{}: {why}", display(path))),
            lake_version: self.snapshot.lake_version,
        }
    }

    /// The report of a file the manifest already has.
    fn unchanged(&self, path: &Path, kind: FileKind, extract_id: &str) -> Option<FileReport> {
        let known = self.known.get(extract_id)?;
        Some(FileReport {
            file: display(path),
            kind,
            org_code: known.org_code.clone(),
            profile: known.profile.clone(),
            status: Status::Unchanged,
            rows_read: known.counts.0,
            rows_accepted: known.counts.1,
            rows_rejected: known.counts.2,
            period_from: known.period.as_ref().map(|p| p.0.clone()),
            period_to: known.period.as_ref().map(|p| p.1.clone()),
            error: None,
            lake_version: self.snapshot.lake_version,
        })
    }

    /// Makes sure a file's content is either committed or new to the run: the same
    /// content met twice in one run is reported unchanged the second time.
    async fn settle_pending(&mut self, extract_id: &str) -> Result<(), IngestError> {
        if self.pending.holds(extract_id) {
            self.commit().await?;
        }
        Ok(())
    }

    /// Writes a reference table now (extracts after it are checked against it); its
    /// manifest row waits for the run's commit.
    async fn reference(&mut self, table: ReferenceTable, path: &Path) -> Result<(), IngestError> {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let extract_id = content_hash(path)?;
        self.settle_pending(&extract_id).await?;
        if let Some(report) = self.unchanged(path, FileKind::Reference, &extract_id) {
            self.progress.inc(size);
            self.report(report);
            return Ok(());
        }
        let orgs = &self.orgs;
        let known = |code: &str| orgs.get(code).copied();
        let check: Option<&reference::OrgLookup<'_>> = match table {
            ReferenceTable::Organisations | ReferenceTable::StandardPopulation => None,
            _ => Some(&known),
        };
        let batch = match reference::read(path, table, check) {
            Ok(b) => b,
            Err(why) => {
                self.progress.inc(size);
                let report = self.refused(path, FileKind::Reference, None, None, &why, 0);
                self.report(report);
                return Ok(());
            }
        };
        let rows = batch.num_rows() as u64;
        let table_name = format!("reference/{}", table.name());
        let version = self
            .lake
            .write(
                &table_name,
                WriteInput::Batches(vec![batch]),
                WriteMode::Overwrite,
                &[],
            )
            .await?;
        failpoint("after-reference-commit");
        self.snapshot.tables.insert(table_name.clone(), version);
        if table == ReferenceTable::Organisations {
            self.orgs = organisations(self.lake, &self.snapshot).await?;
        }
        self.progress.inc(size);
        let file = display(path);
        let report = FileReport {
            file: file.clone(),
            kind: FileKind::Reference,
            org_code: None,
            profile: None,
            status: Status::Ingested,
            rows_read: rows,
            rows_accepted: rows,
            rows_rejected: 0,
            period_from: None,
            period_to: None,
            error: None,
            lake_version: None,
        };
        let entry = ManifestEntry {
            extract_id,
            file,
            kind: FileKind::Reference,
            org_code: None,
            profile: None,
            period: None,
            counts: (rows, rows, 0),
            table: (table_name, version),
            rejections_version: None,
        };
        self.pending.add_reference(entry, report);
        Ok(())
    }

    fn choose_profile(&self, path: &Path) -> Result<&Profile, Refusal> {
        if let Some(name) = &self.forced_profile {
            return Ok(self.profiles.get(name).expect("checked at start"));
        }
        let format = format_of(path).expect("discovered by extension");
        let mut last = None;
        for delimiter in [b',', b'|', b'\t', b';'] {
            if format == SourceFormat::Jsonl && delimiter != b',' {
                break;
            }
            let header = source::peek_header(path, format, delimiter)?;
            if let Some(bad) = header.iter().find(|h| guard::is_identifying_column(h)) {
                return Err(source::refuse_identifying_column(bad));
            }
            if let Some(p) = self.profiles.detect(format, &header) {
                return Ok(p);
            }
            last = Some(header);
        }
        Err(Refusal {
            line: Some(1),
            column: None,
            message: format!(
                "no profile matches this header ({}); name one with --profile (known: {})",
                last.unwrap_or_default().join(","),
                self.profiles.names().join(", ")
            ),
        })
    }

    /// Stages an extract and adds it to the run's commit set, or reports it refused or
    /// unchanged.
    async fn extract(&mut self, path: &Path) -> Result<(), IngestError> {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let extract_id = content_hash(path)?;
        self.settle_pending(&extract_id).await?;
        if let Some(report) = self.unchanged(path, FileKind::Extract, &extract_id) {
            self.progress.inc(size);
            self.report(report);
            return Ok(());
        }
        let start_pos = self.progress.position();
        let profile = match self.choose_profile(path) {
            Ok(p) => p.clone(),
            Err(why) => {
                self.progress.inc(size);
                let report = self.refused(path, FileKind::Extract, None, None, &why, 0);
                self.report(report);
                return Ok(());
            }
        };
        let staging =
            self.lake
                .staging_dir()
                .join(format!("{}-{}", &extract_id[..16], std::process::id()));
        std::fs::create_dir_all(&staging).map_err(io_err(&staging))?;
        let declared = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(period::declared);
        let outcome = self
            .stage(path, &profile, &extract_id, declared.as_ref(), &staging)
            .await;
        self.progress.set_position(start_pos + size);
        let staged = match outcome {
            Ok(Staged::Ready(staged)) => staged,
            Ok(Staged::Refused { org, why, read }) => {
                let _ = std::fs::remove_dir_all(&staging);
                let name = Some(profile.name.clone());
                let report = self.refused(path, FileKind::Extract, org, name, &why, read);
                self.report(report);
                return Ok(());
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                return Err(e);
            }
        };
        if self.pending.must_precede(&staged) {
            self.commit().await?;
        }
        let file = display(path);
        let report = FileReport {
            file: file.clone(),
            kind: FileKind::Extract,
            org_code: staged.org.clone(),
            profile: Some(profile.name.clone()),
            status: Status::Ingested,
            rows_read: staged.read,
            rows_accepted: staged.accepted,
            rows_rejected: staged.rejected,
            period_from: staged.period.as_ref().map(|p| p.from.clone()),
            period_to: staged.period.as_ref().map(|p| p.to.clone()),
            error: None,
            lake_version: None,
        };
        let pending = PendingExtract {
            extract_id: extract_id.clone(),
            file,
            profile: profile.name,
            staging,
            staged,
        };
        self.pending.add_extract(pending, report);
        if self.pending.is_full() {
            self.commit().await?;
        }
        Ok(())
    }

    /// The organisation whose data this file may replace: the nearest folder above it
    /// named for a known organisation (each submitter drops files into its own folder).
    /// A file name that starts with another known organisation's code is refused, so a
    /// misplaced file cannot empty or overwrite someone else's months.
    fn entitled_org(&self, path: &Path) -> Result<Option<String>, Refusal> {
        let folder = path
            .ancestors()
            .skip(1)
            .filter_map(|p| p.file_name()?.to_str())
            .find(|name| self.orgs.contains_key(*name))
            .map(String::from);
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let named = stem
            .split('_')
            .next()
            .filter(|c| self.orgs.contains_key(*c));
        if let (Some(named), Some(folder)) = (named, &folder)
            && named != folder
        {
            return Err(Refusal {
                line: None,
                column: None,
                message: format!(
                    "the file is named for `{named}` but sits in the folder of `{folder}`; an extract may only replace its own organisation's data"
                ),
            });
        }
        Ok(folder)
    }

    /// Reads the whole file into staging Parquet, or decides to refuse it.
    async fn stage(
        &self,
        path: &Path,
        profile: &Profile,
        extract_id: &str,
        declared: Option<&Period>,
        staging: &Path,
    ) -> Result<Staged, IngestError> {
        let refused =
            |org: Option<String>, why: Refusal, read: u64| Ok(Staged::Refused { org, why, read });
        let mut reader = match source::open(path, profile) {
            Ok(r) => r,
            Err(why) => return refused(None, why, 0),
        };
        // A large extract is read on a thread of its own; a small one is not worth it.
        let large = std::fs::metadata(path).is_ok_and(|m| m.len() >= READ_AHEAD_BYTES);
        if large {
            reader = Box::new(ahead::ReadAhead::new(reader).map_err(io_err(path))?);
        }
        let entitled = match self.entitled_org(path) {
            Ok(e) => e,
            Err(why) => return refused(None, why, 0),
        };
        let mut org = OneOrganisation::new(entitled, profile);
        let mut period = Coverage::new(declared, profile);
        let mut episodes: Option<(EpisodeBatch, StagedWriter)> = None;
        let mut lines = Lines::default();
        let mut rejections = RejectionBatch::new(extract_id, &display(path));
        let (mut read, mut accepted) = (0u64, 0u64);
        let base = self.progress.position();
        let mut spare = None;
        loop {
            let item = match reader.next_item(spare.take()) {
                Ok(Some(item)) => item,
                Ok(None) => break,
                Err(why) => return refused(org.code(), why, read),
            };
            read += 1;
            if read % 4096 == 0 {
                self.progress.set_position(base + reader.bytes_read());
            }
            let rec = match item {
                Item::Record(rec) => rec,
                Item::Malformed { line, message } => {
                    rejections.push(RowRejection {
                        line,
                        column: None,
                        value: None,
                        reason: RejectReason::MalformedRecord,
                        message,
                    });
                    continue;
                }
            };
            // The organisation decides the time zone, so it is settled before validation.
            if let Some(code) = rec.value(0) {
                let first = !org.is_settled();
                if let Err(why) = org.settle(code, rec.line, &self.orgs) {
                    return refused(
                        Some(org.code().unwrap_or_else(|| code.to_string())),
                        why,
                        read,
                    );
                }
                if first {
                    rejections.set_org(code);
                }
            }
            let validator = Validator::new(profile, org.jurisdiction());
            let episode = match validator.episode(&rec) {
                Ok(e) => e,
                Err(rejection) => {
                    rejections.push(rejection);
                    spare = Some(rec);
                    continue;
                }
            };
            if let Err(why) = period.place(&episode, rec.line) {
                return refused(org.code(), why, read);
            }
            let jurisdiction = org
                .jurisdiction()
                .expect("an accepted row has an organisation");
            let (batch, writer) = match &mut episodes {
                Some(pair) => pair,
                None => {
                    let w = StagedWriter::create(
                        &staging.join("episodes"),
                        model::episode_schema(),
                        &[model::col::ORG_CODE],
                    )?;
                    episodes.insert((EpisodeBatch::new(jurisdiction.as_str(), extract_id), w))
                }
            };
            batch.push(&episode);
            lines.push(rec.line);
            spare = Some(rec);
            accepted += 1;
            if batch.len() >= BATCH_ROWS {
                writer.write(batch.finish()?)?;
            }
        }
        let mut episodes = match episodes {
            Some((mut batch, mut writer)) => {
                if !batch.is_empty() {
                    writer.write(batch.finish()?)?;
                }
                Some(writer.close()?)
            }
            None => None,
        };
        if let Some(staged) = &mut episodes {
            let excluded = match reject_duplicates(staged, &lines, profile, &mut rejections).await?
            {
                Ok(lines) => lines,
                Err(why) => return refused(org.code(), why, read),
            };
            accepted -= excluded.len() as u64;
            staged.skip = excluded
                .iter()
                .map(|&line| lines.row_of(line).expect("a repeat is a staged row"))
                .collect();
        }
        let rejected = rejections.len() as u64;
        debug_assert_eq!(read, accepted + rejected);
        let rejections = (!rejections.is_empty())
            .then(|| rejections.finish())
            .transpose()?;
        // A file with no rows at all names no organisation in its rows; a declared
        // period's empty extract ("no episodes this month") takes its folder's.
        let org = match org.code() {
            Some(code) => Some(code),
            None if read == 0 && declared.is_some() => match org.entitled {
                Some(code) => Some(code),
                None => {
                    let why = Refusal {
                        line: None,
                        column: None,
                        message: "an empty extract must sit in a folder named for its organisation (extracts/ORG/ORG_PERIOD.csv)".into(),
                    };
                    return refused(None, why, read);
                }
            },
            None => None,
        };
        Ok(Staged::Ready(StagedExtract {
            org,
            episodes,
            rejections,
            period: period.covered(),
            resent: period.resent,
            read,
            accepted,
            rejected,
        }))
    }
}

/// Extracts at least this large are read ahead on a thread of their own.
const READ_AHEAD_BYTES: u64 = 8 << 20;

/// Most re-sent episodes (outside the declared period) one extract may carry; their ids
/// go into the replace predicate.
const MAX_RESENT: usize = 10_000;

/// Most rows one extract may reject as repeated episode ids before the file is refused.
const MAX_DUPLICATES: usize = 10_000;

struct StagedExtract {
    org: Option<String>,
    /// The accepted rows, with repeated episode ids among them to leave out.
    episodes: Option<StagedRows>,
    rejections: Option<RecordBatch>,
    period: Option<Period>,
    /// Ids of accepted episodes outside the declared period.
    resent: Vec<String>,
    read: u64,
    accepted: u64,
    rejected: u64,
}

enum Staged {
    Ready(StagedExtract),
    Refused {
        org: Option<String>,
        why: Refusal,
        read: u64,
    },
}

/// One organisation per file, and only the one whose folder the file is in.
struct OneOrganisation<'p> {
    /// The organisation the file's folder names, if any.
    entitled: Option<String>,
    found: Option<(String, Jurisdiction)>,
    column: &'p str,
}

impl<'p> OneOrganisation<'p> {
    fn new(entitled: Option<String>, profile: &'p Profile) -> OneOrganisation<'p> {
        OneOrganisation {
            entitled,
            found: None,
            column: &profile.columns[model::col::ORG_CODE],
        }
    }

    fn code(&self) -> Option<String> {
        self.found.as_ref().map(|(c, _)| c.clone())
    }

    fn is_settled(&self) -> bool {
        self.found.is_some()
    }

    fn jurisdiction(&self) -> Option<Jurisdiction> {
        self.found.as_ref().map(|(_, j)| *j)
    }

    /// Accepts a row's organisation code, or says why the file is refused.
    fn settle(
        &mut self,
        code: &str,
        line: u64,
        known: &HashMap<String, Jurisdiction>,
    ) -> Result<(), Refusal> {
        let refuse = |message: String| Refusal {
            line: Some(line),
            column: Some(self.column.to_string()),
            message,
        };
        match (&self.found, known.get(code)) {
            (Some((first, _)), _) if first != code => Err(refuse(format!(
                "organisation `{code}` differs from `{first}` earlier in the file; an extract comes from one organisation"
            ))),
            (Some(_), _) => Ok(()),
            (None, None) => Err(refuse(format!(
                "organisation `{code}` is not in the organisations reference table"
            ))),
            (None, Some(_)) if self.entitled.as_deref() != Some(code) => {
                Err(refuse(match &self.entitled {
                    Some(folder) => format!(
                        "the rows are from `{code}` but the file sits in the folder of `{folder}`; an extract may only replace its own organisation's data"
                    ),
                    None => format!(
                        "the rows are from `{code}` but the file is not in a folder named for it; put each organisation's extracts in a folder named by its code (extracts/{code}/…)"
                    ),
                }))
            }
            (None, Some(j)) => {
                self.found = Some((code.to_string(), *j));
                Ok(())
            }
        }
    }
}

/// The period an extract covers: the one its name declares (episodes outside it are
/// re-sent ones, replaced by id), else the span of its episodes' months.
struct Coverage<'a> {
    declared: Option<&'a Period>,
    span: Option<Period>,
    resent: Vec<String>,
    column: &'a str,
}

impl<'a> Coverage<'a> {
    fn new(declared: Option<&'a Period>, profile: &'a Profile) -> Coverage<'a> {
        Coverage {
            declared,
            span: None,
            resent: Vec::new(),
            column: &profile.columns[model::col::START_TIME],
        }
    }

    fn place(&mut self, episode: &Episode, line: u64) -> Result<(), Refusal> {
        let m = episode.month.as_str();
        match self.declared {
            Some(p) if !p.contains(m) => {
                if self.resent.len() == MAX_RESENT {
                    return Err(Refusal {
                        line: Some(line),
                        column: Some(self.column.to_string()),
                        message: format!(
                            "more than {MAX_RESENT} episodes start outside the period {}..{} the file name declares; rename the file to the period it covers",
                            p.from, p.to
                        ),
                    });
                }
                self.resent.push(episode.episode_id.to_string());
            }
            Some(_) => {}
            None => match &mut self.span {
                None => {
                    self.span = Some(Period {
                        from: m.to_string(),
                        to: m.to_string(),
                    })
                }
                Some(p) => {
                    if m < p.from.as_str() {
                        p.from = m.to_string();
                    } else if m > p.to.as_str() {
                        p.to = m.to_string();
                    }
                }
            },
        }
        Ok(())
    }

    fn covered(&self) -> Option<Period> {
        self.declared.cloned().or_else(|| self.span.clone())
    }
}

/// Later occurrences of an episode id already in the extract, rejected by line; the
/// lines not to write, or a refusal when there are so many the file looks doubled.
async fn reject_duplicates(
    staged: &StagedRows,
    lines: &Lines,
    profile: &Profile,
    rejections: &mut RejectionBatch,
) -> Result<Result<Vec<u64>, Refusal>, IngestError> {
    let column = &profile.columns[model::col::EPISODE_ID];
    let duplicates = duplicates::later_duplicates(staged, lines, MAX_DUPLICATES).await?;
    if duplicates.len() > MAX_DUPLICATES {
        return Ok(Err(Refusal {
            line: Some(duplicates[MAX_DUPLICATES].0),
            column: Some(column.clone()),
            message: format!(
                "more than {MAX_DUPLICATES} rows repeat an episode id seen earlier in the file; is it two extracts joined together?"
            ),
        }));
    }
    let mut lines = Vec::with_capacity(duplicates.len());
    for (line, id) in duplicates {
        rejections.push(RowRejection {
            line,
            column: Some(column.clone()),
            message: format!("episode `{id}` appears earlier in this extract"),
            value: Some(id),
            reason: RejectReason::DuplicateEpisodeId,
        });
        lines.push(line);
    }
    Ok(Ok(lines))
}
