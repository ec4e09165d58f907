//! Rate ratios (for example Māori vs non-Māori): Wald limits on the log scale, and exact
//! conditional limits from the binomial split of the events (Clopper–Pearson).

use super::{Level, StatsError, dist, finite};

#[derive(Debug, Clone, PartialEq)]
pub struct RateRatio {
    /// `(a/pa) / (b/pb)`; `None` when group b has no events (the ratio is unbounded).
    pub rr: Option<f64>,
    /// Wald limits; `None` when either count is zero (the log scale has no variance).
    pub wald: (Option<f64>, Option<f64>),
    /// Exact conditional limits; the upper is `None` when b has no events.
    pub exact: (Option<f64>, Option<f64>),
}

/// Ratio of the rate `a` events over `pa` to `b` events over `pb`.
pub fn rate_ratio(a: f64, pa: f64, b: f64, pb: f64, level: Level) -> Result<RateRatio, StatsError> {
    for (name, count) in [("a", a), ("b", b)] {
        if !(count.is_finite() && count >= 0.0) {
            return Err(StatsError::invalid(format!(
                "count {name} = {count} is not 0 or more"
            )));
        }
    }
    for (name, person_time) in [("pa", pa), ("pb", pb)] {
        if !(person_time.is_finite() && person_time > 0.0) {
            return Err(StatsError::invalid(format!(
                "denominator {name} = {person_time} is not above zero"
            )));
        }
    }
    let rr = finite((a / pa) / (b / pb));
    let z = level.z();
    let wald = if a > 0.0 && b > 0.0 {
        let ln = ((a / pa) / (b / pb)).ln();
        let se = (1.0 / a + 1.0 / b).sqrt();
        (finite((ln - z * se).exp()), finite((ln + z * se).exp()))
    } else {
        (None, None)
    };
    let exact = if a + b == 0.0 {
        (None, None)
    } else {
        let alpha = level.alpha_half();
        let odds_to_rr = |pi: f64| finite(pi / (1.0 - pi) * pb / pa);
        let lower = if a > 0.0 {
            odds_to_rr(dist::beta_quantile(alpha, a, b + 1.0))
        } else {
            Some(0.0)
        };
        let upper = if b > 0.0 {
            odds_to_rr(dist::beta_quantile(1.0 - alpha, a + 1.0, b))
        } else {
            None
        };
        (lower, upper)
    };
    Ok(RateRatio { rr, wald, exact })
}
