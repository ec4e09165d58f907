//! The lake: Delta tables under one folder, and the manifest that makes an ingest
//! atomic across them.
//!
//! Layout (**contract**): `<lake>/episodes`, `<lake>/rejections`,
//! `<lake>/reference/<table>`, plus `<lake>/extracts`, the manifest. Delta commits are
//! atomic per table only, so an ingest writes its data tables first and then appends
//! its manifest rows (one per file) pinning the versions it produced. The manifest's
//! Delta version is the **lake version**: readers open every table at the version the
//! manifest pins, so a crash between two table commits is invisible, and the next
//! ingest restores any table that moved past its pinned version before it writes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Int64Type, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::error::DataFusionError;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::logical_expr::Expr;
use datafusion::prelude::{SessionContext, ident, lit};
use deltalake::operations::write::SchemaMode;
use deltalake::parquet::basic::{Compression, ZstdLevel};
use deltalake::parquet::file::properties::WriterProperties;
use deltalake::parquet::schema::types::ColumnPath;
use deltalake::protocol::SaveMode;
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError};
use url::Url;

use crate::model::{self, ReferenceTable};

mod schema;
mod staged;

pub use staged::{AS_IS_MIN_ROWS, StagedRows, StagedWriter};

/// Name of the manifest table.
pub const MANIFEST: &str = "extracts";
/// Name of the episodes table.
pub const EPISODES: &str = "episodes";
/// Name of the rejections table.
pub const REJECTIONS: &str = "rejections";

/// Errors of the lake layer.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("lake {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("delta table {table}: {source}")]
    Delta {
        table: String,
        source: Box<DeltaTableError>,
    },
    #[error(transparent)]
    DataFusion(Box<DataFusionError>),
    #[error(transparent)]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    #[error("lake version {requested} does not exist (latest is {latest})")]
    NoSuchVersion { requested: i64, latest: String },
    #[error("the lake has no data as of {0}")]
    NothingAsOf(String),
    #[error("`{0}` is neither a lake version (a whole number) nor a date (YYYY-MM-DD or RFC 3339)")]
    BadAsOf(String),
    #[error("delta table {0}: a staged write was given no files")]
    NothingStaged(String),
}

boxed_datafusion_error!(LakeError, LakeError::DataFusion);

fn delta(table: &str) -> impl FnOnce(DeltaTableError) -> LakeError + '_ {
    move |source| LakeError::Delta {
        table: table.to_string(),
        source: Box::new(source),
    }
}

/// Which state of the lake to read.
#[derive(Debug, Clone, PartialEq)]
pub enum AsOf {
    /// A lake version (the manifest's Delta version).
    Version(i64),
    /// The last version committed at or before this instant.
    Time(DateTime<Utc>),
}

impl std::str::FromStr for AsOf {
    type Err = LakeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(v) = s.parse::<i64>() {
            return Ok(AsOf::Version(v));
        }
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Ok(AsOf::Time(t.with_timezone(&Utc)));
        }
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            // a date means "as published at the end of that day (UTC)"
            let end = d.and_hms_opt(23, 59, 59).expect("valid time").and_utc();
            return Ok(AsOf::Time(end));
        }
        Err(LakeError::BadAsOf(s.to_string()))
    }
}

/// A consistent state of the lake: the lake version and the version of each table in it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// The manifest version; `None` for an empty lake.
    pub lake_version: Option<i64>,
    /// Table path (`episodes`, `reference/organisations`, …) → pinned Delta version.
    pub tables: BTreeMap<String, i64>,
}

/// How a write changes a table.
#[derive(Debug, Clone)]
pub enum WriteMode {
    Append,
    /// Replace the rows matching the predicate (which the new rows must all satisfy).
    ReplaceWhere(Expr),
    /// Replace the whole table.
    Overwrite,
}

/// Where a write's rows come from.
pub enum WriteInput {
    Batches(Vec<RecordBatch>),
    /// Rows staged in the table's own layout ([`StagedWriter`]), with `schema` the
    /// table's columns (partition columns included).
    Staged {
        staged: Vec<StagedRows>,
        schema: SchemaRef,
    },
}

