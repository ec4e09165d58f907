//! What an organisation's own Making Data Count chart shows after a change idea started,
//! and the rebase ako proposes when a sustained shift follows.
//!
//! The chart is an XmR (I) chart of the monthly rate, lower is better, with its limits
//! from the months before the idea (the baseline the change is judged against). A
//! *sustained* improvement is the shift rule: seven or more consecutive months below the
//! baseline mean, starting in or after the idea's month. Then the limits of the process
//! the change made are those of the months from the shift on, and ako proposes to
//! restart the chart there. An analyst decides; nothing is rebased automatically.

use serde::Serialize;

use crate::stats::mdc::{Flag, Rule};
use crate::stats::spc::{self, Chart, Convention, Direction, PointType, SpcOptions};

/// Months before the idea the baseline needs (Making Data Count asks for 12 to 20).
pub const MIN_BASELINE: usize = 12;
/// Consecutive months on one side of the mean that make a shift.
pub const SHIFT: usize = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A shift below the baseline mean after the idea.
    SustainedImprovement,
    /// A special cause of concern after the idea, and no sustained improvement.
    Concern,
    /// Common-cause variation (or improvement that has not lasted) so far.
    NoSignalYet,
    /// Too few months before the idea to judge it against.
    NoBaseline,
}

/// The months a signal covers and the rule that names it (NHSRplotthedots wording).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Signal {
    pub rule: String,
    pub from: String,
    pub to: String,
    pub months: usize,
}

/// The limits of the process from the shift on: what the chart would draw if the
/// proposal were accepted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proposal {
    /// The first month of the shift: where the limits would restart.
    pub period: String,
    pub mean: f64,
    pub lower: f64,
    pub upper: f64,
    /// Months the proposed limits come from (fewer than 12 makes them provisional).
    pub months: usize,
}

/// What one indicator's chart shows after one idea.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    pub indicator: String,
    pub verdict: Verdict,
    /// Months of data from the idea's month on.
    pub months_after: usize,
    /// Months the limits come from.
    pub baseline_months: usize,
    pub baseline_mean: Option<f64>,
    pub signal: Option<Signal>,
    pub proposal: Option<Proposal>,
    pub sentence: String,
}

/// Judges `series` (months `YYYY-MM`, ascending, with their values) after an idea that
/// started on `started` (`YYYY-MM-DD`). The sentence holds no number of the data: a
/// mean over months would let whoever sees the shown months solve for a withheld one,
/// so the means and limits are separate fields that only analysts receive.
pub fn assess(indicator: &str, series: &[(String, f64)], started: &str) -> Assessment {
    let month = started.get(..7).unwrap_or(started);
    let before = series
        .iter()
        .take_while(|(p, _)| p.as_str() < month)
        .count();
    let after = series.len() - before;
    let mut a = Assessment {
        indicator: indicator.to_string(),
        verdict: Verdict::NoBaseline,
        months_after: after,
        baseline_months: before,
        baseline_mean: None,
        signal: None,
        proposal: None,
        sentence: String::new(),
    };
    if before < MIN_BASELINE {
        a.sentence = format!(
            "{before} month(s) of data before the idea: a baseline needs {MIN_BASELINE}, so the chart cannot judge it."
        );
        return a;
    }
    let values: Vec<f64> = series.iter().map(|(_, v)| *v).collect();
    let options = |part: Vec<usize>, freeze: Option<usize>| SpcOptions {
        chart: Chart::I,
        convention: Convention::Mdc,
        direction: Direction::Decrease,
        freeze,
        part,
        ..Default::default()
    };
    let Ok(chart) = spc::spc(&values, None, &options(Vec::new(), Some(before))) else {
        a.sentence = "The chart cannot be calculated for these months.".into();
        return a;
    };
    let mean = chart.points[0].cl.unwrap_or(f64::NAN);
    a.baseline_mean = Some(mean);
    a.verdict = Verdict::NoSignalYet;
    let period = |i: usize| series[i].0.clone();
    if let Some((start, end)) =
        first_shift(&values[before..], mean).map(|(s, e)| (s + before, e + before))
    {
        let months = end - start + 1;
        a.verdict = Verdict::SustainedImprovement;
        a.signal = Some(Signal {
            rule: Flag {
                rule: Rule::Shift,
                high: false,
            }
            .label()
            .to_string(),
            from: period(start),
            to: period(end),
            months,
        });
        let proposed = spc::spc(&values, None, &options(vec![start], None))
            .ok()
            .and_then(|c| c.points.last().cloned());
        if let Some(p) = proposed {
            a.proposal = Some(Proposal {
                period: period(start),
                mean: p.cl.unwrap_or(f64::NAN),
                lower: p.lcl.unwrap_or(f64::NAN),
                upper: p.ucl.unwrap_or(f64::NAN),
                months: series.len() - start,
            });
        }
        a.sentence = format!(
            "Sustained special-cause improvement: {months} months below the baseline mean from {} to {} (7 Points Below CL), {after} month(s) after the idea; ako proposes restarting the limits at {}.",
            period(start),
            period(end),
            period(start)
        );
        return a;
    }
    let concern = (before..values.len())
        .rfind(|&i| chart.points[i].point_type == Some(PointType::SpecialCauseConcern));
    if let Some(last) = concern {
        let mut first = last;
        while first > before
            && chart.points[first - 1].point_type == Some(PointType::SpecialCauseConcern)
        {
            first -= 1;
        }
        let rule = chart.points[last]
            .special_cause_type
            .unwrap_or("")
            .to_string();
        a.verdict = Verdict::Concern;
        a.sentence = format!(
            "Special-cause concern after the idea: {rule} from {} to {}; no sustained improvement in the {after} month(s) since.",
            period(first),
            period(last),
        );
        a.signal = Some(Signal {
            rule,
            from: period(first),
            to: period(last),
            months: last - first + 1,
        });
        return a;
    }
    a.sentence = format!(
        "No signal yet: common-cause variation about the baseline in the {after} month(s) since the idea{}.",
        if after < SHIFT {
            format!(" (a shift needs {SHIFT})")
        } else {
            String::new()
        }
    );
    a
}

