//! Row validation: a raw record becomes a typed [`Episode`] or a [`RowRejection`]
//! naming the column, the value and why.

use std::borrow::Cow;

use chrono::{DateTime, Datelike, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::profile::{Profile, TimestampStyle, is_canonical_code};
use super::source::RawRecord;
use crate::model::{
    self, AuthorisedBy, EXTRACT_COLUMNS, Ethnicity, GroupCodeSet, IndigenousStatus, Jurisdiction,
    Practice, Reason, Setting, Sex, col,
};

/// Why a row was rejected (stored as the `reason` of the `rejections` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    MissingValue,
    BadTimestamp,
    EndBeforeStart,
    UnknownCode,
    BadBoolean,
    BadNumber,
    MalformedRecord,
    DuplicateEpisodeId,
    /// A population group in the other jurisdiction's code set (NZ ethnicity on an
    /// Australian row, or Indigenous status on a New Zealand one).
    WrongCodeSet,
}

impl RejectReason {
    /// The code stored in the lake.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::MissingValue => "missing_value",
            RejectReason::BadTimestamp => "bad_timestamp",
            RejectReason::EndBeforeStart => "end_before_start",
            RejectReason::UnknownCode => "unknown_code",
            RejectReason::BadBoolean => "bad_boolean",
            RejectReason::BadNumber => "bad_number",
            RejectReason::MalformedRecord => "malformed_record",
            RejectReason::DuplicateEpisodeId => "duplicate_episode_id",
            RejectReason::WrongCodeSet => "wrong_code_set",
        }
    }
}

/// A rejected row: where, what and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RowRejection {
    pub line: u64,
    /// The source column, as the file names it.
    pub column: Option<String>,
    pub value: Option<String>,
    pub reason: RejectReason,
    pub message: String,
}

/// A validated episode, as the lake stores it (derived columns added by the writer).
#[derive(Debug, Clone, PartialEq)]
pub struct Episode<'r> {
    // Borrowed from the record: owning them cost seven allocations a row, an eighth of
    // a 10 M-row ingest's time.
    pub org_code: &'r str,
    pub episode_id: &'r str,
    pub person_key: &'r str,
    pub unit_code: &'r str,
    pub setting: Setting,
    pub practice: Practice,
    pub start_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
    pub age_band: Cow<'r, str>,
    pub minor: bool,
    pub sex: Sex,
    /// NZ organisations' prioritised ethnicity (None in Australia).
    pub ethnicity: Option<Ethnicity>,
    /// Australian organisations' Indigenous status (None in New Zealand).
    pub indigenous_status: Option<IndigenousStatus>,
    pub legal_status: Cow<'r, str>,
    pub authorised_by: AuthorisedBy,
    pub emergency: bool,
    pub max_obs_gap_min: Option<i32>,
    pub reason: Reason,
    /// `YYYY-MM` of the start in the organisation's local time.
    pub month: Month,
}

/// A month as `YYYY-MM`, held without an allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    text: [u8; 16],
    len: u8,
}

impl Month {
    fn new(year: i32, month: u32) -> Month {
        use std::io::Write;
        let mut text = [0u8; 16];
        if let (Ok(y @ 0..=9999), 1..=12) = (u16::try_from(year), month) {
            let digit = |n: u32| b'0' + (n % 10) as u8;
            let y = u32::from(y);
            text[..7].copy_from_slice(&[
                digit(y / 1000),
                digit(y / 100),
                digit(y / 10),
                digit(y),
                b'-',
                digit(month / 10),
                digit(month),
            ]);
            return Month { text, len: 7 };
        }
        let mut rest = &mut text[..];
        write!(rest, "{year:04}-{month:02}").expect("a year and a month fit 16 bytes");
        let len = (16 - rest.len()) as u8;
        Month { text, len }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.text[..self.len as usize]).expect("digits and a dash")
    }
}

/// Validates records of one file for one organisation.
pub struct Validator<'a> {
    profile: &'a Profile,
    /// None until a row names the organisation; such a row is refused for that.
    jurisdiction: Option<Jurisdiction>,
    tz: Tz,
}

/// Longest value kept in a rejection, so a runaway cell cannot bloat the table.
const MAX_VALUE_CHARS: usize = 80;

