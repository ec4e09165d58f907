//! What anyone but an analyst can fetch of an indicator, and its one protected view.
//!
//! The dashboards say exactly which parameter sets reach a non-analyst: each panel's
//! fixed parameters, its comparison line's, and every value of every filter that binds
//! a parameter. Two parameters only pick rows of a wider result (`org`, and `practice`,
//! whose `all` gives each practice its own rows), so the view runs them wide. Every
//! reachable result is then suppressed as one ([`universe::protect`]), and a request's
//! rows are picked from it afterwards: suppression first, filtering after.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{Dashboards, FilterKind};
use crate::catalog::{Estimate, Indicator, estimates};
use crate::privacy::Role;
use crate::privacy::rounding;
use crate::privacy::suppress::Rules;
use crate::privacy::universe::{self, Outcome, Reached};
use crate::table::{Cell, Table};

/// Parameters that only pick rows, with the value that returns every row.
const WIDE: [(&str, &str); 2] = [("org", ""), ("practice", "all")];

/// Parameters as an indicator runs with them: every declared one, defaults filled in.
pub type Params = BTreeMap<String, String>;

/// `given` with every declared parameter's default filled in.
pub fn complete(indicator: &Indicator, given: &[(String, String)]) -> Params {
    let mut p: Params = indicator
        .params
        .iter()
        .map(|d| (d.name.clone(), d.default.clone()))
        .collect();
    for (k, v) in given {
        if p.contains_key(k) {
            p.insert(k.clone(), v.clone());
        }
    }
    p
}

/// The wide run whose rows include those of `params`.
pub fn widen(indicator: &Indicator, mut params: Params) -> Params {
    for (name, wide) in WIDE {
        let declared = indicator.params.iter().find(|p| p.name == name);
        if declared.is_some_and(|p| p.allowed.is_empty() || p.allowed.iter().any(|a| a == wide)) {
            params.insert(name.to_string(), wide.to_string());
        }
    }
    params
}

/// Every wide parameter set under which `indicator` reaches a non-analyst, each with
/// the row filters (`keep`) of the panels that show it; an empty filter list means
/// some panel shows every row.
pub fn reachable(dashboards: &Dashboards, indicator: &Indicator) -> BTreeMap<Params, Keeps> {
    let mut out: BTreeMap<Params, Keeps> = BTreeMap::new();
    let beyond_analysts = |roles: &[Role]| roles.iter().any(|r| *r != Role::Analyst);
    for d in dashboards
        .list
        .iter()
        .filter(|d| beyond_analysts(&d.audience))
    {
        for panel in d.panels.iter().filter(|p| p.indicator == indicator.name) {
            let mut variants = vec![panel.params.clone()];
            if let Some(compare) = &panel.compare {
                let mut all = panel.params.clone();
                all.extend(compare.clone());
                variants.push(all);
            }
            for fixed in variants {
                // Each free filter that binds a parameter, with every value it offers.
                let mut axes: Vec<(String, Vec<String>)> = Vec::new();
                for f in &d.filters {
                    let Some(declared) = indicator.params.iter().find(|p| p.name == f.name) else {
                        continue;
                    };
                    if panel.ignore.contains(&f.name)
                        || fixed.contains_key(&f.name)
                        || f.kind.filters_rows()
                        || f.kind == FilterKind::Organisation
                        || WIDE.iter().any(|(n, _)| *n == f.name)
                    {
                        continue;
                    }
                    let values = if declared.allowed.is_empty() {
                        vec![declared.default.clone()]
                    } else {
                        declared.allowed.clone()
                    };
                    axes.push((f.name.clone(), values));
                }
                let mut combos: Vec<Vec<(String, String)>> =
                    vec![fixed.iter().map(|(k, v)| (k.clone(), v.clone())).collect()];
                for (name, values) in &axes {
                    combos = combos
                        .iter()
                        .flat_map(|c| {
                            values.iter().map(move |v| {
                                let mut c = c.clone();
                                c.push((name.clone(), v.clone()));
                                c
                            })
                        })
                        .collect();
                }
                for combo in combos {
                    let params = widen(indicator, complete(indicator, &combo));
                    out.entry(params).or_default().add(&panel.keep);
                }
            }
        }
    }
    out
}

/// The row filters a reachable result is shown under.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Keeps {
    /// One entry per panel: column → value; an empty map keeps every row.
    filters: Vec<BTreeMap<String, String>>,
}

impl Keeps {
    fn add(&mut self, keep: &BTreeMap<String, String>) {
        if !self.filters.contains(keep) {
            self.filters.push(keep.clone());
        }
    }

    /// Keeps the rows some panel shows.
    fn apply(&self, table: &mut Table) {
        let filters = self.filters.clone();
        table.retain(|columns, row| {
            filters.iter().any(|keep| {
                keep.iter().all(|(column, value)| {
                    columns
                        .iter()
                        .position(|c| c == column)
                        .is_none_or(|c| row[c].as_str() == Some(value.as_str()))
                })
            })
        });
    }
}

