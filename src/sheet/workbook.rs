//! Reading an analyst's table straight from a spreadsheet workbook, as Excel (or
//! LibreOffice) saved it: the sheet asked for, or the first. Cells become the text a CSV
//! export of them would hold, with dates as ISO days, so that a workbook and its CSV
//! give the same results.

use std::path::Path;

use calamine::{Data, Reader, open_workbook_auto};

use super::input::{InputError, Sheet};

const EXTENSIONS: [&str; 5] = ["xlsx", "xlsm", "xls", "xlsb", "ods"];

/// Whether `path` names a workbook (by its extension).
pub fn is_workbook(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The cell as text. Whole numbers are written whole (`1204`, not `1204.0`); a date is
/// its day (`2024-01-31`), with a time only when it has one.
fn text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 9e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => {
            let (y, m, day, h, min, s, _) = d.to_ymd_hms_milli();
            if (h, min, s) == (0, 0, 0) {
                format!("{y:04}-{m:02}-{day:02}")
            } else {
                format!("{y:04}-{m:02}-{day:02}T{h:02}:{min:02}:{s:02}")
            }
        }
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// Reads the sheet `sheet` (else the first) of the workbook at `path`.
pub fn read(path: &Path, sheet: Option<&str>) -> Result<Sheet, InputError> {
    let file = path.display().to_string();
    let fail = |message: String| InputError::Sheet {
        file: file.clone(),
        message,
    };
    let size = std::fs::metadata(path)
        .map_err(|source| InputError::Read {
            file: file.clone(),
            source,
        })?
        .len();
    // A workbook is compressed: bound what is opened, as a CSV's bytes are bounded.
    let limit = crate::ingest::limits::MAX_TABLE_BYTES;
    if size > limit {
        return Err(fail(format!(
            "larger than the {} MiB ako reads as one table",
            limit >> 20
        )));
    }
    let mut book =
        open_workbook_auto(path).map_err(|e| fail(format!("cannot read the workbook: {e}")))?;
    let names = book.sheet_names();
    let chosen = match sheet {
        Some(s) => names
            .iter()
            .find(|n| n.as_str() == s)
            .cloned()
            .ok_or_else(|| {
                fail(format!(
                    "no sheet '{s}' (the workbook has: {})",
                    names.join(", ")
                ))
            })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| fail("the workbook has no sheets".into()))?,
    };
    let range = book
        .worksheet_range(&chosen)
        .map_err(|e| fail(format!("cannot read sheet '{chosen}': {e}")))?;
    // Rows are numbered as the spreadsheet numbers them, so an error points at the row
    // the analyst sees.
    let first_row = range.start().map_or(0, |(r, _)| r as u64) + 1;
    let mut rows = range.rows();
    let headers: Vec<String> = rows
        .next()
        .map(|r| r.iter().map(text).collect())
        .unwrap_or_default();
    let body: Vec<(u64, Vec<String>)> = rows
        .enumerate()
        .map(|(i, r)| (first_row + 1 + i as u64, r.iter().map(text).collect()))
        .collect();
    Sheet::from_rows(&format!("{file} sheet '{chosen}'"), headers, body)
}
