//! The commit set of an ingest run: what it has staged and how that reaches the lake.
//!
//! A run stages file after file and commits them together: one episodes write (each
//! extract replacing its organisation's months), one rejections append and one manifest
//! append, in that order, so a crash anywhere before the manifest leaves the lake as it
//! was (`Lake::recover` undoes the rest). Two extracts are committed together only when
//! committing them one after the other would give the same rows: a file that could
//! replace rows of one already pending (same organisation, overlapping months or
//! re-sent episodes) first commits what is pending.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::Int64Type;
use datafusion::logical_expr::Expr;
use datafusion::prelude::{col, lit};

use super::{FileKind, FileReport, IngestError, Session, StagedExtract, Status, failpoint};
use crate::lake::{self, WriteInput, WriteMode};
use crate::model;

/// Most files one commit takes: each adds a term to the episodes write's predicate and
/// an input to its plan.
const MAX_FILES: usize = 256;

/// Most accepted rows one commit takes, so a crash costs at most this much work redone.
const MAX_ROWS: u64 = 2_000_000;

/// One row of the manifest.
pub(super) struct ManifestEntry {
    pub extract_id: String,
    pub file: String,
    pub kind: FileKind,
    pub org_code: Option<String>,
    pub profile: Option<String>,
    pub period: Option<(String, String)>,
    /// Rows read, accepted, rejected.
    pub counts: (u64, u64, u64),
    /// The table the row makes visible and its version.
    pub table: (String, i64),
    pub rejections_version: Option<i64>,
}

fn manifest_batch(rows: &[&ManifestEntry]) -> Result<RecordBatch, IngestError> {
    let text = |f: &dyn Fn(&ManifestEntry) -> Option<&str>| {
        Arc::new(rows.iter().map(|r| f(r)).collect::<StringArray>()) as ArrayRef
    };
    let int = |f: &dyn Fn(&ManifestEntry) -> Option<i64>| {
        Arc::new(rows.iter().map(|r| f(r)).collect::<Int64Array>()) as ArrayRef
    };
    let now = Utc::now().timestamp_micros();
    let ingested_at = TimestampMicrosecondArray::from(vec![now; rows.len()]).with_timezone("UTC");
    Ok(RecordBatch::try_new(
        model::extract_schema(),
        vec![
            text(&|r| Some(&r.extract_id)),
            text(&|r| Some(&r.file)),
            text(&|r| Some(r.kind.name())),
            text(&|r| r.org_code.as_deref()),
            text(&|r| r.profile.as_deref()),
            text(&|r| r.period.as_ref().map(|p| p.0.as_str())),
            text(&|r| r.period.as_ref().map(|p| p.1.as_str())),
            int(&|r| Some(r.counts.0 as i64)),
            int(&|r| Some(r.counts.1 as i64)),
            int(&|r| Some(r.counts.2 as i64)),
            Arc::new(ingested_at),
            text(&|r| Some(&r.table.0)),
            int(&|r| Some(r.table.1)),
            int(&|r| r.rejections_version),
        ],
    )?)
}

/// What the manifest says of a file it has: enough to report it unchanged.
#[derive(Debug, Clone)]
pub(super) struct Known {
    pub org_code: Option<String>,
    pub profile: Option<String>,
    pub period: Option<(String, String)>,
    pub counts: (u64, u64, u64),
}

/// The files a manifest holds, by extract id, read once per run rather than once per
/// file (each such read replays the manifest's log).
pub(super) fn known(batches: &[RecordBatch]) -> Result<HashMap<String, Known>, IngestError> {
    let mut known = HashMap::new();
    for b in batches {
        let text = |name: &str| crate::table::string_column(b, name);
        let int = |name: &str| {
            b.column_by_name(name)
                .map(|c| c.as_primitive::<Int64Type>().clone())
                .ok_or_else(|| lake::LakeError::Arrow(missing(name)))
        };
        let (ids, orgs, profiles) = (text("extract_id")?, text("org_code")?, text("profile")?);
        let (from, to) = (text("period_from")?, text("period_to")?);
        let (read, accepted, rejected) = (
            int("rows_read")?,
            int("rows_accepted")?,
            int("rows_rejected")?,
        );
        let opt = |c: &StringArray, i: usize| (!c.is_null(i)).then(|| c.value(i).to_string());
        for i in 0..b.num_rows() {
            known
                .entry(ids.value(i).to_string())
                .or_insert_with(|| Known {
                    org_code: opt(&orgs, i),
                    profile: opt(&profiles, i),
                    period: opt(&from, i).zip(opt(&to, i)),
                    counts: (
                        read.value(i) as u64,
                        accepted.value(i) as u64,
                        rejected.value(i) as u64,
                    ),
                });
        }
    }
    Ok(known)
}

