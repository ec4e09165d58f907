//! Evaluating rule sets over episodes: a finding per (episode, applicable rule). Rolling
//! windows are a sort-and-sweep per person over plain arrays, not a SQL window (which
//! DataFusion evaluates far more slowly for this shape; see issue 4's measurements).

use std::collections::HashMap;

use super::rules::{Check, Filter, Recorded, Rule, RuleSet, Severity};

const MICROS_PER_HOUR: f64 = 3_600_000_000.0;

/// The episode fields rules read, one vector per column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Episodes {
    pub org_code: Vec<String>,
    pub episode_id: Vec<String>,
    pub person_key: Vec<String>,
    pub practice: Vec<String>,
    pub setting: Vec<String>,
    pub legal_status: Vec<String>,
    pub authorised_by: Vec<String>,
    pub jurisdiction: Vec<String>,
    pub month: Vec<String>,
    pub emergency: Vec<bool>,
    pub minor: Vec<bool>,
    /// Microseconds since the epoch, UTC.
    pub start: Vec<i64>,
    pub end: Vec<Option<i64>>,
    pub max_obs_gap_min: Vec<Option<i64>>,
}

impl Episodes {
    pub fn len(&self) -> usize {
        self.episode_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.episode_id.is_empty()
    }
}

/// How an episode fared against a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Compliant,
    Breach,
    /// A `notify` rule matched: someone must follow the episode up.
    Flagged,
    /// The data cannot say (no end time, no observation record): never counted as
    /// compliant.
    NotEvaluable,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Compliant => "compliant",
            Outcome::Breach => "breach",
            Outcome::Flagged => "flagged",
            Outcome::NotEvaluable => "not_evaluable",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Row in [`Episodes`].
    pub row: usize,
    pub set: usize,
    pub rule: usize,
    pub outcome: Outcome,
    pub detail: String,
}

fn matches(list: &Option<Vec<String>>, value: &str) -> bool {
    list.as_ref().is_none_or(|l| l.iter().any(|v| v == value))
}

fn applies(f: &Filter, e: &Episodes, i: usize) -> bool {
    matches(&f.practice, &e.practice[i])
        && matches(&f.setting, &e.setting[i])
        && matches(&f.legal_status, &e.legal_status[i])
        && matches(&f.authorised_by, &e.authorised_by[i])
        && f.emergency.is_none_or(|v| v == e.emergency[i])
        && f.minor.is_none_or(|v| v == e.minor[i])
}

fn hours(micros: i64) -> f64 {
    micros as f64 / MICROS_PER_HOUR
}

/// Every finding of every rule set over `e`.
pub fn evaluate(sets: &[RuleSet], e: &Episodes) -> Vec<Finding> {
    let mut findings = Vec::new();
    // Rows of each person, by start: rolling windows and unrecorded ends need them.
    let mut people: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for i in 0..e.len() {
        people
            .entry((&e.org_code[i], &e.person_key[i]))
            .or_default()
            .push(i);
    }
    for rows in people.values_mut() {
        rows.sort_by_key(|&i| e.start[i]);
    }
    for (s, set) in sets.iter().enumerate() {
        for (r, rule) in set.rules.iter().enumerate() {
            let applicable: Vec<bool> = (0..e.len())
                .map(|i| e.jurisdiction[i] == set.jurisdiction && applies(&rule.when, e, i))
                .collect();
            let mut push = |row: usize, outcome: Outcome, detail: String| {
                findings.push(Finding {
                    row,
                    set: s,
                    rule: r,
                    outcome,
                    detail,
                })
            };
            if let Check::RollingTotal {
                window_hours,
                max_hours,
            } = rule.check
            {
                for rows in people.values() {
                    rolling(
                        e,
                        rows,
                        &applicable,
                        window_hours,
                        max_hours,
                        rule,
                        &mut push,
                    );
                }
                continue;
            }
            for i in (0..e.len()).filter(|&i| applicable[i]) {
                let (outcome, detail) = check_one(rule, e, i, &people);
                push(i, outcome, detail);
            }
        }
    }
    findings
}

fn failed(rule: &Rule) -> Outcome {
    match rule.severity {
        Severity::Breach => Outcome::Breach,
        Severity::Notify => Outcome::Flagged,
    }
}

/// A null end is an ongoing episode unless the same person's next episode of the same
/// practice has already started: then the end simply was not recorded.
fn end_unrecorded(e: &Episodes, i: usize, people: &HashMap<(&str, &str), Vec<usize>>) -> bool {
    people[&(e.org_code[i].as_str(), e.person_key[i].as_str())]
        .iter()
        .any(|&j| j != i && e.practice[j] == e.practice[i] && e.start[j] > e.start[i])
}

