//! Funnel plots: each organisation's value against control limits that narrow as its
//! denominator grows, optionally widened for overdispersion (Spiegelhalter 2005), as
//! FunnelPlotR draws them, with its square-root back-transformation corrected.
//!
//! * `ratio`: observed over expected counts (an indirectly standardised ratio), centre 1.
//! * `rate`: events over exposure (e.g. per bed day), centre the pooled rate; the limits
//!   are those of a ratio whose expected count is pooled rate × exposure.
//! * `proportion`: centre the pooled proportion; limits on the arcsine scale, as
//!   FunnelPlotR (an approximation to exact binomial limits, close from n ≈ 10).

use serde::Serialize;

use super::{Level, StatsError, dist, finite};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FunnelType {
    Ratio,
    Rate,
    Proportion,
}

/// How overdispersion is estimated and allowed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Overdispersion {
    /// Plain sampling-error limits.
    None,
    /// NHS Digital's SHMI method: z on the log scale, the top and bottom `trim` of
    /// ranks truncated before φ is estimated (ratios and rates only).
    Shmi,
    /// Spiegelhalter's: z on the square-root (ratios, rates) or arcsine (proportions)
    /// scale, winsorised at the `trim` and `1 − trim` quantiles.
    Spiegelhalter,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FunnelOptions {
    pub kind: FunnelType,
    pub od: Overdispersion,
    pub trim: f64,
    pub multiplier: f64,
}

impl Default for FunnelOptions {
    fn default() -> Self {
        FunnelOptions {
            kind: FunnelType::Ratio,
            od: Overdispersion::None,
            trim: 0.1,
            multiplier: 1.0,
        }
    }
}

/// Lower and upper limit; `None` for a limit that does not exist (an upper limit with no
/// expected events).
pub type Limits = (Option<f64>, Option<f64>);

