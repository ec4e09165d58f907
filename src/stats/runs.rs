//! Anhøj runs analysis (qicharts2): a run chart or control chart shows non-random
//! variation when its longest run is too long or it crosses its centre line too rarely.

use serde::Serialize;

use super::dist;

/// The runs analysis of one chart part.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Runs {
    /// Points not on the centre line (and not missing).
    pub n_useful: usize,
    pub longest_run: Option<usize>,
    pub longest_run_max: Option<usize>,
    pub n_crossings: Option<usize>,
    pub n_crossings_min: Option<usize>,
    pub signal: bool,
}

/// Longest run a random process shows with n useful points: `round(log2(n)) + 3`
/// (Schilling 2012).
pub fn longest_run_max(n_useful: usize) -> usize {
    // log2(n) is never exactly k + 0.5 for whole n, so R's round-half-even agrees with
    // ordinary rounding here.
    (n_useful as f64).log2().round() as usize + 3
}

/// Fewest crossings a random process shows: the 5th percentile of Binomial(n − 1, ½)
/// (Chen 2010).
pub fn crossings_min(n_useful: usize) -> usize {
    dist::binomial_quantile(0.05, n_useful.saturating_sub(1) as u64, 0.5) as usize
}

/// Runs analysis of `y` about `cl` (both in time order; NaN is a missing point). Points on
/// the centre line are neither above nor below it and are left out, as are missing ones.
pub fn analyse(y: &[f64], cl: &[f64]) -> Runs {
    let sides: Vec<i8> = y
        .iter()
        .zip(cl)
        .filter_map(|(&y, &c)| {
            let d = y - c;
            if d.is_nan() || d == 0.0 {
                None
            } else {
                Some(if d > 0.0 { 1 } else { -1 })
            }
        })
        .collect();
    let n_useful = sides.len();
    if n_useful == 0 {
        return Runs {
            n_useful,
            longest_run: None,
            longest_run_max: None,
            n_crossings: None,
            n_crossings_min: None,
            signal: false,
        };
    }
    let mut longest = 1;
    let mut current = 1;
    let mut crossings = 0;
    for pair in sides.windows(2) {
        if pair[0] == pair[1] {
            current += 1;
            longest = longest.max(current);
        } else {
            crossings += 1;
            current = 1;
        }
    }
    let max = longest_run_max(n_useful);
    let min = crossings_min(n_useful);
    Runs {
        n_useful,
        longest_run: Some(longest),
        longest_run_max: Some(max),
        n_crossings: Some(crossings),
        n_crossings_min: Some(min),
        signal: longest > max || crossings < min,
    }
}

/// Median with NaN left out (R's `median(na.rm = TRUE)`).
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.into_iter().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}