fn check_one(
    rule: &Rule,
    e: &Episodes,
    i: usize,
    people: &HashMap<(&str, &str), Vec<usize>>,
) -> (Outcome, String) {
    match &rule.check {
        Check::MaxDuration { hours: limit } => match e.end[i] {
            None => (
                Outcome::NotEvaluable,
                "no end time (ongoing at extract, or unrecorded)".into(),
            ),
            Some(end) => {
                let h = hours(end - e.start[i]);
                if h > *limit {
                    (failed(rule), format!("{h:.2} h, over {limit} h"))
                } else {
                    (Outcome::Compliant, format!("{h:.2} h"))
                }
            }
        },
        Check::MaxObservationGap { minutes } => match e.max_obs_gap_min[i] {
            None => (Outcome::NotEvaluable, "no observation record".into()),
            Some(gap) if gap > *minutes => (
                failed(rule),
                format!("{gap} min between observations, over {minutes}"),
            ),
            Some(gap) => (Outcome::Compliant, format!("{gap} min")),
        },
        Check::Prohibited => (failed(rule), rule.title.clone()),
        Check::Flag => (failed(rule), rule.title.clone()),
        Check::AuthorisedBy { roles } => {
            if roles.iter().any(|r| r == &e.authorised_by[i]) {
                (
                    Outcome::Compliant,
                    format!("authorised by {}", e.authorised_by[i]),
                )
            } else {
                (
                    failed(rule),
                    format!(
                        "authorised by {}, not {}",
                        e.authorised_by[i],
                        roles.join(" or ")
                    ),
                )
            }
        }
        Check::Recorded { fields } => {
            let mut missing = Vec::new();
            let mut unknown = Vec::new();
            for field in fields {
                match field {
                    Recorded::EndTime if e.end[i].is_none() => {
                        if end_unrecorded(e, i, people) {
                            missing.push(field.as_str());
                        } else {
                            unknown.push(field.as_str());
                        }
                    }
                    Recorded::MaxObsGapMin if e.max_obs_gap_min[i].is_none() => {
                        missing.push(field.as_str())
                    }
                    _ => {}
                }
            }
            if !missing.is_empty() {
                (
                    failed(rule),
                    format!("not recorded: {}", missing.join(", ")),
                )
            } else if !unknown.is_empty() {
                (
                    Outcome::NotEvaluable,
                    "no end time yet: the episode may be ongoing".into(),
                )
            } else {
                (Outcome::Compliant, "recorded".into())
            }
        }
        Check::RollingTotal { .. } => unreachable!("rolling totals are swept per person"),
    }
}

/// For each applicable episode of one person (rows sorted by start), the time in
/// applicable episodes within the window ending at its end. The most time inside any
/// window is reached at some episode's end, so checking at every end finds every breach.
fn rolling(
    e: &Episodes,
    rows: &[usize],
    applicable: &[bool],
    window_hours: f64,
    max_hours: f64,
    rule: &Rule,
    push: &mut impl FnMut(usize, Outcome, String),
) {
    let rows: Vec<usize> = rows.iter().copied().filter(|&i| applicable[i]).collect();
    if rows.is_empty() {
        return;
    }
    let window = (window_hours * MICROS_PER_HOUR) as i64;
    let longest = rows
        .iter()
        .filter_map(|&i| e.end[i].map(|end| end - e.start[i]))
        .max()
        .unwrap_or(0);
    for (k, &i) in rows.iter().enumerate() {
        let Some(end_i) = e.end[i] else {
            push(
                i,
                Outcome::NotEvaluable,
                "no end time (ongoing at extract, or unrecorded)".into(),
            );
            continue;
        };
        let from = end_i - window;
        let mut total = 0i64;
        let mut open_ended = false;
        // Rows after k start later; those that start before end_i overlap the window.
        for &j in &rows[k + 1..] {
            if e.start[j] >= end_i {
                break;
            }
            match e.end[j] {
                Some(end_j) => total += end_j.min(end_i) - e.start[j].max(from),
                None => open_ended = true,
            }
        }
        // Rows up to k, newest first, until none can reach into the window.
        for &j in rows[..=k].iter().rev() {
            if e.start[j] + longest <= from {
                break;
            }
            match e.end[j] {
                Some(end_j) if end_j > from => total += end_j.min(end_i) - e.start[j].max(from),
                Some(_) => {}
                None => open_ended = true,
            }
        }
        let h = hours(total);
        if h > max_hours {
            push(
                i,
                failed(rule),
                format!(
                    "{h:.2} h in the {window_hours} h to this episode's end, over {max_hours} h"
                ),
            );
        } else if open_ended {
            push(
                i,
                Outcome::NotEvaluable,
                "an episode without an end time overlaps the window".into(),
            );
        } else {
            push(
                i,
                Outcome::Compliant,
                format!("{h:.2} h in {window_hours} h"),
            );
        }
    }
}
