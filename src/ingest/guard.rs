//! Refuses identifiable data before anything reaches the lake.
//!
//! Three tests, run on every file ako reads (extracts, reference tables, analysts'
//! tables): a column whose name says it holds identity (nhi, name, dob, …); any value
//! that is a *valid* NHI number, however it is written; any value that looks like a date
//! of birth. Text is normalised first (Unicode NFKC, so full-width digits are digits,
//! and look-alike letters from other scripts folded to Latin) so that a name that only
//! looks different is not a different name.
//!
//! Only values whose check character verifies are treated as NHIs, so that ward or batch
//! codes which merely look like one (three letters, four digits) are not refused.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;
use unicode_security::confusable_detection::skeleton;

/// Whole words of a column name that mark it as identifying.
const IDENTIFYING_WORDS: &[&str] = &[
    "nhi",
    "nhis",
    "nhino",
    "nhinumber",
    "name",
    "names",
    "fullname",
    "firstname",
    "forename",
    "forenames",
    "givenname",
    "givennames",
    "middlename",
    "maidenname",
    "preferredname",
    "surname",
    "lastname",
    "familyname",
    "ingoa", // te reo Māori: name
    "initials",
    "dob",
    "dateofbirth",
    "birthdate",
    "birthday",
    "birth",
    "born",
    "address",
    "addr",
    "streetaddress",
    "homeaddress",
    "street",
    "email",
    "emailaddress",
    "phone",
    "phonenumber",
    "telephone",
    "cellphone",
];

/// Words that make a following `name` the name of a thing, not a person
/// (`unit_name`, `ward name`, `OrgName`).
const THING_QUALIFIERS: &[&str] = &[
    "unit",
    "ward",
    "facility",
    "org",
    "organisation",
    "organization",
    "service",
    "team",
    "site",
    "hospital",
    "dhb",
    "provider",
    "rule",
    "practice",
    "file",
    "profile",
    "setting",
    "act",
    "legal",
    "code",
    "idea",
    "region",
    "jurisdiction",
    "district",
    "group",
    "indicator",
    "drug",
    "medication",
    "medicine",
    "programme",
    "program",
    "project",
    "table",
    "column",
    "field",
];

/// Runs of a name written without separators that still say what it holds
/// (`patientname`, `clientnhi`, `birthdt`).
const IDENTIFYING_INFIXES: &[&str] = &[
    "dateofbirth",
    "birthdate",
    "birthdt",
    "patientname",
    "clientname",
    "personname",
    "consumername",
    "tangataname",
    "fullname",
    "firstname",
    "lastname",
    "surname",
    "givenname",
    "familyname",
    "middlename",
    "emailaddress",
    "phonenumber",
    "homeaddress",
    "streetaddress",
];

/// Whole names (after normalisation) that identify although no word above is in them.
const IDENTIFYING_NAMES: &[&str] = &["mobile", "tel", "nok", "nextofkin"];

/// A column name's words, folded: NFKC, camelCase and letter/digit boundaries split, every
/// word lowercased and its look-alike letters replaced by their Latin prototype.
fn words(column: &str) -> Vec<String> {
    let text: String = column.nfkc().collect();
    let mut out = Vec::new();
    let mut current = String::new();
    let mut prev: Option<char> = None;
    for c in text.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            prev = None;
            continue;
        }
        if let Some(p) = prev {
            let camel = p.is_lowercase() && c.is_uppercase();
            let digits = p.is_numeric() != c.is_numeric();
            if (camel || digits) && !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        }
        current.push(c);
        prev = Some(c);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out.iter().map(|w| fold_word(w)).collect()
}

/// Lowercase with look-alike letters from other scripts folded to Latin. The confusables
/// skeleton also maps Latin pairs (`m` to `rn`), so both sides of a comparison are folded.
fn fold_word(word: &str) -> String {
    skeleton(&word.to_lowercase()).collect::<String>()
}

fn folded(list: &[&str]) -> Vec<String> {
    list.iter().map(|w| fold_word(w)).collect()
}

