//! The synthetic world: organisations shaped by real 2020/21 NZ DHB populations, a few
//! synthetic Australian services, and their reference tables.

use chrono::{Datelike, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::model::{AGE_BANDS, GroupCodeSet, IndigenousStatus, Jurisdiction, Setting};

/// The organisations, one a row: the 20 NZ DHBs with their real 2020/21 populations and
/// Māori populations (Ministry of Health projections, as in
/// `shared/reference/nz_dhb_population_2020_21.csv`) and an approximate Pacific share
/// used only to shape synthetic data; then five invented Australian services, so every
/// jurisdiction's rules have data to judge (no real service's figures are implied). Their
/// Indigenous population shares are invented, of the order of their regions' (about 2%
/// in the cities, 6–8% in the regional services), and shape synthetic data only.
/// `services` are the specialist units beyond adult beds; `export` the source format.
const ORGANISATIONS: &str = include_str!("organisations.csv");

/// One row of [`ORGANISATIONS`].
#[derive(Debug, serde::Deserialize)]
struct Row {
    code: String,
    name: String,
    jurisdiction: String,
    region: String,
    population: u32,
    maori_population: Option<u32>,
    pacific_share: Option<f64>,
    indigenous_share: Option<f64>,
    services: String,
    rural: String,
    export: String,
}

/// How an organisation's rate moves over the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    Stable,
    /// A step down from `month_index` on, after a dated change idea.
    Improving {
        month_index: usize,
    },
    /// A steady rise to `factor` × the starting rate by the end.
    Worsening {
        factor_pct: u32,
    },
}

/// The source format an organisation exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    Canonical,
    /// NZ national-collection codes.
    Coded,
    /// An Australian state collection's codes.
    AuCoded,
    Jsonl,
}

/// One synthetic organisation.
#[derive(Debug, Clone)]
pub struct Org {
    pub code: String,
    pub name: String,
    pub jurisdiction: Jurisdiction,
    pub region: String,
    pub population: u32,
    pub maori_share: f64,
    pub pacific_share: f64,
    /// Australian services: the Aboriginal and Torres Strait Islander share of the
    /// population served (0 in New Zealand).
    pub indigenous_share: f64,
    pub tags: Vec<&'static str>,
    /// Beds by setting.
    pub beds: Vec<(Setting, u32)>,
    /// Seclusion events per 1,000 bed days for non-Māori, at the start.
    pub base_rate: f64,
    /// Rate ratio of the jurisdiction's priority population to everyone else: Māori to
    /// non-Māori in New Zealand, Indigenous to non-Indigenous in Australia.
    pub equity_ratio: f64,
    pub trend: Trend,
    pub export: Export,
    /// Month indices whose extract never arrived, and those that arrived late (days).
    pub missing: Vec<usize>,
    pub late: Vec<(usize, i64)>,
}

impl Org {
    pub fn total_beds(&self) -> u32 {
        self.beds.iter().map(|(_, b)| b).sum()
    }
}

/// Age-band weights (percent) of a general population, and of a younger one.
const AGE_WEIGHTS: [f64; 18] = [
    6.0, 6.5, 6.7, 6.3, 6.6, 7.3, 7.2, 6.6, 6.0, 6.4, 6.3, 6.3, 5.8, 5.0, 4.3, 3.2, 2.0, 1.7,
];

/// Share of each age band for an ethnic group (Māori and Pacific populations are younger).
pub fn age_shares(young: bool) -> [f64; 18] {
    let mut w = AGE_WEIGHTS;
    if young {
        for (i, x) in w.iter_mut().enumerate() {
            *x *= if i < 5 {
                1.35
            } else if i >= 13 {
                0.45
            } else {
                1.0
            };
        }
    }
    let total: f64 = w.iter().sum();
    w.map(|x| x / total)
}

/// Ethnic shares of a population: (code, share), summing to 1.
pub fn ethnic_shares(org: &Org) -> Vec<(&'static str, f64)> {
    let asian = if ["AKL", "WTM", "CMH"].contains(&org.code.as_str()) {
        0.22
    } else {
        0.07
    };
    let (melaa, other) = (0.012, 0.01);
    let european = (1.0 - org.maori_share - org.pacific_share - asian - melaa - other).max(0.05);
    vec![
        ("maori", org.maori_share),
        ("pacific", org.pacific_share),
        ("asian", asian),
        ("melaa", melaa),
        ("european", european),
        ("other", other),
    ]
}

