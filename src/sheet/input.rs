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
    /// Reads `path`, or standard input for `-`: CSV, or a spreadsheet workbook
    /// (`.xlsx`, `.xlsm`, `.xls`, `.xlsb`, `.ods`) whose sheet `sheet` names (else its
    /// first).
    pub fn read(path: &Path, sheet: Option<&str>) -> Result<Sheet, InputError> {
        if super::workbook::is_workbook(path) {
            return super::workbook::read(path, sheet);
        }
        if let Some(sheet) = sheet {
            return Err(InputError::Sheet {
                file: path.display().to_string(),
                message: format!(
                    "--sheet {sheet} is for spreadsheet workbooks (.xlsx, .xls, .ods); this is read as CSV"
                ),
            });
        }
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
            .map(str::to_string)
            .collect();
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
            rows.push((1 + newlines, record.iter().map(str::to_string).collect()));
        }
        Sheet::from_rows(name, headers, rows)
    }

    /// A table from its header and its rows, each with its line (or spreadsheet row)
    /// number; every check a table gets is made here, whatever it was read from.
    pub(super) fn from_rows(
        name: &str,
        headers: Vec<String>,
        rows: Vec<(u64, Vec<String>)>,
    ) -> Result<Sheet, InputError> {
        let table_error = |message: String| InputError::Sheet {
            file: name.to_string(),
            message,
        };
        let headers: Vec<String> = headers.iter().map(|h| h.trim().to_lowercase()).collect();
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
        let mut kept = Vec::with_capacity(rows.len());
        for (line, fields) in rows {
            if fields.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            if fields.len() != headers.len() {
                return Err(table_error(format!(
                    "line {line} has {} fields but the header has {}",
                    fields.len(),
                    headers.len()
                )));
            }
            // An analyst's table is aggregate: its dates are periods, so only the NHI test
            // applies to values (a 1990s month is not a date of birth here).
            if let Some(i) = fields.iter().position(|f| guard::contains_nhi(f)) {
                return Err(InputError::Cell {
                    file: name.to_string(),
                    line,
                    column: headers[i].clone(),
                    message: "value is a valid NHI number; ako reads only de-identified tables"
                        .into(),
                });
            }
            kept.push(Record {
                line,
                fields: fields.into_iter().map(|f| f.trim().to_string()).collect(),
            });
        }
        Ok(Sheet {
            name: name.to_string(),
            headers,
            index,
            rows: kept,
        })
    }

    /// Reads the role `role` (`x`, `count`, …) from the column `column`, as an analyst's
    /// flag asks (`--count admissions`): their spreadsheet keeps its own names.
    pub fn alias(&mut self, role: &str, column: &str) -> Result<(), InputError> {
        let wanted = column.trim().to_lowercase();
        let &i = self.index.get(&wanted).ok_or_else(|| InputError::Sheet {
            file: self.name.clone(),
            message: format!(
                "no column '{column}' for --{role} (the header has: {})",
                self.headers.join(", ")
            ),
        })?;
        self.index.insert(role.to_string(), i);
        Ok(())
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

    /// A number, or `None` for an empty cell. Thousands separated as spreadsheets
    /// write them (`1,204`, `12,345.5`) are read; a lone comma (`1,5`) could be a decimal
    /// comma, so it is refused rather than guessed at.
    pub fn optional_number(&self, row: usize, column: Column) -> Result<Option<f64>, InputError> {
        let text = self.text(row, column);
        if text.is_empty() || text.eq_ignore_ascii_case("na") {
            return Ok(None);
        }
        match plain_number(text).parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ if text.contains(',') => Err(self.cell_error(
                row,
                column,
                format!("'{text}' is not a number (a comma is read only between thousands, as in 1,204; write decimals with a point)"),
            )),
            _ if text.ends_with('%') => Err(self.cell_error(
                row,
                column,
                format!("'{text}' is not a number: a percentage is read only where a proportion is expected"),
            )),
            _ => Err(self.cell_error(row, column, format!("'{text}' is not a number"))),
        }
    }

    /// Whether the column's values are written as percentages (`12.5%`), all of them:
    /// a column mixing `12.5%` and `0.3` could mean 0.3% or 30%, so it is refused.
    pub fn percent_column(&self, column: Column) -> Result<bool, InputError> {
        let filled = |r: &usize| {
            let t = self.text(*r, column);
            !t.is_empty() && !t.eq_ignore_ascii_case("na")
        };
        let with = (0..self.len())
            .filter(filled)
            .find(|&r| self.text(r, column).ends_with('%'));
        let without = (0..self.len())
            .filter(filled)
            .find(|&r| !self.text(r, column).ends_with('%'));
        match (with, without) {
            (Some(p), Some(r)) => Err(self.cell_error(
                r,
                column,
                format!(
                    "'{}' has no % but line {} has ('{}'): write every value of the column the same way",
                    self.text(r, column),
                    self.line(p),
                    self.text(p, column)
                ),
            )),
            (Some(_), None) => Ok(true),
            _ => Ok(false),
        }
    }

    /// A proportion, or `None` for an empty cell: `12.5%` is 0.125 when the column is
    /// written in percentages ([`Sheet::percent_column`]).
    pub fn optional_proportion(
        &self,
        row: usize,
        column: Column,
        percent: bool,
    ) -> Result<Option<f64>, InputError> {
        if !percent {
            return self.optional_number(row, column);
        }
        let text = self.text(row, column);
        if text.is_empty() || text.eq_ignore_ascii_case("na") {
            return Ok(None);
        }
        let bare = text.trim_end_matches('%').trim_end();
        match plain_number(bare).parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v / 100.0)),
            _ => Err(self.cell_error(row, column, format!("'{text}' is not a percentage"))),
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

