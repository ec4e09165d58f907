//! Simulates restrictive-practice episodes and inpatient activity month by month.
//!
//! Events are Poisson in occupied bed days, so rates per 1,000 bed days have the
//! variation real ones do; people recur within and across months, so "people secluded"
//! and "episodes per person" differ from event counts as they do in practice.

use chrono::{DateTime, Duration, NaiveDate, TimeZone};
use chrono_tz::Tz;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Normal, Poisson};

use super::world::{Org, Trend, days_in_month, month_start};
use crate::model::{
    AuthorisedBy, Ethnicity, GroupCodeSet, IndigenousStatus, Jurisdiction, Practice, Reason,
    Setting, Sex,
};

/// A person's population group, in their organisation's jurisdiction's code set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    /// NZ prioritised ethnicity.
    Ethnicity(Ethnicity),
    /// Australian Indigenous status.
    Indigenous(IndigenousStatus),
}

impl Group {
    pub fn ethnicity(self) -> Option<Ethnicity> {
        match self {
            Group::Ethnicity(e) => Some(e),
            Group::Indigenous(_) => None,
        }
    }

    pub fn indigenous_status(self) -> Option<IndigenousStatus> {
        match self {
            Group::Ethnicity(_) => None,
            Group::Indigenous(s) => Some(s),
        }
    }

    /// The `ethnicity` and `indigenous_status` cells of a reference-table row.
    pub fn cells(self) -> String {
        match self {
            Group::Ethnicity(e) => format!("{e},"),
            Group::Indigenous(s) => format!(",{s}"),
        }
    }
}

/// A synthetic person: a pseudonymous key and fixed attributes.
#[derive(Debug, Clone)]
pub struct Person {
    pub key: String,
    pub age_band: &'static str,
    pub minor: bool,
    pub sex: Sex,
    pub group: Group,
    /// End of this person's latest episode, so repeat seclusions can follow closely.
    last_end: Option<DateTime<Tz>>,
}

/// A synthetic episode, before it is written in some organisation's format.
#[derive(Debug, Clone)]
pub struct SimEpisode {
    pub episode_id: String,
    pub person: Person,
    pub unit_code: String,
    pub setting: Setting,
    pub practice: Practice,
    pub start: DateTime<Tz>,
    pub end: Option<DateTime<Tz>>,
    pub legal_status: &'static str,
    pub authorised_by: AuthorisedBy,
    pub emergency: bool,
    pub max_obs_gap_min: Option<i32>,
    pub reason: Reason,
    pub month_index: usize,
}

/// One row of `inpatient_activity`.
#[derive(Debug, Clone)]
pub struct Activity {
    pub month: String,
    pub setting: Setting,
    pub group: Group,
    pub people: u64,
    pub admissions: u64,
    pub bed_days: u64,
}

/// Share of occupied bed days by population group: Māori and Pacific people are admitted
/// far more than their population share, as in NZ mental health services, and Indigenous
/// Australians about 2.6 times theirs (the AIHW's admitted mental health care shows a
/// gap of this order); a few Australian stays have Indigenous status not stated.
fn inpatient_shares(org: &Org) -> Vec<(Group, f64)> {
    if org.jurisdiction.group_code_set() == GroupCodeSet::IndigenousStatus {
        let indigenous = (org.indigenous_share * 2.6).min(0.6);
        let not_stated = 0.03;
        return vec![
            (
                Group::Indigenous(IndigenousStatus::Aboriginal),
                indigenous * 0.91,
            ),
            (
                Group::Indigenous(IndigenousStatus::TorresStraitIslander),
                indigenous * 0.045,
            ),
            (
                Group::Indigenous(IndigenousStatus::Both),
                indigenous * 0.045,
            ),
            (
                Group::Indigenous(IndigenousStatus::Neither),
                1.0 - indigenous - not_stated,
            ),
            (Group::Indigenous(IndigenousStatus::NotStated), not_stated),
        ];
    }
    let maori = (org.maori_share * 1.7).min(0.8);
    let pacific = (org.pacific_share * 1.3).min(0.3);
    let asian = 0.04;
    let small = 0.01;
    let european = (1.0 - maori - pacific - asian - 3.0 * small).max(0.05);
    [
        (Ethnicity::Maori, maori),
        (Ethnicity::Pacific, pacific),
        (Ethnicity::Asian, asian),
        (Ethnicity::Melaa, small),
        (Ethnicity::European, european),
        (Ethnicity::Other, small),
        (Ethnicity::Unknown, small),
    ]
    .map(|(e, share)| (Group::Ethnicity(e), share))
    .to_vec()
}

