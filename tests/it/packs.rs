//! Chart packs (issue 12 section 3): `ako session pack` writes each group's PDF, SVG,
//! PNG and CSV at the session's pinned lake version, reproducibly, by peer code and
//! suppressed as the dashboards are; `/sessions/S/groups/G/pack.pdf` serves the
//! viewer's own pack under the breakout page's role matrix; the PDF's text is text.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::breakouts::{BREAKOUT_READERS, others_than, token, world};
use crate::fixture::ako;
use crate::server::get;

/// Whether poppler's `pdftotext` and `pdftoppm` are here; `.ci/run` installs them and
/// sets `AKO_REQUIRE_BROWSER=1`, which makes their absence a failure.
pub(crate) fn poppler() -> bool {
    let here = ["pdftotext", "pdftoppm"].iter().all(|t| {
        Command::new(t)
            .arg("-v")
            .output()
            .is_ok_and(|o| o.status.success() || !o.stderr.is_empty())
    });
    if !here {
        let required = std::env::var("AKO_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "AKO_REQUIRE_BROWSER=1 but pdftotext or pdftoppm is missing: install Debian's poppler-utils (.ci/run does)"
        );
        eprintln!(
            "SKIPPED: reading the PDF's text needs Debian's poppler-utils; .ci/run installs it and sets AKO_REQUIRE_BROWSER=1"
        );
    }
    here
}

/// The PDF's text, page by page, as `pdftotext` reads it.
pub(crate) fn pdf_pages(pdf: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pack.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_string).collect();
    if pages.last().is_some_and(|p| p.trim().is_empty()) {
        pages.pop();
    }
    pages
}

/// Pages in a PDF, from its page objects (`/Type /Page`, not `/Pages`).
fn page_objects(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    text.matches("/Type /Page").count() - text.matches("/Type /Pages").count()
}

/// A session made from the sample's size peer groups, in its own database, and the
/// configuration that finds it.
fn session() -> (tempfile::TempDir, PathBuf, Value) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ako.toml");
    std::fs::write(
        &config,
        "[privacy]\npseudonym_key = \"pack test key\"\n\n[collab]\npath = \"collab.sqlite\"\n",
    )
    .unwrap();
    let out = ako()
        .args(["session", "create", "--title", "Hui <&> o te raumati"])
        .args([
            "--date",
            "2026-12-09",
            "--grouping",
            "size",
            "--format",
            "json",
        ])
        .arg("--lake")
        .arg(crate::server::sample_lake())
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    (dir, config, s)
}

fn pack(config: &Path, session: i64, extra: &[&str], out: &Path) -> std::process::Output {
    ako()
        .args(["session", "pack", &session.to_string()])
        .args(extra)
        .arg("--out")
        .arg(out)
        .arg("--lake")
        .arg(crate::server::sample_lake())
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
}