/// Memory a write's DataFusion plan may hold before spilling.
const WRITE_MEMORY_LIMIT: usize = 256 * 1024 * 1024;

/// Rows in a row group of the lake's Parquet files.
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// How the lake's Parquet files are written: zstd, and row groups small enough that a
/// writer or reader holds little at a time.
fn lake_parquet_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).expect("valid zstd level"),
        ))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        // Episode ids are distinct: a dictionary of them only costs time.
        .set_column_dictionary_enabled(ColumnPath::from(model::col::EPISODE_ID), false)
        .build()
}

/// The settings of every query session: DataFusion's defaults but one, then any
/// `DATAFUSION_*` environment variable (`DATAFUSION_EXECUTION_TARGET_PARTITIONS=4`), so a
/// benchmark or an operator can try a setting without a build.
fn session_config() -> Result<datafusion::prelude::SessionConfig, LakeError> {
    const SKIP_PARTIAL: &str =
        "DATAFUSION_EXECUTION_SKIP_PARTIAL_AGGREGATION_PROBE_RATIO_THRESHOLD";
    let mut config = datafusion::prelude::SessionConfig::from_env()?;
    if std::env::var_os(SKIP_PARTIAL).is_none() {
        // Person-level indicators group millions of episodes into nearly as many
        // person-years: a partial aggregate that keeps more than 30% of its rows costs
        // more than it saves on two cores (the catalogue: 14.9 s at DataFusion's 0.8,
        // 13.8 s at 0.3; bench/README.md).
        config
            .options_mut()
            .execution
            .skip_partial_aggregation_probe_ratio_threshold = 0.3;
    }
    Ok(config)
}

/// A lake folder.
#[derive(Debug, Clone)]
pub struct Lake {
    root: PathBuf,
}

/// An exclusive lock on a lake, held for the duration of an ingest.
pub struct LakeLock {
    _file: std::fs::File,
}

impl Lake {
    /// The lake at `root` (created if missing).
    pub fn open(root: &Path) -> Result<Lake, LakeError> {
        std::fs::create_dir_all(root).map_err(|source| LakeError::Io {
            path: root.to_path_buf(),
            source,
        })?;
        let root = root.canonicalize().map_err(|source| LakeError::Io {
            path: root.to_path_buf(),
            source,
        })?;
        Ok(Lake { root })
    }

    /// The lake folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Folder of a table, e.g. `episodes` or `reference/organisations`.
    pub fn table_path(&self, table: &str) -> PathBuf {
        self.root.join(table)
    }

    /// Folder for an ingest's temporary files; never inside a table.
    pub fn staging_dir(&self) -> PathBuf {
        self.root.join("_staging")
    }

    fn table_url(&self, table: &str) -> Result<Url, LakeError> {
        let path = self.table_path(table);
        std::fs::create_dir_all(&path).map_err(|source| LakeError::Io {
            path: path.clone(),
            source,
        })?;
        Url::from_directory_path(&path).map_err(|()| LakeError::Io {
            path,
            source: std::io::Error::other("not an absolute path"),
        })
    }

