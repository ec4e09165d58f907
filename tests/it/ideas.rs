//! PDSA change ideas (issue 12 section 5): what each organisation's own Making Data Count
//! chart shows after its idea, the rebase ako proposes after a sustained shift (the
//! generator's five improvers get one at the month their shift begins, the three it made
//! worse get none), an analyst's decision, the dashboards drawing only accepted rebases,
//! and the ideas routes' role matrix.

use std::collections::BTreeMap;
use std::path::Path;

use ako::collab::Collab;
use ako::collab::ideas::Decision;
use serde_json::{Value, json};

use crate::breakouts::{post, token, world};
use crate::fixture::ako;
use crate::server::get;

fn run(args: &[&str], config: &Path) -> (i32, String, String) {
    let out = ako()
        .args(args)
        .arg("--lake")
        .arg(crate::server::sample_lake())
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn json_of(args: &[&str], config: &Path) -> Value {
    let (code, out, err) = run(args, config);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

/// Each organisation's monthly events per 1,000 bed days, read by the test from `ako
/// query`'s CSV (months whose extract arrived).
fn rates() -> BTreeMap<String, Vec<(String, f64)>> {
    let out = ako()
        .args([
            "query",
            "events_per_1000_bed_days",
            "--format",
            "csv",
            "--lake",
        ])
        .arg(crate::server::sample_lake())
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let (org, period, num, den) = (
        col("org_code"),
        col("period"),
        col("numerator"),
        col("denominator"),
    );
    let mut out: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let (Ok(n), Ok(d)) = (f[num].parse::<f64>(), f[den].parse::<f64>()) else {
            continue;
        };
        if d > 0.0 {
            out.entry(f[org].into())
                .or_default()
                .push((f[period].into(), n * 1000.0 / d));
        }
    }
    for v in out.values_mut() {
        v.sort_by(|a, b| a.0.cmp(&b.0));
    }
    out
}

fn events_judgement(idea: &Value) -> &Value {
    idea["judgements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["indicator"] == "events_per_1000_bed_days")
        .unwrap()
}

#[test]
fn the_improvers_get_a_rebase_proposal_at_their_shift_and_the_worsening_none() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ako.toml");
    std::fs::write(&config, "[collab]\npath = \"collab.sqlite\"\n").unwrap();
    // The three organisations the generator made worse try an idea half-way through.
    for org in ["WKO", "MCE", "SOU"] {
        let (code, _, err) = run(
            &[
                "ideas",
                "add",
                "--org",
                org,
                "--title",
                "Debriefing after every event",
                "--started",
                "2023-07-01",
                "--tag",
                "debriefing",
            ],
            &config,
        );
        assert_eq!(code, 0, "{err}");
    }
    let listed = json_of(&["ideas", "list", "--format", "json"], &config);
    let ideas = listed.as_array().unwrap();
    let by_org = |org: &str| -> &Value {
        ideas
            .iter()
            .find(|i| i["org_code"] == org)
            .unwrap_or_else(|| panic!("no idea of {org}"))
    };
    let rates = rates();
    // The month of each improver's shift, read from its data by the rule itself below.
    let expected = [
        ("CAN", "2023-02-01", "2023-04"),
        ("CMH", "2023-04-01", "2023-04"),
        ("HBY", "2023-09-01", "2024-09"),
        ("NTH", "2023-11-01", "2023-11"),
        ("QLD-GC", "2023-07-01", "2023-07"),
    ];
    for (org, started, shift) in expected {
        let idea = by_org(org);
        assert_eq!(idea["started"], started);
        assert_eq!(idea["source"], "lake");
        let j = events_judgement(idea);
        assert_eq!(j["verdict"], "sustained_improvement", "{org}: {j}");
        assert_eq!(j["signal"]["rule"], "7 Points Below CL");
        assert_eq!(j["proposal"]["period"], shift, "{org}");
        assert_eq!(j["rebase"], json!({"period": shift, "state": "proposed"}));
        // The test's own reading: the baseline mean is the mean of the months before the
        // idea; the shift's seven months are all below it, and no run of seven below it
        // starts between the idea and the shift.
        let series = &rates[org];
        let month = &started[..7];
        let before: Vec<f64> = series
            .iter()
            .filter(|(p, _)| p.as_str() < month)
            .map(|(_, v)| *v)
            .collect();
        assert!(before.len() >= 12, "{org}");
        let mean = before.iter().sum::<f64>() / before.len() as f64;
        assert!(
            (j["baseline_mean"].as_f64().unwrap() - mean).abs() < 1e-9,
            "{org}"
        );
        let below: Vec<(&str, bool)> = series
            .iter()
            .filter(|(p, _)| p.as_str() >= month)
            .map(|(p, v)| (p.as_str(), *v < mean))
            .collect();
        let at = below.iter().position(|(p, _)| *p == shift).unwrap();
        assert!(
            below[at..at + 7].iter().all(|(_, b)| *b),
            "{org}: {below:?}"
        );
        for start in 0..at {
            assert!(
                !below[start..start + 7].iter().all(|(_, b)| *b),
                "{org}: an earlier shift from {}",
                below[start].0
            );
        }
        assert!(
            at == 0 || !below[at - 1].1,
            "{org}: the shift starts earlier"
        );
    }
    for org in ["WKO", "MCE", "SOU"] {
        let idea = by_org(org);
        assert!(idea["idea_id"].as_i64().is_some());
        for j in idea["judgements"].as_array().unwrap() {
            assert_ne!(j["verdict"], "sustained_improvement", "{org}: {j}");
            assert!(
                j["proposal"].is_null() && j["rebase"].is_null(),
                "{org}: {j}"
            );
        }
    }
    let sou = events_judgement(by_org("SOU"));
    assert_eq!(sou["verdict"], "concern");
    assert_eq!(sou["signal"]["rule"], "7 Points Above CL");

    // A lake idea is decided on once imported; a worsening organisation has nothing to
    // decide.
    let (code, _, err) = run(&["ideas", "import"], &config);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("imported 5 of the lake's 5"), "{err}");
    let (code, _, err) = run(&["ideas", "import"], &config);
    assert!(
        code == 0 && err.contains("imported 0 of the lake's 5"),
        "{err}"
    );
    let id_of = |org: &str| -> String {
        let listed = json_of(
            &["ideas", "list", "--org", org, "--format", "json"],
            &config,
        );
        assert_eq!(listed.as_array().unwrap().len(), 1, "{org}: {listed}");
        listed[0]["idea_id"].as_i64().unwrap().to_string()
    };
    let (cmh, can, wko) = (id_of("CMH"), id_of("CAN"), id_of("WKO"));
    let (code, out, err) = run(
        &[
            "ideas",
            "rebase",
            "CMH",
            &cmh,
            "--accept",
            "--indicator",
            "events_per_1000_bed_days",
        ],
        &config,
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("at 2023-04") && out.contains("accepted"),
        "{out}"
    );
    let (code, _, err) = run(&["ideas", "rebase", "CAN", &can, "--reject"], &config);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&["ideas", "rebase", "WKO", &wko, "--accept"], &config);
    assert_eq!(code, 2);
    assert!(err.contains("no rebase is proposed after idea"), "{err}");
    let (code, _, err) = run(&["ideas", "rebase", "CAN", &cmh, "--accept"], &config);
    assert_eq!(code, 2);
    assert!(err.contains("is CMH's, not CAN's"), "{err}");
    let state = |org: &str| {
        let listed = json_of(
            &["ideas", "list", "--org", org, "--format", "json"],
            &config,
        );
        events_judgement(&listed[0])["rebase"].clone()
    };
    assert_eq!(
        state("CMH"),
        json!({"period": "2023-04", "state": "accepted"})
    );
    assert_eq!(
        state("CAN"),
        json!({"period": "2023-04", "state": "rejected"})
    );
    assert_eq!(
        state("NTH"),
        json!({"period": "2023-11", "state": "proposed"})
    );

    // What worked: the debriefing tag was tried by three and improved none.
    let worked = json_of(&["ideas", "worked", "--format", "json"], &config);
    let debriefing = worked
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["tag"] == "debriefing")
        .unwrap();
    assert_eq!(
        (
            debriefing["organisations"].as_u64(),
            debriefing["improved"].as_u64()
        ),
        (Some(3), Some(0))
    );
    let untagged = worked
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["tag"] == "untagged")
        .unwrap();
    assert_eq!(
        (
            untagged["organisations"].as_u64(),
            untagged["improved"].as_u64()
        ),
        (Some(5), Some(5))
    );
}

