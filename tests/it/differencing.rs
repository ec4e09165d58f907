//! Differencing attacks, played as a curious user would: every non-analyst role fetches
//! every panel of every dashboard it is offered under every combination of the filter
//! values the API lists, then solves for each withheld count from all the numbers shown
//! (sums across any margin, any grain, any level, any grouping). No withheld count may
//! be determined.
//!
//! The attacker is given more than a real one has: the true organisation behind every
//! peer code, every organisation's jurisdiction and peer groups, and that a month whose
//! extract never arrived adds nothing. The attack knows nothing of how ako suppresses:
//! it reads only the served JSON, so it finds a leak through any route added later.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use ako::privacy::audit;
use ako::privacy::{Role, Viewer};
use serde_json::Value;

use crate::server::{get, with_tokens};

/// Columns that are sums of people or events, so add up across margins.
const ADDITIVE: [&str; 7] = [
    "numerator",
    "comparison_numerator",
    "episodes",
    "breaches",
    "flagged",
    "not_evaluable",
    "denominator",
];

/// Reasons that withhold a secret (a pooled line of a small group is withheld only
/// because its members are shown one by one).
const SECRET: [&str; 3] = ["<6", "complementary", "bed days < 100"];

/// Dimensions matched value for value, `all` (or absent) meaning every value. A table
/// panel may show a rule's wording in place of its id.
const DIMS: [&str; 6] = [
    "practice",
    "ethnicity",
    "indigenous_status",
    "rule_id",
    "rule",
    "age_band",
];

/// One served row: the indicator, the grouping it ran under and its cells.
struct Served {
    indicator: String,
    grouping: String,
    row: BTreeMap<String, Value>,
}

