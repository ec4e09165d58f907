//! Quantiles of the distributions the methods need, from `statrs`, with the edge cases
//! (zero degrees of freedom, probabilities of 0 or 1) answered the way R answers them.

use statrs::distribution::{Beta, ChiSquared, ContinuousCDF, Gamma, Normal};
use statrs::function::gamma::ln_gamma;

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
        Ok(d) => d.inverse_cdf(p),
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
        Ok(d) => d.inverse_cdf(p),
        Err(_) => f64::NAN,
    }
}

/// Beta quantile.
pub fn beta_quantile(p: f64, a: f64, b: f64) -> f64 {
    match Beta::new(a, b) {
        Ok(d) => d.inverse_cdf(p.clamp(0.0, 1.0)),
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
        assert!((chisq_quantile(0.975, 2.0) / 2.0 - 3.6888794541139363).abs() < 1e-10);
    }
}
