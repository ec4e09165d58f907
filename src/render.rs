//! Renders query results for people and programs: an aligned text table, CSV, or a
//! JSON array of row objects.

use arrow::csv::WriterBuilder;
use arrow::json::writer::{JsonArray, WriterBuilder as JsonWriterBuilder};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use serde::Deserialize;

/// Output format of a result table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TableFormat {
    Table,
    Csv,
    Json,
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
                    w.write(b)?;
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
