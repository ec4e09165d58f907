//! Streaming readers for extract files: one record at a time, with its line number.
//!
//! Readers see every cell, mapped or not, so they are where identifiable data is caught:
//! an identifying column name or a valid NHI anywhere refuses the whole file.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::guard;
use super::profile::{Profile, SourceFormat};
use crate::model::EXTRACT_COLUMNS;

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
/// [`EXTRACT_COLUMNS`] order), blank values as `None`.
#[derive(Debug, Clone)]
pub struct RawRecord {
    pub line: u64,
    pub values: Vec<Option<String>>,
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
pub trait RecordSource {
    /// The next record, `Ok(None)` at the end, `Err` when the file must be refused.
    fn next_item(&mut self) -> Result<Option<Item>, Refusal>;
    /// Bytes consumed so far (for progress).
    fn bytes_read(&self) -> u64;
}

fn refuse_identifying_column(name: &str) -> Refusal {
    Refusal {
        line: Some(1),
        column: Some(name.to_string()),
        message: format!(
            "column `{name}` carries identifiable data; extracts must be de-identified (use the organisation's pseudonymous person_key)"
        ),
    }
}

fn refuse_nhi(line: u64, column: &str) -> Refusal {
    Refusal {
        line: Some(line),
        column: Some(column.to_string()),
        message: "value is a valid NHI number; extracts must be de-identified".into(),
    }
}

fn blank_to_none(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Header names found in the first record of a file, for profile detection.
pub fn peek_header(
    path: &Path,
    format: SourceFormat,
    delimiter: u8,
) -> Result<Vec<String>, Refusal> {
    let file = File::open(path).map_err(|e| io_refusal(&e))?;
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
                        let mut keys = Vec::new();
                        flatten_keys("", &map, &mut keys);
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

fn flatten_keys(
    prefix: &str,
    map: &serde_json::Map<String, serde_json::Value>,
    out: &mut Vec<String>,
) {
    for (k, v) in map {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            serde_json::Value::Object(inner) => flatten_keys(&key, inner, out),
            _ => out.push(key),
        }
    }
}

fn io_refusal(e: &std::io::Error) -> Refusal {
    Refusal {
        line: None,
        column: None,
        message: format!("cannot read file: {e}"),
    }
}

fn csv_refusal(e: &csv::Error) -> Refusal {
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

/// Counts bytes as they are read, for the progress bar.
struct Counted<R> {
    inner: R,
    count: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Opens a reader for `path` as `profile` says.
pub fn open(path: &Path, profile: &Profile) -> Result<Box<dyn RecordSource>, Refusal> {
    let file = File::open(path).map_err(|e| io_refusal(&e))?;
    let count = std::rc::Rc::new(std::cell::Cell::new(0));
    let counted = Counted {
        inner: file,
        count: count.clone(),
    };
    match profile.format {
        SourceFormat::Csv => Ok(Box::new(CsvSource::new(counted, count, profile)?)),
        SourceFormat::Jsonl => Ok(Box::new(JsonlSource {
            reader: BufReader::with_capacity(1 << 16, counted),
            count,
            paths: profile
                .source_columns()
                .into_iter()
                .map(String::from)
                .collect(),
            line: 0,
            buf: String::new(),
        })),
    }
}

struct CsvSource {
    reader: csv::Reader<Counted<File>>,
    count: std::rc::Rc<std::cell::Cell<u64>>,
    header: Vec<String>,
    /// Index in the source row of each episode column.
    indices: Vec<usize>,
    record: csv::StringRecord,
}

impl CsvSource {
    fn new(
        input: Counted<File>,
        count: std::rc::Rc<std::cell::Cell<u64>>,
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
        for source in profile.source_columns() {
            let idx = header
                .iter()
                .position(|h| h == source)
                .ok_or_else(|| Refusal {
                    line: Some(1),
                    column: Some(source.to_string()),
                    message: format!(
                        "header has no column `{source}`, which profile {} needs",
                        profile.name
                    ),
                })?;
            indices.push(idx);
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
    fn next_item(&mut self) -> Result<Option<Item>, Refusal> {
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
                if guard::contains_nhi(cell) {
                    let column = self.header.get(i).map_or("?", String::as_str);
                    return Err(refuse_nhi(line, column));
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
            let values = self
                .indices
                .iter()
                .map(|&i| blank_to_none(&self.record[i]))
                .collect();
            return Ok(Some(Item::Record(RawRecord { line, values })));
        }
    }

    fn bytes_read(&self) -> u64 {
        self.count.get()
    }
}

struct JsonlSource {
    reader: BufReader<Counted<File>>,
    count: std::rc::Rc<std::cell::Cell<u64>>,
    paths: Vec<String>,
    line: u64,
    buf: String,
}

/// Every scalar of a JSON object with its dotted path.
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
        match v {
            serde_json::Value::Object(inner) => walk_scalars(&key, inner, f)?,
            _ => f(&key, v)?,
        }
    }
    Ok(())
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

fn scalar_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => blank_to_none(s),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

impl RecordSource for JsonlSource {
    fn next_item(&mut self) -> Result<Option<Item>, Refusal> {
        loop {
            self.buf.clear();
            self.line += 1;
            let n = self.reader.read_line(&mut self.buf).map_err(|e| Refusal {
                line: Some(self.line),
                column: None,
                message: format!("cannot read: {e}"),
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
                if let serde_json::Value::String(s) = value
                    && guard::contains_nhi(s)
                {
                    return Err(refuse_nhi(line, key));
                }
                Ok(())
            })?;
            let values = self
                .paths
                .iter()
                .map(|p| lookup(&map, p).and_then(scalar_text))
                .collect();
            return Ok(Some(Item::Record(RawRecord { line, values })));
        }
    }

    fn bytes_read(&self) -> u64 {
        self.count.get()
    }
}
