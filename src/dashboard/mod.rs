//! Declarative dashboards (`dashboards/*.toml`): a title, an audience, filters bound as
//! indicator parameters or row filters (never spliced into SQL), and panels, each an
//! indicator from `queries/` with a chart kind. Loaded and checked at start-up so a typo
//! is an error naming the file and the field, not a broken page.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, Indicator};
use crate::privacy::Role;

pub mod compute;
pub mod filters;
pub mod reach;
pub mod view;

#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// How a filter offers and applies its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterKind {
    /// An organisation code (`org`); leaders are held to their own.
    Organisation,
    /// A peer group's name: keeps rows of that group.
    PeerGroup,
    /// The peer grouping (`size`, `challenge`, `config`).
    Grouping,
    /// Month, quarter or year.
    Grain,
    /// The first calendar year shown: keeps periods from it on.
    Period,
    /// A practice type.
    Practice,
    /// An ethnic group: keeps rows of it.
    Ethnicity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// The indicator parameter it sets, or the result column it filters on.
    pub name: String,
    pub kind: FilterKind,
    #[serde(default)]
    pub label: String,
    /// The value before anyone chooses; else the parameter's default, else everything.
    #[serde(default)]
    pub default: Option<String>,
}

pub use crate::chart::ChartKind;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Panel {
    pub id: String,
    pub title: String,
    pub indicator: String,
    pub chart: ChartKind,
    /// Fixed parameter values.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Filters this panel does not take (e.g. a ranking of every organisation ignores
    /// `org`).
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Fixed row filters: keeps rows whose column has this value (e.g. `{ jurisdiction =
    /// "NZ" }` for a national series).
    #[serde(default)]
    pub keep: BTreeMap<String, String>,
    /// Keeps the organisations in the same peer group as the `org` filter's one.
    #[serde(default)]
    pub peers_of_org: bool,
    /// SPC: `anhoej` (qicharts2) or `mdc` (Making Data Count, the default).
    #[serde(default)]
    pub convention: Option<crate::stats::spc::Convention>,
    /// SPC: `decrease` (lower is better, the default here), `increase` or `neutral`.
    #[serde(default)]
    pub direction: Option<crate::stats::spc::Direction>,
    /// Overlay: the same indicator with these parameters drawn as a comparison line
    /// (e.g. `{ level = "peer_group" }` for the peer group's pooled rate).
    #[serde(default)]
    pub compare: Option<BTreeMap<String, String>>,
    /// Equity trend: the column whose values are the lines.
    #[serde(default)]
    pub series: Option<String>,
    /// Table: the columns shown, in order (all if empty).
    #[serde(default)]
    pub columns: Vec<String>,
    /// Table: columns holding counts of people or events, suppressed when 1–5.
    #[serde(default)]
    pub counts: Vec<String>,
    /// Width of 12.
    #[serde(default = "default_width")]
    pub width: u8,
    /// A sentence under the title.
    #[serde(default)]
    pub note: String,
    /// What to say when the result has no rows.
    #[serde(default)]
    pub empty: Option<String>,
}

fn default_width() -> u8 {
    6
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    /// The file stem; URL slug.
    #[serde(default)]
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub audience: Vec<Role>,
    #[serde(default)]
    pub filters: Vec<Filter>,
    pub panels: Vec<Panel>,
}

/// Columns an indicator's result has beyond its SQL's own (ako adds them).
pub const ESTIMATE_COLUMNS: [&str; 5] =
    ["numerator", "denominator", "value", "lower_95", "upper_95"];

impl Dashboard {
    /// Whether `role` may open it (analysts open everything).
    pub fn open_to(&self, role: Role) -> bool {
        role == Role::Analyst || self.audience.contains(&role)
    }

    pub fn panel(&self, id: &str) -> Option<&Panel> {
        self.panels.iter().find(|p| p.id == id)
    }

    pub fn filter(&self, name: &str) -> Option<&Filter> {
        self.filters.iter().find(|f| f.name == name)
    }