/// The first run of at least [`SHIFT`] consecutive values below `mean`, as (first, last).
fn first_shift(values: &[f64], mean: f64) -> Option<(usize, usize)> {
    let mut i = 0;
    while i < values.len() {
        if values[i] < mean {
            let mut j = i;
            while j + 1 < values.len() && values[j + 1] < mean {
                j += 1;
            }
            if j + 1 - i >= SHIFT {
                return Some((i, j));
            }
            i = j + 1;
        } else {
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn months(values: &[f64]) -> Vec<(String, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("{}-{:02}", 2023 + i / 12, i % 12 + 1), *v))
            .collect()
    }

    /// A baseline alternating 9 and 11 (mean 10, mean moving range 2, limits
    /// 10 ± 2.66 × 2 = 4.68 and 15.32), then a step down to 7 or 8.
    fn stepped() -> Vec<(String, f64)> {
        let mut v: Vec<f64> = (0..12)
            .map(|i| if i % 2 == 0 { 9.0 } else { 11.0 })
            .collect();
        v.extend([8.0, 7.0, 8.0, 7.0, 8.0, 7.0, 8.0, 7.0]);
        months(&v)
    }

    #[test]
    fn a_step_down_after_the_idea_is_a_sustained_improvement_with_a_proposal() {
        let a = assess("events_per_1000_bed_days", &stepped(), "2024-01-15");
        assert_eq!(a.verdict, Verdict::SustainedImprovement);
        assert_eq!((a.baseline_months, a.months_after), (12, 8));
        assert_eq!(a.baseline_mean, Some(10.0));
        let s = a.signal.as_ref().unwrap();
        assert_eq!(
            (s.rule.as_str(), s.from.as_str(), s.to.as_str(), s.months),
            ("7 Points Below CL", "2024-01", "2024-08", 8)
        );
        // The proposed limits: mean 7.5 and mean moving range 1 over the eight months
        // from the shift, so 7.5 ± 2.66.
        let p = a.proposal.as_ref().unwrap();
        assert_eq!((p.period.as_str(), p.months), ("2024-01", 8));
        assert!((p.mean - 7.5).abs() < 1e-12);
        assert!(
            (p.lower - 4.84).abs() < 1e-9 && (p.upper - 10.16).abs() < 1e-9,
            "{p:?}"
        );
        assert_eq!(
            a.sentence,
            "Sustained special-cause improvement: 8 months below the baseline mean from 2024-01 to 2024-08 (7 Points Below CL), 8 month(s) after the idea; ako proposes restarting the limits at 2024-01."
        );
    }

    #[test]
    fn a_shift_must_start_after_the_idea_and_last_seven_months() {
        // Six months down, then back: no shift, so no proposal.
        let mut v: Vec<f64> = (0..12)
            .map(|i| if i % 2 == 0 { 9.0 } else { 11.0 })
            .collect();
        v.extend([8.0, 7.0, 8.0, 7.0, 8.0, 7.0, 11.0, 9.0]);
        let a = assess("x", &months(&v), "2024-01-01");
        assert_eq!(a.verdict, Verdict::NoSignalYet);
        assert!(a.proposal.is_none());
        // The same step judged from an idea started later, with a month of the step in
        // its baseline: the baseline mean falls, and the shift is still after the idea.
        let b = assess("x", &stepped(), "2024-02-01");
        assert_eq!(b.baseline_months, 13);
        assert_eq!(b.signal.unwrap().from, "2024-02");
    }

    #[test]
    fn a_rise_is_concern_and_a_short_baseline_is_said() {
        let mut v: Vec<f64> = (0..12)
            .map(|i| if i % 2 == 0 { 9.0 } else { 11.0 })
            .collect();
        v.extend([12.0, 16.0, 12.0]);
        let a = assess("x", &months(&v), "2024-01-01");
        assert_eq!(a.verdict, Verdict::Concern);
        let s = a.signal.unwrap();
        assert_eq!(
            (s.rule.as_str(), s.from.as_str(), s.to.as_str()),
            ("Above UCL", "2024-02", "2024-02")
        );
        let short = assess("x", &stepped(), "2023-06-01");
        assert_eq!(
            (short.verdict, short.baseline_months),
            (Verdict::NoBaseline, 5)
        );
        assert!(short.proposal.is_none());
    }
}