/// Builds the organisations. `months` is the number of months in the period.
pub fn organisations(rng: &mut ChaCha8Rng, months: usize, scale: f64) -> Vec<Org> {
    let mut orgs: Vec<Org> = csv::Reader::from_reader(ORGANISATIONS.as_bytes())
        .deserialize::<Row>()
        .map(|row| {
            org(
                row.expect("the bundled organisations table is valid"),
                scale,
            )
        })
        .collect();
    // Rates: around the AIHW national range (about 6–9 seclusion events per 1,000 bed
    // days), with a few organisations far outside it.
    for org in &mut orgs {
        let z: f64 = rng.random_range(-1.0..1.0);
        org.base_rate = 7.0 * (0.35 * z).exp();
        org.equity_ratio = rng.random_range(1.6..3.6);
    }
    scenario(&mut orgs, months);
    orgs
}

/// An organisation as its row describes it, before rates and trends are drawn.
fn org(row: Row, scale: f64) -> Org {
    let jurisdiction = Jurisdiction::parse(&row.jurisdiction).expect("a known jurisdiction");
    let pop = f64::from(row.population);
    let maori_share = row.maori_population.map_or(0.012, |m| f64::from(m) / pop);
    let services: Vec<&str> = row.services.split(';').filter(|s| !s.is_empty()).collect();
    let has = |s: &str| services.contains(&s);
    let beds_at =
        |per_10k: f64, least: u32| ((pop * per_10k / 10_000.0 * scale).round() as u32).max(least);
    let mut tags = Vec::new();
    let mut beds = Vec::new();
    if jurisdiction == Jurisdiction::Nz {
        beds.push((Setting::AdultInpatient, beds_at(0.85, 6)));
        if has("forensic") {
            tags.push("forensic_unit");
            beds.push((Setting::Forensic, beds_at(0.25, 8)));
        }
        if has("youth") {
            tags.push("youth_unit");
            beds.push((
                Setting::YouthInpatient,
                (8.0 * scale).round().max(4.0) as u32,
            ));
        }
        if has("idccr") {
            tags.push("idccr_service");
            beds.push((
                Setting::IntellectualDisability,
                (6.0 * scale).round().max(3.0) as u32,
            ));
        }
        if maori_share >= 0.25 {
            tags.push("high_maori_share");
        }
    } else if jurisdiction == Jurisdiction::Nsw {
        beds.push((Setting::DisabilityResidential, beds_at(1.2, 6)));
    } else {
        beds.push((Setting::AdultInpatient, beds_at(1.1, 6)));
        if has("forensic") {
            tags.push("forensic_unit");
            beds.push((Setting::Forensic, (20.0 * scale).round() as u32));
        }
    }
    if row.indigenous_share.is_some_and(|s| s >= 0.05) {
        tags.push("high_indigenous_share");
    }
    if row.rural == "yes" {
        tags.push("rural");
    }
    Org {
        code: row.code,
        name: row.name,
        jurisdiction,
        region: row.region,
        population: row.population,
        maori_share,
        pacific_share: row.pacific_share.unwrap_or(0.01),
        indigenous_share: row.indigenous_share.unwrap_or(0.0),
        tags,
        beds,
        base_rate: 0.0,
        equity_ratio: 1.0,
        trend: Trend::Stable,
        export: match row.export.as_str() {
            "jsonl" => Export::Jsonl,
            "coded" => Export::Coded,
            "au_coded" => Export::AuCoded,
            _ => Export::Canonical,
        },
        missing: Vec::new(),
        late: Vec::new(),
    }
}

/// What the sample is built to show: outliers, positive deviants (a step down after a
/// dated change idea), organisations getting worse, and extracts missing or late.
fn scenario(orgs: &mut [Org], months: usize) {
    fn at<'a>(orgs: &'a mut [Org], code: &str) -> &'a mut Org {
        orgs.iter_mut()
            .find(|o| o.code == code)
            .expect("known code")
    }
    for (code, factor) in [("TRW", 3.2), ("LKS", 2.6), ("QLD-TV", 2.4), ("NLM", 0.25)] {
        at(orgs, code).base_rate *= factor;
    }
    for (code, share) in [
        ("CMH", 0.45),
        ("HBY", 0.55),
        ("CAN", 0.40),
        ("QLD-GC", 0.5),
        ("NTH", 0.6),
    ] {
        at(orgs, code).trend = Trend::Improving {
            month_index: (months as f64 * share) as usize,
        };
    }
    for (code, pct) in [("WKO", 170), ("MCE", 160), ("SOU", 150)] {
        at(orgs, code).trend = Trend::Worsening { factor_pct: pct };
    }
    for (code, missing) in [
        ("WCO", vec![months / 3, months / 3 + 1]),
        ("TKI", vec![months - 5]),
        ("NSW-RD", vec![months / 2]),
    ] {
        at(orgs, code).missing = missing.into_iter().filter(|m| *m < months).collect();
    }
    for (code, late) in [
        ("WRP", vec![(2, 12), (9, 40)]),
        ("HUT", vec![(months / 2, 25)]),
        ("QLD-TV", vec![(5, 9)]),
    ] {
        at(orgs, code).late = late.into_iter().filter(|(m, _)| *m < months).collect();
    }
}

