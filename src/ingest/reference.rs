//! Reference tables: small CSV files loaded whole, every value typed and checked.
//! A bad value refuses the file, since every indicator's denominator stands on them.

use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{
    ArrayRef, Date32Builder, Float64Builder, Int64Builder, StringBuilder,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;

use super::guard;
use super::limits;
use super::source::Refusal;
use crate::model::{self, ReferenceTable};

enum ColumnBuilder {
    Utf8(StringBuilder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    Date32(Date32Builder),
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")
}

/// Columns whose values are codes checked against a code set or the organisations
/// table, never free text.
const CODE_COLUMNS: [&str; 9] = [
    "org_code",
    "standard",
    "month",
    "jurisdiction",
    "age_band",
    "sex",
    "ethnicity",
    "indigenous_status",
    "setting",
];

/// Checks a text value against the code set its column name implies.
fn check_code(column: &str, value: &str) -> Result<(), String> {
    let ok = match column {
        "jurisdiction" => model::Jurisdiction::parse(value).is_some(),
        "age_band" => model::is_age_band(value),
        "sex" => model::Sex::parse(value).is_some(),
        "ethnicity" => model::Ethnicity::parse(value).is_some(),
        "indigenous_status" => model::IndigenousStatus::parse(value).is_some(),
        "setting" => model::Setting::parse(value).is_some(),
        "month" => {
            value.len() == 7
                && NaiveDate::parse_from_str(&format!("{value}-01"), "%Y-%m-%d").is_ok()
        }
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("`{value}` is not a valid {column}"))
    }
}

/// The jurisdiction of an organisation code, None for one not in `organisations`.
pub type OrgLookup<'a> = dyn Fn(&str) -> Option<model::Jurisdiction> + 'a;

/// A row's population group must be in its jurisdiction's code set: NZ ethnicity and
/// Australian Indigenous status answer different questions, and a table that mixed them
/// in one row could be added into a figure that means neither.
fn check_group(
    jurisdiction: model::Jurisdiction,
    given: &[&str],
) -> Result<(), (&'static str, String)> {
    let code_set = jurisdiction.group_code_set();
    if given.contains(&code_set.other_column()) {
        return Err((code_set.other_column(), jurisdiction.wrong_code_set()));
    }
    if !given.contains(&code_set.column()) {
        return Err((
            code_set.column(),
            format!(
                "`{}` is required: {jurisdiction} organisations report {}",
                code_set.column(),
                code_set.describe()
            ),
        ));
    }
    Ok(())
}

/// Reads a reference CSV into one record batch of the table's schema. `known_orgs`
/// (when given) gives the jurisdiction of every `org_code`, which must be known; a row
/// with a population group gives it in that jurisdiction's code set and no other. A
/// nullable column may be left out of the file (an NZ-only table has no
/// `indigenous_status`).
pub fn read(
    path: &Path,
    table: ReferenceTable,
    known_orgs: Option<&OrgLookup<'_>>,
) -> Result<RecordBatch, Refusal> {
    let schema = table.schema();
    let refusal = |line: Option<u64>, column: Option<&str>, message: String| Refusal {
        line,
        column: column.map(String::from),
        message,
    };
    let input = super::source::open_bounded(path, limits::MAX_TABLE_BYTES)?;
    let mut rdr = csv::ReaderBuilder::new().from_reader(input);
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| super::source::csv_refusal(&e))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    // The table's own columns have fixed meanings (an organisation's `name`); any other
    // column is read by nobody but must still not carry identity.
    if let Some(extra) = header
        .iter()
        .find(|h| schema.field_with_name(h).is_err() && guard::is_identifying_column(h))
    {
        return Err(super::source::refuse_identifying_column(extra));
    }
    let mut indices = Vec::new();
    for field in schema.fields() {
        let i = header.iter().position(|h| h == field.name());
        if i.is_none() && !field.is_nullable() {
            return Err(refusal(
                Some(1),
                Some(field.name()),
                format!("{} needs a column `{}`", table.name(), field.name()),
            ));
        }
        indices.push(i);
    }
    let grouped = schema
        .fields()
        .iter()
        .any(|f| model::is_group_column(f.name()));
    let mut builders: Vec<ColumnBuilder> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Int64 => ColumnBuilder::Int64(Int64Builder::new()),
            DataType::Float64 => ColumnBuilder::Float64(Float64Builder::new()),
            DataType::Date32 => ColumnBuilder::Date32(Date32Builder::new()),
            _ => ColumnBuilder::Utf8(StringBuilder::new()),
        })
        .collect();
    for record in rdr.records() {
        let record = record.map_err(|e| super::source::csv_refusal(&e))?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() == 1 && record[0].trim().is_empty() {
            continue;
        }
        // Every other cell meets the guard, read or not: a change idea's title is free
        // text. Codes are not (`esp2013` has an NHI's check digit by chance), nor are the
        // table's own dates (a submission's due date) checked for being a birth date.
        for (i, cell) in record.iter().enumerate() {
            let column = header.get(i).map_or("?", String::as_str);
            if CODE_COLUMNS.contains(&column) {
                continue;
            }
            let dated = schema
                .field_with_name(column)
                .is_ok_and(|f| f.data_type() == &DataType::Date32);
            let finding = if dated {
                guard::contains_nhi(cell).then_some(
                    "value is a valid NHI number; ako stores and reads only de-identified data",
                )
            } else {
                guard::value_finding(cell)
            };
            if let Some(why) = finding {
                return Err(refusal(Some(line), Some(column), why.to_string()));
            }
        }
        let mut jurisdiction = None;
        let mut groups: Vec<&str> = Vec::new();
        for ((field, &i), builder) in schema
            .fields()
            .iter()
            .zip(&indices)
            .zip(builders.iter_mut())
        {
            let name = field.name().as_str();
            let raw = i.and_then(|i| record.get(i)).map(str::trim).unwrap_or("");
            let bad = |m: String| refusal(Some(line), Some(name), m);
            if model::is_group_column(name) && !raw.is_empty() {
                groups.push(name);
            }
            if raw.is_empty() {
                if !field.is_nullable() {
                    return Err(bad(format!("`{name}` is required")));
                }
                match builder {
                    ColumnBuilder::Utf8(b) => b.append_null(),
                    ColumnBuilder::Int64(b) => b.append_null(),
                    ColumnBuilder::Float64(b) => b.append_null(),
                    ColumnBuilder::Date32(b) => b.append_null(),
                }
                continue;
            }
            match builder {
                ColumnBuilder::Utf8(b) => {
                    check_code(name, raw).map_err(bad)?;
                    if name == "org_code"
                        && let Some(known) = known_orgs
                    {
                        jurisdiction = Some(known(raw).ok_or_else(|| {
                            bad(format!("organisation `{raw}` is not in organisations"))
                        })?);
                    }
                    b.append_value(raw);
                }
                ColumnBuilder::Int64(b) => {
                    let v: i64 = raw
                        .parse()
                        .ok()
                        .filter(|v| *v >= 0)
                        .ok_or_else(|| bad(format!("`{raw}` is not a whole number ≥ 0")))?;
                    b.append_value(v);
                }
                ColumnBuilder::Float64(b) => {
                    let v: f64 = raw
                        .parse()
                        .ok()
                        .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                        .ok_or_else(|| bad(format!("`{raw}` is not a number ≥ 0")))?;
                    b.append_value(v);
                }
                ColumnBuilder::Date32(b) => {
                    let d = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                        .map_err(|_| bad(format!("`{raw}` is not a date (YYYY-MM-DD)")))?;
                    b.append_value((d - epoch()).num_days() as i32);
                }
            }
        }
        if grouped && let Some(j) = jurisdiction {
            check_group(j, &groups).map_err(|(column, m)| refusal(Some(line), Some(column), m))?;
        }
    }
    let columns: Vec<ArrayRef> = builders
        .into_iter()
        .map(|b| match b {
            ColumnBuilder::Utf8(mut b) => Arc::new(b.finish()) as ArrayRef,
            ColumnBuilder::Int64(mut b) => Arc::new(b.finish()),
            ColumnBuilder::Float64(mut b) => Arc::new(b.finish()),
            ColumnBuilder::Date32(mut b) => Arc::new(b.finish()),
        })
        .collect();
    RecordBatch::try_new(schema, columns).map_err(|e| refusal(None, None, e.to_string()))
}
