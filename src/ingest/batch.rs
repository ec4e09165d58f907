//! Arrow record-batch builders for validated episodes and rejections, and the source
//! lines of staged rows.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;

use super::validate::{Episode, RowRejection};
use crate::model::{self, col};

/// Rows per record batch: large enough for vectorised writes, small enough that a
/// batch is a few MB whatever the file size.
pub const BATCH_ROWS: usize = 64 * 1024;

fn utc(b: TimestampMicrosecondBuilder) -> TimestampMicrosecondBuilder {
    b.with_timezone("UTC")
}

/// The source line of each staged row. Rows are staged in line order and nearly every
/// one is on the line after the row before, so only the rows that are not (after a
/// rejected row, a multi-line record or the header) are kept: memory grows with those,
/// not with the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lines {
    /// (row, line) wherever a row's line is not the line after its predecessor's.
    breaks: Vec<(u64, u64)>,
    rows: u64,
}

impl Lines {
    /// The next row is on `line`, after every line pushed before.
    pub fn push(&mut self, line: u64) {
        let follows = self
            .breaks
            .last()
            .is_some_and(|&(row, first)| first + (self.rows - row) == line);
        if !follows {
            self.breaks.push((self.rows, line));
        }
        self.rows += 1;
    }

    /// Rows pushed.
    pub fn len(&self) -> u64 {
        self.rows
    }

    /// True when no row was pushed.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The row on `line`, if one is.
    pub fn row_of(&self, line: u64) -> Option<u64> {
        let i = self
            .breaks
            .partition_point(|&(_, first)| first <= line)
            .checked_sub(1)?;
        let (row, first) = self.breaks[i];
        let end = self.breaks.get(i + 1).map_or(self.rows, |&(r, _)| r);
        let found = row + (line - first);
        (found < end).then_some(found)
    }

    /// Every row's line, in row order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.breaks
            .iter()
            .enumerate()
            .flat_map(|(i, &(row, first))| {
                let end = self.breaks.get(i + 1).map_or(self.rows, |&(r, _)| r);
                (0..end - row).map(move |k| first + k)
            })
    }
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

    /// Appends one episode.
    pub fn push(&mut self, e: &Episode) {
        let values: [Option<&str>; 16] = [
            Some(e.org_code),
            Some(e.episode_id),
            Some(e.person_key),
            Some(e.unit_code),
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
            Some(e.month.as_str()),
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
        self.len += 1;
    }

    /// Takes the rows held as a batch of the episode schema. String builders were
    /// filled in the schema's order of string columns (see `push`).
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let schema = model::episode_schema();
        let mut strings = self.strings.iter_mut();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for field in schema.fields() {
            let array: ArrayRef = match field.name().as_str() {
                col::START_TIME => Arc::new(self.start.finish()),
                col::END_TIME => Arc::new(self.end.finish()),
                col::MINOR => Arc::new(self.minor.finish()),
                col::EMERGENCY => Arc::new(self.emergency.finish()),
                col::MAX_OBS_GAP_MIN => Arc::new(self.obs_gap.finish()),
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

#[cfg(test)]
mod tests {
    use super::Lines;

    #[test]
    fn lines_keep_only_the_breaks_and_map_rows_both_ways() {
        let mut lines = Lines::default();
        // header on line 1; line 5 rejected; a record spanning lines 8-9
        for line in [2, 3, 4, 6, 7, 8, 10, 11] {
            lines.push(line);
        }
        assert_eq!(lines.breaks, vec![(0, 2), (3, 6), (6, 10)]);
        assert_eq!(lines.len(), 8);
        assert_eq!(lines.iter().collect::<Vec<_>>(), [2, 3, 4, 6, 7, 8, 10, 11]);
        assert_eq!(lines.row_of(2), Some(0));
        assert_eq!(lines.row_of(4), Some(2));
        assert_eq!(lines.row_of(5), None);
        assert_eq!(lines.row_of(8), Some(5));
        assert_eq!(lines.row_of(9), None);
        assert_eq!(lines.row_of(11), Some(7));
        assert_eq!(lines.row_of(12), None);
        assert_eq!(lines.row_of(1), None);
    }
}
