//! Duplicate episode ids within one extract, found after staging.
//!
//! Holding every id seen while streaming would make memory grow with the file; instead
//! the staged Parquet is grouped by id in a DataFusion session whose memory pool spills
//! to disk, so memory stays bounded however large the extract. The first occurrence of
//! an id is kept; later ones are rejected by line.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{AsArray, Int64Array};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::error::DataFusionError;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext, col, lit};

use super::IngestError;
use super::batch::LINE;
use crate::table::string_column;

/// Memory the duplicate search may hold before it spills to disk.
const MEMORY_LIMIT: usize = 256 * 1024 * 1024;

/// A session whose operators spill to disk beyond [`MEMORY_LIMIT`].
pub fn spilling_session() -> Result<SessionContext, DataFusionError> {
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(FairSpillPool::new(MEMORY_LIMIT)))
        .build_arc()?;
    Ok(SessionContext::new_with_config_rt(
        SessionConfig::new(),
        runtime,
    ))
}

/// (line, episode id) of every row whose id occurs on an earlier line, in line order;
/// at most `limit + 1` rows, so a caller can tell "more than `limit`".
///
/// Two steps, neither a join (DataFusion's hash join cannot spill): a grouped count
/// finds the repeated ids, usually none; then a filter on those ids finds their lines.
pub async fn later_duplicates(
    staged: &Path,
    limit: usize,
) -> Result<Vec<(u64, String)>, IngestError> {
    let ctx = spilling_session()?;
    ctx.register_parquet(
        "staged",
        staged.to_string_lossy().as_ref(),
        ParquetReadOptions::default(),
    )
    .await?;
    let repeated = ctx
        .sql(&format!(
            "SELECT episode_id FROM staged GROUP BY episode_id HAVING count(*) > 1 LIMIT {}",
            limit + 1
        ))
        .await?
        .collect()
        .await?;
    let mut ids = Vec::new();
    for b in &repeated {
        let column = string_column(b, "episode_id")?;
        ids.extend(column.iter().flatten().map(|id| lit(id.to_string())));
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = ctx
        .table("staged")
        .await?
        .filter(col("episode_id").in_list(ids, false))?
        .select_columns(&[LINE, "episode_id"])?
        .sort(vec![col(LINE).sort(true, false)])?
        .collect()
        .await?;
    let mut first_seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for b in &rows {
        let lines: &Int64Array = b.column(0).as_primitive::<Int64Type>();
        let ids = string_column(b, "episode_id")?;
        for i in 0..b.num_rows() {
            let id = ids.value(i);
            // rows come in line order, so the first of each id is the one kept
            if !first_seen.insert(id.to_string()) && out.len() <= limit {
                out.push((lines.value(i) as u64, id.to_string()));
            }
        }
    }
    Ok(out)
}