/// The word that makes a source column's name identifying, if any. Only the last segment
/// of a dotted JSON path counts (`patient.name` is identifying; `unit.name` is not).
pub fn identifying_word(column: &str) -> Option<String> {
    thread_local! {
        static LISTS: [Vec<String>; 4] = [
            folded(IDENTIFYING_WORDS),
            folded(THING_QUALIFIERS),
            folded(IDENTIFYING_INFIXES),
            folded(IDENTIFYING_NAMES),
        ];
    }
    let segments: Vec<&str> = column.split('.').collect();
    let last = segments.last().copied().unwrap_or(column);
    let mut ws = words(last);
    // `unit.name`: the thing is the path segment before.
    let parent = segments
        .len()
        .checked_sub(2)
        .and_then(|i| words(segments[i]).pop());
    LISTS.with(|[identifying, things, infixes, names]| {
        let name = fold_word("name");
        for (i, w) in ws.iter().enumerate() {
            if !identifying.contains(w) {
                continue;
            }
            if *w == name {
                let before = if i == 0 {
                    parent.as_ref()
                } else {
                    ws.get(i - 1)
                };
                if before.is_some_and(|b| things.contains(b)) {
                    continue;
                }
            }
            return Some(w.clone());
        }
        let joined: String = ws.concat();
        if let Some(hit) = infixes.iter().find(|x| joined.contains(x.as_str())) {
            return Some(hit.clone());
        }
        let (nhi, dob) = (fold_word("nhi"), fold_word("dob"));
        for edge in [&nhi, &dob] {
            if joined.len() > edge.len()
                && (joined.starts_with(edge.as_str()) || joined.ends_with(edge.as_str()))
            {
                return Some(edge.clone());
            }
        }
        if names.contains(&joined) {
            return Some(ws.swap_remove(0));
        }
        None
    })
}

/// True when a source column's name marks it as identifying.
pub fn is_identifying_column(column: &str) -> bool {
    identifying_word(column).is_some()
}

/// NHI letters exclude I and O; A=1 … Z=24.
fn letter_value(c: u8) -> Option<u32> {
    if !c.is_ascii_uppercase() || c == b'I' || c == b'O' {
        return None;
    }
    let skipped = u32::from(c > b'I') + u32::from(c > b'O');
    Some(u32::from(c - b'A') + 1 - skipped)
}

fn letter_of_value(v: u32) -> Option<u8> {
    (b'A'..=b'Z').find(|&c| letter_value(c) == Some(v))
}

/// True when `value` (trimmed, case-insensitive) is an NHI number whose check character
/// verifies, in the original `AAANNNC` format (mod 11) or the 2022 `AAANNAX` format (mod 23).
pub fn is_valid_nhi(value: &str) -> bool {
    let v = value.trim();
    if v.len() != 7 || !v.is_ascii() {
        return false;
    }
    let b: Vec<u8> = v.bytes().map(|c| c.to_ascii_uppercase()).collect();
    let mut sum = 0u32;
    for (i, &c) in b[..3].iter().enumerate() {
        match letter_value(c) {
            Some(x) => sum += x * (7 - i as u32),
            None => return false,
        }
    }
    if !(b[3].is_ascii_digit() && b[4].is_ascii_digit()) {
        return false;
    }
    sum += u32::from(b[3] - b'0') * 4 + u32::from(b[4] - b'0') * 3;
    if b[5].is_ascii_digit() && b[6].is_ascii_digit() {
        sum += u32::from(b[5] - b'0') * 2;
        let rem = sum % 11;
        if rem == 0 {
            return false;
        }
        let check = (11 - rem) % 10;
        u32::from(b[6] - b'0') == check
    } else if let (Some(x), true) = (letter_value(b[5]), b[6].is_ascii_uppercase()) {
        sum += x * 2;
        let rem = sum % 23;
        if rem == 0 {
            return false;
        }
        letter_of_value(23 - rem) == Some(b[6])
    } else {
        false
    }
}