/// Events per 1,000 bed days of each practice relative to seclusion.
fn relative_rate(practice: Practice, org: &Org, setting: Setting) -> f64 {
    let disability = setting == Setting::DisabilityResidential;
    match practice {
        Practice::Seclusion if disability => 0.25,
        Practice::Seclusion => 1.0,
        Practice::PhysicalRestraint => 1.3,
        Practice::MechanicalRestraint => match org.jurisdiction {
            Jurisdiction::Qld => 0.15,
            _ => 0.04,
        },
        Practice::ChemicalRestraint => 0.25,
        Practice::EnvironmentalRestraint if disability => 0.5,
        Practice::EnvironmentalRestraint => 0.06,
    }
}

fn trend_factor(trend: Trend, m: usize, months: usize) -> f64 {
    match trend {
        Trend::Stable => 1.0,
        Trend::Improving { month_index } if m >= month_index + 2 => 0.5,
        Trend::Improving { month_index } if m >= month_index => 0.75,
        Trend::Improving { .. } => 1.0,
        Trend::Worsening { factor_pct } => {
            1.0 + (f64::from(factor_pct) / 100.0 - 1.0) * m as f64 / (months.max(2) - 1) as f64
        }
    }
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, weighted: &[(T, f64)]) -> T {
    let total: f64 = weighted.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0.0..total);
    for (v, w) in weighted {
        if x < *w {
            return *v;
        }
        x -= w;
    }
    weighted.last().expect("non-empty").0
}

fn new_person(rng: &mut ChaCha8Rng, org: &Org, setting: Setting, group: Group) -> Person {
    let ages: &[(&'static str, f64)] = match setting {
        Setting::YouthInpatient => &[("10-14", 0.3), ("15-19", 0.7)],
        Setting::Forensic => &[
            ("20-24", 0.2),
            ("25-29", 0.25),
            ("30-34", 0.2),
            ("35-39", 0.15),
            ("40-44", 0.1),
            ("45-49", 0.1),
        ],
        Setting::DisabilityResidential => &[
            ("15-19", 0.08),
            ("20-24", 0.2),
            ("25-29", 0.2),
            ("30-34", 0.2),
            ("35-39", 0.12),
            ("40-44", 0.1),
            ("45-49", 0.1),
        ],
        Setting::IntellectualDisability => &[
            ("20-24", 0.3),
            ("25-29", 0.3),
            ("30-34", 0.2),
            ("35-39", 0.2),
        ],
        Setting::AdultInpatient => &[
            ("15-19", 0.04),
            ("20-24", 0.18),
            ("25-29", 0.18),
            ("30-34", 0.15),
            ("35-39", 0.12),
            ("40-44", 0.1),
            ("45-49", 0.08),
            ("50-54", 0.06),
            ("55-59", 0.04),
            ("60-64", 0.03),
            ("65-69", 0.02),
        ],
    };
    let age_band = pick(rng, ages);
    let minor = match (setting, age_band) {
        (_, "10-14") => true,
        (Setting::YouthInpatient, "15-19") => rng.random_bool(0.75),
        (Setting::DisabilityResidential, "15-19") => rng.random_bool(0.5),
        _ => false,
    };
    let sex = pick(
        rng,
        &[
            (Sex::Male, 0.62),
            (Sex::Female, 0.36),
            (Sex::Another, 0.01),
            (Sex::Unknown, 0.01),
        ],
    );
    Person {
        key: format!("{}-{:08X}", org.code, rng.random::<u32>()),
        age_band,
        minor,
        sex,
        group,
        last_end: None,
    }
}

fn legal_status(rng: &mut ChaCha8Rng, org: &Org, setting: Setting) -> &'static str {
    match (org.jurisdiction, setting) {
        (Jurisdiction::Nz, Setting::IntellectualDisability) => "idccr",
        (Jurisdiction::Nz, Setting::Forensic) => pick(
            rng,
            &[
                ("cpmip_special_patient", 0.6),
                ("mha_s30", 0.2),
                ("corrections_s45", 0.2),
            ],
        ),
        (Jurisdiction::Nz, Setting::YouthInpatient) => pick(
            rng,
            &[("mha_s30", 0.5), ("voluntary", 0.3), ("mha_s11", 0.2)],
        ),
        (Jurisdiction::Nz, _) => pick(
            rng,
            &[
                ("mha_s30", 0.5),
                ("mha_s11", 0.2),
                ("mha_s14", 0.1),
                ("mha_s29", 0.05),
                ("voluntary", 0.15),
            ],
        ),
        (Jurisdiction::Qld, Setting::Forensic) => "qld_forensic_order",
        (Jurisdiction::Qld, _) => pick(
            rng,
            &[
                ("qld_treatment_authority", 0.7),
                ("qld_emergency_examination", 0.25),
                ("qld_forensic_order", 0.05),
            ],
        ),
        (Jurisdiction::Nsw, _) => pick(
            rng,
            &[
                ("ndis_behaviour_support_plan", 0.8),
                ("guardianship_order", 0.2),
            ],
        ),
    }
}

