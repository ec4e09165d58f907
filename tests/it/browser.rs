//! The dashboards as a person sees them: headless Chromium driven over WebDriver
//! (Debian's `chromium` and `chromium-driver`, which `.ci/run` installs). Each dashboard
//! loads with its charts drawn and no console errors, a filter change redraws the
//! charts, and screenshots are saved under the test output folder.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::server::{get, with_tokens};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Driver {
    child: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
    /// Chromium's profile, removed after the browser is stopped.
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self
            .agent
            .delete(&format!("{}/session/{}", self.base, self.session))
            .call();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(paths: &[&str]) -> Option<PathBuf> {
    paths.iter().map(PathBuf::from).find(|p| p.is_file())
}

impl Driver {
    /// Starts ChromeDriver and a headless Chromium, or `None` on a machine without them
    /// (a laptop): the test then skips with a message. `AKO_REQUIRE_BROWSER=1`, which
    /// `.ci/run` sets after installing them, makes their absence a failure instead.
    fn start() -> Option<Driver> {
        let driver = std::env::var("AKO_CHROMEDRIVER")
            .ok()
            .map(PathBuf::from)
            .or_else(|| find(&["/usr/bin/chromedriver"]));
        let browser = std::env::var("AKO_CHROMIUM")
            .ok()
            .map(PathBuf::from)
            .or_else(|| find(&["/usr/bin/chromium"]));
        let (Some(driver), Some(browser)) = (driver, browser) else {
            let required = std::env::var("AKO_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "AKO_REQUIRE_BROWSER=1 but chromium or chromedriver is missing: install Debian's chromium and chromium-driver (.ci/run does)"
            );
            eprintln!(
                "SKIPPED: the browser tests need Debian's chromium and chromium-driver (or AKO_CHROMIUM and AKO_CHROMEDRIVER); .ci/run installs them and sets AKO_REQUIRE_BROWSER=1"
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let started = Instant::now();
        while agent.get(&format!("{base}/status")).call().is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": browser,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", "--window-size=1300,1800",
                         format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let mut d = Driver {
            child,
            base,
            session: String::new(),
            agent,
            _profile: profile,
        };
        let v = d.post("/session", caps);
        d.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
            .to_string();
        Some(d)
    }

    /// Signs in as a person does: the token typed into the form and posted, never put
    /// in an address.
    fn sign_in(&self, server: &crate::server::Server, token: &str) {
        self.goto(&server.url("/login"));
        self.script(&format!(
            "document.querySelector('#login input[name=token]').value = {}; document.querySelector('#login').submit(); return null;",
            json!(token)
        ));
        self.wait_for_path("/");
    }

    /// Signs out with the index page's button.
    fn sign_out(&self, server: &crate::server::Server) {
        self.goto(&server.url("/"));
        self.script("document.querySelector('form[action=\"/logout\"]').submit(); return null;");
        std::thread::sleep(Duration::from_millis(300));
        self.wait_for_path("/");
    }

    fn wait_for_path(&self, path: &str) {
        let started = Instant::now();
        while self.script("return document.readyState === 'complete' && location.pathname")
            != json!(path)
        {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "never reached {path}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn post(&self, path: &str, body: Value) -> Value {
        let path = path.replace("{s}", &self.session);
        let mut r = self
            .agent
            .post(&format!("{}{path}", self.base))
            .send_json(&body)
            .expect("WebDriver request");
        let v: Value = r.body_mut().read_json().expect("WebDriver JSON");
        v.get("value").cloned().unwrap_or(v)
    }

    fn get(&self, path: &str) -> Value {
        let path = path.replace("{s}", &self.session);
        let mut r = self
            .agent
            .get(&format!("{}{path}", self.base))
            .call()
            .expect("WebDriver request");
        let v: Value = r
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_json()
            .expect("WebDriver JSON");
        v["value"].clone()
    }

    fn goto(&self, url: &str) {
        self.post("/session/{s}/url", json!({ "url": url }));
        self.wait_loaded();
    }

    fn wait_loaded(&self) {
        let started = Instant::now();
        while self.script("return document.readyState") != "complete" {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "page did not load"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn script(&self, js: &str) -> Value {
        self.post(
            "/session/{s}/execute/sync",
            json!({ "script": js, "args": [] }),
        )
    }

    fn click(&self, css: &str) {
        let e = self.post(
            "/session/{s}/element",
            json!({ "using": "css selector", "value": css }),
        );
        let id = e[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {e}"))
            .to_string();
        self.post(&format!("/session/{{s}}/element/{id}/click"), json!({}));
    }

    /// Console messages at error level since the last call.
    fn console_errors(&self) -> Vec<String> {
        let logs = self.post("/session/{s}/se/log", json!({ "type": "browser" }));
        logs.as_array()
            .map(|a| {
                a.iter()
                    .filter(|l| l["level"] == "SEVERE")
                    .map(|l| l["message"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn screenshot(&self, name: &str) -> PathBuf {
        let data = self.get("/session/{s}/screenshot");
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().expect("base64 screenshot"))
            .unwrap();
        assert_eq!(&png[..4], b"\x89PNG");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }
}

#[test]
fn every_dashboard_renders_in_chromium_and_a_filter_redraws_its_charts() {
    let (server, tokens) = with_tokens();
    let Some(d) = Driver::start() else { return };
    d.sign_in(server, &tokens.analyst);
    let who = d.script("return document.querySelector('header .who').textContent");
    assert!(who.as_str().unwrap().contains("analyst"), "{who}");
    let cookie = d.script("return document.cookie");
    assert_eq!(
        cookie, "",
        "the session cookie is HttpOnly: scripts cannot read it"
    );
    let list = get(&server.url("/api/dashboards"), Some(&tokens.analyst)).json();
    for dash in list["dashboards"].as_array().unwrap() {
        let id = dash["id"].as_str().unwrap();
        let charts = dash["panels"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| !p["svg"].is_null())
            .count();
        d.goto(&server.url(&format!("/dashboards/{id}")));
        let widths = d.script(
            "return Array.from(document.querySelectorAll('figure.chart svg')).map(s => s.getBoundingClientRect().width)",
        );
        let widths = widths.as_array().unwrap();
        assert_eq!(
            widths.len(),
            charts,
            "{id}: every chart panel shows its chart"
        );
        assert!(
            widths.iter().all(|w| w.as_f64().unwrap() > 200.0),
            "{id}: charts drawn at a readable size: {widths:?}"
        );
        let errors = d.script("return document.querySelectorAll('.panel .error').length");
        assert_eq!(errors, 0, "{id}: no panel failed");
        let console = d.console_errors();
        assert!(console.is_empty(), "{id}: console errors {console:?}");
        let shot = d.screenshot(id);
        assert!(std::fs::metadata(&shot).unwrap().len() > 10_000);
    }

    // A leader changes the period of their organisation's chart.
    d.sign_out(server);
    let who = d.script("return document.querySelector('header .who').textContent");
    assert!(
        who.as_str().unwrap().contains("public"),
        "signed out: {who}"
    );
    d.sign_in(server, &tokens.leader);
    d.goto(&server.url("/dashboards/my-organisation"));
    let before = d.script("return document.querySelector('#panel-my-rate figure').innerHTML");
    let caption_before =
        d.script("return document.querySelector('#panel-my-rate figcaption').textContent");
    assert!(caption_before.as_str().unwrap().starts_with("CMH"));
    d.screenshot("my-organisation-leader-quarter");
    d.click("select[name=grain] option[value=year]");
    let started = Instant::now();
    while !d
        .script("return location.search")
        .as_str()
        .unwrap_or("")
        .contains("grain=year")
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the filter did not apply"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    d.wait_loaded();
    let after = d.script("return document.querySelector('#panel-my-rate figure').innerHTML");
    assert_ne!(before, after, "the chart changed with the filter");
    let ticks = d.script(
        "return Array.from(document.querySelectorAll('#panel-my-rate svg text')).map(t => t.textContent).join(' ')",
    );
    assert!(ticks.as_str().unwrap().contains("2024"), "{ticks}");
    assert!(
        !ticks.as_str().unwrap().contains("-Q"),
        "years, not quarters: {ticks}"
    );
    assert!(d.console_errors().is_empty());
    d.screenshot("my-organisation-leader-year");
}

impl Driver {
    /// Waits until `js` (an expression) is true on a loaded page.
    fn wait_until(&self, js: &str, what: &str) {
        let started = Instant::now();
        loop {
            let v = self.script(&format!(
                "try {{ return document.readyState === 'complete' && !!({js}); }} catch (e) {{ return false; }}"
            ));
            if v == json!(true) {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "never: {what}");
            std::thread::sleep(Duration::from_millis(150));
        }
    }
}

/// The facilitator's flow of a learning session in the browser: make a session, move an
/// organisation, nominate a moderator; a participant posts a note on the breakout page;
/// the moderator condenses it and publishes; the facilitator exports the summaries.
#[test]
fn a_learning_session_runs_in_chromium_from_creation_to_the_exported_summary() {
    let Some(d) = Driver::start() else { return };
    let w = crate::breakouts::world();
    let server = &w.server;
    let token = |who: &str| crate::breakouts::token(w, who).expect("a token");

    d.sign_in(server, &token("facilitator"));
    d.goto(&server.url("/sessions"));
    d.script(
        "const f = document.getElementById('create-form'); f.title.value = 'December hui'; \
         f.date.value = new Date().toISOString().slice(0, 10); f.grouping.value = 'size'; \
         f.requestSubmit(); return null;",
    );
    d.wait_until(
        "/^\\/sessions\\/\\d+$/.test(location.pathname)",
        "the new session's page",
    );
    let groups =
        d.script("return Array.from(document.querySelectorAll('section.group')).map(g => g.id)");
    let groups: Vec<String> = serde_json::from_value(groups).unwrap();
    assert!(groups.len() >= 2, "{groups:?}");
    // Members are shown by peer code to the facilitator.
    let first = d.script("return document.querySelector('#move-form select[name=org]').value");
    let first = first.as_str().unwrap().to_string();
    assert!(first.starts_with('P') && first.len() == 4, "{first}");
    let last = groups
        .last()
        .unwrap()
        .trim_start_matches("group-")
        .to_string();
    d.script(&format!(
        "const f = document.getElementById('move-form'); f.to.value = {}; f.requestSubmit(); return null;",
        json!(last)
    ));
    d.wait_until(
        &format!(
            "document.querySelector('#group-{last}').textContent.includes({})",
            json!(first)
        ),
        "the moved organisation in its new group",
    );
    d.script(
        "const f = document.querySelector('form.moderator-form'); f.name.value = 'Aroha (Yoda)'; f.requestSubmit(); return null;",
    );
    d.wait_until(
        "document.querySelector('section.group .moderator').textContent === 'Aroha (Yoda)'",
        "the nominated moderator",
    );
    d.screenshot("session-facilitator");
    assert!(d.console_errors().is_empty());
    d.sign_out(server);

    // The breakout of session 1's group A, whose participant and moderator have tokens.
    let page = format!(
        "/sessions/{}/groups/{}",
        w.s1.session_id, w.s1.groups[0].group_id
    );
    d.sign_in(server, &token("participant"));
    d.goto(&server.url(&page));
    let text = "Browser note: our whānau liaison role halved night-time seclusions";
    d.script(&format!(
        "const f = document.getElementById('note-form'); f.kind.value = 'worked'; f.text.value = {}; f.requestSubmit(); return null;",
        json!(text)
    ));
    d.wait_until(
        &format!(
            "document.getElementById('note-list').textContent.includes({})",
            json!(text)
        ),
        "the posted note",
    );
    assert!(
        d.script("return document.querySelectorAll('#panel-members svg').length")
            .as_u64()
            >= Some(1)
    );
    d.screenshot("breakout-participant");
    assert!(d.console_errors().is_empty());
    d.sign_out(server);

    d.sign_in(server, &token("moderator"));
    d.goto(&server.url(&page));
    d.script(&format!(
        "const li = Array.from(document.querySelectorAll('#note-list li')).find(l => l.textContent.includes({})); \
         li.querySelector('input.pick').checked = true; \
         const f = document.getElementById('condense-form'); f.heading.value = 'Whānau liaison at night'; \
         f.tags.value = 'whānau liaison'; f.requestSubmit(); return null;",
        json!(text)
    ));
    d.wait_until(
        "document.getElementById('summary-items').textContent.includes('Whānau liaison at night')",
        "the summary item",
    );
    d.click("#publish");
    d.wait_until(
        "document.getElementById('summary-title').textContent.includes('published')",
        "the published summary",
    );
    d.screenshot("breakout-moderator");
    assert!(d.console_errors().is_empty());
    // The page links the group's chart pack; its second page (the first chart) is
    // rendered as a person would see it printed.
    let href = d.script("return document.getElementById('pack').getAttribute('href')");
    assert_eq!(href.as_str(), Some(format!("{page}/pack.pdf").as_str()));
    let pdf = get(
        &server.url(&format!("{page}/pack.pdf")),
        Some(&token("moderator")),
    );
    assert_eq!(pdf.status, 200);
    if crate::packs::poppler() {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pack.pdf");
        std::fs::write(&file, &pdf.body).unwrap();
        let made = std::process::Command::new("pdftoppm")
            .args(["-png", "-r", "80", "-f", "2", "-l", "2", "-singlefile"])
            .arg(&file)
            .arg(dir.join("pack-page-2"))
            .status()
            .unwrap();
        assert!(made.success());
        let png = std::fs::read(dir.join("pack-page-2.png")).unwrap();
        assert_eq!(&png[..4], b"\x89PNG");
    }
    d.sign_out(server);

    d.sign_in(server, &token("facilitator"));
    d.goto(&server.url(&format!("/sessions/{}", w.s1.session_id)));
    let md = d.script(&format!(
        "const r = new XMLHttpRequest(); r.open('GET', '/api/sessions/{}/summary.md', false); r.send(); return r.status + ' ' + r.responseText;",
        w.s1.session_id
    ));
    let md = md.as_str().unwrap();
    assert!(md.starts_with("200 "), "{md}");
    assert!(md.contains("Whānau liaison at night"), "{md}");
    d.sign_out(server);
}

/// A leader records a change idea on the ideas page and moves it from plan to do; the
/// page then lists it, theirs, with what its charts say.
#[test]
fn a_leader_records_a_change_idea_in_chromium_and_moves_it_on() {
    let Some(d) = Driver::start() else { return };
    let w = crate::breakouts::world();
    let server = &w.server;
    d.sign_in(
        server,
        &crate::breakouts::token(w, "leader").expect("a token"),
    );
    d.goto(&server.url("/"));
    d.click("a[href='/ideas']");
    d.wait_until("location.pathname === '/ideas'", "the ideas page");
    let title = "Browser idea: sensory room open overnight";
    d.script(&format!(
        "const f = document.getElementById('idea-form'); f.title.value = {}; f.started.value = '2024-03-01'; \
         f.description.value = 'Open the sensory modulation room through the night shift'; \
         f.querySelector('input[value=\"sensory modulation\"]').checked = true; f.requestSubmit(); return null;",
        json!(title)
    ));
    let mine = format!(
        "Array.from(document.querySelectorAll('#idea-list li.idea.mine')).find(l => l.textContent.includes({}))",
        json!(title)
    );
    d.wait_until(&format!("!!{mine}"), "the recorded idea, listed as ours");
    let text = d.script(&format!("return {mine}.textContent"));
    let text = text.as_str().unwrap();
    assert!(
        text.contains("CMH")
            && text.contains("stage plan")
            && text.contains("[sensory modulation]"),
        "{text}"
    );
    // What the organisation's own chart shows since, in words.
    assert!(text.contains("Events per 1,000 bed days: "), "{text}");
    d.script(&format!(
        "const f = {mine}.querySelector('form.stage-form'); f.stage.value = 'do'; f.requestSubmit(); return null;"
    ));
    d.wait_until(
        &format!("{mine}.textContent.includes('stage do')"),
        "the idea moved to do",
    );
    d.screenshot("ideas-leader");
    assert!(d.console_errors().is_empty());
    d.sign_out(server);
}