fn missing(name: &str) -> datafusion::arrow::error::ArrowError {
    datafusion::arrow::error::ArrowError::SchemaError(format!("manifest has no column {name}"))
}

/// A staged extract waiting for the run's next commit.
pub(super) struct PendingExtract {
    pub extract_id: String,
    pub file: String,
    pub profile: String,
    /// The extract's staging folder, removed once it is committed.
    pub staging: PathBuf,
    pub staged: StagedExtract,
}

impl PendingExtract {
    /// The rows of the lake this extract replaces: its organisation's months, and its
    /// re-sent episodes by id. `None` when it replaces nothing (every row rejected).
    fn replaces(&self) -> Option<Expr> {
        let s = &self.staged;
        let (org, period) = (s.org.as_ref()?, s.period.as_ref()?);
        if s.episodes.is_none() && s.read > 0 {
            return None;
        }
        let mut replaced = col(model::col::MONTH)
            .gt_eq(lit(period.from.as_str()))
            .and(col(model::col::MONTH).lt_eq(lit(period.to.as_str())));
        if !s.resent.is_empty() {
            let ids = s.resent.iter().map(|id| lit(id.as_str())).collect();
            replaced = replaced.or(col(model::col::EPISODE_ID).in_list(ids, false));
        }
        Some(
            col(model::col::ORG_CODE)
                .eq(lit(org.as_str()))
                .and(replaced),
        )
    }

    /// Whether rows of `self` could match what `other` replaces, or the reverse: then
    /// committing both at once would keep rows that one after the other would not.
    fn overlaps(&self, other: &StagedExtract) -> bool {
        let s = &self.staged;
        if s.org.is_none() || s.org != other.org {
            return false;
        }
        if !s.resent.is_empty() || !other.resent.is_empty() {
            return true;
        }
        match (&s.period, &other.period) {
            (Some(a), Some(b)) => a.from <= b.to && b.from <= a.to,
            _ => false,
        }
    }
}

/// What a run has staged and not yet committed, and the reports waiting on it.
#[derive(Default)]
pub(super) struct CommitSet {
    extracts: Vec<PendingExtract>,
    references: Vec<ManifestEntry>,
    /// Reports in the order their files were met; those of pending files get their lake
    /// version when the commit lands.
    reports: Vec<FileReport>,
}

impl CommitSet {
    /// Whether nothing waits to be committed.
    fn is_empty(&self) -> bool {
        self.extracts.is_empty() && self.references.is_empty()
    }

    /// Whether a file with this content is already pending.
    pub fn holds(&self, extract_id: &str) -> bool {
        self.extracts.iter().any(|p| p.extract_id == extract_id)
            || self.references.iter().any(|r| r.extract_id == extract_id)
    }

    /// Whether `staged` must wait for what is pending to be committed first.
    pub fn must_precede(&self, staged: &StagedExtract) -> bool {
        self.extracts.iter().any(|p| p.overlaps(staged))
    }

    /// Whether the set is as large as one commit should be.
    pub fn is_full(&self) -> bool {
        let rows: u64 = self.extracts.iter().map(|p| p.staged.accepted).sum();
        self.extracts.len() >= MAX_FILES || rows >= MAX_ROWS
    }

    pub fn add_extract(&mut self, pending: PendingExtract, report: FileReport) {
        self.extracts.push(pending);
        self.reports.push(report);
    }

    pub fn add_reference(&mut self, entry: ManifestEntry, report: FileReport) {
        self.references.push(entry);
        self.reports.push(report);
    }

    /// A report that waits for nothing but keeps its place among those that do; given
    /// back at once when nothing is pending.
    pub fn add_report(&mut self, report: FileReport) -> Option<FileReport> {
        if self.is_empty() {
            return Some(report);
        }
        self.reports.push(report);
        None
    }
}

/// `terms` joined by OR as a balanced tree, so hundreds of them stay shallow.
fn any_of(mut terms: Vec<Expr>) -> Option<Expr> {
    match terms.len() {
        0 => None,
        1 => terms.pop(),
        n => {
            let right = terms.split_off(n / 2);
            Some(any_of(terms)?.or(any_of(right)?))
        }
    }
}

