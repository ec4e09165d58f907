//! The server's state: settings, the lake version served with what is read from it once,
//! the caches, and moving to a new lake version (refresh, warm-up).

use super::*;
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("reading organisations: {0}")]
    Query(Box<datafusion::error::DataFusionError>),
    #[error(transparent)]
    View(#[from] crate::dashboard::view::ViewError),
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

boxed_datafusion_error!(WebError, WebError::Query);

/// What the server serves.
pub struct Settings {
    pub lake: PathBuf,
    pub config: Config,
    /// The configuration file, watched so that a token removed from it stops working
    /// without a restart (none: the tokens in `config` stay as they are).
    pub config_path: Option<PathBuf>,
    pub catalog: Catalog,
    pub dashboards: Dashboards,
    pub compliance_dir: PathBuf,
}

impl Settings {
    /// What every edition of the dashboards is computed from.
    pub fn basis(&self) -> Basis {
        Basis {
            lake_root: self.lake.clone(),
            catalog: Arc::new(self.catalog.clone()),
            config: Arc::new(self.config.clone()),
            dashboards: Arc::new(self.dashboards.clone()),
            compliance_dir: self.compliance_dir.clone(),
            collab_path: Some(crate::collab::path(
                &self.lake,
                self.config.collab.path.as_deref(),
            )),
        }
    }
}

/// Shared server state.
pub struct AppState {
    pub settings: Settings,
    pub(crate) current: RwLock<Arc<Edition>>,
    pub cache: Cache,
    /// Charts rasterised before, by figure (so by version, filters and role).
    pub pngs: crate::chart::PngCache,
    /// Whole panel answers by request (so by edition, viewer, filters and output).
    pub answers: crate::kept::Kept<super::answers::Answer>,
    pub(crate) lake: Lake,
    /// What each new lake version's edition is computed from.
    pub(crate) basis: Basis,
    /// Whether the server started with tokens: fixed for its life, so that emptying the
    /// token list leaves everyone public rather than making everyone an analyst.
    pub(crate) tokens_required: bool,
    pub tokens: signin::TokenList,
    pub signins: signin::Sessions,
    /// Room for expensive requests ([`MAX_IN_FLIGHT`]).
    pub(crate) in_flight: Arc<tokio::sync::Semaphore>,
    /// Charts rasterised at once: one per core, since each takes a core while it runs.
    pub(crate) rasters: Arc<tokio::sync::Semaphore>,
    /// Where queries and drawing run, apart from the runtime that accepts connections.
    pub(crate) workers: super::workers::Workers,
    /// The collaborative database (learning sessions, notes), opened per request: it
    /// is made only when a session route first needs it.
    pub(crate) collab_path: PathBuf,
    /// Editions of the lake versions learning sessions pinned, loaded when first asked
    /// for (a few at a time: sessions are held on few days).
    pinned: tokio::sync::Mutex<Vec<Arc<Edition>>>,
}

impl AppState {
    pub async fn open(settings: Settings) -> Result<Arc<AppState>, WebError> {
        let lake = Lake::open(&settings.lake)?;
        let basis = settings.basis();
        let current = Edition::load(&lake, &basis).await?;
        let tokens_required = !settings.config.tokens.is_empty();
        let tokens =
            signin::TokenList::new(settings.config_path.clone(), settings.config.tokens.clone());
        Ok(Arc::new(AppState {
            tokens_required,
            tokens,
            signins: signin::Sessions::default(),
            in_flight: Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT)),
            rasters: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
            workers: super::workers::Workers::new()?,
            collab_path: crate::collab::path(
                &settings.lake,
                settings.config.collab.path.as_deref(),
            ),
            settings,
            pinned: tokio::sync::Mutex::new(Vec::new()),
            current: RwLock::new(Arc::new(current)),
            cache: Cache::default(),
            pngs: crate::chart::PngCache::default(),
            answers: crate::kept::Kept::with_budget(super::answers::ANSWER_BUDGET),
            lake,
            basis,
        }))
    }

    pub fn current(&self) -> Arc<Edition> {
        self.current.read().expect("state lock").clone()
    }

    /// The edition of lake version `version` (a session's pinned one): the current one if
    /// it is that version, else loaded once and kept among the last few.
    pub async fn edition_at(&self, version: Option<i64>) -> Result<Arc<Edition>, WebError> {
        let current = self.current();
        if version.is_none() || current.source.lake_version == version {
            return Ok(current);
        }
        let mut pinned = self.pinned.lock().await;
        if let Some(e) = pinned.iter().find(|e| e.source.lake_version == version) {
            return Ok(e.clone());
        }
        let e = Arc::new(Edition::load_at(&self.lake, &self.basis, version).await?);
        pinned.push(e.clone());
        if pinned.len() > 3 {
            pinned.remove(0);
        }
        Ok(e)
    }

    /// The room for expensive requests: a permit per request computing or drawing. An
    /// operator's check (or a test) can hold permits to see the server refuse with 503.
    pub fn admission(&self) -> Arc<tokio::sync::Semaphore> {
        self.in_flight.clone()
    }

    /// Whether requests must carry a token (any are configured).
    pub fn tokens_required(&self) -> bool {
        self.tokens_required
    }

    /// Moves to the lake's newest version if an ingest made one; returns whether it did.
    /// Cached panels of older versions are dropped.
    pub async fn refresh(&self) -> Result<bool, WebError> {
        // Polled every few seconds: the log's file names say whether anything changed,
        // which costs a directory listing, not a table load and two queries.
        let head = self.lake.head_version()?;
        if head == self.current().source.lake_version {
            return Ok(false);
        }
        let latest = self.lake.snapshot(None).await?.lake_version;
        if latest == self.current().source.lake_version {
            return Ok(false);
        }
        let next = Edition::load(&self.lake, &self.basis).await?;
        let version = next.source.lake_version;
        *self.current.write().expect("state lock") = Arc::new(next);
        self.cache.retain_version(version);
        self.answers.clear();
        if let Some(v) = version {
            // Pinned sessions' versions keep their derived tables.
            let oldest = self
                .pinned
                .lock()
                .await
                .iter()
                .filter_map(|e| e.source.lake_version)
                .fold(v, i64::min);
            crate::derived::prune(&self.settings.lake, oldest);
        }
        tracing::info!(lake_version = ?version, "serving a new lake version");
        Ok(true)
    }
}

