//! The synthetic world: organisations shaped by real 2020/21 NZ DHB populations, a few
//! synthetic Australian services, and their reference tables.

use chrono::{Datelike, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::model::{AGE_BANDS, Jurisdiction, Setting};

/// DHB, code, population 2020/21, Māori population 2020/21 (Ministry of Health
/// projections, as in `shared/reference/nz_dhb_population_2020_21.csv`), and an
/// approximate Pacific share used only to shape synthetic data.
const NZ_DHBS: [(&str, &str, u32, u32, f64); 20] = [
    ("Auckland", "AKL", 507_370, 41_330, 0.11),
    ("Bay of Plenty", "BOP", 265_110, 68_690, 0.02),
    ("Canterbury", "CAN", 585_000, 58_270, 0.03),
    ("Capital and Coast", "CCD", 325_540, 38_640, 0.08),
    ("Counties Manukau", "CMH", 598_520, 97_470, 0.21),
    ("Hawkes Bay", "HBY", 179_050, 49_990, 0.04),
    ("Hutt", "HUT", 159_490, 28_690, 0.09),
    ("Lakes", "LKS", 118_000, 44_150, 0.03),
    ("MidCentral", "MCE", 187_840, 40_200, 0.03),
    ("Nelson Marlborough", "NLM", 161_610, 18_320, 0.02),
    ("Northland", "NTH", 195_290, 71_360, 0.02),
    ("South Canterbury", "SCA", 62_090, 5_790, 0.01),
    ("Southern", "SOU", 350_940, 38_190, 0.02),
    ("Tairawhiti", "TRW", 51_025, 27_800, 0.02),
    ("Taranaki", "TKI", 125_100, 26_050, 0.02),
    ("Waikato", "WKO", 440_240, 107_710, 0.03),
    ("Wairarapa", "WRP", 49_010, 9_050, 0.02),
    ("Waitemata", "WTM", 643_020, 64_910, 0.07),
    ("West Coast", "WCO", 32_395, 4_080, 0.01),
    ("Whanganui", "WNU", 68_740, 19_410, 0.03),
];

/// Synthetic Australian services so every jurisdiction's rules have data to judge.
/// Names are invented; no real service's figures are implied.
const AU_ORGS: [(&str, &str, Jurisdiction, u32, &str); 5] = [
    (
        "QLD-MN",
        "Brisbane North AMHS (synthetic)",
        Jurisdiction::Qld,
        1_050_000,
        "Metro North",
    ),
    (
        "QLD-GC",
        "Gold Coast AMHS (synthetic)",
        Jurisdiction::Qld,
        640_000,
        "Gold Coast",
    ),
    (
        "QLD-TV",
        "Townsville AMHS (synthetic)",
        Jurisdiction::Qld,
        250_000,
        "North Queensland",
    ),
    (
        "NSW-HD",
        "Harbour Disability Services (synthetic)",
        Jurisdiction::Nsw,
        180_000,
        "Sydney",
    ),
    (
        "NSW-RD",
        "Riverina Disability Supports (synthetic)",
        Jurisdiction::Nsw,
        90_000,
        "Riverina",
    ),
];

/// DHBs with a regional forensic service, a child and youth unit, or an intellectual
/// disability (ID(CCR)) secure service, and those counted rural.
const FORENSIC: [&str; 5] = ["WTM", "CCD", "CAN", "WKO", "SOU"];
const YOUTH: [&str; 3] = ["AKL", "CCD", "CAN"];
const IDCCR: [&str; 3] = ["CCD", "WTM", "CAN"];
/// Organisations exporting the vendor JSON Lines format.
const JSONL_EXPORTERS: [&str; 6] = ["HBY", "SCA", "TKI", "WNU", "NLM", "QLD-TV"];
const RURAL: [&str; 6] = ["WCO", "WRP", "SCA", "TRW", "WNU", "NLM"];

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
    Coded,
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
    pub tags: Vec<&'static str>,
    /// Beds by setting.
    pub beds: Vec<(Setting, u32)>,
    /// Seclusion events per 1,000 bed days for non-Māori, at the start.
    pub base_rate: f64,
    /// Māori : non-Māori rate ratio.
    pub maori_ratio: f64,
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
    let mut orgs = Vec::new();
    for (i, (name, code, pop, maori, pacific)) in NZ_DHBS.iter().enumerate() {
        let mut tags = Vec::new();
        let maori_share = f64::from(*maori) / f64::from(*pop);
        let mut beds = vec![(
            Setting::AdultInpatient,
            ((f64::from(*pop) * 0.85 / 10_000.0 * scale).round() as u32).max(6),
        )];
        if FORENSIC.contains(code) {
            tags.push("forensic_unit");
            beds.push((
                Setting::Forensic,
                ((f64::from(*pop) * 0.25 / 10_000.0 * scale).round() as u32).max(8),
            ));
        }
        if YOUTH.contains(code) {
            tags.push("youth_unit");
            beds.push((
                Setting::YouthInpatient,
                (8.0 * scale).round().max(4.0) as u32,
            ));
        }
        if IDCCR.contains(code) {
            tags.push("idccr_service");
            beds.push((
                Setting::IntellectualDisability,
                (6.0 * scale).round().max(3.0) as u32,
            ));
        }
        if maori_share >= 0.25 {
            tags.push("high_maori_share");
        }
        if RURAL.contains(code) {
            tags.push("rural");
        }
        // Smaller services export the verbose JSON Lines, keeping the sample small.
        let export = if JSONL_EXPORTERS.contains(code) {
            Export::Jsonl
        } else if i % 2 == 0 {
            Export::Coded
        } else {
            Export::Canonical
        };
        orgs.push(Org {
            code: (*code).into(),
            name: format!("{name} DHB"),
            jurisdiction: Jurisdiction::Nz,
            region: nz_region(code).into(),
            population: *pop,
            maori_share,
            pacific_share: *pacific,
            tags,
            beds,
            base_rate: 0.0,
            maori_ratio: 1.0,
            trend: Trend::Stable,
            export,
            missing: Vec::new(),
            late: Vec::new(),
        });
    }
    for (code, name, jurisdiction, pop, region) in AU_ORGS {
        let setting = if jurisdiction == Jurisdiction::Nsw {
            Setting::DisabilityResidential
        } else {
            Setting::AdultInpatient
        };
        let per_10k = if jurisdiction == Jurisdiction::Nsw {
            1.2
        } else {
            1.1
        };
        let mut beds = vec![(
            setting,
            ((f64::from(pop) * per_10k / 10_000.0 * scale).round() as u32).max(6),
        )];
        let mut tags = Vec::new();
        if code == "QLD-MN" {
            tags.push("forensic_unit");
            beds.push((Setting::Forensic, (20.0 * scale).round() as u32));
        }
        if code == "QLD-TV" || code == "NSW-RD" {
            tags.push("rural");
        }
        orgs.push(Org {
            code: code.into(),
            name: name.into(),
            jurisdiction,
            region: region.into(),
            population: pop,
            maori_share: 0.012,
            pacific_share: 0.01,
            tags,
            beds,
            base_rate: 0.0,
            maori_ratio: 1.0,
            trend: Trend::Stable,
            export: if JSONL_EXPORTERS.contains(&code) {
                Export::Jsonl
            } else {
                Export::Canonical
            },
            missing: Vec::new(),
            late: Vec::new(),
        });
    }

    // Rates: around the AIHW national range (about 6–9 seclusion events per 1,000 bed
    // days), with a few organisations far outside it.
    for org in &mut orgs {
        let z: f64 = rng.random_range(-1.0..1.0);
        org.base_rate = 7.0 * (0.35 * z).exp();
        org.maori_ratio = rng.random_range(1.6..3.6);
    }
    let find = |orgs: &mut Vec<Org>, code: &str| {
        orgs.iter()
            .position(|o| o.code == code)
            .expect("known code")
    };
    for (code, factor) in [("TRW", 3.2), ("LKS", 2.6), ("QLD-TV", 2.4), ("NLM", 0.25)] {
        let i = find(&mut orgs, code);
        orgs[i].base_rate *= factor;
    }
    // Trends. Improvers step down after a dated change idea (the collaborative's
    // positive deviants); a few get worse; the rest are stable.
    for (code, at) in [
        ("CMH", 0.45),
        ("HBY", 0.55),
        ("CAN", 0.40),
        ("QLD-GC", 0.5),
        ("NTH", 0.6),
    ] {
        let i = find(&mut orgs, code);
        orgs[i].trend = Trend::Improving {
            month_index: (months as f64 * at) as usize,
        };
    }
    for (code, pct) in [("WKO", 170), ("MCE", 160), ("SOU", 150)] {
        let i = find(&mut orgs, code);
        orgs[i].trend = Trend::Worsening { factor_pct: pct };
    }
    // Extracts that never arrived or arrived late.
    for (code, missing) in [
        ("WCO", vec![months / 3, months / 3 + 1]),
        ("TKI", vec![months - 5]),
        ("NSW-RD", vec![months / 2]),
    ] {
        let i = find(&mut orgs, code);
        orgs[i].missing = missing.into_iter().filter(|m| *m < months).collect();
    }
    for (code, late) in [
        ("WRP", vec![(2, 12), (9, 40)]),
        ("HUT", vec![(months / 2, 25)]),
        ("QLD-TV", vec![(5, 9)]),
    ] {
        let i = find(&mut orgs, code);
        orgs[i].late = late.into_iter().filter(|(m, _)| *m < months).collect();
    }
    orgs
}

fn nz_region(code: &str) -> &'static str {
    match code {
        "NTH" | "WTM" | "AKL" | "CMH" => "Northern",
        "WKO" | "LKS" | "BOP" | "TRW" | "TKI" => "Midland",
        "HBY" | "MCE" | "WNU" | "CCD" | "HUT" | "WRP" => "Central",
        _ => "South Island",
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

/// Population by year, age band, sex and ethnicity, growing 1% a year from 2020/21.
pub fn population_csv(orgs: &[Org], years: std::ops::RangeInclusive<i32>) -> String {
    let mut out = String::from("org_code,year,age_band,sex,ethnicity,population\n");
    for o in orgs {
        for year in years.clone() {
            let growth = 1.01f64.powi(year - 2021);
            for (eth, share) in ethnic_shares(o) {
                let ages = age_shares(matches!(eth, "maori" | "pacific"));
                for (band, age_share) in AGE_BANDS.iter().zip(ages) {
                    for (sex, sex_share) in [("female", 0.507), ("male", 0.493)] {
                        let n = (f64::from(o.population) * growth * share * age_share * sex_share)
                            .round();
                        out.push_str(&format!("{},{year},{band},{sex},{eth},{n}\n", o.code));
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
