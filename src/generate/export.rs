//! Writes simulated episodes in an organisation's own export format, by running its
//! source profile backwards, and spoils a small share of rows the way real extracts are
//! spoiled.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::episodes::SimEpisode;
use crate::ingest::profile::{Profile, SourceFormat, TimestampStyle};
use crate::model::{EXTRACT_COLUMNS, GroupCodeSet, col};

/// The kinds of bad row a real extract has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spoil {
    UnparseableDate,
    EndBeforeStart,
    UnknownCode,
    MissingValue,
}

/// How timestamps are rendered for an RFC 3339 profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Local time with its offset (`+13:00`).
    LocalOffset,
    /// UTC with `Z`.
    Utc,
}

fn idx(column: &str) -> usize {
    EXTRACT_COLUMNS
        .iter()
        .position(|c| *c == column)
        .expect("extract column")
}

/// An episode's values in `profile`'s spelling, in [`EXTRACT_COLUMNS`] order.
pub fn encode(
    e: &SimEpisode,
    org_code: &str,
    profile: &Profile,
    clock: Clock,
) -> Vec<Option<String>> {
    // canonical → source code, for each coded column
    let reverse: BTreeMap<&str, BTreeMap<&str, &str>> = profile
        .codes
        .iter()
        .map(|(column, table)| {
            (
                column.as_str(),
                table
                    .iter()
                    .map(|(s, c)| (c.as_str(), s.as_str()))
                    .collect(),
            )
        })
        .collect();
    let code = |column: &str, canonical: &str| -> String {
        reverse
            .get(column)
            .and_then(|t| t.get(canonical))
            .map_or_else(|| canonical.to_string(), |s| (*s).to_string())
    };
    let time = |t: &DateTime<Tz>| -> String {
        match (&profile.timestamps, clock) {
            (TimestampStyle::Local { format }, _) => t.format(format).to_string(),
            (TimestampStyle::Rfc3339, Clock::LocalOffset) => {
                t.to_rfc3339_opts(SecondsFormat::Secs, false)
            }
            (TimestampStyle::Rfc3339, Clock::Utc) => t
                .with_timezone(&Utc)
                .to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    };
    let boolean = |b: bool| {
        if b {
            profile.booleans.yes[0].clone()
        } else {
            profile.booleans.no[0].clone()
        }
    };
    let p = &e.person;
    let values: [(&str, Option<String>); 18] = [
        (col::ORG_CODE, Some(org_code.to_string())),
        (col::EPISODE_ID, Some(e.episode_id.clone())),
        (col::PERSON_KEY, Some(p.key.clone())),
        (col::UNIT_CODE, Some(e.unit_code.clone())),
        (col::SETTING, Some(code(col::SETTING, e.setting.as_str()))),
        (
            col::PRACTICE,
            Some(code(col::PRACTICE, e.practice.as_str())),
        ),
        (col::START_TIME, Some(time(&e.start))),
        (col::END_TIME, e.end.as_ref().map(time)),
        (col::AGE_BAND, Some(code(col::AGE_BAND, p.age_band))),
        (col::MINOR, Some(boolean(p.minor))),
        (col::SEX, Some(code(col::SEX, p.sex.as_str()))),
        (
            col::ETHNICITY,
            p.group
                .ethnicity()
                .map(|e| code(col::ETHNICITY, e.as_str())),
        ),
        (
            col::INDIGENOUS_STATUS,
            p.group
                .indigenous_status()
                .map(|s| code(col::INDIGENOUS_STATUS, s.as_str())),
        ),
        (
            col::LEGAL_STATUS,
            Some(code(col::LEGAL_STATUS, e.legal_status)),
        ),
        (
            col::AUTHORISED_BY,
            Some(code(col::AUTHORISED_BY, e.authorised_by.as_str())),
        ),
        (col::EMERGENCY, Some(boolean(e.emergency))),
        (
            col::MAX_OBS_GAP_MIN,
            e.max_obs_gap_min.map(|m| m.to_string()),
        ),
        (col::REASON, Some(code(col::REASON, e.reason.as_str()))),
    ];
    debug_assert!(
        values
            .iter()
            .enumerate()
            .all(|(i, (c, _))| EXTRACT_COLUMNS[i] == *c)
    );
    values.into_iter().map(|(_, v)| v).collect()
}

/// Spoils a row in place; returns the kind applied.
pub fn spoil(rng: &mut ChaCha8Rng, values: &mut [Option<String>]) -> Spoil {
    let kind = match rng.random_range(0..4) {
        0 => Spoil::UnparseableDate,
        1 if values[idx(col::END_TIME)].is_some() => Spoil::EndBeforeStart,
        1 | 2 => Spoil::UnknownCode,
        _ => Spoil::MissingValue,
    };
    match kind {
        Spoil::UnparseableDate => values[idx(col::START_TIME)] = Some("31/02/2023 25:61".into()),
        Spoil::EndBeforeStart => values.swap(idx(col::START_TIME), idx(col::END_TIME)),
        Spoil::UnknownCode => values[idx(col::PRACTICE)] = Some("ZZ".into()),
        Spoil::MissingValue => values[idx(col::PERSON_KEY)] = None,
    }
    // Swapping equal start and end would not be a bad row; make it one.
    if kind == Spoil::EndBeforeStart && values[idx(col::START_TIME)] == values[idx(col::END_TIME)] {
        values[idx(col::PRACTICE)] = Some("ZZ".into());
        return Spoil::UnknownCode;
    }
    kind
}

/// Accumulates one extract file's text.
pub struct ExtractWriter<'p> {
    /// The episode columns written: those the profile maps, less the population-group
    /// column of the other jurisdiction's code set.
    columns: Vec<(&'static str, &'p str)>,
    out: Vec<u8>,
    csv: Option<csv::Writer<Vec<u8>>>,
}

