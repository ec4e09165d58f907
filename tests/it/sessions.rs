//! Learning sessions from the command line (issue 12 sections 1 and 2): breakout groups
//! made from the current peer groups, moved and moderated, pinned to a lake version, in
//! a collaborative database where the configuration puts it, and backed up online.

use std::path::Path;

use ako::collab::Collab;
use serde_json::Value;

use crate::fixture::{Fixture, ako, row};

/// `ako ARGS… --lake LAKE [--config CONFIG]`: exit code, stdout, stderr.
fn run(args: &[&str], lake: &Path, config: Option<&Path>) -> (i32, String, String) {
    let mut cmd = ako();
    cmd.args(args).arg("--lake").arg(lake);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn json(args: &[&str], lake: &Path, config: Option<&Path>) -> Value {
    let (code, out, err) = run(args, lake, config);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

#[test]
fn a_session_takes_the_peer_groups_of_its_grouping_with_their_reasons() {
    let lake = crate::server::sample_lake();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ako.toml");
    // Relative to the configuration file's folder.
    std::fs::write(&config, "[collab]\npath = \"db/collab.sqlite\"\n").unwrap();
    for (n, grouping) in ["size", "challenge", "config"].into_iter().enumerate() {
        let session = json(
            &[
                "session",
                "create",
                "--title",
                "December hui",
                "--date",
                "2026-12-09",
                "--grouping",
                grouping,
                "--format",
                "json",
            ],
            lake,
            Some(&config),
        );
        let peers = json(
            &["peers", "--by", grouping, "--format", "json"],
            lake,
            Some(&config),
        );
        assert_eq!(session["session_id"], n as i64 + 1);
        assert_eq!(session["title"], "December hui");
        assert_eq!(session["date"], "2026-12-09");
        assert_eq!(session["grouping"], grouping);
        // The groups are the peer groups, in order, member for member, reason for reason.
        let groups = session["groups"].as_array().unwrap();
        let expected = peers.as_array().unwrap();
        assert!(groups.len() >= 2, "{grouping}: {groups:?}");
        assert_eq!(groups.len(), expected.len(), "{grouping}");
        for (g, p) in groups.iter().zip(expected) {
            assert_eq!(g["name"], p["group"]);
            assert_eq!(g["members"], p["members"]);
            assert_eq!(g["moderator"], Value::Null);
            assert!(g["group_id"].as_i64().is_some());
        }
        let members: usize = groups
            .iter()
            .map(|g| g["members"].as_array().unwrap().len())
            .sum();
        assert_eq!(members, 25, "every organisation once");
    }
    // The facilitator moves the first organisation of the size session's first group to
    // its last group, by the group's name.
    let first = json(
        &["session", "show", "1", "--format", "json"],
        lake,
        Some(&config),
    );
    let groups = first["groups"].as_array().unwrap();
    let (from, to) = (&groups[0], &groups[groups.len() - 1]);
    let org = from["members"][0]["org_code"].as_str().unwrap();
    let moved = json(
        &[
            "session",
            "move",
            "1",
            org,
            "--to",
            to["name"].as_str().unwrap(),
            "--format",
            "json",
        ],
        lake,
        Some(&config),
    );
    let after = &moved["groups"];
    let count = |g: &Value| g["members"].as_array().unwrap().len();
    assert_eq!(count(&after[0]), count(from) - 1);
    let last = &after[groups.len() - 1];
    assert_eq!(count(last), count(to) + 1);
    let member = last["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["org_code"] == org)
        .unwrap();
    assert_eq!(
        member["reason"],
        format!(
            "moved by the facilitator (was in {})",
            from["name"].as_str().unwrap()
        )
    );
    // It lives where the configuration says, not in the lake.
    assert!(dir.path().join("db/collab.sqlite").is_file());
    assert!(!lake.join("collab.sqlite").exists());
    let list = json(
        &["session", "list", "--format", "json"],
        lake,
        Some(&config),
    );
    let ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["session_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [3, 2, 1], "same date: newest first");
    assert_eq!(list[0]["organisations"], 25);
}

#[tokio::test]
async fn moves_moderators_and_the_pinned_lake_version() {
    let f = Fixture::new();
    f.ingest_reference().await;
    let march = f.canonical(
        "in/TST/TST_march.csv",
        &[row(
            "E1",
            "P1",
            "seclusion",
            "2024-03-05T10:00:00+13:00",
            "2024-03-05T11:00:00+13:00",
            "maori",
        )],
    );
    f.ingest(&[&march]).await;
    let pinned = f.snapshot(None).await.lake_version.unwrap();
    let lake = f.lake_dir();
    let s = json(
        &[
            "session",
            "create",
            "--title",
            "Hui",
            "--date",
            "2026-12-09",
            "--grouping",
            "size",
            "--format",
            "json",
        ],
        &lake,
        None,
    );
    assert_eq!(s["lake_version"], pinned);
    // By default the database is in the lake folder.
    assert!(lake.join("collab.sqlite").is_file());
    let groups = s["groups"].as_array().unwrap();
    let tst_group = groups
        .iter()
        .find(|g| {
            g["members"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["org_code"] == "TST")
        })
        .unwrap();
    let group = tst_group["group_id"].to_string();
    let named = json(
        &[
            "session",
            "moderator",
            "1",
            &group,
            "--name",
            "Aroha Ngata",
            "--format",
            "json",
        ],
        &lake,
        None,
    );
    let g = named["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group_id"] == tst_group["group_id"])
        .unwrap();
    assert_eq!(g["moderator"], "Aroha Ngata");
    let (code, text, _) = run(&["session", "show", "1"], &lake, None);
    assert_eq!(code, 0);
    assert!(text.contains("moderator: Aroha Ngata"), "{text}");
    assert!(
        text.starts_with(&format!(
            "session 1: Hui (2026-12-09), breakout groups by size, lake version {pinned}"
        )),
        "{text}"
    );

    // A new month arrives mid-session: the lake moves on, the session does not.
    let april = f.canonical(
        "in/TST/TST_april.csv",
        &[row(
            "E2",
            "P2",
            "seclusion",
            "2024-04-05T10:00:00+12:00",
            "2024-04-05T11:00:00+12:00",
            "maori",
        )],
    );
    f.ingest(&[&april]).await;
    assert!(f.snapshot(None).await.lake_version.unwrap() > pinned);
    let shown = json(&["session", "show", "1", "--format", "json"], &lake, None);
    assert_eq!(shown["lake_version"], pinned);

    // An online backup holds the same session.
    let backup = f.path("backups/collab.sqlite");
    let (code, _, err) = run(&["collab", "backup", backup.to_str().unwrap()], &lake, None);
    assert_eq!(code, 0, "{err}");
    let copy = Collab::open(&backup).unwrap();
    assert_eq!(
        serde_json::to_value(copy.session(1).unwrap()).unwrap(),
        shown
    );
}

#[tokio::test]
async fn what_a_facilitator_gets_wrong_is_refused_with_exit_2() {
    let f = Fixture::new();
    f.ingest_reference().await;
    let lake = f.lake_dir();
    // Nothing to back up before any session.
    let (code, _, err) = run(
        &["collab", "backup", f.path("b.sqlite").to_str().unwrap()],
        &lake,
        None,
    );
    assert_eq!(
        (code, err.trim()),
        (
            2,
            format!(
                "ako: no collaborative database at {}: nothing to back up",
                lake.join("collab.sqlite").display()
            )
            .as_str()
        )
    );
    let create = |date: &str, title: &str| {
        run(
            &[
                "session",
                "create",
                "--title",
                title,
                "--date",
                date,
                "--grouping",
                "size",
            ],
            &lake,
            None,
        )
    };
    let (code, _, err) = create("2026-13-01", "Hui");
    assert_eq!(
        (code, err.trim()),
        (2, "ako: --date 2026-13-01: write the day as YYYY-MM-DD")
    );
    let (code, _, err) = create("2026-12-09", "two\nlines");
    assert_eq!(
        (code, err.trim()),
        (
            2,
            "ako: the title holds a control character (a line break or tab)"
        )
    );
    let (code, _, _) = create("2026-12-09", "Hui");
    assert_eq!(code, 0);
    for (args, message) in [
        (vec!["session", "show", "9"], "ako: no session 9"),
        (
            vec!["session", "move", "1", "NOPE", "--to", "1"],
            "ako: NOPE is not in session 1",
        ),
        (
            vec!["session", "moderator", "1", "1", "--name", "  "],
            "ako: the moderator's name is empty",
        ),
        (
            vec![
                "session",
                "moderator",
                "1",
                "no such group",
                "--name",
                "Aroha",
            ],
            "ako: session 1 has no group `no such group` (give its group_id or name, as `ako session show` lists them)",
        ),
    ] {
        let (code, _, err) = run(&args, &lake, None);
        assert_eq!((code, err.trim()), (2, message), "{args:?}");
    }
    // An unknown key under [collab] is refused like any other configuration mistake.
    let bad = f.write("bad.toml", "[collab]\npaht = \"x\"\n");
    let (code, _, err) = run(&["session", "list"], &lake, Some(&bad));
    assert_eq!(code, 2);
    assert!(err.contains("unknown field `paht`"), "{err}");
    // Nothing refused was written.
    let list = json(&["session", "list", "--format", "json"], &lake, None);
    assert_eq!(list.as_array().unwrap().len(), 1);
}
