//! Evaluating rule sets over episodes. Every applicable (episode, rule) pair is counted
//! by outcome per organisation, month and rule; only the pairs that are not compliant are
//! kept one by one, with what was found, so memory follows the problems, not the
//! millions of compliant episodes. Rolling windows are a sort-and-sweep per person over
//! plain arrays, not a SQL window (which DataFusion evaluates far more slowly for this
//! shape; see issue 4's measurements).

use std::collections::HashMap;

// foldhash: millions of person keys are hashed once each.
use datafusion::common::HashMap as FastMap;

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

/// The rows of each person (organisation and person key), by start: rolling windows
/// and unrecorded ends need them. One array grouped by person rather than a vector per
/// person, so millions of episodes cost two allocations, not a million.
struct People {
    /// The person of each row.
    person: Vec<u32>,
    /// `rows[starts[p]..starts[p + 1]]` are person `p`'s rows, by start.
    starts: Vec<u32>,
    rows: Vec<u32>,
}

impl People {
    fn new(e: &Episodes) -> People {
        let mut ids: FastMap<(u32, &str), u32> = FastMap::with_capacity(e.len() / 2);
        let person: Vec<u32> = (0..e.len())
            .map(|i| {
                let next = ids.len() as u32;
                *ids.entry((e.org_code.codes[i], e.person_key.get(i)))
                    .or_insert(next)
            })
            .collect();
        let n = ids.len();
        drop(ids);
        let mut starts = vec![0u32; n + 1];
        for &p in &person {
            starts[p as usize + 1] += 1;
        }
        for k in 0..n {
            starts[k + 1] += starts[k];
        }
        // Rows in index order within each person, then a stable sort by start: ties keep
        // the order the extract gave them.
        let mut next = starts.clone();
        let mut rows = vec![0u32; e.len()];
        for (i, &p) in person.iter().enumerate() {
            rows[next[p as usize] as usize] = i as u32;
            next[p as usize] += 1;
        }
        for p in 0..n {
            rows[starts[p] as usize..starts[p + 1] as usize].sort_by_key(|&i| e.start[i as usize]);
        }
        People {
            person,
            starts,
            rows,
        }
    }

    fn len(&self) -> usize {
        self.starts.len() - 1
    }

    fn rows(&self, p: usize) -> &[u32] {
        &self.rows[self.starts[p] as usize..self.starts[p + 1] as usize]
    }

    /// A null end is an ongoing episode unless the same person's next episode of the
    /// same practice has already started: then the end simply was not recorded.
    fn end_unrecorded(&self, e: &Episodes, i: usize) -> bool {
        self.rows(self.person[i] as usize).iter().any(|&j| {
            let j = j as usize;
            j != i && e.practice.codes[j] == e.practice.codes[i] && e.start[j] > e.start[i]
        })
    }
}

fn needs_people(rule: &Rule) -> bool {
    match &rule.check {
        Check::RollingTotal { .. } => true,
        Check::Recorded { fields } => fields.contains(&Recorded::EndTime),
        _ => false,
    }
}

/// Every rule set over `e`. Rules are independent, so they are shared among the cores;
/// each rule reads only its jurisdiction's rows, and its counts go to a cell per
/// organisation and month found by arithmetic, not hashing.
pub fn evaluate(sets: &[RuleSet], e: &Episodes) -> Evaluation {
    assert!(e.len() < u32::MAX as usize, "row numbers are kept as u32");
    let mut by_jurisdiction: Vec<Vec<u32>> = vec![Vec::new(); e.jurisdiction.values.len()];
    for (i, &j) in e.jurisdiction.codes.iter().enumerate() {
        by_jurisdiction[j as usize].push(i as u32);
    }
    let rules: Vec<(usize, usize)> = sets
        .iter()
        .enumerate()
        // A jurisdiction with no episodes has nothing to count.
        .filter(|(_, set)| e.jurisdiction.index.contains_key(&set.jurisdiction))
        .flat_map(|(s, set)| (0..set.rules.len()).map(move |r| (s, r)))
        .collect();
    let people = rules
        .iter()
        .any(|&(s, r)| needs_people(&sets[s].rules[r]))
        .then(|| People::new(e));
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(rules.len())
        .max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, Vec<Finding>, Vec<Count>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&(s, r)) = rules.get(k) else {
                            return mine;
                        };
                        let (findings, counts) =
                            evaluate_rule(sets, s, r, e, &by_jurisdiction, people.as_ref());
                        mine.push((k, findings, counts));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a rule's evaluation panicked"))
            .collect()
    });
    done.sort_by_key(|(k, _, _)| *k);
    let mut out = Evaluation::default();
    for (_, findings, counts) in done {
        out.findings.extend(findings);
        out.counts.extend(counts);
    }
    out
}

