//! Streaming readers for extract files: one record at a time, with its line number.
//!
//! Readers see every cell, mapped or not, so they are where identifiable data is caught:
//! an identifying column name or a valid NHI anywhere refuses the whole file.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use super::guard;
use super::limits::{self, Bounded};
use super::profile::{Profile, SourceFormat};
use crate::model::{self, EXTRACT_COLUMNS};

/// Why a whole file is refused: where, and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// 1-based line of the file, when the cause is on one line.
    pub line: Option<u64>,
    /// The source column, when the cause is in one column.
    pub column: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}")?;
            if let Some(col) = &self.column {
                write!(f, ", column `{col}`")?;
            }
            write!(f, ": ")?;
        } else if let Some(col) = &self.column {
            write!(f, "column `{col}`: ")?;
        }
        f.write_str(&self.message)
    }
}

/// One record of an extract: the source value of each episode column (in
/// [`EXTRACT_COLUMNS`] order), blank values as `None`. The values share one string, so a
/// record is two allocations rather than one per cell (allocating and freeing cells was
/// a sixth of a 10 M-row ingest, measured).
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    pub line: u64,
    text: String,
    /// Each value's start and end in `text`; `None` for a blank value.
    spans: Vec<Option<(u32, u32)>>,
}

impl RawRecord {
    /// A record of `values`, each trimmed, blank ones as `None`.
    pub fn new<'a>(line: u64, values: impl IntoIterator<Item = Option<&'a str>>) -> RawRecord {
        let mut record = RawRecord {
            line,
            text: String::new(),
            spans: Vec::new(),
        };
        record.refill(line, values);
        record
    }

    /// `self` as the record of `values` on `line`, in the buffers it already has (a CSV
    /// reader reuses the records it is given back, so reading allocates nothing).
    pub fn refill<'a>(&mut self, line: u64, values: impl IntoIterator<Item = Option<&'a str>>) {
        self.line = line;
        self.text.clear();
        self.spans.clear();
        for v in values {
            let span = v.map(trim).filter(|v| !v.is_empty()).map(|v| {
                let start = self.text.len() as u32;
                self.text.push_str(v);
                (start, self.text.len() as u32)
            });
            self.spans.push(span);
        }
    }

    /// The value of episode column `i` (an index into [`EXTRACT_COLUMNS`]).
    pub fn value(&self, i: usize) -> Option<&str> {
        self.spans[i].map(|(a, b)| &self.text[a as usize..b as usize])
    }

    /// Every value, in column order.
    pub fn values(&self) -> impl Iterator<Item = Option<&str>> {
        (0..self.spans.len()).map(|i| self.value(i))
    }
}

/// `value` without leading or trailing whitespace. Most values start and end with an
/// ASCII letter or digit and are returned as they are without decoding a character
/// (`str::trim` on every cell was 3% of an ingest).
fn trim(value: &str) -> &str {
    let solid = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii() && !b.is_ascii_whitespace());
    let bytes = value.as_bytes();
    if solid(bytes.first()) && solid(bytes.last()) {
        value
    } else {
        value.trim()
    }
}

/// What a reader yields.
#[derive(Debug)]
pub enum Item {
    Record(RawRecord),
    /// A line that cannot be read as a record at all (wrong field count, bad JSON).
    Malformed {
        line: u64,
        message: String,
    },
}

/// A streaming reader over one extract.
pub trait RecordSource: Send {
    /// The next record, `Ok(None)` at the end, `Err` when the file must be refused. A
    /// record done with is given back as `spare`, and its buffers may hold the next.
    fn next_item(&mut self, spare: Option<RawRecord>) -> Result<Option<Item>, Refusal>;
    /// Bytes consumed so far (for progress).
    fn bytes_read(&self) -> u64;
}

pub(crate) fn refuse_identifying_column(name: &str) -> Refusal {
    let word = guard::identifying_word(name).unwrap_or_default();
    Refusal {
        line: Some(1),
        column: Some(name.to_string()),
        message: format!(
            "column `{name}` carries identifiable data (its name says `{word}`); extracts must be de-identified (use the organisation's pseudonymous person_key)"
        ),
    }
}

