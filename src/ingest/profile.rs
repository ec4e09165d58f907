//! Source profiles: how one organisation's export maps onto the episode model.
//!
//! A profile is a TOML file naming the source format, the source column for every
//! episode column, how timestamps and booleans are written, and code tables for coded
//! columns. Profiles are data, so a new DHB export needs a file, not a release.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::{self, EXTRACT_COLUMNS, col};

/// The canonical CSV profile, compiled in so that canonical extracts always ingest.
pub const CANONICAL_TOML: &str = include_str!("../../sample-data/profiles/canonical.toml");

/// File layout of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    /// Delimited text with a header row.
    Csv,
    /// One JSON object per line; nested objects are addressed by dotted paths.
    Jsonl,
}

/// How timestamps are written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "style", rename_all = "lowercase")]
pub enum TimestampStyle {
    /// RFC 3339 with an offset or `Z`.
    Rfc3339,
    /// Local wall-clock time in the organisation's time zone, in a chrono pattern.
    Local { format: String },
}

/// Spellings of true and false.
#[derive(Debug, Clone, Deserialize)]
pub struct Booleans {
    #[serde(rename = "true")]
    pub yes: Vec<String>,
    #[serde(rename = "false")]
    pub no: Vec<String>,
}

impl Default for Booleans {
    fn default() -> Self {
        Booleans {
            yes: vec!["true".into()],
            no: vec!["false".into()],
        }
    }
}

/// A validated source profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub format: SourceFormat,
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    pub timestamps: TimestampStyle,
    #[serde(default)]
    pub booleans: Booleans,
    /// Episode column → source column (a dotted path for JSON Lines).
    pub columns: BTreeMap<String, String>,
    /// Episode column → (source code → canonical code).
    #[serde(default)]
    pub codes: BTreeMap<String, BTreeMap<String, String>>,
}

fn default_delimiter() -> char {
    ','
}

/// A profile that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("profile {path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("profile {path}: {source}")]
    Toml {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("profile {name}: {message}")]
    Invalid { name: String, message: String },
}