/// Text as the value checks read it, one byte a character. ASCII is read as it is
/// (`is_valid_nhi` ignores case), without a copy: nearly every cell is ASCII, and this
/// runs on every cell of every extract. Other text goes through NFKC (full-width forms
/// to ASCII); then a letter from another script that looks like one Latin letter or
/// digit becomes it, a dash `-`, a space ` `, and anything else a byte that ends a run.
/// ASCII digits are never folded (the skeleton would turn `0` into `O`).
fn normalise_value(text: &str) -> Cow<'_, [u8]> {
    if text.is_ascii() {
        return Cow::Borrowed(text.as_bytes());
    }
    let mut out = Vec::with_capacity(text.len());
    for c in text.nfkc() {
        if c.is_ascii() {
            out.push(c as u8);
        } else if ('\u{2010}'..='\u{2015}').contains(&c) {
            out.push(b'-');
        } else if c.is_whitespace() {
            out.push(b' ');
        } else {
            let mut utf8 = [0; 4];
            let mut folded = skeleton(c.encode_utf8(&mut utf8));
            match (folded.next(), folded.next()) {
                (Some(one), None) if one.is_ascii_alphanumeric() => out.push(one as u8),
                _ => out.push(0),
            }
        }
    }
    Cow::Owned(out)
}

/// How two runs of letters and digits are joined in text.
#[derive(Clone, Copy, PartialEq)]
enum Gap {
    /// Spaces between words: `ZZZ 0016`.
    Space,
    /// A joiner inside a code: `ZZZ-0016`, `ZZZ.0016`, `ZZZ/0016`, `ZZZ_0016`.
    Joiner,
    /// Anything else ends a candidate.
    Break,
}

/// True when `text` holds a valid NHI as a word, or as words split by spaces or joiners
/// (`ZZZ-0016`, `zzz 00 16`, `ＺＺＺ００１６`). A run joined to its neighbours by joiners
/// counts only whole, so a longer code such as `AKL-2021-000123` is not read as the NHI
/// `AKL2021` followed by more.
pub fn contains_nhi(text: &str) -> bool {
    if text.len() < 7 {
        return false;
    }
    let bytes = normalise_value(text);
    // An NHI has three letters and at least two digits; most cells (codes, times,
    // numbers) have not, and need no closer look.
    let (mut digits, mut letters) = (0usize, 0usize);
    for b in bytes.iter() {
        digits += usize::from(b.is_ascii_digit());
        letters += usize::from(b.is_ascii_alphabetic());
    }
    if digits < 2 || letters < 3 {
        return false;
    }
    // Runs of ASCII letters and digits (start, end), and the gap before each; on the
    // stack, since every row's `mha_s30`-like codes come this far.
    let mut runs: smallvec::SmallVec<[(usize, usize, Gap); 16]> = smallvec::SmallVec::new();
    let mut gap = Gap::Break;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_alphanumeric() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
                i += 1;
            }
            runs.push((start, i, gap));
            gap = Gap::Space;
            continue;
        }
        let this = match bytes[i] {
            b' ' | b'\t' => Gap::Space,
            b'-' | b'.' | b'/' | b'_' => Gap::Joiner,
            _ => Gap::Break,
        };
        // A gap of several characters is as strong as its strongest break; two joiners in
        // a row are not a code's joiner.
        gap = match (gap, this) {
            (Gap::Break, _) | (_, Gap::Break) => Gap::Break,
            (Gap::Joiner, Gap::Joiner) => Gap::Break,
            (Gap::Joiner, _) | (_, Gap::Joiner) => Gap::Joiner,
            _ => Gap::Space,
        };
        i += 1;
    }
    // The gap before the first run is a break by construction; a run is "joined" to its
    // successor when the successor's gap is a joiner.
    let n = runs.len();
    for start in 0..n {
        if start > 0 && runs[start].2 == Gap::Joiner {
            continue; // starts inside a joined code
        }
        let mut candidate = [0u8; 7];
        let mut len = 0;
        for end in start..n.min(start + 3) {
            let (from, to, gap) = runs[end];
            if end > start && gap == Gap::Break {
                break;
            }
            if len + (to - from) > 7 {
                break;
            }
            candidate[len..len + (to - from)].copy_from_slice(&bytes[from..to]);
            len += to - from;
            let joined_after = runs.get(end + 1).is_some_and(|r| r.2 == Gap::Joiner);
            if len == 7 && !joined_after && std::str::from_utf8(&candidate).is_ok_and(is_valid_nhi)
            {
                return true;
            }
        }
    }
    false
}

