//! Rule sets: one TOML file per jurisdiction in `compliance/`, so a policy change is a
//! data change reviewed by the people who know the law, not a code change.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("cannot read compliance rules in {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// A jurisdiction's rules.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// `NZ`, `NSW`, `QLD`: matched against the episode's derived `jurisdiction`.
    pub jurisdiction: String,
    /// The policy or Act the rules come from.
    #[serde(default)]
    pub source: String,
    #[serde(rename = "rule", default)]
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable identifier, used in flags and reports.
    pub id: String,
    pub title: String,
    /// The clause the rule comes from.
    #[serde(default)]
    pub citation: String,
    #[serde(default)]
    pub severity: Severity,
    /// Which episodes the rule applies to.
    #[serde(default)]
    pub when: Filter,
    pub check: Check,
}

/// What a failed check means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The episode did not comply.
    #[default]
    Breach,
    /// Not a breach: an episode someone must follow up (e.g. tell the care manager).
    Notify,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Breach => "breach",
            Severity::Notify => "notify",
        }
    }
}

/// Episode attributes a rule is limited to; an empty filter applies to every episode of
/// the jurisdiction.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    pub practice: Option<Vec<String>>,
    pub setting: Option<Vec<String>>,
    pub legal_status: Option<Vec<String>>,
    pub authorised_by: Option<Vec<String>>,
    pub emergency: Option<bool>,
    pub minor: Option<bool>,
}

/// Episode fields that may be left unrecorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recorded {
    /// The end time, so the duration.
    EndTime,
    MaxObsGapMin,
}

impl Recorded {
    pub fn as_str(self) -> &'static str {
        match self {
            Recorded::EndTime => "end_time",
            Recorded::MaxObsGapMin => "max_obs_gap_min",
        }
    }
}

/// What the rule checks.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    /// Each episode lasts at most `hours`.
    MaxDuration { hours: f64 },
    /// Per person, the time in applicable episodes within any `window_hours` is at most
    /// `max_hours` (a rolling window, not calendar days).
    RollingTotal { window_hours: f64, max_hours: f64 },
    /// The longest gap between recorded observations is at most `minutes`.
    MaxObservationGap { minutes: i64 },
    /// Any applicable episode fails (e.g. seclusion of a minor where it is prohibited).
    Prohibited,
    /// The fields are recorded.
    Recorded { fields: Vec<Recorded> },
    /// The episode was authorised by one of `roles`.
    AuthorisedBy { roles: Vec<String> },
    /// Every applicable episode is flagged for follow-up (use with `severity = "notify"`).
    Flag,
}

impl RuleSet {
    pub fn parse(path: &Path, text: &str) -> Result<RuleSet, RulesError> {
        let set: RuleSet = toml::from_str(text).map_err(|e| RulesError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let invalid = |message: String| RulesError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let mut ids = std::collections::HashSet::new();
        for rule in &set.rules {
            if !ids.insert(rule.id.as_str()) {
                return Err(invalid(format!("rule id '{}' is used twice", rule.id)));
            }
            let positive = |v: f64| v.is_finite() && v > 0.0;
            let ok = match &rule.check {
                Check::MaxDuration { hours } => positive(*hours),
                Check::RollingTotal {
                    window_hours,
                    max_hours,
                } => positive(*window_hours) && positive(*max_hours) && max_hours <= window_hours,
                Check::MaxObservationGap { minutes } => *minutes > 0,
                Check::Recorded { fields } => !fields.is_empty(),
                Check::AuthorisedBy { roles } => !roles.is_empty(),
                Check::Prohibited | Check::Flag => true,
            };
            if !ok {
                return Err(invalid(format!(
                    "rule '{}': its check has a limit that cannot be met",
                    rule.id
                )));
            }
        }
        Ok(set)
    }

    /// Every `*.toml` in `dir`, in file-name order.
    pub fn load_dir(dir: &Path) -> Result<Vec<RuleSet>, RulesError> {
        let io = |source| RulesError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(io)?;
        paths.retain(|p| p.extension().is_some_and(|e| e == "toml"));
        paths.sort();
        let mut sets: Vec<RuleSet> = Vec::new();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|source| RulesError::Io {
                path: path.clone(),
                source,
            })?;
            let set = RuleSet::parse(&path, &text)?;
            if sets.iter().any(|s| s.jurisdiction == set.jurisdiction) {
                return Err(RulesError::Invalid {
                    path,
                    message: format!("a second rule set for {}", set.jurisdiction),
                });
            }
            sets.push(set);
        }
        Ok(sets)
    }
}

/// `AKO_COMPLIANCE`, else `./compliance`, else the source tree's `compliance/`.
pub fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("AKO_COMPLIANCE") {
        return dir.into();
    }
    let here = PathBuf::from("compliance");
    if here.is_dir() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("compliance")
}
