//! Reading the CSV tables analysts write: a header row, quoted fields, blank lines, a
//! byte-order mark from spreadsheet exports. Every value error names the file, the line
//! and the column.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::path::Path;

use crate::ingest::guard;

/// A problem with an input table: the analyst's to correct.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Sheet { file: String, message: String },
    #[error("{file} line {line}, column '{column}': {message}")]
    Cell {
        file: String,
        line: u64,
        column: String,
        message: String,
    },
    #[error("{0}")]
    Method(String),
}

/// An analyst's table, read whole (they are small: a row per month or per organisation).
#[derive(Debug)]
pub struct Sheet {
    name: String,
    headers: Vec<String>,
    index: HashMap<String, usize>,
    rows: Vec<Record>,
}

#[derive(Debug)]
struct Record {
    line: u64,
    fields: Vec<String>,
}

/// A column's place in the table, found once.
#[derive(Debug, Clone, Copy)]
pub struct Column(usize);

impl Sheet {
    /// Reads `path`, or standard input for `-`.
    pub fn read(path: &Path) -> Result<Sheet, InputError> {
        let name = if path == Path::new("-") {
            "<stdin>".to_string()
        } else {
            path.display().to_string()
        };
        let mut text = String::new();
        // Read whole, so bounded: one byte more than the limit tells a file that is over.
        let limit = crate::ingest::limits::MAX_TABLE_BYTES;
        let result = if path == Path::new("-") {
            std::io::stdin().take(limit + 1).read_to_string(&mut text)
        } else {
            std::fs::File::open(path).and_then(|f| f.take(limit + 1).read_to_string(&mut text))
        };
        result.map_err(|source| InputError::Read {
            file: name.clone(),
            source,
        })?;
        if text.len() as u64 > limit {
            return Err(InputError::Sheet {
                file: name,
                message: format!("larger than the {} MiB ako reads as one table", limit >> 20),
            });
        }
        Sheet::parse(&name, &text)
    }

    pub fn parse(name: &str, text: &str) -> Result<Sheet, InputError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let table_error = |message: String| InputError::Sheet {
            file: name.to_string(),
            message,
        };
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(true)
            .from_reader(text.as_bytes());
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| table_error(format!("cannot read the header row: {e}")))?
            .iter()
            .map(|h| h.to_lowercase())
            .collect();
        if headers.iter().all(String::is_empty) {
            return Err(table_error(
                "the file is empty: a header row is needed".into(),
            ));
        }
        if let Some(bad) = headers.iter().find(|h| guard::is_identifying_column(h)) {
            return Err(table_error(format!(
                "column '{bad}' carries identifiable data; ako reads only de-identified tables"
            )));
        }
        let mut index = HashMap::new();
        for (i, h) in headers.iter().enumerate() {
            if index.insert(h.clone(), i).is_some() {
                return Err(table_error(format!(
                    "column '{h}' appears twice in the header"
                )));
            }
        }
        let mut rows = Vec::new();
        // Lines counted so far, and up to which byte: records come in order, so each
        // count continues from the last instead of rescanning the file.
        let (mut counted_to, mut newlines) = (0usize, 0u64);
        for record in reader.records() {
            let record = record.map_err(|e| table_error(format!("cannot read a row: {e}")))?;
            // Line numbers from the byte offset: csv's own count skips blank lines.
            let mut offset = (record.position().map_or(0, |p| p.byte() as usize)).min(text.len());
            while offset < text.len() && matches!(text.as_bytes()[offset], b'\n' | b'\r') {
                offset += 1;
            }
            newlines += text.as_bytes()[counted_to..offset.max(counted_to)]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            counted_to = counted_to.max(offset);
            let line = 1 + newlines;
            if record.iter().all(str::is_empty) {
                continue;
            }
            if record.len() != headers.len() {
                return Err(table_error(format!(
                    "line {line} has {} fields but the header has {}",
                    record.len(),
                    headers.len()
                )));
            }
            // An analyst's table is aggregate: its dates are periods, so only the NHI test
            // applies to values (a 1990s month is not a date of birth here).
            if let Some(i) = record.iter().position(guard::contains_nhi) {
                return Err(InputError::Cell {
                    file: name.to_string(),
                    line,
                    column: headers[i].clone(),
                    message: "value is a valid NHI number; ako reads only de-identified tables"
                        .into(),
                });
            }
            rows.push(Record {
                line,
                fields: record.iter().map(str::to_string).collect(),
            });
        }
        Ok(Sheet {
            name: name.to_string(),
            headers,
            index,
            rows,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// A required column.
    pub fn column(&self, name: &str) -> Result<Column, InputError> {
        self.optional_column(name).ok_or_else(|| InputError::Sheet {
            file: self.name.clone(),
            message: format!(
                "no column '{name}' (the header has: {})",
                self.headers.join(", ")
            ),
        })
    }

    pub fn optional_column(&self, name: &str) -> Option<Column> {
        self.index.get(name).map(|&i| Column(i))
    }

    /// The first of several accepted names.
    pub fn column_of(&self, names: &[&str]) -> Result<Column, InputError> {
        names
            .iter()
            .find_map(|n| self.optional_column(n))
            .ok_or_else(|| InputError::Sheet {
                file: self.name.clone(),
                message: format!(
                    "no column {} (the header has: {})",
                    names
                        .iter()
                        .map(|n| format!("'{n}'"))
                        .collect::<Vec<_>>()
                        .join(" or "),
                    self.headers.join(", ")
                ),
            })
    }

    pub fn line(&self, row: usize) -> u64 {
        self.rows[row].line
    }

    pub fn text(&self, row: usize, column: Column) -> &str {
        &self.rows[row].fields[column.0]
    }

    pub fn cell_error(&self, row: usize, column: Column, message: impl fmt::Display) -> InputError {
        InputError::Cell {
            file: self.name.clone(),
            line: self.rows[row].line,
            column: self.headers[column.0].clone(),
            message: message.to_string(),
        }
    }

    /// A number, or `None` for an empty cell.
    pub fn optional_number(&self, row: usize, column: Column) -> Result<Option<f64>, InputError> {
        let text = self.text(row, column);
        if text.is_empty() || text.eq_ignore_ascii_case("na") {
            return Ok(None);
        }
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            // "1,000" could be a thousand or one and a decimal comma: refuse rather than guess.
            _ if text.contains(',') => Err(self.cell_error(
                row,
                column,
                format!("'{text}' is not a number (write it without thousands separators or decimal commas)"),
            )),
            _ => Err(self.cell_error(row, column, format!("'{text}' is not a number"))),
        }
    }

    /// A number that must be there.
    pub fn number(&self, row: usize, column: Column) -> Result<f64, InputError> {
        self.optional_number(row, column)?
            .ok_or_else(|| self.cell_error(row, column, "is empty; a number is needed"))
    }

    /// A count: a number of 0 or more.
    pub fn count(&self, row: usize, column: Column) -> Result<f64, InputError> {
        let v = self.number(row, column)?;
        check_count(self, row, column, v)
    }

    pub fn optional_count(&self, row: usize, column: Column) -> Result<Option<f64>, InputError> {
        self.optional_number(row, column)?
            .map(|v| check_count(self, row, column, v))
            .transpose()
    }

    /// A denominator: a number above zero.
    pub fn denominator(&self, row: usize, column: Column) -> Result<f64, InputError> {
        let v = self.number(row, column)?;
        check_denominator(self, row, column, v)
    }

    pub fn optional_denominator(
        &self,
        row: usize,
        column: Column,
    ) -> Result<Option<f64>, InputError> {
        self.optional_number(row, column)?
            .map(|v| check_denominator(self, row, column, v))
            .transpose()
    }

    /// Text that must be there.
    pub fn label(&self, row: usize, column: Column) -> Result<&str, InputError> {
        let text = self.text(row, column);
        if text.is_empty() {
            Err(self.cell_error(row, column, "is empty"))
        } else {
            Ok(text)
        }
    }
}