fn files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn a_pack_per_group_holds_every_chart_reproducibly_by_peer_code_at_the_pinned_version() {
    let (dir, config, s) = session();
    let id = s["session_id"].as_i64().unwrap();
    let groups = s["groups"].as_array().unwrap();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    let made = pack(&config, id, &[], &one);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let said = String::from_utf8(made.stdout).unwrap();
    assert_eq!(
        said.lines().count(),
        groups.len(),
        "a line per group: {said}"
    );
    assert!(pack(&config, id, &[], &two).status.success());

    // One folder per group, named by its id and name; nothing staged left behind.
    let folders = files(&one);
    assert_eq!(folders.len(), groups.len(), "{folders:?}");
    for g in groups {
        let name = g["name"].as_str().unwrap();
        let folder = format!(
            "group-{}-{}",
            g["group_id"],
            name.to_lowercase()
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join("-")
        );
        assert!(folders.contains(&folder), "{folder} in {folders:?}");
        let (a, b) = (one.join(&folder), two.join(&folder));
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(a.join("pack.json")).unwrap()).unwrap();
        // The session's pinned version, and the eight charts of the two dashboards.
        assert_eq!(manifest["lake_version"], s["lake_version"]);
        assert_eq!(manifest["session"], "Hui <&> o te raumati");
        assert_eq!(manifest["group"], name);
        let charts = manifest["charts"].as_array().unwrap();
        let panels: Vec<&str> = charts
            .iter()
            .map(|c| c["panel"].as_str().unwrap())
            .collect();
        assert_eq!(
            panels,
            [
                "members",
                "over-3-hours",
                "groups",
                "maori-ratio",
                "maori-dsr",
                "headline-by-ethnicity",
                "maori-headline-ratio",
                "indigenous-ratio"
            ]
        );
        // Every chart as SVG and PNG with its data as CSV, and the PDF: a cover and a
        // page per chart.
        let mut expected: BTreeSet<String> = ["pack.pdf".into(), "pack.json".into()].into();
        for c in charts {
            for kind in ["svg", "png", "csv"] {
                expected.insert(c[kind].as_str().unwrap().to_string());
            }
            assert!(
                c["footer"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("lake version {}", s["lake_version"])),
                "{c}"
            );
            assert!(c["footer"].as_str().unwrap().contains("Period: "), "{c}");
            assert!(!c["description"].as_str().unwrap().is_empty());
        }
        assert_eq!(files(&a), expected, "{folder}");
        let pdf = std::fs::read(a.join("pack.pdf")).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        assert_eq!(page_objects(&pdf), charts.len() + 1, "{folder}");
        // Reproducible: byte for byte, SVG, CSV and manifest alike.
        for f in &expected {
            if f.ends_with(".svg") || f.ends_with(".csv") || f.ends_with(".json") {
                assert_eq!(
                    std::fs::read(a.join(f)).unwrap(),
                    std::fs::read(b.join(f)).unwrap(),
                    "{folder}/{f} differs between two runs"
                );
            }
        }
        // The breakout's audience: no organisation named anywhere, members by peer code.
        let members: Vec<&str> = manifest["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        assert_eq!(members.len(), g["members"].as_array().unwrap().len());
        assert!(
            members.iter().all(|m| m.starts_with('P') && m.len() == 4),
            "{members:?}"
        );
        let forbidden = others_than(None);
        for f in &expected {
            if f.ends_with(".png") || f.ends_with(".pdf") {
                continue;
            }
            let text = std::fs::read_to_string(a.join(f)).unwrap();
            for other in &forbidden {
                assert!(!text.contains(other.as_str()), "{folder}/{f} names {other}");
            }
        }
        // The members' chart has the group's members only.
        let csv = std::fs::read_to_string(a.join(charts[0]["csv"].as_str().unwrap())).unwrap();
        let mut rows = csv::Reader::from_reader(csv.as_bytes());
        let org = rows
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == "org_code")
            .expect("an org_code column");
        let seen: BTreeSet<String> = rows
            .records()
            .map(|r| r.unwrap()[org].to_string())
            .collect();
        assert!(!seen.is_empty());
        assert!(
            seen.iter().all(|o| members.contains(&o.as_str())),
            "{seen:?} not all in {members:?}"
        );
    }

    // A second run over the first replaces each folder whole.
    assert!(pack(&config, id, &[], &one).status.success());
    assert_eq!(files(&one), folders);
}

#[test]
fn a_packs_csv_is_the_dashboards_csv_for_the_same_audience() {
    // The equity charts are the collaborative's: the pack's CSV of each must be, byte for
    // byte, what the dashboard's CSV download gives the breakout's moderator.
    let w = world();
    let out = tempfile::tempdir().unwrap();
    let made = pack(
        &w.config,
        w.s1.session_id,
        &["--group", &w.s1.groups[0].name],
        out.path(),
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let folder = out
        .path()
        .join(format!("group-{}-a", w.s1.groups[0].group_id));
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(folder.join("pack.json")).unwrap()).unwrap();
    // The moderator may not open the equity dashboard itself; the facilitator sees it
    // as the moderator does, every organisation by peer code and small cells withheld.
    let facilitator = token(w, "facilitator");
    let mut compared = 0;
    for c in manifest["charts"].as_array().unwrap() {
        if c["dashboard"] != "equity" {
            continue;
        }
        let url = w.server.url(&format!(
            "/api/dashboards/equity/panels/{}/data.csv",
            c["panel"].as_str().unwrap()
        ));
        let served = get(&url, facilitator.as_deref());
        assert_eq!(served.status, 200, "{}", served.text());
        let packed = std::fs::read_to_string(folder.join(c["csv"].as_str().unwrap())).unwrap();
        assert_eq!(packed, served.text(), "{}", c["panel"]);
        compared += 1;
    }
    assert_eq!(compared, 5);
    // Only the group asked for.
    assert_eq!(files(out.path()).len(), 1);
}

