//! Refuses identifiable data before anything reaches the lake.
//!
//! Two tests: a column whose name says it holds identity (nhi, name, dob, …), and any
//! value that is a *valid* NHI number. Only values whose check character verifies are
//! treated as NHIs, so that ward or batch codes which merely look like one (three
//! letters, four digits) are not refused.

/// Column names (normalised: lowercase, letters and digits only) that identify a person.
const IDENTIFYING_COLUMNS: &[&str] = &[
    "nhi",
    "nhinumber",
    "nhino",
    "name",
    "fullname",
    "firstname",
    "givenname",
    "givennames",
    "surname",
    "lastname",
    "familyname",
    "dob",
    "dateofbirth",
    "birthdate",
    "address",
    "streetaddress",
    "homeaddress",
    "phone",
    "phonenumber",
    "mobile",
    "email",
    "emailaddress",
];

/// True when a source column's name marks it as identifying. Only the last segment of a
/// dotted JSON path counts (`patient.name` is identifying; `unit_name` is not).
pub fn is_identifying_column(column: &str) -> bool {
    let last = column.rsplit('.').next().unwrap_or(column);
    let normalised: String = last
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    IDENTIFYING_COLUMNS.contains(&normalised.as_str())
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

/// True when any word of `text` (split on anything not a letter or digit) is a valid
/// NHI, so that an NHI typed into a free-text field is caught too.
pub fn contains_nhi(text: &str) -> bool {
    text.len() >= 7
        && text
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|word| word.len() == 7 && is_valid_nhi(word))
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
        assert!(!is_valid_nhi("AKL-0001"));
        assert!(!is_valid_nhi("W01"));
    }

    #[test]
    fn nhis_inside_free_text_are_found() {
        assert!(contains_nhi("seen by ZZZ0016 staff"));
        assert!(contains_nhi("ZZZ00AC"));
        assert!(!contains_nhi("WRD1234 ward"));
        assert!(!contains_nhi("XZZZ0016")); // part of a longer word is not an NHI
    }

    #[test]
    fn identifying_columns() {
        assert!(is_identifying_column("NHI"));
        assert!(is_identifying_column("Date_Of_Birth"));
        assert!(is_identifying_column("patient.surname"));
        assert!(!is_identifying_column("unit_name"));
        assert!(!is_identifying_column("person_key"));
    }
}
