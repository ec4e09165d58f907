//! Renders query results for people and programs: an aligned text table, CSV, or a
//! JSON array of row objects.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, StringArray};
use arrow::compute::cast;
use arrow::csv::WriterBuilder;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::json::writer::{JsonArray, WriterBuilder as JsonWriterBuilder};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use serde::Deserialize;

/// Output format of a result table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableFormat {
    Table,
    Csv,
    Json,
}

/// The batch with every text cell made inert for spreadsheets (see
/// [`crate::table::inert`]): a cell such as `=HYPERLINK(…)` must not run when an analyst
/// opens the CSV.
fn inert(batch: &RecordBatch) -> Result<RecordBatch, arrow::error::ArrowError> {
    let text =
        |t: &DataType| matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8);
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (f, a) in batch.schema().fields().iter().zip(batch.columns()) {
        if text(f.data_type()) {
            let utf8 = cast(a, &DataType::Utf8)?;
            let cells: StringArray = utf8
                .as_string::<i32>()
                .iter()
                .map(|v| v.map(crate::table::inert))
                .collect();
            fields.push(Field::new(f.name(), DataType::Utf8, f.is_nullable()));
            columns.push(Arc::new(cells));
        } else {
            fields.push(f.as_ref().clone());
            columns.push(a.clone());
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

/// Renders `batches` in `format`.
pub fn render(
    batches: &[RecordBatch],
    format: TableFormat,
) -> Result<String, arrow::error::ArrowError> {
    match format {
        TableFormat::Table => Ok(pretty_format_batches(batches)?.to_string()),
        TableFormat::Csv => {
            let mut buf = Vec::new();
            {
                let mut w = WriterBuilder::new().with_header(true).build(&mut buf);
                for b in batches {
                    w.write(&inert(b)?)?;
                }
            }
            Ok(String::from_utf8(buf).expect("arrow writes UTF-8"))
        }
        TableFormat::Json => {
            let mut buf = Vec::new();
            {
                // Explicit nulls: a missing month's value must read as null, not be absent.
                let mut w = JsonWriterBuilder::new()
                    .with_explicit_nulls(true)
                    .build::<_, JsonArray>(&mut buf);
                let refs: Vec<&RecordBatch> = batches.iter().collect();
                w.write_batches(&refs)?;
                w.finish()?;
            }
            let text = String::from_utf8(buf).expect("arrow writes UTF-8");
            // An empty result is `[]`, not an empty string.
            Ok(if text.trim().is_empty() {
                "[]".into()
            } else {
                text
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;

    #[test]
    fn csv_cells_a_spreadsheet_would_run_are_made_text() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("title", DataType::Utf8View, true),
            Field::new("n", DataType::Int64, true),
        ]));
        let titles = arrow::array::StringViewArray::from(vec![
            Some("=HYPERLINK(\"x\")"),
            Some("+1"),
            Some("-2"),
            Some("@SUM(A1)"),
            Some("\tx"),
            Some("calm"),
            None,
        ]);
        let n = Int64Array::from(vec![-1, 2, 3, 4, 5, 6, 7]);
        let batch = RecordBatch::try_new(schema, vec![Arc::new(titles), Arc::new(n)]).unwrap();
        assert_eq!(
            render(&[batch], TableFormat::Csv).unwrap(),
            "title,n\n\"'=HYPERLINK(\"\"x\"\")\",-1\n'+1,2\n'-2,3\n'@SUM(A1),4\n'\tx,5\ncalm,6\n,7\n"
        );
    }
}
