//! A breakout group's notes over HTTP (issue 12 sections 2, 4 and 6): scoped tokens for
//! moderators and participants within their session's date window, the role matrix,
//! peer codes in what others read, length limits, and no note lost under 50
//! participants posting at once while a backup is taken.

use std::sync::OnceLock;

use ako::collab::{Collab, NewSession, Session};
use ako::config::Config;
use ako::peers::{Group, Grouping, Member};
use ako::privacy::Role;
use ako::privacy::tokens::{self, TokenScope};
use chrono::{Duration, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::server::{self, Got, Server, get};

/// Group A (CMH, AKL, WTM) and group B (CAN, CCD, SOU) of session 1, held today; session
/// 2 like it; session 3 held 30 days ago, whose tokens have expired.
pub(crate) struct World {
    pub(crate) server: Server,
    pub(crate) collab: std::path::PathBuf,
    pub(crate) config: std::path::PathBuf,
    pub(crate) s1: Session,
    tokens: Vec<(&'static str, Option<String>)>,
    /// Fifty participants of group A, for the concurrency test.
    crowd: Vec<String>,
}

fn groups() -> Vec<Group> {
    let g = |name: &str, orgs: &[&str]| Group {
        group: name.into(),
        members: orgs
            .iter()
            .map(|o| Member {
                org_code: (*o).into(),
                reason: "test".into(),
            })
            .collect(),
    };
    vec![
        g("A", &["AKL", "CMH", "WTM"]),
        g("B", &["CAN", "CCD", "SOU"]),
    ]
}

pub(crate) fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = crate::server::run_dir("breakouts");
        let collab = dir.join("collab.sqlite");
        let today = Utc::now().date_naive();
        let mut c = Collab::open(&collab).unwrap();
        let g = groups();
        let make = |c: &mut Collab, date: NaiveDate| {
            c.create_session(&NewSession {
                title: "Hui",
                date,
                grouping: Grouping::Size,
                lake_version: None,
                groups: &g,
            })
            .unwrap()
        };
        let s1 = make(&mut c, today);
        let s2 = make(&mut c, today);
        let s3 = make(&mut c, today - Duration::days(30));
        let config = dir.join("ako.toml");
        std::fs::write(
            &config,
            format!(
                "[privacy]\npseudonym_key = \"breakout test key\"\n\n[collab]\npath = \"{}\"\n",
                collab.display()
            ),
        )
        .unwrap();
        let add = |role: Role, org: Option<&str>, s: Option<&Session>, group: usize| {
            let text = std::fs::read_to_string(&config).unwrap();
            let scope = s.map(|s| TokenScope {
                session: s.session_id,
                group: s.groups[group].group_id,
                date: NaiveDate::parse_from_str(&s.date, "%Y-%m-%d").unwrap(),
            });
            Some(tokens::add(&config, &text, true, role, org, scope, "2026-12-01").unwrap())
        };
        let tokens = vec![
            ("analyst", add(Role::Analyst, None, None, 0)),
            ("facilitator", add(Role::Facilitator, None, None, 0)),
            ("leader", add(Role::Leader, Some("CMH"), None, 0)),
            ("advisor", add(Role::Advisor, None, None, 0)),
            ("public", None),
            ("moderator", add(Role::Moderator, None, Some(&s1), 0)),
            (
                "moderator of another group",
                add(Role::Moderator, None, Some(&s1), 1),
            ),
            (
                "moderator of another session",
                add(Role::Moderator, None, Some(&s2), 0),
            ),
            (
                "moderator outside the window",
                add(Role::Moderator, None, Some(&s3), 0),
            ),
            (
                "participant",
                add(Role::Participant, Some("CMH"), Some(&s1), 0),
            ),
            (
                "participant of another group",
                add(Role::Participant, Some("CAN"), Some(&s1), 1),
            ),
            (
                "participant of another session",
                add(Role::Participant, Some("CMH"), Some(&s2), 0),
            ),
            (
                "participant outside the window",
                add(Role::Participant, Some("CMH"), Some(&s3), 0),
            ),
        ];
        let crowd = (0..50)
            .map(|i| {
                let org = ["AKL", "CMH", "WTM"][i % 3];
                add(Role::Participant, Some(org), Some(&s1), 0).unwrap()
            })
            .collect();
        let server = server::start(Config::load(Some(&config)).unwrap());
        World {
            server,
            collab,
            config,
            s1,
            tokens,
            crowd,
        }
    })
}