    /// Takes the lake's write lock, waiting for another ingest to finish.
    pub fn lock(&self) -> Result<LakeLock, LakeError> {
        let path = self.root.join(".ako.lock");
        let io = |source| LakeError::Io {
            path: path.clone(),
            source,
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        file.lock().map_err(|source| LakeError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(LakeLock { _file: file })
    }

    fn has_table(&self, table: &str) -> bool {
        self.table_path(table).join("_delta_log").is_dir()
    }

    /// Opens a table at its latest version, or `None` when it has never been written.
    async fn latest(&self, table: &str) -> Result<Option<DeltaTable>, LakeError> {
        if !self.has_table(table) {
            return Ok(None);
        }
        let t = deltalake::open_table(self.table_url(table)?)
            .await
            .map_err(delta(table))?;
        Ok(Some(t))
    }

    /// Opens a table at a version.
    async fn at_version(&self, table: &str, version: i64) -> Result<DeltaTable, LakeError> {
        let version = u64::try_from(version).map_err(|_| LakeError::NoSuchVersion {
            requested: version,
            latest: "?".into(),
        })?;
        deltalake::open_table_with_version(self.table_url(table)?, version)
            .await
            .map_err(delta(table))
    }

    /// The lake version (the manifest's latest commit) from the names in its log alone,
    /// without loading the table: what a server polls to learn whether an ingest made a
    /// new version. A commit is its `NNNNNNNNNNNNNNNNNNNN.json` file, written whole (Delta's
    /// put-if-absent), so the highest such name is the latest committed version.
    pub fn head_version(&self) -> Result<Option<i64>, LakeError> {
        let log = self.table_path(MANIFEST).join("_delta_log");
        let entries = match std::fs::read_dir(&log) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(LakeError::Io { path: log, source }),
        };
        let mut latest = None;
        for entry in entries {
            let entry = entry.map_err(|source| LakeError::Io {
                path: log.clone(),
                source,
            })?;
            let name = entry.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if stem.len() == 20
                && stem.bytes().all(|b| b.is_ascii_digit())
                && let Ok(v) = stem.parse::<i64>()
            {
                latest = latest.max(Some(v));
            }
        }
        Ok(latest)
    }

    /// The snapshot for `as_of`, or the latest one.
    pub async fn snapshot(&self, as_of: Option<&AsOf>) -> Result<Snapshot, LakeError> {
        let Some(mut manifest) = self.latest(MANIFEST).await? else {
            return match as_of {
                None => Ok(Snapshot::default()),
                Some(a) => Err(LakeError::NothingAsOf(format!("{a:?}"))),
            };
        };
        let latest = version_of(&manifest);
        match as_of {
            None => {}
            Some(AsOf::Version(v)) => {
                if *v < 0 || *v > latest {
                    return Err(LakeError::NoSuchVersion {
                        requested: *v,
                        latest: latest.to_string(),
                    });
                }
                manifest = self.at_version(MANIFEST, *v).await?;
            }
            Some(AsOf::Time(t)) => {
                manifest
                    .load_with_datetime(*t)
                    .await
                    .map_err(|_| LakeError::NothingAsOf(t.to_rfc3339()))?;
            }
        }
        let lake_version = version_of(&manifest);
        let ctx = SessionContext::new();
        register_delta(&ctx, MANIFEST, &manifest).await?;
        let pins = ctx
            .sql("SELECT table_name, max(table_version) AS v FROM extracts WHERE table_version >= 0 GROUP BY table_name")
            .await?
            .collect()
            .await?;
        let mut tables = BTreeMap::new();
        for batch in &pins {
            let names = crate::table::string_column(batch, "table_name")?;
            let versions = batch.column(1).as_primitive::<Int64Type>();
            for i in 0..batch.num_rows() {
                tables.insert(names.value(i).to_string(), versions.value(i));
            }
        }
        let rejections = ctx
            .sql("SELECT max(rejections_version) AS v FROM extracts")
            .await?
            .collect()
            .await?;
        if let Some(b) = rejections.first() {
            let v = b.column(0).as_primitive::<Int64Type>();
            if !v.is_empty() && v.is_valid(0) {
                tables.insert(REJECTIONS.to_string(), v.value(0));
            }
        }
        tables.insert(MANIFEST.to_string(), lake_version);
        Ok(Snapshot {
            lake_version: Some(lake_version),
            tables,
        })
    }

    /// Brings every table back to the version the latest manifest pins, undoing commits
    /// of an ingest that stopped before its manifest row. Returns the tables restored.
    pub async fn recover(&self, snapshot: &Snapshot) -> Result<Vec<String>, LakeError> {
        let mut restored = Vec::new();
        // Staging files of an interrupted ingest; the caller holds the lake lock.
        let staging = self.staging_dir();
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|source| LakeError::Io {
                path: staging.clone(),
                source,
            })?;
        }
        let mut names = vec![EPISODES.to_string(), REJECTIONS.to_string()];
        names.extend(
            ReferenceTable::ALL
                .iter()
                .map(|t| format!("reference/{}", t.name())),
        );
        for name in names {
            let Some(table) = self.latest(&name).await? else {
                continue;
            };
            let current = version_of(&table);
            match snapshot.tables.get(&name) {
                Some(&pinned) if current > pinned => {
                    table
                        .restore()
                        .with_version_to_restore(pinned as u64)
                        .await
                        .map_err(delta(&name))?;
                    restored.push(name);
                }
                Some(_) => {}
                None => {
                    // Created by an ingest that never reached the manifest: nothing refers
                    // to it, so it is removed whole.
                    let path = self.table_path(&name);
                    std::fs::remove_dir_all(&path)
                        .map_err(|source| LakeError::Io { path, source })?;
                    restored.push(name);
                }
            }
        }
        Ok(restored)
    }

    /// Commits staged rows by moving their files into the table, when that gives what
    /// writing them would: nothing to leave out, the table's columns and partitions as
    /// staged, and (for a replace) no row of the table matching what is replaced.
    /// `None` when the rows must be written instead.
    async fn commit_staged_as_is(
        &self,
        table: &str,
        url: &Url,
        staged: &[StagedRows],
        schema: &SchemaRef,
        mode: &WriteMode,
        partition_by: &[&str],
    ) -> Result<Option<i64>, LakeError> {
        if !staged::committable_as_is(staged) {
            return Ok(None);
        }
        let existing = self.latest(table).await?;
        if let Some(dt) = &existing {
            if !holds_as_staged(table, dt, schema, partition_by)? {
                return Ok(None);
            }
            match mode {
                WriteMode::Append => {}
                WriteMode::ReplaceWhere(predicate) => {
                    if self.any_row_matches(table, dt, predicate).await? {
                        return Ok(None);
                    }
                }
                WriteMode::Overwrite => return Ok(None),
            }
        }
        let version =
            staged::commit_as_is(table, existing.as_ref(), url, schema, staged, partition_by)
                .await?;
        Ok(Some(version))
    }

    /// Whether any row of `dt` satisfies `predicate` (read with partition and statistics
    /// pruning, so new months of an organisation read next to nothing).
    async fn any_row_matches(
        &self,
        name: &str,
        dt: &DeltaTable,
        predicate: &Expr,
    ) -> Result<bool, LakeError> {
        let ctx = SessionContext::new_with_config(session_config()?);
        let provider = delta_provider(&ctx, name, dt).await?;
        let found = ctx
            .read_table(provider)?
            .filter(predicate.clone())?
            .limit(0, Some(1))?
            .collect()
            .await?;
        Ok(found.iter().any(|b| b.num_rows() > 0))
    }

    /// Writes rows to a table, creating it (with `partition_by`) if needed; returns the
    /// table's new version.
    pub async fn write(
        &self,
        table: &str,
        input: WriteInput,
        mode: WriteMode,
        partition_by: &[&str],
    ) -> Result<i64, LakeError> {
        let url = self.table_url(table)?;
        if let WriteInput::Staged { staged, schema } = &input {
            if staged.iter().all(|s| s.files.is_empty()) {
                return Err(LakeError::NothingStaged(table.to_string()));
            }
            if let Some(version) = self
                .commit_staged_as_is(table, &url, staged, schema, &mode, partition_by)
                .await?
            {
                return Ok(version);
            }
        }
        let incoming = match &input {
            WriteInput::Batches(batches) => batches.first().map(|b| b.schema()),
            WriteInput::Staged { schema, .. } => Some(schema.clone()),
        };
        let (dt, exists) = match self.latest(table).await? {
            Some(dt) => (relax_required(table, dt, incoming.as_deref()).await?, true),
            // Built without loading: opening a folder with no log is an error to the kernel.
            None => (
                DeltaTableBuilder::from_url(url)
                    .map_err(delta(table))?
                    .build()
                    .map_err(delta(table))?,
                false,
            ),
        };
        // delta-rs plans writes with its own extension nodes, so it needs its own
        // planner; its memory pool spills rather than grow with the input.
        let ctx = SessionContext::new_with_state(
            deltalake::delta_datafusion::create_session_state_with_spill_config(
                Some(WRITE_MEMORY_LIMIT),
                None,
            ),
        );
        let builder = match input {
            WriteInput::Batches(batches) => dt.write(batches),
            WriteInput::Staged { staged, schema } => {
                // Staged files are read one after another in a single stream. Read side
                // by side, each held batches in flight (1.5 GiB for a run's hundreds of
                // files at 9.7 M rows); and a parallel scan of one large file outruns the
                // Parquet writers, so its repartition spilled nearly every row to disk
                // and back (a third of a 10 M-row ingest's time, measured).
                ctx.state_ref()
                    .write()
                    .config_mut()
                    .options_mut()
                    .execution
                    .target_partitions = 1;
                let stream = staged::StagedStream::new(schema.clone(), staged);
                let provider = datafusion::catalog::streaming::StreamingTable::try_new(
                    schema,
                    vec![Arc::new(stream)],
                )?;
                let df = ctx.read_table(Arc::new(provider))?;
                dt.write(Vec::new())
                    .with_input_plan(df.into_unoptimized_plan())
            }
        };
        let builder = builder.with_writer_properties(lake_parquet_properties());
        let builder = builder.with_session_state(Arc::new(ctx.state()));
        let builder = if partition_by.is_empty() {
            builder
        } else {
            builder.with_partition_columns(partition_by.iter().copied())
        };
        // A table written by an earlier ako may lack a column added since (as
        // `indigenous_status` was) or hold one as required that is now nullable: new rows
        // merge into its schema, and a table replaced whole takes the new one. Only
        // additions and relaxations arise here; Delta refuses a changed type either way.
        let builder = match (mode, exists) {
            (_, false) => builder.with_save_mode(SaveMode::Append),
            (WriteMode::Append, true) => builder
                .with_save_mode(SaveMode::Append)
                .with_schema_mode(SchemaMode::Merge),
            (WriteMode::ReplaceWhere(predicate), true) => builder
                .with_save_mode(SaveMode::Overwrite)
                .with_replace_where(predicate)
                .with_schema_mode(SchemaMode::Merge),
            (WriteMode::Overwrite, true) => builder
                .with_save_mode(SaveMode::Overwrite)
                .with_schema_mode(SchemaMode::Overwrite),
        };
        let written = builder.await.map_err(delta(table))?;
        Ok(version_of(&written))
    }

    /// A DataFusion session over the lake at the snapshot's versions. Each table opens
    /// when a query first names it ([`schema::LakeSchema`]); tables never written read
    /// as empty, so every query in `queries/` plans.
    pub async fn session(&self, snapshot: &Snapshot) -> Result<SessionContext, LakeError> {
        let ctx = SessionContext::new_with_config(session_config()?);
        let mut tables: Vec<(String, String, SchemaRef)> = vec![
            (EPISODES.into(), EPISODES.into(), model::episode_schema()),
            (
                REJECTIONS.into(),
                REJECTIONS.into(),
                model::rejection_schema(),
            ),
            (MANIFEST.into(), MANIFEST.into(), model::extract_schema()),
        ];
        for t in ReferenceTable::ALL {
            tables.push((
                t.name().to_string(),
                format!("reference/{}", t.name()),
                t.schema(),
            ));
        }
        let schema =
            schema::LakeSchema::new(self.clone(), snapshot.clone(), ctx.runtime_env(), tables);
        let state = ctx.state();
        let options = &state.config().options().catalog;
        let catalog = ctx
            .catalog(&options.default_catalog)
            .expect("a new session has its default catalog");
        catalog.register_schema(&options.default_schema, Arc::new(schema))?;
        Ok(ctx)
    }

    /// Every manifest row of a snapshot (none for an empty lake).
    pub async fn manifest(&self, snapshot: &Snapshot) -> Result<Vec<RecordBatch>, LakeError> {
        let ctx = self.session(snapshot).await?;
        Ok(ctx.table(MANIFEST).await?.collect().await?)
    }
}

