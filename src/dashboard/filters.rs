//! What each viewer may choose in a dashboard's filters: a leader is held to their own
//! organisation, a facilitator or the public choose peer codes and never see which one
//! a dashboard's default names, and every other value is held to what the indicators
//! declare or the data hold. The web layer only reads the query string and shows the
//! result.

use std::collections::BTreeMap;

use serde::Serialize;

use super::compute::{Choices, PanelData};
use super::{Dashboard, FilterKind};
use crate::catalog::{Catalog, Param};
use crate::privacy::{Pseudonyms, Role, Viewer};

/// A filter value the viewer may not choose, said so that they can choose another.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

/// What the choices are checked against.
pub struct Known<'a> {
    pub catalog: &'a Catalog,
    pub peers: &'a Pseudonyms,
    /// Calendar years with episodes, for the period filter.
    pub years: &'a [String],
}

/// A filter's choices as the viewer sees them: (value, label).
#[derive(Debug, Clone, Serialize)]
pub struct FilterView {
    pub name: String,
    pub kind: FilterKind,
    pub label: String,
    pub value: String,
    pub options: Vec<(String, String)>,
    /// A leader's organisation cannot be changed.
    pub locked: bool,
}

/// The first declaration of parameter `name` among the dashboard's indicators.
fn param<'a>(catalog: &'a Catalog, d: &Dashboard, name: &str) -> Option<&'a Param> {
    d.panels
        .iter()
        .filter_map(|p| catalog.get(&p.indicator).ok())
        .flat_map(|i| i.params.iter())
        .find(|p| p.name == name)
}

/// Reads filter values from the query string, holding each to what the viewer may
/// choose. Returns the internal choices (real organisation codes) and the filters as
/// the viewer sees them (peer codes).
pub fn choose(
    d: &Dashboard,
    known: &Known<'_>,
    viewer: &Viewer,
    query: &BTreeMap<String, String>,
) -> Result<(Choices, Vec<FilterView>), FilterError> {
    let mut choices = Choices::new();
    let mut views = Vec::new();
    let bad = FilterError;
    for f in &d.filters {
        let asked = query
            .get(&f.name)
            .cloned()
            .or_else(|| f.default.clone())
            .unwrap_or_default();
        let label = if f.label.is_empty() {
            f.name.clone()
        } else {
            f.label.clone()
        };
        let mut locked = false;
        let (value, shown, options): (String, String, Vec<(String, String)>) = match f.kind {
            FilterKind::Organisation => {
                let peers = known.peers;
                match viewer.role {
                    Role::Analyst => {
                        if !asked.is_empty() && peers.name(&asked).is_none() {
                            return Err(bad(format!("no organisation `{asked}`")));
                        }
                        let mut o = vec![(String::new(), "All organisations".to_string())];
                        o.extend(
                            peers
                                .orgs()
                                .map(|(c, n)| (c.to_string(), format!("{c} — {n}"))),
                        );
                        (asked.clone(), asked, o)
                    }
                    Role::Leader | Role::Participant => {
                        locked = true;
                        let own = viewer.org.clone().unwrap_or_default();
                        let name = peers.name(&own).unwrap_or("").to_string();
                        (
                            own.clone(),
                            own.clone(),
                            vec![(own.clone(), format!("{own} — {name}"))],
                        )
                    }
                    Role::Facilitator | Role::Public | Role::Moderator | Role::Advisor => {
                        let mut coded: Vec<(String, String)> = peers
                            .orgs()
                            .map(|(c, _)| (peers.label(viewer, c), c.to_string()))
                            .collect();
                        coded.sort();
                        // What a facilitator or the public asks for is a peer code.
                        // A dashboard's default names a real organisation; showing it
                        // selected would tell them which peer code it is, so they
                        // start from every organisation instead.
                        let from_file = !query.contains_key(&f.name);
                        let found = coded.iter().find(|(p, _)| *p == asked);
                        let (real, shown) = match found {
                            _ if asked.is_empty() || from_file => (String::new(), String::new()),
                            Some((p, c)) => (c.clone(), p.clone()),
                            None => return Err(bad(format!("no organisation `{asked}`"))),
                        };
                        let mut o = vec![(String::new(), "All organisations".to_string())];
                        o.extend(coded.iter().map(|(p, _)| (p.clone(), p.clone())));
                        (real, shown, o)
                    }
                }
            }
            FilterKind::Grain | FilterKind::Practice | FilterKind::Grouping => {
                let declared = param(known.catalog, d, &f.name);
                let allowed = declared.map(|p| p.allowed.clone()).unwrap_or_default();
                let value = if asked.is_empty() {
                    declared.map(|p| p.default.clone()).unwrap_or_default()
                } else {
                    asked
                };
                if !allowed.is_empty() && !allowed.contains(&value) {
                    return Err(bad(format!(
                        "{} must be one of {}, not `{value}`",
                        f.name,
                        allowed.join(", ")
                    )));
                }
                let o = allowed
                    .iter()
                    .map(|a| (a.clone(), a.replace('_', " ")))
                    .collect();
                (value.clone(), value, o)
            }
            FilterKind::Period => {
                if !asked.is_empty() && !known.years.contains(&asked) {
                    return Err(bad(format!("no data for the year `{asked}`")));
                }
                let mut o = vec![(String::new(), "All years".to_string())];
                o.extend(known.years.iter().map(|y| (y.clone(), format!("from {y}"))));
                (asked.clone(), asked, o)
            }
            FilterKind::PeerGroup | FilterKind::Ethnicity => {
                // Options come from the data (see `add_options`); a value is only ever
                // compared with cells, never placed in SQL.
                (
                    asked.clone(),
                    asked,
                    vec![(String::new(), "All".to_string())],
                )
            }
        };
        choices.insert(f.name.clone(), value);
        views.push(FilterView {
            name: f.name.clone(),
            kind: f.kind,
            label,
            value: shown,
            options,
            locked,
        });
    }
    Ok((choices, views))
}