pub(crate) fn token(w: &World, who: &str) -> Option<String> {
    w.tokens
        .iter()
        .find(|(n, _)| *n == who)
        .unwrap_or_else(|| panic!("no token for {who}"))
        .1
        .clone()
}

/// Sends `body` as JSON with the token, whatever the status.
fn send(
    req: impl FnOnce(&ureq::Agent) -> ureq::RequestBuilder<ureq::typestate::WithBody>,
    token: Option<&str>,
    body: &Value,
) -> Got {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = req(&agent);
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    let mut resp = req.send_json(body).expect("request");
    Got {
        status: resp.status().as_u16(),
        content_type: String::new(),
        body: resp.body_mut().read_to_vec().unwrap(),
    }
}

pub(crate) fn post(url: &str, token: Option<&str>, body: &Value) -> Got {
    send(|a| a.post(url), token, body)
}

fn patch(url: &str, token: Option<&str>, body: &Value) -> Got {
    send(|a| a.patch(url), token, body)
}

/// Who may open a breakout's page and its pack, and what each other sign-in gets.
pub(crate) const BREAKOUT_READERS: [(&str, u16); 13] = [
    ("analyst", 200),
    ("facilitator", 200),
    ("moderator", 200),
    ("participant", 200),
    ("leader", 403),
    ("advisor", 403),
    ("public", 403),
    ("moderator of another group", 403),
    ("moderator of another session", 403),
    ("participant of another group", 403),
    ("participant of another session", 403),
    ("moderator outside the window", 401),
    ("participant outside the window", 401),
];

