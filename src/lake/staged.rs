//! Rows staged in a table's own layout, and the two ways they reach the table.
//!
//! An ingest encodes its validated rows once, as the Parquet files the table will hold:
//! the table's schema less its partition columns, the lake's Parquet settings and the
//! Delta statistics of each file, written by delta-rs's own data-file writer into the
//! lake's staging area. A commit that replaces no row the table has (new months, a new
//! organisation, a new lake) moves those files into the table and commits them as they
//! are. Any other (rows to replace, rows to leave out, a table whose schema must change
//! first) reads them back and writes them through delta-rs as before. Encoding every row
//! twice was a quarter of a 10 M-row ingest's time (bench/README.md).
//!
//! Staged files stay outside the table until their commit, so a refused or interrupted
//! extract leaves nothing in it (`Lake::recover` empties the staging area); a file moved
//! in by a commit that then failed is unreferenced, which Delta readers never see, and is
//! removed again.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use datafusion::arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{Action, Add};
use deltalake::logstore::object_store::local::LocalFileSystem;
use deltalake::logstore::object_store::path::Path as StorePath;
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::{DeltaTable, DeltaTableError};

use super::{LakeError, delta};

/// The rows of one extract (or any one source) staged for a table, in the order they were
/// written.
#[derive(Debug, Clone)]
pub struct StagedRows {
    /// The folder the files' Delta paths are relative to.
    pub root: PathBuf,
    /// The staged files as the table's `add` actions, in row order.
    pub files: Vec<Add>,
    /// Rows in the files.
    pub rows: u64,
    /// Positions among all the files' rows (ascending) of rows not to write.
    pub skip: Vec<u64>,
}

impl StagedRows {
    /// Where a staged file is on disk, by the same mapping the writer used.
    fn path_of(root: &Path, add: &Add) -> Result<PathBuf, LakeError> {
        let store = LocalFileSystem::new_with_prefix(root).map_err(store_error(root))?;
        let location = StorePath::parse(&add.path).map_err(|e| store_error(root)(e.into()))?;
        store
            .path_to_filesystem(&location)
            .map_err(store_error(root))
    }

    /// The staged files on disk, in row order.
    pub fn paths(&self) -> Result<Vec<PathBuf>, LakeError> {
        self.files
            .iter()
            .map(|add| Self::path_of(&self.root, add))
            .collect()
    }
}

fn store_error(path: &Path) -> impl Fn(deltalake::logstore::object_store::Error) -> LakeError + '_ {
    move |e| LakeError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    }
}

/// Rows per batch when staged files are read back.
const READ_BACK_ROWS: usize = 32 * 1024;

/// Batches queued for a staging writer before the one filling them waits.
const BATCHES_IN_FLIGHT: usize = 2;

/// Writes one source's rows for a table as staged files, on a thread of its own:
/// encoding took a fifth of a 10 M-row ingest on the one thread that also parses and
/// validates. At most [`BATCHES_IN_FLIGHT`] batches wait for it, so memory stays bounded.
pub struct StagedWriter {
    root: PathBuf,
    sender: Option<SyncSender<RecordBatch>>,
    writer: Option<JoinHandle<Result<Vec<Add>, DeltaTableError>>>,
    rows: u64,
}

