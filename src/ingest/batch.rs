//! Arrow record-batch builders for validated episodes and rejections, and the staging
//! Parquet writer that keeps ingest memory bounded whatever the file size.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::parquet::schema::types::ColumnPath;

use super::validate::{Episode, RowRejection};
use crate::model::{self, col};

/// Rows per record batch: large enough for vectorised writes, small enough that a
/// batch is a few MB whatever the file size.
pub const BATCH_ROWS: usize = 64 * 1024;

fn utc(b: TimestampMicrosecondBuilder) -> TimestampMicrosecondBuilder {
    b.with_timezone("UTC")
}

/// Staging column holding each episode's source line, so duplicates found after
/// staging can be named by line. Never written to the lake.
pub const LINE: &str = "_line";

/// The episode schema plus [`LINE`]: what staging files hold.
pub fn staging_schema() -> SchemaRef {
    let mut fields: Vec<Field> = model::episode_schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new(LINE, DataType::Int64, false));
    Arc::new(Schema::new(fields))
}

/// Accumulates episodes of one extract into record batches.
pub struct EpisodeBatch {
    jurisdiction: String,
    extract_id: String,
    strings: Vec<StringBuilder>,
    start: TimestampMicrosecondBuilder,
    end: TimestampMicrosecondBuilder,
    minor: BooleanBuilder,
    emergency: BooleanBuilder,
    obs_gap: Int32Builder,
    line: Int64Builder,
    len: usize,
}

impl EpisodeBatch {
    /// A builder stamping every row with `jurisdiction` and `extract_id`.
    pub fn new(jurisdiction: &str, extract_id: &str) -> Self {
        EpisodeBatch {
            jurisdiction: jurisdiction.to_string(),
            extract_id: extract_id.to_string(),
            strings: (0..16).map(|_| StringBuilder::new()).collect(),
            start: utc(TimestampMicrosecondBuilder::new()),
            end: utc(TimestampMicrosecondBuilder::new()),
            minor: BooleanBuilder::new(),
            emergency: BooleanBuilder::new(),
            obs_gap: Int32Builder::new(),
            line: Int64Builder::new(),
            len: 0,
        }
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no rows are held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends one episode read from source line `line`.
    pub fn push(&mut self, e: &Episode, line: u64) {
        let values: [Option<&str>; 16] = [
            Some(&e.org_code),
            Some(&e.episode_id),
            Some(&e.person_key),
            Some(&e.unit_code),
            Some(e.setting.as_str()),
            Some(e.practice.as_str()),
            Some(&e.age_band),
            Some(e.sex.as_str()),
            e.ethnicity.map(|x| x.as_str()),
            e.indigenous_status.map(|x| x.as_str()),
            Some(&e.legal_status),
            Some(e.authorised_by.as_str()),
            Some(e.reason.as_str()),
            Some(&self.jurisdiction),
            Some(&self.extract_id),
            Some(&e.month),
        ];
        for (b, v) in self.strings.iter_mut().zip(values) {
            b.append_option(v);
        }
        self.start.append_value(e.start_time.timestamp_micros());
        self.end
            .append_option(e.end_time.map(|t| t.timestamp_micros()));
        self.minor.append_value(e.minor);
        self.emergency.append_value(e.emergency);
        self.obs_gap.append_option(e.max_obs_gap_min);
        self.line.append_value(line as i64);
        self.len += 1;
    }

    /// Takes the rows held as a batch of [`staging_schema`]. String builders were
    /// filled in the schema's order of string columns (see `push`).
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let schema = staging_schema();
        let mut strings = self.strings.iter_mut();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for field in schema.fields() {
            let array: ArrayRef = match field.name().as_str() {
                col::START_TIME => Arc::new(self.start.finish()),
                col::END_TIME => Arc::new(self.end.finish()),
                col::MINOR => Arc::new(self.minor.finish()),
                col::EMERGENCY => Arc::new(self.emergency.finish()),
                col::MAX_OBS_GAP_MIN => Arc::new(self.obs_gap.finish()),
                LINE => Arc::new(self.line.finish()),
                _ => Arc::new(
                    strings
                        .next()
                        .expect("one builder per string column")
                        .finish(),
                ),
            };
            columns.push(array);
        }
        self.len = 0;
        RecordBatch::try_new(schema, columns)
    }
}

/// Accumulates rejections of one extract.
pub struct RejectionBatch {
    extract_id: String,
    file: String,
    org_code: Option<String>,
    rows: Vec<RowRejection>,
}

