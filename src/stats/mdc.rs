//! The NHS "Making Data Count" special-cause rules (as NHSRplotthedots applies them), in
//! precedence: a point outside the process limits; a seven-point trend; two of three
//! points beyond two thirds of the way to a limit, on one side; seven points in a row on
//! one side of the mean.

use serde::Serialize;

/// Which rule flagged a point (the highest in precedence wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    OutsideLimits,
    Trend,
    TwoInThree,
    Shift,
}

/// A point's special cause: its rule and whether it points up (above the mean, or part of
/// an increasing trend) or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag {
    pub rule: Rule,
    pub high: bool,
}

impl Flag {
    /// NHSRplotthedots' wording, e.g. `Above UCL`, `7 Point Trend (Increasing)`.
    pub fn label(self) -> &'static str {
        match (self.rule, self.high) {
            (Rule::OutsideLimits, true) => "Above UCL",
            (Rule::OutsideLimits, false) => "Below LCL",
            (Rule::Trend, true) => "7 Point Trend (Increasing)",
            (Rule::Trend, false) => "7 Point Trend (Decreasing)",
            (Rule::TwoInThree, true) => "2 in 3 Above CL",
            (Rule::TwoInThree, false) => "2 in 3 Below CL",
            (Rule::Shift, true) => "7 Points Above CL",
            (Rule::Shift, false) => "7 Points Below CL",
        }
    }
}

/// The lines a part's rules are read against.
#[derive(Debug, Clone, Copy)]
pub struct Lines {
    pub mean: f64,
    pub lpl: f64,
    pub upl: f64,
    /// Two thirds of the way from the mean to each limit.
    pub near_lower: f64,
    pub near_upper: f64,
}

const RUN: usize = 7;

/// The special cause of every point of one part (`None` = common cause).
pub fn flags(y: &[f64], lines: Lines) -> Vec<Option<Flag>> {
    let n = y.len();
    let side: Vec<i8> = y
        .iter()
        .map(|&v| {
            if v > lines.mean {
                1
            } else if v < lines.mean {
                -1
            } else {
                0
            }
        })
        .collect();
    let outside: Vec<bool> = y.iter().map(|&v| v > lines.upl || v < lines.lpl).collect();
    let close: Vec<bool> = y
        .iter()
        .zip(&outside)
        .map(|(&v, &out)| !out && (v < lines.near_lower || v > lines.near_upper))
        .collect();

    // Seven in a row on one side: flag the seventh, then every point of the run.
    let shift_end: Vec<bool> = (0..n)
        .map(|i| {
            i + 1 >= RUN && side[i] != 0 && side[i + 1 - RUN..=i].iter().all(|&s| s == side[i])
        })
        .collect();
    let shift = part_of_run(&shift_end);

    // Six consecutive strict rises (or falls) make a seven-point trend; a tie breaks it.
    let trend_end: Vec<bool> = (0..n)
        .map(|i| {
            i + 1 >= RUN && {
                let steps = (i + 2 - RUN..=i).map(|k| y[k] - y[k - 1]);
                let steps: Vec<f64> = steps.collect();
                steps.iter().all(|&d| d > 0.0) || steps.iter().all(|&d| d < 0.0)
            }
        })
        .collect();
    let trend = part_of_run(&trend_end);

    // Two of three beyond the two-thirds line, all three on one side; only the close
    // points themselves are flagged.
    let two_in_three: Vec<bool> = (0..n)
        .map(|i| {
            close[i]
                && (i.saturating_sub(2)..=i).any(|start| {
                    let end = start + 2;
                    end < n
                        && (start..=end).filter(|&k| close[k]).count() >= 2
                        && (start..=end).map(|k| side[k] as i32).sum::<i32>().abs() == 3
                })
        })
        .collect();

    (0..n)
        .map(|i| {
            if outside[i] {
                Some(Flag {
                    rule: Rule::OutsideLimits,
                    high: side[i] == 1,
                })
            } else if trend[i] {
                // A point inside a trend takes the direction of the step after it; the last
                // point of a trend, the step before it.
                let step = if i + 1 < n && trend[i + 1] {
                    y[i + 1] - y[i]
                } else if i > 0 {
                    y[i] - y[i - 1]
                } else {
                    0.0
                };
                Some(Flag {
                    rule: Rule::Trend,
                    high: step > 0.0,
                })
            } else if two_in_three[i] {
                Some(Flag {
                    rule: Rule::TwoInThree,
                    high: side[i] > 0,
                })
            } else if shift[i] {
                Some(Flag {
                    rule: Rule::Shift,
                    high: side[i] > 0,
                })
            } else {
                None
            }
        })
        .collect()
}

/// Marks every point of a run of seven given the points where such runs end.
fn part_of_run(ends: &[bool]) -> Vec<bool> {
    (0..ends.len())
        .map(|i| ends[i..(i + RUN).min(ends.len())].iter().any(|&e| e))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines() -> Lines {
        Lines {
            mean: 0.0,
            lpl: -3.0,
            upl: 3.0,
            near_lower: -2.0,
            near_upper: 2.0,
        }
    }

    #[test]
    fn a_tie_breaks_a_trend() {
        let y = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7];
        assert!(
            flags(&y, lines())
                .iter()
                .all(|f| f.map(|f| f.rule) == Some(Rule::Trend))
        );
        let y = [0.1, 0.2, 0.3, 0.3, 0.5, 0.6, 0.7];
        assert!(
            flags(&y, lines())
                .iter()
                .all(|f| f.map(|f| f.rule) != Some(Rule::Trend))
        );
    }

    #[test]
    fn a_point_on_the_mean_breaks_a_shift() {
        let y = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -1.0];
        let f = flags(&y, lines());
        assert!(
            f[..7]
                .iter()
                .all(|f| f.map(|f| f.rule) == Some(Rule::Shift))
        );
        assert_eq!(f[7], None);
        let y = [1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0];
        assert!(flags(&y, lines()).iter().all(Option::is_none));
    }

    #[test]
    fn two_in_three_flags_only_the_close_points() {
        let y = [0.0, 2.5, 1.0, 2.5, 0.0];
        let f = flags(&y, lines());
        assert_eq!(f[1].map(|f| f.rule), Some(Rule::TwoInThree));
        assert_eq!(f[2], None);
        assert_eq!(
            f[3].map(|f| (f.rule, f.high)),
            Some((Rule::TwoInThree, true))
        );
        // Opposite sides never count.
        assert!(
            flags(&[2.5, -2.5, 2.5], lines())
                .iter()
                .all(Option::is_none)
        );
    }
}
