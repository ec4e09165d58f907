//! A query result as rows of plain cells: what privacy rules rewrite, charts read and the
//! web serves as JSON and CSV. Indicator results are small (organisations × periods), so
//! a row-oriented copy is cheap and keeps every later step free of Arrow plumbing.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
}

impl Cell {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Cell::Int(v) => Some(*v as f64),
            Cell::Float(v) if v.is_finite() => Some(*v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Cell::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Cell::Null)
    }

    pub fn is_number(&self) -> bool {
        matches!(self, Cell::Int(_) | Cell::Float(_))
    }

    /// The cell as CSV or HTML text: integers plainly, other numbers to 4 significant
    /// decimals at most, null as empty.
    pub fn display(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Int(v) => v.to_string(),
            Cell::Float(v) if !v.is_finite() => String::new(),
            Cell::Float(v) => format_number(*v),
            Cell::Text(s) => s.clone(),
        }
    }
}

/// Text a spreadsheet will show as text, never evaluate.
pub fn inert(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// A number as people read it in a table: up to four decimals, no trailing zeros.
pub fn format_number(v: f64) -> String {
    let text = format!("{v:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.to_string()
    }
}

impl Serialize for Cell {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Null => s.serialize_none(),
            Cell::Int(v) => s.serialize_i64(*v),
            Cell::Float(v) if v.is_finite() => s.serialize_f64(*v),
            Cell::Float(_) => s.serialize_none(),
            Cell::Text(t) => s.serialize_str(t),
        }
    }
}

/// Rows with named columns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// Roughly the memory the table holds, for caches bounded by bytes.
    pub fn approx_bytes(&self) -> usize {
        let cells: usize = self
            .rows
            .iter()
            .flatten()
            .map(|c| match c {
                Cell::Text(s) => std::mem::size_of::<Cell>() + s.len(),
                _ => std::mem::size_of::<Cell>(),
            })
            .sum();
        cells + self.columns.iter().map(String::len).sum::<usize>() + 64
    }

    /// Copies Arrow batches: integers stay integers, other numbers become `f64`, and every
    /// other type (dates, booleans) its text.
    pub fn from_batches(batches: &[RecordBatch]) -> Result<Table, ArrowError> {
        let Some(first) = batches.first() else {
            return Ok(Table::default());
        };
        let columns: Vec<String> = first
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let mut rows = Vec::new();
        for batch in batches {
            let mut cols: Vec<Vec<Cell>> = Vec::with_capacity(batch.num_columns());
            for array in batch.columns() {
                cols.push(cells(array.as_ref())?);
            }
            for r in 0..batch.num_rows() {
                rows.push(cols.iter().map(|c| c[r].clone()).collect());
            }
        }
        Ok(Table { columns, rows })
    }

    /// The position of column `name`.
    pub fn col(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// Cell `name` of row `row` as a number.
    pub fn number(&self, row: usize, name: &str) -> Option<f64> {
        self.col(name).and_then(|c| self.rows[row][c].as_f64())
    }

    /// Cell `name` of row `row` as text.
    pub fn text(&self, row: usize, name: &str) -> Option<&str> {
        self.col(name).and_then(|c| self.rows[row][c].as_str())
    }

    /// Keeps the rows for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&[String], &[Cell]) -> bool) {
        let columns = &self.columns;
        self.rows.retain(|r| keep(columns, r));
    }

    /// Distinct text values of a column, in first-seen order.
    pub fn distinct(&self, name: &str) -> Vec<String> {
        let mut seen = Vec::new();
        if let Some(c) = self.col(name) {
            for row in &self.rows {
                if let Some(v) = row[c].as_str()
                    && !seen.iter().any(|s: &String| s == v)
                {
                    seen.push(v.to_string());
                }
            }
        }
        seen
    }

    /// RFC 4180 CSV with a header line. Text that a spreadsheet would run as a formula
    /// (starting with `=`, `+`, `-`, `@`, tab or carriage return) is prefixed with `'`,
    /// as OWASP advises; numbers are written as numbers.
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(self.columns.iter().map(|c| inert(c)))
            .expect("writing to memory");
        for row in &self.rows {
            w.write_record(row.iter().map(|c| match c {
                Cell::Text(t) => inert(t),
                other => other.display(),
            }))
            .expect("writing to memory");
        }
        String::from_utf8(w.into_inner().expect("writing to memory")).expect("UTF-8 cells")
    }

    /// A JSON array of row objects, keys in column order.
    pub fn rows_json(&self) -> RowsJson<'_> {
        RowsJson(self)
    }
}

/// Serialises a table as an array of objects in column order.
pub struct RowsJson<'a>(&'a Table);

impl Serialize for RowsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.rows.len()))?;
        for row in &self.0.rows {
            seq.serialize_element(&Row(&self.0.columns, row))?;
        }
        seq.end()
    }
}

struct Row<'a>(&'a [String], &'a [Cell]);

impl Serialize for Row<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, cell) in self.0.iter().zip(self.1) {
            map.serialize_entry(name, cell)?;
        }
        map.end()
    }
}