impl StagedWriter {
    /// Stages rows of `schema` (partition columns included) for a table partitioned by
    /// `partition_by`, under `root` (created if need be).
    pub fn create(
        root: &Path,
        schema: SchemaRef,
        partition_by: &[&str],
    ) -> Result<StagedWriter, LakeError> {
        std::fs::create_dir_all(root).map_err(|source| LakeError::Io {
            path: root.to_path_buf(),
            source,
        })?;
        let store = Arc::new(LocalFileSystem::new_with_prefix(root).map_err(store_error(root))?);
        // ako sets no table property on statistics, so the defaults are the table's.
        let (indexed, stats_columns) =
            deltalake::operations::get_num_idx_cols_and_stats_columns(None, HashMap::new());
        let config = deltalake::datafile::writer::WriterConfig::new(
            schema,
            partition_by.iter().map(|c| c.to_string()).collect(),
            Some(super::lake_parquet_properties()),
            None,
            None,
            indexed,
            stats_columns,
        );
        let (sender, batches) = sync_channel::<RecordBatch>(BATCHES_IN_FLIGHT);
        let io = |source| LakeError::Io {
            path: root.to_path_buf(),
            source,
        };
        let writer = std::thread::Builder::new()
            .name("ako-staging".into())
            .spawn(move || {
                // delta-rs's writer is async; this thread is its runtime.
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| DeltaTableError::Generic(e.to_string()))?;
                runtime.block_on(async move {
                    let mut writer = deltalake::datafile::writer::DeltaWriter::new(store, config);
                    for batch in batches {
                        writer.write(&batch).await?;
                    }
                    writer.close().await
                })
            })
            .map_err(io)?;
        Ok(StagedWriter {
            root: root.to_path_buf(),
            sender: Some(sender),
            writer: Some(writer),
            rows: 0,
        })
    }

    /// Appends a batch.
    pub fn write(&mut self, batch: RecordBatch) -> Result<(), LakeError> {
        self.rows += batch.num_rows() as u64;
        let sent = self.sender.as_ref().expect("open writer").send(batch);
        if sent.is_err() {
            // The writer stopped on an error; finishing reports it.
            self.finish()?;
            return Err(staging_error(DeltaTableError::Generic(
                "staging writer stopped".into(),
            )));
        }
        Ok(())
    }

    /// Rows written.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Closes the files and returns them, in the order their rows were written.
    pub fn close(mut self) -> Result<StagedRows, LakeError> {
        let mut files = self.finish()?;
        // One writer names its files part-00001, part-00002, … in the order it fills
        // them; row positions (and so `skip`) follow that order.
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(StagedRows {
            root: self.root.clone(),
            files,
            rows: self.rows,
            skip: Vec::new(),
        })
    }

    fn finish(&mut self) -> Result<Vec<Add>, LakeError> {
        drop(self.sender.take());
        match self.writer.take() {
            Some(handle) => handle
                .join()
                .unwrap_or_else(|_| Err(DeltaTableError::Generic("staging writer panicked".into())))
                .map_err(staging_error),
            None => Ok(Vec::new()),
        }
    }
}

fn staging_error(source: DeltaTableError) -> LakeError {
    LakeError::Delta {
        table: "(staging)".into(),
        source: Box::new(source),
    }
}