impl RejectionBatch {
    pub fn new(extract_id: &str, file: &str) -> Self {
        RejectionBatch {
            extract_id: extract_id.into(),
            file: file.into(),
            org_code: None,
            rows: Vec::new(),
        }
    }

    /// Records the organisation once it is known.
    pub fn set_org(&mut self, org: &str) {
        self.org_code = Some(org.to_string());
    }

    pub fn push(&mut self, r: RowRejection) {
        self.rows.push(r);
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Takes the rows held as a batch in [`model::rejection_schema`] order.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let rows = std::mem::take(&mut self.rows);
        let n = rows.len();
        let repeat =
            |v: &str| Arc::new(datafusion::arrow::array::StringArray::from(vec![v; n])) as ArrayRef;
        let org = Arc::new(datafusion::arrow::array::StringArray::from(
            vec![self.org_code.as_deref(); n],
        ));
        let mut line = Int64Builder::with_capacity(n);
        let mut column = StringBuilder::new();
        let mut value = StringBuilder::new();
        let mut reason = StringBuilder::new();
        let mut message = StringBuilder::new();
        for r in &rows {
            line.append_value(r.line as i64);
            column.append_option(r.column.as_deref());
            value.append_option(r.value.as_deref());
            reason.append_value(r.reason.as_str());
            message.append_value(&r.message);
        }
        RecordBatch::try_new(
            model::rejection_schema(),
            vec![
                repeat(&self.extract_id),
                repeat(&self.file),
                org,
                Arc::new(line.finish()),
                Arc::new(column.finish()),
                Arc::new(value.finish()),
                Arc::new(reason.finish()),
                Arc::new(message.finish()),
            ],
        )
    }
}

/// A Parquet file written batch by batch in the lake's staging area, on a thread of its
/// own: encoding took a fifth of a 10 M-row staging on the one thread that also parses
/// and validates. Delta reads the file back through DataFusion. At most
/// [`BATCHES_IN_FLIGHT`] batches wait for the writer, so memory stays bounded.
pub struct StagedParquet {
    path: PathBuf,
    sender: Option<SyncSender<RecordBatch>>,
    writer: Option<JoinHandle<Result<(), ParquetError>>>,
    rows: usize,
}

/// Batches queued for the staging writer before the reader waits.
const BATCHES_IN_FLIGHT: usize = 2;

impl StagedParquet {
    /// Creates `path` (its folder must exist).
    pub fn create(path: &Path, schema: SchemaRef) -> Result<Self, ParquetError> {
        let file = File::create(path)?;
        // Small row groups: the writer buffers one group, and DataFusion decodes one
        // group at a time when Delta reads the file back.
        // Ids are all distinct: a dictionary for them is built and thrown away again
        // in every row group (a tenth of the encoding time).
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(1)?))
            .set_max_row_group_row_count(Some(BATCH_ROWS))
            .set_column_dictionary_enabled(ColumnPath::from(col::EPISODE_ID), false)
            .set_column_dictionary_enabled(ColumnPath::from(LINE), false)
            .build();
        let mut writer = ArrowWriter::try_new(file, schema, Some(props))?;
        let (sender, batches) = sync_channel::<RecordBatch>(BATCHES_IN_FLIGHT);
        let writer = std::thread::Builder::new()
            .name("ako-staging".into())
            .spawn(move || {
                for batch in batches {
                    writer.write(&batch)?;
                }
                writer.close().map(|_| ())
            })?;
        Ok(StagedParquet {
            path: path.to_path_buf(),
            sender: Some(sender),
            writer: Some(writer),
            rows: 0,
        })
    }

    /// Appends a batch.
    pub fn write(&mut self, batch: RecordBatch) -> Result<(), ParquetError> {
        self.rows += batch.num_rows();
        let sent = self.sender.as_ref().expect("open writer").send(batch);
        if sent.is_err() {
            // The writer stopped on an error; closing reports it.
            return self
                .finish()
                .and(Err(ParquetError::General("staging writer stopped".into())));
        }
        Ok(())
    }

    /// Rows written.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Closes the file (writing its footer) and returns its path.
    pub fn close(mut self) -> Result<PathBuf, ParquetError> {
        self.finish()?;
        Ok(self.path.clone())
    }

    fn finish(&mut self) -> Result<(), ParquetError> {
        drop(self.sender.take());
        match self.writer.take() {
            Some(handle) => handle
                .join()
                .unwrap_or_else(|_| Err(ParquetError::General("staging writer panicked".into()))),
            None => Ok(()),
        }
    }
}

/// A refused file's staging is abandoned mid-way: the writer is waited for, so that its
/// folder can be removed with nothing still writing into it.
impl Drop for StagedParquet {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}
