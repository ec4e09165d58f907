//! An indicator's monthly series per organisation, read raw from the lake: what
//! positive deviance and change ideas are judged on. Never shown as it is: outputs draw
//! their charts from the protected tables of `dashboard::view`.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::prelude::SessionContext;

use crate::catalog::CatalogError;
use crate::derived::{self, DerivedError, Sources};
use crate::table::string_column;

#[derive(Debug, thiserror::Error)]
pub enum SeriesError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Derived(#[from] Box<DerivedError>),
    #[error("reading {indicator}: {source}")]
    Arrow {
        indicator: String,
        source: datafusion::arrow::error::ArrowError,
    },
}

/// One organisation-month of an indicator.
#[derive(Debug, Clone, PartialEq)]
pub struct Month {
    pub org_code: String,
    pub jurisdiction: String,
    pub period: String,
    pub numerator: f64,
    pub denominator: f64,
}

impl Month {
    /// The rate, scaled as the indicator shows it (per 1,000 bed days, per cent).
    pub fn value(&self, multiplier: f64) -> f64 {
        self.numerator * multiplier / self.denominator
    }
}

/// Every organisation's months of `indicator` at organisation level, by organisation then
/// month; of the rows whose columns equal `keep` (for example `ethnicity = all`).
pub async fn org_months(
    ctx: &SessionContext,
    sources: &Sources<'_>,
    indicator: &str,
    keep: &[(&str, &str)],
) -> Result<Vec<Month>, SeriesError> {
    let ind = sources.catalog.get(indicator)?;
    let batches = derived::run(ctx, ind, &[], sources)
        .await
        .map_err(Box::new)?;
    let arrow = |source| SeriesError::Arrow {
        indicator: indicator.to_string(),
        source,
    };
    let mut out = Vec::new();
    for b in &batches {
        let codes = string_column(b, "org_code").map_err(arrow)?;
        let periods = string_column(b, "period").map_err(arrow)?;
        // The indicator carries each organisation's jurisdiction at its org level.
        let jurisdictions = string_column(b, "jurisdiction").map_err(arrow)?;
        let kept = keep
            .iter()
            .map(|(c, v)| Ok((string_column(b, c)?, *v)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(arrow)?;
        let number = |name: &str| {
            cast(
                b.column_by_name(name).expect("indicator column"),
                &DataType::Float64,
            )
            .map_err(arrow)
        };
        let (num, den) = (number("numerator")?, number("denominator")?);
        let (num, den) = (
            num.as_primitive::<Float64Type>(),
            den.as_primitive::<Float64Type>(),
        );
        for i in 0..b.num_rows() {
            // Months whose extract never arrived (null numerator) or without a
            // denominator are not months of evidence.
            if num.is_null(i) || den.is_null(i) || den.value(i) <= 0.0 {
                continue;
            }
            if kept.iter().any(|(c, v)| c.is_null(i) || c.value(i) != *v) {
                continue;
            }
            out.push(Month {
                jurisdiction: jurisdictions.value(i).to_string(),
                org_code: codes.value(i).to_string(),
                period: periods.value(i).to_string(),
                numerator: num.value(i),
                denominator: den.value(i),
            });
        }
    }
    out.sort_by(|a, b| (&a.org_code, &a.period).cmp(&(&b.org_code, &b.period)));
    Ok(out)
}
