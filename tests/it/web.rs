//! The dashboard server over HTTP: every route for every role, what a leader may never
//! see, suppression as served, tokens, the cache across lake versions, publishing.

use std::collections::BTreeMap;

use ako::privacy::Role;
use serde_json::Value;

use crate::fixture::{Fixture, ako};
use crate::server::{self, Got, LEADER_ORG, get, with_tokens};

fn token_for(role: Role) -> Option<String> {
    let (_, t) = with_tokens();
    match role {
        Role::Analyst => Some(t.analyst.clone()),
        Role::Leader => Some(t.leader.clone()),
        Role::Facilitator => Some(t.facilitator.clone()),
        Role::Advisor => Some(t.advisor.clone()),
        Role::Public => None,
        // Scoped to one session's group: they reach only its routes (tests/it/sessions.rs).
        Role::Moderator | Role::Participant => unreachable!("no dashboards of their own"),
    }
}

/// Every dashboard listed for a role, with every output of every panel fetched.
fn fetch_all(role: Role, query: &str) -> Vec<(String, Got)> {
    let (s, _) = with_tokens();
    let token = token_for(role);
    let list = get(&s.url("/api/dashboards"), token.as_deref());
    assert_eq!(list.status, 200);
    let mut out = vec![("/api/dashboards".to_string(), list)];
    let dashboards = out[0].1.json()["dashboards"].as_array().unwrap().clone();
    for d in dashboards {
        let html = format!("{}{query}", d["html"].as_str().unwrap());
        out.push((html.clone(), get(&s.url(&html), token.as_deref())));
        let api = format!("{}{query}", d["api"].as_str().unwrap());
        out.push((api.clone(), get(&s.url(&api), token.as_deref())));
        for p in d["panels"].as_array().unwrap() {
            for kind in ["json", "csv", "svg", "png"] {
                if let Some(path) = p[kind].as_str() {
                    let path = format!("{path}{query}");
                    out.push((path.clone(), get(&s.url(&path), token.as_deref())));
                }
            }
        }
    }
    out
}

