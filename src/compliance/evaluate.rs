//! Evaluating rule sets over episodes. Every applicable (episode, rule) pair is counted
//! by outcome per organisation, month and rule; only the pairs that are not compliant are
//! kept one by one, with what was found, so memory follows the problems, not the
//! millions of compliant episodes. Rolling windows are a sort-and-sweep per person over
//! plain arrays, not a SQL window (which DataFusion evaluates far more slowly for this
//! shape; see issue 4's measurements).

use std::collections::HashMap;

use super::rules::{Check, Filter, Recorded, Rule, RuleSet, Severity};

const MICROS_PER_HOUR: f64 = 3_600_000_000.0;

/// Low-cardinality text stored once: codes index `values`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interned {
    pub values: Vec<String>,
    pub codes: Vec<u32>,
    index: HashMap<String, u32>,
}

impl Interned {
    fn push(&mut self, value: &str) {
        // Episodes come by organisation and month, and most columns hold a handful of
        // codes: the last value, then a scan of a few, spare most rows a hash.
        if let Some(&last) = self.codes.last()
            && self.values[last as usize] == value
        {
            self.codes.push(last);
            return;
        }
        if self.values.len() <= 8
            && let Some(c) = self.values.iter().position(|v| v == value)
        {
            self.codes.push(c as u32);
            return;
        }
        let code = match self.index.get(value) {
            Some(&c) => c,
            None => {
                let c = self.values.len() as u32;
                self.values.push(value.to_string());
                self.index.insert(value.to_string(), c);
                c
            }
        };
        self.codes.push(code);
    }

    pub fn get(&self, row: usize) -> &str {
        &self.values[self.codes[row] as usize]
    }

    /// The codes of `allowed` values (those never seen match nothing).
    fn codes_of(&self, allowed: &[String]) -> Vec<u32> {
        allowed
            .iter()
            .filter_map(|v| self.index.get(v).copied())
            .collect()
    }
}

/// Text that is mostly distinct (ids), stored end to end.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Texts {
    bytes: String,
    ends: Vec<usize>,
}

impl Texts {
    fn push(&mut self, value: &str) {
        self.bytes.push_str(value);
        self.ends.push(self.bytes.len());
    }

    pub fn get(&self, row: usize) -> &str {
        let start = if row == 0 { 0 } else { self.ends[row - 1] };
        &self.bytes[start..self.ends[row]]
    }
}

/// One episode, as rules read it.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub org_code: &'a str,
    pub episode_id: &'a str,
    pub person_key: &'a str,
    pub practice: &'a str,
    pub setting: &'a str,
    pub legal_status: &'a str,
    pub authorised_by: &'a str,
    pub jurisdiction: &'a str,
    pub month: &'a str,
    pub emergency: bool,
    pub minor: bool,
    /// Microseconds since the epoch, UTC.
    pub start: i64,
    pub end: Option<i64>,
    pub max_obs_gap_min: Option<i64>,
}

/// The episode fields rules read, column by column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Episodes {
    pub org_code: Interned,
    pub episode_id: Texts,
    pub person_key: Texts,
    pub practice: Interned,
    pub setting: Interned,
    pub legal_status: Interned,
    pub authorised_by: Interned,
    pub jurisdiction: Interned,
    pub month: Interned,
    pub emergency: Vec<bool>,
    pub minor: Vec<bool>,
    pub start: Vec<i64>,
    pub end: Vec<Option<i64>>,
    pub max_obs_gap_min: Vec<Option<i64>>,
}

impl Episodes {
    pub fn push(&mut self, r: Row<'_>) {
        self.org_code.push(r.org_code);
        self.episode_id.push(r.episode_id);
        self.person_key.push(r.person_key);
        self.practice.push(r.practice);
        self.setting.push(r.setting);
        self.legal_status.push(r.legal_status);
        self.authorised_by.push(r.authorised_by);
        self.jurisdiction.push(r.jurisdiction);
        self.month.push(r.month);
        self.emergency.push(r.emergency);
        self.minor.push(r.minor);
        self.start.push(r.start);
        self.end.push(r.end);
        self.max_obs_gap_min.push(r.max_obs_gap_min);
    }

