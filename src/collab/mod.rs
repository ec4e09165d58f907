//! The collaborative's own data: learning sessions, their breakout groups, members and
//! moderators (and, as they arrive, notes, summaries and change ideas). These are small,
//! concurrent and edited, unlike the lake's appended extracts, so they live in SQLite
//! (WAL mode, versioned migrations) at `<lake>/collab.sqlite` unless `[collab] path`
//! says otherwise. Nothing of the lake is written here and no episode-level row is ever
//! copied in: a session holds organisation codes, group names and what people typed.

pub mod access;
pub mod ideas;
pub mod notes;
pub mod sessions;
pub mod summaries;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

pub use sessions::{Member, NewSession, Session, SessionGroup, SessionSummary};

#[derive(Debug, thiserror::Error)]
pub enum CollabError {
    #[error("collaborative database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("collaborative database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("collaborative database: migrating the schema: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("{0}")]
    NotFound(String),
    /// A value the user gave that cannot be stored: theirs to correct.
    #[error("{0}")]
    Invalid(String),
    /// Not the viewer's to do (`access`): a 403 over HTTP.
    #[error("{0}")]
    Denied(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<access::Denied> for CollabError {
    fn from(d: access::Denied) -> CollabError {
        CollabError::Denied(d.0)
    }
}

/// The file name under the lake when `[collab] path` is not set.
pub const FILE: &str = "collab.sqlite";

/// Where the collaborative database is: `configured`, or `<lake>/collab.sqlite`.
pub fn path(lake: &Path, configured: Option<&Path>) -> PathBuf {
    configured.map_or_else(|| lake.join(FILE), Path::to_path_buf)
}

/// The schema, one migration a step, applied in order and never edited once released
/// (a change is a new step). SQLite's `user_version` records how far a file has come.
fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("schema/001_sessions.sql")),
        M::up(include_str!("schema/002_notes.sql")),
        M::up(include_str!("schema/003_summaries.sql")),
        M::up(include_str!("schema/004_ideas.sql")),
    ])
}

/// An open collaborative database.
pub struct Collab {
    conn: Connection,
}

impl Collab {
    /// Opens (creating if need be) the database at `path` and brings its schema up to
    /// date.
    pub fn open(path: &Path) -> Result<Collab, CollabError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| CollabError::Io {
                path: dir.to_path_buf(),
                source: e,
            })?;
        }
        let open = |source| CollabError::Open {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open)?;
        // WAL: readers (a backup, a page) never block the writer or each other; a writer
        // waits up to 5 s for another instead of failing at once.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(open)?;
        migrations().to_latest(&mut conn)?;
        Ok(Collab { conn })
    }

    /// An online, consistent copy of the whole database at `to`, taken while others may
    /// be writing (SQLite's backup API). Written beside `to` and renamed into place, so
    /// `to` is never a half-copied file.
    pub fn backup(&self, to: &Path) -> Result<(), CollabError> {
        let io = |source| CollabError::Io {
            path: to.to_path_buf(),
            source,
        };
        let dir = to
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        let staging = tempfile::Builder::new()
            .prefix(".ako-backup-")
            .suffix(".sqlite")
            .tempfile_in(dir)
            .map_err(io)?;
        {
            let mut copy = Connection::open(staging.path())?;
            let backup = rusqlite::backup::Backup::new(&self.conn, &mut copy)?;
            // All pages in steps of 256, pausing briefly between steps so that writers
            // are not held off for the whole copy.
            backup.run_to_completion(256, Duration::from_millis(5), None)?;
        }
        staging.as_file().sync_all().map_err(io)?;
        staging.persist(to).map_err(|e| io(e.error))?;
        Ok(())
    }

    /// The schema version this file is at (the number of migrations applied).
    pub fn schema_version(&self) -> Result<i64, CollabError> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid_and_applied_once() {
        migrations().validate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        let first = Collab::open(&path).unwrap();
        assert_eq!(first.schema_version().unwrap(), 4);
        drop(first);
        // Opening again finds the schema current and changes nothing.
        assert_eq!(Collab::open(&path).unwrap().schema_version().unwrap(), 4);
        let mode: String = Connection::open(&path)
            .unwrap()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn the_default_place_is_under_the_lake_and_configuration_moves_it() {
        assert_eq!(
            path(Path::new("lake"), None),
            PathBuf::from("lake/collab.sqlite")
        );
        assert_eq!(
            path(Path::new("lake"), Some(Path::new("/srv/ako/collab.db"))),
            PathBuf::from("/srv/ako/collab.db")
        );
    }
}