fn cells(array: &dyn Array) -> Result<Vec<Cell>, ArrowError> {
    let dt = array.data_type();
    let n = array.len();
    let nulls = |i: usize| array.is_null(i);
    if dt.is_integer() {
        let a = cast(array, &DataType::Int64)?;
        let a = a.as_primitive::<Int64Type>();
        return Ok((0..n)
            .map(|i| {
                if nulls(i) {
                    Cell::Null
                } else {
                    Cell::Int(a.value(i))
                }
            })
            .collect());
    }
    if dt.is_numeric() {
        let a = cast(array, &DataType::Float64)?;
        let a = a.as_primitive::<Float64Type>();
        return Ok((0..n)
            .map(|i| {
                if nulls(i) {
                    Cell::Null
                } else {
                    Cell::Float(a.value(i))
                }
            })
            .collect());
    }
    let a = cast(array, &DataType::Utf8)?;
    let a = a.as_string::<i32>();
    Ok((0..n)
        .map(|i| {
            if a.is_null(i) {
                Cell::Null
            } else {
                Cell::Text(a.value(i).to_string())
            }
        })
        .collect())
}

/// The column `name` of `batch` cast to `to`, whatever text type (`Utf8`, `Utf8View`,
/// dictionary) DataFusion chose for it.
fn text_as(
    batch: &RecordBatch,
    name: &str,
    to: &DataType,
) -> Result<datafusion::arrow::array::ArrayRef, ArrowError> {
    let column = batch
        .column_by_name(name)
        .ok_or_else(|| ArrowError::SchemaError(format!("no column `{name}`")))?;
    cast(column, to)
}

/// A string column of a query result as a plain `StringArray`.
pub fn string_column(
    batch: &RecordBatch,
    name: &str,
) -> Result<datafusion::arrow::array::StringArray, ArrowError> {
    Ok(text_as(batch, name, &DataType::Utf8)?
        .as_string::<i32>()
        .clone())
}

/// A text column as a string view: the lake's columns are read as views already, so
/// for them this copies nothing (where [`string_column`] copies every value into one
/// buffer).
pub fn string_view_column(
    batch: &RecordBatch,
    name: &str,
) -> Result<datafusion::arrow::array::StringViewArray, ArrowError> {
    Ok(text_as(batch, name, &DataType::Utf8View)?
        .as_string_view()
        .clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Float64Array, Int32Array, StringArray};
    use datafusion::arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    #[test]
    fn text_columns_read_alike_as_strings_and_as_views() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("org_code", DataType::Utf8, true),
            Field::new("month", DataType::Utf8View, false),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![Some("AKL"), None])),
                Arc::new(datafusion::arrow::array::StringViewArray::from(vec![
                    "2025-07", "2025-08",
                ])),
            ],
        )
        .unwrap();
        for name in ["org_code", "month"] {
            let plain = string_column(&batch, name).unwrap();
            let view = string_view_column(&batch, name).unwrap();
            assert_eq!(
                plain.iter().collect::<Vec<_>>(),
                view.iter().collect::<Vec<_>>()
            );
        }
        assert_eq!(
            string_view_column(&batch, "month").unwrap().value(1),
            "2025-08"
        );
        assert!(string_view_column(&batch, "org_code").unwrap().is_null(1));
        let missing = string_view_column(&batch, "nope").unwrap_err().to_string();
        assert!(missing.contains("no column `nope`"), "{missing}");
    }

    #[test]
    fn batches_become_rows_in_column_order() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("org_code", DataType::Utf8, true),
            Field::new("numerator", DataType::Int32, true),
            Field::new("value", DataType::Float64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![Some("AKL"), None])),
                Arc::new(Int32Array::from(vec![Some(4), None])),
                Arc::new(Float64Array::from(vec![Some(2.5), Some(f64::NAN)])),
            ],
        )
        .unwrap();
        let t = Table::from_batches(&[batch]).unwrap();
        assert_eq!(
            t.rows[0],
            [Cell::Text("AKL".into()), Cell::Int(4), Cell::Float(2.5)]
        );
        assert_eq!(
            serde_json::to_string(&t.rows_json()).unwrap(),
            r#"[{"org_code":"AKL","numerator":4,"value":2.5},{"org_code":null,"numerator":null,"value":null}]"#
        );
        assert_eq!(t.to_csv(), "org_code,numerator,value\nAKL,4,2.5\n,,\n");
    }

    #[test]
    fn csv_text_a_spreadsheet_would_run_is_made_inert() {
        let t = Table {
            columns: vec!["note".into(), "n".into()],
            rows: ["=1+1", "+A1", "-x", "@SUM(A1)", "\tx", "\rx", "ok"]
                .iter()
                .map(|s| vec![Cell::Text(s.to_string()), Cell::Int(-3)])
                .collect(),
        };
        assert_eq!(
            t.to_csv(),
            "note,n\n'=1+1,-3\n'+A1,-3\n'-x,-3\n'@SUM(A1),-3\n'\tx,-3\n\"'\rx\",-3\nok,-3\n"
        );
    }
}