fn check_count(t: &Sheet, row: usize, column: Column, v: f64) -> Result<f64, InputError> {
    if v < 0.0 {
        Err(t.cell_error(row, column, format!("{v} is a negative count")))
    } else {
        Ok(v)
    }
}

fn check_denominator(t: &Sheet, row: usize, column: Column, v: f64) -> Result<f64, InputError> {
    if v == 0.0 {
        Err(t.cell_error(row, column, "is a zero denominator"))
    } else if v < 0.0 {
        Err(t.cell_error(row, column, format!("{v} is a negative denominator")))
    } else {
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_quotes_blank_lines_and_a_bom() {
        let t = Sheet::parse(
            "t.csv",
            "\u{feff}Unit, Count ,denominator\n\n\"Te Whatu, Ora\",3,\"1000\"\n\nB,,5\n",
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        let (u, c, d) = (
            t.column("unit").unwrap(),
            t.column("count").unwrap(),
            t.column("denominator").unwrap(),
        );
        assert_eq!(t.label(0, u).unwrap(), "Te Whatu, Ora");
        assert_eq!(t.count(0, c).unwrap(), 3.0);
        assert_eq!(t.denominator(0, d).unwrap(), 1000.0);
        assert_eq!(t.line(1), 5);
        let e = t.count(1, c).unwrap_err().to_string();
        assert_eq!(
            e,
            "t.csv line 5, column 'count': is empty; a number is needed"
        );
    }

    #[test]
    fn names_the_cell_of_a_bad_value() {
        let t = Sheet::parse("t.csv", "unit,count,denominator\nA,-1,0\nB,x,\"1,5\"\n").unwrap();
        let (c, d) = (t.column("count").unwrap(), t.column("denominator").unwrap());
        assert_eq!(
            t.count(0, c).unwrap_err().to_string(),
            "t.csv line 2, column 'count': -1 is a negative count"
        );
        assert_eq!(
            t.denominator(0, d).unwrap_err().to_string(),
            "t.csv line 2, column 'denominator': is a zero denominator"
        );
        assert_eq!(
            t.count(1, c).unwrap_err().to_string(),
            "t.csv line 3, column 'count': 'x' is not a number"
        );
        assert!(
            t.denominator(1, d)
                .unwrap_err()
                .to_string()
                .contains("without thousands separators")
        );
        assert_eq!(
            t.column("n").unwrap_err().to_string(),
            "t.csv: no column 'n' (the header has: unit, count, denominator)"
        );
    }
}
