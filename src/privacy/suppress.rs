//! Small-cell suppression (DESIGN.md section 8, **contract**): counts of 1–5 are shown as
//! `<6`, rates on fewer than 100 bed days are withheld, and complementary suppression
//! makes sure no withheld cell can be recovered by subtracting the cells beside it from a
//! total: across ethnic groups (with their "all" row), across organisations (whose
//! jurisdiction total is published), across practices, and across the months or
//! quarters of a year (whose yearly figure is published).

use std::collections::BTreeMap;

use super::thresholds::{MIN_BED_DAYS, MIN_COUNT};
use crate::table::{Cell, Table};

/// What is withheld.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// Counts from 1 to `min_count - 1` are withheld (6 → 1–5).
    pub min_count: i64,
    /// Rates on fewer bed days than this are withheld.
    pub min_bed_days: f64,
    /// Columns holding counts of people or events.
    pub counts: Vec<String>,
    /// The column holding bed days, when the rate is per bed day.
    pub bed_days: Option<String>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            min_count: MIN_COUNT,
            min_bed_days: MIN_BED_DAYS,
            counts: ["numerator", "comparison_numerator"]
                .map(String::from)
                .to_vec(),
            bed_days: None,
        }
    }
}

/// The column ako adds to say why a row's numbers are withheld.
pub const REASON: &str = "suppressed";
pub use super::thresholds::{FEW_BED_DAYS, SMALL};
pub const COMPLEMENTARY: &str = "complementary";

/// Dimensions whose values add up to a total someone can see.
const MARGINS: [&str; 7] = [
    "ethnicity",
    "indigenous_status",
    "org_code",
    "practice",
    "age_band",
    "peer_group",
    "period",
];

/// Text columns that are not part of a row's identity.
const NOT_KEYS: [&str; 2] = ["org_name", REASON];

/// Suppresses in place and returns the number of rows withheld. Every number in a
/// withheld row is removed (a rate with its denominator gives the count back); text
/// columns stay so the row still says what it is about.
pub fn suppress(table: &mut Table, rules: &Rules) -> usize {
    let count_cols: Vec<usize> = rules.counts.iter().filter_map(|c| table.col(c)).collect();
    let bed_col = rules.bed_days.as_deref().and_then(|c| table.col(c));
    let mut reason: Vec<Option<&'static str>> = table
        .rows
        .iter()
        .map(|row| {
            let small = count_cols.iter().any(|&c| {
                row[c]
                    .as_f64()
                    .is_some_and(|v| v > 0.0 && v < rules.min_count as f64)
            });
            let few_days =
                bed_col.is_some_and(|c| row[c].as_f64().is_some_and(|d| d < rules.min_bed_days));
            if small {
                Some(SMALL)
            } else if few_days {
                Some(FEW_BED_DAYS)
            } else {
                None
            }
        })
        .collect();
    complement(table, &count_cols, &mut reason);
    withhold(table, &reason)
}

/// Removes every number of each row with a reason (a rate with its denominator gives
/// the count back) and records the reason in the `suppressed` column; returns how many
/// rows it withheld.
pub(super) fn withhold(table: &mut Table, reasons: &[Option<&str>]) -> usize {
    let reason_col = match table.col(REASON) {
        Some(c) => c,
        None => {
            table.columns.push(REASON.into());
            for row in &mut table.rows {
                row.push(Cell::Null);
            }
            table.columns.len() - 1
        }
    };
    let mut n = 0;
    for (row, why) in table.rows.iter_mut().zip(reasons) {
        if let Some(why) = why {
            n += 1;
            for cell in row.iter_mut() {
                if cell.is_number() {
                    *cell = Cell::Null;
                }
            }
            row[reason_col] = Cell::Text((*why).to_string());
        }
    }
    n
}

