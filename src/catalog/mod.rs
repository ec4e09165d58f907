//! The indicator catalogue: one SQL file per indicator in `queries/`, the single source
//! of truth for how every figure is computed.
//!
//! Each file starts with a header of `-- key: value` comments:
//! ```sql
//! -- title: Seclusion events per 1,000 bed days
//! -- description: AIHW definition: events ÷ occupied bed days × 1,000.
//! -- unit: events per 1,000 bed days
//! -- ci: poisson
//! -- multiplier: 1000
//! -- numerator: events -- episodes starting in the period (renamed `numerator`)
//! -- denominator: bed_days -- occupied bed days (renamed `denominator`)
//! -- param: org text default '' -- organisation code; empty for all
//! SELECT … WHERE ($org = '' OR org_code = $org)
//! ```
//! Parameters are bound as typed values (`$name` placeholders), never spliced into the
//! SQL text.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::error::DataFusionError;
use datafusion::prelude::{DataFrame, SessionContext};
use serde::Serialize;

pub mod coverage;
pub mod estimates;

/// Errors of the catalogue.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}, line {line}: {message}")]
    Header {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("no indicator `{name}` (known: {known})")]
    UnknownIndicator { name: String, known: String },
    #[error("indicator {indicator} has no parameter `{param}` (it takes: {known})")]
    UnknownParam {
        indicator: String,
        param: String,
        known: String,
    },
    #[error("parameter `{param}` of {indicator}: `{value}` is not a {kind}")]
    BadParam {
        indicator: String,
        param: String,
        value: String,
        kind: &'static str,
    },
    #[error("parameter `{param}` of {indicator}: `{value}` is not one of {allowed}")]
    NotAllowed {
        indicator: String,
        param: String,
        value: String,
        allowed: String,
    },
    #[error("--param `{0}`: write it as name=value")]
    ParamSyntax(String),
    #[error("indicator {indicator}: {message}")]
    Shape { indicator: String, message: String },
    #[error("indicator {indicator}: {source}")]
    Query {
        indicator: String,
        source: Box<DataFusionError>,
    },
}

/// Type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamKind {
    Text,
    Int,
    Float,
}

impl ParamKind {
    fn name(self) -> &'static str {
        match self {
            ParamKind::Text => "text",
            ParamKind::Int => "whole number",
            ParamKind::Float => "number",
        }
    }

    fn parse(self, raw: &str) -> Option<ScalarValue> {
        match self {
            ParamKind::Text => Some(ScalarValue::Utf8(Some(raw.to_string()))),
            ParamKind::Int => raw
                .trim()
                .parse::<i64>()
                .ok()
                .map(|v| ScalarValue::Int64(Some(v))),
            ParamKind::Float => raw
                .trim()
                .parse::<f64>()
                .ok()
                .map(|v| ScalarValue::Float64(Some(v))),
        }
    }
}

/// A declared parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Param {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ParamKind,
    pub default: String,
    pub description: String,
    /// The values allowed (`default month in month|quarter|year`); empty for any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<String>,
}

/// How ako turns an indicator's `numerator` and `denominator` into `value`, `lower_95`
/// and `upper_95` (**contract** columns), so no SQL file computes an interval by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Estimate {
    /// A rate: Poisson limits, exact below 10 events, Byar's from 10 (PHE).
    Poisson,
    /// A proportion: Wilson score limits.
    Wilson,
    /// numerator ÷ denominator × multiplier with no interval (e.g. a mean).
    Ratio,
    /// A directly standardised rate: the SQL returns a row per `age_band` with its
    /// `numerator`, `denominator` and standard `weight`; ako sums the bands into the
    /// DSR with Dobson limits (`lower_95`, `upper_95`, null below 10 events, as PHE) and
    /// Fay–Feuer gamma limits (`gamma_lower_95`, `gamma_upper_95`).
    Dsr,
    /// A rate ratio: `numerator`/`denominator` over `comparison_numerator`/
    /// `comparison_denominator`, with exact conditional limits (`lower_95`, `upper_95`)
    /// and Wald limits (`wald_lower_95`, `wald_upper_95`).
    RateRatio,
    /// A ratio of proportions of people: `numerator`/`denominator` over
    /// `comparison_numerator`/`comparison_denominator`, with Katz's log-scale limits.
    ProportionRatio,
}