#[test]
fn a_pack_of_no_such_session_or_group_is_refused_and_writes_nothing() {
    let w = world();
    let out = tempfile::tempdir().unwrap();
    let none = pack(&w.config, 9999, &[], out.path());
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("9999"));
    let group = pack(&w.config, w.s1.session_id, &["--group", "Z"], out.path());
    assert_eq!(group.status.code(), Some(2));
    let err = String::from_utf8_lossy(&group.stderr);
    assert!(err.contains("no group `Z`"), "{err}");
    assert!(files(out.path()).is_empty());
}

#[test]
fn the_pack_pdf_follows_the_breakout_pages_role_matrix_and_its_text_is_text() {
    let w = world();
    let (s, a) = (w.s1.session_id, w.s1.groups[0].group_id);
    let url = w.server.url(&format!("/sessions/{s}/groups/{a}/pack.pdf"));
    let mut pdfs = Vec::new();
    // The pack is read by exactly those who read the breakout's page.
    for (who, expected) in BREAKOUT_READERS {
        let got = get(&url, token(w, who).as_deref());
        assert_eq!(got.status, expected, "{who}");
        if expected == 200 {
            assert_eq!(got.content_type, "application/pdf", "{who}");
            assert!(got.body.starts_with(b"%PDF-"), "{who}");
            pdfs.push((who, got.body));
        }
    }
    let absent = w
        .server
        .url(&format!("/sessions/{s}/groups/999999/pack.pdf"));
    assert_eq!(get(&absent, token(w, "analyst").as_deref()).status, 404);
    if !poppler() {
        return;
    }
    for (who, pdf) in &pdfs {
        let pages = pdf_pages(pdf);
        assert_eq!(pages.len(), 9, "{who}: a cover and eight charts");
        // The cover says what the pack is; each chart page its title, period and version.
        assert!(
            pages[0].contains("Breakout group: A"),
            "{who}: {}",
            pages[0]
        );
        assert!(pages[0].contains("Moderator:"));
        for (page, title) in pages[1..].iter().zip([
            "Members: seclusion events per 1,000 bed days",
            "longer than 3 hours",
            "Peer groups' pooled rates",
            "rate ratio of people secluded",
            "age-standardised",
            "Inpatients secluded (%) by ethnic group",
            "non-Pacific ratio of inpatients secluded",
        ]) {
            // This world's groups are not peer groups of the sample, so the pooled
            // rates of "its" peer group are empty; every other chart has a period.
            if !title.starts_with("Peer groups") {
                assert!(page.contains("Period: "), "{who}: {page}");
            }
            assert!(page.contains("lake version "), "{who}: {page}");
            assert!(page.contains(title), "{who}: {title} in {page}");
        }
        let all = pages.join("\n");
        match *who {
            // The participant's own organisation by name; everyone else by peer code.
            "participant" => {
                for other in others_than(Some("CMH")) {
                    assert!(!all.contains(&other), "{who} shown {other}");
                }
            }
            "moderator" | "facilitator" => {
                for other in others_than(None) {
                    assert!(!all.contains(&other), "{who} shown {other}");
                }
                assert!(all.contains("small cells withheld"), "{who}");
            }
            _ => assert!(all.contains("organisations named"), "{who}"),
        }
    }
}
