//! The columns that say how much of each period the data cover (**contract**):
//! `months_covered`, `covered_from`, `covered_to` and `partial`, appended to every
//! indicator that returns a `period`. A calendar year of which six months have arrived,
//! or the financial year under way, is `partial`: charts mark it and rankings skip it.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, AsArray, BooleanArray, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::prelude::SessionContext;

use crate::period::coverage;

/// Columns ako adds to a periodic indicator.
pub const COLUMNS: [&str; 4] = ["months_covered", "covered_from", "covered_to", "partial"];

/// The first and last month the lake holds: the months with occupied bed days (every
/// rate's denominator), else with episodes. `None` when neither table is there.
pub async fn span(ctx: &SessionContext) -> Option<(String, String)> {
    for table in ["inpatient_activity", "episodes"] {
        if !ctx.table_exist(table).unwrap_or(false) {
            continue;
        }
        let sql = format!("SELECT min(month) AS first, max(month) AS last FROM {table}");
        let Ok(frame) = ctx.sql(&sql).await else {
            continue;
        };
        let Ok(batches) = frame.collect().await else {
            continue;
        };
        let read = |i: usize| -> Option<String> {
            let b = batches.first()?;
            let c = cast(b.column(i), &DataType::Utf8).ok()?;
            let c = c.as_string::<i32>();
            (b.num_rows() > 0 && c.is_valid(0)).then(|| c.value(0).to_string())
        };
        if let (Some(first), Some(last)) = (read(0), read(1)) {
            return Some((first, last));
        }
    }
    None
}

/// `batch` with the coverage columns appended, when it has a `period` column and does
/// not already carry them.
pub fn append(batch: &RecordBatch, span: (&str, &str)) -> Result<RecordBatch, String> {
    let Some(period) = batch.column_by_name("period") else {
        return Ok(batch.clone());
    };
    if let Some(c) = COLUMNS.iter().find(|c| batch.column_by_name(c).is_some()) {
        return Err(format!(
            "its SQL returns `{c}`, which ako computes from the period"
        ));
    }
    let period = cast(period, &DataType::Utf8).map_err(|e| e.to_string())?;
    let period = period.as_string::<i32>();
    let n = batch.num_rows();
    let (mut months, mut from, mut to, mut partial) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for i in 0..n {
        let c = period
            .is_valid(i)
            .then(|| coverage(period.value(i), span))
            .flatten();
        months.push(c.as_ref().map(|c| c.months as i64));
        from.push(c.as_ref().and_then(|c| c.from.clone()));
        to.push(c.as_ref().and_then(|c| c.to.clone()));
        partial.push(c.as_ref().map(|c| c.partial()));
    }
    let schema = batch.schema();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(COLUMNS[0], DataType::Int64, true));
    fields.push(Field::new(COLUMNS[1], DataType::Utf8, true));
    fields.push(Field::new(COLUMNS[2], DataType::Utf8, true));
    fields.push(Field::new(COLUMNS[3], DataType::Boolean, true));
    let mut columns = batch.columns().to_vec();
    columns.push(Arc::new(Int64Array::from(months)));
    columns.push(Arc::new(StringArray::from(from)));
    columns.push(Arc::new(StringArray::from(to)));
    columns.push(Arc::new(BooleanArray::from(partial)));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| e.to_string())
}