/// Whether `dt` holds exactly `schema`'s columns (types and nullability) partitioned by
/// `partition_by`, with default statistics: then a staged file is what a write of the
/// same rows would have added. Anything else (an older table to widen or relax first) is
/// written through delta-rs, which evolves the schema.
fn holds_as_staged(
    name: &str,
    dt: &DeltaTable,
    schema: &SchemaRef,
    partition_by: &[&str],
) -> Result<bool, LakeError> {
    use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
    let snapshot = dt.snapshot().map_err(delta(name))?;
    let expected: deltalake::kernel::StructType = schema.as_ref().try_into_kernel()?;
    let held = snapshot.schema();
    let same_columns = held.fields().len() == expected.fields().len()
        && expected.fields().all(|f| {
            held.field(f.name()).is_some_and(|h| {
                h.data_type() == f.data_type() && h.is_nullable() == f.is_nullable()
            })
        });
    let partitions = snapshot.metadata().partition_columns();
    let same_partitions = partitions.len() == partition_by.len()
        && partitions.iter().zip(partition_by).all(|(a, b)| a == b);
    let config = snapshot.table_config();
    let default_stats = config.data_skipping_num_indexed_cols.is_none()
        && config.data_skipping_stats_columns.is_none();
    Ok(same_columns && same_partitions && default_stats)
}