/// Adds complementary suppressions until, along every margin, each group of rows that
/// adds up to a visible total has none or at least two withheld.
fn complement(table: &Table, count_cols: &[usize], reason: &mut [Option<&'static str>]) {
    let Some(&size_col) = count_cols.first() else {
        return;
    };
    let keys: Vec<usize> = (0..table.columns.len())
        .filter(|&c| {
            !NOT_KEYS.contains(&table.columns[c].as_str())
                && table.rows.iter().any(|r| matches!(r[c], Cell::Text(_)))
        })
        .collect();
    let margins: Vec<usize> = MARGINS
        .iter()
        .filter_map(|m| table.col(m))
        .filter(|c| keys.contains(c))
        .collect();
    loop {
        let mut changed = false;
        for &margin in &margins {
            let mut groups: BTreeMap<Vec<String>, Vec<usize>> = BTreeMap::new();
            for (i, row) in table.rows.iter().enumerate() {
                let key: Vec<String> = keys
                    .iter()
                    .map(|&k| {
                        let text = row[k].display();
                        if k == margin {
                            // Months and quarters add up to their calendar year.
                            if table.columns[k] == "period" {
                                text.chars().take(4).collect()
                            } else {
                                String::new()
                            }
                        } else {
                            text
                        }
                    })
                    .collect();
                groups.entry(key).or_default().push(i);
            }
            for members in groups.values() {
                let hidden = members.iter().filter(|&&i| reason[i].is_some()).count();
                if hidden != 1 || members.len() < 2 {
                    continue;
                }
                // The smallest visible cell hides the least information.
                let pick = members
                    .iter()
                    .filter(|&&i| reason[i].is_none())
                    .min_by(|&&a, &&b| {
                        let va = table.rows[a][size_col].as_f64().unwrap_or(f64::INFINITY);
                        let vb = table.rows[b][size_col].as_f64().unwrap_or(f64::INFINITY);
                        va.total_cmp(&vb).then(a.cmp(&b))
                    });
                if let Some(&i) = pick {
                    reason[i] = Some(COMPLEMENTARY);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(columns: &[&str], rows: &[(&[&str], &[f64])]) -> Table {
        Table {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: rows
                .iter()
                .map(|(text, nums)| {
                    text.iter()
                        .map(|t| Cell::Text(t.to_string()))
                        .chain(nums.iter().map(|n| Cell::Float(*n)))
                        .collect()
                })
                .collect(),
        }
    }

    fn reasons(t: &Table) -> Vec<Option<&str>> {
        let c = t.col(REASON).unwrap();
        t.rows.iter().map(|r| r[c].as_str()).collect()
    }

    #[test]
    fn a_small_group_and_its_smallest_neighbour_are_withheld() {
        let cols = [
            "org_code",
            "period",
            "ethnicity",
            "numerator",
            "denominator",
            "value",
        ];
        let mut t = table(
            &cols,
            &[
                (&["TST", "2024-03", "maori"], &[3.0, 30.0, 10.0]),
                (&["TST", "2024-03", "pacific"], &[12.0, 40.0, 30.0]),
                (&["TST", "2024-03", "other"], &[40.0, 200.0, 20.0]),
                (&["TST", "2024-03", "all"], &[55.0, 270.0, 20.37]),
                // Another year: its months do not add up with 2024's.
                (&["TST", "2023-04", "maori"], &[0.0, 30.0, 0.0]),
                (&["TST", "2023-04", "all"], &[50.0, 270.0, 18.5]),
            ],
        );
        let n = suppress(&mut t, &Rules::default());
        assert_eq!(n, 2);
        assert_eq!(
            reasons(&t),
            [Some(SMALL), Some(COMPLEMENTARY), None, None, None, None]
        );
        // all − other = 15 = Māori + Pacific: neither can be recovered.
        for r in 0..2 {
            assert_eq!(t.number(r, "numerator"), None);
            assert_eq!(t.number(r, "value"), None);
            assert_eq!(t.number(r, "denominator"), None);
        }
        assert_eq!(t.text(0, "ethnicity"), Some("maori"), "labels stay");
        // A zero is not a small count.
        assert_eq!(t.number(4, "numerator"), Some(0.0));
    }

    #[test]
    fn rates_on_few_bed_days_are_withheld_and_months_protect_their_year() {
        let cols = ["org_code", "period", "numerator", "denominator"];
        let mut t = table(
            &cols,
            &[
                (&["TST", "2024-01"], &[2.0, 900.0]),
                (&["TST", "2024-02"], &[10.0, 900.0]),
                (&["TST", "2024-03"], &[20.0, 900.0]),
                (&["TST", "2025-01"], &[9.0, 80.0]),
                (&["TST", "2025-02"], &[30.0, 900.0]),
            ],
        );
        let rules = Rules {
            bed_days: Some("denominator".into()),
            ..Rules::default()
        };
        assert_eq!(suppress(&mut t, &rules), 4);
        assert_eq!(
            reasons(&t),
            [
                Some(SMALL),
                Some(COMPLEMENTARY),
                None,
                Some(FEW_BED_DAYS),
                Some(COMPLEMENTARY)
            ]
        );
    }

    #[test]
    fn complementary_suppression_holds_along_every_margin() {
        let cols = ["org_code", "period", "ethnicity", "numerator"];
        let mut t = table(
            &cols,
            &[
                (&["A", "2024", "x"], &[3.0]),
                (&["A", "2024", "y"], &[50.0]),
                (&["B", "2024", "x"], &[40.0]),
                (&["B", "2024", "y"], &[60.0]),
                (&["C", "2024", "x"], &[70.0]),
                (&["C", "2024", "y"], &[80.0]),
            ],
        );
        suppress(&mut t, &Rules::default());
        // A-x small; A-y hides it within A; then x and y each need a second cell.
        assert_eq!(
            reasons(&t),
            [
                Some(SMALL),
                Some(COMPLEMENTARY),
                Some(COMPLEMENTARY),
                Some(COMPLEMENTARY),
                None,
                None
            ]
        );
        let hidden = |pred: &dyn Fn(&[Cell]) -> bool| {
            t.rows
                .iter()
                .filter(|r| pred(r) && r[4] != Cell::Null)
                .count()
        };
        for v in ["x", "y"] {
            assert_ne!(hidden(&|r| r[2].as_str() == Some(v)), 1);
        }
        for o in ["A", "B", "C"] {
            assert_ne!(hidden(&|r| r[0].as_str() == Some(o)), 1);
        }
    }
}