    pub fn len(&self) -> usize {
        self.start.len()
    }

    pub fn is_empty(&self) -> bool {
        self.start.is_empty()
    }
}

/// How an episode fared against a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

    fn index(self) -> usize {
        match self {
            Outcome::Compliant => 0,
            Outcome::Breach => 1,
            Outcome::Flagged => 2,
            Outcome::NotEvaluable => 3,
        }
    }
}

/// A (episode, rule) pair that is not compliant.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Row in [`Episodes`].
    pub row: usize,
    pub set: usize,
    pub rule: usize,
    pub outcome: Outcome,
    pub detail: String,
}

/// Applicable episodes of one organisation, month and rule, by outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Count {
    /// Row of any episode of the organisation-month (for its codes).
    pub row: usize,
    pub set: usize,
    pub rule: usize,
    /// Compliant, breach, flagged, not evaluable.
    pub by_outcome: [u64; 4],
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    pub findings: Vec<Finding>,
    pub counts: Vec<Count>,
}

/// A rule's filter as codes, so testing an episode compares integers.
struct Compiled {
    jurisdiction: Option<u32>,
    practice: Option<Vec<u32>>,
    setting: Option<Vec<u32>>,
    legal_status: Option<Vec<u32>>,
    authorised_by: Option<Vec<u32>>,
    emergency: Option<bool>,
    minor: Option<bool>,
}

impl Compiled {
    fn new(jurisdiction: &str, f: &Filter, e: &Episodes) -> Compiled {
        let codes = |list: &Option<Vec<String>>, column: &Interned| {
            list.as_ref().map(|l| column.codes_of(l))
        };
        Compiled {
            jurisdiction: e.jurisdiction.index.get(jurisdiction).copied(),
            practice: codes(&f.practice, &e.practice),
            setting: codes(&f.setting, &e.setting),
            legal_status: codes(&f.legal_status, &e.legal_status),
            authorised_by: codes(&f.authorised_by, &e.authorised_by),
            emergency: f.emergency,
            minor: f.minor,
        }
    }

    fn applies(&self, e: &Episodes, i: usize) -> bool {
        let within = |list: &Option<Vec<u32>>, column: &Interned| {
            list.as_ref().is_none_or(|l| l.contains(&column.codes[i]))
        };
        self.jurisdiction == Some(e.jurisdiction.codes[i])
            && within(&self.practice, &e.practice)
            && within(&self.setting, &e.setting)
            && within(&self.legal_status, &e.legal_status)
            && within(&self.authorised_by, &e.authorised_by)
            && self.emergency.is_none_or(|v| v == e.emergency[i])
            && self.minor.is_none_or(|v| v == e.minor[i])
    }
}

fn hours(micros: i64) -> f64 {
    micros as f64 / MICROS_PER_HOUR
}