/// A column the table holds as required that new rows may leave empty (`ethnicity`,
/// once Australian rows carry Indigenous status instead) is made nullable first, with
/// Delta's `DROP NOT NULL`: merging schemas adds columns but keeps a column's `NOT NULL`.
async fn relax_required(
    name: &str,
    mut table: DeltaTable,
    incoming: Option<&datafusion::arrow::datatypes::Schema>,
) -> Result<DeltaTable, LakeError> {
    let Some(incoming) = incoming else {
        return Ok(table);
    };
    let required: Vec<String> = {
        let snapshot = table.snapshot().map_err(delta(name))?;
        let schema = snapshot.schema();
        incoming
            .fields()
            .iter()
            .filter(|f| f.is_nullable())
            .filter(|f| {
                schema
                    .field(f.name())
                    .is_some_and(|existing| !existing.is_nullable())
            })
            .map(|f| f.name().clone())
            .collect()
    };
    for column in required {
        tracing::info!(table = name, column, "making a required column nullable");
        table = table
            .drop_column_not_null()
            .with_column(column)
            .await
            .map_err(delta(name))?;
    }
    Ok(table)
}

/// A table's loaded version as ako stores versions (i64; Delta's are u64 but never
/// approach i64::MAX).
fn version_of(table: &DeltaTable) -> i64 {
    table.version().map_or(-1, |v| v as i64)
}

