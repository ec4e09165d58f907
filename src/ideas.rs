//! Change ideas (PDSA cycles) as the lake's `change_ideas` reference table holds them,
//! read through the catalogue's `change_ideas` query like every other SQL text.

use crate::catalog::{Catalog, CatalogError};
use crate::model::ChangeIdea;
use crate::table::string_column;

/// The query in `queries/` that lists them.
pub const QUERY: &str = "change_ideas";

#[derive(Debug, thiserror::Error)]
pub enum IdeasError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("reading change ideas: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
}

/// Every organisation's change ideas, by organisation then start date.
pub async fn from_lake(
    ctx: &datafusion::prelude::SessionContext,
    catalog: &Catalog,
) -> Result<Vec<ChangeIdea>, IdeasError> {
    let batches = catalog.get(QUERY)?.run(ctx, &[]).await?;
    let mut out = Vec::new();
    for b in &batches {
        let (org, started, title) = (
            string_column(b, "org_code")?,
            string_column(b, "started")?,
            string_column(b, "title")?,
        );
        for i in 0..b.num_rows() {
            out.push(ChangeIdea {
                org_code: org.value(i).to_string(),
                started: started.value(i).to_string(),
                title: title.value(i).to_string(),
            });
        }
    }
    Ok(out)
}
