//! A panel as a viewer may see it, for every output that shows one: the server, `ako
//! publish` and, with learning sessions, chart packs. Each goes through [`show`], so a
//! figure is suppressed, relabelled and annotated the same way wherever it appears.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use datafusion::prelude::SessionContext;

use super::compute::{self, Access, Cache, Choices, ComputeError, Source};
use super::filters::{self, FilterError, FilterView, Known, add_options};
use super::{Dashboard, Dashboards, Panel, indicator_of};
use crate::catalog::Catalog;
use crate::chart::{self, figure::Context};
use crate::config::Config;
use crate::lake::{Lake, LakeError};
use crate::model::ChangeIdea;
use crate::privacy::{Pseudonyms, Role, Viewer, suppress};
use crate::table::Table;

#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("reading organisations: {0}")]
    Query(Box<datafusion::error::DataFusionError>),
    #[error("reading organisations: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    #[error(transparent)]
    Ideas(#[from] crate::ideas::IdeasError),
}

boxed_datafusion_error!(ViewError, ViewError::Query);

/// What the dashboards are computed from, beyond the lake itself.
pub struct Basis {
    pub lake_root: PathBuf,
    pub catalog: Arc<Catalog>,
    pub config: Arc<Config>,
    pub dashboards: Arc<Dashboards>,
    pub compliance_dir: PathBuf,
}

/// One lake version as the dashboards show it, with what is read from it once: peer
/// codes, change ideas and the years a period filter offers.
pub struct Edition {
    pub source: Source,
    pub pseudonyms: Pseudonyms,
    pub ideas: Vec<ChangeIdea>,
    /// Calendar years with episodes, for the period filter.
    pub years: Vec<String>,
}

impl Edition {
    /// The lake's latest version.
    pub async fn load(lake: &Lake, basis: &Basis) -> Result<Edition, ViewError> {
        let snapshot = lake.snapshot(None).await?;
        let ctx = lake.session(&snapshot).await?;
        let orgs = strings(
            &ctx,
            "SELECT org_code, name FROM organisations ORDER BY org_code",
        )
        .await?;
        // Without a configured key (no tokens, so only analysts on loopback are served)
        // peer codes are keyed by a secret of this process alone; `ako publish` and a
        // server with tokens refuse to start without one.
        let key = basis
            .config
            .privacy
            .pseudonym_key
            .clone()
            .unwrap_or_else(|| hex::encode(rand::random::<[u8; 32]>()));
        let pseudonyms = Pseudonyms::new(
            &key,
            &orgs
                .into_iter()
                .map(|r| (r[0].clone(), r[1].clone()))
                .collect::<Vec<_>>(),
        );
        let ideas = crate::ideas::from_lake(&ctx, &basis.catalog).await?;
        let years = strings(
            &ctx,
            "SELECT DISTINCT substr(month, 1, 4) AS year FROM episodes ORDER BY year",
        )
        .await?
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
        Ok(Edition {
            source: Source {
                ctx,
                lake_version: snapshot.lake_version,
                lake_root: basis.lake_root.clone(),
                catalog: basis.catalog.clone(),
                config: basis.config.clone(),
                dashboards: basis.dashboards.clone(),
                compliance_dir: basis.compliance_dir.clone(),
            },
            pseudonyms,
            ideas,
            years,
        })
    }

    /// The viewer's filter choices for `d`, checked by the library's policy
    /// ([`filters::choose`]).
    pub fn choose(
        &self,
        d: &Dashboard,
        viewer: &Viewer,
        query: &BTreeMap<String, String>,
    ) -> Result<(Choices, Vec<FilterView>), FilterError> {
        let known = Known {
            catalog: &self.source.catalog,
            peers: &self.pseudonyms,
            years: &self.years,
        };
        filters::choose(d, &known, viewer, query)
    }
}

async fn strings(ctx: &SessionContext, sql: &str) -> Result<Vec<Vec<String>>, ViewError> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let table = Table::from_batches(&batches)?;
    Ok(table
        .rows
        .iter()
        .map(|r| r.iter().map(|c| c.display()).collect())
        .collect())
}

/// A panel as the viewer may see it.
pub struct Shown {
    pub table: Table,
    pub compare: Option<Table>,
    pub params: Vec<(String, String)>,
    /// What its chart needs beyond the tables (rows withheld among it).
    pub context: Context,
}

impl Shown {
    /// Rows withheld by suppression.
    pub fn suppressed(&self) -> usize {
        self.context.suppressed
    }

    /// The panel's chart, drawn from the protected tables; built only by the outputs
    /// that show it or its description (not the CSV).
    pub fn figure(&self, catalog: &Catalog, panel: &Panel) -> chart::Figure {
        chart::build(
            &panel.chart_spec(),
            indicator_of(catalog, panel),
            &self.table,
            self.compare.as_ref(),
            &self.context,
        )
    }
}

/// Computes a panel and applies the viewer's privacy rules before anything is drawn.
pub async fn show(
    cache: &Cache,
    edition: &Edition,
    d: &Dashboard,
    panel: &Panel,
    viewer: &Viewer,
    choices: &Choices,
    views: &mut [FilterView],
) -> Result<Shown, ComputeError> {
    let access = if viewer.role == Role::Analyst {
        Access::Analyst
    } else {
        Access::Protected
    };
    let data = compute::panel(cache, &edition.source, d, panel, choices, access).await?;
    add_options(views, &data);
    let mut table = data.table;
    let suppressed = viewer.protect(&mut table, &edition.pseudonyms);
    let compare = data.compare.map(|mut c| {
        viewer.protect(&mut c, &edition.pseudonyms);
        c
    });
    if !panel.columns.is_empty() {
        let mut keep: Vec<String> = panel.columns.clone();
        if table.col(suppress::REASON).is_some() {
            keep.push(suppress::REASON.into());
        }
        table = project(&table, &keep);
    }
    let org = choices.get("org").filter(|o| !o.is_empty());
    let context = Context {
        lake_version: edition.source.lake_version,
        highlight: viewer
            .org
            .clone()
            .or_else(|| org.map(|o| edition.pseudonyms.label(viewer, o))),
        annotations: match org {
            Some(o) if viewer.may_name(o) => edition
                .ideas
                .iter()
                .filter(|i| i.org_code == *o)
                .map(|i| (i.started.clone(), i.title.clone()))
                .collect(),
            _ => Vec::new(),
        },
        suppressed,
        bed_days_rounded: access == Access::Protected
            && super::reach::rounds_bed_days(indicator_of(&edition.source.catalog, panel)),
    };
    Ok(Shown {
        table,
        compare,
        params: data.params,
        context,
    })
}

/// `table` with only `columns`, in that order.
pub fn project(table: &Table, columns: &[String]) -> Table {
    let idx: Vec<usize> = columns.iter().filter_map(|c| table.col(c)).collect();
    Table {
        columns: idx.iter().map(|&i| table.columns[i].clone()).collect(),
        rows: table
            .rows
            .iter()
            .map(|r| idx.iter().map(|&i| r[i].clone()).collect())
            .collect(),
    }
}