/// A refused file's staging is abandoned mid-way: the writer is waited for, so that its
/// folder can be removed with nothing still writing into it.
impl Drop for StagedWriter {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Fewest rows a source's staged files may hold to be committed as they are: one row
/// group of the lake's files. Smaller ones are written with the rest of their commit, so
/// a folder of small extracts still makes one file per organisation, not one each
/// (re-encoding them costs little; encoding twice only mattered for large extracts).
pub const AS_IS_MIN_ROWS: u64 = super::ROW_GROUP_ROWS as u64;

/// Whether the staged rows can be committed as they are: large, and nothing to leave
/// out.
pub(super) fn committable_as_is(staged: &[StagedRows]) -> bool {
    staged
        .iter()
        .all(|s| s.skip.is_empty() && s.rows >= AS_IS_MIN_ROWS)
        && staged.iter().any(|s| !s.files.is_empty())
}

/// Moves the staged files into the table's folder and commits them as one append to
/// `table`; when it does not exist yet (`None`), the same commit creates it with
/// `schema` and `partition_by`. The new version.
pub(super) async fn commit_as_is(
    name: &str,
    table: Option<&DeltaTable>,
    url: &url::Url,
    schema: &SchemaRef,
    staged: &[StagedRows],
    partition_by: &[&str],
) -> Result<i64, LakeError> {
    let table_dir = url.to_file_path().map_err(|()| LakeError::Io {
        path: PathBuf::from(url.as_str()),
        source: std::io::Error::other("staged files are committed only to a lake on local disk"),
    })?;
    let mut moved: Vec<PathBuf> = Vec::new();
    let mut actions = Vec::new();
    let result = async {
        for s in staged {
            for add in &s.files {
                let from = StagedRows::path_of(&s.root, add)?;
                let to = StagedRows::path_of(&table_dir, add)?;
                if let Some(parent) = to.parent() {
                    std::fs::create_dir_all(parent).map_err(|source| LakeError::Io {
                        path: parent.to_path_buf(),
                        source,
                    })?;
                }
                std::fs::rename(&from, &to)
                    .map_err(|source| LakeError::Io { path: from, source })?;
                moved.push(to);
                actions.push(Action::Add(add.clone()));
            }
        }
        let version = match table {
            Some(table) => {
                let operation = DeltaOperation::Write {
                    mode: SaveMode::Append,
                    partition_by: Some(partition_by.iter().map(|c| c.to_string()).collect()),
                    predicate: None,
                };
                let snapshot = table.snapshot().map_err(delta(name))?;
                CommitBuilder::from(CommitProperties::default())
                    .with_actions(std::mem::take(&mut actions))
                    .build(Some(snapshot), table.log_store(), operation)
                    .await
                    .map_err(delta(name))?
                    .version() as i64
            }
            None => {
                use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
                let columns: deltalake::kernel::StructType = schema.as_ref().try_into_kernel()?;
                let created = deltalake::operations::create::CreateBuilder::new()
                    .with_location(url.as_str())
                    .with_columns(columns.fields().cloned())
                    .with_partition_columns(partition_by.iter().map(|c| c.to_string()))
                    .with_actions(std::mem::take(&mut actions))
                    .await
                    .map_err(delta(name))?;
                super::version_of(&created)
            }
        };
        Ok(version)
    }
    .await;
    if result.is_err() {
        // Not committed, so nothing refers to them.
        for path in moved {
            let _ = std::fs::remove_file(path);
        }
    }
    result
}

/// The staged rows read back, one file after another in a single stream (read side by
/// side, every file held batches in flight), with their partition columns put back from
/// the file's partition values and the rows to skip left out.
#[derive(Debug)]
pub(super) struct StagedStream {
    schema: SchemaRef,
    staged: Vec<StagedRows>,
}

impl StagedStream {
    pub fn new(schema: SchemaRef, staged: Vec<StagedRows>) -> StagedStream {
        StagedStream { schema, staged }
    }
}

impl PartitionStream for StagedStream {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let schema = self.schema.clone();
        let batches = Batches {
            schema: schema.clone(),
            staged: self.staged.clone().into_iter(),
            current: None,
        };
        Box::pin(RecordBatchStreamAdapter::new(
            schema,
            futures::stream::iter(batches),
        ))
    }
}

/// The file being read and where its rows stand among its source's.
struct Reading {
    reader: datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReader,
    partition: HashMap<String, Option<String>>,
    /// Position of the reader's next row among the source's rows.
    row: u64,
    skip: std::iter::Peekable<std::vec::IntoIter<u64>>,
    rest: std::vec::IntoIter<PathBuf>,
    partitions: std::vec::IntoIter<HashMap<String, Option<String>>>,
}

struct Batches {
    schema: SchemaRef,
    staged: std::vec::IntoIter<StagedRows>,
    current: Option<Reading>,
}