impl Estimate {
    /// Whether it compares two groups (and so reads the comparison measures).
    pub fn is_ratio(self) -> bool {
        matches!(self, Estimate::RateRatio | Estimate::ProportionRatio)
    }

    /// The header's name for it (`-- ci: NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Estimate::Poisson => "poisson",
            Estimate::Wilson => "wilson",
            Estimate::Ratio => "none",
            Estimate::Dsr => "dsr",
            Estimate::RateRatio => "rate_ratio",
            Estimate::ProportionRatio => "proportion_ratio",
        }
    }

    fn parse(text: &str) -> Option<Estimate> {
        match text {
            "poisson" => Some(Estimate::Poisson),
            "wilson" => Some(Estimate::Wilson),
            "none" | "ratio" => Some(Estimate::Ratio),
            "dsr" => Some(Estimate::Dsr),
            "rate_ratio" => Some(Estimate::RateRatio),
            "proportion_ratio" => Some(Estimate::ProportionRatio),
            _ => None,
        }
    }
}

/// What an indicator's result is (**contract** names in `ako query --list`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IndicatorKind {
    /// One measure: ako adds value and interval columns (`-- ci:` in the header).
    Indicator,
    /// A listing or report that is not one measure.
    Table,
}

/// One indicator: its header and its SQL.
#[derive(Debug, Clone, Serialize)]
pub struct Indicator {
    /// File stem, e.g. `events_per_1000_bed_days`.
    pub name: String,
    pub title: String,
    pub description: String,
    pub unit: String,
    pub params: Vec<Param>,
    pub kind: IndicatorKind,
    /// The SQL's columns that ako reads as `numerator`, `denominator` and (rate ratios)
    /// `comparison_numerator` / `comparison_denominator`, declared in the header
    /// (`-- numerator: events -- seclusion episodes starting in the period`). ako renames
    /// them to those contract names, so every indicator is read the same way.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub measures: Vec<Measure>,
    #[serde(skip)]
    pub estimate: Option<Estimate>,
    /// Scales value and limits (1,000 for per 1,000 bed days; 100 for percentages).
    #[serde(skip)]
    pub multiplier: f64,
    #[serde(skip)]
    pub sql: String,
    #[serde(skip)]
    pub path: PathBuf,
}

/// A header-declared input of the estimate: which SQL column plays which part.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measure {
    pub role: MeasureRole,
    /// The column the SQL returns.
    pub column: String,
    pub description: String,
}

/// The part a declared column plays (**contract** names: the columns are renamed to them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureRole {
    Numerator,
    Denominator,
    ComparisonNumerator,
    ComparisonDenominator,
}

impl MeasureRole {
    pub const ALL: [MeasureRole; 4] = [
        MeasureRole::Numerator,
        MeasureRole::Denominator,
        MeasureRole::ComparisonNumerator,
        MeasureRole::ComparisonDenominator,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MeasureRole::Numerator => "numerator",
            MeasureRole::Denominator => "denominator",
            MeasureRole::ComparisonNumerator => "comparison_numerator",
            MeasureRole::ComparisonDenominator => "comparison_denominator",
        }
    }

    fn parse(key: &str) -> Option<MeasureRole> {
        MeasureRole::ALL.into_iter().find(|r| r.name() == key)
    }
}

fn parse_measure(role: MeasureRole, spec: &str) -> Result<Measure, String> {
    let (column, description) = match spec.split_once("--") {
        Some((c, d)) => (c.trim(), d.trim().to_string()),
        None => (spec.trim(), String::new()),
    };
    if column.is_empty()
        || !column
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(format!(
            "write `{}: COLUMN -- description`; `{column}` is not a column name",
            role.name()
        ));
    }
    Ok(Measure {
        role,
        column: column.to_string(),
        description,
    })
}

