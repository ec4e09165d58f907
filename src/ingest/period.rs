//! The period an extract covers: declared in its file name, as a national collection's
//! monthly submissions are, or else the span of its episodes' months.
//!
//! Declared periods matter: a March extract that re-sends one corrected February
//! episode must replace that episode, not every February episode.

/// An inclusive span of months, `YYYY-MM` each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub from: String,
    pub to: String,
}

impl Period {
    /// True when `month` (`YYYY-MM`) falls within the period.
    pub fn contains(&self, month: &str) -> bool {
        self.from.as_str() <= month && month <= self.to.as_str()
    }
}

fn digits(s: &[u8]) -> Option<u32> {
    (!s.is_empty() && s.iter().all(u8::is_ascii_digit))
        .then(|| std::str::from_utf8(s).ok()?.parse().ok())?
}

fn month(year: u32, month: u32) -> String {
    format!("{year:04}-{month:02}")
}

/// The period a file name declares, if any: `FY2023-24` (July 2023 – June 2024),
/// `2024Q1` (a calendar quarter) or `2024-03` (a month), found anywhere in the stem
/// and not inside a longer run of digits.
pub fn declared(stem: &str) -> Option<Period> {
    let b = stem.as_bytes();
    let boundary = |i: usize| i >= b.len() || !b[i].is_ascii_digit();
    let starts = |i: usize| i == 0 || !b[i - 1].is_ascii_digit();
    for i in 0..b.len() {
        // FY2023-24
        if b[i..].len() >= 9
            && b[i..i + 2].eq_ignore_ascii_case(b"FY")
            && b[i + 6] == b'-'
            && boundary(i + 9)
            && let (Some(y), Some(yy)) = (digits(&b[i + 2..i + 6]), digits(&b[i + 7..i + 9]))
            && (y + 1) % 100 == yy
        {
            return Some(Period {
                from: month(y, 7),
                to: month(y + 1, 6),
            });
        }
        if !starts(i) || b[i..].len() < 6 {
            continue;
        }
        let Some(year) = digits(&b[i..i + 4]).filter(|y| (1990..=2100).contains(y)) else {
            continue;
        };
        // 2024Q1
        if b[i + 4].eq_ignore_ascii_case(&b'Q')
            && boundary(i + 6)
            && let Some(q) = digits(&b[i + 5..i + 6]).filter(|q| (1..=4).contains(q))
        {
            return Some(Period {
                from: month(year, 3 * q - 2),
                to: month(year, 3 * q),
            });
        }
        // 2024-03
        if b[i..].len() >= 7
            && b[i + 4] == b'-'
            && boundary(i + 7)
            && let Some(m) = digits(&b[i + 5..i + 7]).filter(|m| (1..=12).contains(m))
        {
            return Some(Period {
                from: month(year, m),
                to: month(year, m),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(from: &str, to: &str) -> Option<Period> {
        Some(Period {
            from: from.into(),
            to: to.into(),
        })
    }

    #[test]
    fn periods_named_in_file_names() {
        assert_eq!(declared("AKL_FY2021-22"), p("2021-07", "2022-06"));
        assert_eq!(declared("cmh-2024-03"), p("2024-03", "2024-03"));
        assert_eq!(declared("QTS_2024Q2_resend"), p("2024-04", "2024-06"));
        assert_eq!(declared("extract_2024-12-15"), p("2024-12", "2024-12"));
        assert_eq!(declared("TST"), None);
        assert_eq!(declared("TST_2024-13"), None);
        assert_eq!(declared("batch_120240-03"), None, "inside a longer number");
        assert_eq!(declared("FY2023-25"), None, "not consecutive years");
    }

    #[test]
    fn contains_is_inclusive() {
        let fy = declared("FY2021-22").unwrap();
        assert!(fy.contains("2021-07") && fy.contains("2022-06"));
        assert!(!fy.contains("2021-06") && !fy.contains("2022-07"));
    }
}
