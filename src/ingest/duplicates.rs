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
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};

use super::batch::LINE;

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
pub async fn later_duplicates(
    staged: &Path,
    limit: usize,
) -> Result<Vec<(u64, String)>, DataFusionError> {
    let ctx = spilling_session()?;
    ctx.register_parquet(
        "staged",
        staged.to_string_lossy().as_ref(),
        ParquetReadOptions::default(),
    )
    .await?;
    let sql = format!(
        "SELECT s.{LINE} AS line, s.episode_id \
         FROM staged s \
         JOIN (SELECT episode_id, min({LINE}) AS first FROM staged GROUP BY episode_id HAVING count(*) > 1) d \
           ON s.episode_id = d.episode_id AND s.{LINE} > d.first \
         ORDER BY s.{LINE} LIMIT {}",
        limit + 1
    );
    let batches = ctx.sql(&sql).await?.collect().await?;
    let mut out = Vec::new();
    for b in &batches {
        let lines: &Int64Array = b.column(0).as_primitive::<Int64Type>();
        let ids = datafusion::arrow::compute::cast(
            b.column(1),
            &datafusion::arrow::datatypes::DataType::Utf8,
        )?;
        let ids = ids.as_string::<i32>();
        for i in 0..b.num_rows() {
            out.push((lines.value(i) as u64, ids.value(i).to_string()));
        }
    }
    Ok(out)
}
