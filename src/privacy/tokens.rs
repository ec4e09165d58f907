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
    let mut text = existing_text.to_string();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    if !has_pseudonym_key {
        if text.lines().any(|l| l.trim() == "[privacy]") {
            return Err(TokenError::PrivacyWithoutKey(path.to_path_buf()));
        }
        text.push_str(&format!(
            "\n# Keys the order of peer codes (P01, P02, …); keep it secret and unchanged.\n[privacy]\npseudonym_key = \"{}\"\n",
            random_hex(32)
        ));
    }
    text.push_str(&format!(
        "\n[[tokens]]\nrole = \"{}\"\n{}hash = \"{}\"\ncreated = \"{today}\"\n",
        role.name(),
        org.map(|o| format!("org = \"{o}\"\n")).unwrap_or_default(),
        hash(&token)
    ));
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
