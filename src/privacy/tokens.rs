//! Bearer tokens: made once by `ako token add`, shown once, and stored only as their
//! SHA-256 in the configuration file, so a leaked configuration grants nothing.

use std::path::{Path, PathBuf};

use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use chrono::NaiveDate;

use super::{Role, Scope, Viewer};

/// One `[[tokens]]` entry of `ako.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    pub role: Role,
    #[serde(default)]
    pub org: Option<String>,
    /// `sha256:` and the hex digest of the token.
    pub hash: String,
    #[serde(default)]
    pub created: Option<String>,
    /// A moderator's or participant's learning session and breakout group.
    #[serde(default)]
    pub session: Option<i64>,
    #[serde(default)]
    pub group: Option<i64>,
    /// The first and last day (YYYY-MM-DD) a scoped token works: the session's date
    /// minus [`WINDOW_BEFORE_DAYS`] to plus [`WINDOW_AFTER_DAYS`].
    #[serde(default)]
    pub valid_from: Option<NaiveDate>,
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
}

/// A scoped token works from this many days before its session's date …
pub const WINDOW_BEFORE_DAYS: i64 = 7;
/// … to this many days after it.
pub const WINDOW_AFTER_DAYS: i64 = 14;

/// What a moderator or participant token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenScope {
    pub session: i64,
    pub group: i64,
    /// The session's date.
    pub date: NaiveDate,
}

impl TokenEntry {
    /// The viewer this entry stands for on `today`: none outside a scoped token's date
    /// window.
    pub fn viewer_on(&self, today: NaiveDate) -> Option<Viewer> {
        let within = self.valid_from.is_none_or(|from| today >= from)
            && self.valid_until.is_none_or(|until| today <= until);
        if !within {
            return None;
        }
        let scope = match (self.session, self.group) {
            (Some(session), Some(group)) => Some(Scope { session, group }),
            _ => None,
        };
        Some(Viewer {
            role: self.role,
            org: self.org.clone(),
            scope,
        })
    }
}

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(
        "a leader or participant token needs --org CODE: they see their own organisation by name"
    )]
    LeaderWithoutOrg,
    #[error(
        "only a leader or participant token names an organisation (--org is for --role leader or participant)"
    )]
    OrgWithoutLeader,
    #[error("a moderator or participant token needs --session S --group G, and only they take one")]
    Scope,
    #[error(
        "{0} has a [privacy] table without `pseudonym_key`; add `pseudonym_key = \"…\"` (any long random text) and run again"
    )]
    PrivacyWithoutKey(PathBuf),
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The stored form of a token.
pub fn hash(token: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(token.as_bytes())))
}

/// The viewer a presented token stands for, if any entry matches.
pub fn verify(entries: &[TokenEntry], token: &str) -> Option<Viewer> {
    verify_hash(entries, &hash(token.trim()))
}