impl<'p> ExtractWriter<'p> {
    /// A writer for an organisation reporting population groups in `code_set`.
    pub fn new(profile: &'p Profile, code_set: GroupCodeSet) -> Self {
        let columns: Vec<(&'static str, &'p str)> = EXTRACT_COLUMNS
            .iter()
            .zip(profile.source_columns())
            .filter(|(c, _)| **c != code_set.other_column())
            .filter_map(|(c, s)| s.map(|s| (*c, s)))
            .collect();
        let csv = (profile.format == SourceFormat::Csv).then(|| {
            let mut w = csv::WriterBuilder::new()
                .delimiter(profile.delimiter as u8)
                .from_writer(Vec::new());
            w.write_record(columns.iter().map(|(_, s)| s))
                .expect("write to memory");
            w
        });
        ExtractWriter {
            columns,
            out: Vec::new(),
            csv,
        }
    }

    /// Appends one row of values in [`EXTRACT_COLUMNS`] order.
    pub fn push(&mut self, values: &[Option<String>]) {
        let cells = self.columns.iter().map(|(c, _)| &values[idx(c)]);
        match &mut self.csv {
            Some(w) => {
                w.write_record(cells.map(|v| v.as_deref().unwrap_or("")))
                    .expect("write to memory");
            }
            None => {
                let mut root = serde_json::Map::new();
                for ((column, source), value) in self.columns.iter().zip(cells) {
                    let json = match (column, value) {
                        (_, None) => serde_json::Value::Null,
                        (&col::MINOR | &col::EMERGENCY, Some(v)) if v == "true" || v == "false" => {
                            serde_json::Value::Bool(v == "true")
                        }
                        (&col::MAX_OBS_GAP_MIN, Some(v)) => v
                            .parse::<i64>()
                            .map_or_else(|_| serde_json::Value::String(v.clone()), Into::into),
                        (_, Some(v)) => serde_json::Value::String(v.clone()),
                    };
                    insert_path(&mut root, source, json);
                }
                serde_json::to_writer(&mut self.out, &root).expect("write to memory");
                self.out.push(b'\n');
            }
        }
    }

    /// The file's bytes.
    pub fn finish(self) -> Vec<u8> {
        match self.csv {
            Some(w) => w.into_inner().expect("flush to memory"),
            None => self.out,
        }
    }
}

fn insert_path(
    root: &mut serde_json::Map<String, serde_json::Value>,
    path: &str,
    value: serde_json::Value,
) {
    match path.split_once('.') {
        None => {
            root.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let child = root
                .entry(head.to_string())
                .or_insert_with(|| serde_json::Value::Object(Default::default()));
            if let serde_json::Value::Object(map) = child {
                insert_path(map, rest, value);
            }
        }
    }
}
