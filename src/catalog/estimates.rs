//! The columns ako adds to every indicator: `value`, `lower_95`, `upper_95`, computed from
//! the SQL's `numerator` and `denominator` by the statistics engine.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, Float64Array, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Schema};

use super::Estimate;
use crate::stats::Level;
use crate::stats::dsr::dsr as standardise;
use crate::stats::rates;
use crate::stats::ratio::{proportion_ratio, rate_ratio};

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
    let as_f64 = |name: &str| numbers(batch, name);
    let (num, den) = (as_f64("numerator")?, as_f64("denominator")?);
    if estimate.is_ratio() {
        return ratio_columns(batch, estimate, &num, &den);
    }
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
        let (v, lo, hi) = one(estimate, x, d, multiplier);
        value.push(v);
        lower.push(lo);
        upper.push(hi);
    }
    with_columns(batch, &ADDED, vec![value, lower, upper])
}

/// Value and 95% limits of one row from its numerator `x` and denominator `d`, for the
/// estimates computed row by row (Poisson, Wilson, plain ratio). Standardised rates and
/// rate ratios need more than one row's two numbers and give nulls here.
pub fn one(
    estimate: Estimate,
    x: Option<f64>,
    d: Option<f64>,
    multiplier: f64,
) -> (Option<f64>, Option<f64>, Option<f64>) {
    match (x, d) {
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
            Estimate::Dsr | Estimate::RateRatio | Estimate::ProportionRatio => (None, None, None),
        },
        _ => (None, None, None),
    }
}

fn numbers(batch: &RecordBatch, name: &str) -> Result<Float64Array, String> {
    let column = batch
        .column_by_name(name)
        .ok_or_else(|| format!("its SQL must return a `{name}` column"))?;
    cast(column, &DataType::Float64)
        .map(|a| a.as_primitive::<Float64Type>().clone())
        .map_err(|e| format!("`{name}` is not a number: {e}"))
}

fn with_columns(
    batch: &RecordBatch,
    names: &[&str],
    data: Vec<Vec<Option<f64>>>,
) -> Result<RecordBatch, String> {
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let mut columns = batch.columns().to_vec();
    for (name, values) in names.iter().zip(data) {
        fields.push(Field::new(*name, DataType::Float64, true));
        columns.push(Arc::new(Float64Array::from(values)));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| e.to_string())
}

fn value_at(a: &Float64Array, i: usize) -> Option<f64> {
    a.is_valid(i).then(|| a.value(i))
}

/// Rate ratios row by row.
fn ratio_columns(
    batch: &RecordBatch,
    estimate: Estimate,
    num: &Float64Array,
    den: &Float64Array,
) -> Result<RecordBatch, String> {
    let (cnum, cden) = (
        numbers(batch, "comparison_numerator")?,
        numbers(batch, "comparison_denominator")?,
    );
    // A ratio of proportions has Katz's limits; a rate ratio exact and Wald ones.
    let names: &[&str] = if estimate == Estimate::ProportionRatio {
        &["value", "lower_95", "upper_95"]
    } else {
        &[
            "value",
            "lower_95",
            "upper_95",
            "wald_lower_95",
            "wald_upper_95",
        ]
    };
    let n = batch.num_rows();
    let mut out: Vec<Vec<Option<f64>>> = (0..names.len()).map(|_| Vec::with_capacity(n)).collect();
    for i in 0..n {
        let cells = match (
            value_at(num, i),
            value_at(den, i),
            value_at(&cnum, i),
            value_at(&cden, i),
        ) {
            (Some(a), Some(na), Some(b), Some(nb)) if estimate == Estimate::ProportionRatio => {
                proportion_ratio(a, na, b, nb, Level::P95)
                    .ok()
                    .map(|r| vec![r.ratio, r.limits.0, r.limits.1])
            }
            (Some(a), Some(pa), Some(b), Some(pb)) => rate_ratio(a, pa, b, pb, Level::P95)
                .ok()
                .map(|r| vec![r.rr, r.exact.0, r.exact.1, r.wald.0, r.wald.1]),
            _ => None,
        }
        .unwrap_or_else(|| vec![None; names.len()]);
        for (column, cell) in out.iter_mut().zip(cells) {
            column.push(cell);
        }
    }
    with_columns(batch, names, out)
}

/// A row's grouping values, as text.
type Key = Vec<Option<String>>;
/// One age band: count, population, standard weight.
type Band = (f64, f64, f64);

