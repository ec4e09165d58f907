//! Signing in (issue 10 section 3): a token goes in a POST body and is exchanged for a
//! session cookie that is not the token, logout ends the session, a token removed from
//! `ako.toml` stops working without a restart, and every error carries a request id.

use std::time::{Duration, SystemTime};

use ako::privacy::tokens;
use serde_json::Value;

use crate::server::{Server, get, start_watching, with_tokens};

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

fn answer(mut resp: ureq::http::Response<ureq::Body>) -> Answer {
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    Answer {
        status: resp.status().as_u16(),
        headers,
        body: resp.body_mut().read_to_string().unwrap_or_default(),
    }
}

fn post_login(server: &Server, token: &str, origin: Option<&str>) -> Answer {
    let mut req = agent().post(&server.url("/login"));
    if let Some(o) = origin {
        req = req.header("Origin", o);
    }
    answer(req.send_form([("token", token)]).expect("request"))
}

fn with_cookie(server: &Server, path: &str, cookie: &str) -> Answer {
    answer(
        agent()
            .get(&server.url(path))
            .header("Cookie", cookie)
            .call()
            .expect("request"),
    )
}

/// The session cookie a sign-in set (`ako_session=…`), checked for its attributes.
fn session_cookie(a: &Answer, token: &str) -> String {
    assert_eq!(a.status, 303, "{}", a.body);
    let set = a.header("set-cookie").expect("a cookie is set");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(set.contains("Max-Age=28800"), "8 hours: {set}");
    let pair = set.split(';').next().unwrap().to_string();
    let id = pair
        .strip_prefix("ako_session=")
        .expect("named ako_session");
    assert_eq!(id.len(), 64);
    assert!(!pair.contains(token), "the cookie is not the token");
    pair
}

#[test]
fn a_token_in_the_address_is_refused_with_a_request_id() {
    let (server, t) = with_tokens();
    let a = answer(
        agent()
            .get(&server.url(&format!("/login?token={}", t.facilitator)))
            .call()
            .unwrap(),
    );
    // /login is a page, so its error is a page too, naming the request.
    assert_eq!(a.status, 400);
    assert!(a.header("content-type").unwrap().starts_with("text/html"));
    assert!(
        a.body.contains("never accepted in a web address"),
        "{}",
        a.body
    );
    let id = a.header("x-request-id").unwrap().to_string();
    assert_eq!(id.len(), 16);
    assert!(
        a.body.contains(&format!("Request {id}")),
        "the page quotes the request id"
    );
    // An API error is JSON with the same id as its header; each request has its own.
    let api = answer(
        agent()
            .get(&server.url("/api/dashboards/no-such-dashboard"))
            .call()
            .unwrap(),
    );
    assert_eq!(api.status, 404);
    let body = api.json();
    assert_eq!(body["request_id"].as_str(), api.header("x-request-id"));
    assert_ne!(body["request_id"].as_str(), Some(id.as_str()));
    // The form itself is a page with no token in it.
    let page = get(&server.url("/login"), None);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("method=\"post\""));
}

#[test]
fn sign_in_by_post_gives_a_session_that_logout_ends() {
    let (server, t) = with_tokens();
    assert_eq!(post_login(server, "not a token", None).status, 401);
    let cookie = session_cookie(&post_login(server, &t.facilitator, None), &t.facilitator);
    let list = with_cookie(server, "/api/dashboards", &cookie);
    assert_eq!(list.status, 200);
    assert_eq!(list.json()["role"], "facilitator");
    // The token itself in the cookie is no session.
    let forged = with_cookie(
        server,
        "/api/dashboards",
        &format!("ako_session={}", t.facilitator),
    );
    assert_eq!(forged.status, 401);
    // Logout ends the session on the server, not only in the browser.
    let out = answer(
        agent()
            .post(&server.url("/logout"))
            .header("Cookie", &cookie)
            .send_empty()
            .unwrap(),
    );
    assert_eq!(out.status, 303);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    let after = with_cookie(server, "/api/dashboards", &cookie);
    assert_eq!(after.status, 401);
    assert!(
        after.json()["error"]
            .as_str()
            .unwrap()
            .contains("session has ended")
    );
}

