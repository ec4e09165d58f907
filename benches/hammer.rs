//! Abuse benchmark (not a test; issue 10 section 5): 64 connections hammer uncached
//! filter combinations of every panel (JSON, SVG, PNG) for a while, and a prober asks
//! `/healthz` ten times a second. Reports the prober's worst and 99th-percentile
//! latency and every status the hammering got; anything but 200, 429 and 503 is a
//! failure, and so is a `/healthz` slower than 100 ms.
//!
//!     cargo bench --bench hammer -- --lake /tmp/ako-cat/lake --seconds 60
//!     cargo bench --bench hammer                     # the bundled sample, 60 s
//!
//! The server runs in this process on loopback with no tokens (every request is an
//! analyst's, so nothing is served from a warm protected view: the worst case).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ako::catalog::Catalog;
use ako::config::Config;
use ako::dashboard::Dashboards;
use ako::ingest::{self, IngestOptions};
use ako::lake::Lake;
use ako::web::{self, AppState, Settings};
use rand::{Rng, SeedableRng};

/// A filter's name and the values the hammer picks from.
type Choices = Vec<(String, Vec<String>)>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut lake: Option<PathBuf> = None;
    let mut seconds = 60u64;
    let mut connections = 64usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--lake" => lake = Some(args.next().ok_or("--lake DIR")?.into()),
            "--seconds" => seconds = args.next().ok_or("--seconds N")?.parse()?,
            "--connections" => connections = args.next().ok_or("--connections N")?.parse()?,
            _ => {} // cargo bench passes --bench
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let runtime = tokio::runtime::Runtime::new()?;
    let lake = match lake {
        Some(l) => l,
        None => {
            let dir = tempfile::tempdir()?.keep();
            let sample = root.join("sample-data");
            runtime.block_on(ingest::ingest(
                &Lake::open(&dir)?,
                std::slice::from_ref(&sample),
                &IngestOptions::for_bundle(&sample),
                &(),
                &mut |_| {},
            ))?;
            dir
        }
    };
    let catalog = Catalog::load(&root.join("queries"))?;
    let dashboards = Dashboards::load(&root.join("dashboards"), &catalog)?;
    let settings = Settings {
        lake,
        config: Config::default(),
        config_path: None,
        catalog,
        dashboards,
        compliance_dir: root.join("compliance"),
    };
    let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async move {
            let state = AppState::open(settings).await.expect("state");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, web::router(state)).await.unwrap();
        });
    });
    let addr = rx.recv()?;
    let agent = || -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into()
    };
    // Every panel's JSON, CSV, SVG and PNG, as the API lists them, with the filter
    // values each panel offers: a random combination is almost never cached.
    let setup = agent();
    let list: serde_json::Value = setup
        .get(&format!("http://{addr}/api/dashboards"))
        .call()?
        .body_mut()
        .read_json()?;
    let mut targets: Vec<(String, Choices)> = Vec::new();
    for d in list["dashboards"].as_array().ok_or("no dashboards")? {
        for p in d["panels"].as_array().ok_or("no panels")? {
            let Some(json) = p["json"].as_str() else {
                continue;
            };
            let first: serde_json::Value = setup
                .get(&format!("http://{addr}{json}"))
                .call()?
                .body_mut()
                .with_config()
                .limit(64 << 20)
                .read_json()?;
            let filters: Choices = first["filters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|f| f["locked"].as_bool() != Some(true))
                .map(|f| {
                    let values = f["options"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|o| o[0].as_str().map(String::from))
                        .collect();
                    (f["name"].as_str().unwrap_or("").to_string(), values)
                })
                .filter(|(_, v): &(String, Vec<String>)| !v.is_empty())
                .collect();
            for link in ["json", "csv", "svg", "png"] {
                if let Some(url) = p[link].as_str() {
                    let path = url.split('?').next().unwrap_or(url);
                    targets.push((path.to_string(), filters.clone()));
                }
            }
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let statuses: Arc<Mutex<BTreeMap<u16, u64>>> = Arc::default();
    let targets = Arc::new(targets);
    let mut clients = Vec::new();
    for c in 0..connections {
        let (stop, statuses, targets) = (stop.clone(), statuses.clone(), targets.clone());
        let agent = agent();
        clients.push(std::thread::spawn(move || {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(c as u64);
            while !stop.load(Ordering::Relaxed) {
                let (path, filters) = &targets[rng.random_range(0..targets.len())];
                let query: Vec<String> = filters
                    .iter()
                    .map(|(n, v)| format!("{n}={}", v[rng.random_range(0..v.len())]))
                    .collect();
                let url = format!("http://{addr}{path}?{}", query.join("&"));
                let status = match agent.get(&url).call() {
                    Ok(mut r) => {
                        let _ = r.body_mut().read_to_vec();
                        r.status().as_u16()
                    }
                    Err(_) => 0, // a transport error: counted as a failure
                };
                *statuses.lock().unwrap().entry(status).or_default() += 1;
            }
        }));
    }
    let probe = agent();
    let mut latencies = Vec::new();
    let mut health_failures = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(seconds) {
        let t = Instant::now();
        match probe.get(&format!("http://{addr}/healthz")).call() {
            Ok(r) if r.status() == 200 => latencies.push(t.elapsed()),
            _ => health_failures += 1,
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        let _ = c.join();
    }
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    let statuses = statuses.lock().unwrap().clone();
    let failures: u64 = statuses
        .iter()
        .filter(|(s, _)| !matches!(s, 200 | 429 | 503))
        .map(|(_, n)| n)
        .sum();
    println!(
        "{connections} connections for {seconds} s over {} panel URLs",
        targets.len()
    );
    println!("responses by status: {statuses:?}");
    println!(
        "/healthz: {} probes, p50 {:.1} ms, p99 {:.1} ms, worst {:.1} ms, {health_failures} failed",
        latencies.len(),
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3
    );
    let slow = latencies.last().unwrap() > &Duration::from_millis(100);
    if failures > 0 || health_failures > 0 || slow {
        println!("FAIL: {failures} responses other than 200/429/503; /healthz over 100 ms: {slow}");
        std::process::exit(1);
    }
    println!("PASS");
    Ok(())
}
