//! Peer groups: size bands at their boundaries, shared-challenge clusters that are found,
//! named and explained, facilitator overrides, and the `ako peers` contract.

use std::collections::BTreeMap;
use std::path::Path;

use ako::config::{Config, PeersConfig};
use ako::peers::{self, Group, OrgProfile};
use serde_json::Value;

use crate::fixture::Fixture;

fn profile(
    code: &str,
    population: f64,
    tags: &[&str],
    rate: f64,
    ratio: f64,
    hours: f64,
    trend: f64,
) -> OrgProfile {
    OrgProfile {
        org_code: code.into(),
        population,
        tags: tags.iter().map(|t| t.to_string()).collect(),
        rate: Some(rate),
        maori_ratio: Some(ratio),
        median_hours: Some(hours),
        trend_per_year: Some(trend),
    }
}

fn members(groups: &[Group]) -> BTreeMap<String, String> {
    peers::membership(groups)
}

#[test]
fn size_bands_at_their_boundaries() {
    let orgs = [
        profile("A", 149_999.0, &[], 5.0, 2.0, 3.0, 0.0),
        profile("B", 150_000.0, &[], 5.0, 2.0, 3.0, 0.0),
        profile("C", 399_999.0, &[], 5.0, 2.0, 3.0, 0.0),
        profile("D", 400_000.0, &[], 5.0, 2.0, 3.0, 0.0),
    ];
    let groups = peers::by_size(&orgs, &PeersConfig::default());
    let m = members(&groups);
    assert_eq!(m["A"], "small");
    assert_eq!(m["B"], "medium");
    assert_eq!(m["C"], "medium");
    assert_eq!(m["D"], "large");
    assert_eq!(
        groups[0].members[0].reason,
        "population served 149,999: small (under 150,000)"
    );
    assert_eq!(
        groups[1].members[0].reason,
        "population served 150,000: medium (150,000 to under 400,000)"
    );
    assert_eq!(
        groups[2].members[0].reason,
        "population served 400,000: large (400,000 and over)"
    );
    // Thresholds come from the configuration.
    let config = Config::parse(
        Path::new("ako.toml"),
        "[peers]\nsize_bands = [{ name = \"under 200k\", below = 200000 }, { name = \"200k and over\" }]\n",
    )
    .unwrap();
    let m = members(&peers::by_size(&orgs, &config.peers));
    assert_eq!(m["C"], "200k and over");
    assert_eq!(m["B"], "under 200k");
}

#[test]
fn bad_size_bands_are_refused() {
    for bad in [
        "[peers]\nsize_bands = [{ name = \"a\", below = 5 }]\n",
        "[peers]\nsize_bands = [{ name = \"a\", below = 5 }, { name = \"b\", below = 3 }, { name = \"c\" }]\n",
        "[peers]\nsize_bandz = []\n",
    ] {
        let e = Config::parse(Path::new("ako.toml"), bad)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("ako.toml: "), "{e}");
    }
}

/// Three clear kinds of organisation, four of each, with small differences inside.
fn three_kinds() -> Vec<OrgProfile> {
    let mut orgs = Vec::new();
    for i in 0..4 {
        let d = i as f64 * 0.03;
        orgs.push(profile(
            &format!("HI{i}"),
            100_000.0,
            &["rural"],
            30.0 * (1.0 + d),
            2.0,
            3.0,
            0.0,
        ));
        orgs.push(profile(
            &format!("LO{i}"),
            500_000.0,
            &["forensic_unit"],
            2.0 * (1.0 + d),
            2.0,
            3.0,
            0.0,
        ));
        orgs.push(profile(
            &format!("MD{i}"),
            300_000.0,
            &[],
            8.0 * (1.0 + d),
            2.0,
            3.0,
            0.0,
        ));
    }
    orgs.sort_by(|a, b| a.org_code.cmp(&b.org_code));
    orgs
}