fn ids(role: Role) -> Vec<String> {
    let (s, _) = with_tokens();
    let list = get(&s.url("/api/dashboards"), token_for(role).as_deref()).json();
    list["dashboards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn each_role_is_offered_the_dashboards_of_its_audience() {
    assert_eq!(
        ids(Role::Analyst),
        [
            "compliance",
            "data-quality",
            "equity",
            "my-organisation",
            "national-overview",
            "peer-group"
        ]
    );
    assert_eq!(
        ids(Role::Leader),
        [
            "compliance",
            "equity",
            "my-organisation",
            "national-overview",
            "peer-group"
        ]
    );
    assert_eq!(
        ids(Role::Facilitator),
        [
            "equity",
            "my-organisation",
            "national-overview",
            "peer-group"
        ]
    );
    assert_eq!(ids(Role::Public), ["equity", "national-overview"]);
    let (s, t) = with_tokens();
    let closed = get(&s.url("/dashboards/data-quality"), Some(&t.leader));
    assert_eq!(closed.status, 403);
    assert!(closed.text().contains("for analyst"), "{}", closed.text());
    assert_eq!(get(&s.url("/api/dashboards/compliance"), None).status, 403);
    assert_eq!(
        get(&s.url("/dashboards/nope"), Some(&t.analyst)).status,
        404
    );
    assert_eq!(
        get(
            &s.url("/api/dashboards/equity/panels/nope"),
            Some(&t.analyst)
        )
        .status,
        404
    );
    assert_eq!(
        get(&s.url("/api/dashboards"), Some("ako_wrong")).status,
        401
    );
}

#[test]
fn every_route_answers_for_every_role() {
    let (s, _) = with_tokens();
    let health = get(&s.url("/healthz"), None);
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
    // The bundled sample lands in one commit.
    assert_eq!(health.json()["lake_version"].as_i64(), Some(0));
    for role in Role::ALL.into_iter().filter(|r| !r.is_scoped()) {
        for (path, got) in fetch_all(role, "") {
            assert_eq!(got.status, 200, "{role:?} {path}: {}", got.text());
            let expected = if path.ends_with(".csv") {
                "text/csv"
            } else if path.ends_with(".svg") {
                "image/svg+xml"
            } else if path.ends_with(".png") {
                "image/png"
            } else if path.starts_with("/dashboards/") {
                "text/html"
            } else {
                "application/json"
            };
            assert!(
                got.content_type.starts_with(expected),
                "{path}: {}",
                got.content_type
            );
            if path.ends_with(".png") {
                assert_eq!(&got.body[..8], b"\x89PNG\r\n\x1a\n", "{path}");
            }
            if path.ends_with(".svg") {
                let svg = got.text();
                assert!(svg.contains("<title>") && svg.contains("<desc>"), "{path}");
            }
            if path.starts_with("/dashboards/") {
                let html = got.text();
                assert!(!html.contains("could not be computed"), "{path}");
            }
        }
    }
}

#[test]
fn every_chart_says_what_it_shows_with_its_period_and_lake_version() {
    let (s, t) = with_tokens();
    let version = get(&s.url("/healthz"), None).json()["lake_version"]
        .as_i64()
        .unwrap();
    let panel = get(
        &s.url("/api/dashboards/my-organisation/panels/my-rate?org=CMH&grain=quarter"),
        Some(&t.analyst),
    )
    .json();
    assert_eq!(panel["lake_version"], version);
    assert_eq!(panel["unit"], "events per 1,000 bed days");
    // The generator gave CMH a change idea in April 2023 and a step down after it.
    assert_eq!(
        panel["description"]
            .as_str()
            .unwrap()
            .split('.')
            .next()
            .unwrap(),
        "CMH: special-cause improvement since 2023-Q2"
    );
    assert!(
        panel["period"]
            .as_str()
            .unwrap()
            .starts_with("Period: 2021-Q3 to 2025-Q2")
    );
    let svg = get(
        &s.url("/api/dashboards/my-organisation/panels/my-rate/chart.svg?org=CMH&grain=quarter"),
        Some(&t.analyst),
    )
    .text();
    assert!(svg.contains("CMH: special-cause improvement since 2023-Q2"));
    assert!(svg.contains(&format!("lake version {version}")));
    // The change idea is drawn as a dated annotation.
    assert!(svg.contains("Trauma-informed care training"));
    // A table with nothing in it says why rather than showing an empty grid.
    let compliance = get(
        &s.url("/api/dashboards/my-organisation/panels/my-compliance?org=CMH"),
        Some(&t.analyst),
    )
    .json();
    assert_eq!(compliance["rows"].as_array().unwrap().len(), 0);
    assert!(
        compliance["description"]
            .as_str()
            .unwrap()
            .starts_with("No rule of our jurisdiction's rule set applies")
    );
    let qld = get(
        &s.url("/api/dashboards/my-organisation/panels/my-compliance?org=QLD-GC"),
        Some(&t.analyst),
    )
    .json();
    let rows = qld["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert_eq!(
        qld["description"],
        format!("A table of {} rows.", rows.len())
    );
    assert!(
        qld["period"]
            .as_str()
            .unwrap()
            .contains(&format!("lake version {version}"))
    );
}

#[test]
fn filters_are_checked_not_spliced() {
    let (s, t) = with_tokens();
    let bad = get(
        &s.url("/api/dashboards/my-organisation/panels/my-rate?grain=week"),
        Some(&t.analyst),
    );
    assert_eq!(bad.status, 400);
    assert!(
        bad.text()
            .contains("grain must be one of month, quarter, year")
    );
    let injection = get(
        &s.url("/api/dashboards/my-organisation/panels/my-rate?org=CMH'%20OR%20'1'='1"),
        Some(&t.analyst),
    );
    assert_eq!(injection.status, 400);
    assert!(injection.text().contains("no organisation"));
    // A facilitator names organisations only by peer code.
    let real = get(
        &s.url("/api/dashboards/my-organisation/panels/my-rate?org=CMH"),
        Some(&t.facilitator),
    );
    assert_eq!(real.status, 400);
}

/// Codes and names of every organisation but the leader's, from the organisations table.
fn others() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/sample-data/reference/organisations.csv"
    ))
    .unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[1].to_string())
        })
        .filter(|(c, _)| c != LEADER_ORG)
        .collect()
}

/// Whether `code` appears as a whole word (codes are short capitals, e.g. `CAN`).
fn mentions(text: &str, code: &str) -> bool {
    text.match_indices(code).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + code.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-');
        !word(before) && !word(after)
    })
}

