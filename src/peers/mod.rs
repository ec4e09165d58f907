//! Peer groups: organisations grouped not by geography but by size and by the challenges
//! they share, for benchmarking and for breakout groups in learning sessions. Every
//! organisation is in exactly one group of each grouping, with the reason why.

pub mod cluster;

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, CatalogError};
use crate::config::PeersConfig;
use crate::table::string_column;

/// The profile an organisation is grouped on (from `queries/peer_profile.sql`).
#[derive(Debug, Clone, PartialEq)]
pub struct OrgProfile {
    pub org_code: String,
    pub population: f64,
    pub tags: Vec<String>,
    /// Seclusion events per 1,000 bed days.
    pub rate: Option<f64>,
    /// Māori : non-Māori ratio of those rates.
    pub maori_ratio: Option<f64>,
    pub median_hours: Option<f64>,
    /// Yearly change of the monthly rate relative to its mean.
    pub trend_per_year: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Member {
    pub org_code: String,
    pub reason: String,
}

/// One group (**contract**: `{group, members: [{org_code, reason}]}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub group: String,
    pub members: Vec<Member>,
}

#[derive(Debug, thiserror::Error)]
pub enum PeersError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("reading organisation profiles: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    #[error("no organisations in the lake: ingest the reference tables first")]
    NoOrganisations,
    #[error("facilitator override for '{0}': no such organisation in the lake")]
    UnknownOverride(String),
}

fn floats(batch: &RecordBatch, name: &str) -> Result<Vec<Option<f64>>, PeersError> {
    let column = batch.column_by_name(name).ok_or_else(|| {
        datafusion::arrow::error::ArrowError::SchemaError(format!(
            "peer_profile has no column `{name}`"
        ))
    })?;
    let values = cast(column, &DataType::Float64)?;
    let values = values.as_primitive::<Float64Type>();
    Ok((0..values.len())
        .map(|i| {
            values
                .is_valid(i)
                .then(|| values.value(i))
                .filter(|v| v.is_finite())
        })
        .collect())
}

/// Organisation profiles from the catalogue's `peer_profile` indicator.
pub async fn profiles(
    ctx: &datafusion::prelude::SessionContext,
    catalog: &Catalog,
    months: i64,
) -> Result<Vec<OrgProfile>, PeersError> {
    let indicator = catalog.get("peer_profile")?;
    let batches = indicator
        .run(ctx, &[("months".to_string(), months.to_string())])
        .await?;
    let mut out = Vec::new();
    for b in &batches {
        let codes = string_column(b, "org_code")?;
        let tags_col = string_column(b, "tags")?;
        let (population, rate, ratio, median, trend) = (
            floats(b, "population")?,
            floats(b, "rate")?,
            floats(b, "maori_ratio")?,
            floats(b, "median_hours")?,
            floats(b, "trend_per_year")?,
        );
        for i in 0..b.num_rows() {
            let tags = if tags_col.is_valid(i) {
                tags_col
                    .value(i)
                    .split([';', ','])
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect()
            } else {
                Vec::new()
            };
            out.push(OrgProfile {
                org_code: codes.value(i).to_string(),
                population: population[i].unwrap_or(0.0),
                tags,
                rate: rate[i],
                // No Māori events (or no Māori bed days) gives no ratio, not a ratio of 0.
                maori_ratio: ratio[i].filter(|r| *r > 0.0),
                median_hours: median[i],
                trend_per_year: trend[i],
            });
        }
    }
    if out.is_empty() {
        return Err(PeersError::NoOrganisations);
    }
    out.sort_by(|a, b| a.org_code.cmp(&b.org_code));
    Ok(out)
}

fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Size bands by population served.
pub fn by_size(profiles: &[OrgProfile], config: &PeersConfig) -> Vec<Group> {
    let bands = &config.size_bands;
    let mut groups: Vec<Group> = bands
        .iter()
        .map(|b| Group {
            group: b.name.clone(),
            members: Vec::new(),
        })
        .collect();
    for p in profiles {
        let index = bands
            .iter()
            .position(|b| b.below.is_none_or(|below| p.population < below))
            .expect("the last band has no bound");
        let lower = index.checked_sub(1).and_then(|i| bands[i].below);
        let range = match (lower, bands[index].below) {
            (None, Some(hi)) => format!("under {}", thousands(hi)),
            (Some(lo), Some(hi)) => format!("{} to under {}", thousands(lo), thousands(hi)),
            (Some(lo), None) => format!("{} and over", thousands(lo)),
            (None, None) => "any size".to_string(),
        };
        groups[index].members.push(Member {
            org_code: p.org_code.clone(),
            reason: format!(
                "population served {}: {} ({range})",
                thousands(p.population),
                bands[index].name
            ),
        });
    }
    groups.retain(|g| !g.members.is_empty());
    groups
}

