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

/// A ratio of two proportions (a risk ratio) with its interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProportionRatio {
    /// `(a/na) / (b/nb)`; `None` when group b has no cases.
    pub ratio: Option<f64>,
    /// Katz's log-scale limits, `exp(ln RR ± z·√(1/a − 1/na + 1/b − 1/nb))`; `None` when
    /// either group has no cases (the log scale has no variance).
    pub limits: (Option<f64>, Option<f64>),
}

/// Ratio of the proportion `a` of `na` to `b` of `nb`: people, not person-time, so the
/// variance counts each group's non-cases too (Katz et al. 1978; epitools' `riskratio`
/// with `method = "wald"`).
pub fn proportion_ratio(
    a: f64,
    na: f64,
    b: f64,
    nb: f64,
    level: Level,
) -> Result<ProportionRatio, StatsError> {
    for (name, count, of) in [("a", a, na), ("b", b, nb)] {
        if !(count.is_finite() && count >= 0.0) {
            return Err(StatsError::invalid(format!(
                "count {name} = {count} is not 0 or more"
            )));
        }
        if !(of.is_finite() && of > 0.0) {
            return Err(StatsError::invalid(format!(
                "denominator n{name} = {of} is not above zero"
            )));
        }
        if count > of {
            return Err(StatsError::invalid(format!(
                "count {name} = {count} is more than its denominator {of}"
            )));
        }
    }
    let ratio = finite((a / na) / (b / nb));
    let limits = if a > 0.0 && b > 0.0 {
        let ln = ((a / na) / (b / nb)).ln();
        let se = (1.0 / a - 1.0 / na + 1.0 / b - 1.0 / nb).max(0.0).sqrt();
        let z = level.z();
        (finite((ln - z * se).exp()), finite((ln + z * se).exp()))
    } else {
        (None, None)
    };
    Ok(ProportionRatio { ratio, limits })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ratio_of_proportions_by_hand() {
        // 10 of 100 against 20 of 400: 0.1 / 0.05 = 2, and
        // se = √(1/10 − 1/100 + 1/20 − 1/400) = √0.1375.
        let r = proportion_ratio(10.0, 100.0, 20.0, 400.0, Level::P95).unwrap();
        assert_eq!(r.ratio, Some(2.0));
        let (z, se) = (Level::P95.z(), 0.1375f64.sqrt());
        let (lo, hi) = (r.limits.0.unwrap(), r.limits.1.unwrap());
        assert!((lo - 2.0 * (-z * se).exp()).abs() < 1e-12, "{lo}");
        assert!((hi - 2.0 * (z * se).exp()).abs() < 1e-12, "{hi}");
        // Worked out: z·se = 1.959964 × 0.370810 = 0.726773, so 0.966932 to 4.136795.
        assert!(
            (lo - 0.966_932).abs() < 1e-6 && (hi - 4.136_795).abs() < 1e-6,
            "{lo} {hi}"
        );
        // No cases in one group: a ratio or none, and no interval.
        let none = proportion_ratio(0.0, 100.0, 5.0, 100.0, Level::P95).unwrap();
        assert_eq!((none.ratio, none.limits), (Some(0.0), (None, None)));
        assert_eq!(
            proportion_ratio(5.0, 100.0, 0.0, 100.0, Level::P95)
                .unwrap()
                .ratio,
            None
        );
        assert!(proportion_ratio(101.0, 100.0, 5.0, 100.0, Level::P95).is_err());
    }
}