impl Batches {
    /// Opens the next file of the current source, or the first of the next source.
    fn open_next(&mut self) -> Result<bool, DataFusionError> {
        loop {
            if let Some(reading) = &mut self.current
                && let Some(path) = reading.rest.next()
            {
                let partition = reading.partitions.next().unwrap_or_default();
                let file = File::open(&path)
                    .map_err(|e| DataFusionError::Execution(format!("{}: {e}", path.display())))?;
                reading.reader = ParquetRecordBatchReaderBuilder::try_new(file)?
                    .with_batch_size(READ_BACK_ROWS)
                    .build()?;
                reading.partition = partition;
                return Ok(true);
            }
            let Some(source) = self.staged.next() else {
                self.current = None;
                return Ok(false);
            };
            let paths = source
                .paths()
                .map_err(|e| DataFusionError::External(Box::new(e)))?;
            let partitions: Vec<_> = source
                .files
                .iter()
                .map(|a| a.partition_values.clone())
                .collect();
            let (mut paths, mut partitions) = (paths.into_iter(), partitions.into_iter());
            let Some(first) = paths.next() else { continue };
            let file = File::open(&first)
                .map_err(|e| DataFusionError::Execution(format!("{}: {e}", first.display())))?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)?
                .with_batch_size(READ_BACK_ROWS)
                .build()?;
            self.current = Some(Reading {
                reader,
                partition: partitions.next().unwrap_or_default(),
                row: 0,
                skip: source.skip.into_iter().peekable(),
                rest: paths,
                partitions,
            });
            return Ok(true);
        }
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>, DataFusionError> {
        if self.current.is_none() && !self.open_next()? {
            return Ok(None);
        }
        loop {
            let reading = self.current.as_mut().expect("opened");
            match reading.reader.next() {
                Some(batch) => {
                    let batch = batch?;
                    let batch = leave_out(batch, reading)?;
                    if batch.num_rows() > 0 {
                        return Ok(Some(with_partitions(
                            &self.schema,
                            batch,
                            &reading.partition,
                        )?));
                    }
                }
                None => {
                    if !self.open_next()? {
                        return Ok(None);
                    }
                }
            }
        }
    }
}

impl Iterator for Batches {
    type Item = Result<RecordBatch, DataFusionError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch().transpose()
    }
}

/// `batch` without the rows `reading` is to skip; advances its row position.
fn leave_out(batch: RecordBatch, reading: &mut Reading) -> Result<RecordBatch, DataFusionError> {
    let (start, n) = (reading.row, batch.num_rows() as u64);
    reading.row += n;
    if reading.skip.peek().is_none_or(|&s| s >= start + n) {
        return Ok(batch);
    }
    let mut keep = vec![true; n as usize];
    while let Some(&s) = reading.skip.peek()
        && s < start + n
    {
        if s >= start {
            keep[(s - start) as usize] = false;
        }
        reading.skip.next();
    }
    Ok(filter_record_batch(&batch, &BooleanArray::from(keep))?)
}

