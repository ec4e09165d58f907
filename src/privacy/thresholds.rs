//! Every threshold of the privacy rules, with the words that say it, in one place: what
//! a reviewer checks against DESIGN.md section 8 and docs/privacy.md, and what a
//! programme that wants other thresholds changes. The words are literal (a constant
//! cannot be formatted); a test holds them to the numbers.

/// Counts from 1 to `MIN_COUNT - 1` are withheld (**contract**: 1–5 shown as `<6`).
pub const MIN_COUNT: i64 = 6;
/// How a withheld small count is shown, and why its row is withheld.
pub const SMALL: &str = "<6";

/// Rates on fewer bed days than this are withheld.
pub const MIN_BED_DAYS: f64 = 100.0;
/// Why a rate on too few bed days is withheld.
pub const FEW_BED_DAYS: &str = "bed days < 100";

/// Peer groups shown beyond analysts pool at least this many organisations.
pub const MIN_GROUP_MEMBERS: usize = 3;
/// Why a pooled row is withheld: too few members to hide any one of them.
pub const SMALL_GROUP: &str = "peer group < 3";

/// Jurisdiction totals shown beyond analysts pool at least this many organisations, and
/// so do the organisations outside the jurisdiction (whose total is every
/// organisation's minus this one's).
pub const MIN_JURISDICTION_MEMBERS: usize = 5;
/// Why a jurisdiction's pooled row is withheld: with so few organisations, its total and
/// the organisations' coded rows would show by subset sums which peer codes are its
/// members (and published bed numbers then which is which).
pub const SMALL_JURISDICTION: &str = "jurisdiction < 5 organisations";

/// Significant figures bed days keep beyond analysts.
pub const BED_DAY_FIGURES: i32 = 2;
/// What a chart says when its bed days were rounded.
pub const ROUNDED_BED_DAYS: &str =
    "bed days rounded to 2 significant figures, rates computed from them";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_say_the_numbers() {
        assert_eq!(SMALL, format!("<{MIN_COUNT}"));
        assert_eq!(FEW_BED_DAYS, format!("bed days < {MIN_BED_DAYS}"));
        assert_eq!(SMALL_GROUP, format!("peer group < {MIN_GROUP_MEMBERS}"));
        assert_eq!(
            SMALL_JURISDICTION,
            format!("jurisdiction < {MIN_JURISDICTION_MEMBERS} organisations")
        );
        assert!(ROUNDED_BED_DAYS.starts_with(&format!("bed days rounded to {BED_DAY_FIGURES} ")));
    }
}
