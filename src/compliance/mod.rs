//! Compliance with each jurisdiction's rules on seclusion and restraint, evaluated per
//! episode from rule sets kept as data (`compliance/*.toml`).
//!
//! The findings become the `compliance_flags` table of a query session, so counts and
//! rates per organisation come from SQL in `queries/` like every other indicator.

pub mod evaluate;
pub mod rules;

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::{
    DataType, Field, Int32Type, Schema, SchemaRef, TimestampMicrosecondType,
};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

pub use evaluate::{Episodes, Finding, Outcome, evaluate};
pub use rules::{RuleSet, RulesError, default_dir};

use crate::lake::string_column;

/// The table the findings are registered as.
pub const TABLE: &str = "compliance_flags";

#[derive(Debug, thiserror::Error)]
pub enum ComplianceError {
    #[error(transparent)]
    Rules(#[from] RulesError),
    #[error("reading episodes for compliance: {0}")]
    Query(#[from] datafusion::error::DataFusionError),
    #[error("reading episodes for compliance: {0}")]
    Lake(#[from] Box<crate::lake::LakeError>),
}

/// Schema of `compliance_flags`: one row per episode and applicable rule.
pub fn flags_schema() -> SchemaRef {
    let s = |n: &str| Field::new(n, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        s("org_code"),
        s("jurisdiction"),
        s("month"),
        s("practice"),
        s("episode_id"),
        s("rule_id"),
        s("rule"),
        s("citation"),
        s("severity"),
        s("outcome"),
        s("detail"),
    ]))
}

const EPISODE_SQL: &str = "SELECT org_code, episode_id, person_key, practice, setting, legal_status, \
     authorised_by, jurisdiction, month, emergency, minor, start_time, end_time, max_obs_gap_min \
     FROM episodes";

/// Reads the episodes of `ctx` into the columns rules need.
pub async fn read_episodes(ctx: &SessionContext) -> Result<Episodes, ComplianceError> {
    let batches = ctx.sql(EPISODE_SQL).await?.collect().await?;
    let mut e = Episodes::default();
    for b in &batches {
        let text = |name: &str| -> Result<Vec<String>, ComplianceError> {
            let a = string_column(b, name).map_err(Box::new)?;
            Ok((0..a.len()).map(|i| a.value(i).to_string()).collect())
        };
        e.org_code.extend(text("org_code")?);
        e.episode_id.extend(text("episode_id")?);
        e.person_key.extend(text("person_key")?);
        e.practice.extend(text("practice")?);
        e.setting.extend(text("setting")?);
        e.legal_status.extend(text("legal_status")?);
        e.authorised_by.extend(text("authorised_by")?);
        e.jurisdiction.extend(text("jurisdiction")?);
        e.month.extend(text("month")?);
        let flag = |name: &str| {
            b.column_by_name(name)
                .expect("selected")
                .as_boolean()
                .clone()
        };
        let (emergency, minor) = (flag("emergency"), flag("minor"));
        e.emergency
            .extend((0..b.num_rows()).map(|i| emergency.value(i)));
        e.minor.extend((0..b.num_rows()).map(|i| minor.value(i)));
        let start = b
            .column_by_name("start_time")
            .expect("selected")
            .as_primitive::<TimestampMicrosecondType>();
        let end = b
            .column_by_name("end_time")
            .expect("selected")
            .as_primitive::<TimestampMicrosecondType>();
        let gap = b
            .column_by_name("max_obs_gap_min")
            .expect("selected")
            .as_primitive::<Int32Type>();
        e.start.extend(start.values().iter().copied());
        e.end
            .extend((0..b.num_rows()).map(|i| end.is_valid(i).then(|| end.value(i))));
        e.max_obs_gap_min
            .extend((0..b.num_rows()).map(|i| gap.is_valid(i).then(|| gap.value(i) as i64)));
    }
    Ok(e)
}

/// The findings as a `compliance_flags` batch.
pub fn flags_batch(sets: &[RuleSet], e: &Episodes, findings: &[Finding]) -> RecordBatch {
    let mut cols: Vec<StringBuilder> = (0..11).map(|_| StringBuilder::new()).collect();
    for f in findings {
        let rule = &sets[f.set].rules[f.rule];
        let values = [
            e.org_code[f.row].as_str(),
            e.jurisdiction[f.row].as_str(),
            e.month[f.row].as_str(),
            e.practice[f.row].as_str(),
            e.episode_id[f.row].as_str(),
            rule.id.as_str(),
            rule.title.as_str(),
            rule.citation.as_str(),
            rule.severity.as_str(),
            f.outcome.as_str(),
            f.detail.as_str(),
        ];
        for (b, v) in cols.iter_mut().zip(values) {
            b.append_value(v);
        }
    }
    let arrays = cols
        .into_iter()
        .map(|mut b| Arc::new(b.finish()) as Arc<dyn Array>)
        .collect();
    RecordBatch::try_new(flags_schema(), arrays).expect("columns match the schema")
}

/// Evaluates `sets` over the session's episodes and registers `compliance_flags`.
pub async fn register(ctx: &SessionContext, sets: &[RuleSet]) -> Result<usize, ComplianceError> {
    let episodes = read_episodes(ctx).await?;
    let findings = evaluate(sets, &episodes);
    let batch = flags_batch(sets, &episodes, &findings);
    let rows = batch.num_rows();
    let table = MemTable::try_new(flags_schema(), vec![vec![batch]])?;
    ctx.register_table(TABLE, Arc::new(table))?;
    Ok(rows)
}

/// Whether a query reads the findings (so only those queries pay for evaluating them).
pub fn is_read_by(sql: &str) -> bool {
    sql.contains(TABLE)
}