#[derive(Debug, Clone, PartialEq)]
pub struct FunnelUnit {
    pub value: Option<f64>,
    pub z: Option<f64>,
    /// Sampling-error limits at 95% and 99.8%.
    pub limits: [Limits; 2],
    /// Overdispersion-adjusted limits (equal to `limits` when no overdispersion was
    /// found); `None` when no method was asked for.
    pub od_limits: Option<[Limits; 2]>,
    /// Outside the limits in force (adjusted ones when overdispersion was found).
    pub outlier: [bool; 2],
    /// Left out of φ by the SHMI truncation.
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Funnel {
    pub target: f64,
    pub phi: Option<f64>,
    pub tau2: Option<f64>,
    /// Whether the adjusted limits differ from the plain ones (τ² > 0).
    pub adjusted: bool,
    pub units: Vec<FunnelUnit>,
}

/// The funnel's two levels (**contract**: `95` and `99_8`).
pub const LEVELS: [Level; 2] = [Level::P95, Level::P998];

/// Exact Poisson limits for an observed/expected ratio with `expected` events.
pub fn poisson_ratio_limits(expected: f64, level: Level) -> Limits {
    let a = level.alpha_half();
    let lower = dist::chisq_quantile(a, 2.0 * expected) / (2.0 * expected);
    let upper = dist::chisq_quantile(1.0 - a, 2.0 * (expected + 1.0)) / (2.0 * expected);
    (finite(lower), finite(upper))
}

fn arcsine_limits(target: f64, se: f64, z: f64) -> Limits {
    let centre = target.sqrt().asin();
    let back = |angle: f64| finite(angle.clamp(0.0, std::f64::consts::FRAC_PI_2).sin().powi(2));
    (back(centre - z * se), back(centre + z * se))
}

/// Draws the funnel. `denominators` are the expected counts for ratios, the exposure for
/// rates and the number of cases for proportions.
pub fn funnel(
    numerators: &[f64],
    denominators: &[f64],
    o: &FunnelOptions,
) -> Result<Funnel, StatsError> {
    validate(numerators, denominators, o)?;
    let m = o.multiplier;
    let proportion = o.kind == FunnelType::Proportion;
    let target = match o.kind {
        FunnelType::Ratio => 1.0,
        FunnelType::Rate | FunnelType::Proportion => {
            numerators.iter().sum::<f64>() / denominators.iter().sum::<f64>()
        }
    };
    // Expected events at the centre line: what the Poisson limits and z-scores read.
    let expected: Vec<f64> = denominators
        .iter()
        .map(|d| {
            if o.kind == FunnelType::Ratio {
                *d
            } else {
                d * target
            }
        })
        .collect();
    let values: Vec<f64> = numerators
        .iter()
        .zip(denominators)
        .map(|(n, d)| n / d)
        .collect();

    // z-scores and their within-unit standard errors on the transformed scale.
    let (z, se): (Vec<Option<f64>>, Vec<f64>) = numerators
        .iter()
        .zip(denominators)
        .zip(&expected)
        .map(|((&obs, &den), &exp)| {
            if proportion {
                let se = 1.0 / (2.0 * den.sqrt());
                (
                    finite(((obs / den).sqrt().asin() - target.sqrt().asin()) / se),
                    se,
                )
            } else if o.od == Overdispersion::Shmi {
                (finite(exp.sqrt() * (obs / exp).ln()), 1.0 / exp.sqrt())
            } else {
                (
                    finite(2.0 * (obs.sqrt() - exp.sqrt())),
                    1.0 / (2.0 * exp.sqrt()),
                )
            }
        })
        .unzip();

    let (phi, tau2, truncated) = match o.od {
        Overdispersion::None => (None, None, vec![false; z.len()]),
        Overdispersion::Shmi => {
            let truncated = truncate(&z, o.trim);
            let kept: Vec<(f64, f64)> = z
                .iter()
                .zip(&se)
                .zip(&truncated)
                .filter_map(|((z, s), t)| (!t).then_some((*z)?).map(|z| (z, *s)))
                .collect();
            let (phi, tau2) = dispersion(&kept);
            (Some(phi), Some(tau2), truncated)
        }
        Overdispersion::Spiegelhalter => {
            let winsorised = winsorise(&z, o.trim);
            let all: Vec<(f64, f64)> = winsorised
                .iter()
                .zip(&se)
                .filter_map(|(z, s)| z.map(|z| (z, *s)))
                .collect();
            let (phi, tau2) = dispersion(&all);
            (Some(phi), Some(tau2), vec![false; z.len()])
        }
    };
    let adjusted = tau2.is_some_and(|t| t > 0.0);
    let scale = if proportion { m } else { target * m };

    let units = (0..values.len())
        .map(|i| {
            let limits = LEVELS.map(|level| {
                if proportion {
                    scaled(arcsine_limits(target, se[i], level.z()), m)
                } else {
                    scaled(poisson_ratio_limits(expected[i], level), scale)
                }
            });
            let od_limits = match (o.od, tau2) {
                (Overdispersion::None, _) | (_, None) => None,
                (_, Some(t)) if t <= 0.0 => Some(limits),
                (od, Some(t)) => Some(LEVELS.map(|level| {
                    let zl = level.z();
                    if proportion {
                        scaled(arcsine_limits(target, (se[i] * se[i] + t).sqrt(), zl), m)
                    } else if od == Overdispersion::Shmi {
                        let spread = (1.0 / expected[i] + t).sqrt();
                        scaled(
                            (finite((-zl * spread).exp()), finite((zl * spread).exp())),
                            scale,
                        )
                    } else {
                        // Back to the ratio scale by squaring: the square root of a ratio
                        // below zero does not exist, so the lower limit stops at zero.
                        let spread = (se[i] * se[i] + t).sqrt();
                        let lower = (1.0 - zl * spread).max(0.0).powi(2);
                        let upper = (1.0 + zl * spread).powi(2);
                        scaled((finite(lower), finite(upper)), scale)
                    }
                })),
            };
            let value = finite(values[i] * m);
            let in_force = if adjusted {
                od_limits.unwrap_or(limits)
            } else {
                limits
            };
            let outlier = in_force.map(|(lo, hi)| match value {
                Some(v) => lo.is_some_and(|lo| v < lo) || hi.is_some_and(|hi| v > hi),
                None => false,
            });
            FunnelUnit {
                value,
                z: z[i],
                limits,
                od_limits,
                outlier,
                truncated: truncated[i],
            }
        })
        .collect();
    Ok(Funnel {
        target: target * m,
        phi,
        tau2,
        adjusted,
        units,
    })
}

fn scaled((lo, hi): Limits, by: f64) -> Limits {
    (
        lo.and_then(|v| finite(v * by)),
        hi.and_then(|v| finite(v * by)),
    )
}

fn validate(numerators: &[f64], denominators: &[f64], o: &FunnelOptions) -> Result<(), StatsError> {
    if numerators.is_empty() || numerators.len() != denominators.len() {
        return Err(StatsError::invalid(
            "a funnel needs at least one unit with a numerator and a denominator",
        ));
    }
    if !(o.trim > 0.0 && o.trim < 0.5) {
        return Err(StatsError::invalid(format!(
            "trim {} is not between 0 and 0.5",
            o.trim
        )));
    }
    if !(o.multiplier.is_finite() && o.multiplier > 0.0) {
        return Err(StatsError::invalid("multiplier must be a positive number"));
    }
    if o.kind == FunnelType::Proportion && o.od == Overdispersion::Shmi {
        return Err(StatsError::invalid(
            "the shmi method works on the log scale of ratios and rates; for proportions use spiegelhalter",
        ));
    }
    for (i, (&n, &d)) in numerators.iter().zip(denominators).enumerate() {
        if !(n.is_finite() && n >= 0.0) {
            return Err(StatsError::invalid(format!(
                "unit {}: numerator {n} is not 0 or more",
                i + 1
            )));
        }
        if !(d.is_finite() && d > 0.0) {
            return Err(StatsError::invalid(format!(
                "unit {}: denominator {d} is not above zero",
                i + 1
            )));
        }
        if o.kind == FunnelType::Proportion && n > d {
            return Err(StatsError::invalid(format!(
                "unit {}: numerator {n} is more than its denominator {d}",
                i + 1
            )));
        }
    }
    Ok(())
}

/// φ = mean z² and τ² = (nφ − (n − 1)) / (Σw − Σw²/Σw), w = 1/s², floored at 0.
fn dispersion(z_and_se: &[(f64, f64)]) -> (f64, f64) {
    let n = z_and_se.len() as f64;
    if n == 0.0 {
        return (f64::NAN, 0.0);
    }
    let phi = z_and_se.iter().map(|(z, _)| z * z).sum::<f64>() / n;
    let w: Vec<f64> = z_and_se.iter().map(|(_, s)| 1.0 / (s * s)).collect();
    let sw: f64 = w.iter().sum();
    let sw2: f64 = w.iter().map(|w| w * w).sum();
    let tau2 = if n * phi < n - 1.0 {
        0.0
    } else {
        ((n * phi - (n - 1.0)) / (sw - sw2 / sw)).max(0.0)
    };
    (phi, if tau2.is_finite() { tau2 } else { 0.0 })
}

/// SHMI truncation: ranks (ties averaged) cut into 1/trim groups; the lowest and highest
/// groups are left out.
fn truncate(z: &[Option<f64>], trim: f64) -> Vec<bool> {
    let present: Vec<f64> = z.iter().flatten().copied().collect();
    let k = 1.0 / trim;
    let n = present.len() as f64;
    z.iter()
        .map(|zi| match zi {
            None => true,
            Some(v) => {
                let below = present.iter().filter(|&&p| p < *v).count() as f64;
                let equal = present.iter().filter(|&&p| p == *v).count() as f64;
                let rank = below + (equal + 1.0) / 2.0;
                let group = (rank * k / (n + 1.0)).floor();
                !(group > 0.0 && group < k - 1.0)
            }
        })
        .collect()
}

/// Winsorises at R's type-7 quantiles `trim` and `1 − trim`.
fn winsorise(z: &[Option<f64>], trim: f64) -> Vec<Option<f64>> {
    let mut sorted: Vec<f64> = z.iter().flatten().copied().collect();
    if sorted.is_empty() {
        return z.to_vec();
    }
    sorted.sort_by(f64::total_cmp);
    let (lo, hi) = (quantile7(&sorted, trim), quantile7(&sorted, 1.0 - trim));
    z.iter().map(|v| v.map(|v| v.clamp(lo, hi))).collect()
}

fn quantile7(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let (lo, frac) = (h.floor() as usize, h - h.floor());
    if lo + 1 < sorted.len() {
        sorted[lo] + frac * (sorted[lo + 1] - sorted[lo])
    } else {
        sorted[lo]
    }
}
