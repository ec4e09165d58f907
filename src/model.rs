//! The episode data model: code sets, Arrow schemas of every lake table.
//!
//! Everything here is the **contract** of DESIGN.md section 3; other tools read these
//! columns by name, so renaming one is a breaking change.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// Declares a closed code set: the canonical lowercase codes the lake stores.
macro_rules! code_set {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every member, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical code stored in the lake.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// Parses a canonical code (exact, lowercase).
            pub fn parse(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

code_set!(
    /// Service setting of the unit where the episode happened.
    Setting {
        AdultInpatient => "adult_inpatient",
        YouthInpatient => "youth_inpatient",
        Forensic => "forensic",
        IntellectualDisability => "intellectual_disability",
        DisabilityResidential => "disability_residential",
    }
);

code_set!(
    /// The restrictive practice.
    Practice {
        Seclusion => "seclusion",
        PhysicalRestraint => "physical_restraint",
        MechanicalRestraint => "mechanical_restraint",
        ChemicalRestraint => "chemical_restraint",
        EnvironmentalRestraint => "environmental_restraint",
    }
);

code_set!(
    /// Sex as recorded.
    Sex { Female => "female", Male => "male", Another => "another", Unknown => "unknown" }
);

code_set!(
    /// Prioritised level-1 ethnicity (NZ HISO 10001 prioritisation).
    Ethnicity {
        Maori => "maori",
        Pacific => "pacific",
        Asian => "asian",
        Melaa => "melaa",
        European => "european",
        Other => "other",
        Unknown => "unknown",
    }
);

code_set!(
    /// Australian Indigenous status (ABS standard, METeOR 602543): Aboriginal,
    /// Torres Strait Islander, both, neither, or not stated / inadequately described.
    /// Australian organisations report this instead of NZ's prioritised ethnicity; the
    /// two code sets answer different questions and are never added together.
    IndigenousStatus {
        Aboriginal => "aboriginal",
        TorresStraitIslander => "torres_strait_islander",
        Both => "both",
        Neither => "neither",
        NotStated => "not_stated",
    }
);

impl IndigenousStatus {
    /// True for Aboriginal, Torres Strait Islander, or both: the AIHW's "Indigenous".
    pub fn is_indigenous(self) -> bool {
        matches!(
            self,
            IndigenousStatus::Aboriginal
                | IndigenousStatus::TorresStraitIslander
                | IndigenousStatus::Both
        )
    }
}

/// The population-group code set an organisation reports, which its jurisdiction decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupCodeSet {
    /// NZ prioritised level-1 ethnicity, in the `ethnicity` column.
    Ethnicity,
    /// Australian Indigenous status, in the `indigenous_status` column.
    IndigenousStatus,
}

impl GroupCodeSet {
    /// The column that carries this code set.
    pub fn column(self) -> &'static str {
        match self {
            GroupCodeSet::Ethnicity => col::ETHNICITY,
            GroupCodeSet::IndigenousStatus => col::INDIGENOUS_STATUS,
        }
    }

    /// The other code set's column, which this jurisdiction's rows must leave empty.
    pub fn other_column(self) -> &'static str {
        match self {
            GroupCodeSet::Ethnicity => col::INDIGENOUS_STATUS,
            GroupCodeSet::IndigenousStatus => col::ETHNICITY,
        }
    }

    /// What the code set is, in a sentence's words.
    pub fn describe(self) -> &'static str {
        match self {
            GroupCodeSet::Ethnicity => "prioritised ethnicity (New Zealand)",
            GroupCodeSet::IndigenousStatus => "Indigenous status (Australia)",
        }
    }
}

/// True for the two columns of which each jurisdiction reports exactly one.
pub fn is_group_column(column: &str) -> bool {
    matches!(column, col::ETHNICITY | col::INDIGENOUS_STATUS)
}

code_set!(
    /// Who authorised the practice.
    AuthorisedBy {
        AuthorisedDoctor => "authorised_doctor",
        CareManager => "care_manager",
        PractitionerInCharge => "practitioner_in_charge",
        Delegate => "delegate",
        None => "none",
    }
);

code_set!(
    /// Recorded reason for the practice.
    Reason { HarmToSelf => "harm_to_self", HarmToOthers => "harm_to_others", Property => "property", Other => "other" }
);

code_set!(
    /// Jurisdiction whose rules apply to an organisation.
    Jurisdiction { Nz => "NZ", Nsw => "NSW", Qld => "QLD" }
);

impl Jurisdiction {
    /// IANA time zone in which the jurisdiction's extracts and months are reckoned.
    pub fn time_zone(self) -> chrono_tz::Tz {
        match self {
            Jurisdiction::Nz => chrono_tz::Pacific::Auckland,
            Jurisdiction::Nsw => chrono_tz::Australia::Sydney,
            Jurisdiction::Qld => chrono_tz::Australia::Brisbane,
        }
    }

