//! The columns ako adds to every indicator: `value`, `lower_95`, `upper_95`, computed from
//! the SQL's `numerator` and `denominator` by the statistics engine.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, Float64Array, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Schema};

use super::Estimate;
use crate::stats::Level;
use crate::stats::rates;

/// Columns every indicator returns (**contract**), besides its grouping columns.
pub const REQUIRED: [&str; 3] = ["period", "numerator", "denominator"];
pub const ADDED: [&str; 3] = ["value", "lower_95", "upper_95"];

/// `batch` with `value`, `lower_95` and `upper_95` appended. A null numerator or
/// denominator (a month whose extract never arrived) or a zero denominator gives nulls.
pub fn append(
    batch: &RecordBatch,
    estimate: Estimate,
    multiplier: f64,
) -> Result<RecordBatch, String> {
    for name in REQUIRED {
        if batch.column_by_name(name).is_none() {
            return Err(format!("its SQL must return a `{name}` column"));
        }
    }
    for name in ADDED {
        if batch.column_by_name(name).is_some() {
            return Err(format!(
                "its SQL returns `{name}`, which ako computes from numerator and denominator"
            ));
        }
    }
    let as_f64 = |name: &str| -> Result<Float64Array, String> {
        let column = batch.column_by_name(name).expect("checked above");
        cast(column, &DataType::Float64)
            .map(|a| a.as_primitive::<Float64Type>().clone())
            .map_err(|e| format!("`{name}` is not a number: {e}"))
    };
    let (num, den) = (as_f64("numerator")?, as_f64("denominator")?);
    let n = batch.num_rows();
    let (mut value, mut lower, mut upper) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for i in 0..n {
        let (x, d) = (
            num.is_valid(i).then(|| num.value(i)),
            den.is_valid(i).then(|| den.value(i)),
        );
        let (v, lo, hi) = match (x, d) {
            (Some(x), Some(d)) if d > 0.0 && x >= 0.0 => match estimate {
                Estimate::Poisson => match rates::rate(x, d, &[Level::P95], multiplier) {
                    Ok(r) => (r.value, r.intervals[0].lower, r.intervals[0].upper),
                    Err(_) => (None, None, None),
                },
                Estimate::Wilson if x <= d => {
                    match rates::proportion(x, d, &[Level::P95], multiplier) {
                        Ok((v, i)) => (v, i[0].lower, i[0].upper),
                        Err(_) => (None, None, None),
                    }
                }
                Estimate::Wilson => (None, None, None),
                Estimate::Ratio => (Some(x / d * multiplier), None, None),
            },
            _ => (None, None, None),
        };
        value.push(v);
        lower.push(lo);
        upper.push(hi);
    }
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let mut columns = batch.columns().to_vec();
    for (name, data) in ADDED.iter().zip([value, lower, upper]) {
        fields.push(Field::new(*name, DataType::Float64, true));
        columns.push(Arc::new(Float64Array::from(data)));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| e.to_string())
}