/// The suppression rules of an indicator beyond analysts: its numerators and
/// denominators are counts (as are the count columns its table panels name), and a
/// rate per bed day is withheld on few bed days.
pub fn rules(dashboards: &Dashboards, indicator: &Indicator) -> Rules {
    let mut rules = Rules::default();
    rules
        .counts
        .extend(["denominator", "comparison_denominator"].map(String::from));
    for d in &dashboards.list {
        for p in d.panels.iter().filter(|p| p.indicator == indicator.name) {
            for c in &p.counts {
                if !rules.counts.contains(c) {
                    rules.counts.push(c.clone());
                }
            }
        }
    }
    if rounds_bed_days(indicator) {
        rules.bed_days = Some("denominator".into());
    }
    rules
}

/// Whether the indicator's denominator is bed days, which beyond analysts are rounded
/// ([`rounding`]) and said so on the chart.
pub fn rounds_bed_days(indicator: &Indicator) -> bool {
    indicator
        .measures
        .iter()
        .any(|m| m.role == crate::catalog::MeasureRole::Denominator && m.column == "bed_days")
}

/// Rounds a protected table's bed days and recomputes its value and limits from them,
/// as the catalogue computes them for analysts.
fn round_bed_days(table: &mut Table, column: &str, estimate: Option<Estimate>, multiplier: f64) {
    if !rounding::round_column(table, column) {
        return;
    }
    let Some(estimate) = estimate else { return };
    let (Some(x), Some(d)) = (table.col("numerator"), table.col(column)) else {
        return;
    };
    let added: Vec<Option<usize>> = estimates::ADDED.iter().map(|c| table.col(c)).collect();
    for row in &mut table.rows {
        if row[d].is_null() {
            continue; // withheld, or no denominator: nothing to recompute
        }
        let (v, lo, hi) = estimates::one(estimate, row[x].as_f64(), row[d].as_f64(), multiplier);
        for (c, value) in added.iter().zip([v, lo, hi]) {
            if let Some(c) = *c {
                row[c] = value.map_or(Cell::Null, Cell::Float);
            }
        }
    }
}

/// Every reachable result of one indicator, suppressed together.
#[derive(Debug, Default)]
pub struct Protected {
    results: HashMap<Params, Table>,
    /// (grouping, organisation) → its peer group, from organisation-level rows.
    groups: HashMap<(String, String), String>,
    pub outcome: Outcome,
}

impl Protected {
    /// Suppresses `results` (each wide run with its row filters) as one.
    /// `indicator` says how value and limits are computed, for recomputing them from
    /// rounded bed days.
    pub fn new(
        results: Vec<(Params, Keeps, Table)>,
        rules: &Rules,
        indicator: &Indicator,
    ) -> Protected {
        let mut reached: Vec<Reached> = results
            .into_iter()
            .map(|(params, keeps, mut table)| {
                keeps.apply(&mut table);
                Reached { params, table }
            })
            .collect();
        let outcome = universe::protect(&mut reached, rules);
        if let Some(column) = &rules.bed_days {
            for r in &mut reached {
                round_bed_days(
                    &mut r.table,
                    column,
                    indicator.estimate,
                    indicator.multiplier,
                );
            }
        }
        let mut groups = HashMap::new();
        for r in &reached {
            let t = &r.table;
            let (Some(o), Some(g)) = (t.col("org_code"), t.col("peer_group")) else {
                continue;
            };
            let grouping = r.params.get("grouping").cloned().unwrap_or_default();
            for row in &t.rows {
                if let (Some(org), Some(group)) = (row[o].as_str(), row[g].as_str()) {
                    groups.insert((grouping.clone(), org.to_string()), group.to_string());
                }
            }
        }
        Protected {
            results: reached.into_iter().map(|r| (r.params, r.table)).collect(),
            groups,
            outcome,
        }
    }

    /// The protected rows that the indicator run with `asked` returns: those of its
    /// wide run, narrowed as the catalogue's SQL narrows them (`practice` keeps its own
    /// rows; `org` keeps the organisation's rows at level `org`, its peer group's at
    /// level `peer_group`, and every row nationally). `None` when no dashboard reaches
    /// the wide run beyond analysts, or the organisation's peer group is unknown.
    pub fn rows(&self, asked: &Params, wide: &Params) -> Option<Table> {
        let table = self.results.get(wide)?;
        let practice = asked.get("practice").filter(|p| *p != "all");
        let org = asked.get("org").filter(|o| !o.is_empty());
        let level = asked.get("level").map(String::as_str).unwrap_or("org");
        let group = match (org, level) {
            (Some(org), "peer_group") => {
                let grouping = asked.get("grouping").cloned().unwrap_or_default();
                Some(self.groups.get(&(grouping, org.clone()))?.clone())
            }
            _ => None,
        };
        let col = |name: &str| table.col(name);
        let (practice_col, org_col, group_col) =
            (col("practice"), col("org_code"), col("peer_group"));
        let rows = table
            .rows
            .iter()
            .filter(|row| {
                let is = |c: Option<usize>, v: &str| c.is_some_and(|c| row[c].as_str() == Some(v));
                practice.is_none_or(|p| is(practice_col, p))
                    && match (org, level) {
                        (Some(org), "org") => is(org_col, org),
                        (Some(_), "peer_group") => {
                            group.as_deref().is_some_and(|g| is(group_col, g))
                        }
                        _ => true,
                    }
            })
            .cloned()
            .collect();
        Some(Table {
            columns: table.columns.clone(),
            rows,
        })
    }

    /// The parameter sets it holds.
    pub fn reached(&self) -> BTreeSet<&Params> {
        self.results.keys().collect()
    }
}