fn authoriser(
    rng: &mut ChaCha8Rng,
    org: &Org,
    setting: Setting,
    practice: Practice,
    emergency: bool,
) -> AuthorisedBy {
    if practice == Practice::ChemicalRestraint {
        return AuthorisedBy::AuthorisedDoctor;
    }
    match (org.jurisdiction, setting, emergency) {
        (Jurisdiction::Nz, Setting::IntellectualDisability, false) => AuthorisedBy::CareManager,
        (Jurisdiction::Nz, Setting::IntellectualDisability, true) => AuthorisedBy::Delegate,
        (Jurisdiction::Nsw, _, _) => {
            if rng.random_bool(0.05) {
                AuthorisedBy::None
            } else {
                AuthorisedBy::PractitionerInCharge
            }
        }
        (_, _, true) => AuthorisedBy::PractitionerInCharge,
        (_, _, false) => AuthorisedBy::AuthorisedDoctor,
    }
}

/// Duration in minutes (None for chemical restraint, a point event).
fn duration_min(rng: &mut ChaCha8Rng, org: &Org, practice: Practice, emergency: bool) -> f64 {
    let (median, sigma): (f64, f64) = match practice {
        Practice::Seclusion if org.jurisdiction == Jurisdiction::Qld && emergency => (45.0, 0.5),
        Practice::Seclusion if org.jurisdiction == Jurisdiction::Qld => (120.0, 0.8),
        Practice::Seclusion => (210.0, 1.0),
        Practice::PhysicalRestraint => (8.0, 0.8),
        Practice::MechanicalRestraint => (40.0, 0.7),
        Practice::ChemicalRestraint => return 0.0,
        Practice::EnvironmentalRestraint => (120.0, 1.0),
    };
    LogNormal::new(median.ln(), sigma)
        .expect("valid lognormal")
        .sample(rng)
        .max(1.0)
}

/// The month an episode falls in.
struct Month<'a> {
    first: NaiveDate,
    days: i64,
    /// `YYYY-MM`.
    label: &'a str,
    index: usize,
    /// The last month of the period, when an episode may still be under way.
    last: bool,
}