fn field_too_long() -> String {
    format!(
        "a field longer than {} KiB; extracts hold codes and short notes",
        limits::MAX_FIELD_BYTES >> 10
    )
}

/// A value the guard will not let through (an NHI, a date of birth).
fn refuse_value(line: u64, column: &str, why: &str) -> Refusal {
    Refusal {
        line: Some(line),
        column: Some(column.to_string()),
        message: why.to_string(),
    }
}

/// Header names found in the first record of a file, for profile detection.
pub fn peek_header(
    path: &Path,
    format: SourceFormat,
    delimiter: u8,
) -> Result<Vec<String>, Refusal> {
    let file = open_bounded(path, limits::MAX_EXTRACT_BYTES)?;
    match format {
        SourceFormat::Csv => {
            let mut rdr = csv::ReaderBuilder::new()
                .delimiter(delimiter)
                .from_reader(file);
            let header = rdr.headers().map_err(|e| csv_refusal(&e))?;
            Ok(header
                .iter()
                .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
                .collect())
        }
        SourceFormat::Jsonl => {
            let mut reader = BufReader::new(file);
            let mut line = String::new();
            let mut n = 0u64;
            loop {
                line.clear();
                n += 1;
                if reader.read_line(&mut line).map_err(|e| io_refusal(&e))? == 0 {
                    return Ok(Vec::new());
                }
                if line.trim().is_empty() {
                    continue;
                }
                return match serde_json::from_str::<serde_json::Value>(&line) {
                    Ok(serde_json::Value::Object(map)) => {
                        let mut keys: Vec<String> = Vec::new();
                        walk_scalars("", &map, &mut |key, _| {
                            if !keys.iter().any(|k| k == key) {
                                keys.push(key.to_string());
                            }
                            Ok(())
                        })?;
                        Ok(keys)
                    }
                    _ => Err(Refusal {
                        line: Some(n),
                        column: None,
                        message: "first record is not a JSON object".into(),
                    }),
                };
            }
        }
    }
}

fn io_refusal(e: &std::io::Error) -> Refusal {
    if let Some(line) = limits::line_too_long(e) {
        return Refusal {
            line: Some(line),
            column: None,
            message: e.to_string(),
        };
    }
    Refusal {
        line: None,
        column: None,
        message: format!("cannot read file: {e}"),
    }
}

pub(crate) fn csv_refusal(e: &csv::Error) -> Refusal {
    if let csv::ErrorKind::Io(io) = e.kind() {
        return io_refusal(io);
    }
    let line = e.position().map(|p| p.line());
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8 text".to_string(),
        _ => e.to_string(),
    };
    Refusal {
        line,
        column: None,
        message,
    }
}

/// Opens `path` for reading within the limits: refuses a file larger than `max`.
pub(crate) fn open_bounded(path: &Path, max: u64) -> Result<Bounded<File>, Refusal> {
    let file = File::open(path).map_err(|e| io_refusal(&e))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size > max {
        return Err(Refusal {
            line: None,
            column: None,
            message: format!(
                "the file is {} MiB, more than the {} MiB ako reads",
                size >> 20,
                max >> 20
            ),
        });
    }
    Ok(Bounded::new(file))
}

/// Opens a reader for `path` as `profile` says.
pub fn open(path: &Path, profile: &Profile) -> Result<Box<dyn RecordSource>, Refusal> {
    let counted = open_bounded(path, limits::MAX_EXTRACT_BYTES)?;
    let count = counted.counter();
    match profile.format {
        SourceFormat::Csv => Ok(Box::new(CsvSource::new(counted, count, profile)?)),
        SourceFormat::Jsonl => Ok(Box::new(JsonlSource {
            reader: BufReader::with_capacity(1 << 16, counted),
            count,
            paths: profile
                .source_columns()
                .into_iter()
                .map(|p| p.map(String::from))
                .collect(),
            line: 0,
            buf: String::new(),
        })),
    }
}