/// Tags named in the programme's shared challenges, with how a group name says them.
const TAG_WORDS: [(&str, &str); 6] = [
    ("forensic_unit", "forensic units"),
    ("youth_unit", "youth units"),
    ("high_maori_share", "high Māori share"),
    ("high_indigenous_share", "high Indigenous share"),
    ("rural", "rural"),
    ("idccr_service", "ID(CCR) services"),
];

/// The data features, with words for a group well above and well below the mean.
const FEATURES: [(&str, &str, &str); 4] = [
    ("rate", "higher seclusion rate", "lower seclusion rate"),
    (
        "maori_ratio",
        "wider Māori : non-Māori gap",
        "narrower Māori : non-Māori gap",
    ),
    ("median_hours", "longer seclusions", "shorter seclusions"),
    ("trend", "rising", "falling"),
];

/// A group's centroid must be this many SDs from the mean for its name to mention it.
const NAME_THRESHOLD: f64 = 0.5;

/// The result of the shared-challenge clustering.
#[derive(Debug, Clone, PartialEq)]
pub struct Challenge {
    pub groups: Vec<Group>,
    /// Number of groups chosen, and the mean silhouette that chose it.
    pub k: usize,
    pub silhouette: f64,
    /// The clustering's input, one row per organisation (for the record).
    pub features: Vec<String>,
}

fn raw_features(p: &OrgProfile) -> [Option<f64>; 4] {
    let log = |v: Option<f64>| v.filter(|v| *v > 0.0).map(f64::ln);
    [
        log(p.rate),
        log(p.maori_ratio),
        log(p.median_hours),
        p.trend_per_year.map(|t| t.clamp(-1.0, 1.0)),
    ]
}

/// Standardises each feature (mean 0, SD 1 across organisations); a missing value sits
/// at the mean, so it neither attracts nor repels.
fn standardise(raw: &[[Option<f64>; 4]]) -> Vec<[f64; 4]> {
    let mut out = vec![[0.0; 4]; raw.len()];
    for f in 0..4 {
        let present: Vec<f64> = raw.iter().filter_map(|r| r[f]).collect();
        if present.len() < 2 {
            continue;
        }
        let mean = present.iter().sum::<f64>() / present.len() as f64;
        let sd = (present.iter().map(|v| (v - mean).powi(2)).sum::<f64>()
            / (present.len() - 1) as f64)
            .sqrt();
        if sd == 0.0 {
            continue;
        }
        // Capped at ±2 SD so one extreme organisation does not set the groups alone.
        for (o, r) in out.iter_mut().zip(raw) {
            o[f] = r[f].map_or(0.0, |v| ((v - mean) / sd).clamp(-2.0, 2.0));
        }
    }
    out
}

fn signed(z: f64) -> String {
    format!("{}{:.1} SD", if z >= 0.0 { "+" } else { "−" }, z.abs())
}

