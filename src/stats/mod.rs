//! Statistics for quality improvement: control charts, funnel plots, rates, standardisation
//! and ratios. Pure functions over slices and plain structs; no I/O.
//!
//! Each method follows the package QI analysts already trust (qicharts2, NHSRplotthedots,
//! FunnelPlotR, PHEindicatormethods, epitools), and `tests/it/reference.rs` holds it to the
//! vectors those packages produced. Where ako departs from a package the function's
//! documentation says so and why.

pub mod dist;
pub mod dsr;
pub mod funnel;
pub mod level;
pub mod mdc;
pub mod rates;
pub mod ratio;
pub mod runs;
pub mod spc;

pub use level::Level;

/// Input a method cannot work with. Positions are 1-based, as an analyst counts rows.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    #[error("{0}")]
    Invalid(String),
}

impl StatsError {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        StatsError::Invalid(message.into())
    }
}

/// `Some(x)` when `x` is a finite number: infinities and NaN become "no value", which is
/// how they are written (null) rather than as a number nobody can use.
pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}
