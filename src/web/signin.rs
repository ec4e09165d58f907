//! Signing in. A token is shown once, by POST, and exchanged for a session: the cookie
//! carries a random session id, never the token, and the session ends at logout or after
//! [`TTL`]. Every request checks the session's token against the token list as it is
//! now, and the list is read again whenever `ako.toml` changes, so a token removed from
//! the file stops working at once, without a restart.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::privacy::Viewer;
use crate::privacy::tokens::{self, TokenEntry};

/// The session cookie's name.
pub const COOKIE: &str = "ako_session";

/// How long a session lasts after signing in: a working day.
pub const TTL: Duration = Duration::from_secs(8 * 60 * 60);

/// How often, at most, the configuration file's modification time is looked at.
const RELOAD_CHECK: Duration = Duration::from_secs(1);

struct Session {
    /// The stored hash of the token signed in with.
    token_hash: String,
    expires: Instant,
}

/// Live sessions, kept by the hash of their id (a memory dump does not hand out ids).
#[derive(Default)]
pub struct Sessions {
    live: Mutex<HashMap<[u8; 32], Session>>,
}

fn key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

impl Sessions {
    /// Starts a session for a verified token; returns its id for the cookie.
    pub fn start(&self, token: &str) -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let id = hex::encode(bytes);
        let mut live = self.live.lock().expect("sessions lock");
        let now = Instant::now();
        live.retain(|_, s| s.expires > now);
        live.insert(
            key(&id),
            Session {
                token_hash: tokens::hash(token),
                expires: now + TTL,
            },
        );
        id
    }

    /// The token hash of a live session.
    fn token_hash(&self, id: &str) -> Option<String> {
        let mut live = self.live.lock().expect("sessions lock");
        let k = key(id);
        match live.get(&k) {
            Some(s) if s.expires > Instant::now() => Some(s.token_hash.clone()),
            Some(_) => {
                live.remove(&k);
                None
            }
            None => None,
        }
    }

    /// Ends a session (logout). Unknown ids are ignored.
    pub fn end(&self, id: &str) {
        self.live.lock().expect("sessions lock").remove(&key(id));
    }
}

/// The token list, read again from the configuration file when it changes.
pub struct TokenList {
    path: Option<PathBuf>,
    entries: RwLock<Arc<Vec<TokenEntry>>>,
    /// (when the file was last looked at, its modification time then).
    seen: Mutex<(Instant, Option<SystemTime>)>,
}

fn modified(path: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl TokenList {
    /// `entries` as configured at start; `path` the file to watch (none: never reload).
    pub fn new(path: Option<PathBuf>, entries: Vec<TokenEntry>) -> TokenList {
        let stamp = path.as_deref().and_then(modified);
        TokenList {
            path,
            entries: RwLock::new(Arc::new(entries)),
            seen: Mutex::new((Instant::now(), stamp)),
        }
    }

    /// The tokens now in force.
    pub fn current(&self) -> Arc<Vec<TokenEntry>> {
        self.reload_if_changed();
        self.entries.read().expect("tokens lock").clone()
    }

    fn reload_if_changed(&self) {
        let Some(path) = &self.path else { return };
        let mut seen = self.seen.lock().expect("tokens lock");
        if seen.0.elapsed() < RELOAD_CHECK {
            return;
        }
        let stamp = modified(path);
        seen.0 = Instant::now();
        if stamp == seen.1 {
            return;
        }
        seen.1 = stamp;
        // A file that cannot be read or parsed leaves no token valid: failing open would
        // keep a revoked token working until someone noticed.
        let entries = match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| Config::parse(path, &text).map_err(|e| e.to_string()))
        {
            Ok(config) => config.tokens,
            Err(e) => {
                tracing::error!(path = %path.display(), "the configuration no longer reads, so no token is accepted until it does: {e}");
                Vec::new()
            }
        };
        tracing::info!(path = %path.display(), tokens = entries.len(), "token list reloaded");
        *self.entries.write().expect("tokens lock") = Arc::new(entries);
    }

    /// The viewer a presented bearer token stands for now.
    pub fn verify(&self, token: &str) -> Option<Viewer> {
        tokens::verify(&self.current(), token)
    }

    /// The viewer a session stands for now: the session must be live and its token still
    /// in the list.
    pub fn verify_session(&self, sessions: &Sessions, id: &str) -> Option<Viewer> {
        let hash = sessions.token_hash(id)?;
        tokens::verify_hash(&self.current(), &hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::privacy::Role;

    fn entry(token: &str, role: Role) -> TokenEntry {
        TokenEntry {
            role,
            org: None,
            hash: tokens::hash(token),
            created: None,
            session: None,
            group: None,
            valid_from: None,
            valid_until: None,
        }
    }

    #[test]
    fn a_session_names_its_viewer_until_it_ends() {
        let list = TokenList::new(None, vec![entry("t-fac", Role::Facilitator)]);
        let sessions = Sessions::default();
        let id = sessions.start("t-fac");
        assert_ne!(id, "t-fac");
        assert_eq!(id.len(), 64);
        assert_eq!(
            list.verify_session(&sessions, &id).map(|v| v.role),
            Some(Role::Facilitator)
        );
        assert!(
            list.verify_session(&sessions, "t-fac").is_none(),
            "the token is not a session"
        );
        sessions.end(&id);
        assert!(list.verify_session(&sessions, &id).is_none());
        assert!(sessions.live.lock().unwrap().is_empty());
    }

    #[test]
    fn an_expired_session_is_gone() {
        let list = TokenList::new(None, vec![entry("t", Role::Public)]);
        let sessions = Sessions::default();
        let id = sessions.start("t");
        sessions
            .live
            .lock()
            .unwrap()
            .values_mut()
            .for_each(|s| s.expires = Instant::now() - Duration::from_secs(1));
        assert!(list.verify_session(&sessions, &id).is_none());
        assert_eq!(sessions.live.lock().unwrap().len(), 0, "removed when met");
    }

    #[test]
    fn a_token_removed_from_the_file_stops_working() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ako.toml");
        let line = |t: &str| {
            format!(
                "[[tokens]]\nrole = \"facilitator\"\nhash = \"{}\"\n",
                tokens::hash(t)
            )
        };
        let key = "[privacy]\npseudonym_key = \"k\"\n";
        std::fs::write(&path, format!("{key}{}{}", line("keep"), line("revoke"))).unwrap();
        let config = Config::parse(&path, &std::fs::read_to_string(&path).unwrap()).unwrap();
        let list = TokenList::new(Some(path.clone()), config.tokens);
        let sessions = Sessions::default();
        let id = sessions.start("revoke");
        assert!(list.verify("revoke").is_some());
        assert!(list.verify_session(&sessions, &id).is_some());
        std::fs::write(&path, format!("{key}{}", line("keep"))).unwrap();
        // Make sure the new file has another modification time and the check is due.
        let later = SystemTime::now() + Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later)
            .unwrap();
        list.seen.lock().unwrap().0 = Instant::now() - RELOAD_CHECK;
        assert!(list.verify("revoke").is_none());
        assert!(
            list.verify_session(&sessions, &id).is_none(),
            "its session ends too"
        );
        assert!(list.verify("keep").is_some());
        // A file that no longer parses accepts nobody.
        std::fs::write(&path, "[[tokens]\n").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later + Duration::from_secs(5))
            .unwrap();
        list.seen.lock().unwrap().0 = Instant::now() - RELOAD_CHECK;
        assert!(list.verify("keep").is_none());
    }
}
