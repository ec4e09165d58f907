//! Directly age-standardised rates: the Dobson interval PHE publishes, and the Fay–Feuer
//! gamma interval (epitools' `ageadjust.direct`), which stays honest for small counts.

use super::rates::{Interval, byar};
use super::{Level, StatsError, dist, finite};

/// One unit's standardised rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Dsr {
    pub total_count: f64,
    pub total_population: f64,
    /// The standardised rate × multiplier; always given.
    pub value: f64,
    /// The unscaled rate (per person) and its variance.
    pub rate: f64,
    pub variance: f64,
    /// Dobson limits; `None` when the total count is below 10 (PHE withholds them).
    pub dobson: Vec<Interval>,
    /// Fay–Feuer gamma limits.
    pub gamma: Vec<Interval>,
}

/// The DSR of counts and populations by age band, with `weights` the standard population
/// in the same band order.
pub fn dsr(
    counts: &[f64],
    populations: &[f64],
    weights: &[f64],
    levels: &[Level],
    multiplier: f64,
) -> Result<Dsr, StatsError> {
    if counts.len() != weights.len() || populations.len() != weights.len() {
        return Err(StatsError::invalid(format!(
            "{} age bands of counts and {} of population for a standard of {}",
            counts.len(),
            populations.len(),
            weights.len()
        )));
    }
    for (i, (&c, &p)) in counts.iter().zip(populations).enumerate() {
        if !(c.is_finite() && c >= 0.0) {
            return Err(StatsError::invalid(format!(
                "band {}: count {c} is not 0 or more",
                i + 1
            )));
        }
        if !(p.is_finite() && p > 0.0) {
            return Err(StatsError::invalid(format!(
                "band {}: population {p} is not above zero",
                i + 1
            )));
        }
    }
    let total_weight: f64 = weights.iter().sum();
    if total_weight.is_nan() || total_weight <= 0.0 {
        return Err(StatsError::invalid(
            "the standard population's weights sum to zero",
        ));
    }
    let w: Vec<f64> = weights.iter().map(|w| w / total_weight).collect();
    let value: f64 = w
        .iter()
        .zip(counts.iter().zip(populations))
        .map(|(w, (c, p))| w * c / p)
        .sum();
    let variance: f64 = w
        .iter()
        .zip(counts.iter().zip(populations))
        .map(|(w, (c, p))| w * w * c / (p * p))
        .sum();
    let total_count: f64 = counts.iter().sum();
    let total_population: f64 = populations.iter().sum();
    let wm = w
        .iter()
        .zip(populations)
        .map(|(w, p)| w / p)
        .fold(0.0, f64::max);

    let dobson = levels
        .iter()
        .map(|&level| {
            let (lower, upper) = if total_count < 10.0 {
                (None, None)
            } else {
                let (lo, hi) = byar(total_count, level);
                let k = (variance / total_count).sqrt();
                (
                    lo.map(|lo| (value + k * (lo - total_count)) * multiplier),
                    Some((value + k * (hi - total_count)) * multiplier),
                )
            };
            Interval {
                level,
                lower: lower.and_then(finite),
                upper: upper.and_then(finite),
            }
        })
        .collect();

    let gamma = levels
        .iter()
        .map(|&level| {
            let a = level.alpha_half();
            let lower = if value > 0.0 {
                dist::gamma_quantile(a, value * value / variance, variance / value)
            } else {
                0.0
            };
            let (v2, y2) = (variance + wm * wm, value + wm);
            let upper = dist::gamma_quantile(1.0 - a, y2 * y2 / v2, v2 / y2);
            Interval {
                level,
                lower: finite(lower * multiplier),
                upper: finite(upper * multiplier),
            }
        })
        .collect();

    Ok(Dsr {
        total_count,
        total_population,
        value: value * multiplier,
        rate: value,
        variance,
        dobson,
        gamma,
    })
}

/// Ratio of two DSRs with log-scale limits: SE = √(var₁/DSR₁² + var₂/DSR₂²). Limits are
/// `None` when either rate is zero (no log-scale variance).
pub fn dsr_ratio(
    numerator: &Dsr,
    denominator: &Dsr,
    level: Level,
) -> (Option<f64>, Option<f64>, Option<f64>) {
    let (r1, r2) = (numerator.rate, denominator.rate);
    let ratio = finite(r1 / r2);
    if !(r1 > 0.0 && r2 > 0.0) {
        return (ratio, None, None);
    }
    let se = (numerator.variance / (r1 * r1) + denominator.variance / (r2 * r2)).sqrt();
    let ln = (r1 / r2).ln();
    let z = level.z();
    (
        ratio,
        finite((ln - z * se).exp()),
        finite((ln + z * se).exp()),
    )
}