/// The position of an extract column in a record. Asked some twenty times a row, so a
/// match (a length test, then mostly one comparison) rather than a search of the list.
fn idx(column: &str) -> usize {
    let i = match column {
        col::ORG_CODE => 0,
        col::EPISODE_ID => 1,
        col::PERSON_KEY => 2,
        col::UNIT_CODE => 3,
        col::SETTING => 4,
        col::PRACTICE => 5,
        col::START_TIME => 6,
        col::END_TIME => 7,
        col::AGE_BAND => 8,
        col::MINOR => 9,
        col::SEX => 10,
        col::ETHNICITY => 11,
        col::INDIGENOUS_STATUS => 12,
        col::LEGAL_STATUS => 13,
        col::AUTHORISED_BY => 14,
        col::EMERGENCY => 15,
        col::MAX_OBS_GAP_MIN => 16,
        col::REASON => 17,
        _ => unreachable!("not an extract column: {column}"),
    };
    debug_assert_eq!(EXTRACT_COLUMNS[i], column);
    i
}

impl<'a> Validator<'a> {
    /// A validator for records of an organisation of `jurisdiction`, whose time zone
    /// and population-group code set that decides.
    pub fn new(profile: &'a Profile, jurisdiction: Option<Jurisdiction>) -> Self {
        Validator {
            profile,
            jurisdiction,
            tz: jurisdiction.map_or(chrono_tz::UTC, Jurisdiction::time_zone),
        }
    }

    fn reject(
        &self,
        rec: &RawRecord,
        column: &str,
        reason: RejectReason,
        message: String,
    ) -> RowRejection {
        let value = rec
            .value(idx(column))
            .map(|v| v.chars().take(MAX_VALUE_CHARS).collect());
        RowRejection {
            line: rec.line,
            column: Some(self.profile.source_of(column).unwrap_or(column).to_string()),
            value,
            reason,
            message,
        }
    }

