//! Suppression that holds across responses (DESIGN.md section 8, **contract**): every
//! result of one indicator that anyone but an analyst can reach, at every grain, level,
//! grouping and practice, suppressed together as one table before anything is filtered.
//!
//! Each row is a sum over *pieces*: one organisation, one month, one value of each other
//! dimension. A quarter covers its months, a peer group its members, a jurisdiction its
//! organisations, `all` every ethnic group. Two rows with the same pieces are the same
//! cell whichever route serves them, so they are withheld together. A set of rows whose
//! pieces split another row's pieces is a margin: complementary suppression makes sure
//! none of them is the only one withheld. Then [`audit`] checks the whole system exactly
//! (a withheld count must not be a linear combination of shown ones) and withholds more
//! until none is. `docs/privacy.md` lists the margins this finds.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::audit;
use super::suppress::{COMPLEMENTARY, FEW_BED_DAYS, Rules, SMALL};
use crate::table::{Cell, Table};

use super::thresholds::{
    MIN_GROUP_MEMBERS, MIN_JURISDICTION_MEMBERS, SMALL_GROUP, SMALL_JURISDICTION,
};

/// Columns that say what a row is about. Any other column (a flag such as
/// `extract_received`, a rule's wording) never splits a margin.
pub const DIMENSIONS: [&str; 11] = [
    "jurisdiction",
    "org_code",
    "peer_group",
    "period",
    "practice",
    "ethnicity",
    "indigenous_status",
    "age_band",
    "sex",
    "setting",
    "rule_id",
];

/// Dimensions other than who and when, matched value for value (`all` is every value).
const OTHER: [&str; 7] = [
    "practice",
    "ethnicity",
    "indigenous_status",
    "age_band",
    "sex",
    "setting",
    "rule_id",
];

/// The value of a dimension that stands for every other value.
const ALL: &str = "all";

/// One result reachable beyond analysts: the parameters it ran with and its rows.
#[derive(Debug, Clone)]
pub struct Reached {
    pub params: BTreeMap<String, String>,
    pub table: Table,
}

/// A row's identity: its dimension values as text (null as empty).
pub fn row_key(columns: &[String], row: &[Cell]) -> Vec<String> {
    DIMENSIONS
        .iter()
        .map(|d| {
            columns
                .iter()
                .position(|c| c == d)
                .map(|c| row[c].display())
                .unwrap_or_default()
        })
        .collect()
}

pub use crate::period::months;

/// Who belongs where, learned from organisation-level rows.
#[derive(Default)]
struct Members {
    jurisdiction: BTreeMap<String, BTreeSet<String>>,
    /// (grouping, peer group) → organisations.
    group: BTreeMap<(String, String), BTreeSet<String>>,
    all: BTreeSet<String>,
}

impl Members {
    fn learn(results: &[Reached]) -> Members {
        let mut m = Members::default();
        for r in results {
            let t = &r.table;
            let grouping = r.params.get("grouping").cloned().unwrap_or_default();
            let Some(oc) = t.col("org_code") else {
                continue;
            };
            for row in &t.rows {
                let Some(org) = row[oc].as_str() else {
                    continue;
                };
                m.all.insert(org.to_string());
                if let Some(j) = t.col("jurisdiction").and_then(|c| row[c].as_str()) {
                    m.jurisdiction
                        .entry(j.to_string())
                        .or_default()
                        .insert(org.to_string());
                }
                if let Some(g) = t.col("peer_group").and_then(|c| row[c].as_str()) {
                    m.group
                        .entry((grouping.clone(), g.to_string()))
                        .or_default()
                        .insert(org.to_string());
                }
            }
        }
        m
    }

