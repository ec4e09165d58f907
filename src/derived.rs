//! Tables computed in Rust that indicator SQL may read like lake tables:
//! `compliance_flags` (the rule engine's findings) and `peer_groups` (every grouping).
//! Each is computed only when the query names it.

use std::path::Path;

use datafusion::prelude::SessionContext;

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
}

/// What deriving needs beyond the session.
pub struct Sources<'a> {
    pub catalog: &'a Catalog,
    pub config: &'a Config,
    pub compliance_dir: &'a Path,
}

/// Registers the derived tables `sql` reads.
pub async fn register_for(
    ctx: &SessionContext,
    sql: &str,
    sources: &Sources<'_>,
) -> Result<(), DerivedError> {
    if compliance::is_read_by(sql) {
        let sets = RuleSet::load_dir(sources.compliance_dir)?;
        compliance::register(ctx, &sets).await?;
    }
    if sql.contains(peers::TABLE) {
        peers::register(ctx, sources.catalog, &sources.config.peers).await?;
    }
    Ok(())
}

/// Runs an indicator with the derived tables it needs.
pub async fn run(
    ctx: &SessionContext,
    indicator: &Indicator,
    given: &[(String, String)],
    sources: &Sources<'_>,
) -> Result<Vec<datafusion::arrow::array::RecordBatch>, DerivedError> {
    register_for(ctx, &indicator.sql, sources).await?;
    Ok(indicator.run(ctx, given).await?)
}