/// `batch` in `schema`'s column order, its partition columns filled from `partition`.
fn with_partitions(
    schema: &SchemaRef,
    batch: RecordBatch,
    partition: &HashMap<String, Option<String>>,
) -> Result<RecordBatch, DataFusionError> {
    let n = batch.num_rows();
    let columns = schema
        .fields()
        .iter()
        .map(|f| match batch.column_by_name(f.name()) {
            Some(c) => Ok(c.clone()),
            None => match partition.get(f.name()) {
                Some(value) => {
                    Ok(Arc::new(StringArray::from(vec![value.as_deref(); n])) as ArrayRef)
                }
                None => Err(DataFusionError::Execution(format!(
                    "a staged file has no column {}",
                    f.name()
                ))),
            },
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use datafusion::arrow::array::{BooleanArray, Int32Array, TimestampMicrosecondArray};
    use datafusion::arrow::datatypes::DataType;
    use datafusion::logical_expr::Expr;
    use datafusion::prelude::{SessionContext, col, lit};
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::lake::{EPISODES, Lake, WriteInput, WriteMode};
    use crate::model;

    /// `n` episodes of `org` in `month`, ids `{tag}{i}`.
    fn episodes(org: &str, month: &str, tag: &str, n: usize) -> RecordBatch {
        let schema = model::episode_schema();
        let columns = schema
            .fields()
            .iter()
            .map(|f| -> ArrayRef {
                match (f.name().as_str(), f.data_type()) {
                    (model::col::ORG_CODE, _) => Arc::new(StringArray::from(vec![org; n])),
                    (model::col::MONTH, _) => Arc::new(StringArray::from(vec![month; n])),
                    (model::col::EPISODE_ID, _) => Arc::new(StringArray::from_iter_values(
                        (0..n).map(|i| format!("{tag}{i}")),
                    )),
                    (_, DataType::Utf8) => Arc::new(StringArray::from(vec!["x"; n])),
                    (_, DataType::Boolean) => Arc::new(BooleanArray::from(vec![false; n])),
                    (_, DataType::Int32) => Arc::new(Int32Array::from(vec![15; n])),
                    (_, DataType::Timestamp(..)) => Arc::new(
                        TimestampMicrosecondArray::from(vec![1_709_600_000_000_000; n])
                            .with_timezone("UTC"),
                    ),
                    (name, t) => panic!("no test values for {name}: {t}"),
                }
            })
            .collect();
        RecordBatch::try_new(schema, columns).unwrap()
    }

    /// `batch` staged under `root`, and the SHA-256 of each staged file by its path.
    fn stage(root: &Path, batch: RecordBatch) -> (StagedRows, BTreeMap<String, String>) {
        let mut writer =
            StagedWriter::create(root, model::episode_schema(), &[model::col::ORG_CODE]).unwrap();
        writer.write(batch).unwrap();
        let staged = writer.close().unwrap();
        let hashes = staged
            .files
            .iter()
            .zip(staged.paths().unwrap())
            .map(|(add, path)| {
                let bytes = std::fs::read(path).unwrap();
                (add.path.clone(), format!("{:x}", Sha256::digest(bytes)))
            })
            .collect();
        (staged, hashes)
    }

    fn months(org: &str, from: &str, to: &str) -> Expr {
        col(model::col::ORG_CODE).eq(lit(org)).and(
            col(model::col::MONTH)
                .gt_eq(lit(from))
                .and(col(model::col::MONTH).lt_eq(lit(to))),
        )
    }

    async fn write(lake: &Lake, staged: StagedRows, mode: WriteMode) -> i64 {
        lake.write(
            EPISODES,
            WriteInput::Staged {
                staged: vec![staged],
                schema: model::episode_schema(),
            },
            mode,
            &[model::col::ORG_CODE],
        )
        .await
        .unwrap()
    }

    /// The table's files (relative paths, by SHA-256 of their bytes) and its rows by
    /// month and first letter of the id.
    async fn table(lake: &Lake) -> (BTreeMap<String, String>, Vec<(String, String, i64)>) {
        let dt = lake.latest(EPISODES).await.unwrap().unwrap();
        let dir = lake.table_path(EPISODES);
        let files = dt
            .snapshot()
            .unwrap()
            .log_data()
            .iter()
            .map(|f| {
                let path = f.path().to_string();
                let bytes = std::fs::read(dir.join(&path)).unwrap();
                (path, format!("{:x}", Sha256::digest(bytes)))
            })
            .collect();
        let ctx = SessionContext::new();
        ctx.register_table(
            "e",
            super::super::delta_provider(&ctx, EPISODES, &dt)
                .await
                .unwrap(),
        )
        .unwrap();
        let batches = ctx
            .sql("SELECT month, substr(episode_id, 1, 1) AS tag, count(*) AS n FROM e GROUP BY 1, 2 ORDER BY 1, 2")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let mut rows = Vec::new();
        for b in &batches {
            let text =
                |i: usize| crate::table::string_column(b, b.schema().field(i).name()).unwrap();
            let (m, t) = (text(0), text(1));
            let n = b
                .column(2)
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Int64Array>()
                .unwrap();
            for i in 0..b.num_rows() {
                rows.push((m.value(i).to_string(), t.value(i).to_string(), n.value(i)));
            }
        }
        (files, rows)
    }

    #[tokio::test]
    async fn staged_files_are_committed_as_they_are_only_when_that_is_what_a_write_gives() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path()).unwrap();
        let n = AS_IS_MIN_ROWS as usize + 10;
        let staging = lake.staging_dir();
        let month = |m: &str| format!("2024-{m}");

        // A new table: the staged file is the table's, byte for byte, in one commit.
        let (march, staged_march) =
            stage(&staging.join("a"), episodes("TST", &month("03"), "A", n));
        let v = write(
            &lake,
            march,
            WriteMode::ReplaceWhere(months("TST", "2024-03", "2024-03")),
        )
        .await;
        assert_eq!(v, 0);
        let (files, rows) = table(&lake).await;
        assert_eq!(files, staged_march);
        assert_eq!(rows, [(month("03"), "A".into(), n as i64)]);
        assert!(
            std::fs::read_dir(staging.join("a/org_code=TST"))
                .unwrap()
                .next()
                .is_none()
        );

        // A new month replaces nothing: its file joins the table as staged.
        let (april, staged_april) =
            stage(&staging.join("b"), episodes("TST", &month("04"), "B", n));
        let v = write(
            &lake,
            april,
            WriteMode::ReplaceWhere(months("TST", "2024-04", "2024-04")),
        )
        .await;
        assert_eq!(v, 1);
        let (files, _) = table(&lake).await;
        let mut expected = staged_march.clone();
        expected.extend(staged_april.clone());
        assert_eq!(files, expected);

        // April again: it replaces rows, so it is written (the staged file is not the
        // table's) and the old April is gone.
        let (again, staged_again) =
            stage(&staging.join("c"), episodes("TST", &month("04"), "C", n));
        let v = write(
            &lake,
            again,
            WriteMode::ReplaceWhere(months("TST", "2024-04", "2024-04")),
        )
        .await;
        assert_eq!(v, 2);
        let (files, rows) = table(&lake).await;
        assert!(
            staged_again.keys().all(|p| !files.contains_key(p)),
            "{files:?}"
        );
        assert!(
            staged_april.keys().all(|p| !files.contains_key(p)),
            "{files:?}"
        );
        assert_eq!(
            rows,
            [
                (month("03"), "A".into(), n as i64),
                (month("04"), "C".into(), n as i64)
            ]
        );

        // May with two rows to leave out (positions 0 and n - 1) is written without them.
        let (mut may, staged_may) =
            stage(&staging.join("d"), episodes("TST", &month("05"), "D", n));
        may.skip = vec![0, n as u64 - 1];
        write(
            &lake,
            may,
            WriteMode::ReplaceWhere(months("TST", "2024-05", "2024-05")),
        )
        .await;
        let (files, rows) = table(&lake).await;
        assert!(staged_may.keys().all(|p| !files.contains_key(p)));
        assert_eq!(rows[2], (month("05"), "D".into(), n as i64 - 2));
        let ids = lake.latest(EPISODES).await.unwrap().unwrap();
        let ctx = SessionContext::new();
        ctx.register_table(
            "e",
            super::super::delta_provider(&ctx, EPISODES, &ids)
                .await
                .unwrap(),
        )
        .unwrap();
        let gone = ctx
            .sql(&format!(
                "SELECT count(*) FROM e WHERE episode_id IN ('D0', 'D{}')",
                n - 1
            ))
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let count = gone[0]
            .column(0)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::Int64Array>()
            .unwrap()
            .value(0);
        assert_eq!(count, 0);

        // A small source (one row group's worth less one) is written with its commit.
        let (june, staged_june) = stage(
            &staging.join("e"),
            episodes("TST", &month("06"), "E", AS_IS_MIN_ROWS as usize - 1),
        );
        write(
            &lake,
            june,
            WriteMode::ReplaceWhere(months("TST", "2024-06", "2024-06")),
        )
        .await;
        let (files, rows) = table(&lake).await;
        assert!(staged_june.keys().all(|p| !files.contains_key(p)));
        assert_eq!(
            rows[3],
            (month("06"), "E".into(), AS_IS_MIN_ROWS as i64 - 1)
        );
    }
}