/// All indicators in a folder, by name.
#[derive(Debug, Clone)]
pub struct Catalog {
    indicators: BTreeMap<String, Indicator>,
}

/// The `queries/` folder: `AKO_QUERIES`, else `./queries`, else the one in the source tree.
pub fn default_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("AKO_QUERIES") {
        return PathBuf::from(dir);
    }
    let local = PathBuf::from("queries");
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("queries")
}

fn parse_param(spec: &str) -> Result<Param, String> {
    // NAME TYPE default VALUE [-- description]
    let (spec, description) = match spec.split_once("--") {
        Some((s, d)) => (s.trim(), d.trim().to_string()),
        None => (spec.trim(), String::new()),
    };
    let mut words = spec.splitn(4, char::is_whitespace);
    let name = words
        .next()
        .filter(|n| !n.is_empty())
        .ok_or("parameter needs a name")?;
    let kind = match words.next() {
        Some("text") => ParamKind::Text,
        Some("int") => ParamKind::Int,
        Some("float") => ParamKind::Float,
        other => {
            return Err(format!(
                "parameter type must be text, int or float, not {other:?}"
            ));
        }
    };
    if words.next() != Some("default") {
        return Err(
            "write `param: NAME TYPE default VALUE`; every parameter needs a default".into(),
        );
    }
    let rest = words.next().unwrap_or("").trim();
    let (raw, allowed) = match rest.split_once(" in ") {
        Some((d, list)) => (
            d.trim(),
            list.split('|')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect(),
        ),
        None => (rest, Vec::new()),
    };
    let default = raw
        .strip_prefix('\'')
        .and_then(|r| r.strip_suffix('\''))
        .unwrap_or(raw)
        .to_string();
    if kind.parse(&default).is_none() {
        return Err(format!("default `{default}` is not a {}", kind.name()));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "parameter name `{name}` must be letters, digits and _"
        ));
    }
    if !allowed.is_empty() && !allowed.contains(&default) {
        return Err(format!(
            "default `{default}` is not one of {}",
            allowed.join(", ")
        ));
    }
    Ok(Param {
        name: name.to_string(),
        kind,
        default,
        description,
        allowed,
    })
}