/// Adds the values found in the data to row filters' options.
pub fn add_options(views: &mut [FilterView], data: &PanelData) {
    for v in views.iter_mut() {
        if let Some(values) = data.options.get(&v.name) {
            for value in values {
                if !v.options.iter().any(|(o, _)| o == value) {
                    v.options.push((value.clone(), value.replace('_', " ")));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn fixture() -> (Catalog, Dashboard, Pseudonyms) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let catalog = Catalog::load(&root.join("queries")).unwrap();
        let text = std::fs::read_to_string(root.join("dashboards/my-organisation.toml")).unwrap();
        let d = Dashboard::parse(
            Path::new("dashboards/my-organisation.toml"),
            &text,
            &catalog,
        )
        .unwrap();
        let orgs: Vec<(String, String)> = ["CMH", "AKL", "WKO"]
            .iter()
            .map(|c| (c.to_string(), format!("{c} health")))
            .collect();
        (catalog, d, Pseudonyms::new("k", &orgs))
    }

    fn query(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn each_role_chooses_what_it_may() {
        let (catalog, d, peers) = fixture();
        let years = vec!["2024".to_string()];
        let known = Known {
            catalog: &catalog,
            peers: &peers,
            years: &years,
        };
        // A leader is held to their own organisation whatever they ask for.
        let (choices, views) = choose(
            &d,
            &known,
            &Viewer::leader("WKO"),
            &query(&[("org", "AKL")]),
        )
        .unwrap();
        assert_eq!(choices["org"], "WKO");
        let org = views.iter().find(|v| v.name == "org").unwrap();
        assert!(org.locked);
        assert_eq!(
            org.options,
            [("WKO".to_string(), "WKO — WKO health".to_string())]
        );
        // The public start from every organisation, not the file's default (CMH), which
        // would tell them CMH's peer code; a peer code they choose reaches its
        // organisation, a real code does not.
        let public = Viewer::public();
        let (choices, views) = choose(&d, &known, &public, &query(&[])).unwrap();
        assert_eq!(choices["org"], "");
        let org = views.iter().find(|v| v.name == "org").unwrap();
        assert!(org.options.iter().all(|(v, _)| !v.contains("CMH")));
        let code = peers.label(&public, "AKL");
        let (choices, _) = choose(&d, &known, &public, &query(&[("org", &code)])).unwrap();
        assert_eq!(choices["org"], "AKL");
        assert!(choose(&d, &known, &public, &query(&[("org", "AKL")])).is_err());
        // Declared values only.
        let err = choose(&d, &known, &Viewer::analyst(), &query(&[("grain", "week")])).unwrap_err();
        assert!(err.0.contains("grain must be one of"), "{err}");
    }
}
