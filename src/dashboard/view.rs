//! A panel as a viewer may see it, for every output that shows one: the server, `ako
//! publish` and, with learning sessions, chart packs. Each goes through [`show`], so a
//! figure is suppressed, relabelled and annotated the same way wherever it appears.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use datafusion::prelude::SessionContext;

use super::compute::{self, Access, Cache, Choices, ComputeError, Source};
use super::filters::{self, FilterError, FilterView, Known, add_options};
use super::{Dashboard, Dashboards, Panel, indicator_of};
use crate::catalog::Catalog;
use crate::chart::{self, figure::Context};
use crate::config::Config;
use crate::ideas::Judged;
use crate::lake::{Lake, LakeError};
use crate::model::ChangeIdea;
use crate::privacy::{Pseudonyms, Role, Viewer, suppress};
use crate::table::{Cell, Table};

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

/// The collaborative database's files as last read: modification time and length of the
/// file and its write-ahead log.
type Stamp = [Option<(SystemTime, u64)>; 2];

fn stamp(path: &Path) -> Stamp {
    let of = |p: &Path| {
        std::fs::metadata(p)
            .ok()
            .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()))
    };
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    [of(path), of(Path::new(&wal))]
}

boxed_datafusion_error!(ViewError, ViewError::Query);

/// What the dashboards are computed from, beyond the lake itself.
pub struct Basis {
    pub lake_root: PathBuf,
    pub catalog: Arc<Catalog>,
    pub config: Arc<Config>,
    pub dashboards: Arc<Dashboards>,
    pub compliance_dir: PathBuf,
    /// The collaborative database, whose change ideas and rebase decisions the charts
    /// draw (none: only the lake's change ideas, no rebases).
    pub collab_path: Option<PathBuf>,
}

/// One lake version as the dashboards show it, with what is read from it once: peer
/// codes, change ideas and the years a period filter offers.
pub struct Edition {
    /// Unique to this edition in this process: answers kept for one are never given for
    /// another, even of the same lake version (its peer codes may be keyed anew).
    pub serial: u64,
    pub source: Source,
    pub pseudonyms: Pseudonyms,
    /// The lake's change ideas (the import path; recorded ones are in [`Edition::judged`]).
    pub ideas: Vec<ChangeIdea>,
    /// Calendar years with episodes, for the period filter.
    pub years: Vec<String>,
    /// The judged indicators' raw monthly series, read once per lake version.
    series: crate::ideas::Series,
    collab_path: Option<PathBuf>,
    judged: Mutex<Option<(Stamp, Arc<Vec<Judged>>)>>,
    deviants: tokio::sync::OnceCell<Arc<Vec<crate::deviants::Deviant>>>,
}

impl Edition {
    /// The lake's latest version.
    pub async fn load(lake: &Lake, basis: &Basis) -> Result<Edition, ViewError> {
        Self::load_at(lake, basis, None).await
    }