#[test]
fn a_note_is_edited_only_by_its_own_organisation_and_within_its_group() {
    let w = world();
    let mine = post(
        &notes_url(w, 0),
        token(w, "participant").as_deref(),
        &json!({"kind": "idea", "text": "Debrief within the hour"}),
    );
    assert_eq!(mine.status, 201, "{}", mine.text());
    let id = mine.json()["note_id"].as_i64().unwrap();
    let theirs = post(
        &notes_url(w, 1),
        token(w, "participant of another group").as_deref(),
        &json!({"kind": "idea", "text": "Group B's own note"}),
    );
    assert_eq!(theirs.status, 201);
    let other_group_note = theirs.json()["note_id"].as_i64().unwrap();
    let url = |note: i64| format!("{}/{note}", notes_url(w, 0));
    let body = json!({"text": "Debrief within the hour, with whānau"});
    // Group A's AKL participant (the crowd's first) may not rewrite CMH's note.
    let akl = w.crowd[0].as_str();
    for (who, t, expected) in [
        ("AKL's participant", Some(akl.to_string()), 403),
        ("the moderator", token(w, "moderator"), 403),
        ("the facilitator", token(w, "facilitator"), 403),
        ("the analyst", token(w, "analyst"), 403),
        (
            "a participant of another group",
            token(w, "participant of another group"),
            403,
        ),
        ("the public", None, 403),
        (
            "CMH outside the window",
            token(w, "participant outside the window"),
            401,
        ),
    ] {
        let got = patch(&url(id), t.as_deref(), &body);
        assert_eq!(got.status, expected, "{who}: {}", got.text());
    }
    let cmh = token(w, "participant");
    let long = patch(&url(id), cmh.as_deref(), &json!({"text": "x".repeat(2001)}));
    assert_eq!(long.status, 400);
    assert!(long.text().contains("2000"), "{}", long.text());
    // Another group's note reached through this group's path: not found here.
    let stray = patch(&url(other_group_note), cmh.as_deref(), &body);
    assert_eq!(stray.status, 404, "{}", stray.text());
    let done = patch(&url(id), cmh.as_deref(), &body);
    assert_eq!(done.status, 200, "{}", done.text());
    assert_eq!(done.json()["text"], "Debrief within the hour, with whānau");
    assert_eq!(done.json()["org"], "CMH");
    let listed = get(&notes_url(w, 0), cmh.as_deref()).json();
    let texts: Vec<&str> = listed["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["note_id"] == id)
        .map(|n| n["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["Debrief within the hour, with whānau"]);
}

fn notes_url(w: &World, group: usize) -> String {
    w.server.url(&format!(
        "/api/sessions/{}/groups/{}/notes",
        w.s1.session_id, w.s1.groups[group].group_id
    ))
}

#[test]
fn the_role_matrix_over_a_groups_notes() {
    let w = world();
    let url = notes_url(w, 0);
    // (who, GET status, POST status)
    let expected = [
        ("analyst", 200, 403),
        ("facilitator", 200, 403),
        ("leader", 403, 403),
        ("advisor", 403, 403),
        ("public", 403, 403),
        ("moderator", 200, 403),
        ("moderator of another group", 403, 403),
        ("moderator of another session", 403, 403),
        ("moderator outside the window", 401, 401),
        ("participant", 200, 201),
        ("participant of another group", 403, 403),
        ("participant of another session", 403, 403),
        ("participant outside the window", 401, 401),
    ];
    assert_eq!(expected.len(), w.tokens.len(), "every token in the matrix");
    for (who, read, write) in expected {
        let t = token(w, who);
        let got = get(&url, t.as_deref());
        assert_eq!(got.status, read, "{who} GET: {}", got.text());
        let posted = post(
            &url,
            t.as_deref(),
            &json!({"kind": "worked", "text": format!("from the {who}")}),
        );
        assert_eq!(posted.status, write, "{who} POST: {}", posted.text());
        // No other organisation's code or name reaches a non-analyst.
        if who != "analyst" {
            for body in [got.text(), posted.text()] {
                for other in ["AKL", "WTM", "Auckland", "Waitemata"] {
                    assert!(!body.contains(other), "{who}: {other} in {body}");
                }
                if who != "participant" {
                    assert!(!body.contains("CMH"), "{who}: CMH in {body}");
                }
            }
        }
    }
}

#[test]
fn notes_are_text_within_their_limit_and_shown_by_peer_code() {
    let w = world();
    let url = notes_url(w, 0);
    let participant = token(w, "participant");
    let script = "<script>alert(1)</script> what worked: debriefs";
    let made = post(
        &url,
        participant.as_deref(),
        &json!({"kind": "idea", "text": script}),
    );
    assert_eq!(made.status, 201, "{}", made.text());
    let made = made.json();
    assert_eq!(
        made["org"], "CMH",
        "the participant's own organisation, named"
    );
    assert_eq!(made["text"], script, "stored as typed, escaped where shown");
    assert_eq!(made["kind"], "idea");
    let too_long = post(
        &url,
        participant.as_deref(),
        &json!({"kind": "idea", "text": "x".repeat(2001)}),
    );
    assert_eq!(too_long.status, 400);
    assert_eq!(
        too_long.json()["error"],
        "the note has 2001 characters; at most 2000 are allowed"
    );
    let bad_kind = post(
        &url,
        participant.as_deref(),
        &json!({"kind": "rant", "text": "x"}),
    );
    assert_eq!(bad_kind.status, 400);
    assert_eq!(
        bad_kind.json()["error"],
        "kind must be worked, question or idea"
    );
    // The facilitator reads it by peer code; the analyst by code.
    let find = |who: &str| -> Value {
        let list = get(&url, token(w, who).as_deref()).json();
        list["notes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["note_id"] == made["note_id"])
            .cloned()
            .unwrap()
    };
    let coded = find("facilitator")["org"].as_str().unwrap().to_string();
    assert!(
        coded.len() == 4
            && coded.starts_with('P')
            && coded[1..].chars().all(|c| c.is_ascii_digit()),
        "{coded}"
    );
    assert_eq!(find("moderator")["org"], coded.as_str());
    assert_eq!(find("analyst")["org"], "CMH");
    // Another group never sees it.
    let other = get(&notes_url(w, 1), token(w, "facilitator").as_deref()).json();
    assert!(
        other["notes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["text"] != script)
    );
    // A group of another session, asked for under this session, does not exist.
    let missing = get(
        &w.server.url(&format!(
            "/api/sessions/{}/groups/999999/notes",
            w.s1.session_id
        )),
        token(w, "facilitator").as_deref(),
    );
    assert_eq!(missing.status, 404);
}

#[test]
fn fifty_participants_posting_at_once_lose_no_note_and_a_backup_meanwhile_is_whole() {
    let w = world();
    let url = notes_url(w, 0);
    let before = Collab::open(&w.collab)
        .unwrap()
        .notes(w.s1.session_id, w.s1.groups[0].group_id)
        .unwrap()
        .len();
    let backup = w.collab.with_file_name("during.sqlite");
    let threads: Vec<_> = w
        .crowd
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let (url, t) = (url.clone(), t.clone());
            std::thread::spawn(move || {
                for n in 0..20 {
                    let got = post(
                        &url,
                        Some(&t),
                        &json!({"kind": "question", "text": format!("participant {i} note {n}")}),
                    );
                    assert_eq!(got.status, 201, "{}", got.text());
                }
            })
        })
        .collect();
    // Taken while they post.
    std::thread::sleep(std::time::Duration::from_millis(200));
    Collab::open(&w.collab).unwrap().backup(&backup).unwrap();
    for t in threads {
        t.join().unwrap();
    }
    let group = w.s1.groups[0].group_id;
    let after = Collab::open(&w.collab)
        .unwrap()
        .notes(w.s1.session_id, group)
        .unwrap();
    let crowd = after
        .iter()
        .filter(|n| n.text.starts_with("participant "))
        .count();
    assert_eq!(crowd, 50 * 20, "every note kept");
    assert!(after.len() >= before + 1000);
    // The backup is one consistent moment: every note up to its newest, none missing.
    let copy = Collab::open(&backup).unwrap();
    let all_ids: Vec<i64> = after.iter().map(|n| n.note_id).collect();
    let copied: Vec<i64> = copy
        .notes(w.s1.session_id, group)
        .unwrap()
        .iter()
        .map(|n| n.note_id)
        .collect();
    let newest = copied.last().copied().unwrap_or(0);
    let expected: Vec<i64> = all_ids.iter().copied().filter(|id| *id <= newest).collect();
    assert_eq!(copied, expected);
}

#[test]
fn the_moderator_condenses_answers_and_publishes_and_the_advisor_reads_it() {
    let w = world();
    let (session, group) = (w.s1.session_id, w.s1.groups[1].group_id);
    let base = w
        .server
        .url(&format!("/api/sessions/{session}/groups/{group}"));
    // Group B's own moderator and participant: made here, so the other tests' group A
    // stays theirs.
    let text = std::fs::read_to_string(&w.config).unwrap();
    let scope = TokenScope {
        session,
        group,
        date: Utc::now().date_naive(),
    };
    let moderator = tokens::add(
        &w.config,
        &text,
        true,
        Role::Moderator,
        None,
        Some(scope),
        "2026-12-01",
    )
    .unwrap();
    let text = std::fs::read_to_string(&w.config).unwrap();
    let participant = tokens::add(
        &w.config,
        &text,
        true,
        Role::Participant,
        Some("CAN"),
        Some(scope),
        "2026-12-01",
    )
    .unwrap();
    // The server was started with the tokens of `world()`; these two are new, so this
    // test reads them through a server of its own over the same database.
    let server = server::start(Config::load(Some(&w.config)).unwrap());
    let base = base.replace(&w.server.url(""), &server.url(""));
    let posted: Vec<i64> = [("worked", "Whanau rooms"), ("question", "Who staffs them?")]
        .iter()
        .map(|(kind, text)| {
            let got = post(
                &format!("{base}/notes"),
                Some(&participant),
                &json!({"kind": kind, "text": text}),
            );
            assert_eq!(got.status, 201, "{}", got.text());
            got.json()["note_id"].as_i64().unwrap()
        })
        .collect();
    let item = json!({"heading": "Whānau rooms on every ward", "tags": ["whānau liaison"], "notes": posted});
    // Only the moderator condenses, answers and publishes.
    let by_participant = post(&format!("{base}/summary/items"), Some(&participant), &item);
    assert_eq!(by_participant.status, 403);
    assert_eq!(
        post(
            &format!("{base}/summary/publish"),
            Some(&participant),
            &json!({})
        )
        .status,
        403
    );
    let advisor = token(w, "advisor");
    assert_eq!(
        get(&format!("{base}/summary"), advisor.as_deref()).status,
        404,
        "not yet published"
    );
    let made = post(&format!("{base}/summary/items"), Some(&moderator), &item);
    assert_eq!(made.status, 201, "{}", made.text());
    assert_eq!(made.json()["notes"], json!(posted));
    let answered = post(
        &format!("{base}/notes/{}/answered", posted[1]),
        Some(&moderator),
        &json!({}),
    );
    assert_eq!(answered.status, 200, "{}", answered.text());
    assert_eq!(answered.json()["answered"], true);
    let not_a_question = post(
        &format!("{base}/notes/{}/answered", posted[0]),
        Some(&moderator),
        &json!({}),
    );
    assert_eq!(not_a_question.status, 400);
    let published = post(
        &format!("{base}/summary/publish"),
        Some(&moderator),
        &json!({}),
    );
    assert_eq!(published.status, 200, "{}", published.text());
    let read = get(&format!("{base}/summary"), advisor.as_deref());
    assert_eq!(read.status, 200);
    let read = read.json();
    assert_eq!(read["items"][0]["heading"], "Whānau rooms on every ward");
    assert_eq!(read["items"][0]["tags"], json!(["whānau liaison"]));
    assert_eq!(
        (read["questions"].as_u64(), read["answered"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(read["published_at"].is_string());
    // Group A's moderator is not this group's.
    assert_eq!(
        get(&format!("{base}/summary"), token(w, "moderator").as_deref()).status,
        403
    );
    // The facilitator's report.
    let out = crate::fixture::ako()
        .args([
            "session",
            "summary",
            &session.to_string(),
            "--format",
            "md",
            "--lake",
        ])
        .arg(crate::server::sample_lake())
        .arg("--config")
        .arg(&w.config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(
        md.contains(&format!(
            "## B\n\nModerator: not nominated. Published {}",
            read["published_at"].as_str().unwrap()
        )),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "1. Whānau rooms on every ward [whānau liaison] (notes {}, {})",
            posted[0], posted[1]
        )),
        "{md}"
    );
    // Each group's summary points to the charts of its pack, page by page.
    let group_b = w.s1.groups[1].group_id;
    assert!(
        md.contains(&format!(
            "Charts, in the group's pack (`/sessions/{session}/groups/{group_b}/pack.pdf`, or `ako session pack {session} --group {group_b}`):\n\n\
             - page 2: Members: seclusion events per 1,000 bed days, latest financial year (`01-peer-group-members.svg`, `.png`, `.csv`)\n"
        )),
        "{md}"
    );
    assert!(md.contains("- page 7: Inpatients secluded (%) by ethnic group, New Zealand, by month (`06-equity-headline-by-ethnicity.svg`"), "{md}");
    let out = crate::fixture::ako()
        .args([
            "session",
            "summary",
            &session.to_string(),
            "--format",
            "json",
        ])
        .arg("--lake")
        .arg(crate::server::sample_lake())
        .arg("--config")
        .arg(&w.config)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let b = &report["groups"][1];
    assert_eq!(b["name"], "B");
    assert_eq!(
        b["pack"],
        format!("/sessions/{session}/groups/{group_b}/pack.pdf")
    );
    let charts = b["charts"].as_array().unwrap();
    assert_eq!(charts.len(), 8);
    assert_eq!(
        charts[0],
        json!({"page": 2, "title": "Members: seclusion events per 1,000 bed days, latest financial year", "file": "01-peer-group-members"})
    );
}

/// Every organisation code (quoted, as in JSON or text cells) and name in the sample but
/// `own`.
pub(crate) fn others_than(own: Option<&str>) -> Vec<String> {
    let csv = include_str!("../../src/generate/organisations.csv");
    csv.lines()
        .skip(1)
        .flat_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            if Some(f[0]) == own {
                vec![]
            } else {
                vec![
                    format!(">{}<", f[0]),
                    format!("{}:", f[0]),
                    f[1].to_string(),
                ]
            }
        })
        .collect()
}

#[test]
fn the_breakout_page_shows_the_group_by_peer_code_with_its_charts_and_escaped_notes() {
    let w = world();
    let (s, a) = (w.s1.session_id, w.s1.groups[0].group_id);
    let page = format!("/sessions/{s}/groups/{a}");
    let participant = token(w, "participant");
    let posted = post(
        &w.server.url(&format!("/api/sessions/{s}/groups/{a}/notes")),
        participant.as_deref(),
        &json!({"kind": "worked", "text": "<script>alert('x')</script> whānau hui weekly"}),
    );
    assert_eq!(posted.status, 201, "{}", posted.text());
    // The page's role matrix: the notes' readers see it; no one else does.
    for (who, expected) in BREAKOUT_READERS {
        let got = get(&w.server.url(&page), token(w, who).as_deref());
        assert_eq!(
            got.status,
            expected,
            "{who}: {}",
            &got.text()[..got.text().len().min(300)]
        );
    }
    let html = get(&w.server.url(&page), participant.as_deref()).text();
    // The note is text, not markup.
    assert!(html.contains("&lt;script&gt;alert("), "the note is escaped");
    assert!(!html.contains("<script>alert("));
    // Members: the participant's own organisation by code, the others by peer code.
    assert!(html.contains("<strong>CMH</strong>"));
    let members = html.matches("class=\"member\"").count();
    assert_eq!(members, 3, "three members");
    for other in others_than(Some("CMH")) {
        assert!(!html.contains(&other), "the participant was shown {other}");
    }
    // The peer-group charts and the equity charts, drawn; the note form; no moderator tools.
    for id in [
        "members",
        "over-3-hours",
        "groups",
        "maori-ratio",
        "maori-dsr",
        "headline-by-ethnicity",
        "maori-headline-ratio",
    ] {
        assert!(html.contains(&format!("id=\"panel-{id}\"")), "panel {id}");
    }
    assert!(html.matches("<svg").count() >= 6);
    assert!(html.contains("id=\"note-form\"") && !html.contains("id=\"condense-form\""));
    assert!(html.contains("What worked where"));
    // The moderator gets the tools and no form; the members' chart has only the group.
    let moderator = get(&w.server.url(&page), token(w, "moderator").as_deref()).text();
    assert!(moderator.contains("id=\"condense-form\"") && !moderator.contains("id=\"note-form\""));
    for other in others_than(None) {
        assert!(
            !moderator.contains(&other),
            "the moderator was shown {other}"
        );
    }
}