    /// The population-group code set its organisations report.
    pub fn group_code_set(self) -> GroupCodeSet {
        match self {
            Jurisdiction::Nz => GroupCodeSet::Ethnicity,
            Jurisdiction::Nsw | Jurisdiction::Qld => GroupCodeSet::IndigenousStatus,
        }
    }

    /// Why its rows may not fill the other code set's column, as extracts and reference
    /// tables are told.
    pub fn wrong_code_set(self) -> String {
        let code_set = self.group_code_set();
        format!(
            "{self} organisations report {}, not `{}`",
            code_set.describe(),
            code_set.other_column()
        )
    }
}

/// The 18 five-year age bands `00-04` … `80-84`, `85+`.
pub const AGE_BANDS: [&str; 18] = [
    "00-04", "05-09", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49",
    "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85+",
];

/// True when `band` is one of [`AGE_BANDS`].
pub fn is_age_band(band: &str) -> bool {
    AGE_BANDS.contains(&band)
}

/// Names of the episode columns, in lake order. The first 18 are supplied by an extract;
/// `jurisdiction`, `extract_id` and `month` are derived at ingest.
pub mod col {
    pub const ORG_CODE: &str = "org_code";
    pub const EPISODE_ID: &str = "episode_id";
    pub const PERSON_KEY: &str = "person_key";
    pub const UNIT_CODE: &str = "unit_code";
    pub const SETTING: &str = "setting";
    pub const PRACTICE: &str = "practice";
    pub const START_TIME: &str = "start_time";
    pub const END_TIME: &str = "end_time";
    pub const AGE_BAND: &str = "age_band";
    pub const MINOR: &str = "minor";
    pub const SEX: &str = "sex";
    pub const ETHNICITY: &str = "ethnicity";
    pub const INDIGENOUS_STATUS: &str = "indigenous_status";
    pub const LEGAL_STATUS: &str = "legal_status";
    pub const AUTHORISED_BY: &str = "authorised_by";
    pub const EMERGENCY: &str = "emergency";
    pub const MAX_OBS_GAP_MIN: &str = "max_obs_gap_min";
    pub const REASON: &str = "reason";
    pub const JURISDICTION: &str = "jurisdiction";
    pub const EXTRACT_ID: &str = "extract_id";
    pub const MONTH: &str = "month";
}

/// The episode columns an extract supplies, in canonical CSV order.
pub const EXTRACT_COLUMNS: [&str; 18] = [
    col::ORG_CODE,
    col::EPISODE_ID,
    col::PERSON_KEY,
    col::UNIT_CODE,
    col::SETTING,
    col::PRACTICE,
    col::START_TIME,
    col::END_TIME,
    col::AGE_BAND,
    col::MINOR,
    col::SEX,
    col::ETHNICITY,
    col::INDIGENOUS_STATUS,
    col::LEGAL_STATUS,
    col::AUTHORISED_BY,
    col::EMERGENCY,
    col::MAX_OBS_GAP_MIN,
    col::REASON,
];

/// Extract columns that may be empty: an ongoing episode has no end, and observation
/// gaps are recorded only for practices that are observed. Of `ethnicity` and
/// `indigenous_status` each row carries the one its jurisdiction reports.
pub fn is_optional(column: &str) -> bool {
    matches!(column, col::END_TIME | col::MAX_OBS_GAP_MIN) || is_group_column(column)
}

fn utc_micros() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Schema of the `episodes` lake table (**contract**), plus the derived `month`
/// (`YYYY-MM` of the start in the organisation's local time) that extract periods use.
pub fn episode_schema() -> SchemaRef {
    let s = |name: &str| Field::new(name, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        s(col::ORG_CODE),
        s(col::EPISODE_ID),
        s(col::PERSON_KEY),
        s(col::UNIT_CODE),
        s(col::SETTING),
        s(col::PRACTICE),
        Field::new(col::START_TIME, utc_micros(), false),
        Field::new(col::END_TIME, utc_micros(), true),
        s(col::AGE_BAND),
        Field::new(col::MINOR, DataType::Boolean, false),
        s(col::SEX),
        Field::new(col::ETHNICITY, DataType::Utf8, true),
        Field::new(col::INDIGENOUS_STATUS, DataType::Utf8, true),
        s(col::LEGAL_STATUS),
        s(col::AUTHORISED_BY),
        Field::new(col::EMERGENCY, DataType::Boolean, false),
        Field::new(col::MAX_OBS_GAP_MIN, DataType::Int32, true),
        s(col::REASON),
        s(col::JURISDICTION),
        s(col::EXTRACT_ID),
        s(col::MONTH),
    ]))
}

/// Schema of the `rejections` lake table: one row per refused row of an accepted file.
pub fn rejection_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("extract_id", DataType::Utf8, false),
        Field::new("file", DataType::Utf8, false),
        Field::new("org_code", DataType::Utf8, true),
        Field::new("line", DataType::Int64, false),
        Field::new("column", DataType::Utf8, true),
        Field::new("value", DataType::Utf8, true),
        Field::new("reason", DataType::Utf8, false),
        Field::new("message", DataType::Utf8, false),
    ]))
}