#[test]
fn a_sign_in_posted_from_another_site_is_refused() {
    let (server, t) = with_tokens();
    let a = post_login(server, &t.analyst, Some("http://evil.example"));
    assert_eq!(a.status, 403);
    assert!(a.header("set-cookie").is_none());
    let own = format!("http://{}", server.addr);
    session_cookie(&post_login(server, &t.analyst, Some(&own)), &t.analyst);
}

#[test]
fn a_token_removed_from_the_configuration_stops_working_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ako.toml");
    let entry = |token: &str| {
        format!(
            "[[tokens]]\nrole = \"facilitator\"\nhash = \"{}\"\n",
            tokens::hash(token)
        )
    };
    let key = "[privacy]\npseudonym_key = \"k\"\n";
    std::fs::write(
        &path,
        format!("{key}{}{}", entry("keep-me"), entry("revoke-me")),
    )
    .unwrap();
    let server = start_watching(&path);
    let cookie = session_cookie(&post_login(&server, "revoke-me", None), "revoke-me");
    assert_eq!(with_cookie(&server, "/api/dashboards", &cookie).status, 200);
    assert_eq!(
        get(&server.url("/api/dashboards"), Some("revoke-me")).status,
        200
    );

    std::fs::write(&path, format!("{key}{}", entry("keep-me"))).unwrap();
    // A later modification time than any the server has seen, whatever the clock's grain.
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(SystemTime::now() + Duration::from_secs(10))
        .unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        get(&server.url("/api/dashboards"), Some("revoke-me")).status,
        401
    );
    assert_eq!(with_cookie(&server, "/api/dashboards", &cookie).status, 401);
    assert_eq!(
        get(&server.url("/api/dashboards"), Some("keep-me")).status,
        200
    );
}

#[test]
fn a_full_server_answers_503_at_once_and_health_stays_quick() {
    let server = crate::server::start(ako::config::Config::default());
    // Asked once while there is room: its answer is kept.
    let kept_url = server.url("/api/dashboards/national-overview/panels/events-rate");
    let kept = get(&kept_url, None);
    assert_eq!(kept.status, 200);
    let page_url = server.url("/dashboards/national-overview");
    let page = get(&page_url, None);
    assert_eq!(page.status, 200);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let room = server.state.admission();
    let held = rt
        .block_on(room.acquire_many_owned(ako::web::MAX_IN_FLIGHT as u32))
        .unwrap();
    let busy = get(&server.url("/api/dashboards/national-overview"), None);
    assert_eq!(busy.status, 503);
    let body = busy.json();
    assert!(body["error"].as_str().unwrap().contains("busy"), "{body}");
    assert_eq!(body["request_id"].as_str().unwrap().len(), 16);
    let png = get(
        &server.url("/api/dashboards/national-overview/panels/funnel/chart.png"),
        None,
    );
    assert_eq!(png.status, 503);
    // A kept answer computes nothing, so it needs no room: the same bytes, full or not.
    let again = get(&kept_url, None);
    assert_eq!(again.status, 200);
    assert_eq!(again.body, kept.body);
    let page_again = get(&page_url, None);
    assert_eq!(page_again.status, 200);
    assert_eq!(page_again.body, page.body);
    assert_eq!(
        get(&server.url("/dashboards/equity"), None).status,
        503,
        "not kept"
    );
    // Health and the list of dashboards need no room.
    assert_eq!(get(&server.url("/healthz"), None).status, 200);
    assert_eq!(get(&server.url("/api/dashboards"), None).status, 200);
    drop(held);
    assert_eq!(
        get(&server.url("/api/dashboards/national-overview"), None).status,
        200
    );
}

#[test]
fn a_page_opened_without_a_live_session_offers_sign_in() {
    let (server, _) = with_tokens();
    let page = with_cookie(server, "/dashboards/national-overview", "ako_session=ended");
    assert_eq!(page.status, 401);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.body.contains("Please sign in"), "{}", page.body);
    assert!(page.body.contains("href=\"/login\""), "{}", page.body);
    // The same on the API is JSON.
    let api = with_cookie(
        server,
        "/api/dashboards/national-overview",
        "ako_session=ended",
    );
    assert_eq!(api.status, 401);
    assert!(
        api.json()["error"]
            .as_str()
            .unwrap()
            .contains("session has ended")
    );
}