#[test]
fn a_tag_not_in_the_configuration_and_a_stage_back_in_time_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ako.toml");
    std::fs::write(
        &config,
        "[collab]\npath = \"collab.sqlite\"\n\n[ideas]\ntags = [\"kaupapa Māori\"]\n",
    )
    .unwrap();
    let (code, _, err) = run(
        &[
            "ideas",
            "add",
            "--org",
            "CMH",
            "--title",
            "Sensory rooms",
            "--started",
            "2024-03-01",
            "--tag",
            "sensory modulation",
        ],
        &config,
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown tag \"sensory modulation\"; the tags are \"kaupapa Māori\""),
        "{err}"
    );
    let added = json_of(
        &[
            "ideas",
            "add",
            "--org",
            "CMH",
            "--title",
            "Māori-led review of every event",
            "--started",
            "2024-03-01",
            "--tag",
            "kaupapa Māori",
            "--format",
            "json",
        ],
        &config,
    );
    let id = added["idea_id"].as_i64().unwrap().to_string();
    let moved = json_of(
        &[
            "ideas",
            "stage",
            &id,
            "--to",
            "do",
            "--on",
            "2024-05-01",
            "--format",
            "json",
        ],
        &config,
    );
    assert_eq!(moved["stage"], "do");
    assert_eq!(
        moved["stages"],
        json!([{"stage": "plan", "since": "2024-03-01"}, {"stage": "do", "since": "2024-05-01"}])
    );
    let (code, _, err) = run(
        &["ideas", "stage", &id, "--to", "study", "--on", "2024-04-01"],
        &config,
    );
    assert_eq!(code, 2);
    assert!(err.contains("before 2024-05-01"), "{err}");
}

