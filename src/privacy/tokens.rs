//! Bearer tokens: made once by `ako token add`, shown once, and stored only as their
//! SHA-256 in the configuration file, so a leaked configuration grants nothing.

use std::path::{Path, PathBuf};

use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{Role, Viewer};

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
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("a leader token needs --org CODE: a leader sees their own organisation by name")]
    LeaderWithoutOrg,
    #[error("only a leader token names an organisation (--org is for --role leader)")]
    OrgWithoutLeader,
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
    let presented = hash(token.trim());
    entries
        .iter()
        .find(|e| e.hash.eq_ignore_ascii_case(&presented))
        .map(|e| Viewer {
            role: e.role,
            org: e.org.clone(),
        })
}

/// The viewer a stored token hash (a session's) stands for, if it is still listed.
pub fn verify_hash(entries: &[TokenEntry], stored: &str) -> Option<Viewer> {
    entries
        .iter()
        .find(|e| e.hash.eq_ignore_ascii_case(stored))
        .map(|e| Viewer {
            role: e.role,
            org: e.org.clone(),
        })
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
    today: &str,
) -> Result<String, TokenError> {
    match (role, org) {
        (Role::Leader, None) => return Err(TokenError::LeaderWithoutOrg),
        (r, Some(_)) if r != Role::Leader => return Err(TokenError::OrgWithoutLeader),
        _ => {}
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
        }];
        assert_eq!(
            hash("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(verify(&entries, "ako_secret"), Some(Viewer::leader("CMH")));
        assert_eq!(verify(&entries, "ako_secreT"), None);
        assert_eq!(verify(&entries, &hash("ako_secret")), None);
    }
}