/// `text` without the commas of thousands separators, when it is written that way
/// (`-1,204,000.5`); otherwise as it is.
fn plain_number(text: &str) -> std::borrow::Cow<'_, str> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let whole = digits.split('.').next().unwrap_or("");
    let groups: Vec<&str> = whole.split(',').collect();
    let grouped = groups.len() > 1
        && (1..=3).contains(&groups[0].len())
        && groups[1..].iter().all(|g| g.len() == 3)
        && groups.iter().all(|g| g.chars().all(|c| c.is_ascii_digit()))
        && digits.matches('.').count() <= 1;
    if grouped {
        text.replace(',', "").into()
    } else {
        text.into()
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
    fn spreadsheet_numbers_thousands_and_percentages_are_read_as_written() {
        let t = Sheet::parse(
            "t.csv",
            "month,count,bed_days,share\r\n2024-01,\"1,204\",\"12,345.5\",12.5%\r\n2024-02,3,\"1,5\",7%\r\n2024-03,4,\"1,2345\",\r\n",
        )
        .unwrap();
        let (c, b, p) = (
            t.column("count").unwrap(),
            t.column("bed_days").unwrap(),
            t.column("share").unwrap(),
        );
        assert_eq!(t.count(0, c).unwrap(), 1204.0);
        assert_eq!(t.denominator(0, b).unwrap(), 12345.5);
        // A lone comma may be a decimal comma; a group of four digits is no thousands.
        assert!(t.denominator(1, b).is_err());
        assert!(t.denominator(2, b).is_err());
        assert!(t.percent_column(p).unwrap());
        assert_eq!(t.optional_proportion(0, p, true).unwrap(), Some(0.125));
        assert_eq!(t.optional_proportion(1, p, true).unwrap(), Some(0.07));
        assert_eq!(t.optional_proportion(2, p, true).unwrap(), None);
        // Outside a proportion a percentage is not a number.
        assert!(
            t.optional_number(0, p)
                .unwrap_err()
                .to_string()
                .contains("only where a proportion is expected")
        );
        let mixed = Sheet::parse("m.csv", "x,y\n1,12%\n2,0.3\n").unwrap();
        let y = mixed.column("y").unwrap();
        assert_eq!(
            mixed.percent_column(y).unwrap_err().to_string(),
            "m.csv line 3, column 'y': '0.3' has no % but line 2 has ('12%'): write every value of the column the same way"
        );
    }

    #[test]
    fn a_role_is_read_from_the_column_a_flag_names() {
        let mut t = Sheet::parse("t.csv", "Month,Seclusions,Bed days\n2024-01,3,100\n").unwrap();
        t.alias("count", "seclusions").unwrap();
        t.alias("n", "Bed days").unwrap();
        let (c, n) = (t.column("count").unwrap(), t.column("n").unwrap());
        assert_eq!(
            (t.count(0, c).unwrap(), t.denominator(0, n).unwrap()),
            (3.0, 100.0)
        );
        // Errors name the analyst's own column.
        let bad = Sheet::parse("b.csv", "month,seclusions\n2024-01,-1\n").unwrap();
        let mut bad = bad;
        bad.alias("count", "seclusions").unwrap();
        let c = bad.column("count").unwrap();
        assert_eq!(
            bad.count(0, c).unwrap_err().to_string(),
            "b.csv line 2, column 'seclusions': -1 is a negative count"
        );
        assert_eq!(
            bad.alias("n", "beds").unwrap_err().to_string(),
            "b.csv: no column 'beds' for --n (the header has: month, seclusions)"
        );
    }

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
                .contains("a comma is read only between thousands")
        );
        assert_eq!(
            t.column("n").unwrap_err().to_string(),
            "t.csv: no column 'n' (the header has: unit, count, denominator)"
        );
    }
}