/// One episode of `practice` for a person of `pool`, the `seq`th of its month.
fn episode(
    rng: &mut ChaCha8Rng,
    org: &Org,
    when: &Month,
    setting: Setting,
    practice: Practice,
    pool: &mut [Person],
    seq: u32,
) -> SimEpisode {
    let tz = org.jurisdiction.time_zone();
    // A few people account for many episodes: a small "frequent" slice of
    // the pool is drawn far more often.
    let idx = if rng.random_bool(0.35) {
        rng.random_range(0..pool.len().div_ceil(10))
    } else {
        rng.random_range(0..pool.len())
    };
    let emergency = rng.random_bool(0.12);
    let month_secs = when.days * 86_400;
    let mut begin = tz
        .from_local_datetime(&when.first.and_hms_opt(0, 0, 0).expect("midnight"))
        .earliest()
        .expect("midnight exists")
        + Duration::seconds(rng.random_range(0..month_secs));
    // Seclusion that resumes soon after it ended is a new episode (AIHW).
    if practice == Practice::Seclusion
        && let Some(prev) = pool[idx].last_end
        && prev.format("%Y-%m").to_string() == when.label
        && rng.random_bool(0.3)
    {
        begin = prev + Duration::minutes(rng.random_range(20..300));
    }
    let minutes = duration_min(rng, org, practice, emergency);
    let mut end = Some(begin + Duration::seconds((minutes * 60.0) as i64));
    if when.last && practice == Practice::Seclusion && rng.random_bool(0.02) {
        end = None; // still in seclusion when the extract was taken
    }
    let observed = matches!(
        practice,
        Practice::Seclusion | Practice::MechanicalRestraint
    );
    let max_obs_gap_min = observed.then(|| {
        if rng.random_bool(0.06) {
            rng.random_range(20..60)
        } else {
            pick(rng, &[(5, 0.2), (10, 0.35), (15, 0.45)])
        }
    });
    let reason = pick(
        rng,
        &[
            (Reason::HarmToOthers, 0.5),
            (Reason::HarmToSelf, 0.28),
            (Reason::Property, 0.12),
            (Reason::Other, 0.1),
        ],
    );
    let unit_code = format!(
        "{}-{}",
        org.code,
        match setting {
            Setting::AdultInpatient => "ACU1",
            Setting::YouthInpatient => "CYU1",
            Setting::Forensic => "FOR1",
            Setting::IntellectualDisability => "IDS1",
            Setting::DisabilityResidential => "RES1",
        }
    );
    pool[idx].last_end = end.or(Some(begin));
    SimEpisode {
        episode_id: format!("{}-{}-{seq:05}", org.code, when.first.format("%Y%m")),
        person: pool[idx].clone(),
        unit_code,
        setting,
        practice,
        start: begin,
        end,
        legal_status: legal_status(rng, org, setting),
        authorised_by: authoriser(rng, org, setting, practice, emergency),
        emergency,
        max_obs_gap_min,
        reason,
        month_index: when.index,
    }
}

/// Everything simulated for one organisation.
pub struct Simulated {
    pub episodes: Vec<SimEpisode>,
    pub activity: Vec<Activity>,
}