    /// The organisations a row is about, and why its pooled line is too small to show
    /// (a peer group or jurisdiction with too few members), if it is.
    fn entities(
        &self,
        t: &Table,
        row: &[Cell],
        grouping: &str,
    ) -> (Vec<String>, Option<&'static str>) {
        let text = |name: &str| t.col(name).and_then(|c| row[c].as_str());
        if let Some(org) = text("org_code") {
            return (vec![org.to_string()], None);
        }
        if let Some(g) = text("peer_group") {
            return match self.group.get(&(grouping.to_string(), g.to_string())) {
                Some(m) => (
                    m.iter().cloned().collect(),
                    (m.len() < MIN_GROUP_MEMBERS).then_some(SMALL_GROUP),
                ),
                None => (vec![format!("peer group {grouping} {g}")], None),
            };
        }
        if let Some(j) = text("jurisdiction") {
            return match self.jurisdiction.get(j) {
                Some(m) => {
                    let rest = self.all.len().saturating_sub(m.len());
                    let small = m.len() < MIN_JURISDICTION_MEMBERS
                        || (rest > 0 && rest < MIN_JURISDICTION_MEMBERS);
                    (
                        m.iter().cloned().collect(),
                        small.then_some(SMALL_JURISDICTION),
                    )
                }
                None => (vec![format!("jurisdiction {j}")], None),
            };
        }
        if self.all.is_empty() {
            (vec!["everyone".into()], None)
        } else {
            (self.all.iter().cloned().collect(), None)
        }
    }
}

/// What suppression did to the reachable results.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Outcome {
    /// Distinct cells (sets of pieces) with a count.
    pub cells: usize,
    /// Cells withheld as small or on few bed days.
    pub primary: usize,
    /// Cells withheld so that no margin has exactly one withheld.
    pub complementary: usize,
    /// Cells withheld because the exact audit found a withheld count determined.
    pub audit: usize,
    /// Margins found between cells.
    pub margins: usize,
}

/// A row with a count: its cell, and why it pools too few organisations to show, if it
/// does. A small pool's line is withheld from view, but it is no secret (its members are
/// shown one by one), so it plays no part in complementary suppression.
#[derive(Clone, Copy)]
struct RowCell {
    cell: usize,
    small_pool: Option<&'static str>,
}

struct Cells {
    /// Each cell's pieces, sorted.
    pieces: Vec<Vec<usize>>,
    /// Each cell's size (its first count), for choosing the least informative
    /// complement.
    size: Vec<f64>,
    /// The shapes of the rows that are this cell.
    shapes: Vec<BTreeSet<usize>>,
    /// Pieces known to be empty (an organisation-month that never arrived).
    known: BTreeSet<usize>,
    npieces: usize,
}