impl Session<'_> {
    /// Reports a file that changes nothing, in its place among the pending ones.
    pub(super) fn report(&mut self, report: FileReport) {
        if let Some(report) = self.pending.add_report(report) {
            self.ready.push(report);
        }
    }

    /// Commits what is pending; the reports that waited for it are then ready.
    pub(super) async fn commit(&mut self) -> Result<(), IngestError> {
        if self.pending.is_empty() {
            self.ready.append(&mut self.pending.reports);
            return Ok(());
        }
        let set = std::mem::take(&mut self.pending);
        let result = self.write(&set).await;
        for p in &set.extracts {
            let _ = std::fs::remove_dir_all(&p.staging);
        }
        let version = result?;
        let mut reports = set.reports;
        for r in &mut reports {
            if r.status == Status::Ingested {
                r.lake_version = Some(version);
            }
        }
        self.ready.extend(reports);
        Ok(())
    }

    /// Episodes, then rejections, then the manifest rows that make both visible; the
    /// new lake version.
    async fn write(&mut self, set: &CommitSet) -> Result<i64, IngestError> {
        failpoint("before-episodes-commit");
        let mut episodes_version = self.snapshot.tables.get(lake::EPISODES).copied();
        let mut terms = Vec::new();
        let mut staged = Vec::new();
        for p in &set.extracts {
            let Some(term) = p.replaces() else { continue };
            terms.push(term);
            if let Some(rows) = &p.staged.episodes {
                staged.push(rows.clone());
            }
        }
        if let Some(predicate) = any_of(terms) {
            // An extract with no rows at all says the organisation had no episodes in
            // its period, which replaces what the lake had there.
            let input = if staged.is_empty() {
                WriteInput::Batches(vec![RecordBatch::new_empty(model::episode_schema())])
            } else {
                WriteInput::Staged {
                    staged,
                    schema: model::episode_schema(),
                }
            };
            let v = self
                .lake
                .write(
                    lake::EPISODES,
                    input,
                    WriteMode::ReplaceWhere(predicate),
                    &[model::col::ORG_CODE],
                )
                .await?;
            episodes_version = Some(v);
            failpoint("after-episodes-commit");
        }
        let mut rejections_version = self.snapshot.tables.get(lake::REJECTIONS).copied();
        let rejections: Vec<&RecordBatch> = set
            .extracts
            .iter()
            .filter_map(|p| p.staged.rejections.as_ref())
            .collect();
        if let Some(first) = rejections.first() {
            let batch = concat_batches(&first.schema(), rejections.iter().copied())?;
            let v = self
                .lake
                .write(
                    lake::REJECTIONS,
                    WriteInput::Batches(vec![batch]),
                    WriteMode::Append,
                    &[],
                )
                .await?;
            rejections_version = Some(v);
            failpoint("after-rejections-commit");
        }
        // With nothing accepted and no episodes table yet a row pins no table (-1), so
        // the file is still known and its re-ingest is a no-op.
        let episodes_pin = match episodes_version {
            Some(v) => (lake::EPISODES.to_string(), v),
            None => ("none".to_string(), -1),
        };
        let extracts = set.extracts.iter().map(|p| {
            let s = &p.staged;
            ManifestEntry {
                extract_id: p.extract_id.clone(),
                file: p.file.clone(),
                kind: FileKind::Extract,
                org_code: s.org.clone(),
                profile: Some(p.profile.clone()),
                period: s.period.as_ref().map(|p| (p.from.clone(), p.to.clone())),
                counts: (s.read, s.accepted, s.rejected),
                table: episodes_pin.clone(),
                rejections_version,
            }
        });
        let rows: Vec<ManifestEntry> = extracts.collect();
        let all: Vec<&ManifestEntry> = set.references.iter().chain(&rows).collect();
        let batch = manifest_batch(&all)?;
        let version = self
            .lake
            .write(
                lake::MANIFEST,
                WriteInput::Batches(vec![batch]),
                WriteMode::Append,
                &[],
            )
            .await?;
        failpoint("after-manifest-commit");
        let snapshot = &mut self.snapshot;
        snapshot.lake_version = Some(version);
        snapshot.tables.insert(lake::MANIFEST.into(), version);
        for entry in &all {
            if entry.table.1 >= 0 {
                snapshot.tables.insert(entry.table.0.clone(), entry.table.1);
            }
            self.known.entry(entry.extract_id.clone()).or_insert(Known {
                org_code: entry.org_code.clone(),
                profile: entry.profile.clone(),
                period: entry.period.clone(),
                counts: entry.counts,
            });
        }
        if let Some(v) = rejections_version {
            snapshot.tables.insert(lake::REJECTIONS.into(), v);
        }
        Ok(version)
    }
}
