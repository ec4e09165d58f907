//! Compliance with each jurisdiction's rules on seclusion and restraint, evaluated per
//! episode from rule sets kept as data (`compliance/*.toml`).
//!
//! The findings become the `compliance_flags` table of a query session, so counts and
//! rates per organisation come from SQL in `queries/` like every other indicator.

pub mod evaluate;
pub mod rules;

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, Int64Array, RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::{
    DataType, Field, Int32Type, Schema, SchemaRef, TimestampMicrosecondType,
};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

pub use evaluate::{Count, Episodes, Evaluation, Finding, Outcome, Row, evaluate};
pub use rules::{RuleSet, RulesError, default_dir};

use crate::table::string_view_column;

/// The tables the findings are registered as: one row per episode and rule that is not
/// compliant, and counts by outcome per organisation, month and rule.
pub const TABLE: &str = "compliance_flags";
pub const COUNTS: &str = "compliance_counts";

#[derive(Debug, thiserror::Error)]
pub enum ComplianceError {
    #[error(transparent)]
    Rules(#[from] RulesError),
    #[error("reading episodes for compliance: {0}")]
    Query(Box<datafusion::error::DataFusionError>),
}

boxed_datafusion_error!(ComplianceError, ComplianceError::Query);

fn text(n: &str) -> Field {
    Field::new(n, DataType::Utf8, false)
}

/// Schema of `compliance_flags`.
pub fn flags_schema() -> SchemaRef {
    Arc::new(Schema::new(
        [
            "org_code",
            "jurisdiction",
            "month",
            "practice",
            "episode_id",
            "rule_id",
            "rule",
            "citation",
            "severity",
            "outcome",
            "detail",
        ]
        .map(text)
        .to_vec(),
    ))
}

/// Schema of `compliance_counts`.
pub fn counts_schema() -> SchemaRef {
    let mut fields: Vec<Field> = [
        "org_code",
        "jurisdiction",
        "month",
        "rule_id",
        "rule",
        "severity",
    ]
    .map(text)
    .to_vec();
    for n in [
        "episodes",
        "compliant",
        "breaches",
        "flagged",
        "not_evaluable",
    ] {
        fields.push(Field::new(n, DataType::Int64, false));
    }
    Arc::new(Schema::new(fields))
}

const EPISODE_COLUMNS: [&str; 14] = [
    "org_code",
    "episode_id",
    "person_key",
    "practice",
    "setting",
    "legal_status",
    "authorised_by",
    "jurisdiction",
    "month",
    "emergency",
    "minor",
    "start_time",
    "end_time",
    "max_obs_gap_min",
];

/// Reads the episodes of `ctx` that some rule of `sets` can apply to (their
/// jurisdictions and, when every rule names practices, those practices) into the
/// columns rules need.
pub async fn read_episodes(
    ctx: &SessionContext,
    sets: &[RuleSet],
) -> Result<Episodes, ComplianceError> {
    use datafusion::prelude::{col, lit};
    let jurisdictions: Vec<_> = sets.iter().map(|s| lit(s.jurisdiction.clone())).collect();
    let mut df = ctx
        .table("episodes")
        .await?
        .select_columns(&EPISODE_COLUMNS)?
        .filter(col("jurisdiction").in_list(jurisdictions, false))?;
    let rules = sets.iter().flat_map(|s| &s.rules);
    if rules.clone().all(|r| r.when.practice.is_some()) {
        let mut practices: Vec<String> = rules
            .flat_map(|r| r.when.practice.clone().unwrap_or_default())
            .collect();
        practices.sort();
        practices.dedup();
        df = df.filter(col("practice").in_list(practices.into_iter().map(lit).collect(), false))?;
    }
    let mut stream = df.execute_stream().await?;
    let mut e = Episodes::default();
    use futures::StreamExt;
    while let Some(batch) = stream.next().await {
        let b = batch?;
        let text = |name: &str| {
            string_view_column(&b, name).map_err(datafusion::error::DataFusionError::from)
        };
        let cols = [
            text("org_code")?,
            text("episode_id")?,
            text("person_key")?,
            text("practice")?,
            text("setting")?,
            text("legal_status")?,
            text("authorised_by")?,
            text("jurisdiction")?,
            text("month")?,
        ];
        let flag = |name: &str| {
            b.column_by_name(name)
                .expect("selected")
                .as_boolean()
                .clone()
        };
        let (emergency, minor) = (flag("emergency"), flag("minor"));
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
        for i in 0..b.num_rows() {
            e.push(Row {
                org_code: cols[0].value(i),
                episode_id: cols[1].value(i),
                person_key: cols[2].value(i),
                practice: cols[3].value(i),
                setting: cols[4].value(i),
                legal_status: cols[5].value(i),
                authorised_by: cols[6].value(i),
                jurisdiction: cols[7].value(i),
                month: cols[8].value(i),
                emergency: emergency.value(i),
                minor: minor.value(i),
                start: start.value(i),
                end: end.is_valid(i).then(|| end.value(i)),
                max_obs_gap_min: gap.is_valid(i).then(|| gap.value(i) as i64),
            });
        }
    }
    Ok(e)
}

/// The findings as a `compliance_flags` batch.
pub fn flags_batch(sets: &[RuleSet], e: &Episodes, findings: &[Finding]) -> RecordBatch {
    let mut cols: Vec<StringBuilder> = (0..11).map(|_| StringBuilder::new()).collect();
    for f in findings {
        let rule = &sets[f.set].rules[f.rule];
        let values = [
            e.org_code.get(f.row),
            e.jurisdiction.get(f.row),
            e.month.get(f.row),
            e.practice.get(f.row),
            e.episode_id.get(f.row),
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

/// The counts as a `compliance_counts` batch.
pub fn counts_batch(sets: &[RuleSet], e: &Episodes, counts: &[Count]) -> RecordBatch {
    let mut text: Vec<StringBuilder> = (0..6).map(|_| StringBuilder::new()).collect();
    let mut numbers: Vec<Vec<i64>> = (0..5).map(|_| Vec::with_capacity(counts.len())).collect();
    for c in counts {
        let rule = &sets[c.set].rules[c.rule];
        let values = [
            e.org_code.get(c.row),
            e.jurisdiction.get(c.row),
            e.month.get(c.row),
            rule.id.as_str(),
            rule.title.as_str(),
            rule.severity.as_str(),
        ];
        for (b, v) in text.iter_mut().zip(values) {
            b.append_value(v);
        }
        numbers[0].push(c.by_outcome.iter().sum::<u64>() as i64);
        for k in 0..4 {
            numbers[k + 1].push(c.by_outcome[k] as i64);
        }
    }
    let mut arrays: Vec<Arc<dyn Array>> = text
        .into_iter()
        .map(|mut b| Arc::new(b.finish()) as Arc<dyn Array>)
        .collect();
    arrays.extend(
        numbers
            .into_iter()
            .map(|n| Arc::new(Int64Array::from(n)) as Arc<dyn Array>),
    );
    RecordBatch::try_new(counts_schema(), arrays).expect("columns match the schema")
}

/// Evaluates `sets` over the session's episodes: the `compliance_flags` and
/// `compliance_counts` batches.
pub async fn evaluate_batches(
    ctx: &SessionContext,
    sets: &[RuleSet],
) -> Result<(RecordBatch, RecordBatch), ComplianceError> {
    let episodes = read_episodes(ctx, sets).await?;
    let evaluation = evaluate(sets, &episodes);
    Ok((
        flags_batch(sets, &episodes, &evaluation.findings),
        counts_batch(sets, &episodes, &evaluation.counts),
    ))
}

/// Evaluates `sets` over the session's episodes and registers `compliance_flags` and
/// `compliance_counts`. Returns the number of findings.
pub async fn register(ctx: &SessionContext, sets: &[RuleSet]) -> Result<usize, ComplianceError> {
    let (flags, counts) = evaluate_batches(ctx, sets).await?;
    let findings = flags.num_rows();
    ctx.register_table(
        TABLE,
        Arc::new(MemTable::try_new(flags_schema(), vec![vec![flags]])?),
    )?;
    ctx.register_table(
        COUNTS,
        Arc::new(MemTable::try_new(counts_schema(), vec![vec![counts]])?),
    )?;
    Ok(findings)
}
