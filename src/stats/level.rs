//! Confidence levels and the names their bounds are written under (**contract**: `95`,
//! `99_8`).

use std::fmt;

use super::StatsError;
use super::dist;

/// A two-sided confidence level strictly between 0 and 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level(f64);

impl Level {
    pub const P95: Level = Level(0.95);
    pub const P998: Level = Level(0.998);

    pub fn new(level: f64) -> Result<Level, StatsError> {
        if level > 0.0 && level < 1.0 {
            Ok(Level(level))
        } else {
            Err(StatsError::invalid(format!(
                "confidence level {level} is not between 0 and 1 (write 0.95, not 95)"
            )))
        }
    }

    pub fn value(self) -> f64 {
        self.0
    }

    /// Probability in each tail.
    pub fn alpha_half(self) -> f64 {
        (1.0 - self.0) / 2.0
    }

    /// The standard normal quantile for a two-sided interval: 1.959964 for 95%.
    pub fn z(self) -> f64 {
        dist::normal_quantile(1.0 - self.alpha_half())
    }

    /// The level as a field-name suffix: 0.95 → `95`, 0.998 → `99_8`.
    pub fn suffix(self) -> String {
        let percent = format!("{:.6}", self.0 * 100.0);
        let percent = percent.trim_end_matches('0').trim_end_matches('.');
        percent.replace('.', "_")
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Parses `0.95,0.998`.
pub fn parse_levels(text: &str) -> Result<Vec<Level>, StatsError> {
    let mut levels = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let value: f64 = part.parse().map_err(|_| {
            StatsError::invalid(format!("confidence level '{part}' is not a number"))
        })?;
        let level = Level::new(value)?;
        if !levels.contains(&level) {
            levels.push(level);
        }
    }
    if levels.is_empty() {
        return Err(StatsError::invalid("no confidence level given"));
    }
    Ok(levels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_follow_the_contract() {
        assert_eq!(Level::P95.suffix(), "95");
        assert_eq!(Level::P998.suffix(), "99_8");
        assert_eq!(Level::new(0.9).unwrap().suffix(), "90");
        assert_eq!(Level::new(0.999).unwrap().suffix(), "99_9");
    }

    #[test]
    fn z_is_the_normal_quantile() {
        assert!((Level::P95.z() - 1.959963984540054).abs() < 1e-12);
        assert!((Level::P998.z() - 3.090232306167813).abs() < 1e-10);
    }

    #[test]
    fn levels_parse_and_refuse_percentages() {
        let levels = parse_levels("0.95, 0.998").unwrap();
        assert_eq!(levels, vec![Level::P95, Level::P998]);
        assert!(parse_levels("95").is_err());
        assert!(parse_levels("x").is_err());
    }
}
