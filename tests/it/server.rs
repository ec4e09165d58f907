//! A dashboard server over the bundled sample, shared by the web and browser tests: the
//! sample is ingested once per test run, and each server runs on its own thread and
//! runtime on an ephemeral loopback port.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use ako::catalog::Catalog;
use ako::config::Config;
use ako::dashboard::Dashboards;
use ako::ingest::{self, FileReport, IngestOptions, Status};
use ako::lake::Lake;
use ako::privacy::tokens;
use ako::web::{self, AppState, Settings};

/// The bundled sample, ingested once into a lake kept for the whole run, with the
/// ingest's report on every file.
struct Sample {
    dir: PathBuf,
    reports: Vec<FileReport>,
}

fn sample() -> &'static Sample {
    static SAMPLE: OnceLock<Sample> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        std::thread::spawn(|| {
            let dir = run_dir("web-lake");
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            let reports = rt.block_on(async {
                let lake = Lake::open(&dir).expect("lake");
                let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data");
                ingest::ingest(
                    &lake,
                    std::slice::from_ref(&sample),
                    &IngestOptions::for_bundle(&sample),
                    &(),
                    &mut |_| {},
                )
                .await
                .expect("the sample ingests")
            });
            assert!(reports.len() > 100, "the whole sample: {}", reports.len());
            assert!(reports.iter().all(|r| r.status == Status::Ingested));
            Sample { dir, reports }
        })
        .join()
        .expect("ingest thread")
    })
}

/// A folder that lives as long as this test process: statics are never dropped, so a
/// temporary directory held by one would outlive every run. It is kept in the target's
/// temporary folder as `ako-NAME-PID`, and the folders of runs that have ended are
/// removed when the next run asks (where `/proc` says which processes live).
pub fn run_dir(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let prefix = format!("ako-{name}-");
    if let Ok(entries) = std::fs::read_dir(root) {
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let pid = file_name.to_str().and_then(|n| n.strip_prefix(&prefix));
            let ended = pid.is_some_and(|pid| {
                Path::new("/proc/self").exists() && !Path::new("/proc").join(pid).exists()
            });
            if ended {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = root.join(format!("{prefix}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a folder for the run");
    dir
}

/// The shared lake of the bundled sample.
pub fn sample_lake() -> &'static Path {
    &sample().dir
}

/// What ingesting the bundled sample reported, file by file.
pub fn sample_reports() -> &'static [FileReport] {
    &sample().reports
}

/// Tokens of the shared server, one per role (public has none).
pub struct Tokens {
    pub analyst: String,
    pub leader: String,
    pub facilitator: String,
    pub advisor: String,
}

pub const LEADER_ORG: &str = "CMH";

pub struct Server {
    pub addr: SocketAddr,
    #[allow(dead_code)] // for tests that drive the state directly
    pub state: Arc<AppState>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

fn settings(config: Config) -> Settings {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let catalog = Catalog::load(&root.join("queries")).expect("catalogue");
    let dashboards = Dashboards::load(&root.join("dashboards"), &catalog).expect("dashboards");
    Settings {
        lake: sample_lake().to_path_buf(),
        config,
        config_path: None,
        catalog,
        dashboards,
        compliance_dir: root.join("compliance"),
    }
}

/// Starts a server with `config` on its own thread.
pub fn start(config: Config) -> Server {
    start_with(settings(config))
}

/// Starts a server reading `path` for its configuration and watching it for token
/// changes, as `ako serve --config PATH` does.
pub fn start_watching(path: &Path) -> Server {
    let config = Config::load(Some(path)).expect("config");
    let mut s = settings(config);
    s.config_path = Some(path.to_path_buf());
    start_with(s)
}

fn start_with(settings: Settings) -> Server {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async move {
            let state = AppState::open(settings).await.expect("state");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send((listener.local_addr().unwrap(), state.clone()))
                .unwrap();
            axum::serve(listener, web::router(state)).await.unwrap();
        });
    });
    let (addr, state) = rx.recv().expect("server started");
    Server { addr, state }
}

/// The shared server with a token per role.
pub fn with_tokens() -> &'static (Server, Tokens) {
    static SERVER: OnceLock<(Server, Tokens)> = OnceLock::new();
    SERVER.get_or_init(|| {
        let t = Tokens {
            analyst: "ako_test_analyst".into(),
            leader: "ako_test_leader".into(),
            facilitator: "ako_test_facilitator".into(),
            advisor: "ako_test_advisor".into(),
        };
        let text = format!(
            "[privacy]\npseudonym_key = \"test key\"\n\n\
             [[tokens]]\nrole = \"analyst\"\nhash = \"{}\"\n\n\
             [[tokens]]\nrole = \"leader\"\norg = \"{LEADER_ORG}\"\nhash = \"{}\"\n\n\
             [[tokens]]\nrole = \"facilitator\"\nhash = \"{}\"\n\n\
             [[tokens]]\nrole = \"advisor\"\nhash = \"{}\"\n",
            tokens::hash(&t.analyst),
            tokens::hash(&t.leader),
            tokens::hash(&t.facilitator),
            tokens::hash(&t.advisor)
        );
        let config = Config::parse(Path::new("test.toml"), &text).expect("config");
        (start(config), t)
    })
}

/// A response read whole.
pub struct Got {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Got {
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// GET with an optional bearer token.
pub fn get(url: &str, token: Option<&str>) -> Got {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent.get(url);
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    let mut resp = req.call().expect("request");
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = resp
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_vec()
        .expect("body");
    Got {
        status,
        content_type,
        body,
    }
}