/// `table` with every column of `schema`, today's: one a version was written without
/// (before `indigenous_status` existed) reads as nulls, so that every query in
/// `queries/` plans on every version a session may have pinned.
async fn provider_as_now(
    runtime: &Arc<RuntimeEnv>,
    name: &str,
    table: &DeltaTable,
    schema: &SchemaRef,
) -> Result<Arc<dyn TableProvider>, LakeError> {
    let state = SessionStateBuilder::new()
        .with_runtime_env(runtime.clone())
        .build();
    let ctx = SessionContext::new_with_state(state);
    let provider = delta_provider(&ctx, name, table).await?;
    let held = provider.schema();
    let missing: Vec<_> = schema
        .fields()
        .iter()
        .filter(|f| held.field_with_name(f.name()).is_err())
        .collect();
    if missing.is_empty() {
        return Ok(provider);
    }
    let mut columns: Vec<Expr> = held.fields().iter().map(|f| ident(f.name())).collect();
    for f in missing {
        let null = datafusion::scalar::ScalarValue::try_from(f.data_type())?;
        columns.push(lit(null).alias(f.name()));
    }
    Ok(ctx.read_table(provider)?.select(columns)?.into_view())
}

async fn register_delta(
    ctx: &SessionContext,
    name: &str,
    table: &DeltaTable,
) -> Result<(), LakeError> {
    ctx.register_table(name, delta_provider(ctx, name, table).await?)?;
    Ok(())
}

/// `table` as a DataFusion table provider of `ctx`'s session.
async fn delta_provider(
    ctx: &SessionContext,
    name: &str,
    table: &DeltaTable,
) -> Result<Arc<dyn TableProvider>, LakeError> {
    table
        .update_datafusion_session(&ctx.state())
        .map_err(delta(name))?;
    table.table_provider().await.map_err(LakeError::from)
}