    /// Parses and checks one file against the catalogue.
    pub fn parse(path: &Path, text: &str, catalog: &Catalog) -> Result<Dashboard, DashboardError> {
        let invalid = |message: String| DashboardError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let mut d: Dashboard = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        if d.id.is_empty() {
            d.id = stem.clone();
        } else if d.id != stem {
            return Err(invalid(format!(
                "id `{}` must equal the file name `{stem}`",
                d.id
            )));
        }
        if !d
            .id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(invalid(
                "the id (file name) must be lowercase letters, digits and -".into(),
            ));
        }
        if d.audience.is_empty() {
            return Err(invalid("audience names at least one role".into()));
        }
        if d.panels.is_empty() {
            return Err(invalid("a dashboard needs at least one [[panels]]".into()));
        }
        let mut names = BTreeSet::new();
        for f in &d.filters {
            if !names.insert(f.name.as_str()) {
                return Err(invalid(format!("filter `{}` is declared twice", f.name)));
            }
        }
        let mut ids = BTreeSet::new();
        for p in &d.panels {
            let at = |message: String| invalid(format!("panel `{}`: {message}", p.id));
            if !ids.insert(p.id.as_str()) {
                return Err(invalid(format!("panel id `{}` is used twice", p.id)));
            }
            if p.id.is_empty()
                || !p
                    .id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                return Err(at("ids are lowercase letters, digits and -".into()));
            }
            let indicator = catalog.get(&p.indicator).map_err(|e| at(e.to_string()))?;
            if p.chart.needs_estimate() && indicator.estimate.is_none() {
                return Err(at(format!(
                    "chart `{:?}` needs an indicator with value and interval; {} is a table",
                    p.chart, p.indicator
                )));
            }
            let fixed: Vec<(String, String)> = p
                .params
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            indicator.bind(&fixed).map_err(|e| at(e.to_string()))?;
            if let Some(compare) = &p.compare {
                let c: Vec<(String, String)> = compare
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                indicator
                    .bind(&c)
                    .map_err(|e| at(format!("compare: {e}")))?;
            }
            // Indicator panels are suppressed on numerator and denominator; a table's
            // counts must be named, or a leader would see its small cells.
            if !p.chart.needs_estimate()
                && p.counts.is_empty()
                && d.audience.iter().any(|r| *r != Role::Analyst)
            {
                return Err(at(format!(
                    "a table shown to {} names its count columns (`counts = [...]`) so that small cells are withheld",
                    d.audience
                        .iter()
                        .filter(|r| **r != Role::Analyst)
                        .map(|r| r.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            if !(1..=12).contains(&p.width) {
                return Err(at("width is 1 to 12".into()));
            }
            for name in &p.ignore {
                if d.filter(name).is_none() {
                    return Err(at(format!("ignores `{name}`, which is not a filter here")));
                }
            }
            if p.peers_of_org && d.filter("org").is_none() {
                return Err(at("peers_of_org needs an `org` filter".into()));
            }
        }
        for f in &d.filters {
            let used = d.panels.iter().any(|p| {
                !p.ignore.contains(&f.name)
                    && (catalog
                        .get(&p.indicator)
                        .is_ok_and(|i| i.params.iter().any(|q| q.name == f.name))
                        || f.kind.filters_rows())
            });
            if !used {
                return Err(invalid(format!(
                    "filter `{}` is a parameter of none of the panels' indicators",
                    f.name
                )));
            }
        }
        Ok(d)
    }

    /// Checks named columns against the columns a panel's result actually has.
    pub fn check_columns(&self, panel: &Panel, columns: &[String]) -> Result<(), String> {
        let has = |c: &str| columns.iter().any(|x| x == c);
        for c in panel
            .columns
            .iter()
            .chain(&panel.counts)
            .chain(&panel.series)
            .chain(panel.keep.keys())
        {
            if !has(c) {
                return Err(format!(
                    "panel `{}` names column `{c}`, which {} does not return (it returns {})",
                    panel.id,
                    panel.indicator,
                    columns.join(", ")
                ));
            }
        }
        Ok(())
    }
}

impl FilterKind {
    /// Whether the filter keeps rows of the result rather than setting a parameter.
    pub fn filters_rows(self) -> bool {
        matches!(
            self,
            FilterKind::PeerGroup | FilterKind::Period | FilterKind::Ethnicity
        )
    }
}

/// Every dashboard in a folder, in file-name order.
#[derive(Debug, Clone)]
pub struct Dashboards {
    pub list: Vec<Dashboard>,
}

impl Dashboards {
    pub fn load(dir: &Path, catalog: &Catalog) -> Result<Dashboards, DashboardError> {
        let io = |source| DashboardError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        let mut list = Vec::new();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|source| DashboardError::Io {
                path: path.clone(),
                source,
            })?;
            list.push(Dashboard::parse(&path, &text, catalog)?);
        }
        if list.is_empty() {
            return Err(DashboardError::Invalid {
                path: dir.to_path_buf(),
                message: "no dashboard files (*.toml)".into(),
            });
        }
        Ok(Dashboards { list })
    }

    pub fn get(&self, id: &str) -> Option<&Dashboard> {
        self.list.iter().find(|d| d.id == id)
    }
}

/// The `dashboards/` folder: `AKO_DASHBOARDS`, else `./dashboards`, else the source tree's.
pub fn default_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("AKO_DASHBOARDS") {
        return PathBuf::from(dir);
    }
    let local = PathBuf::from("dashboards");
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboards")
}