/// Simulates `months` months from `start` for `org`.
pub fn simulate(rng: &mut ChaCha8Rng, org: &Org, start: NaiveDate, months: usize) -> Simulated {
    let shares = inpatient_shares(org);
    let noise = Normal::new(0.0, 0.12).expect("valid normal");
    let mut pools: std::collections::HashMap<(Setting, Group), Vec<Person>> = Default::default();
    let mut episodes = Vec::new();
    let mut activity = Vec::new();
    for m in 0..months {
        let first = month_start(start, m);
        let days = days_in_month(start, m);
        let month = first.format("%Y-%m").to_string();
        let trend = trend_factor(org.trend, m, months);
        let mut seq = 0u32;
        for &(setting, beds) in &org.beds {
            let occupancy = rng.random_range(0.84..0.96);
            let bed_days_total = f64::from(beds) * days as f64 * occupancy;
            let los = match setting {
                Setting::Forensic
                | Setting::DisabilityResidential
                | Setting::IntellectualDisability => 30.0,
                Setting::YouthInpatient => 14.0,
                Setting::AdultInpatient => 16.0,
            };
            for &(group, share) in &shares {
                let bed_days = (bed_days_total * share).round();
                if bed_days < 1.0 {
                    continue;
                }
                let people = (bed_days / los).round().max(1.0);
                let admissions = if los >= 30.0 {
                    (people * 0.1).round()
                } else {
                    (people * 0.75).round()
                };
                activity.push(Activity {
                    month: month.clone(),
                    setting,
                    group,
                    people: people as u64,
                    admissions: admissions as u64,
                    bed_days: bed_days as u64,
                });
                let ethnic_factor = match group {
                    Group::Ethnicity(Ethnicity::Maori) => org.equity_ratio,
                    Group::Ethnicity(Ethnicity::Pacific) => 1.3,
                    Group::Indigenous(s) if s.is_indigenous() => org.equity_ratio,
                    _ => 1.0,
                };
                let pool_size = ((people * 3.0) as usize).max(4);
                let pool = pools.entry((setting, group)).or_default();
                while pool.len() < pool_size {
                    pool.push(new_person(rng, org, setting, group));
                }
                for &practice in Practice::ALL {
                    let rate = org.base_rate
                        * relative_rate(practice, org, setting)
                        * ethnic_factor
                        * trend
                        * f64::exp(noise.sample(rng));
                    let lambda = bed_days / 1000.0 * rate;
                    let n = if lambda > 0.0 {
                        Poisson::new(lambda).expect("valid lambda").sample(rng) as usize
                    } else {
                        0
                    };
                    for _ in 0..n {
                        seq += 1;
                        let when = Month {
                            first,
                            days,
                            label: &month,
                            index: m,
                            last: m + 1 == months,
                        };
                        episodes.push(episode(rng, org, &when, setting, practice, pool, seq));
                    }
                }
            }
        }
    }
    episodes.sort_by_key(|e| e.start);
    Simulated { episodes, activity }
}

/// Distinct inpatients of each population group in each quarter, calendar and financial year
/// (`inpatients_by_period`): those in hospital in the period's first month and those
/// admitted in its later months, at least the busiest month's and never more than the
/// months' sum; at least everyone secluded in the period. Derived from the monthly
/// activity without drawing again, so the rest of the sample is unchanged.
pub fn period_inpatients(sim: &Simulated) -> Vec<(String, Group, u64)> {
    use std::collections::{BTreeMap, BTreeSet};
    // (group, month) → (people, admissions), over settings.
    let mut monthly: BTreeMap<(Group, String), (u64, u64)> = BTreeMap::new();
    for a in &sim.activity {
        let e = monthly.entry((a.group, a.month.clone())).or_default();
        e.0 += a.people;
        e.1 += a.admissions;
    }
    use crate::period::{financial_year_of as financial_year, quarter_of as quarter};
    let year = |m: &str| m[..4].to_string();
    let mut secluded: BTreeMap<(Group, String), BTreeSet<&str>> = BTreeMap::new();
    for e in &sim.episodes {
        if e.practice != Practice::Seclusion {
            continue;
        }
        let month = e.start.format("%Y-%m").to_string();
        for period in [quarter(&month), year(&month), financial_year(&month)] {
            secluded
                .entry((e.person.group, period))
                .or_default()
                .insert(e.person.key.as_str());
        }
    }
    let mut out = Vec::new();
    for label in [&quarter as &dyn Fn(&str) -> String, &year, &financial_year] {
        // (group, period) → the months' (people, admissions), in order.
        let mut periods: BTreeMap<(Group, String), Vec<(u64, u64)>> = BTreeMap::new();
        for ((group, month), v) in &monthly {
            periods.entry((*group, label(month))).or_default().push(*v);
        }
        for ((group, period), months) in periods {
            let arrived: u64 = months.iter().skip(1).map(|m| m.1).sum();
            let busiest = months.iter().map(|m| m.0).max().unwrap_or(0);
            let all: u64 = months.iter().map(|m| m.0).sum();
            let secluded_here = secluded
                .get(&(group, period.clone()))
                .map_or(0, |s| s.len() as u64);
            let distinct = (months[0].0 + arrived)
                .clamp(busiest, all.max(busiest))
                .max(secluded_here);
            out.push((period, group, distinct));
        }
    }
    out
}