/// Years before this are not years of any episode the programme holds, so a full date
/// in them is taken for a date of birth.
pub const EARLIEST_EPISODE_YEAR: i32 = 2000;

/// True when `text` starts with a full calendar date (`1987-04-12`, `12/04/1987`,
/// `12.4.1987`, with or without a time after it) before [`EARLIEST_EPISODE_YEAR`]:
/// no episode is that old, so it is a date of birth or another person's date.
pub fn looks_like_birth_date(text: &str) -> bool {
    let t = text.trim();
    if t.len() < 8 || !t.as_bytes()[0].is_ascii_digit() {
        return false;
    }
    // Most cells that start with a digit are timestamps of this century: four digits
    // and a separator give the year at once, with the answer the full reading gives.
    if let [y0, y1, y2, y3, sep, ..] = t.as_bytes()
        && [y0, y1, y2, y3].iter().all(|b| b.is_ascii_digit())
        && matches!(sep, b'-' | b'/' | b'.')
    {
        let year = [y0, y1, y2, y3]
            .iter()
            .fold(0u32, |y, b| y * 10 + u32::from(**b - b'0'));
        if !(1900..EARLIEST_EPISODE_YEAR as u32).contains(&year) {
            return false;
        }
    }
    let date = t.split(['T', ' ']).next().unwrap_or(t);
    let mut split = date.split(['-', '/', '.']);
    let (Some(p0), Some(p1), Some(p2), None) =
        (split.next(), split.next(), split.next(), split.next())
    else {
        return false;
    };
    let parts = [p0, p1, p2];
    if parts
        .iter()
        .any(|p| p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    let num = |s: &str| s.parse::<u32>().unwrap_or(0);
    let (year, a, b) = if parts[0].len() == 4 {
        (num(parts[0]), num(parts[1]), num(parts[2]))
    } else if parts[2].len() == 4 {
        (num(parts[2]), num(parts[1]), num(parts[0]))
    } else {
        return false;
    };
    let valid = |m: u32, d: u32| chrono::NaiveDate::from_ymd_opt(year as i32, m, d).is_some();
    (1900..EARLIEST_EPISODE_YEAR as u32).contains(&year) && (valid(a, b) || valid(b, a))
}

/// Why a value may not be stored, if it may not.
pub fn value_finding(value: &str) -> Option<&'static str> {
    if contains_nhi(value) {
        Some("value is a valid NHI number; ako stores and reads only de-identified data")
    } else if looks_like_birth_date(value) {
        Some(
            "value looks like a date of birth (a full date before 2000); ako stores and reads only de-identified data",
        )
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_format_check_digit() {
        // ZZZ0016 is the Ministry of Health's published test NHI: 24·7+24·6+24·5+0+0+1·2 =
        // 434, 434 mod 11 = 5, check = 11 − 5 = 6.
        assert!(is_valid_nhi("ZZZ0016"));
        assert!(is_valid_nhi("zzz0016"));
        assert!(!is_valid_nhi("ZZZ0017"));
        // letters I and O never occur in an NHI
        assert!(!is_valid_nhi("ZIZ0016"));
    }

    #[test]
    fn new_format_check_letter() {
        // ZZZ00A?: 24·7+24·6+24·5+0+0+1·2 = 434, 434 mod 23 = 20, 23 − 20 = 3 → C.
        assert!(is_valid_nhi("ZZZ00AC"));
        assert!(!is_valid_nhi("ZZZ00AD"));
    }

    #[test]
    fn codes_that_only_look_like_nhis_pass() {
        assert!(!is_valid_nhi("WRD1234")); // shaped like an NHI, check digit fails
        assert!(!contains_nhi("AKL-0001"));
        assert!(!contains_nhi("W01"));
        // AKL2021: 1·7+11·6+11·5+2·4+0·3+2·2 = 140, 140 mod 11 = 8, check 3 ≠ 1, so the
        // code below is safe either way; what matters is that a longer joined code is
        // read whole.
        assert!(!contains_nhi("ZZZ-0016-000123"));
        assert!(!contains_nhi("ZZZ0016-7"));
    }

    #[test]
    fn nhis_inside_free_text_are_found() {
        assert!(contains_nhi("seen by ZZZ0016 staff"));
        assert!(contains_nhi("ZZZ00AC"));
        assert!(!contains_nhi("WRD1234 ward"));
        assert!(!contains_nhi("XZZZ0016")); // part of a longer word is not an NHI
    }

    #[test]
    fn nhis_written_with_separators_or_other_forms_are_found() {
        for written in [
            "ZZZ-0016",
            "zzz 0016",
            "ZZZ 00 16",
            "ZZZ.0016",
            "ZZZ/00AC",
            "ZZZ\u{2011}0016",              // non-breaking hyphen
            "ＺＺＺ００１６",               // full-width letters and digits
            "ZZZ\u{00a0}0016",              // no-break space
            "pt (ZZZ-0016) moved to HDU",   // inside brackets in free text
            "\u{0396}\u{0396}\u{0396}0016", // Greek capital zeta looks like Z
        ] {
            assert!(contains_nhi(written), "{written:?} is an NHI");
        }
        // Separators between runs that are not one code do not make one.
        assert!(!contains_nhi("ZZZ, 0016"));
        assert!(!contains_nhi("ZZZ--0016"));
    }

    #[test]
    fn identifying_columns() {
        for name in [
            "NHI",
            "Date_Of_Birth",
            "patient.surname",
            "patient_nhi",
            "PatientNHI",
            "nhi_number",
            "client_name",
            "ClientName",
            "clientname",
            "birth_dt",
            "BirthDt",
            "dob2",
            "n\u{0430}me",        // Cyrillic a
            "\u{0441}lient_name", // Cyrillic c
            "ＮＨＩ",             // full-width
            "home address",
            "Email",
            "mobile",
            "staff_name",
            "ingoa",
            "contacts.phone",
        ] {
            assert!(is_identifying_column(name), "{name} identifies");
        }
        for name in [
            "unit_name",
            "UnitName",
            "unit.name",
            "ward name",
            "org_code",
            "person_key",
            "episode_id",
            "legal_status",
            "authorised_by",
            "max_obs_gap_min",
            "reason",
            "start_time",
            "ethnicity",
            "inhibitor",
            "seclusion_room",
            "age_band",
        ] {
            assert!(!is_identifying_column(name), "{name} does not identify");
        }
        assert_eq!(identifying_word("patient_nhi").as_deref(), Some("nhi"));
    }

    #[test]
    fn dates_of_birth_are_recognised() {
        for written in [
            "1987-04-12",
            "12/04/1987",
            "4/12/1987",
            "12.04.1987",
            "1999-12-31T00:00:00",
            "1950-01-01 00:00",
            "1987/04/12",
            "1987.4.12",
            " 1999-02-28",
        ] {
            assert!(looks_like_birth_date(written), "{written}");
        }
        for written in [
            "2024-03-01",
            "01/03/2024 10:00",
            "1987",
            "Mental Health Act 1992",
            "1987-13-45",
            "12-1987",
            "s30 1992/04",
            "2015-01-01T10:00:00+12:00",
            "1899-12-31",
            "1987-02-30",
            "19870412",
        ] {
            assert!(!looks_like_birth_date(written), "{written}");
        }
    }
}