    /// The lake as of `version` (a learning session's pinned version), or its latest.
    pub async fn load_at(
        lake: &Lake,
        basis: &Basis,
        version: Option<i64>,
    ) -> Result<Edition, ViewError> {
        let as_of = version.map(crate::lake::AsOf::Version);
        let snapshot = lake.snapshot(as_of.as_ref()).await?;
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
        let series = crate::ideas::Series::load(
            &ctx,
            &crate::derived::Sources {
                catalog: &basis.catalog,
                config: &basis.config,
                compliance_dir: &basis.compliance_dir,
                store: crate::derived::Store::for_lake(&basis.lake_root, snapshot.lake_version),
            },
        )
        .await?;
        static SERIALS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Ok(Edition {
            serial: SERIALS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            series,
            collab_path: basis.collab_path.clone(),
            judged: Mutex::new(None),
            deviants: tokio::sync::OnceCell::new(),
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

    /// The collaborative's positive deviants on this lake version, found once.
    pub async fn deviants(
        &self,
    ) -> Result<Arc<Vec<crate::deviants::Deviant>>, crate::deviants::DeviantsError> {
        self.deviants
            .get_or_try_init(|| async {
                let sources = crate::derived::Sources {
                    catalog: &self.source.catalog,
                    config: &self.source.config,
                    compliance_dir: &self.source.compliance_dir,
                    store: crate::derived::Store::for_lake(
                        &self.source.lake_root,
                        self.source.lake_version,
                    ),
                };
                crate::deviants::find(
                    &self.source.ctx,
                    &sources,
                    &crate::deviants::DeviantOptions::default(),
                )
                .await
                .map(Arc::new)
            })
            .await
            .cloned()
    }

    /// The collaborative database's files as they are now (modification times and
    /// lengths): the same state gives the same judged ideas, so the same charts.
    pub fn collab_state(&self) -> String {
        format!("{:?}", self.collab_path.as_deref().map(stamp))
    }

    /// Every change idea judged on this lake version, with the rebase decisions recorded
    /// so far. Read again whenever the collaborative database has changed, so that an
    /// analyst's decision shows on the next chart drawn.
    pub fn judged(&self) -> Result<Arc<Vec<Judged>>, crate::collab::CollabError> {
        let now = self.collab_path.as_deref().map(stamp).unwrap_or_default();
        let mut slot = self.judged.lock().expect("judged lock");
        if let Some((at, judged)) = slot.as_ref()
            && *at == now
        {
            return Ok(judged.clone());
        }
        let (recorded, decisions) = match self.collab_path.as_deref() {
            Some(p) if p.is_file() => {
                let c = crate::collab::Collab::open(p)?;
                (c.ideas(None, None)?, c.rebase_decisions()?)
            }
            _ => (Vec::new(), Vec::new()),
        };
        let judged = Arc::new(crate::ideas::judge(
            crate::collab::ideas::merged(recorded, &self.ideas),
            &self.series,
            &decisions,
        ));
        *slot = Some((now, judged.clone()));
        Ok(judged)
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
    let named = org.filter(|o| viewer.may_name(o));
    // Without the database the charts still draw, with the lake's ideas only.
    let judged = edition.judged().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "reading change ideas from the collaborative database");
        Arc::new(crate::ideas::judge(
            crate::collab::ideas::merged(Vec::new(), &edition.ideas),
            &edition.series,
            &[],
        ))
    });
    let context = Context {
        lake_version: edition.source.lake_version,
        highlight: viewer
            .org
            .clone()
            .or_else(|| org.map(|o| edition.pseudonyms.label(viewer, o))),
        annotations: named.map_or_else(Vec::new, |o| {
            judged
                .iter()
                .filter(|j| j.idea.org_code == *o)
                .map(|j| (j.idea.started.clone(), j.idea.title.clone()))
                .collect()
        }),
        rebases: match named {
            Some(o) if judged_chart(panel) => {
                crate::ideas::chart_rebases(&judged, o, &panel.indicator)
            }
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

/// Whether a panel charts one of the series ideas are judged on (its indicator, with at
/// least the judged rows kept), so that a rebase of that series belongs on it.
fn judged_chart(panel: &Panel) -> bool {
    crate::ideas::JUDGED.iter().any(|(indicator, keep)| {
        panel.indicator == *indicator
            && keep
                .iter()
                .all(|(c, v)| panel.keep.get(*c).is_some_and(|k| k == v))
    })
}

/// Columns whose values are codes a person reads better as words (the CSV keeps the
/// codes, which other tools read).
const WORDED: [&str; 5] = [
    "ethnicity",
    "indigenous_status",
    "practice",
    "setting",
    "status",
];

/// The cells of a protected table as a person reads them: a withheld cell says why
/// (`<6` for a small number, `n/p` for one withheld to protect another), and codes read
/// as words ("Non-Māori non-Pacific", not `non_maori_non_pacific`).
pub fn display_rows(table: &Table) -> Vec<Vec<String>> {
    let reason = table.col(suppress::REASON);
    let worded: Vec<bool> = table
        .columns
        .iter()
        .map(|c| WORDED.contains(&c.as_str()))
        .collect();
    table
        .rows
        .iter()
        .map(|r| {
            let why = reason.and_then(|c| r[c].as_str().map(str::to_string));
            r.iter()
                .zip(&worded)
                .map(|(c, &worded)| match (c, &why) {
                    (Cell::Null, Some(w)) if w == suppress::SMALL => suppress::SMALL.into(),
                    (Cell::Null, Some(_)) => "n/p".into(),
                    (Cell::Text(t), _) if worded => chart::figure::words(t),
                    _ => c.display(),
                })
                .collect()
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tables_codes_read_as_words_and_withheld_cells_say_why() {
        let t = Table {
            columns: ["ethnicity", "org_code", "numerator", suppress::REASON]
                .map(String::from)
                .to_vec(),
            rows: vec![
                vec![
                    Cell::Text("non_maori_non_pacific".into()),
                    Cell::Text("P123".into()),
                    Cell::Null,
                    Cell::Text(suppress::SMALL.into()),
                ],
                vec![
                    Cell::Text("maori".into()),
                    Cell::Text("P456".into()),
                    Cell::Int(12),
                    Cell::Null,
                ],
            ],
        };
        assert_eq!(
            display_rows(&t),
            [
                ["Non-Māori non-Pacific", "P123", "<6", "<6"],
                ["Māori", "P456", "12", ""],
            ]
        );
    }
}
