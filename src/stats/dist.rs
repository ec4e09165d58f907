//! Quantiles of the distributions the methods need, from `statrs`, with the edge cases
//! (zero degrees of freedom, probabilities of 0 or 1) answered the way R answers them.

use statrs::distribution::{Beta, ChiSquared, Continuous, ContinuousCDF, Gamma, Normal};
use statrs::function::gamma::ln_gamma;

/// A few Newton steps on a quantile from `statrs`, whose own iteration stops at about
/// 1e-10: enough to agree with R to the 1e-8 the reference vectors ask for, but not to
/// spare. Upper quantiles are polished on the survival function, where `cdf − p` would
/// cancel.
fn polish<D: ContinuousCDF<f64, f64> + Continuous<f64, f64>>(
    d: &D,
    p: f64,
    mut x: f64,
    max: f64,
) -> f64 {
    for _ in 0..4 {
        let density = d.pdf(x);
        if !(density.is_finite() && density > 0.0) {
            break;
        }
        let excess = if p < 0.5 {
            d.cdf(x) - p
        } else {
            (1.0 - p) - d.sf(x)
        };
        let next = x - excess / density;
        if !(next.is_finite() && next > 0.0 && next < max) {
            break;
        }
        let step = (next - x).abs();
        x = next;
        if step <= 4.0 * f64::EPSILON * x {
            break;
        }
    }
    x
}

/// Standard normal quantile.
pub fn normal_quantile(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

/// Chi-square quantile; zero degrees of freedom is the point mass at 0 (as `qchisq`).
pub fn chisq_quantile(p: f64, df: f64) -> f64 {
    if df <= 0.0 || p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    match ChiSquared::new(df) {
        Ok(d) => polish(&d, p, d.inverse_cdf(p), f64::INFINITY),
        Err(_) => f64::NAN,
    }
}

/// Gamma quantile by shape and scale (as `qgamma(p, shape, scale = )`).
pub fn gamma_quantile(p: f64, shape: f64, scale: f64) -> f64 {
    if shape <= 0.0 || p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    match Gamma::new(shape, 1.0 / scale) {
        Ok(d) => polish(&d, p, d.inverse_cdf(p), f64::INFINITY),
        Err(_) => f64::NAN,
    }
}

/// Beta quantile.
pub fn beta_quantile(p: f64, a: f64, b: f64) -> f64 {
    let p = p.clamp(0.0, 1.0);
    match Beta::new(a, b) {
        Ok(d) if p > 0.0 && p < 1.0 => polish(&d, p, d.inverse_cdf(p), 1.0),
        Ok(d) => d.inverse_cdf(p),
        Err(_) => f64::NAN,
    }
}

/// The smallest `k` with `P(X <= k) >= p` for `X ~ Binomial(n, prob)`, as R's `qbinom`
/// (which allows the CDF to fall short of `p` by a relative 64 machine epsilons).
pub fn binomial_quantile(p: f64, n: u64, prob: f64) -> u64 {
    if n == 0 {
        return 0;
    }
    let target = p * (1.0 - 64.0 * f64::EPSILON);
    let (ln_p, ln_q) = (prob.ln(), (1.0 - prob).ln());
    let ln_n_fact = ln_gamma(n as f64 + 1.0);
    let mut cdf = 0.0;
    for k in 0..=n {
        let ln_pmf = ln_n_fact - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0)
            + k as f64 * ln_p
            + (n - k) as f64 * ln_q;
        cdf += ln_pmf.exp();
        if cdf >= target {
            return k;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use statrs::distribution::ContinuousCDF;

    #[test]
    fn binomial_quantile_matches_qbinom() {
        // qbinom(0.05, 19, 0.5) = 6; qbinom(0.05, 39, 0.5) = 14; qbinom(0.05, 0, 0.5) = 0
        assert_eq!(binomial_quantile(0.05, 19, 0.5), 6);
        assert_eq!(binomial_quantile(0.05, 39, 0.5), 14);
        assert_eq!(binomial_quantile(0.05, 0, 0.5), 0);
        assert_eq!(binomial_quantile(0.05, 5, 0.5), 1);
    }

    #[test]
    fn chisq_edges_follow_r() {
        assert_eq!(chisq_quantile(0.025, 0.0), 0.0);
        // qchisq(0.975, 2) / 2 = -log(0.025)
        let q = chisq_quantile(0.975, 2.0) / 2.0;
        assert!((q - 3.6888794541139363).abs() < 1e-13, "{q}");
        // A polished gamma quantile gives back its probability through the CDF.
        let g = gamma_quantile(0.025, 2.5, 3.0);
        let cdf = statrs::distribution::Gamma::new(2.5, 1.0 / 3.0)
            .unwrap()
            .cdf(g);
        assert!((cdf - 0.025).abs() < 1e-14, "{cdf}");
        // Beta(1, 8) has the closed-form quantile 1 − (1 − p)^(1/8).
        let b = beta_quantile(0.975, 1.0, 8.0);
        assert!((b - (1.0 - 0.025f64.powf(1.0 / 8.0))).abs() < 1e-14, "{b}");
    }
}