#[test]
fn shared_challenge_groups_are_found_named_and_explained() {
    let orgs = three_kinds();
    let c = peers::by_challenge(&orgs, &PeersConfig::default());
    assert_eq!(
        c.k, 3,
        "three kinds make three groups (silhouette {})",
        c.silhouette
    );
    let m = members(&c.groups);
    assert_eq!(m.len(), 12, "every organisation in exactly one group");
    for kind in ["HI", "LO", "MD"] {
        let group = &m[&format!("{kind}0")];
        for i in 1..4 {
            assert_eq!(&m[&format!("{kind}{i}")], group, "{kind}{i} with {kind}0");
        }
    }
    let name = |code: &str| m[code].as_str();
    assert!(
        name("HI0").contains("Higher seclusion rate") && name("HI0").contains("rural"),
        "{}",
        name("HI0")
    );
    assert!(
        name("LO0").contains("Lower seclusion rate") && name("LO0").contains("forensic units"),
        "{}",
        name("LO0")
    );
    let hi = c
        .groups
        .iter()
        .flat_map(|g| &g.members)
        .find(|m| m.org_code == "HI0")
        .unwrap();
    assert!(
        hi.reason.starts_with("rate 30.0 per 1,000 bed days (+1."),
        "{}",
        hi.reason
    );
    assert!(hi.reason.ends_with("tags: rural"), "{}", hi.reason);
    // Deterministic: the same profiles give the same groups, every time.
    assert_eq!(peers::by_challenge(&orgs, &PeersConfig::default()), c);
}

#[test]
fn facilitator_overrides_move_organisations_with_the_note() {
    let orgs = three_kinds();
    let config = Config::parse(
        Path::new("ako.toml"),
        "[peers.overrides]\nMD0 = { group = \"New breakout\", note = \"new unit opened in 2024\" }\nLO1 = { group = \"New breakout\" }\n",
    )
    .unwrap();
    let c = peers::by_challenge(&orgs, &config.peers);
    let before = members(&c.groups);
    let groups = peers::with_overrides(c.groups.clone(), &config.peers).unwrap();
    let m = members(&groups);
    assert_eq!(m.len(), 12);
    assert_eq!(m["MD0"], "New breakout");
    assert_eq!(m["LO1"], "New breakout");
    assert_eq!(m["MD1"], before["MD1"], "the others stay");
    let moved = &groups
        .iter()
        .find(|g| g.group == "New breakout")
        .unwrap()
        .members;
    assert_eq!(moved[1].org_code, "MD0");
    assert_eq!(
        moved[1].reason,
        format!(
            "placed by the facilitator (was in {}): new unit opened in 2024",
            before["MD0"]
        )
    );
    let unknown = Config::parse(
        Path::new("ako.toml"),
        "[peers.overrides]\nXYZ = { group = \"G\" }\n",
    )
    .unwrap();
    let e = peers::with_overrides(c.groups, &unknown.peers)
        .unwrap_err()
        .to_string();
    assert!(e.contains("'XYZ'"), "{e}");
}

#[tokio::test]
async fn ako_peers_prints_the_contract() {
    let f = Fixture::new();
    f.ingest_reference().await;
    for by in ["size", "challenge", "config"] {
        let out = crate::fixture::ako()
            .args(["peers", "--by", by, "--format", "json", "--lake"])
            .arg(f.lake_dir())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let groups: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        let mut seen = Vec::new();
        for g in &groups {
            assert!(g["group"].is_string());
            for m in g["members"].as_array().unwrap() {
                seen.push(m["org_code"].as_str().unwrap().to_string());
                assert!(!m["reason"].as_str().unwrap().is_empty());
            }
        }
        seen.sort();
        assert_eq!(
            seen,
            vec!["QTS", "TST"],
            "--by {by}: each organisation once"
        );
    }
    // No lake: a clear error, exit 2.
    let out = crate::fixture::ako()
        .args(["peers", "--lake"])
        .arg(f.path("nowhere"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