struct CsvSource {
    reader: csv::Reader<Bounded<File>>,
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
    header: Vec<String>,
    /// Index in the source row of each episode column (None for a population-group
    /// column the file does not have).
    indices: Vec<Option<usize>>,
    record: csv::StringRecord,
}

impl CsvSource {
    fn new(
        input: Bounded<File>,
        count: std::sync::Arc<std::sync::atomic::AtomicU64>,
        profile: &Profile,
    ) -> Result<Self, Refusal> {
        let delimiter = u8::try_from(profile.delimiter).map_err(|_| Refusal {
            line: None,
            column: None,
            message: format!("profile {}: delimiter must be one byte", profile.name),
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_reader(input);
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| csv_refusal(&e))?
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
            .collect();
        if let Some(bad) = header.iter().find(|h| guard::is_identifying_column(h)) {
            return Err(refuse_identifying_column(bad));
        }
        let mut indices = Vec::with_capacity(EXTRACT_COLUMNS.len());
        for (column, source) in EXTRACT_COLUMNS.iter().zip(profile.source_columns()) {
            let Some(source) = source else {
                indices.push(None);
                continue;
            };
            let idx = header.iter().position(|h| h == source);
            if idx.is_none() && !model::is_group_column(column) {
                return Err(Refusal {
                    line: Some(1),
                    column: Some(source.to_string()),
                    message: format!(
                        "header has no column `{source}`, which profile {} needs",
                        profile.name
                    ),
                });
            }
            indices.push(idx);
        }
        // Every other column is there, so what `matches` still asks is a group column.
        if !profile.matches(&header) {
            return Err(Refusal {
                line: Some(1),
                column: None,
                message: format!(
                    "header has neither an ethnicity column nor an Indigenous status column \
                     ({}), which profile {} needs: every organisation reports one",
                    [model::col::ETHNICITY, model::col::INDIGENOUS_STATUS]
                        .iter()
                        .filter_map(|c| profile.source_of(c))
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(" or "),
                    profile.name
                ),
            });
        }
        Ok(CsvSource {
            reader,
            count,
            header,
            indices,
            record: csv::StringRecord::new(),
        })
    }
}

impl RecordSource for CsvSource {
    fn next_item(&mut self, spare: Option<RawRecord>) -> Result<Option<Item>, Refusal> {
        loop {
            match self.reader.read_record(&mut self.record) {
                Ok(false) => return Ok(None),
                Ok(true) => {}
                Err(e) => return Err(csv_refusal(&e)),
            }
            let line = self.record.position().map_or(0, |p| p.line());
            if self.record.len() == 1 && self.record[0].trim().is_empty() {
                continue; // a blank line is not a record
            }
            for (i, cell) in self.record.iter().enumerate() {
                if cell.len() > limits::MAX_FIELD_BYTES {
                    let column = self.header.get(i).map_or("?", String::as_str);
                    return Err(refuse_value(line, column, &field_too_long()));
                }
                if let Some(why) = guard::value_finding(cell) {
                    let column = self.header.get(i).map_or("?", String::as_str);
                    return Err(refuse_value(line, column, why));
                }
            }
            if self.record.len() != self.header.len() {
                return Ok(Some(Item::Malformed {
                    line,
                    message: format!(
                        "row has {} fields, the header has {}",
                        self.record.len(),
                        self.header.len()
                    ),
                }));
            }
            let values = self.indices.iter().map(|i| i.map(|i| &self.record[i]));
            let record = match spare {
                Some(mut record) => {
                    record.refill(line, values);
                    record
                }
                None => RawRecord::new(line, values),
            };
            return Ok(Some(Item::Record(record)));
        }
    }