    fn required<'r>(&self, rec: &'r RawRecord, column: &str) -> Result<&'r str, RowRejection> {
        rec.value(idx(column)).ok_or_else(|| {
            self.reject(
                rec,
                column,
                RejectReason::MissingValue,
                format!("`{column}` is required"),
            )
        })
    }

    /// Maps a coded value through the profile's code table, or checks it is canonical.
    ///
    /// Borrowed where it can be (a code-table entry, a value already in lower case):
    /// this runs on nine columns of every row, and most values are canonical already.
    fn code<'r>(&'r self, rec: &'r RawRecord, column: &str) -> Result<Cow<'r, str>, RowRejection> {
        let raw = self.required(rec, column)?;
        if let Some(table) = self.profile.codes.get(column) {
            return table
                .get(raw)
                .map(|c| Cow::Borrowed(c.as_str()))
                .ok_or_else(|| {
                    self.reject(
                        rec,
                        column,
                        RejectReason::UnknownCode,
                        format!(
                            "`{raw}` is not in profile {}'s code table for {column}",
                            self.profile.name
                        ),
                    )
                });
        }
        let lower = if raw.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(raw.to_ascii_lowercase())
        } else {
            Cow::Borrowed(raw)
        };
        if is_canonical_code(column, &lower) {
            Ok(lower)
        } else {
            Err(self.reject(
                rec,
                column,
                RejectReason::UnknownCode,
                format!("`{raw}` is not a valid {column}"),
            ))
        }
    }

    fn timestamp(
        &self,
        rec: &RawRecord,
        column: &str,
        raw: &str,
    ) -> Result<DateTime<Utc>, RowRejection> {
        let bad = |why: String| self.reject(rec, column, RejectReason::BadTimestamp, why);
        match &self.profile.timestamps {
            TimestampStyle::Rfc3339 => DateTime::parse_from_rfc3339(raw)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    bad(format!(
                        "`{raw}` is not an RFC 3339 timestamp with offset: {e}"
                    ))
                }),
            TimestampStyle::Local { format } => {
                let naive = NaiveDateTime::parse_from_str(raw, format)
                    .map_err(|e| bad(format!("`{raw}` does not match `{format}`: {e}")))?;
                // In the autumn overlap the earlier instant is taken; a time in the spring
                // gap never happened and is refused rather than guessed.
                self.tz
                    .from_local_datetime(&naive)
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
                    .ok_or_else(|| {
                        bad(format!(
                            "`{raw}` does not exist in {} (daylight-saving gap)",
                            self.tz
                        ))
                    })
            }
        }
    }

    fn boolean(&self, rec: &RawRecord, column: &str) -> Result<bool, RowRejection> {
        let raw = self.required(rec, column)?;
        let b = &self.profile.booleans;
        if b.yes.iter().any(|y| y.eq_ignore_ascii_case(raw)) {
            Ok(true)
        } else if b.no.iter().any(|n| n.eq_ignore_ascii_case(raw)) {
            Ok(false)
        } else {
            Err(self.reject(
                rec,
                column,
                RejectReason::BadBoolean,
                format!("`{raw}` is not one of {:?} or {:?}", b.yes, b.no),
            ))
        }
    }

    /// Validates one record. The organisation has already been checked by the caller.
    pub fn episode<'r>(&'r self, rec: &'r RawRecord) -> Result<Episode<'r>, RowRejection> {
        let text = |column: &str| self.required(rec, column);
        let org_code = text(col::ORG_CODE)?;
        let episode_id = text(col::EPISODE_ID)?;
        let person_key = text(col::PERSON_KEY)?;
        let unit_code = text(col::UNIT_CODE)?;
        let setting = Setting::parse(&self.code(rec, col::SETTING)?).expect("checked code");
        let practice = Practice::parse(&self.code(rec, col::PRACTICE)?).expect("checked code");
        let start_raw = self.required(rec, col::START_TIME)?;
        let start_time = self.timestamp(rec, col::START_TIME, start_raw)?;
        let end_time = match rec.value(idx(col::END_TIME)) {
            None => None,
            Some(raw) => Some(self.timestamp(rec, col::END_TIME, raw)?),
        };
        if let Some(end) = end_time
            && end < start_time
        {
            return Err(self.reject(
                rec,
                col::END_TIME,
                RejectReason::EndBeforeStart,
                format!("end {end} is before start {start_time}"),
            ));
        }
        let age_band = self.code(rec, col::AGE_BAND)?;
        let minor = self.boolean(rec, col::MINOR)?;
        let sex = Sex::parse(&self.code(rec, col::SEX)?).expect("checked code");
        let Some(jurisdiction) = self.jurisdiction else {
            return Err(self.reject(
                rec,
                col::ORG_CODE,
                RejectReason::MissingValue,
                "`org_code` is required".into(),
            ));
        };
        let code_set = jurisdiction.group_code_set();
        let other = code_set.other_column();
        if rec.value(idx(other)).is_some() {
            return Err(self.reject(
                rec,
                other,
                RejectReason::WrongCodeSet,
                jurisdiction.wrong_code_set(),
            ));
        }
        let (ethnicity, indigenous_status) = match code_set {
            GroupCodeSet::Ethnicity => (
                Some(Ethnicity::parse(&self.code(rec, col::ETHNICITY)?).expect("checked code")),
                None,
            ),
            GroupCodeSet::IndigenousStatus => (
                None,
                Some(
                    IndigenousStatus::parse(&self.code(rec, col::INDIGENOUS_STATUS)?)
                        .expect("checked code"),
                ),
            ),
        };
        let legal_status = self.code(rec, col::LEGAL_STATUS)?;
        let authorised_by =
            AuthorisedBy::parse(&self.code(rec, col::AUTHORISED_BY)?).expect("checked code");
        let emergency = self.boolean(rec, col::EMERGENCY)?;
        let max_obs_gap_min = match rec.value(idx(col::MAX_OBS_GAP_MIN)) {
            None => None,
            Some(raw) => Some(raw.parse::<i32>().ok().filter(|m| *m >= 0).ok_or_else(|| {
                self.reject(
                    rec,
                    col::MAX_OBS_GAP_MIN,
                    RejectReason::BadNumber,
                    format!("`{raw}` is not a whole number of minutes ≥ 0"),
                )
            })?),
        };
        let reason = Reason::parse(&self.code(rec, col::REASON)?).expect("checked code");
        let local = start_time.with_timezone(&self.tz);
        let month = Month::new(local.year(), local.month());
        debug_assert!(model::is_age_band(&age_band));
        Ok(Episode {
            org_code,
            episode_id,
            person_key,
            unit_code,
            setting,
            practice,
            start_time,
            end_time,
            age_band,
            minor,
            sex,
            ethnicity,
            indigenous_status,
            legal_status,
            authorised_by,
            emergency,
            max_obs_gap_min,
            reason,
            month,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_reads_as_its_year_and_month() {
        assert_eq!(Month::new(2024, 3).as_str(), "2024-03");
        assert_eq!(Month::new(987, 12).as_str(), "0987-12");
        assert_eq!(Month::new(12345, 1).as_str(), "12345-01");
        assert_eq!(Month::new(-1, 1).as_str(), "-001-01");
    }

    #[test]
    fn every_extract_column_is_found_at_its_position() {
        for (i, column) in EXTRACT_COLUMNS.iter().enumerate() {
            assert_eq!(idx(column), i, "{column}");
        }
    }
}