/// The viewer a stored token hash (a session's) stands for, if it is still listed.
pub fn verify_hash(entries: &[TokenEntry], stored: &str) -> Option<Viewer> {
    entries
        .iter()
        .find(|e| e.hash.eq_ignore_ascii_case(stored))
        .and_then(|e| e.viewer_on(today()))
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// Adds a token to the configuration file at `path` (made if missing) and returns the
/// token, which is never stored. The file is rewritten whole through a temporary file,
/// keeping its text and comments, and gains a pseudonym key if it has none.
pub fn add(
    path: &Path,
    existing_text: &str,
    has_pseudonym_key: bool,
    role: Role,
    org: Option<&str>,
    scope: Option<TokenScope>,
    today: &str,
) -> Result<String, TokenError> {
    match (role, org) {
        (r, None) if r.has_org() => return Err(TokenError::LeaderWithoutOrg),
        (r, Some(_)) if !r.has_org() => return Err(TokenError::OrgWithoutLeader),
        _ => {}
    }
    if role.is_scoped() != scope.is_some() {
        return Err(TokenError::Scope);
    }
    let token = format!("ako_{}", random_hex(24));
    // Edited as TOML, not appended as text: an organisation code with a quote or a
    // newline in it stays a value and cannot add a table of its own.
    let invalid = |message: String| TokenError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let mut doc: toml_edit::DocumentMut = existing_text
        .parse()
        .map_err(|e: toml_edit::TomlError| invalid(e.to_string()))?;
    if !has_pseudonym_key {
        if doc.contains_key("privacy") {
            return Err(TokenError::PrivacyWithoutKey(path.to_path_buf()));
        }
        let mut privacy = toml_edit::Table::new();
        privacy
            .decor_mut()
            .set_prefix("\n# Keys the peer codes (P417, …); keep it secret and unchanged.\n");
        privacy["pseudonym_key"] = toml_edit::value(random_hex(32));
        doc["privacy"] = toml_edit::Item::Table(privacy);
    }
    let mut entry = toml_edit::Table::new();
    entry["role"] = toml_edit::value(role.name());
    if let Some(org) = org {
        entry["org"] = toml_edit::value(org);
    }
    entry["hash"] = toml_edit::value(hash(&token));
    entry["created"] = toml_edit::value(today);
    if let Some(s) = scope {
        let day = |d: NaiveDate| toml_edit::value(d.format("%Y-%m-%d").to_string());
        entry["session"] = toml_edit::value(s.session);
        entry["group"] = toml_edit::value(s.group);
        entry["valid_from"] = day(s.date - chrono::Duration::days(WINDOW_BEFORE_DAYS));
        entry["valid_until"] = day(s.date + chrono::Duration::days(WINDOW_AFTER_DAYS));
    }
    match doc.get_mut("tokens") {
        Some(toml_edit::Item::ArrayOfTables(list)) => list.push(entry),
        Some(_) => {
            return Err(invalid(
                "`tokens` is not a list of [[tokens]] tables".into(),
            ));
        }
        None => {
            let mut list = toml_edit::ArrayOfTables::new();
            list.push(entry);
            doc["tokens"] = toml_edit::Item::ArrayOfTables(list);
        }
    }
    let text = doc.to_string();
    // What is written must read back as a configuration, or nothing is written.
    crate::config::Config::parse(path, &text).map_err(|e| invalid(e.to_string()))?;
    crate::atomic::write(path, text.as_bytes()).map_err(|source| TokenError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_against_its_hash_only() {
        let entries = vec![TokenEntry {
            role: Role::Leader,
            org: Some("CMH".into()),
            hash: hash("ako_secret"),
            created: None,
            session: None,
            group: None,
            valid_from: None,
            valid_until: None,
        }];
        assert_eq!(
            hash("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(verify(&entries, "ako_secret"), Some(Viewer::leader("CMH")));
        assert_eq!(verify(&entries, "ako_secreT"), None);
        assert_eq!(verify(&entries, &hash("ako_secret")), None);
    }

    #[test]
    fn a_scoped_token_holds_for_its_group_within_its_window_only() {
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        let entry = TokenEntry {
            role: Role::Participant,
            org: Some("CMH".into()),
            hash: hash("ako_p"),
            created: None,
            session: Some(3),
            group: Some(11),
            valid_from: Some(day("2026-12-02")),
            valid_until: Some(day("2026-12-23")),
        };
        let viewer = Viewer {
            role: Role::Participant,
            org: Some("CMH".into()),
            scope: Some(Scope {
                session: 3,
                group: 11,
            }),
        };
        assert_eq!(entry.viewer_on(day("2026-12-01")), None);
        assert_eq!(entry.viewer_on(day("2026-12-02")), Some(viewer.clone()));
        assert_eq!(entry.viewer_on(day("2026-12-23")), Some(viewer));
        assert_eq!(entry.viewer_on(day("2026-12-24")), None);
    }

    #[test]
    fn token_add_writes_the_window_around_the_session_date() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ako.toml");
        let scope = TokenScope {
            session: 3,
            group: 11,
            date: NaiveDate::from_ymd_opt(2026, 12, 9).unwrap(),
        };
        add(
            &path,
            "",
            false,
            Role::Moderator,
            None,
            Some(scope),
            "2026-12-01",
        )
        .unwrap();
        let config = crate::config::Config::load(Some(&path)).unwrap();
        let t = &config.tokens[0];
        assert_eq!((t.session, t.group), (Some(3), Some(11)));
        assert_eq!(t.valid_from, NaiveDate::from_ymd_opt(2026, 12, 2));
        assert_eq!(t.valid_until, NaiveDate::from_ymd_opt(2026, 12, 23));
        // A scoped role without a scope, or a scope for another role, is refused.
        for (role, org, scope) in [
            (Role::Moderator, None, None),
            (Role::Participant, Some("CMH"), None),
            (Role::Leader, Some("CMH"), Some(scope)),
            (Role::Advisor, None, Some(scope)),
        ] {
            let e = add(&path, "", true, role, org, scope, "2026-12-01").unwrap_err();
            assert!(matches!(e, TokenError::Scope), "{role:?}: {e}");
        }
    }
}
