//! Computes panels: binds the chosen filter values as indicator parameters, runs the
//! indicator once per lake version and parameter set (cached), then applies row filters.
//! Privacy is the caller's next step; nothing here knows who is asking.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use datafusion::prelude::SessionContext;

use super::reach::{self, Protected};
use super::{Dashboard, Dashboards, FilterKind, Panel, indicator_of};
use crate::catalog::{Catalog, Indicator};
use crate::config::Config;
use crate::derived::{self, DerivedError};
use crate::table::Table;

#[derive(Debug, thiserror::Error)]
pub enum ComputeError {
    #[error(transparent)]
    Derived(#[from] DerivedError),
    #[error("{0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    #[error("{0}")]
    Columns(String),
    #[error("{indicator} with {params} is not offered beyond analysts")]
    NotReachable { indicator: String, params: String },
}

/// Whose results a panel is computed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// As the indicator returns them.
    Analyst,
    /// Picked from the indicator's protected view: suppressed across every result
    /// anyone but an analyst can reach, before any filter (see [`reach`]).
    Protected,
}

/// One lake version, open for queries.
pub struct Source {
    pub ctx: SessionContext,
    pub lake_version: Option<i64>,
    pub lake_root: PathBuf,
    pub catalog: Arc<Catalog>,
    pub config: Arc<Config>,
    pub dashboards: Arc<Dashboards>,
    pub compliance_dir: PathBuf,
}

type Key = (Option<i64>, String, Vec<(String, String)>);

/// A protected view: lake version and indicator.
type ViewKey = (Option<i64>, String);

/// Results kept, least recently used first out, within a budget of bytes: an analyst can
/// ask for any organisation, period and practice, so the keys are not bounded.
struct Results {
    map: lru::LruCache<Key, Arc<Table>>,
    bytes: usize,
    budget: usize,
}

/// Bytes of results a server keeps by default.
pub const RESULTS_BUDGET: usize = 256 << 20;

impl Results {
    fn new(budget: usize) -> Results {
        Results {
            map: lru::LruCache::unbounded(),
            bytes: 0,
            budget,
        }
    }

    fn insert(&mut self, key: Key, table: Arc<Table>) {
        self.bytes += table.approx_bytes();
        if let Some(old) = self.map.put(key, table) {
            self.bytes -= old.approx_bytes();
        }
        // The newest stays even when it alone is over the budget: it is being served.
        while self.bytes > self.budget && self.map.len() > 1 {
            if let Some((_, gone)) = self.map.pop_lru() {
                self.bytes -= gone.approx_bytes();
            }
        }
    }

    fn retain_version(&mut self, lake_version: Option<i64>) {
        let stale: Vec<Key> = self
            .map
            .iter()
            .filter(|(k, _)| k.0 != lake_version)
            .map(|(k, _)| k.clone())
            .collect();
        for k in stale {
            if let Some(gone) = self.map.pop(&k) {
                self.bytes -= gone.approx_bytes();
            }
        }
    }
}

/// Indicator results by lake version and parameters. Misses are computed one at a time:
/// on two cores, two heavy queries at once only make both slower, and the second asker
/// of the same panel then finds it cached.
pub struct Cache {
    results: Mutex<Results>,
    computing: tokio::sync::Mutex<()>,
    protected: Mutex<HashMap<ViewKey, Arc<Protected>>>,
    protecting: tokio::sync::Mutex<()>,
}

impl Default for Cache {
    fn default() -> Self {
        Cache::with_budget(RESULTS_BUDGET)
    }
}

impl Cache {
    /// A cache that keeps at most about `budget` bytes of results (and always the
    /// latest one).
    pub fn with_budget(budget: usize) -> Cache {
        Cache {
            results: Mutex::new(Results::new(budget)),
            computing: Default::default(),
            protected: Default::default(),
            protecting: Default::default(),
        }
    }

    /// Bytes of results held.
    pub fn bytes(&self) -> usize {
        self.results.lock().expect("cache lock").bytes
    }

    /// Forgets every result not of `lake_version`.
    pub fn retain_version(&self, lake_version: Option<i64>) {
        self.results
            .lock()
            .expect("cache lock")
            .retain_version(lake_version);
        self.protected
            .lock()
            .expect("cache lock")
            .retain(|k, _| k.0 == lake_version);
    }