/// Every organisation code and name in the sample but `own`, as they would appear in JSON.
fn others(own: Option<&str>) -> Vec<String> {
    let csv = include_str!("../../src/generate/organisations.csv");
    csv.lines()
        .skip(1)
        .flat_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            if Some(f[0]) == own {
                vec![]
            } else {
                vec![format!("\"{}\"", f[0]), f[1].to_string()]
            }
        })
        .collect()
}

#[test]
fn the_ideas_routes_follow_the_policy_and_name_no_other_organisation() {
    let w = world();
    {
        let mut c = Collab::open(&w.collab).unwrap();
        let lake: Vec<ako::model::ChangeIdea> = ["CAN", "CMH"]
            .iter()
            .map(|o| ako::model::ChangeIdea {
                org_code: (*o).into(),
                started: if *o == "CAN" {
                    "2023-02-01"
                } else {
                    "2023-04-01"
                }
                .into(),
                title: if *o == "CAN" {
                    "Whānau liaison and peer support roles on the acute unit"
                } else {
                    "Trauma-informed care training for all ward staff"
                }
                .into(),
            })
            .collect();
        c.import_lake(&lake).unwrap();
    }
    let url = |p: &str| w.server.url(p);
    // (who, own organisation, GET /api/ideas, POST an idea of CMH, POST an idea of CAN)
    let matrix = [
        ("analyst", None, 200, 201, 201),
        ("facilitator", None, 200, 403, 403),
        ("leader", Some("CMH"), 200, 201, 403),
        ("advisor", None, 200, 403, 403),
        ("public", None, 403, 403, 403),
        ("moderator", None, 200, 403, 403),
        ("participant", Some("CMH"), 200, 201, 403),
        ("participant of another group", Some("CAN"), 200, 403, 201),
        ("moderator outside the window", None, 401, 401, 401),
        ("participant outside the window", Some("CMH"), 401, 401, 401),
    ];
    for (n, (who, own, read, mine, theirs)) in matrix.into_iter().enumerate() {
        let t = token(w, who);
        let got = get(&url("/api/ideas"), t.as_deref());
        assert_eq!(got.status, read, "{who} GET /api/ideas: {}", got.text());
        let worked = get(&url("/api/ideas/worked"), t.as_deref());
        assert_eq!(worked.status, read, "{who} GET /api/ideas/worked");
        for (org, expected) in [("CMH", mine), ("CAN", theirs)] {
            let posted = post(
                &url("/api/ideas"),
                t.as_deref(),
                &json!({"org_code": org, "title": format!("Idea {n} of {who}"), "started": "2024-06-01", "tags": ["debriefing"]}),
            );
            assert_eq!(
                posted.status,
                expected,
                "{who} POST an idea of {org}: {}",
                posted.text()
            );
        }
        if read == 200 && who != "analyst" {
            for body in [got.text(), worked.text()] {
                for other in others(own) {
                    assert!(!body.contains(&other), "{who} was shown {other}: {body}");
                }
                // Means and limits are for analysts only.
                assert!(
                    !body.contains("baseline_mean") && !body.contains("\"proposal\""),
                    "{who}: {body}"
                );
            }
        }
    }
    // The analyst sees codes and the numbers; a tag filter keeps only its ideas.
    let t = token(w, "analyst");
    let all: Value = serde_json::from_str(&get(&url("/api/ideas"), t.as_deref()).text()).unwrap();
    let can = all["ideas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["org_code"] == "CAN")
        .unwrap();
    assert_eq!(events_judgement(can)["proposal"]["period"], "2023-04");
    let tagged: Value =
        serde_json::from_str(&get(&url("/api/ideas?tag=debriefing"), t.as_deref()).text()).unwrap();
    let tagged = tagged["ideas"].as_array().unwrap();
    assert!(!tagged.is_empty() && tagged.iter().all(|i| i["tags"] == json!(["debriefing"])));
    // A leader's stage change of their own idea holds; of another organisation's is 403.
    let leader = token(w, "leader");
    let mine = tagged.iter().find(|i| i["org_code"] == "CMH").unwrap()["idea_id"]
        .as_i64()
        .unwrap();
    let theirs = tagged.iter().find(|i| i["org_code"] == "CAN").unwrap()["idea_id"]
        .as_i64()
        .unwrap();
    let moved = post(
        &url(&format!("/api/ideas/{mine}/stage")),
        leader.as_deref(),
        &json!({"stage": "do", "on": "2024-07-01"}),
    );
    assert_eq!(moved.status, 200, "{}", moved.text());
    let refused = post(
        &url(&format!("/api/ideas/{theirs}/stage")),
        leader.as_deref(),
        &json!({"stage": "do"}),
    );
    assert_eq!(refused.status, 403);
    let bad = post(
        &url("/api/ideas"),
        leader.as_deref(),
        &json!({"title": "x", "started": "June", "tags": []}),
    );
    assert_eq!(bad.status, 400);
    assert!(
        bad.text()
            .contains("started must be a day written YYYY-MM-DD")
    );

    // The page: read as the API is; the form for those who record; stage moves only on
    // the viewer's own ideas; "what worked" by tag; no other organisation named.
    for (who, own, status, form) in [
        ("analyst", None, 200, true),
        ("facilitator", None, 200, false),
        ("leader", Some("CMH"), 200, true),
        ("advisor", None, 200, false),
        ("public", None, 403, false),
        ("moderator", None, 200, false),
        ("participant", Some("CMH"), 200, true),
        ("participant outside the window", Some("CMH"), 401, false),
    ] {
        let all: Value =
            serde_json::from_str(&get(&url("/api/ideas"), t.as_deref()).text()).unwrap();
        let got = get(&url("/ideas"), token(w, who).as_deref());
        assert_eq!(got.status, status, "{who} GET /ideas");
        if status != 200 {
            continue;
        }
        let html = got.text();
        assert_eq!(html.contains("id=\"idea-form\""), form, "{who}: the form");
        assert_eq!(
            html.contains("name=\"org_code\""),
            who == "analyst",
            "{who}"
        );
        assert!(html.contains("Trauma-informed care training for all ward staff"));
        assert!(html.contains("Whānau liaison and peer support roles on the acute unit"));
        assert!(
            html.contains("<tr class=\"worked\"><th scope=\"row\">debriefing</th>"),
            "{who}"
        );
        let stage_forms = html.matches("class=\"stage-form\"").count();
        let recorded = all["ideas"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["idea_id"].is_i64())
            .filter(|i| who == "analyst" || own == Some(i["org_code"].as_str().unwrap()))
            .count();
        assert_eq!(stage_forms, recorded, "{who}: stage forms");
        if who != "analyst" {
            for other in crate::breakouts::others_than(own) {
                assert!(!html.contains(&other), "{who} was shown {other}");
            }
        }
    }
}

#[test]
fn only_an_accepted_rebase_changes_the_limits_the_dashboards_draw() {
    let w = world();
    let t = token(w, "analyst");
    let panel = || -> (String, String) {
        let got = get(
            &w.server
                .url("/api/dashboards/my-organisation/panels/my-rate?org=CAN&grain=month"),
            t.as_deref(),
        );
        assert_eq!(got.status, 200, "{}", got.text());
        let v: Value = serde_json::from_str(&got.text()).unwrap();
        let svg = get(
            &w.server.url(
                "/api/dashboards/my-organisation/panels/my-rate/chart.svg?org=CAN&grain=month",
            ),
            t.as_deref(),
        );
        (v["description"].as_str().unwrap().to_string(), svg.text())
    };
    let id = {
        let mut c = Collab::open(&w.collab).unwrap();
        c.import_lake(&[ako::model::ChangeIdea {
            org_code: "CAN".into(),
            started: "2023-02-01".into(),
            title: "Whānau liaison and peer support roles on the acute unit".into(),
        }])
        .unwrap();
        c.ideas(Some("CAN"), None)
            .unwrap()
            .iter()
            .find(|i| i.started == "2023-02-01")
            .unwrap()
            .idea_id
            .unwrap()
    };
    // Proposed: drawn dashed beside the limits, which stay as they are.
    let (said, svg) = panel();
    assert!(
        said.contains("Dashed blue: the limits ako proposes from Apr 2023"),
        "{said}"
    );
    assert!(svg.contains("Proposed mean from Apr 2023"));
    assert!(!said.contains("restart"));
    // Accepted: the limits restart there, and nothing is drawn as proposed.
    Collab::open(&w.collab)
        .unwrap()
        .decide_rebase(
            id,
            "events_per_1000_bed_days",
            "2023-04",
            Decision::Accepted,
        )
        .unwrap();
    let (said, svg) = panel();
    assert!(said.contains("The limits restart at Apr 2023"), "{said}");
    assert!(!said.contains("Dashed blue") && !svg.contains("Proposed mean"));
    // Rejected: neither.
    Collab::open(&w.collab)
        .unwrap()
        .decide_rebase(
            id,
            "events_per_1000_bed_days",
            "2023-04",
            Decision::Rejected,
        )
        .unwrap();
    let (said, svg) = panel();
    assert!(
        !said.contains("restart")
            && !said.contains("Dashed blue")
            && !svg.contains("Proposed mean"),
        "{said}"
    );
    // The quarterly chart has no month to restart at and draws no rebase.
    let got = get(
        &w.server
            .url("/api/dashboards/my-organisation/panels/my-rate?org=CAN&grain=quarter"),
        t.as_deref(),
    );
    assert!(!got.text().contains("Dashed blue"));
}
