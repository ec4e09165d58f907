//! Rates and proportions with confidence intervals, as PHEindicatormethods computes them:
//! exact (Garwood) Poisson limits below 10 events and Byar's approximation from 10 up;
//! Wilson score limits for proportions.

use serde::Serialize;

use super::{Level, StatsError, dist, finite};

/// Exact Poisson limits for a count (Garwood 1936, chi-square form).
pub fn exact_poisson(count: f64, level: Level) -> (f64, f64) {
    let a = level.alpha_half();
    let lower = if count > 0.0 {
        dist::chisq_quantile(a, 2.0 * count) / 2.0
    } else {
        0.0
    };
    let upper = dist::chisq_quantile(1.0 - a, 2.0 * (count + 1.0)) / 2.0;
    (lower, upper)
}

/// Byar's approximation to the Poisson limits. The lower limit is `None` when the
/// approximation breaks down (it goes below zero for one event at 99.8%).
pub fn byar(count: f64, level: Level) -> (Option<f64>, f64) {
    let z = level.z();
    let lower = if count > 0.0 {
        let b = 1.0 - 1.0 / (9.0 * count) - z / (3.0 * count.sqrt());
        (b >= 0.0).then(|| count * b.powi(3))
    } else {
        Some(0.0)
    };
    let c = count + 1.0;
    let upper = c * (1.0 - 1.0 / (9.0 * c) + z / (3.0 * c.sqrt())).powi(3);
    (lower, upper)
}

/// How a rate's interval was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RateMethod {
    Exact,
    Byar,
}

/// A count's Poisson interval by PHE's rule: exact below 10, Byar from 10.
pub fn count_interval(count: f64, level: Level) -> (Option<f64>, Option<f64>, RateMethod) {
    if count < 10.0 {
        let (lo, hi) = exact_poisson(count, level);
        (Some(lo), Some(hi), RateMethod::Exact)
    } else {
        let (lo, hi) = byar(count, level);
        (lo, Some(hi), RateMethod::Byar)
    }
}

/// A value with its interval at one level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub level: Level,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rate {
    pub value: Option<f64>,
    pub intervals: Vec<Interval>,
    pub method: RateMethod,
}

fn check_count(count: f64, denominator: f64) -> Result<(), StatsError> {
    if !(count.is_finite() && count >= 0.0) {
        return Err(StatsError::invalid(format!(
            "count {count} is not a number of 0 or more"
        )));
    }
    if !(denominator.is_finite() && denominator > 0.0) {
        return Err(StatsError::invalid(format!(
            "denominator {denominator} is not above zero"
        )));
    }
    Ok(())
}

/// `count / denominator × multiplier` with its Poisson interval at each level.
pub fn rate(
    count: f64,
    denominator: f64,
    levels: &[Level],
    multiplier: f64,
) -> Result<Rate, StatsError> {
    check_count(count, denominator)?;
    let scale = multiplier / denominator;
    let mut method = RateMethod::Exact;
    let intervals = levels
        .iter()
        .map(|&level| {
            let (lo, hi, m) = count_interval(count, level);
            method = m;
            Interval {
                level,
                lower: lo.and_then(|v| finite(v * scale)),
                upper: hi.and_then(|v| finite(v * scale)),
            }
        })
        .collect();
    Ok(Rate {
        value: finite(count * scale),
        intervals,
        method,
    })
}

/// Wilson score interval for `count` successes of `denominator`.
pub fn wilson(count: f64, denominator: f64, level: Level) -> (f64, f64) {
    let z = level.z();
    let p = count / denominator;
    let z2 = z * z;
    let root = z * (z2 + 4.0 * count * (1.0 - p)).sqrt();
    let lower = (2.0 * count + z2 - root) / (2.0 * (denominator + z2));
    let upper = (2.0 * count + z2 + root) / (2.0 * (denominator + z2));
    (lower.max(0.0), upper.min(1.0))
}

/// `count / denominator × multiplier` with Wilson intervals.
pub fn proportion(
    count: f64,
    denominator: f64,
    levels: &[Level],
    multiplier: f64,
) -> Result<(Option<f64>, Vec<Interval>), StatsError> {
    check_count(count, denominator)?;
    if count > denominator {
        return Err(StatsError::invalid(format!(
            "count {count} is more than its denominator {denominator}"
        )));
    }
    let intervals = levels
        .iter()
        .map(|&level| {
            let (lo, hi) = wilson(count, denominator, level);
            Interval {
                level,
                lower: finite(lo * multiplier),
                upper: finite(hi * multiplier),
            }
        })
        .collect();
    Ok((finite(count / denominator * multiplier), intervals))
}