/// Suppresses every reachable result of one indicator as one. Withheld rows lose every
/// number and say why in the `suppressed` column, as [`super::suppress::suppress`] does.
pub fn protect(results: &mut [Reached], rules: &Rules) -> Outcome {
    let members = Members::learn(results);
    // Values each other dimension takes, for `all` and for a missing column.
    let mut values: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for r in results.iter() {
        for d in OTHER {
            if let Some(c) = r.table.col(d) {
                for row in &r.table.rows {
                    if let Some(v) = row[c].as_str().filter(|v| *v != ALL) {
                        values.entry(d).or_default().insert(v.to_string());
                    }
                }
            }
        }
    }
    let mut piece_ids: HashMap<Vec<String>, usize> = HashMap::new();
    let mut shape_ids: HashMap<Vec<String>, usize> = HashMap::new();
    let mut cell_ids: HashMap<Vec<usize>, usize> = HashMap::new();
    let mut cells = Cells {
        pieces: Vec::new(),
        size: Vec::new(),
        shapes: Vec::new(),
        known: BTreeSet::new(),
        npieces: 0,
    };
    let mut primary: Vec<Option<&'static str>> = Vec::new();
    // For every row of every result: its cell, if it has a count.
    let mut row_cell: Vec<Vec<Option<RowCell>>> = Vec::with_capacity(results.len());
    for r in results.iter() {
        let t = &r.table;
        let grouping = r.params.get("grouping").map(String::as_str).unwrap_or("");
        let count_cols: Vec<usize> = rules.counts.iter().filter_map(|c| t.col(c)).collect();
        let bed_col = rules.bed_days.as_deref().and_then(|c| t.col(c));
        let mut of_rows = Vec::with_capacity(t.rows.len());
        for row in &t.rows {
            let (entities, small_pool) = members.entities(t, row, grouping);
            let period = t
                .col("period")
                .and_then(|c| row[c].as_str())
                .map(months)
                .unwrap_or_else(|| vec![String::new()]);
            let mut axes: Vec<Vec<String>> = vec![entities, period];
            let mut shape = vec![
                if t.col("org_code").is_some_and(|c| !row[c].is_null()) {
                    "org".to_string()
                } else if t.col("peer_group").is_some_and(|c| !row[c].is_null()) {
                    format!("group {grouping}")
                } else if t.col("jurisdiction").is_some_and(|c| !row[c].is_null()) {
                    "jurisdiction".to_string()
                } else {
                    "everyone".to_string()
                },
                t.col("period")
                    .and_then(|c| row[c].as_str())
                    .map(period_kind)
                    .unwrap_or("none")
                    .to_string(),
            ];
            for d in OTHER {
                let Some(c) = t.col(d) else { continue };
                match row[c].as_str() {
                    Some(v) if v != ALL => {
                        axes.push(vec![v.to_string()]);
                        shape.push(format!("{d}="));
                    }
                    _ => {
                        axes.push(
                            values
                                .get(d)
                                .map_or_else(Vec::new, |s| s.iter().cloned().collect()),
                        );
                        shape.push(format!("{d}=all"));
                    }
                }
            }
            let mut pieces: Vec<usize> = product(&axes)
                .into_iter()
                .map(|key| {
                    let n = piece_ids.len();
                    *piece_ids.entry(key).or_insert(n)
                })
                .collect();
            pieces.sort_unstable();
            pieces.dedup();
            let counts: Vec<Option<f64>> = count_cols.iter().map(|&c| row[c].as_f64()).collect();
            let Some(Some(size)) = counts.first().copied() else {
                // No count (an extract that never arrived): nothing to hide, and a
                // single piece of it is known to add nothing to any pooled total.
                if let [only] = pieces.as_slice() {
                    cells.known.insert(*only);
                }
                of_rows.push(None);
                continue;
            };
            let shape_id = {
                let n = shape_ids.len();
                *shape_ids.entry(shape).or_insert(n)
            };
            let id = match cell_ids.get(&pieces) {
                Some(&id) => id,
                None => {
                    let id = cells.pieces.len();
                    cell_ids.insert(pieces.clone(), id);
                    cells.pieces.push(pieces);
                    cells.size.push(size);
                    cells.shapes.push(BTreeSet::new());
                    primary.push(None);
                    id
                }
            };
            cells.shapes[id].insert(shape_id);
            let why = primary_reason(&counts, bed_col.and_then(|c| row[c].as_f64()), rules);
            if primary[id].is_none() {
                primary[id] = why;
            }
            of_rows.push(Some(RowCell {
                cell: id,
                small_pool,
            }));
        }
        row_cell.push(of_rows);
    }
    cells.npieces = piece_ids.len();
    let (hidden, outcome) = withheld_cells(&cells, primary);
    for (r, of_rows) in results.iter_mut().zip(&row_cell) {
        withhold(&mut r.table, of_rows, &hidden);
    }
    outcome
}

/// Why a row's own numbers are withheld, if they are: a count of 1 to `min_count - 1`,
/// or a rate on fewer bed days than `min_bed_days`.
fn primary_reason(
    counts: &[Option<f64>],
    bed_days: Option<f64>,
    rules: &Rules,
) -> Option<&'static str> {
    let small = counts
        .iter()
        .flatten()
        .any(|&v| v > 0.0 && v < rules.min_count as f64);
    if small {
        Some(SMALL)
    } else if bed_days.is_some_and(|d| d < rules.min_bed_days) {
        Some(FEW_BED_DAYS)
    } else {
        None
    }
}