/// One rule: its findings by row, and its counts by organisation and month.
fn evaluate_rule(
    sets: &[RuleSet],
    s: usize,
    r: usize,
    e: &Episodes,
    by_jurisdiction: &[Vec<u32>],
    people: Option<&People>,
) -> (Vec<Finding>, Vec<Count>) {
    let set = &sets[s];
    let rule = &set.rules[r];
    let filter = Compiled::new(&set.jurisdiction, &rule.when, e);
    let Some(j) = filter.jurisdiction else {
        return (Vec::new(), Vec::new());
    };
    let rows = &by_jurisdiction[j as usize];
    let months = e.month.values.len();
    let mut cells: Vec<Option<(usize, [u64; 4])>> = vec![None; e.org_code.values.len() * months];
    let mut findings = Vec::new();
    let mut record = |row: usize, outcome: Outcome, detail: String| {
        let cell = e.org_code.codes[row] as usize * months + e.month.codes[row] as usize;
        cells[cell].get_or_insert((row, [0; 4])).1[outcome.index()] += 1;
        if outcome != Outcome::Compliant {
            findings.push(Finding {
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
        let people = people.expect("built when a rule needs it");
        let mut applicable = vec![false; e.len()];
        for &i in rows {
            applicable[i as usize] = filter.applies(e, i as usize);
        }
        let mut theirs = Vec::new();
        for p in 0..people.len() {
            theirs.clear();
            theirs.extend(
                people
                    .rows(p)
                    .iter()
                    .map(|&i| i as usize)
                    .filter(|&i| applicable[i]),
            );
            rolling(e, &theirs, window_hours, max_hours, rule, &mut record);
        }
        findings.sort_by_key(|f| f.row);
    } else {
        for &i in rows {
            let i = i as usize;
            if filter.applies(e, i) {
                let unrecorded = || people.is_some_and(|p| p.end_unrecorded(e, i));
                let (outcome, detail) = check_one(rule, e, i, unrecorded);
                record(i, outcome, detail);
            }
        }
    }
    let mut counts: Vec<Count> = cells
        .into_iter()
        .flatten()
        .map(|(row, by_outcome)| Count {
            row,
            set: s,
            rule: r,
            by_outcome,
        })
        .collect();
    counts.sort_by(|a, b| {
        (e.org_code.get(a.row), e.month.get(a.row))
            .cmp(&(e.org_code.get(b.row), e.month.get(b.row)))
    });
    (findings, counts)
}

fn failed(rule: &Rule) -> Outcome {
    match rule.severity {
        Severity::Breach => Outcome::Breach,
        Severity::Notify => Outcome::Flagged,
    }
}

/// A rule other than a rolling total on episode `i`; `unrecorded` says whether its null
/// end is known to be missing rather than ongoing.
fn check_one(
    rule: &Rule,
    e: &Episodes,
    i: usize,
    unrecorded: impl Fn() -> bool,
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
                        if unrecorded() {
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

/// For each applicable episode of one person (`rows`: those only, sorted by start), the
/// time in them within the window ending at its end. The most time inside any
/// window is reached at some episode's end, so checking at every end finds every breach.
fn rolling(
    e: &Episodes,
    rows: &[usize],
    window_hours: f64,
    max_hours: f64,
    rule: &Rule,
    record: &mut impl FnMut(usize, Outcome, String),
) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Found = (usize, usize, usize, Outcome, String);
    type Counted = (usize, usize, String, String, [u64; 4]);

    /// The evaluation as first written (a hash map of people, every rule over every
    /// row), kept as the oracle the faster one must agree with, finding for finding.
    fn reference(sets: &[RuleSet], e: &Episodes) -> (Vec<Found>, Vec<Counted>) {
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
        let unrecorded = |i: usize| {
            people[&(e.org_code.codes[i], e.person_key.get(i))]
                .iter()
                .any(|&j| {
                    j != i && e.practice.codes[j] == e.practice.codes[i] && e.start[j] > e.start[i]
                })
        };
        let (mut found, mut counted) = (Vec::new(), Vec::new());
        for (s, set) in sets.iter().enumerate() {
            for (r, rule) in set.rules.iter().enumerate() {
                let filter = Compiled::new(&set.jurisdiction, &rule.when, e);
                if filter.jurisdiction.is_none() {
                    continue;
                }
                let applicable: Vec<bool> = (0..e.len()).map(|i| filter.applies(e, i)).collect();
                let mut counts: HashMap<(String, String), [u64; 4]> = HashMap::new();
                let mut record = |row: usize, outcome: Outcome, detail: String| {
                    let key = (
                        e.org_code.get(row).to_string(),
                        e.month.get(row).to_string(),
                    );
                    counts.entry(key).or_insert([0; 4])[outcome.index()] += 1;
                    if outcome != Outcome::Compliant {
                        found.push((s, r, row, outcome, detail));
                    }
                };
                if let Check::RollingTotal {
                    window_hours,
                    max_hours,
                } = rule.check
                {
                    for rows in people.values() {
                        let rows: Vec<usize> =
                            rows.iter().copied().filter(|&i| applicable[i]).collect();
                        rolling(e, &rows, window_hours, max_hours, rule, &mut record);
                    }
                } else {
                    for i in (0..e.len()).filter(|&i| applicable[i]) {
                        let (outcome, detail) = check_one(rule, e, i, || unrecorded(i));
                        record(i, outcome, detail);
                    }
                }
                let mut counts: Vec<Counted> = counts
                    .into_iter()
                    .map(|((org, month), by)| (s, r, org, month, by))
                    .collect();
                counts.sort();
                counted.extend(counts);
            }
        }
        found.sort_by_key(|f| (f.0, f.1, f.2));
        (found, counted)
    }

    fn rule_sets() -> Vec<RuleSet> {
        RuleSet::load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("compliance"))
            .expect("the bundled rules load")
    }

    /// One generated episode: organisation (which fixes the jurisdiction), person,
    /// practice, codes, flags, start (minutes into a fortnight), length, observation gap.
    type Drawn = (
        usize,
        u8,
        usize,
        usize,
        usize,
        usize,
        bool,
        bool,
        u32,
        Option<u32>,
        Option<u8>,
    );

    fn episodes(drawn: &[Drawn]) -> Episodes {
        const ORGS: [(&str, &str); 4] = [
            ("AKL", "NZ"),
            ("NSW-HD", "NSW"),
            ("QLD-GC", "QLD"),
            ("ACT-X", "ACT"),
        ];
        const PRACTICES: [&str; 3] = ["seclusion", "physical_restraint", "chemical_restraint"];
        const SETTINGS: [&str; 3] = [
            "acute_inpatient",
            "disability_residential",
            "intellectual_disability",
        ];
        const LEGAL: [&str; 3] = ["idccr", "mha_s30", "voluntary"];
        const BY: [&str; 4] = ["care_manager", "authorised_doctor", "delegate", "nurse"];
        let mut e = Episodes::default();
        let base = 1_700_000_000_000_000i64;
        for (n, d) in drawn.iter().enumerate() {
            let (org, person, practice, setting, legal, by, emergency, minor, start, length, gap) =
                *d;
            let start = base + start as i64 * 60_000_000;
            let month = if start < base + 7 * 24 * 3_600_000_000 {
                "2023-11"
            } else {
                "2023-12"
            };
            let id = format!("E{n}");
            let person = format!("P{person}");
            e.push(Row {
                org_code: ORGS[org].0,
                episode_id: &id,
                person_key: &person,
                practice: PRACTICES[practice],
                setting: SETTINGS[setting],
                legal_status: LEGAL[legal],
                authorised_by: BY[by],
                jurisdiction: ORGS[org].1,
                month,
                emergency,
                minor,
                start,
                end: length.map(|m| start + m as i64 * 60_000_000),
                max_obs_gap_min: gap.map(i64::from),
            });
        }
        e
    }

    fn drawn() -> impl Strategy<Value = Drawn> {
        (
            0..4usize,
            0..6u8,
            0..3usize,
            0..3usize,
            0..3usize,
            0..4usize,
            any::<bool>(),
            any::<bool>(),
            0..(14 * 24 * 60u32),
            proptest::option::weighted(0.9, 1..(12 * 60u32)),
            proptest::option::weighted(0.8, 5..30u8),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn the_fast_evaluation_finds_and_counts_what_the_first_one_did(
            drawn in proptest::collection::vec(drawn(), 0..160)
        ) {
            let sets = rule_sets();
            let e = episodes(&drawn);
            let fast = evaluate(&sets, &e);
            let found: Vec<Found> = fast
                .findings
                .iter()
                .map(|f| (f.set, f.rule, f.row, f.outcome, f.detail.clone()))
                .collect();
            let counted: Vec<Counted> = fast
                .counts
                .iter()
                .map(|c| (c.set, c.rule, e.org_code.get(c.row).to_string(), e.month.get(c.row).to_string(), c.by_outcome))
                .collect();
            let (want_found, want_counted) = reference(&sets, &e);
            prop_assert_eq!(found, want_found);
            prop_assert_eq!(counted, want_counted);
        }
    }

    #[test]
    fn a_person_over_nine_hours_in_a_day_is_found_once_per_episode_that_tips_it() {
        // QLD-GC, one person: 4 h, then 4 h, then 2 h within a day; the third episode's
        // window holds 10 h, the second's 8 h.
        let hour = 60;
        let drawn: Vec<Drawn> = [(0, 4), (5 * hour, 4), (10 * hour, 2)]
            .into_iter()
            .map(|(start, hours)| {
                (
                    2,
                    0,
                    0,
                    0,
                    0,
                    1,
                    false,
                    false,
                    start,
                    Some(hours * hour),
                    Some(10),
                )
            })
            .collect();
        let sets = rule_sets();
        let e = episodes(&drawn);
        let out = evaluate(&sets, &e);
        let rolling: Vec<(usize, &str)> = out
            .findings
            .iter()
            .filter(|f| sets[f.set].rules[f.rule].id == "qld_seclusion_9h_in_24h")
            .map(|f| (f.row, f.detail.as_str()))
            .collect();
        assert_eq!(
            rolling,
            [(2, "10.00 h in the 24 h to this episode's end, over 9 h")]
        );
        // 3 h a time: the two 4 h episodes breach.
        let long: Vec<usize> = out
            .findings
            .iter()
            .filter(|f| sets[f.set].rules[f.rule].id == "qld_seclusion_3h")
            .map(|f| f.row)
            .collect();
        assert_eq!(long, [0, 1]);
        let counts = out
            .counts
            .iter()
            .find(|c| sets[c.set].rules[c.rule].id == "qld_seclusion_9h_in_24h")
            .expect("counted");
        assert_eq!(counts.by_outcome, [2, 1, 0, 0]);
    }
}
