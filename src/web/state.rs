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
    Ideas(#[from] crate::ideas::IdeasError),
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

/// The lake version being served, with what is read from it once.
pub struct Current {
    pub source: Source,
    pub pseudonyms: Pseudonyms,
    /// (org_code, started date, title).
    pub ideas: Vec<crate::model::ChangeIdea>,
    /// Calendar years with episodes, for the period filter.
    pub years: Vec<String>,
}

/// Shared server state.
pub struct AppState {
    pub settings: Settings,
    pub(crate) current: RwLock<Arc<Current>>,
    pub cache: Cache,
    pub(crate) lake: Lake,
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) config: Arc<Config>,
    /// Whether the server started with tokens: fixed for its life, so that emptying the
    /// token list leaves everyone public rather than making everyone an analyst.
    pub(crate) tokens_required: bool,
    pub tokens: session::TokenList,
    pub sessions: session::Sessions,
    /// Room for expensive requests ([`MAX_IN_FLIGHT`]).
    pub(crate) in_flight: Arc<tokio::sync::Semaphore>,
    /// Charts rasterised at once: one per core, since each takes a core while it runs.
    pub(crate) rasters: Arc<tokio::sync::Semaphore>,
    /// Where queries and drawing run, apart from the runtime that accepts connections.
    pub(crate) workers: super::workers::Workers,
}

impl AppState {
    pub async fn open(settings: Settings) -> Result<Arc<AppState>, WebError> {
        let lake = Lake::open(&settings.lake)?;
        let catalog = Arc::new(settings.catalog.clone());
        let config = Arc::new(settings.config.clone());
        let current = load(&lake, &settings, &catalog, &config).await?;
        let tokens_required = !settings.config.tokens.is_empty();
        let tokens =
            session::TokenList::new(settings.config_path.clone(), settings.config.tokens.clone());
        Ok(Arc::new(AppState {
            tokens_required,
            tokens,
            sessions: session::Sessions::default(),
            in_flight: Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT)),
            rasters: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
            workers: super::workers::Workers::new()?,
            settings,
            current: RwLock::new(Arc::new(current)),
            cache: Cache::default(),
            lake,
            catalog,
            config,
        }))
    }

    pub fn current(&self) -> Arc<Current> {
        self.current.read().expect("state lock").clone()
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
        let latest = self.lake.snapshot(None).await?.lake_version;
        if latest == self.current().source.lake_version {
            return Ok(false);
        }
        let next = load(&self.lake, &self.settings, &self.catalog, &self.config).await?;
        let version = next.source.lake_version;
        *self.current.write().expect("state lock") = Arc::new(next);
        self.cache.retain_version(version);
        if let Some(v) = version {
            crate::derived::prune(&self.settings.lake, v);
        }
        tracing::info!(lake_version = ?version, "serving a new lake version");
        Ok(true)
    }
}

pub(crate) async fn load(
    lake: &Lake,
    settings: &Settings,
    catalog: &Arc<Catalog>,
    config: &Arc<Config>,
) -> Result<Current, WebError> {
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
    let key = settings
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
    let ideas = crate::ideas::from_lake(&ctx, catalog).await?;
    let years = strings(
        &ctx,
        "SELECT DISTINCT substr(month, 1, 4) AS year FROM episodes ORDER BY year",
    )
    .await?
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    Ok(Current {
        source: Source {
            ctx,
            lake_version: snapshot.lake_version,
            lake_root: settings.lake.clone(),
            catalog: catalog.clone(),
            config: config.clone(),
            dashboards: Arc::new(settings.dashboards.clone()),
            compliance_dir: settings.compliance_dir.clone(),
        },
        pseudonyms,
        ideas,
        years,
    })
}

pub(crate) async fn strings(
    ctx: &datafusion::prelude::SessionContext,
    sql: &str,
) -> Result<Vec<Vec<String>>, WebError> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let table = Table::from_batches(&batches).map_err(|e| WebError::Refused(e.to_string()))?;
    Ok(table
        .rows
        .iter()
        .map(|r| r.iter().map(|c| c.display()).collect())
        .collect())
}

/// Computes every dashboard's panels as first opened, so the first visitor after a
/// start or an ingest does not wait for them. Requests are served meanwhile: a cached
/// panel never waits, an uncached one takes its turn.
pub async fn warm(state: &AppState) {
    let current = state.current();
    let started = std::time::Instant::now();
    for d in &state.settings.dashboards.list {
        let Ok((choices, _)) = choose(state, &current, d, &Viewer::analyst(), &BTreeMap::new())
        else {
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