#[test]
fn a_leader_never_sees_another_organisation() {
    let others = others();
    assert!(others.len() > 10);
    let mut checked = 0;
    for query in [
        "",
        "?grain=year",
        "?grain=month&practice=all",
        "?grouping=challenge",
    ] {
        for (path, got) in fetch_all(Role::Leader, query) {
            if got.content_type.starts_with("image/png") {
                continue;
            }
            assert_eq!(got.status, 200, "{path}");
            let text = got.text();
            for (code, name) in &others {
                assert!(!mentions(&text, code), "{path} names {code}");
                assert!(!text.contains(name.as_str()), "{path} names {name}");
            }
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked} responses checked");
    // Their own organisation is named, and peers appear by code.
    let (s, t) = with_tokens();
    let html = get(&s.url("/dashboards/my-organisation"), Some(&t.leader)).text();
    assert!(html.contains("CMH — Counties Manukau DHB"));
    let ranking = get(
        &s.url("/api/dashboards/my-organisation/panels/peer-ranking"),
        Some(&t.leader),
    )
    .json();
    let orgs: Vec<&str> = ranking["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["org_code"].as_str().unwrap())
        .collect();
    assert!(orgs.contains(&LEADER_ORG));
    assert!(orgs.iter().any(|o| o.starts_with('P') && o.len() == 4));
    // A peer's jurisdiction is withheld (it would name a state's only organisations);
    // the leader's own is shown.
    for r in ranking["rows"].as_array().unwrap() {
        let own = r["org_code"] == LEADER_ORG;
        assert_eq!(r["jurisdiction"].is_null(), !own, "{r}");
    }
    // Asking for another organisation changes nothing: a leader is held to their own.
    let asked = get(
        &s.url("/api/dashboards/my-organisation/panels/my-rate?org=AKL"),
        Some(&t.leader),
    )
    .json();
    assert!(asked["description"].as_str().unwrap().starts_with("CMH"));
}

#[test]
fn peer_codes_are_stable_between_requests() {
    let (s, t) = with_tokens();
    let codes = || {
        let v = get(
            &s.url("/api/dashboards/national-overview/panels/funnel"),
            Some(&t.facilitator),
        )
        .json();
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["org_code"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let first = codes();
    assert!(!first.is_empty());
    assert!(first.iter().all(|c| c.starts_with('P')));
    assert_eq!(first, codes());
}

fn rows(v: &Value) -> Vec<BTreeMap<String, Value>> {
    serde_json::from_value(v["rows"].clone()).unwrap()
}

#[test]
fn served_cells_under_six_are_withheld_and_cannot_be_recovered_from_totals() {
    let (s, t) = with_tokens();
    let path = "/api/dashboards/equity/panels/headline-by-ethnicity";
    let analyst = rows(&get(&s.url(path), Some(&t.analyst)).json());
    let public = rows(&get(&s.url(path), None).json());
    assert_eq!(analyst.len(), public.len());
    let small = |r: &BTreeMap<String, Value>| {
        r["numerator"]
            .as_f64()
            .is_some_and(|n| (1.0..6.0).contains(&n))
    };
    assert!(
        analyst.iter().any(small),
        "the sample has small cells to test"
    );
    assert!(!public.iter().any(small));
    // Every month with a withheld group has at least two withheld, so "all" minus the
    // others gives no single group back.
    let mut by_period: BTreeMap<String, (usize, f64, f64)> = BTreeMap::new();
    for (a, p) in analyst.iter().zip(&public) {
        assert_eq!(a["period"], p["period"]);
        assert_eq!(a["ethnicity"], p["ethnicity"]);
        let e = by_period
            .entry(p["period"].as_str().unwrap().into())
            .or_default();
        if !p["suppressed"].is_null() {
            e.0 += 1;
            assert!(p["numerator"].is_null() && p["value"].is_null() && p["lower_95"].is_null());
            if small(a) {
                assert_eq!(p["suppressed"], "<6");
            }
        }
    }
    for (period, (hidden, _, _)) in by_period {
        assert!(
            hidden != 1,
            "{period}: one withheld cell could be recovered"
        );
    }
    // The CSV download carries the same withholding.
    let csv = get(&s.url(&format!("{path}/data.csv")), None).text();
    assert!(csv.lines().next().unwrap().ends_with(",suppressed"));
    assert!(csv.contains(",<6") || csv.contains(",complementary"));
}

#[test]
fn without_tokens_everyone_on_loopback_is_an_analyst() {
    let s = server::start(ako::config::Config::default());
    let list = get(&s.url("/api/dashboards"), None).json();
    assert_eq!(list["role"], "analyst");
    assert_eq!(list["dashboards"].as_array().unwrap().len(), 6);
    let html = get(&s.url("/"), None).text();
    assert!(html.contains("no tokens configured"));
    // DNS rebinding: a page elsewhere reaching this port through a name that resolves
    // here is answered 421, whatever it asks.
    let status = |host: &str| {
        use std::io::{Read, Write};
        let mut c = std::net::TcpStream::connect(s.addr).unwrap();
        write!(
            c,
            "GET /api/dashboards HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        c.read_to_string(&mut text).unwrap();
        text.split(' ').nth(1).unwrap().to_string()
    };
    assert_eq!(status("evil.example"), "421");
    assert_eq!(status("evil.example:8080"), "421");
    assert_eq!(status("127.0.0.1.evil.example"), "421");
    assert_eq!(status(&format!("127.0.0.1:{}", s.addr.port())), "200");
    assert_eq!(status("localhost"), "200");
    assert_eq!(status("[::1]:8080"), "200");
}

#[test]
fn serve_refuses_a_public_address_without_tokens() {
    let f = Fixture::new();
    let out = ako()
        .args(["serve", "--addr", "0.0.0.0:0", "--lake"])
        .arg(f.lake_dir())
        .current_dir(f.dir.path())
        .env_remove("AKO_CONFIG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("only on loopback"), "{err}");
    assert!(
        !f.lake_dir().exists(),
        "nothing was ingested before refusing"
    );
}

#[test]
fn a_token_is_shown_once_and_stored_hashed() {
    let f = Fixture::new();
    let config = f.path("ako.toml");
    std::fs::write(&config, "# our settings\n[peers]\nmin_group_size = 3\n").unwrap();
    let add = |args: &[&str]| {
        ako()
            .args(["token", "add"])
            .args(args)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap()
    };
    let out = add(&["--role", "leader", "--org", "CMH"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("ako_") && token.len() > 40);
    let out = add(&["--role", "analyst"]);
    assert!(out.status.success());
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.starts_with("# our settings\n[peers]\nmin_group_size = 3\n"));
    assert!(!text.contains(&token));
    assert!(text.contains(&ako::privacy::tokens::hash(&token)));
    assert_eq!(text.matches("pseudonym_key").count(), 1);
    let parsed = ako::config::Config::load(Some(&config)).unwrap();
    assert_eq!(parsed.tokens.len(), 2);
    assert_eq!(
        ako::privacy::tokens::verify(&parsed.tokens, &token),
        Some(ako::privacy::Viewer::leader("CMH"))
    );
    let refused = add(&["--role", "leader"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("needs --org"));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text, "unchanged");
    // A value with a quote and newlines stays a value: it cannot add a token of its own.
    let sneaky = "CMH\"\n[[tokens]]\nrole = \"analyst\"\nhash = \"sha256:00\"\n#";
    let out = add(&["--role", "leader", "--org", sneaky]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed = ako::config::Config::load(Some(&config)).unwrap();
    assert_eq!(parsed.tokens.len(), 3);
    assert_eq!(parsed.tokens[2].org.as_deref(), Some(sneaky));
    assert!(parsed.tokens.iter().all(|t| t.hash != "sha256:00"));
}

#[test]
fn publish_writes_only_suppressed_public_dashboards() {
    let f = Fixture::new();
    let out = f.path("site");
    let publish = |config: Option<&std::path::Path>| {
        let mut cmd = ako();
        cmd.args(["publish", "--out"])
            .arg(&out)
            .arg("--lake")
            .arg(server::sample_lake())
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("AKO_CONFIG");
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        cmd.output().unwrap()
    };
    // Peer codes need a configured key: no built-in one.
    let refused = publish(None);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("pseudonym_key"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(!out.exists(), "nothing written");
    let config = f.write("ako.toml", "[privacy]\npseudonym_key = \"published key\"\n");
    let run = publish(Some(&config));
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(out.join("index.html").is_file());
    assert!(out.join("equity/index.html").is_file());
    assert!(out.join("national-overview/funnel.png").is_file());
    assert!(
        !out.join("my-organisation").exists(),
        "not a public dashboard"
    );
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["dashboards"], 2);
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("equity/headline-by-ethnicity.json")).unwrap(),
    )
    .unwrap();
    for r in json["rows"].as_array().unwrap() {
        assert!(
            !r["numerator"]
                .as_f64()
                .is_some_and(|n| (1.0..6.0).contains(&n))
        );
    }
    let funnel = std::fs::read_to_string(out.join("national-overview/funnel.csv")).unwrap();
    for (code, _) in others() {
        assert!(!mentions(&funnel, &code), "{code} published by name");
    }
}

#[tokio::test]
async fn a_new_ingest_refreshes_cached_panels() {
    let f = Fixture::new();
    f.ingest_reference().await;
    let rows = [crate::fixture::row(
        "E1",
        "P1",
        "seclusion",
        "2024-03-05T10:00:00+13:00",
        "2024-03-05T12:00:00+13:00",
        "maori",
    )];
    let first = f.canonical("in/TST/TST_2024-03.csv", &rows);
    f.ingest(&[&first]).await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let catalog = ako::catalog::Catalog::load(&root.join("queries")).unwrap();
    let dashboards = ako::dashboard::Dashboards::load(&root.join("dashboards"), &catalog).unwrap();
    let state = ako::web::AppState::open(ako::web::Settings {
        lake: f.lake_dir(),
        config: ako::config::Config::default(),
        config_path: None,
        catalog,
        dashboards,
        compliance_dir: root.join("compliance"),
    })
    .await
    .unwrap();
    let v1 = state.current().source.lake_version;
    let d = state
        .settings
        .dashboards
        .get("national-overview")
        .unwrap()
        .clone();
    let panel = d.panel("funnel").unwrap();
    ako::dashboard::compute::panel(
        &state.cache,
        &state.current().source,
        &d,
        panel,
        &BTreeMap::new(),
        ako::dashboard::compute::Access::Analyst,
    )
    .await
    .unwrap();
    assert_eq!(state.cache.len(), 1);
    assert!(!state.refresh().await.unwrap(), "nothing new yet");
    let rows = [crate::fixture::row(
        "E2",
        "P1",
        "seclusion",
        "2024-04-05T10:00:00+12:00",
        "2024-04-05T12:00:00+12:00",
        "maori",
    )];
    let second = f.canonical("in/TST/TST_2024-04.csv", &rows);
    f.ingest(&[&second]).await;
    assert!(state.refresh().await.unwrap());
    assert!(state.current().source.lake_version > v1);
    assert_eq!(
        state.cache.len(),
        0,
        "the old version's results are dropped"
    );
}

#[tokio::test]
async fn serve_stops_gracefully_on_sigterm() {
    let f = Fixture::new();
    f.ingest_reference().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_ako"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--lake"])
        .arg(f.lake_dir())
        .current_dir(f.dir.path())
        .env_remove("AKO_CONFIG")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/healthz");
    let started = std::time::Instant::now();
    let health = loop {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        if let Ok(mut r) = agent.get(&url).call() {
            break r.body_mut().read_json::<Value>().unwrap();
        }
        assert!(started.elapsed().as_secs() < 60, "the server did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(health["status"], "ok");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit {:?}", out.status);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("on loopback only"), "{err}");
    assert!(err.trim_end().ends_with("ako: stopped"), "{err}");
}

#[test]
fn a_chart_drawn_once_is_served_again_from_the_image_cache() {
    let server = server::start(ako::config::Config::default());
    let url = |panel: &str, query: &str| {
        server.url(&format!(
            "/api/dashboards/national-overview/panels/{panel}/chart.png{query}"
        ))
    };
    let first = get(&url("funnel", ""), None);
    assert_eq!(first.status, 200);
    assert_eq!(&first.body[..4], b"\x89PNG");
    let (images, _, hits) = server.state.pngs.stats();
    assert!(images >= 1);
    // The same request again is the same answer, kept whole: nothing drawn or looked up.
    let (_, _, answered) = server.state.answers.stats();
    let again = get(&url("funnel", ""), None);
    assert_eq!(again.body, first.body, "the same picture");
    assert_eq!(again.content_type, "image/png");
    assert_eq!(server.state.answers.stats().2, answered + 1);
    assert_eq!(
        server.state.pngs.stats(),
        (images, server.state.pngs.stats().1, hits)
    );
    // Another request that draws the same figure (the filter's default, spelt out) is
    // another answer but the same picture: found in the image cache, not drawn again.
    let spelt = get(&url("funnel", "?ethnicity=all"), None);
    assert_eq!(spelt.body, first.body);
    assert_eq!(
        server.state.pngs.stats().2,
        hits + 1,
        "answered from the image cache"
    );
    assert_eq!(server.state.pngs.stats().0, images, "nothing new drawn");
    // another panel is another figure: drawn, kept beside the first
    let other = get(&url("events-rate", ""), None);
    assert_eq!(other.status, 200);
    assert_ne!(other.body, first.body);
    assert_eq!(server.state.pngs.stats().0, images + 1);
    assert_eq!(server.state.pngs.stats().2, hits + 1);
}

/// A whole panel answer is kept for the next identical request, so a breakout's
/// shared panel costs one computation, but only ever for the same viewer: another role
/// or organisation, another filter or another output is answered on its own, and who
/// asks is checked on every request.
#[test]
fn a_panel_answer_is_kept_for_the_viewer_who_asked_and_no_one_else() {
    use ako::privacy::tokens;
    let text = format!(
        "[privacy]\npseudonym_key = \"test key\"\n\n\
         [[tokens]]\nrole = \"analyst\"\nhash = \"{}\"\n\n\
         [[tokens]]\nrole = \"leader\"\norg = \"{LEADER_ORG}\"\nhash = \"{}\"\n",
        tokens::hash("kept_analyst"),
        tokens::hash("kept_leader"),
    );
    let config = ako::config::Config::parse(std::path::Path::new("test.toml"), &text).unwrap();
    let server = server::start(config);
    let url = |query: &str| {
        server.url(&format!(
            "/api/dashboards/my-organisation/panels/peer-ranking{query}"
        ))
    };
    let codes = |got: &Got| -> Vec<String> {
        got.json()["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["org_code"].as_str().unwrap().to_string())
            .collect()
    };
    let kept = || server.state.answers.stats();
    let analyst = get(&url(""), Some("kept_analyst"));
    assert_eq!(analyst.status, 200, "{}", analyst.text());
    assert_eq!(analyst.content_type, "application/json");
    assert_eq!(kept().0, 1);
    let again = get(&url(""), Some("kept_analyst"));
    assert_eq!(again.body, analyst.body);
    assert_eq!(
        (kept().0, kept().2),
        (1, 1),
        "the second was the first's answer"
    );
    // The leader asks the same URL: their own answer, with peers under pseudonyms.
    let leader = get(&url(""), Some("kept_leader"));
    assert_eq!(leader.status, 200);
    assert_ne!(leader.body, analyst.body);
    assert!(
        codes(&analyst).iter().all(|c| !c.starts_with('P')),
        "{:?}",
        codes(&analyst)
    );
    assert!(
        codes(&leader)
            .iter()
            .any(|c| c.starts_with('P') && c.len() == 4)
    );
    assert!(codes(&leader).contains(&LEADER_ORG.to_string()));
    assert_eq!((kept().0, kept().2), (2, 1));
    assert_eq!(get(&url(""), Some("kept_leader")).body, leader.body);
    assert_eq!(kept().2, 2);
    // No token, or a wrong one: refused as before, never a kept answer.
    assert_eq!(get(&url(""), None).status, 403);
    assert_eq!(get(&url(""), Some("kept_nobody")).status, 401);
    assert_eq!(kept().2, 2);
    // Another filter and another output are other answers.
    let grouped = get(&url("?grouping=challenge"), Some("kept_analyst"));
    assert_eq!(grouped.status, 200);
    let csv = get(
        &server.url("/api/dashboards/my-organisation/panels/peer-ranking/data.csv"),
        Some("kept_analyst"),
    );
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    assert!(
        csv.text().starts_with("org_code") || csv.text().contains(','),
        "{}",
        csv.text()
    );
    assert_eq!((kept().0, kept().2), (4, 2));
    // A dashboard's page is kept the same way, per viewer.
    let page_url = server.url("/dashboards/my-organisation");
    let page = get(&page_url, Some("kept_analyst"));
    assert_eq!(page.status, 200);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    let again = get(&page_url, Some("kept_analyst"));
    assert_eq!(again.body, page.body);
    assert_eq!(kept().2, 3);
    let theirs = get(&page_url, Some("kept_leader"));
    assert_eq!(theirs.status, 200);
    assert_ne!(theirs.body, page.body);
    assert!(theirs.text().contains(LEADER_ORG));
    assert_eq!(kept().2, 3);
}