impl Profile {
    /// Parses and validates a profile's TOML text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Profile, ProfileError> {
        let profile: Profile = toml::from_str(text).map_err(|source| ProfileError::Toml {
            path: origin.to_path_buf(),
            source,
        })?;
        profile.validate()?;
        Ok(profile)
    }

    /// Reads and validates a profile file.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Profile::from_toml(&text, path)
    }

    fn invalid(&self, message: String) -> ProfileError {
        ProfileError::Invalid {
            name: self.name.clone(),
            message,
        }
    }

    fn validate(&self) -> Result<(), ProfileError> {
        // A profile maps the population-group column its organisations report (NZ:
        // ethnicity; Australia: Indigenous status), or both when one layout serves both.
        for column in EXTRACT_COLUMNS {
            if !model::is_group_column(column) && !self.columns.contains_key(column) {
                return Err(self.invalid(format!("no source column for `{column}`")));
            }
        }
        if !self.columns.keys().any(|c| model::is_group_column(c)) {
            return Err(self.invalid(format!(
                "no source column for `{}` or `{}`: every organisation reports one",
                col::ETHNICITY,
                col::INDIGENOUS_STATUS
            )));
        }
        if let Some(extra) = self
            .columns
            .keys()
            .find(|c| !EXTRACT_COLUMNS.contains(&c.as_str()))
        {
            return Err(self.invalid(format!("`{extra}` is not an episode column")));
        }
        for (column, table) in &self.codes {
            for canonical in table.values() {
                if !is_canonical_code(column, canonical) {
                    return Err(self.invalid(format!(
                        "code table for `{column}` maps to `{canonical}`, which is not a valid {column}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Source column names this profile reads, in episode-column order (None for a
    /// population-group column it does not map).
    pub fn source_columns(&self) -> Vec<Option<&str>> {
        EXTRACT_COLUMNS
            .iter()
            .map(|c| self.columns.get(*c).map(String::as_str))
            .collect()
    }

    /// The source column of `column`, if this profile maps it.
    pub fn source_of(&self, column: &str) -> Option<&str> {
        self.columns.get(column).map(String::as_str)
    }

    /// True when `header` has every source column this profile needs: all but the
    /// population-group columns, and at least one of those it maps (an NZ file has no
    /// Indigenous status column, an Australian one no ethnicity).
    pub fn matches(&self, header: &[String]) -> bool {
        let present = |c: &str| header.iter().any(|h| h == c);
        let mut group = false;
        for (column, source) in EXTRACT_COLUMNS.iter().zip(self.source_columns()) {
            match source {
                Some(s) if model::is_group_column(column) => group |= present(s),
                Some(s) if !present(s) => return false,
                _ => {}
            }
        }
        group
    }
}

/// True when `code` is a valid canonical value for `column` (free-text columns accept any).
pub fn is_canonical_code(column: &str, code: &str) -> bool {
    match column {
        col::SETTING => model::Setting::parse(code).is_some(),
        col::PRACTICE => model::Practice::parse(code).is_some(),
        col::SEX => model::Sex::parse(code).is_some(),
        col::ETHNICITY => model::Ethnicity::parse(code).is_some(),
        col::INDIGENOUS_STATUS => model::IndigenousStatus::parse(code).is_some(),
        col::AUTHORISED_BY => model::AuthorisedBy::parse(code).is_some(),
        col::REASON => model::Reason::parse(code).is_some(),
        col::AGE_BAND => model::is_age_band(code),
        _ => true,
    }
}

/// The profiles available to an ingest, by name.
#[derive(Debug, Clone)]
pub struct ProfileSet {
    profiles: Vec<Profile>,
}

impl ProfileSet {
    /// The built-in canonical profile plus every `*.toml` in the given folders; a
    /// folder's profile replaces a built-in one of the same name.
    pub fn load(dirs: &[PathBuf]) -> Result<ProfileSet, ProfileError> {
        let canonical = Profile::from_toml(CANONICAL_TOML, Path::new("<built-in canonical>"))?;
        let mut profiles = vec![canonical];
        for dir in dirs {
            let entries = std::fs::read_dir(dir).map_err(|source| ProfileError::Io {
                path: dir.clone(),
                source,
            })?;
            let mut paths: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            paths.sort();
            for path in paths {
                let profile = Profile::load(&path)?;
                profiles.retain(|p| p.name != profile.name);
                profiles.push(profile);
            }
        }
        Ok(ProfileSet { profiles })
    }

    /// The profile called `name`.
    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    /// Names of all profiles.
    pub fn names(&self) -> Vec<&str> {
        self.profiles.iter().map(|p| p.name.as_str()).collect()
    }

    /// The profiles of `format` whose columns are all in `header`. When several match,
    /// the one reading the most distinct source columns wins; a tie is ambiguous (None).
    pub fn detect(&self, format: SourceFormat, header: &[String]) -> Option<&Profile> {
        let mut candidates: Vec<&Profile> = self
            .profiles
            .iter()
            .filter(|p| p.format == format && p.matches(header))
            .collect();
        candidates.sort_by_key(|p| std::cmp::Reverse(distinct_sources(p)));
        match candidates.as_slice() {
            [] => None,
            [only] => Some(only),
            [first, second, ..] if distinct_sources(first) > distinct_sources(second) => {
                Some(first)
            }
            _ => None,
        }
    }
}

fn distinct_sources(p: &Profile) -> usize {
    let mut cols: Vec<&String> = p.columns.values().collect();
    cols.sort();
    cols.dedup();
    cols.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(group_columns: &str) -> Result<Profile, ProfileError> {
        let columns: String = EXTRACT_COLUMNS
            .iter()
            .filter(|c| !model::is_group_column(c))
            .map(|c| format!("{c} = \"{c}\"\n"))
            .collect();
        Profile::from_toml(
            &format!(
                "name = \"t\"\nformat = \"csv\"\ntimestamps = {{ style = \"rfc3339\" }}\n\n\
                 [columns]\n{columns}{group_columns}"
            ),
            Path::new("t.toml"),
        )
    }

    fn header(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_profile_maps_the_population_group_column_its_organisations_report() {
        let e = profile("").unwrap_err().to_string();
        assert!(
            e.contains("no source column for `ethnicity` or `indigenous_status`"),
            "{e}"
        );
        assert!(profile("ethnicity = \"ETH\"\n").is_ok());
        assert!(profile("indigenous_status = \"ATSI\"\n").is_ok());
        // Mapping both, a file matches with either column, not with neither.
        let both = profile("ethnicity = \"ETH\"\nindigenous_status = \"ATSI\"\n").unwrap();
        let rest: Vec<&str> = EXTRACT_COLUMNS
            .iter()
            .copied()
            .filter(|c| !model::is_group_column(c))
            .collect();
        let with = |extra: &str| header(&[rest.as_slice(), &[extra]].concat());
        assert!(both.matches(&with("ETH")));
        assert!(both.matches(&with("ATSI")));
        assert!(!both.matches(&with("other")));
    }

    #[test]
    fn indigenous_status_codes_are_the_abs_standard_ones() {
        for code in [
            "aboriginal",
            "torres_strait_islander",
            "both",
            "neither",
            "not_stated",
        ] {
            assert!(is_canonical_code(col::INDIGENOUS_STATUS, code), "{code}");
        }
        assert!(!is_canonical_code(col::INDIGENOUS_STATUS, "maori"));
        assert!(!is_canonical_code(col::ETHNICITY, "aboriginal"));
    }
}
