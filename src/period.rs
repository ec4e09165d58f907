//! Period labels as indicators write them (`2024-03`, `2024-Q1`, `2024`, `2024/25`)
//! and the months each covers, so that every output can say when the data cover a
//! period only in part.

/// The months a period label covers: `2024-03`, `2024-Q1`, `2024`, `2023/24` (July to
/// June). Anything else is one unit of its own.
pub fn months(period: &str) -> Vec<String> {
    let year = |s: &str| s.parse::<u32>().ok().filter(|_| s.len() == 4);
    let span = |y: u32, from: u32, n: u32| -> Vec<String> {
        (0..n)
            .map(|i| {
                let m = from - 1 + i;
                format!("{:04}-{:02}", y + m / 12, m % 12 + 1)
            })
            .collect()
    };
    let b = period.as_bytes();
    match period.len() {
        4 => year(period).map(|y| span(y, 1, 12)),
        7 if b[4] == b'-' && b[5] == b'Q' => {
            let q = (b[6] as char).to_digit(10).filter(|q| (1..=4).contains(q));
            year(&period[..4])
                .zip(q)
                .map(|(y, q)| span(y, 3 * q - 2, 3))
        }
        7 if b[4] == b'-' => year(&period[..4])
            .zip(
                period[5..]
                    .parse::<u32>()
                    .ok()
                    .filter(|m| (1..=12).contains(m)),
            )
            .map(|_| vec![period.to_string()]),
        7 if b[4] == b'/' => year(&period[..4]).map(|y| span(y, 7, 12)),
        _ => None,
    }
    .unwrap_or_else(|| vec![period.to_string()])
}

/// The quarter a month (`YYYY-MM`) falls in: `2024-05` is `2024-Q2`.
pub fn quarter_of(month: &str) -> String {
    let m: u32 = month.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(1);
    format!("{}-Q{}", month.get(..4).unwrap_or(""), m.div_ceil(3))
}

/// The financial year (July to June) a month (`YYYY-MM`) falls in: `2024-07` and
/// `2025-06` are both `2024/25`.
pub fn financial_year_of(month: &str) -> String {
    let y: i32 = month.get(..4).and_then(|y| y.parse().ok()).unwrap_or(0);
    let m: u32 = month.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(1);
    let first = if m >= 7 { y } else { y - 1 };
    format!("{first}/{:02}", (first + 1) % 100)
}

/// How much of a period the data cover: the months of it within `span` (the first and
/// last month the lake holds, `YYYY-MM`). `None` for a label that is not a period.
pub fn coverage(period: &str, span: (&str, &str)) -> Option<Coverage> {
    let all = months(period);
    // A label that is not a period comes back as itself: nothing to cover.
    if all.len() == 1 && all[0] == period && !is_month(period) {
        return None;
    }
    let covered: Vec<&String> = all
        .iter()
        .filter(|m| m.as_str() >= span.0 && m.as_str() <= span.1)
        .collect();
    Some(Coverage {
        months: covered.len(),
        of: all.len(),
        from: covered.first().map(|m| m.to_string()),
        to: covered.last().map(|m| m.to_string()),
    })
}

fn is_month(p: &str) -> bool {
    let b = p.as_bytes();
    p.len() == 7 && b[4] == b'-' && p[5..].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
}

/// The months of a period the data cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    pub months: usize,
    /// Months in the whole period.
    pub of: usize,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl Coverage {
    /// Whether the data cover the period only in part.
    pub fn partial(&self) -> bool {
        self.months < self.of
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_falls_in_its_quarter_and_financial_year() {
        assert_eq!(quarter_of("2023-05"), "2023-Q2");
        assert_eq!(quarter_of("2023-12"), "2023-Q4");
        assert_eq!(financial_year_of("2024-07"), "2024/25");
        assert_eq!(financial_year_of("2025-06"), "2024/25");
        assert_eq!(financial_year_of("1999-08"), "1999/00");
        for m in ["2024-07", "2025-06"] {
            assert!(months(&financial_year_of(m)).contains(&m.to_string()));
            assert!(months(&quarter_of(m)).contains(&m.to_string()));
        }
    }

    #[test]
    fn a_period_is_partial_where_the_data_begin_or_end_inside_it() {
        let span = ("2021-07", "2025-06");
        let whole = coverage("2022/23", span).unwrap();
        assert_eq!((whole.months, whole.of, whole.partial()), (12, 12, false));
        let start = coverage("2021", span).unwrap();
        assert_eq!((start.months, start.partial()), (6, true));
        assert_eq!(
            (start.from.as_deref(), start.to.as_deref()),
            (Some("2021-07"), Some("2021-12"))
        );
        let end = coverage("2025", span).unwrap();
        assert_eq!(
            (end.months, end.from.as_deref(), end.to.as_deref()),
            (6, Some("2025-01"), Some("2025-06"))
        );
        assert!(!coverage("2025-Q2", span).unwrap().partial());
        assert_eq!(coverage("2025-Q3", span).unwrap().months, 0);
        assert!(!coverage("2025-06", span).unwrap().partial());
        assert_eq!(coverage("all years", span), None);
    }
}