/// Shared-challenge groups: Ward clustering of standardised indicators and tags.
pub fn by_challenge(profiles: &[OrgProfile], config: &PeersConfig) -> Challenge {
    let raw: Vec<[Option<f64>; 4]> = profiles.iter().map(raw_features).collect();
    let z = standardise(&raw);
    let tags: Vec<&str> = TAG_WORDS.iter().map(|(t, _)| *t).collect();
    let points: Vec<Vec<f64>> = profiles
        .iter()
        .zip(&z)
        .map(|(p, z)| {
            let mut v = z.to_vec();
            v.extend(tags.iter().map(|t| {
                if p.tags.iter().any(|pt| pt == t) {
                    config.tag_weight
                } else {
                    0.0
                }
            }));
            v
        })
        .collect();
    let (k, labels, silhouette) = cluster::choose(
        &points,
        config.min_challenge_groups,
        config.max_challenge_groups,
        config.min_group_size,
    );
    let mut groups = Vec::with_capacity(k);
    for label in 0..k {
        let rows: Vec<usize> = (0..profiles.len())
            .filter(|&i| labels[i] == label)
            .collect();
        let centre: Vec<f64> = (0..4)
            .map(|f| rows.iter().map(|&i| z[i][f]).sum::<f64>() / rows.len() as f64)
            .collect();
        let mut words: Vec<&str> = Vec::new();
        for (f, (_, high, low)) in FEATURES.iter().enumerate() {
            if centre[f] >= NAME_THRESHOLD {
                words.push(high);
            } else if centre[f] <= -NAME_THRESHOLD {
                words.push(low);
            }
        }
        for (tag, word) in TAG_WORDS {
            let share = rows
                .iter()
                .filter(|&&i| profiles[i].tags.iter().any(|t| t == tag))
                .count() as f64
                / rows.len() as f64;
            if share > 0.5 {
                words.push(word);
            }
        }
        let mut name = if words.is_empty() {
            "close to the national profile".to_string()
        } else {
            words.join(", ")
        };
        if let Some(first) = name.get(..1) {
            name = first.to_uppercase() + &name[1..];
        }
        let members = rows
            .iter()
            .map(|&i| {
                let p = &profiles[i];
                let mut parts = Vec::new();
                let value = [
                    p.rate.map(|v| format!("rate {v:.1} per 1,000 bed days")),
                    p.maori_ratio.map(|v| format!("Māori : non-Māori {v:.2}")),
                    p.median_hours.map(|v| format!("median seclusion {v:.1} h")),
                    p.trend_per_year
                        .map(|v| format!("trend {:+.0}% a year", v * 100.0)),
                ];
                for (f, v) in value.into_iter().enumerate() {
                    match v {
                        Some(text) => parts.push(format!("{text} ({})", signed(z[i][f]))),
                        None => parts.push(format!(
                            "no {} (taken as average)",
                            FEATURES[f].0.replace('_', " ")
                        )),
                    }
                }
                let tags = if p.tags.is_empty() {
                    "no tags".to_string()
                } else {
                    format!("tags: {}", p.tags.join(", "))
                };
                Member {
                    org_code: p.org_code.clone(),
                    reason: format!("{}; {tags}", parts.join(", ")),
                }
            })
            .collect();
        groups.push(Group {
            group: format!("C{}: {name}", label + 1),
            members,
        });
    }
    let features = profiles
        .iter()
        .zip(&points)
        .map(|(p, v)| {
            let values: Vec<String> = v.iter().map(|x| format!("{x:.3}")).collect();
            format!("{} {}", p.org_code, values.join(" "))
        })
        .collect();
    Challenge {
        groups,
        k,
        silhouette,
        features,
    }
}

/// Applies facilitator overrides to a grouping: each named organisation moves to the
/// group given (made if new), with the facilitator's note as its reason.
pub fn with_overrides(
    mut groups: Vec<Group>,
    config: &PeersConfig,
) -> Result<Vec<Group>, PeersError> {
    for (org, o) in &config.overrides {
        let from = groups
            .iter()
            .position(|g| g.members.iter().any(|m| &m.org_code == org))
            .ok_or_else(|| PeersError::UnknownOverride(org.clone()))?;
        let at = groups[from]
            .members
            .iter()
            .position(|m| &m.org_code == org)
            .expect("found above");
        let member = groups[from].members.remove(at);
        let note = if o.note.is_empty() {
            String::new()
        } else {
            format!(": {}", o.note)
        };
        let moved = Member {
            org_code: member.org_code,
            reason: format!(
                "placed by the facilitator (was in {}){note}",
                groups[from].group
            ),
        };
        match groups.iter().position(|g| g.group == o.group) {
            Some(to) => groups[to].members.push(moved),
            None => groups.push(Group {
                group: o.group.clone(),
                members: vec![moved],
            }),
        }
    }
    groups.retain(|g| !g.members.is_empty());
    for g in &mut groups {
        g.members.sort_by(|a, b| a.org_code.cmp(&b.org_code));
    }
    Ok(groups)
}

