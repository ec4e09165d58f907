//! Positive deviants: organisations doing markedly better than their peers, with the
//! evidence, so the collaborative can ask them what they changed.
//!
//! Two kinds of evidence on seclusion events per 1,000 bed days (the catalogue's
//! `events_per_1000_bed_days`):
//! * **funnel**: over the latest months, a rate below the 99.8% lower limit of the
//!   jurisdiction's funnel (adjusted for overdispersion when there is any, so that
//!   ordinary between-organisation variation is not mistaken for excellence);
//! * **spc**: a sustained special-cause improvement on the organisation's monthly XmR
//!   chart (Making Data Count rules, lower is better): at least seven consecutive months
//!   flagged as improvement, reaching the latest month. When the organisation logged a
//!   dated change idea with a year of data before it, the chart's limits come from the
//!   months before the change.

use std::collections::BTreeMap;

use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::catalog::CatalogError;
use crate::derived::{DerivedError, Sources};
pub use crate::series::Month;
use crate::stats::funnel::{self, FunnelOptions, FunnelType, Overdispersion};
use crate::stats::spc::{self, Chart, Convention, Direction, PointType, SpcOptions};

/// The indicator deviance is judged on.
pub const INDICATOR: &str = "events_per_1000_bed_days";

#[derive(Debug, thiserror::Error)]
pub enum DeviantsError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Derived(#[from] Box<DerivedError>),
    #[error(transparent)]
    Series(#[from] crate::series::SeriesError),
    #[error(transparent)]
    Ideas(#[from] crate::ideas::IdeasError),
    #[error("reading rates: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    #[error("reading rates: {0}")]
    Query(Box<datafusion::error::DataFusionError>),
}

boxed_datafusion_error!(DeviantsError, DeviantsError::Query);

/// One organisation flagged on one piece of evidence (**contract**:
/// `{org_code, indicator, evidence}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deviant {
    pub org_code: String,
    pub indicator: String,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Evidence {
    Funnel {
        summary: String,
        jurisdiction: String,
        from: String,
        to: String,
        events: f64,
        bed_days: f64,
        rate: f64,
        /// The jurisdiction's pooled rate.
        target: f64,
        lower_99_8: f64,
        overdispersion_adjusted: bool,
    },
    Spc {
        summary: String,
        /// The run of improvement: first and last month.
        from: String,
        to: String,
        months: usize,
        /// The months the mean and limits come from.
        baseline: String,
        /// The chart's mean and the mean of the run.
        mean: f64,
        run_mean: f64,
        /// The rule that flagged the run's first month (NHSRplotthedots wording).
        signal: String,
        /// The organisation's change idea that started before the run ended, if any.
        change_idea: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeviantOptions {
    /// Months (the latest) the funnel pools.
    pub funnel_months: usize,
    /// Consecutive improving months that make a sustained improvement.
    pub sustained_months: usize,
}

impl Default for DeviantOptions {
    fn default() -> Self {
        DeviantOptions {
            funnel_months: 12,
            sustained_months: 7,
        }
    }
}

/// Funnel evidence: per jurisdiction, the latest `funnel_months` months pooled.
pub fn funnel_deviants(months: &[Month], options: &DeviantOptions) -> Vec<Deviant> {
    let mut by_jurisdiction: BTreeMap<&str, Vec<&Month>> = BTreeMap::new();
    for m in months {
        by_jurisdiction.entry(&m.jurisdiction).or_default().push(m);
    }
    let mut out = Vec::new();
    for (jurisdiction, rows) in by_jurisdiction {
        let mut periods: Vec<&str> = rows.iter().map(|m| m.period.as_str()).collect();
        periods.sort_unstable();
        periods.dedup();
        let keep: Vec<&str> = periods
            .iter()
            .rev()
            .take(options.funnel_months)
            .copied()
            .collect();
        let (from, to) = (
            keep.last().copied().unwrap_or(""),
            keep.first().copied().unwrap_or(""),
        );
        let mut pooled: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
        for m in rows.iter().filter(|m| keep.contains(&m.period.as_str())) {
            let e = pooled.entry(&m.org_code).or_default();
            e.0 += m.numerator;
            e.1 += m.denominator;
        }
        if pooled.len() < 3 {
            // A funnel of one or two organisations says nothing about either.
            continue;
        }
        let orgs: Vec<&str> = pooled.keys().copied().collect();
        let num: Vec<f64> = pooled.values().map(|v| v.0).collect();
        let den: Vec<f64> = pooled.values().map(|v| v.1).collect();
        let f = match funnel::funnel(
            &num,
            &den,
            &FunnelOptions {
                kind: FunnelType::Rate,
                od: Overdispersion::Spiegelhalter,
                trim: 0.1,
                multiplier: 1000.0,
            },
        ) {
            Ok(f) => f,
            Err(_) => continue,
        };
        for (i, u) in f.units.iter().enumerate() {
            let limits = if f.adjusted {
                u.od_limits.unwrap_or(u.limits)
            } else {
                u.limits
            };
            let (Some(value), Some(lower)) = (u.value, limits[1].0) else {
                continue;
            };
            if value < lower {
                out.push(Deviant {
                    org_code: orgs[i].to_string(),
                    indicator: INDICATOR.into(),
                    evidence: Evidence::Funnel {
                        summary: format!(
                            "{value:.2} seclusion events per 1,000 bed days in {from} to {to}, below the 99.8% funnel limit {lower:.2} around {jurisdiction}'s {:.2}",
                            f.target
                        ),
                        jurisdiction: jurisdiction.to_string(),
                        from: from.to_string(),
                        to: to.to_string(),
                        events: num[i],
                        bed_days: den[i],
                        rate: value,
                        target: f.target,
                        lower_99_8: lower,
                        overdispersion_adjusted: f.adjusted,
                    },
                });
            }
        }
    }
    out
}

/// SPC evidence: per organisation, the run of improvement that reaches the latest month.
pub fn spc_deviants(
    months: &[Month],
    change_ideas: &[crate::model::ChangeIdea],
    options: &DeviantOptions,
) -> Vec<Deviant> {
    let mut by_org: BTreeMap<&str, Vec<&Month>> = BTreeMap::new();
    for m in months {
        by_org.entry(&m.org_code).or_default().push(m);
    }
    let mut out = Vec::new();
    for (org, rows) in by_org {
        if rows.len() < 2 * options.sustained_months {
            continue;
        }
        let rates: Vec<f64> = rows.iter().map(|m| m.value(1000.0)).collect();
        // With a dated change idea and a year of data before it, the limits come from
        // the months before the change (the baseline the change is judged against), as a
        // QI team would freeze them; otherwise from every month.
        let months_before = |started: &str| {
            rows.iter()
                .filter(|m| started.get(..7).is_some_and(|s| m.period.as_str() < s))
                .count()
        };
        let idea = change_ideas
            .iter()
            .filter(|i| {
                let before = months_before(&i.started);
                i.org_code == org && before >= 12 && before + options.sustained_months <= rows.len()
            })
            .max_by(|a, b| a.started.cmp(&b.started));
        let freeze = idea.map(|i| months_before(&i.started));
        let chart = match spc::spc(
            &rates,
            None,
            &SpcOptions {
                chart: Chart::I,
                convention: Convention::Mdc,
                direction: Direction::Decrease,
                freeze,
                ..Default::default()
            },
        ) {
            Ok(c) => c,
            Err(_) => continue,
        };
        let improving = |p: &spc::Point| p.point_type == Some(PointType::SpecialCauseImprovement);
        let run = chart
            .points
            .iter()
            .rev()
            .take_while(|p| improving(p))
            .count();
        if run < options.sustained_months {
            continue;
        }
        let first = rows.len() - run;
        let (from, to) = (
            rows[first].period.clone(),
            rows[rows.len() - 1].period.clone(),
        );
        let mean = chart.points[0].cl.unwrap_or(f64::NAN);
        let run_mean = rates[first..].iter().sum::<f64>() / run as f64;
        let signal = chart.points[first]
            .special_cause_type
            .unwrap_or("")
            .to_string();
        // The change idea the baseline was frozen at, else the latest started by the end
        // of the run.
        let change_idea = idea
            .or_else(|| {
                change_ideas
                    .iter()
                    .filter(|i| {
                        i.org_code == org && i.started.get(..7).is_some_and(|m| m <= to.as_str())
                    })
                    .max_by(|a, b| a.started.cmp(&b.started))
            })
            .map(|i| format!("{} (from {})", i.title, i.started));
        let baseline = match freeze {
            Some(k) => format!("the {k} months before the change"),
            None => "every month".to_string(),
        };
        out.push(Deviant {
            org_code: org.to_string(),
            indicator: INDICATOR.into(),
            evidence: Evidence::Spc {
                summary: format!(
                    "{run} months of special-cause improvement from {from} to {to} ({signal}): {run_mean:.2} per 1,000 bed days against a mean of {mean:.2} over {baseline}{}",
                    change_idea.as_ref().map(|c| format!("; change idea: {c}")).unwrap_or_default()
                ),
                from,
                to,
                months: run,
                baseline,
                mean,
                run_mean,
                signal,
                change_idea,
            },
        });
    }
    out
}

/// Every positive deviant in the session's lake, by organisation then kind.
pub async fn find(
    ctx: &SessionContext,
    sources: &Sources<'_>,
    options: &DeviantOptions,
) -> Result<Vec<Deviant>, DeviantsError> {
    let months = crate::series::org_months(ctx, sources, INDICATOR, &[]).await?;
    let ideas = crate::ideas::from_lake(ctx, sources.catalog).await?;
    let mut out = funnel_deviants(&months, options);
    out.extend(spc_deviants(&months, &ideas, options));
    out.sort_by(|a, b| a.org_code.cmp(&b.org_code));
    Ok(out)
}