/// The first day of month `index` of a period starting at `start`.
pub fn month_start(start: NaiveDate, index: usize) -> NaiveDate {
    let m0 = start.year() * 12 + start.month0() as i32 + index as i32;
    NaiveDate::from_ymd_opt(m0 / 12, (m0 % 12) as u32 + 1, 1).expect("valid month")
}

/// Days in month `index`.
pub fn days_in_month(start: NaiveDate, index: usize) -> i64 {
    (month_start(start, index + 1) - month_start(start, index)).num_days()
}

/// The organisations reference table as CSV.
pub fn organisations_csv(orgs: &[Org]) -> String {
    let mut out = String::from("org_code,name,jurisdiction,region,population,beds,tags\n");
    for o in orgs {
        out.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            o.code,
            o.name,
            o.jurisdiction.as_str(),
            o.region,
            o.population,
            o.total_beds(),
            o.tags.join(";")
        ));
    }
    out
}

/// Population shares of an Australian service's catchment by Indigenous status, as the
/// ABS estimated resident population gives them (no "not stated": the ERP assigns
/// everyone), with the Indigenous population split as the 2021 Census found it (about
/// 91% Aboriginal, 4% Torres Strait Islander, 4% both).
pub fn indigenous_shares(org: &Org) -> Vec<(IndigenousStatus, f64)> {
    let i = org.indigenous_share;
    vec![
        (IndigenousStatus::Aboriginal, i * 0.914),
        (IndigenousStatus::TorresStraitIslander, i * 0.042),
        (IndigenousStatus::Both, i * 0.044),
        (IndigenousStatus::Neither, 1.0 - i),
    ]
}

/// Population by year, age band, sex and population group (ethnicity in New Zealand,
/// Indigenous status in Australia), growing 1% a year from 2020/21.
pub fn population_csv(orgs: &[Org], years: std::ops::RangeInclusive<i32>) -> String {
    let mut out =
        String::from("org_code,year,age_band,sex,ethnicity,indigenous_status,population\n");
    for o in orgs {
        // (ethnicity and Indigenous status cells, share, younger age structure)
        let groups: Vec<(String, f64, bool)> = match o.jurisdiction.group_code_set() {
            GroupCodeSet::Ethnicity => ethnic_shares(o)
                .into_iter()
                .map(|(e, share)| (format!("{e},"), share, matches!(e, "maori" | "pacific")))
                .collect(),
            GroupCodeSet::IndigenousStatus => indigenous_shares(o)
                .into_iter()
                .map(|(s, share)| (format!(",{s}"), share, s.is_indigenous()))
                .collect(),
        };
        for year in years.clone() {
            let growth = 1.01f64.powi(year - 2021);
            for (cells, share, young) in &groups {
                let ages = age_shares(*young);
                for (band, age_share) in AGE_BANDS.iter().zip(ages) {
                    for (sex, sex_share) in [("female", 0.507), ("male", 0.493)] {
                        let n = (f64::from(o.population) * growth * share * age_share * sex_share)
                            .round();
                        out.push_str(&format!("{},{year},{band},{sex},{cells},{n}\n", o.code));
                    }
                }
            }
        }
    }
    out
}

/// The European Standard Population 2013 in ako's age bands (85–89 and 90+ merged).
pub fn standard_population_csv() -> String {
    let weights = [
        5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000, 6500, 6000, 5500, 5000,
        4000, 2500, 2500,
    ];
    let mut out = String::from("standard,age_band,weight\n");
    for (band, w) in AGE_BANDS.iter().zip(weights) {
        out.push_str(&format!("esp2013,{band},{w}\n"));
    }
    out
}