/// Columns a DSR query returns per age band, which the standardisation sums away.
const BAND_COLUMNS: [&str; 4] = ["age_band", "numerator", "denominator", "weight"];

/// The columns a DSR indicator returns after its grouping columns.
const DSR_COLUMNS: [&str; 7] = [
    "numerator",
    "denominator",
    "value",
    "lower_95",
    "upper_95",
    "gamma_lower_95",
    "gamma_upper_95",
];

/// Directly standardised rates: one output row per combination of the other columns
/// (cast to text), in first-seen order.
pub fn dsr(batches: &[RecordBatch], multiplier: f64) -> Result<RecordBatch, String> {
    use datafusion::arrow::array::StringArray;
    use std::collections::HashMap;

    let Some(first) = batches.first() else {
        let mut fields = vec![Field::new("period", DataType::Utf8, true)];
        fields.extend(
            DSR_COLUMNS
                .iter()
                .map(|n| Field::new(*n, DataType::Float64, true)),
        );
        return Ok(RecordBatch::new_empty(Arc::new(Schema::new(fields))));
    };
    for name in BAND_COLUMNS.iter().chain(&["period"]) {
        if first.column_by_name(name).is_none() {
            return Err(format!(
                "a dsr indicator's SQL must return a `{name}` column"
            ));
        }
    }
    let keys: Vec<String> = first
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|n| !BAND_COLUMNS.contains(&n.as_str()))
        .collect();
    let mut order: Vec<Vec<Option<String>>> = Vec::new();
    let mut groups: HashMap<Key, Vec<Band>> = HashMap::new();
    for b in batches {
        let text: Vec<StringArray> = keys
            .iter()
            .map(|k| {
                cast(b.column_by_name(k).expect("same schema"), &DataType::Utf8)
                    .map(|a| a.as_string::<i32>().clone())
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<_, _>>()?;
        let (count, pop, weight) = (
            numbers(b, "numerator")?,
            numbers(b, "denominator")?,
            numbers(b, "weight")?,
        );
        for i in 0..b.num_rows() {
            let key: Vec<Option<String>> = text
                .iter()
                .map(|a| a.is_valid(i).then(|| a.value(i).to_string()))
                .collect();
            if !groups.contains_key(&key) {
                order.push(key.clone());
            }
            groups.entry(key).or_default().push((
                value_at(&count, i).unwrap_or(0.0),
                value_at(&pop, i).unwrap_or(0.0),
                value_at(&weight, i).unwrap_or(0.0),
            ));
        }
    }
    let mut key_columns: Vec<Vec<Option<String>>> = vec![Vec::new(); keys.len()];
    let mut out: Vec<Vec<Option<f64>>> = vec![Vec::new(); DSR_COLUMNS.len()];
    for key in &order {
        for (column, value) in key_columns.iter_mut().zip(key) {
            column.push(value.clone());
        }
        let bands = &groups[key];
        let counts: Vec<f64> = bands.iter().map(|b| b.0).collect();
        let pops: Vec<f64> = bands.iter().map(|b| b.1).collect();
        let weights: Vec<f64> = bands.iter().map(|b| b.2).collect();
        // A band with no population cannot carry a rate: the DSR is not given.
        let cells = match standardise(&counts, &pops, &weights, &[Level::P95], multiplier) {
            Ok(d) => [
                Some(d.total_count),
                Some(d.total_population),
                Some(d.value),
                d.dobson[0].lower,
                d.dobson[0].upper,
                d.gamma[0].lower,
                d.gamma[0].upper,
            ],
            Err(_) => [
                Some(counts.iter().sum()),
                Some(pops.iter().sum()),
                None,
                None,
                None,
                None,
                None,
            ],
        };
        for (column, cell) in out.iter_mut().zip(cells) {
            column.push(cell);
        }
    }
    let mut fields: Vec<Field> = keys
        .iter()
        .map(|k| Field::new(k, DataType::Utf8, true))
        .collect();
    let mut columns: Vec<Arc<dyn Array>> = key_columns
        .into_iter()
        .map(|c| Arc::new(StringArray::from(c)) as Arc<dyn Array>)
        .collect();
    for (name, values) in DSR_COLUMNS.iter().zip(out) {
        fields.push(Field::new(*name, DataType::Float64, true));
        columns.push(Arc::new(Float64Array::from(values)));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| e.to_string())
}