    fn bytes_read(&self) -> u64 {
        self.count.load(std::sync::atomic::Ordering::Relaxed)
    }
}

struct JsonlSource {
    reader: BufReader<Bounded<File>>,
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Dotted path of each episode column (None for one the profile does not map).
    paths: Vec<Option<String>>,
    line: u64,
    buf: String,
}

/// Every scalar of a JSON object with its dotted path, inside arrays too (an array's
/// elements share the array's path), so that the guard sees every value a file holds.
fn walk_scalars<'a>(
    prefix: &str,
    map: &'a serde_json::Map<String, serde_json::Value>,
    f: &mut dyn FnMut(&str, &'a serde_json::Value) -> Result<(), Refusal>,
) -> Result<(), Refusal> {
    for (k, v) in map {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        walk_value(&key, v, f)?;
    }
    Ok(())
}

fn walk_value<'a>(
    key: &str,
    value: &'a serde_json::Value,
    f: &mut dyn FnMut(&str, &'a serde_json::Value) -> Result<(), Refusal>,
) -> Result<(), Refusal> {
    match value {
        serde_json::Value::Object(inner) => walk_scalars(key, inner, f),
        serde_json::Value::Array(items) => {
            // The key itself is checked even when the array is empty or holds objects.
            f(key, &serde_json::Value::Null)?;
            items.iter().try_for_each(|item| walk_value(key, item, f))
        }
        _ => f(key, value),
    }
}

fn lookup<'a>(
    map: &'a serde_json::Map<String, serde_json::Value>,
    path: &str,
) -> Option<&'a serde_json::Value> {
    let mut parts = path.split('.');
    let mut value = map.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}

/// A JSON value as a record's text ([`RawRecord::new`] trims it and drops blanks).
fn scalar_text(v: &serde_json::Value) -> Option<Cow<'_, str>> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(Cow::Borrowed(s)),
        serde_json::Value::Bool(b) => Some(Cow::Owned(b.to_string())),
        serde_json::Value::Number(n) => Some(Cow::Owned(n.to_string())),
        other => Some(Cow::Owned(other.to_string())),
    }
}

impl RecordSource for JsonlSource {
    fn next_item(&mut self, _spare: Option<RawRecord>) -> Result<Option<Item>, Refusal> {
        loop {
            self.buf.clear();
            self.line += 1;
            let n = self.reader.read_line(&mut self.buf).map_err(|e| {
                let mut r = io_refusal(&e);
                r.line = Some(self.line);
                r
            })?;
            if n == 0 {
                return Ok(None);
            }
            if self.buf.trim().is_empty() {
                continue;
            }
            let line = self.line;
            let map = match serde_json::from_str::<serde_json::Value>(&self.buf) {
                Ok(serde_json::Value::Object(map)) => map,
                Ok(_) => {
                    return Ok(Some(Item::Malformed {
                        line,
                        message: "record is not a JSON object".into(),
                    }));
                }
                Err(e) => {
                    return Ok(Some(Item::Malformed {
                        line,
                        message: format!("not valid JSON: {e}"),
                    }));
                }
            };
            walk_scalars("", &map, &mut |key, value| {
                if guard::is_identifying_column(key) {
                    let mut r = refuse_identifying_column(key);
                    r.line = Some(line);
                    return Err(r);
                }
                if let serde_json::Value::String(s) = value {
                    if s.len() > limits::MAX_FIELD_BYTES {
                        return Err(refuse_value(line, key, &field_too_long()));
                    }
                    if let Some(why) = guard::value_finding(s) {
                        return Err(refuse_value(line, key, why));
                    }
                }
                Ok(())
            })?;
            let values: Vec<Option<Cow<'_, str>>> = self
                .paths
                .iter()
                .map(|p| {
                    p.as_ref()
                        .and_then(|p| lookup(&map, p))
                        .and_then(scalar_text)
                })
                .collect();
            let values = values.iter().map(Option::as_deref);
            return Ok(Some(Item::Record(RawRecord::new(line, values))));
        }
    }

    fn bytes_read(&self) -> u64 {
        self.count.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_keeps_each_value_trimmed_and_blank_ones_as_none() {
        let r = RawRecord::new(7, [Some(" CMH "), None, Some("   "), Some(""), Some("E1")]);
        assert_eq!(r.line, 7);
        assert_eq!(
            r.values().collect::<Vec<_>>(),
            [Some("CMH"), None, None, None, Some("E1")]
        );
        assert_eq!(r.value(4), Some("E1"));
    }
}