/// Every rule set over `e`.
pub fn evaluate(sets: &[RuleSet], e: &Episodes) -> Evaluation {
    let mut out = Evaluation::default();
    // Rows of each person, by start: rolling windows and unrecorded ends need them.
    let mut people: HashMap<(u32, &str), Vec<usize>> = HashMap::new();
    for i in 0..e.len() {
        people
            .entry((e.org_code.codes[i], e.person_key.get(i)))
            .or_default()
            .push(i);
    }
    for rows in people.values_mut() {
        rows.sort_by_key(|&i| e.start[i]);
    }
    for (s, set) in sets.iter().enumerate() {
        for (r, rule) in set.rules.iter().enumerate() {
            let filter = Compiled::new(&set.jurisdiction, &rule.when, e);
            if filter.jurisdiction.is_none() {
                continue;
            }
            let applicable: Vec<bool> = (0..e.len()).map(|i| filter.applies(e, i)).collect();
            let mut counts: HashMap<(u32, u32), (usize, [u64; 4])> = HashMap::new();
            let mut record = |row: usize, outcome: Outcome, detail: String| {
                let entry = counts
                    .entry((e.org_code.codes[row], e.month.codes[row]))
                    .or_insert((row, [0; 4]));
                entry.1[outcome.index()] += 1;
                if outcome != Outcome::Compliant {
                    out.findings.push(Finding {
                        row,
                        set: s,
                        rule: r,
                        outcome,
                        detail,
                    });
                }
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
                        &mut record,
                    );
                }
            } else {
                for i in (0..e.len()).filter(|&i| applicable[i]) {
                    let (outcome, detail) = check_one(rule, e, i, &people);
                    record(i, outcome, detail);
                }
            }
            let mut counts: Vec<Count> = counts
                .into_values()
                .map(|(row, by_outcome)| Count {
                    row,
                    set: s,
                    rule: r,
                    by_outcome,
                })
                .collect();
            counts.sort_by_key(|c| {
                (
                    e.org_code.get(c.row).to_string(),
                    e.month.get(c.row).to_string(),
                )
            });
            out.counts.extend(counts);
        }
    }
    out.findings.sort_by_key(|f| (f.set, f.rule, f.row));
    out
}

fn failed(rule: &Rule) -> Outcome {
    match rule.severity {
        Severity::Breach => Outcome::Breach,
        Severity::Notify => Outcome::Flagged,
    }
}

/// A null end is an ongoing episode unless the same person's next episode of the same
/// practice has already started: then the end simply was not recorded.
fn end_unrecorded(e: &Episodes, i: usize, people: &HashMap<(u32, &str), Vec<usize>>) -> bool {
    people[&(e.org_code.codes[i], e.person_key.get(i))]
        .iter()
        .any(|&j| j != i && e.practice.codes[j] == e.practice.codes[i] && e.start[j] > e.start[i])
}

fn check_one(
    rule: &Rule,
    e: &Episodes,
    i: usize,
    people: &HashMap<(u32, &str), Vec<usize>>,
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
                    (Outcome::Compliant, String::new())
                }
            }
        },
        Check::MaxObservationGap { minutes } => match e.max_obs_gap_min[i] {
            None => (Outcome::NotEvaluable, "no observation record".into()),
            Some(gap) if gap > *minutes => (
                failed(rule),
                format!("{gap} min between observations, over {minutes}"),
            ),
            Some(_) => (Outcome::Compliant, String::new()),
        },
        Check::Prohibited | Check::Flag => (failed(rule), rule.title.clone()),
        Check::AuthorisedBy { roles } => {
            let by = e.authorised_by.get(i);
            if roles.iter().any(|r| r == by) {
                (Outcome::Compliant, String::new())
            } else {
                (
                    failed(rule),
                    format!("authorised by {by}, not {}", roles.join(" or ")),
                )
            }
        }
        Check::Recorded { fields } => {
            let mut missing = Vec::new();
            let mut unknown = false;
            for field in fields {
                match field {
                    Recorded::EndTime if e.end[i].is_none() => {
                        if end_unrecorded(e, i, people) {
                            missing.push(field.as_str());
                        } else {
                            unknown = true;
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
            } else if unknown {
                (
                    Outcome::NotEvaluable,
                    "no end time yet: the episode may be ongoing".into(),
                )
            } else {
                (Outcome::Compliant, String::new())
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
    record: &mut impl FnMut(usize, Outcome, String),
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
            record(
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
            record(
                i,
                failed(rule),
                format!(
                    "{h:.2} h in the {window_hours} h to this episode's end, over {max_hours} h"
                ),
            );
        } else if open_ended {
            record(
                i,
                Outcome::NotEvaluable,
                "an episode without an end time overlaps the window".into(),
            );
        } else {
            record(i, Outcome::Compliant, String::new());
        }
    }
}