/// How organisations are grouped (**contract**: `size`, `challenge`, `config`, as
/// `ako peers --by` and `ako session create --grouping` name them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Grouping {
    /// Population served, in the configured size bands.
    Size,
    /// Clusters of organisations with similar indicators and tags.
    Challenge,
    /// The challenge groups with the facilitator's overrides from the configuration.
    Config,
}

impl Grouping {
    pub const ALL: [Grouping; 3] = [Grouping::Size, Grouping::Challenge, Grouping::Config];

    pub fn name(self) -> &'static str {
        match self {
            Grouping::Size => "size",
            Grouping::Challenge => "challenge",
            Grouping::Config => "config",
        }
    }

    pub fn parse(name: &str) -> Option<Grouping> {
        Self::ALL.into_iter().find(|g| g.name() == name)
    }
}

/// The groups of one grouping; for the clustered ones, how many groups the clustering
/// chose and their mean silhouette.
#[derive(Debug, Clone, PartialEq)]
pub struct Grouped {
    pub groups: Vec<Group>,
    pub clustering: Option<(usize, f64)>,
}

/// Groups `profiles` as `grouping` says.
pub fn group(
    profiles: &[OrgProfile],
    config: &PeersConfig,
    grouping: Grouping,
) -> Result<Grouped, PeersError> {
    if grouping == Grouping::Size {
        return Ok(Grouped {
            groups: by_size(profiles, config),
            clustering: None,
        });
    }
    let c = by_challenge(profiles, config);
    Ok(Grouped {
        groups: if grouping == Grouping::Config {
            with_overrides(c.groups, config)?
        } else {
            c.groups
        },
        clustering: Some((c.k, c.silhouette)),
    })
}

/// Each organisation's group in a grouping.
pub fn membership(groups: &[Group]) -> BTreeMap<String, String> {
    groups
        .iter()
        .flat_map(|g| {
            g.members
                .iter()
                .map(move |m| (m.org_code.clone(), g.group.clone()))
        })
        .collect()
}

/// The table every grouping is registered as for queries: `org_code`, `grouping` (`size`,
/// `challenge`, `config`), `peer_group`.
pub const TABLE: &str = "peer_groups";

/// Every grouping of the session's organisations, registered as the `peer_groups` table.
pub async fn register(
    ctx: &datafusion::prelude::SessionContext,
    catalog: &Catalog,
    config: &PeersConfig,
) -> Result<usize, PeersError> {
    use std::sync::Arc;
    let batch = batch(ctx, catalog, config).await?;
    let rows = batch.num_rows();
    let table = datafusion::datasource::MemTable::try_new(batch.schema(), vec![vec![batch]])
        .map_err(|e| datafusion::arrow::error::ArrowError::ExternalError(Box::new(e)))?;
    ctx.register_table(TABLE, Arc::new(table))
        .map_err(|e| datafusion::arrow::error::ArrowError::ExternalError(Box::new(e)))?;
    Ok(rows)
}

/// Every grouping of the session's organisations: `org_code`, `grouping`, `peer_group`.
pub async fn batch(
    ctx: &datafusion::prelude::SessionContext,
    catalog: &Catalog,
    config: &PeersConfig,
) -> Result<RecordBatch, PeersError> {
    use datafusion::arrow::array::StringBuilder;
    use datafusion::arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    let profiles = match profiles(ctx, catalog, config.profile_months).await {
        Ok(p) => p,
        Err(PeersError::NoOrganisations) => Vec::new(),
        Err(e) => return Err(e),
    };
    let challenge = by_challenge(&profiles, config).groups;
    let groupings = [
        (Grouping::Size.name(), by_size(&profiles, config)),
        (
            Grouping::Config.name(),
            with_overrides(challenge.clone(), config)?,
        ),
        (Grouping::Challenge.name(), challenge),
    ];
    let (mut org, mut grouping, mut group) = (
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
    );
    for (name, groups) in &groupings {
        for (code, g) in membership(groups) {
            org.append_value(code);
            grouping.append_value(name);
            group.append_value(g);
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("org_code", DataType::Utf8, false),
        Field::new("grouping", DataType::Utf8, false),
        Field::new("peer_group", DataType::Utf8, false),
    ]));
    Ok(RecordBatch::try_new(
        schema,
        vec![
            Arc::new(org.finish()),
            Arc::new(grouping.finish()),
            Arc::new(group.finish()),
        ],
    )?)
}