    pub fn len(&self) -> usize {
        self.results.lock().expect("cache lock").map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn get(&self, key: &Key) -> Option<Arc<Table>> {
        self.results
            .lock()
            .expect("cache lock")
            .map
            .get(key)
            .cloned()
    }

    /// The indicator's result with `params`, from the cache or computed now.
    pub async fn run(
        &self,
        source: &Source,
        indicator: &Indicator,
        params: &[(String, String)],
    ) -> Result<Arc<Table>, ComputeError> {
        let mut sorted = params.to_vec();
        sorted.sort();
        let key = (source.lake_version, indicator.name.clone(), sorted);
        if let Some(t) = self.get(&key) {
            return Ok(t);
        }
        let _turn = self.computing.lock().await;
        if let Some(t) = self.get(&key) {
            return Ok(t);
        }
        let sources = derived::Sources {
            catalog: &source.catalog,
            config: &source.config,
            compliance_dir: &source.compliance_dir,
            store: derived::Store::for_lake(&source.lake_root, source.lake_version),
        };
        let batches = derived::run(&source.ctx, indicator, params, &sources).await?;
        let table = Arc::new(Table::from_batches(&batches)?);
        self.results
            .lock()
            .expect("cache lock")
            .insert(key, table.clone());
        Ok(table)
    }

    /// The indicator's protected view for this lake version, built once.
    pub async fn protected(
        &self,
        source: &Source,
        indicator: &Indicator,
    ) -> Result<Arc<Protected>, ComputeError> {
        let key = (source.lake_version, indicator.name.clone());
        let cached = |c: &Self| c.protected.lock().expect("cache lock").get(&key).cloned();
        if let Some(p) = cached(self) {
            return Ok(p);
        }
        let _turn = self.protecting.lock().await;
        if let Some(p) = cached(self) {
            return Ok(p);
        }
        let started = std::time::Instant::now();
        let mut results = Vec::new();
        for (params, keeps) in reach::reachable(&source.dashboards, indicator) {
            let given: Vec<(String, String)> = params.clone().into_iter().collect();
            let table = self.run(source, indicator, &given).await?;
            results.push((params, keeps, (*table).clone()));
        }
        let rules = reach::rules(&source.dashboards, indicator);
        let reached = results.len();
        let protected = Arc::new(Protected::new(results, &rules, indicator));
        tracing::info!(
            indicator = %indicator.name,
            results = reached,
            cells = protected.outcome.cells,
            primary = protected.outcome.primary,
            complementary = protected.outcome.complementary,
            audit = protected.outcome.audit,
            seconds = started.elapsed().as_secs_f64(),
            "protected view built"
        );
        self.protected
            .lock()
            .expect("cache lock")
            .insert(key, protected.clone());
        Ok(protected)
    }

    /// The indicator's result with `params` as `access` may see it.
    pub async fn fetch(
        &self,
        source: &Source,
        indicator: &Indicator,
        params: &[(String, String)],
        access: Access,
    ) -> Result<Arc<Table>, ComputeError> {
        if access == Access::Analyst {
            return self.run(source, indicator, params).await;
        }
        let asked = reach::complete(indicator, params);
        let wide = reach::widen(indicator, asked.clone());
        let protected = self.protected(source, indicator).await?;
        protected
            .rows(&asked, &wide)
            .map(Arc::new)
            .ok_or_else(|| ComputeError::NotReachable {
                indicator: indicator.name.clone(),
                params: params
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// A computed panel, before privacy.
#[derive(Debug, Clone)]
pub struct PanelData {
    pub table: Table,
    /// The comparison series (`compare`), if the panel has one.
    pub compare: Option<Table>,
    /// The parameters the indicator ran with (fixed and chosen).
    pub params: Vec<(String, String)>,
    /// Row filters' values found in the result before filtering, for their menus.
    pub options: BTreeMap<String, Vec<String>>,
}

/// Filter values chosen (already checked and held to what the viewer may choose);
/// an empty value means "no choice".
pub type Choices = BTreeMap<String, String>;

/// The parameters a panel's indicator runs with: its fixed ones win over filters.
pub fn params_for(
    dashboard: &Dashboard,
    panel: &Panel,
    indicator: &Indicator,
    fixed: &BTreeMap<String, String>,
    choices: &Choices,
) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> =
        fixed.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for f in &dashboard.filters {
        // A row filter never binds a parameter, so it cannot widen what is reached.
        let skip = panel.ignore.contains(&f.name)
            || f.kind.filters_rows()
            || (panel.peers_of_org && f.kind == FilterKind::Organisation)
            || fixed.contains_key(&f.name);
        if skip || !indicator.params.iter().any(|p| p.name == f.name) {
            continue;
        }
        if let Some(v) = choices.get(&f.name).filter(|v| !v.is_empty()) {
            params.push((f.name.clone(), v.clone()));
        }
    }
    params
}

/// The result column a row filter reads.
fn row_column(kind: FilterKind) -> Option<&'static str> {
    match kind {
        FilterKind::PeerGroup => Some("peer_group"),
        FilterKind::Ethnicity => Some("ethnicity"),
        FilterKind::Period => Some("period"),
        _ => None,
    }
}

fn row_filters(dashboard: &Dashboard, panel: &Panel, choices: &Choices, table: &mut Table) {
    for f in &dashboard.filters {
        if panel.ignore.contains(&f.name) || !f.kind.filters_rows() {
            continue;
        }
        let Some(value) = choices.get(&f.name).filter(|v| !v.is_empty()) else {
            continue;
        };
        let Some(column) = row_column(f.kind) else {
            continue;
        };
        let Some(c) = table.col(column) else {
            continue;
        };
        if f.kind == FilterKind::Period {
            let from = value.as_str();
            table.retain(|_, row| {
                row[c]
                    .as_str()
                    .is_none_or(|p| p.get(..4).unwrap_or(p) >= from)
            });
        } else {
            table.retain(|_, row| row[c].as_str() == Some(value.as_str()));
        }
    }
}

fn keep(panel: &Panel, table: &mut Table) {
    for (column, value) in &panel.keep {
        if let Some(c) = table.col(column) {
            table.retain(|_, row| row[c].as_str() == Some(value.as_str()));
        }
    }
}

/// Computes one panel.
pub async fn panel(
    cache: &Cache,
    source: &Source,
    dashboard: &Dashboard,
    panel: &Panel,
    choices: &Choices,
    access: Access,
) -> Result<PanelData, ComputeError> {
    let indicator = indicator_of(&source.catalog, panel);
    let params = params_for(dashboard, panel, indicator, &panel.params, choices);
    let mut table = (*cache.fetch(source, indicator, &params, access).await?).clone();
    // An empty result may come without columns; there is nothing to check or show.
    if !table.columns.is_empty() {
        dashboard
            .check_columns(panel, &table.columns)
            .map_err(ComputeError::Columns)?;
    }
    let mut options = BTreeMap::new();
    for f in dashboard
        .filters
        .iter()
        .filter(|f| matches!(f.kind, FilterKind::PeerGroup | FilterKind::Ethnicity))
    {
        if let Some(column) = row_column(f.kind) {
            let mut values = table.distinct(column);
            values.sort();
            options.insert(f.name.clone(), values);
        }
    }
    row_filters(dashboard, panel, choices, &mut table);
    keep(panel, &mut table);
    if panel.peers_of_org
        && let Some(org) = choices.get("org").filter(|o| !o.is_empty())
    {
        let group = (0..table.rows.len())
            .find(|&r| table.text(r, "org_code") == Some(org.as_str()))
            .and_then(|r| table.text(r, "peer_group").map(str::to_string));
        if let (Some(group), Some(c)) = (group, table.col("peer_group")) {
            table.retain(|_, row| row[c].as_str() == Some(group.as_str()));
        }
    }
    let compare = match &panel.compare {
        None => None,
        Some(fixed) => {
            let mut all = panel.params.clone();
            all.extend(fixed.clone());
            let params = params_for(dashboard, panel, indicator, &all, choices);
            let mut t = (*cache.fetch(source, indicator, &params, access).await?).clone();
            row_filters(dashboard, panel, choices, &mut t);
            keep(panel, &mut t);
            Some(t)
        }
    };
    Ok(PanelData {
        table,
        compare,
        params,
        options,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Cell;

    fn table(rows: usize) -> Arc<Table> {
        Arc::new(Table {
            columns: vec!["x".into()],
            rows: (0..rows).map(|i| vec![Cell::Int(i as i64)]).collect(),
        })
    }

    fn key(version: i64, name: &str) -> Key {
        (Some(version), name.to_string(), Vec::new())
    }

    #[test]
    fn results_are_kept_within_their_bytes_least_recently_used_out() {
        let one = table(100).approx_bytes();
        let mut r = Results::new(one * 2);
        r.insert(key(1, "a"), table(100));
        r.insert(key(1, "b"), table(100));
        assert_eq!(r.bytes, one * 2);
        // `a` used, so `b` is the least recently used when `c` arrives.
        assert!(r.map.get(&key(1, "a")).is_some());
        r.insert(key(1, "c"), table(100));
        assert!(r.map.contains(&key(1, "a")) && r.map.contains(&key(1, "c")));
        assert!(!r.map.contains(&key(1, "b")));
        assert_eq!(r.bytes, one * 2);
        // One result larger than the budget is still kept: it is the one being served.
        r.insert(key(1, "big"), table(1000));
        assert_eq!(r.map.len(), 1);
        assert_eq!(r.bytes, table(1000).approx_bytes());
        // A new lake version drops the old one's results and their bytes.
        r.insert(key(2, "a"), table(10));
        r.retain_version(Some(2));
        assert_eq!(r.map.len(), 1);
        assert_eq!(r.bytes, table(10).approx_bytes());
    }
}
