//! Tables computed in Rust that indicator SQL may read like lake tables:
//! `compliance_flags` and `compliance_counts` (the rule engine's findings) and
//! `peer_groups` (every grouping). Each is computed only when the query names it, and
//! kept in `<lake>/_derived/` keyed by the lake version and a hash of what it was
//! computed from, so the next query of the same lake reads it instead of recomputing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use sha2::{Digest, Sha256};

use crate::catalog::{Catalog, CatalogError, Indicator};
use crate::compliance::{self, ComplianceError, RuleSet, RulesError};
use crate::config::Config;
use crate::peers::{self, PeersError};

#[derive(Debug, thiserror::Error)]
pub enum DerivedError {
    #[error(transparent)]
    Rules(#[from] RulesError),
    #[error(transparent)]
    Compliance(#[from] ComplianceError),
    #[error(transparent)]
    Peers(#[from] PeersError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("derived table cache: {0}")]
    Cache(String),
    #[error("reading the tables an indicator's SQL names: {0}")]
    Sql(Box<datafusion::error::DataFusionError>),
}

boxed_datafusion_error!(DerivedError, DerivedError::Sql);

/// Where derived tables are kept between queries of one lake version.
#[derive(Debug, Clone)]
pub struct Store {
    pub dir: PathBuf,
    pub lake_version: i64,
}

impl Store {
    /// `<lake>/_derived` for a snapshot; `None` for an empty lake.
    pub fn for_lake(lake_root: &Path, lake_version: Option<i64>) -> Option<Store> {
        lake_version.map(|v| Store {
            dir: lake_root.join("_derived"),
            lake_version: v,
        })
    }

    fn path(&self, table: &str, key: &str) -> PathBuf {
        self.dir
            .join(format!("{table}-v{}-{key}.parquet", self.lake_version))
    }
}

/// The lake version a cache file was derived from (`compliance_flags-v12-ab12.parquet`).
fn version_of(name: &str) -> Option<i64> {
    let rest = name.strip_suffix(".parquet")?;
    let (_, after) = rest.split_once("-v")?;
    after.split('-').next()?.parse().ok()
}

/// Removes derived files of lake versions before `oldest_needed`, and temporary files
/// left by a process that died while writing one. They hold episode-level findings, so
/// they are not kept beyond use; anything removed is recomputed if asked for again.
/// Returns how many files went.
pub fn prune(lake_root: &Path, oldest_needed: i64) -> usize {
    let dir = lake_root.join("_derived");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return 0;
    };
    let stale_tmp = std::time::Duration::from_secs(3600);
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let old = match version_of(&name) {
            Some(v) => v < oldest_needed,
            // Another process may be writing it now; only an hour-old one is abandoned.
            None if name.ends_with(".tmp-ako") => entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > stale_tmp),
            None => false,
        };
        if old && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::info!(
            removed,
            oldest_needed,
            "derived files of older lake versions removed"
        );
    }
    removed
}

/// What deriving needs beyond the session.
pub struct Sources<'a> {
    pub catalog: &'a Catalog,
    pub config: &'a Config,
    pub compliance_dir: &'a Path,
    pub store: Option<Store>,
}

fn hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..8])
}

/// Registers `batch` as `table`, and writes it to the cache (temporary file, then
/// rename, so a reader never sees half a file).
fn save_and_register(
    ctx: &SessionContext,
    table: &str,
    batch: RecordBatch,
    path: Option<&Path>,
) -> Result<(), DerivedError> {
    let cache = |e: &dyn std::fmt::Display| DerivedError::Cache(e.to_string());
    if let Some(path) = path {
        let dir = path.parent().expect("cache files live in a folder");
        std::fs::create_dir_all(dir).map_err(|e| cache(&e))?;
        // A temporary name of its own: a server and a command may derive at once.
        let tmp = tempfile::Builder::new()
            .suffix(".tmp-ako")
            .tempfile_in(dir)
            .map_err(|e| cache(&e))?;
        let file = tmp.reopen().map_err(|e| cache(&e))?;
        let mut writer = ArrowWriter::try_new(file, batch.schema(), None).map_err(|e| cache(&e))?;
        writer.write(&batch).map_err(|e| cache(&e))?;
        writer.close().map_err(|e| cache(&e))?;
        tmp.persist(path).map_err(|e| cache(&e.error))?;
    }
    let table_ = MemTable::try_new(batch.schema(), vec![vec![batch]]).map_err(|e| cache(&e))?;
    ctx.register_table(table, Arc::new(table_))
        .map_err(|e| cache(&e))?;
    Ok(())
}

/// Registers `table` from the cache if it holds it.
async fn from_cache(
    ctx: &SessionContext,
    table: &str,
    path: Option<&Path>,
) -> Result<bool, DerivedError> {
    // A long-lived session (the dashboard server) registered it for this lake version.
    if ctx.table_exist(table).unwrap_or(false) {
        return Ok(true);
    }
    let Some(path) = path.filter(|p| p.is_file()) else {
        return Ok(false);
    };
    let location = path
        .to_str()
        .ok_or_else(|| DerivedError::Cache("a cache path that is not UTF-8".into()))?;
    ctx.register_parquet(table, location, ParquetReadOptions::default())
        .await
        .map_err(|e| DerivedError::Cache(e.to_string()))?;
    Ok(true)
}