/// Schema of the `extracts` manifest: one row per file ingested. Its Delta version is
/// the **lake version**, and each row pins the table versions that file produced.
pub fn extract_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("extract_id", DataType::Utf8, false),
        Field::new("file", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("org_code", DataType::Utf8, true),
        Field::new("profile", DataType::Utf8, true),
        Field::new("period_from", DataType::Utf8, true),
        Field::new("period_to", DataType::Utf8, true),
        Field::new("rows_read", DataType::Int64, false),
        Field::new("rows_accepted", DataType::Int64, false),
        Field::new("rows_rejected", DataType::Int64, false),
        Field::new("ingested_at", utc_micros(), false),
        Field::new("table_name", DataType::Utf8, false),
        Field::new("table_version", DataType::Int64, false),
        Field::new("rejections_version", DataType::Int64, true),
    ]))
}

/// The reference tables, each loaded whole from `reference/<name>.csv` into
/// `<lake>/reference/<name>` (**contract**).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReferenceTable {
    Organisations,
    Population,
    InpatientActivity,
    /// Distinct inpatients per quarter and financial year, which monthly counts cannot
    /// be added into without counting people twice.
    InpatientsByPeriod,
    StandardPopulation,
    Submissions,
    ChangeIdeas,
}

impl ReferenceTable {
    /// Every reference table; `organisations` first because extracts are checked against it.
    pub const ALL: [ReferenceTable; 7] = [
        ReferenceTable::Organisations,
        ReferenceTable::Population,
        ReferenceTable::InpatientActivity,
        ReferenceTable::InpatientsByPeriod,
        ReferenceTable::StandardPopulation,
        ReferenceTable::Submissions,
        ReferenceTable::ChangeIdeas,
    ];

    /// Table name in the lake and in SQL, and the file stem it is loaded from.
    pub fn name(self) -> &'static str {
        match self {
            ReferenceTable::Organisations => "organisations",
            ReferenceTable::Population => "population",
            ReferenceTable::InpatientActivity => "inpatient_activity",
            ReferenceTable::InpatientsByPeriod => "inpatients_by_period",
            ReferenceTable::StandardPopulation => "standard_population",
            ReferenceTable::Submissions => "submissions",
            ReferenceTable::ChangeIdeas => "change_ideas",
        }
    }

    /// The table whose file stem is `stem`, if any.
    pub fn from_name(stem: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == stem)
    }

    /// Column names and types, in CSV header order.
    pub fn schema(self) -> SchemaRef {
        let s = |n: &str| Field::new(n, DataType::Utf8, false);
        let i = |n: &str| Field::new(n, DataType::Int64, false);
        // A row's population group: NZ rows give ethnicity, Australian rows Indigenous
        // status, never both (checked at load against the organisation's jurisdiction).
        let ethnicity = || Field::new(col::ETHNICITY, DataType::Utf8, true);
        let indigenous = || Field::new(col::INDIGENOUS_STATUS, DataType::Utf8, true);
        let fields = match self {
            ReferenceTable::Organisations => vec![
                s("org_code"),
                s("name"),
                s("jurisdiction"),
                s("region"),
                i("population"),
                i("beds"),
                Field::new("tags", DataType::Utf8, true),
            ],
            ReferenceTable::Population => vec![
                s("org_code"),
                i("year"),
                s("age_band"),
                s("sex"),
                ethnicity(),
                indigenous(),
                i("population"),
            ],
            ReferenceTable::InpatientActivity => vec![
                s("org_code"),
                s("month"),
                s("setting"),
                ethnicity(),
                indigenous(),
                i("people"),
                i("admissions"),
                i("bed_days"),
            ],
            ReferenceTable::InpatientsByPeriod => {
                vec![
                    s("org_code"),
                    s("period"),
                    ethnicity(),
                    indigenous(),
                    i("people"),
                ]
            }
            ReferenceTable::StandardPopulation => vec![
                s("standard"),
                s("age_band"),
                Field::new("weight", DataType::Float64, false),
            ],
            ReferenceTable::Submissions => vec![
                s("org_code"),
                s("month"),
                Field::new("due_date", DataType::Date32, false),
                Field::new("received_date", DataType::Date32, true),
            ],
            ReferenceTable::ChangeIdeas => vec![
                s("org_code"),
                Field::new("started", DataType::Date32, false),
                s("title"),
            ],
        };
        Arc::new(Schema::new(fields))
    }
}

/// A dated change idea (a PDSA cycle) an organisation started: what the QI team tried and
/// when, drawn on its charts and used to freeze an SPC baseline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeIdea {
    pub org_code: String,
    /// `YYYY-MM-DD`.
    pub started: String,
    pub title: String,
}