fn token(role: Role) -> Option<String> {
    let (_, t) = with_tokens();
    match role {
        Role::Leader => Some(t.leader.clone()),
        Role::Facilitator => Some(t.facilitator.clone()),
        _ => None,
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Every panel JSON a role can fetch, under every combination of filter values.
fn harvest(role: Role) -> (Vec<Served>, usize) {
    let (s, _) = with_tokens();
    let token = token(role);
    let list = get(&s.url("/api/dashboards"), token.as_deref()).json();
    let mut served = Vec::new();
    let mut requests = 0;
    for d in list["dashboards"].as_array().unwrap() {
        for p in d["panels"].as_array().unwrap() {
            let base = p["json"].as_str().unwrap().to_string();
            // The first answer lists the filters and the values found in the data.
            let first = get(&s.url(&base), token.as_deref());
            assert_eq!(first.status, 200, "{base}: {}", first.text());
            let mut combos: Vec<Vec<(String, String)>> = vec![Vec::new()];
            for f in first.json()["filters"].as_array().unwrap() {
                if f["locked"].as_bool() == Some(true) {
                    continue;
                }
                let name = f["name"].as_str().unwrap().to_string();
                let values: Vec<String> = f["options"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|o| o[0].as_str().unwrap().to_string())
                    .collect();
                combos = combos
                    .iter()
                    .flat_map(|c| {
                        values.iter().map(|v| {
                            let mut c = c.clone();
                            c.push((name.clone(), v.clone()));
                            c
                        })
                    })
                    .collect();
            }
            for combo in combos {
                let query: Vec<String> = combo
                    .iter()
                    .map(|(k, v)| format!("{k}={}", enc(v)))
                    .collect();
                let url = format!("{base}?{}", query.join("&"));
                let got = get(&s.url(&url), token.as_deref());
                requests += 1;
                assert_eq!(got.status, 200, "{role:?} {url}: {}", got.text());
                let body = got.json();
                let mut indicator = body["indicator"].as_str().unwrap().to_string();
                // Bed days are no count of people (and do not depend on the practice):
                // a rate's denominator is a secret only when it counts people.
                if body["unit"]
                    .as_str()
                    .is_some_and(|u| u.contains("bed days"))
                {
                    indicator.push_str(" (per bed day)");
                }
                let grouping = body["params"]["grouping"]
                    .as_str()
                    .unwrap_or("size")
                    .to_string();
                for key in ["rows", "compare"] {
                    for row in body[key].as_array().into_iter().flatten() {
                        served.push(Served {
                            indicator: indicator.clone(),
                            grouping: grouping.clone(),
                            row: row
                                .as_object()
                                .unwrap()
                                .iter()
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect(),
                        });
                    }
                }
            }
        }
    }
    (served, requests)
}

/// What the attacker knows of the organisations: the real one behind each label, and
/// each one's jurisdiction and peer group under each grouping.
struct Knowledge {
    real: HashMap<String, String>,
    jurisdiction: BTreeMap<String, BTreeSet<String>>,
    group: BTreeMap<(String, String), BTreeSet<String>>,
    all: BTreeSet<String>,
}

fn knowledge() -> Knowledge {
    let (s, t) = with_tokens();
    let current = s.state.current();
    let peers = &current.pseudonyms;
    let mut real = HashMap::new();
    for (org, _) in peers.orgs() {
        for viewer in [Viewer::public(), Viewer::leader(crate::server::LEADER_ORG)] {
            real.insert(peers.label(&viewer, org), org.to_string());
        }
    }
    let mut k = Knowledge {
        real,
        jurisdiction: BTreeMap::new(),
        group: BTreeMap::new(),
        all: BTreeSet::new(),
    };
    for grouping in ["size", "challenge", "config"] {
        let url =
            format!("/api/dashboards/my-organisation/panels/peer-ranking?grouping={grouping}&org=");
        let body = get(&s.url(&url), Some(&t.analyst)).json();
        let rows = body["rows"].as_array().unwrap();
        assert!(rows.len() >= 25, "every organisation under {grouping}");
        for r in rows {
            let org = r["org_code"].as_str().unwrap().to_string();
            k.all.insert(org.clone());
            k.jurisdiction
                .entry(r["jurisdiction"].as_str().unwrap().to_string())
                .or_default()
                .insert(org.clone());
            if let Some(g) = r["peer_group"].as_str() {
                k.group
                    .entry((grouping.to_string(), g.to_string()))
                    .or_default()
                    .insert(org);
            }
        }
    }
    k
}

fn months(period: &str) -> Vec<String> {
    let y: u32 = period[..4].parse().unwrap();
    let span = |from: u32, n: u32| -> Vec<String> {
        (0..n)
            .map(|i| {
                let m = from - 1 + i;
                format!("{:04}-{:02}", y + m / 12, m % 12 + 1)
            })
            .collect()
    };
    match (
        period.len(),
        period.as_bytes().get(4),
        period.as_bytes().get(5),
    ) {
        (4, _, _) => span(1, 12),
        (7, Some(b'-'), Some(b'Q')) => {
            let q: u32 = period[6..].parse().unwrap();
            span(3 * q - 2, 3)
        }
        (7, Some(b'-'), _) => vec![period.to_string()],
        (7, Some(b'/'), _) => span(7, 12),
        _ => panic!("a period the attack cannot read: {period}"),
    }
}

/// The pieces (organisation, month, dimension values) a served row adds up.
fn pieces(
    k: &Knowledge,
    s: &Served,
    values: &BTreeMap<&str, BTreeSet<String>>,
    ids: &mut HashMap<Vec<String>, usize>,
) -> Vec<usize> {
    let text = |c: &str| s.row.get(c).and_then(|v| v.as_str()).map(str::to_string);
    let orgs: Vec<String> = if let Some(label) = text("org_code") {
        vec![k.real.get(&label).cloned().unwrap_or(label)]
    } else if let Some(g) = text("peer_group") {
        k.group[&(s.grouping.clone(), g)].iter().cloned().collect()
    } else if let Some(j) = text("jurisdiction") {
        k.jurisdiction[&j].iter().cloned().collect()
    } else {
        k.all.iter().cloned().collect()
    };
    let mut keys: Vec<Vec<String>> = orgs
        .into_iter()
        .flat_map(|o| {
            // A row with no period covers one timeless piece per organisation.
            let periods = text("period")
                .map(|p| months(&p))
                .unwrap_or_else(|| vec![String::new()]);
            periods.into_iter().map(move |m| vec![o.clone(), m])
        })
        .collect();
    for d in DIMS {
        let axis: Vec<String> = match text(d) {
            Some(v) if v != "all" => vec![v],
            _ => values
                .get(d)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default(),
        };
        if axis.is_empty() {
            continue;
        }
        keys = keys
            .into_iter()
            .flat_map(|k| {
                axis.iter().map(move |v| {
                    let mut k = k.clone();
                    k.push(v.clone());
                    k
                })
            })
            .collect();
    }
    let mut out: Vec<usize> = keys
        .into_iter()
        .map(|key| {
            let n = ids.len();
            *ids.entry(key).or_insert(n)
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Solves every withheld count of every indicator and additive column from the shown
/// ones; returns (withheld counts tried, those determined, with a description of each).
fn attack(k: &Knowledge, served: &[Served]) -> (usize, Vec<String>) {
    let mut tried = 0;
    let mut found = Vec::new();
    let indicators: BTreeSet<&str> = served.iter().map(|s| s.indicator.as_str()).collect();
    for indicator in indicators {
        let rows: Vec<&Served> = served.iter().filter(|s| s.indicator == indicator).collect();
        let mut values: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for s in &rows {
            for d in DIMS {
                if let Some(v) = s
                    .row
                    .get(d)
                    .and_then(|v| v.as_str())
                    .filter(|v| *v != "all")
                {
                    values.entry(d).or_default().insert(v.to_string());
                }
            }
        }
        for column in ADDITIVE {
            if column == "denominator" && indicator.ends_with("(per bed day)") {
                continue;
            }
            let mut ids = HashMap::new();
            let mut shown: HashSet<Vec<usize>> = HashSet::new();
            let mut withheld: BTreeMap<Vec<usize>, String> = BTreeMap::new();
            for s in &rows {
                if !s.row.contains_key(column) {
                    continue;
                }
                let p = pieces(k, s, &values, &mut ids);
                let reason = s.row.get("suppressed").and_then(|v| v.as_str());
                match (&s.row[column], reason) {
                    (Value::Number(_), _) => {
                        shown.insert(p);
                    }
                    (Value::Null, Some(r)) if SECRET.contains(&r) => {
                        withheld
                            .entry(p)
                            .or_insert_with(|| format!("{indicator}.{column} {:?}", s.row));
                    }
                    // Never arrived: known to add nothing.
                    (Value::Null, None) if p.len() == 1 => {
                        shown.insert(p);
                    }
                    _ => {}
                }
            }
            let shown: Vec<Vec<usize>> = shown.into_iter().collect();
            let targets: Vec<Vec<usize>> = withheld.keys().cloned().collect();
            tried += targets.len();
            for (d, t) in audit::determined(ids.len(), &shown, &targets)
                .into_iter()
                .zip(&targets)
            {
                if d {
                    found.push(withheld[t].clone());
                }
            }
        }
    }
    (tried, found)
}

/// Everything every non-analyst role is served, harvested once for the tests below.
fn everything_served() -> &'static (Vec<Served>, usize) {
    static SERVED: std::sync::OnceLock<(Vec<Served>, usize)> = std::sync::OnceLock::new();
    SERVED.get_or_init(|| {
        let mut served = Vec::new();
        let mut requests = 0;
        for role in [Role::Public, Role::Facilitator, Role::Leader] {
            let (s, n) = harvest(role);
            served.extend(s);
            requests += n;
        }
        (served, requests)
    })
}

#[test]
fn no_withheld_count_can_be_solved_from_everything_a_non_analyst_can_fetch() {
    let k = knowledge();
    let (served, requests) = everything_served();
    let requests = *requests;
    assert!(requests > 1000, "every combination fetched: {requests}");
    let (tried, found) = attack(&k, served);
    assert!(tried > 500, "the sample has many small cells: {tried}");
    assert!(
        found.is_empty(),
        "{} of {tried} withheld counts recovered, e.g. {:?}",
        found.len(),
        &found[..found.len().min(3)]
    );
}

/// The attack is strong enough to matter: on the same panel fetched at three grains as
/// an analyst and suppressed one response at a time (as ako did before its protected
/// view), it recovers withheld counts.
#[test]
fn the_attack_recovers_counts_from_responses_suppressed_one_at_a_time() {
    use ako::privacy::suppress::{self, Rules};
    use ako::table::{Cell, Table};
    let k = knowledge();
    let (s, t) = with_tokens();
    let mut served = Vec::new();
    for grain in ["month", "quarter", "year"] {
        let url = format!(
            "/api/dashboards/my-organisation/panels/my-rate?org=&grain={grain}&grouping=size"
        );
        let body = get(&s.url(&url), Some(&t.analyst)).json();
        let columns: Vec<String> = body["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        let mut table = Table {
            columns: columns.clone(),
            rows: body["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    columns
                        .iter()
                        .map(|c| match &r[c] {
                            Value::Number(n) if n.is_i64() => Cell::Int(n.as_i64().unwrap()),
                            Value::Number(n) => Cell::Float(n.as_f64().unwrap()),
                            Value::String(s) => Cell::Text(s.clone()),
                            _ => Cell::Null,
                        })
                        .collect()
                })
                .collect(),
        };
        let rules = Rules {
            bed_days: Some("denominator".into()),
            ..Rules::default()
        };
        suppress::suppress(&mut table, &rules);
        for r in 0..table.rows.len() {
            let row: BTreeMap<String, Value> = table
                .columns
                .iter()
                .zip(&table.rows[r])
                .map(|(c, cell)| (c.clone(), serde_json::to_value(cell).unwrap()))
                .collect();
            served.push(Served {
                indicator: "events_per_1000_bed_days".into(),
                grouping: "size".into(),
                row,
            });
        }
    }
    let (tried, found) = attack(&k, &served);
    assert!(tried > 100, "{tried}");
    assert!(
        found.len() > 10,
        "per-response suppression leaks: {} of {tried} recovered",
        found.len()
    );
}

/// The protected view narrows a wide run exactly as the indicator's SQL narrows it:
/// the same rows (by their dimensions) as running the indicator with `org` and
/// `practice` set, at every level.
#[test]
fn protected_rows_are_the_rows_the_indicator_returns_for_the_request() {
    use ako::dashboard::compute::Access;
    use ako::privacy::universe::row_key;
    let (s, _) = with_tokens();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let current = s.state.current();
    let indicator = s
        .state
        .settings
        .catalog
        .get("events_per_1000_bed_days")
        .unwrap();
    for (level, org, practice, grain, grouping) in [
        ("org", "CMH", "seclusion", "month", "size"),
        ("org", "", "physical_restraint", "quarter", "challenge"),
        ("peer_group", "CMH", "seclusion", "year", "challenge"),
        ("peer_group", "WCO", "all", "month", "size"),
        ("national", "CMH", "seclusion", "financial_year", "size"),
    ] {
        let params: Vec<(String, String)> = [
            ("level", level),
            ("org", org),
            ("practice", practice),
            ("grain", grain),
            ("grouping", grouping),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let (direct, protected) = rt.block_on(async {
            let cache = &s.state.cache;
            let source = &current.source;
            (
                cache.run(source, indicator, &params).await.unwrap(),
                cache
                    .fetch(source, indicator, &params, Access::Protected)
                    .await
                    .unwrap(),
            )
        });
        let keys = |t: &ako::table::Table| -> BTreeSet<Vec<String>> {
            t.rows.iter().map(|r| row_key(&t.columns, r)).collect()
        };
        assert!(!direct.rows.is_empty(), "{params:?}");
        assert_eq!(keys(&direct), keys(&protected), "{params:?}");
    }
}

/// Issue 10 section 2: a jurisdiction's total beside its organisations' coded rows says,
/// by subset sums, which peer codes are its members. Played on everything served: for
/// every jurisdiction total shown, no set of fewer than five coded rows of the same
/// indicator, period and practice adds up to it; and every bed-day denominator served
/// is rounded (two significant figures).
#[test]
fn no_served_total_names_a_small_jurisdiction_s_members_and_bed_days_are_rounded() {
    let (served, _) = everything_served();
    let text = |row: &BTreeMap<String, Value>, c: &str| {
        row.get(c)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    type Group = (String, String, String, String);
    let mut totals: BTreeMap<Group, Vec<(String, i64)>> = BTreeMap::new();
    let mut coded: BTreeMap<Group, BTreeMap<String, i64>> = BTreeMap::new();
    let mut rounded = 0;
    for s in served {
        let Some(n) = s.row.get("numerator").and_then(Value::as_i64) else {
            continue;
        };
        let group = (
            s.indicator.clone(),
            text(&s.row, "period"),
            text(&s.row, "practice"),
            text(&s.row, "ethnicity"),
        );
        let org = text(&s.row, "org_code");
        let jurisdiction = text(&s.row, "jurisdiction");
        if !org.is_empty() {
            coded.entry(group).or_default().insert(org, n);
        } else if !jurisdiction.is_empty() && text(&s.row, "peer_group").is_empty() {
            totals.entry(group).or_default().push((jurisdiction, n));
        }
        if s.indicator.ends_with("(per bed day)")
            && let Some(d) = s.row.get("denominator").and_then(Value::as_f64)
        {
            let digits = format!("{}", d as i64).trim_end_matches('0').len();
            assert!(digits <= 2, "bed days {d} served unrounded: {:?}", s.row);
            rounded += 1;
        }
    }
    assert!(rounded > 100, "bed-day rows served: {rounded}");
    let mut checked = 0;
    for (group, shown) in &totals {
        let Some(orgs) = coded.get(group) else {
            continue;
        };
        let values: Vec<i64> = orgs.values().copied().collect();
        for (jurisdiction, total) in shown {
            checked += 1;
            let mut matches = 0;
            // Subsets of one to four coded rows, by their indices in increasing order.
            let mut stack: Vec<(usize, usize, i64)> = vec![(0, 0, 0)];
            while let Some((next, size, sum)) = stack.pop() {
                if size > 0 && sum == *total {
                    matches += 1;
                }
                if size == 4 {
                    continue;
                }
                for (i, v) in values.iter().enumerate().skip(next) {
                    stack.push((i + 1, size + 1, sum + v));
                }
            }
            assert_eq!(
                matches, 0,
                "{group:?}: {jurisdiction}'s total {total} is the sum of {matches} small sets of coded rows"
            );
        }
    }
    assert!(
        checked > 0,
        "jurisdiction totals are served and were checked: totals {:?}, coded groups {:?}",
        totals.keys().take(5).collect::<Vec<_>>(),
        coded.keys().take(5).collect::<Vec<_>>()
    );
    // The sample's small jurisdictions are never served as totals.
    for shown in totals.values() {
        for (j, _) in shown {
            assert!(!matches!(j.as_str(), "NSW" | "QLD"), "{j} total served");
        }
    }
}