/// The indicator of a panel (checked at load).
pub fn indicator_of<'a>(catalog: &'a Catalog, panel: &Panel) -> &'a Indicator {
    catalog
        .get(&panel.indicator)
        .expect("checked when the dashboard loaded")
}

impl Panel {
    /// What the panel asks its chart to draw.
    pub fn chart_spec(&self) -> crate::chart::Spec<'_> {
        crate::chart::Spec {
            kind: self.chart,
            title: &self.title,
            wide: self.width > 6,
            empty: self.empty.as_deref(),
            convention: self.convention,
            direction: self.direction,
            series: self.series.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("queries")).unwrap()
    }

    fn parse(text: &str) -> Result<Dashboard, DashboardError> {
        Dashboard::parse(Path::new("dashboards/test.toml"), text, &catalog())
    }

    const PANEL: &str = "[[panels]]\nid = \"p\"\ntitle = \"T\"\n";

    #[test]
    fn mistakes_are_refused_naming_the_panel() {
        let ok = parse(&format!(
            "title = \"T\"\naudience = [\"leader\"]\n{PANEL}indicator = \"events_per_1000_bed_days\"\nchart = \"spc\"\n"
        ))
        .unwrap();
        assert_eq!(ok.id, "test");
        let cases = [
            ("events_per_100", "spc", "", "no indicator `events_per_100`"),
            (
                "compliance_by_org",
                "spc",
                "",
                "needs an indicator with value and interval",
            ),
            ("compliance_by_org", "table", "", "names its count columns"),
            (
                "events_per_1000_bed_days",
                "spc",
                "params = { grain = \"week\" }",
                "not one of month, quarter, year",
            ),
            (
                "events_per_1000_bed_days",
                "spc",
                "width = 13",
                "width is 1 to 12",
            ),
        ];
        for (indicator, chart, extra, message) in cases {
            let text = format!(
                "title = \"T\"\naudience = [\"leader\"]\n{PANEL}indicator = \"{indicator}\"\nchart = \"{chart}\"\n{extra}\n"
            );
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.starts_with("dashboards/test.toml: panel `p`"), "{err}");
            assert!(err.contains(message), "{err}");
        }
        // A table for analysts alone need not name its counts.
        parse(&format!(
            "title = \"T\"\naudience = [\"analyst\"]\n{PANEL}indicator = \"compliance_by_org\"\nchart = \"table\"\n"
        ))
        .unwrap();
        let twice = format!(
            "title = \"T\"\naudience = [\"analyst\"]\n{PANEL}indicator = \"compliance_by_org\"\nchart = \"table\"\n{PANEL}indicator = \"compliance_by_org\"\nchart = \"table\"\n"
        );
        assert!(
            parse(&twice)
                .unwrap_err()
                .to_string()
                .contains("used twice")
        );
    }

    #[test]
    fn spc_convention_and_direction_are_their_types() {
        let spc = |extra: &str| {
            parse(&format!(
                "title = \"T\"\naudience = [\"leader\"]\n{PANEL}indicator = \"events_per_1000_bed_days\"\nchart = \"spc\"\n{extra}\n"
            ))
        };
        let p = spc("convention = \"anhoej\"\ndirection = \"increase\"").unwrap();
        assert_eq!(
            p.panels[0].convention,
            Some(crate::stats::spc::Convention::Anhoej)
        );
        assert_eq!(
            p.panels[0].direction,
            Some(crate::stats::spc::Direction::Increase)
        );
        // A typo is refused when the file is read, not drawn with a default.
        for typo in ["convention = \"mcd\"", "direction = \"down\""] {
            let err = spc(typo).unwrap_err().to_string();
            assert!(err.contains("unknown variant"), "{err}");
        }
    }

    #[test]
    fn the_bundled_dashboards_load() {
        let d = Dashboards::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboards"),
            &catalog(),
        )
        .unwrap();
        assert_eq!(d.list.len(), 6);
    }
}