/// From the primary withholdings to the final ones: complementary suppression on every
/// margin, then the exact audit, repaired until it finds nothing determined.
fn withheld_cells(
    cells: &Cells,
    primary: Vec<Option<&'static str>>,
) -> (Vec<Option<&'static str>>, Outcome) {
    let margins = margins(cells);
    let mut hidden = primary;
    let mut outcome = Outcome {
        cells: cells.pieces.len(),
        primary: hidden.iter().flatten().count(),
        margins: margins.len(),
        ..Outcome::default()
    };
    loop {
        outcome.complementary += complement(cells, &margins, &mut hidden);
        let leaks = leaks(cells, &hidden);
        if leaks.is_empty() {
            break;
        }
        for h in leaks {
            if let Some(c) = repair(cells, &margins, &hidden, h) {
                hidden[c] = Some(COMPLEMENTARY);
                outcome.audit += 1;
            }
        }
    }
    (hidden, outcome)
}

fn period_kind(p: &str) -> &'static str {
    match months(p).len() {
        1 if p.len() == 7 => "month",
        3 => "quarter",
        12 if p.contains('/') => "financial year",
        12 => "year",
        _ => "other",
    }
}

/// Every combination of one value from each axis.
fn product(axes: &[Vec<String>]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = vec![Vec::new()];
    for axis in axes {
        let mut next = Vec::with_capacity(out.len() * axis.len().max(1));
        for prefix in &out {
            for v in axis {
                let mut k = prefix.clone();
                k.push(v.clone());
                next.push(k);
            }
        }
        out = next;
    }
    out
}

/// A margin: a cell and the cells of one shape that split its pieces exactly.
struct Margin {
    total: usize,
    parts: Vec<usize>,
}

fn margins(cells: &Cells) -> Vec<Margin> {
    // For each shape, which cell of that shape holds each piece.
    let mut by_shape: HashMap<(usize, usize), usize> = HashMap::new();
    let mut shapes = BTreeSet::new();
    for (id, pieces) in cells.pieces.iter().enumerate() {
        for &s in &cells.shapes[id] {
            shapes.insert(s);
            for &p in pieces {
                by_shape.insert((s, p), id);
            }
        }
    }
    let mut out = Vec::new();
    for (total, pieces) in cells.pieces.iter().enumerate() {
        if pieces.len() < 2 {
            continue;
        }
        for &s in &shapes {
            if cells.shapes[total].contains(&s) {
                continue;
            }
            let mut parts: Vec<usize> = Vec::new();
            let mut complete = true;
            for &p in pieces {
                match by_shape.get(&(s, p)) {
                    Some(&c) => parts.push(c),
                    None if cells.known.contains(&p) => {}
                    None => {
                        complete = false;
                        break;
                    }
                }
            }
            parts.sort_unstable();
            parts.dedup();
            if !complete || parts.len() < 2 {
                continue;
            }
            let inside = parts.iter().all(|&c| {
                cells.pieces[c]
                    .iter()
                    .all(|p| pieces.binary_search(p).is_ok())
            });
            if inside {
                out.push(Margin { total, parts });
            }
        }
    }
    out
}

