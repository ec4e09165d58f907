//! `ako.toml`: settings an organisation's analysts and facilitators change without a
//! release (peer-group size bands, facilitator overrides). `--config FILE`, else
//! `AKO_CONFIG`, else `./ako.toml`; without a file the defaults apply.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub peers: PeersConfig,
    #[serde(default)]
    pub privacy: PrivacyConfig,
    /// Bearer tokens, stored hashed (`ako token add`).
    #[serde(default)]
    pub tokens: Vec<crate::privacy::tokens::TokenEntry>,
    #[serde(default)]
    pub collab: CollabConfig,
    #[serde(default)]
    pub ideas: IdeasConfig,
}

/// `[ideas]`: the tags a change idea may carry. A closed list, so that "what worked"
/// counts the same approach under one name.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdeasConfig {
    #[serde(default = "default_idea_tags")]
    pub tags: Vec<String>,
}

fn default_idea_tags() -> Vec<String> {
    [
        "kaupapa Māori",
        "sensory modulation",
        "whānau liaison",
        "trauma-informed care",
        "debriefing",
        "peer support",
        "Safewards",
    ]
    .map(String::from)
    .to_vec()
}

impl Default for IdeasConfig {
    fn default() -> Self {
        IdeasConfig {
            tags: default_idea_tags(),
        }
    }
}

/// `[collab]`: where the collaborative database is (learning sessions, notes).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollabConfig {
    /// The SQLite file; relative to the configuration file's folder. Unset:
    /// `<lake>/collab.sqlite`.
    #[serde(default)]
    pub path: Option<std::path::PathBuf>,
}

/// `[privacy]`: the secret that orders peer codes.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    #[serde(default)]
    pub pseudonym_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeersConfig {
    /// Size bands by population served, smallest first; each holds populations below
    /// `below`, the last has no bound.
    #[serde(default = "default_bands")]
    pub size_bands: Vec<SizeBand>,
    /// The fewest shared-challenge groups considered: a learning session wants several
    /// breakout rooms, not two halves.
    #[serde(default = "default_min_groups")]
    pub min_challenge_groups: usize,
    /// The most shared-challenge groups considered (the number is chosen by silhouette).
    #[serde(default = "default_max_groups")]
    pub max_challenge_groups: usize,
    /// The fewest organisations a shared-challenge group may have.
    #[serde(default = "default_min_group_size")]
    pub min_group_size: usize,
    /// Weight of each organisation tag beside the standardised indicators.
    #[serde(default = "default_tag_weight")]
    pub tag_weight: f64,
    /// Months of the latest data the challenge profile reads.
    #[serde(default = "default_months")]
    pub profile_months: i64,
    /// Facilitator overrides for `--by config`: organisation → group.
    #[serde(default)]
    pub overrides: BTreeMap<String, Override>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeBand {
    pub name: String,
    pub below: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub group: String,
    #[serde(default)]
    pub note: String,
}

fn default_bands() -> Vec<SizeBand> {
    vec![
        SizeBand {
            name: "small".into(),
            below: Some(150_000.0),
        },
        SizeBand {
            name: "medium".into(),
            below: Some(400_000.0),
        },
        SizeBand {
            name: "large".into(),
            below: None,
        },
    ]
}

fn default_min_groups() -> usize {
    3
}

fn default_max_groups() -> usize {
    6
}

fn default_min_group_size() -> usize {
    3
}

fn default_tag_weight() -> f64 {
    1.0
}

fn default_months() -> i64 {
    24
}

impl Default for PeersConfig {
    fn default() -> Self {
        PeersConfig {
            size_bands: default_bands(),
            min_challenge_groups: default_min_groups(),
            max_challenge_groups: default_max_groups(),
            min_group_size: default_min_group_size(),
            tag_weight: default_tag_weight(),
            profile_months: default_months(),
            overrides: BTreeMap::new(),
        }
    }
}

impl Config {
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let mut config: Config = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if let Some(p) = config.collab.path.take() {
            let base = path.parent().unwrap_or(Path::new(""));
            config.collab.path = Some(base.join(p));
        }
        let tags = &config.ideas.tags;
        if tags.iter().any(|t| t.trim().is_empty() || t.trim() != t)
            || (1..tags.len()).any(|i| tags[..i].contains(&tags[i]))
        {
            return Err(invalid(
                "ideas.tags: each tag must be non-empty, without surrounding spaces, and listed once".into(),
            ));
        }
        let bands = &config.peers.size_bands;
        if bands.is_empty() || bands.last().is_some_and(|b| b.below.is_some()) {
            return Err(invalid(
                "peers.size_bands: the last band must have no `below` bound".into(),
            ));
        }
        let bounds: Vec<f64> = bands.iter().filter_map(|b| b.below).collect();
        if bounds.len() != bands.len() - 1 || bounds.windows(2).any(|w| w[0] >= w[1]) {
            return Err(invalid(
                "peers.size_bands: every band but the last needs a `below` bound, rising".into(),
            ));
        }
        let p = &config.peers;
        if p.min_challenge_groups < 2 || p.max_challenge_groups < p.min_challenge_groups {
            return Err(invalid(
                "peers: min_challenge_groups must be 2 or more and no more than max_challenge_groups".into(),
            ));
        }
        if !config.tokens.is_empty() && config.privacy.pseudonym_key.is_none() {
            return Err(invalid(
                "tokens are configured but [privacy] has no pseudonym_key to order peer codes"
                    .into(),
            ));
        }
        for (i, t) in config.tokens.iter().enumerate() {
            let digest = t.hash.strip_prefix("sha256:").unwrap_or("");
            if digest.len() != 64 || !digest.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(invalid(format!(
                    "tokens[{}]: hash must be `sha256:` and 64 hex digits (made by `ako token add`)",
                    i + 1
                )));
            }
            if t.role.has_org() != t.org.is_some() {
                return Err(invalid(format!(
                    "tokens[{}]: a leader or participant token names its org, and only they do",
                    i + 1
                )));
            }
            let scoped = t.session.is_some()
                && t.group.is_some()
                && t.valid_from.is_some()
                && t.valid_until.is_some();
            let unscoped = t.session.is_none()
                && t.group.is_none()
                && t.valid_from.is_none()
                && t.valid_until.is_none();
            if !(if t.role.is_scoped() { scoped } else { unscoped }) {
                return Err(invalid(format!(
                    "tokens[{}]: a moderator or participant token names its session, group, valid_from and valid_until, and only they do",
                    i + 1
                )));
            }
        }
        Ok(config)
    }

    /// The configuration file: `explicit`, else `AKO_CONFIG`, else `./ako.toml`.
    pub fn path(explicit: Option<&Path>) -> PathBuf {
        match explicit {
            Some(p) => p.to_path_buf(),
            None => std::env::var_os("AKO_CONFIG")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("ako.toml")),
        }
    }

    /// Reads `explicit`, else `AKO_CONFIG`, else `./ako.toml` if it exists, else defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => match std::env::var_os("AKO_CONFIG") {
                Some(p) => PathBuf::from(p),
                None if Path::new("ako.toml").is_file() => PathBuf::from("ako.toml"),
                None => return Ok(Config::default()),
            },
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Io {
            path: path.clone(),
            source,
        })?;
        Config::parse(&path, &text)
    }
}