/// Computes every dashboard's panels as first opened, so the first visitor after a
/// start or an ingest does not wait for them. Requests are served meanwhile: a cached
/// panel never waits, an uncached one takes its turn.
pub async fn warm(state: &AppState) {
    let current = state.current();
    let started = std::time::Instant::now();
    for d in &state.settings.dashboards.list {
        let Ok((choices, _)) = current.choose(d, &Viewer::analyst(), &BTreeMap::new()) else {
            continue;
        };
        for panel in &d.panels {
            let computed = compute::panel(
                &state.cache,
                &current.source,
                d,
                panel,
                &choices,
                Access::Analyst,
            )
            .await;
            if let Err(e) = computed {
                tracing::warn!(dashboard = %d.id, panel = %panel.id, "warming: {e}");
            }
        }
    }
    // With tokens, non-analysts are served from protected views: build them now too.
    if state.tokens_required() {
        let mut indicators: Vec<&str> = state
            .settings
            .dashboards
            .list
            .iter()
            .filter(|d| d.audience.iter().any(|r| *r != Role::Analyst))
            .flat_map(|d| d.panels.iter().map(|p| p.indicator.as_str()))
            .collect();
        indicators.sort_unstable();
        indicators.dedup();
        for name in indicators {
            let Ok(indicator) = state.settings.catalog.get(name) else {
                continue;
            };
            if let Err(e) = state.cache.protected(&current.source, indicator).await {
                tracing::warn!(indicator = name, "protecting: {e}");
            }
        }
    }
    tracing::info!(
        lake_version = ?current.source.lake_version,
        seconds = started.elapsed().as_secs_f64(),
        results = state.cache.len(),
        result_bytes = state.cache.bytes(),
        "dashboards computed"
    );
}