/// Withholds the smallest shown part of every margin with exactly one withheld member,
/// until none is left; returns how many it withheld.
fn complement(cells: &Cells, margins: &[Margin], hidden: &mut [Option<&'static str>]) -> usize {
    let mut added = 0;
    loop {
        let mut changed = false;
        for m in margins {
            let members = std::iter::once(m.total).chain(m.parts.iter().copied());
            if members.filter(|&c| hidden[c].is_some()).count() != 1 {
                continue;
            }
            if let Some(c) = smallest_shown(cells, hidden, m.parts.iter().copied()) {
                hidden[c] = Some(COMPLEMENTARY);
                added += 1;
                changed = true;
            }
        }
        if !changed {
            return added;
        }
    }
}

fn smallest_shown(
    cells: &Cells,
    hidden: &[Option<&'static str>],
    candidates: impl Iterator<Item = usize>,
) -> Option<usize> {
    candidates
        .filter(|&c| hidden[c].is_none())
        .min_by(|&a, &b| cells.size[a].total_cmp(&cells.size[b]).then(a.cmp(&b)))
}

/// Withheld cells whose count follows from the shown ones.
fn leaks(cells: &Cells, hidden: &[Option<&'static str>]) -> Vec<usize> {
    let mut shown: Vec<Vec<usize>> = cells.known.iter().map(|&p| vec![p]).collect();
    let mut withheld = Vec::new();
    let mut ids = Vec::new();
    for (id, pieces) in cells.pieces.iter().enumerate() {
        if hidden[id].is_some() {
            withheld.push(pieces.clone());
            ids.push(id);
        } else {
            shown.push(pieces.clone());
        }
    }
    audit::determined(cells.npieces, &shown, &withheld)
        .into_iter()
        .zip(ids)
        .filter_map(|(d, id)| d.then_some(id))
        .collect()
}

/// The cell to withhold so that `leak` is no longer determined: preferably a shown
/// part beside it in one of its margins, else the smallest shown cell sharing a piece.
fn repair(
    cells: &Cells,
    margins: &[Margin],
    hidden: &[Option<&'static str>],
    leak: usize,
) -> Option<usize> {
    let beside = margins
        .iter()
        .filter(|m| m.total == leak || m.parts.contains(&leak))
        .flat_map(|m| m.parts.iter().copied());
    smallest_shown(cells, hidden, beside).or_else(|| {
        let mine = &cells.pieces[leak];
        smallest_shown(
            cells,
            hidden,
            (0..cells.pieces.len()).filter(|&c| {
                cells.pieces[c]
                    .iter()
                    .any(|p| mine.binary_search(p).is_ok())
            }),
        )
    })
}

fn withhold(table: &mut Table, of_rows: &[Option<RowCell>], hidden: &[Option<&'static str>]) {
    let reasons: Vec<Option<&str>> = of_rows
        .iter()
        .map(|cell| cell.and_then(|c| hidden[c.cell].or(c.small_pool)))
        .collect();
    super::suppress::withhold(table, &reasons);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::privacy::suppress::REASON;

    fn table(columns: &[&str], rows: &[(&[&str], &[f64])]) -> Table {
        Table {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: rows
                .iter()
                .map(|(text, nums)| {
                    text.iter()
                        .map(|t| {
                            if t.is_empty() {
                                Cell::Null
                            } else {
                                Cell::Text(t.to_string())
                            }
                        })
                        .chain(nums.iter().map(|n| Cell::Float(*n)))
                        .collect()
                })
                .collect(),
        }
    }

    fn reached(grain: &str, t: Table) -> Reached {
        Reached {
            params: [("grain".to_string(), grain.to_string())].into(),
            table: t,
        }
    }

    fn reasons(t: &Table) -> Vec<Option<&str>> {
        let c = t.col(REASON).unwrap();
        t.rows.iter().map(|r| r[c].as_str()).collect()
    }

    #[test]
    fn periods_cover_their_months() {
        assert_eq!(months("2024-03"), ["2024-03"]);
        assert_eq!(months("2024-Q2"), ["2024-04", "2024-05", "2024-06"]);
        assert_eq!(months("2024").len(), 12);
        let fy = months("2023/24");
        assert_eq!(
            (fy.first().unwrap().as_str(), fy.last().unwrap().as_str()),
            ("2023-07", "2024-06")
        );
        assert_eq!(months("soon"), ["soon"]);
    }

    #[test]
    fn a_quarter_less_its_shown_months_does_not_give_a_withheld_month_back() {
        let cols = ["org_code", "period", "numerator"];
        let monthly = table(
            &cols,
            &[
                (&["A", "2024-01"], &[3.0]),
                (&["A", "2024-02"], &[20.0]),
                (&["A", "2024-03"], &[30.0]),
            ],
        );
        let quarterly = table(&cols, &[(&["A", "2024-Q1"], &[53.0])]);
        let mut results = vec![reached("month", monthly), reached("quarter", quarterly)];
        let out = protect(&mut results, &Rules::default());
        // Suppressed alone, each table would show the quarter and two months, and
        // 53 − 20 − 30 = 3. Together, February is withheld too.
        assert_eq!(
            reasons(&results[0].table),
            [Some(SMALL), Some(COMPLEMENTARY), None]
        );
        assert_eq!(reasons(&results[1].table), [None]);
        assert_eq!(results[1].table.number(0, "numerator"), Some(53.0));
        assert_eq!(out.primary, 1);
        assert_eq!(out.complementary, 1);
    }

    #[test]
    fn a_group_and_its_jurisdiction_are_margins_of_their_members() {
        let cols = [
            "jurisdiction",
            "org_code",
            "peer_group",
            "period",
            "numerator",
        ];
        let orgs = table(
            &cols,
            &[
                (&["NZ", "A", "g1", "2024"], &[2.0]),
                (&["NZ", "B", "g1", "2024"], &[40.0]),
                (&["NZ", "C", "g1", "2024"], &[50.0]),
                (&["NSW", "D", "g2", "2024"], &[60.0]),
                (&["NSW", "E", "g2", "2024"], &[70.0]),
            ],
        );
        let groups = table(
            &cols,
            &[
                (&["", "", "g1", "2024"], &[92.0]),
                (&["", "", "g2", "2024"], &[130.0]),
            ],
        );
        let national = table(
            &cols,
            &[
                (&["NZ", "", "", "2024"], &[92.0]),
                (&["NSW", "", "", "2024"], &[130.0]),
            ],
        );
        let mut results = vec![
            reached("year", orgs),
            reached("year", groups),
            reached("year", national),
        ];
        let out = protect(&mut results, &Rules::default());
        // g1 and NZ have the same members: one cell, one margin of A, B and C.
        assert_eq!(out.cells, 7);
        assert_eq!(
            reasons(&results[0].table),
            [Some(SMALL), Some(COMPLEMENTARY), None, None, None]
        );
        // g2 has two members: its pooled line is not shown beyond analysts. It is no
        // secret (D and E are shown), so it does not make another cell withheld.
        assert_eq!(reasons(&results[1].table), [None, Some(SMALL_GROUP)]);
        // Jurisdictions of three and two organisations: their totals would tell by
        // subset sums which peer codes are theirs.
        assert_eq!(
            reasons(&results[2].table),
            [Some(SMALL_JURISDICTION), Some(SMALL_JURISDICTION)]
        );
    }

    #[test]
    fn a_jurisdiction_total_is_shown_only_when_it_and_the_rest_are_not_small() {
        let cols = ["jurisdiction", "org_code", "period", "numerator"];
        let run = |nz: usize, au: usize| {
            let mut rows: Vec<(Vec<String>, f64)> = Vec::new();
            for (j, n) in [("NZ", nz), ("NSW", au)] {
                for i in 0..n {
                    rows.push((vec![j.into(), format!("{j}{i}"), "2024".into()], 10.0));
                }
            }
            let orgs = Table {
                columns: cols.iter().map(|c| c.to_string()).collect(),
                rows: rows
                    .iter()
                    .map(|(t, x)| {
                        t.iter()
                            .map(|v| Cell::Text(v.clone()))
                            .chain([Cell::Float(*x)])
                            .collect()
                    })
                    .collect(),
            };
            let national = table(
                &cols,
                &[
                    (&["NZ", "", "2024"], &[10.0 * nz as f64]),
                    (&["NSW", "", "2024"], &[10.0 * au as f64]),
                ],
            );
            let mut results = vec![reached("year", orgs), reached("year", national)];
            protect(&mut results, &Rules::default());
            reasons(&results[1].table)
                .into_iter()
                .map(|r| r.map(String::from))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(6, 5), [None, None]);
        // NSW's four are too few; NZ's total is every organisation's less NSW's.
        let small = Some(SMALL_JURISDICTION.to_string());
        assert_eq!(run(20, 4), [small.clone(), small]);
    }

    #[test]
    fn ethnic_groups_and_all_are_one_margin_across_results() {
        // Fetched alone, Pacific (4) would be withheld and Māori shown; fetched with
        // every group, "all" less the others gives Pacific back unless a second
        // group is withheld in the same table of cells.
        let cols = ["period", "ethnicity", "numerator"];
        let all_groups = table(
            &cols,
            &[
                (&["2024-01", "maori"], &[12.0]),
                (&["2024-01", "pacific"], &[4.0]),
                (&["2024-01", "other"], &[30.0]),
                (&["2024-01", "all"], &[46.0]),
            ],
        );
        let only_maori = table(&cols, &[(&["2024-01", "maori"], &[12.0])]);
        let mut results = vec![reached("month", all_groups), reached("month", only_maori)];
        protect(&mut results, &Rules::default());
        assert_eq!(
            reasons(&results[0].table),
            [Some(COMPLEMENTARY), Some(SMALL), None, None]
        );
        assert_eq!(reasons(&results[1].table), [Some(COMPLEMENTARY)]);
    }

    #[test]
    fn flags_rendered_as_text_do_not_split_a_margin() {
        let cols = ["org_code", "period", "extract_received", "numerator"];
        let t = table(
            &cols,
            &[
                (&["A", "2024-01", "true"], &[3.0]),
                (&["A", "2024-02", "false"], &[20.0]),
                (&["A", "2024-03", "true"], &[30.0]),
            ],
        );
        let q = table(&cols, &[(&["A", "2024-Q1", "false"], &[53.0])]);
        let mut results = vec![reached("month", t), reached("quarter", q)];
        protect(&mut results, &Rules::default());
        assert_eq!(
            reasons(&results[0].table),
            [Some(SMALL), Some(COMPLEMENTARY), None]
        );
    }

    #[test]
    fn the_audit_closes_a_leak_that_no_single_margin_shows() {
        // Two organisations by three months, with month and organisation totals.
        // Primary: A-Jan. Margins then withhold a second January and a second month
        // of A; what is left must still not determine any withheld cell, which only
        // the exact audit can confirm.
        let cols = ["org_code", "period", "numerator"];
        let cells = table(
            &cols,
            &[
                (&["A", "2024-01"], &[2.0]),
                (&["A", "2024-02"], &[10.0]),
                (&["A", "2024-03"], &[11.0]),
                (&["B", "2024-01"], &[12.0]),
                (&["B", "2024-02"], &[13.0]),
                (&["B", "2024-03"], &[14.0]),
            ],
        );
        let totals = table(
            &cols,
            &[(&["A", "2024-Q1"], &[23.0]), (&["B", "2024-Q1"], &[39.0])],
        );
        let national = table(
            &["period", "numerator"],
            &[
                (&["2024-01"], &[14.0]),
                (&["2024-02"], &[23.0]),
                (&["2024-03"], &[25.0]),
            ],
        );
        let mut results = vec![
            reached("month", cells),
            reached("quarter", totals),
            reached("month", national),
        ];
        protect(&mut results, &Rules::default());
        // Whatever was chosen, no withheld cell is determined by what is shown.
        let mut shown = Vec::new();
        let mut withheld = Vec::new();
        let piece = |org: &str, m: &str| -> Vec<usize> {
            let o = if org == "A" { 0 } else { 3 };
            let ms: Vec<usize> = match m {
                "2024-Q1" => vec![0, 1, 2],
                _ => vec![m[5..].parse::<usize>().unwrap() - 1],
            };
            ms.into_iter().map(|i| o + i).collect()
        };
        for (i, r) in results.iter().enumerate() {
            let t = &r.table;
            for (k, row) in t.rows.iter().enumerate() {
                let period = t.text(k, "period").unwrap();
                let pieces = if i == 2 {
                    let m = period[5..].parse::<usize>().unwrap() - 1;
                    vec![m, 3 + m]
                } else {
                    piece(t.text(k, "org_code").unwrap(), period)
                };
                if row[t.col(REASON).unwrap()].is_null() {
                    shown.push(pieces);
                } else {
                    withheld.push(pieces);
                }
            }
        }
        assert!(!withheld.is_empty());
        assert!(
            audit::determined(6, &shown, &withheld).iter().all(|d| !d),
            "{shown:?} {withheld:?}"
        );
    }
}