/// The tables `sql` reads, as DataFusion resolves its references: a table named only
/// in a comment, a string or a CTE of the same name is not read.
fn tables_read(ctx: &SessionContext, sql: &str) -> Result<Vec<String>, DerivedError> {
    let state = ctx.state();
    let dialect = state.config().options().sql_parser.dialect;
    let statement = state.sql_to_statement(sql, &dialect)?;
    Ok(state
        .resolve_table_references(&statement)?
        .iter()
        .map(|r| r.table().to_string())
        .collect())
}

/// Registers the derived tables `sql` reads.
pub async fn register_for(
    ctx: &SessionContext,
    sql: &str,
    sources: &Sources<'_>,
) -> Result<(), DerivedError> {
    let tables = tables_read(ctx, sql)?;
    let reads = |t: &str| tables.iter().any(|r| r == t);
    if reads(compliance::TABLE) || reads(compliance::COUNTS) {
        let sets = RuleSet::load_dir(sources.compliance_dir)?;
        let key = hash(&[&format!("{sets:?}")]);
        let flags = sources
            .store
            .as_ref()
            .map(|c| c.path(compliance::TABLE, &key));
        let counts = sources
            .store
            .as_ref()
            .map(|c| c.path(compliance::COUNTS, &key));
        let cached = from_cache(ctx, compliance::TABLE, flags.as_deref()).await?
            && from_cache(ctx, compliance::COUNTS, counts.as_deref()).await?;
        if !cached {
            let (f, c) = compliance::evaluate_batches(ctx, &sets).await?;
            save_and_register(ctx, compliance::TABLE, f, flags.as_deref())?;
            save_and_register(ctx, compliance::COUNTS, c, counts.as_deref())?;
        }
    }
    if reads(peers::TABLE) {
        let profile_sql = sources
            .catalog
            .get("peer_profile")
            .map(|i| i.sql.as_str())
            .unwrap_or("");
        let key = hash(&[&format!("{:?}", sources.config.peers), profile_sql]);
        let path = sources.store.as_ref().map(|c| c.path(peers::TABLE, &key));
        if !from_cache(ctx, peers::TABLE, path.as_deref()).await? {
            let batch = peers::batch(ctx, sources.catalog, &sources.config.peers).await?;
            save_and_register(ctx, peers::TABLE, batch, path.as_deref())?;
        }
    }
    Ok(())
}

/// `EXPLAIN ANALYZE` of an indicator, its derived tables registered first.
pub async fn explain(
    ctx: &SessionContext,
    indicator: &Indicator,
    given: &[(String, String)],
    sources: &Sources<'_>,
) -> Result<String, DerivedError> {
    register_for(ctx, &indicator.sql, sources).await?;
    Ok(indicator.explain(ctx, given).await?)
}

/// Runs an indicator with the derived tables it needs.
pub async fn run(
    ctx: &SessionContext,
    indicator: &Indicator,
    given: &[(String, String)],
    sources: &Sources<'_>,
) -> Result<Vec<RecordBatch>, DerivedError> {
    register_for(ctx, &indicator.sql, sources).await?;
    Ok(indicator.run(ctx, given).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_a_query_reads_come_from_its_plan_not_its_text() {
        let ctx = SessionContext::new();
        let read = |sql: &str| tables_read(&ctx, sql).unwrap();
        assert_eq!(
            read(
                "-- peer_groups are joined below\nSELECT * FROM episodes e JOIN peer_groups g ON g.org_code = e.org_code WHERE g.grouping = $grouping"
            ),
            ["episodes", "peer_groups"]
        );
        // Named in a comment or a string only: not read.
        assert_eq!(
            read(
                "-- unlike compliance_flags, this reads episodes\nSELECT 'peer_groups' AS t FROM episodes"
            ),
            ["episodes"]
        );
        // A CTE of the same name is not the table.
        assert!(read("WITH peer_groups AS (SELECT 1 AS x) SELECT * FROM peer_groups").is_empty());
    }

    #[test]
    fn files_of_older_versions_go_and_the_needed_stay() {
        let lake = tempfile::tempdir().unwrap();
        let dir = lake.path().join("_derived");
        std::fs::create_dir_all(&dir).unwrap();
        for name in [
            "compliance_flags-v3-ab12.parquet",
            "compliance_counts-v4-ab12.parquet",
            "peer_groups-v5-cd34.parquet",
            "peer_groups-v6-cd34.parquet",
            "fresh.tmp-ako",
            "notes.txt",
        ] {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        assert_eq!(version_of("compliance_flags-v12-ab12.parquet"), Some(12));
        assert_eq!(prune(lake.path(), 5), 2);
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "fresh.tmp-ako",
                "notes.txt",
                "peer_groups-v5-cd34.parquet",
                "peer_groups-v6-cd34.parquet"
            ]
        );
        assert_eq!(prune(&lake.path().join("nowhere"), 9), 0);
    }
}