impl Indicator {
    /// Parses an indicator file's text.
    pub fn parse(name: &str, text: &str, path: &Path) -> Result<Indicator, CatalogError> {
        let mut fields: BTreeMap<&str, String> = BTreeMap::new();
        let mut params = Vec::new();
        let mut estimate = None;
        let mut multiplier = 1.0;
        let mut measures = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let Some(comment) = line.trim().strip_prefix("--") else {
                break;
            };
            let Some((key, value)) = comment.split_once(':') else {
                continue;
            };
            let key = key.trim();
            let err = |message: String| CatalogError::Header {
                path: path.to_path_buf(),
                line: i + 1,
                message,
            };
            match key {
                "param" => params.push(parse_param(value).map_err(err)?),
                "ci" => {
                    estimate = Some(Estimate::parse(value.trim()).ok_or_else(|| {
                        err(format!(
                            "ci must be poisson, wilson, none, dsr, rate_ratio or proportion_ratio, not `{}`",
                            value.trim()
                        ))
                    })?);
                }
                "multiplier" => {
                    multiplier = value
                        .trim()
                        .replace([',', '_'], "")
                        .parse::<f64>()
                        .ok()
                        .filter(|m| m.is_finite() && *m > 0.0)
                        .ok_or_else(|| {
                            err(format!(
                                "multiplier `{}` is not a positive number",
                                value.trim()
                            ))
                        })?;
                }
                key if MeasureRole::parse(key).is_some() => {
                    let role = MeasureRole::parse(key).expect("matched");
                    if measures.iter().any(|m: &Measure| m.role == role) {
                        return Err(err(format!("`{key}` is declared twice")));
                    }
                    measures.push(parse_measure(role, value).map_err(err)?);
                }
                "title" | "description" | "unit" => {
                    let entry = fields.entry(key).or_default();
                    if !entry.is_empty() {
                        entry.push(' ');
                    }
                    entry.push_str(value.trim());
                }
                // A misspelt key (`multipler`) would otherwise leave its default in
                // place without a word. Prose with a colon (a key with spaces) is prose.
                other
                    if !other.is_empty()
                        && other.chars().all(|c| c.is_ascii_lowercase() || c == '_') =>
                {
                    return Err(err(format!(
                        "unknown header key `{other}` (known: title, description, unit, ci, multiplier, param, {})",
                        MeasureRole::ALL.map(MeasureRole::name).join(", ")
                    )));
                }
                _ => {}
            }
        }
        let title = fields.remove("title").ok_or_else(|| CatalogError::Header {
            path: path.to_path_buf(),
            line: 1,
            message: "the header needs `-- title: …`".into(),
        })?;
        if let Some(estimate) = estimate {
            let needed: &[MeasureRole] = if estimate.is_ratio() {
                &MeasureRole::ALL
            } else {
                &MeasureRole::ALL[..2]
            };
            if let Some(missing) = needed
                .iter()
                .find(|role| !measures.iter().any(|m: &Measure| m.role == **role))
                .map(|r| r.name())
            {
                return Err(CatalogError::Header {
                    path: path.to_path_buf(),
                    line: 1,
                    message: format!(
                        "an indicator with `ci:` declares its `{missing}: COLUMN -- description`"
                    ),
                });
            }
        }
        Ok(Indicator {
            name: name.to_string(),
            title,
            measures,
            description: fields.remove("description").unwrap_or_default(),
            unit: fields.remove("unit").unwrap_or_default(),
            params,
            kind: if estimate.is_some() {
                IndicatorKind::Indicator
            } else {
                IndicatorKind::Table
            },
            estimate,
            multiplier,
            sql: text.to_string(),
            path: path.to_path_buf(),
        })
    }

    /// Parameter values: defaults overridden by `given` (name → raw text).
    pub fn bind(
        &self,
        given: &[(String, String)],
    ) -> Result<Vec<(String, ScalarValue)>, CatalogError> {
        for (name, _) in given {
            if !self.params.iter().any(|p| &p.name == name) {
                return Err(CatalogError::UnknownParam {
                    indicator: self.name.clone(),
                    param: name.clone(),
                    known: self
                        .params
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        self.params
            .iter()
            .map(|p| {
                let raw = given
                    .iter()
                    .rev()
                    .find(|(n, _)| n == &p.name)
                    .map_or(p.default.as_str(), |(_, v)| v);
                let value = p.kind.parse(raw).ok_or_else(|| CatalogError::BadParam {
                    indicator: self.name.clone(),
                    param: p.name.clone(),
                    value: raw.to_string(),
                    kind: p.kind.name(),
                })?;
                if !p.allowed.is_empty() && !p.allowed.iter().any(|a| a == raw) {
                    return Err(CatalogError::NotAllowed {
                        indicator: self.name.clone(),
                        param: p.name.clone(),
                        value: raw.to_string(),
                        allowed: p.allowed.join(", "),
                    });
                }
                Ok((p.name.clone(), value))
            })
            .collect()
    }

    /// An engine error, named for this indicator.
    fn query_error(&self) -> impl Fn(DataFusionError) -> CatalogError + Copy + '_ {
        |source| CatalogError::Query {
            indicator: self.name.clone(),
            source: Box::new(source),
        }
    }

    /// The indicator's SQL planned in `ctx` with its parameters bound as values.
    async fn frame(
        &self,
        ctx: &SessionContext,
        given: &[(String, String)],
    ) -> Result<DataFrame, CatalogError> {
        let values = self.bind(given)?;
        let query = self.query_error();
        let df = ctx.sql(&self.sql).await.map_err(query)?;
        if values.is_empty() {
            Ok(df)
        } else {
            df.with_param_values(values).map_err(query)
        }
    }

    /// Runs the indicator's SQL under `EXPLAIN ANALYZE`: the physical plan with each
    /// operator's rows, time and memory, for finding out where a slow indicator spends
    /// its time.
    pub async fn explain(
        &self,
        ctx: &SessionContext,
        given: &[(String, String)],
    ) -> Result<String, CatalogError> {
        let query = self.query_error();
        let batches = self
            .frame(ctx, given)
            .await?
            .explain(false, true)
            .map_err(query)?
            .collect()
            .await
            .map_err(query)?;
        let plan = crate::table::Table::from_batches(&batches)
            .map_err(|e| query(DataFusionError::ArrowError(Box::new(e), None)))?;
        Ok(plan
            .rows
            .iter()
            .filter_map(|r| r.last().map(|c| c.display()))
            .collect::<Vec<_>>()
            .join("\n"))
    }

    /// Runs the indicator in `ctx` with `given` parameters.
    pub async fn run(
        &self,
        ctx: &SessionContext,
        given: &[(String, String)],
    ) -> Result<Vec<RecordBatch>, CatalogError> {
        let query = self.query_error();
        let mut df = self.frame(ctx, given).await?;
        for m in &self.measures {
            if df.schema().field_with_unqualified_name(&m.column).is_err() {
                return Err(CatalogError::Shape {
                    indicator: self.name.clone(),
                    message: format!(
                        "the header names `{}` as its {}, but the SQL returns no such column",
                        m.column,
                        m.role.name()
                    ),
                });
            }
            df = df
                .with_column_renamed(&m.column, m.role.name())
                .map_err(query)?;
        }
        let batches = df.collect().await.map_err(query)?;
        let shape = |message| CatalogError::Shape {
            indicator: self.name.clone(),
            message,
        };
        let estimated = match self.estimate {
            None => batches,
            Some(Estimate::Dsr) => estimates::dsr(&batches, self.multiplier)
                .map(|b| vec![b])
                .map_err(shape)?,
            Some(estimate) => batches
                .iter()
                .map(|b| estimates::append(b, estimate, self.multiplier))
                .collect::<Result<Vec<_>, String>>()
                .map_err(shape)?,
        };
        // Periods the data cover only in part say so, in every output. (Finding the
        // lake's span is a query of its own, not worth making for a result without
        // periods.)
        if !estimated
            .iter()
            .any(|b| b.column_by_name("period").is_some())
        {
            return Ok(estimated);
        }
        let Some((first, last)) = coverage::span(ctx).await else {
            return Ok(estimated);
        };
        estimated
            .iter()
            .map(|b| coverage::append(b, (&first, &last)))
            .collect::<Result<Vec<_>, String>>()
            .map_err(shape)
    }
}

/// Splits `name=value`.
pub fn parse_param_arg(arg: &str) -> Result<(String, String), CatalogError> {
    arg.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| CatalogError::ParamSyntax(arg.to_string()))
}

impl Catalog {
    /// Loads every `*.sql` in `dir`.
    pub fn load(dir: &Path) -> Result<Catalog, CatalogError> {
        let io = |source| CatalogError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut indicators = BTreeMap::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.extension().is_none_or(|e| e != "sql") {
                continue;
            }
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            let text = std::fs::read_to_string(&path).map_err(|source| CatalogError::Io {
                path: path.clone(),
                source,
            })?;
            indicators.insert(name.clone(), Indicator::parse(&name, &text, &path)?);
        }
        Ok(Catalog { indicators })
    }

    /// Every indicator, by name.
    pub fn indicators(&self) -> impl Iterator<Item = &Indicator> {
        self.indicators.values()
    }

    /// The indicator called `name`.
    pub fn get(&self, name: &str) -> Result<&Indicator, CatalogError> {
        self.indicators
            .get(name)
            .ok_or_else(|| CatalogError::UnknownIndicator {
                name: name.to_string(),
                known: self
                    .indicators
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_params() {
        let text = "-- title: Events\n-- unit: events\n-- param: org text default '' -- organisation\n-- param: min_events int default 6\nSELECT 1";
        let ind = Indicator::parse("events", text, Path::new("events.sql")).unwrap();
        assert_eq!(ind.title, "Events");
        assert_eq!(ind.params.len(), 2);
        assert_eq!(ind.params[0].default, "");
        assert_eq!(ind.params[0].description, "organisation");
        let bound = ind.bind(&[("min_events".into(), "10".into())]).unwrap();
        assert_eq!(bound[1].1, ScalarValue::Int64(Some(10)));
        assert!(matches!(
            ind.bind(&[("min_events".into(), "ten".into())]),
            Err(CatalogError::BadParam { .. })
        ));
        assert!(matches!(
            ind.bind(&[("nope".into(), "1".into())]),
            Err(CatalogError::UnknownParam { .. })
        ));
    }

    #[test]
    fn a_param_without_default_is_refused() {
        let text = "-- title: X\n-- param: org text\nSELECT 1";
        let err = Indicator::parse("x", text, Path::new("x.sql")).unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn a_misspelt_header_key_is_refused() {
        let text = "-- title: X\n-- ci: poisson\n-- multipler: 1000\n-- numerator: a\n-- denominator: b\nSELECT 1 AS a, 2 AS b, '' AS period";
        let err = Indicator::parse("x", text, Path::new("x.sql")).unwrap_err();
        let err = err.to_string();
        assert!(
            err.contains("line 3") && err.contains("`multipler`"),
            "{err}"
        );
        // Prose with a colon in a description is not a key.
        let text = "-- title: X\n-- description: AIHW definition: events\n-- Note the caveat: none\nSELECT 1";
        Indicator::parse("x", text, Path::new("x.sql")).unwrap();
    }

    #[test]
    fn an_indicator_must_declare_its_numerator_and_denominator() {
        let text = "-- title: X\n-- ci: poisson\n-- numerator: events\nSELECT 1";
        let err = Indicator::parse("x", text, Path::new("x.sql")).unwrap_err();
        assert!(err.to_string().contains("`denominator: COLUMN"), "{err}");
        let text = "-- title: X\n-- ci: wilson\n-- numerator: a b\nSELECT 1";
        let err = Indicator::parse("x", text, Path::new("x.sql")).unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
    }

    #[tokio::test]
    async fn declared_columns_become_numerator_and_denominator() {
        let text = "-- title: Rate\n-- ci: poisson\n-- multiplier: 1000\n\
                    -- numerator: events -- episodes\n-- denominator: bed_days -- bed days\n\
                    SELECT '2024-01' AS period, 4 AS events, 2000.0 AS bed_days";
        let ind = Indicator::parse("rate", text, Path::new("rate.sql")).unwrap();
        assert_eq!(ind.measures[0].description, "episodes");
        let ctx = SessionContext::new();
        let batches = ind.run(&ctx, &[]).await.unwrap();
        let schema = batches[0].schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names,
            [
                "period",
                "numerator",
                "denominator",
                "value",
                "lower_95",
                "upper_95"
            ]
        );
        let value = batches[0]
            .column_by_name("value")
            .unwrap()
            .as_any()
            .downcast_ref::<datafusion::arrow::array::Float64Array>()
            .unwrap()
            .value(0);
        assert!((value - 2.0).abs() < 1e-12);

        let wrong = text.replace("AS bed_days", "AS days");
        let ind = Indicator::parse("rate", &wrong, Path::new("rate.sql")).unwrap();
        let err = ind.run(&ctx, &[]).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("names `bed_days` as its denominator"),
            "{err}"
        );
    }
}
