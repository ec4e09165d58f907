//! Bed days as anyone but an analyst receives them. Occupied bed days follow an
//! organisation's published bed numbers closely, so an exact figure beside a peer code
//! would name the organisation; rounded to two significant figures it says only roughly
//! how large the service is. Rates and their limits are then computed from the rounded
//! figure, since an exact rate beside its count gives the exact bed days back.

use crate::table::{Cell, Table};

use super::thresholds::BED_DAY_FIGURES;

/// `x` to [`BED_DAY_FIGURES`] significant figures (12,345 → 12,000; 987 → 990; 54 → 54).
pub fn round(x: f64) -> f64 {
    if !x.is_finite() || x <= 0.0 {
        return x;
    }
    let step = 10f64.powi(x.log10().floor() as i32 + 1 - BED_DAY_FIGURES);
    if step <= 1.0 {
        return x.round();
    }
    (x / step).round() * step
}

/// Rounds every number of `column`; returns whether the table has that column.
pub fn round_column(table: &mut Table, column: &str) -> bool {
    let Some(c) = table.col(column) else {
        return false;
    };
    for row in &mut table.rows {
        if let Some(x) = row[c].as_f64() {
            row[c] = Cell::Float(round(x));
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_significant_figures() {
        assert_eq!(round(12_345.0), 12_000.0);
        assert_eq!(round(12_500.0), 13_000.0);
        assert_eq!(round(987.0), 990.0);
        assert_eq!(round(1_049.0), 1_000.0);
        assert_eq!(round(54.0), 54.0);
        assert_eq!(round(7.4), 7.0);
        assert_eq!(round(0.0), 0.0);
        assert_eq!(round(365_000.0), 370_000.0);
    }

    #[test]
    fn only_the_named_column_changes() {
        let mut t = Table {
            columns: vec!["numerator".into(), "denominator".into()],
            rows: vec![
                vec![Cell::Int(12), Cell::Float(3_456.0)],
                vec![Cell::Int(7), Cell::Null],
            ],
        };
        assert!(round_column(&mut t, "denominator"));
        assert_eq!(t.rows[0], vec![Cell::Int(12), Cell::Float(3_500.0)]);
        assert_eq!(t.rows[1], vec![Cell::Int(7), Cell::Null]);
        assert!(!round_column(&mut t, "bed_days"));
    }
}
