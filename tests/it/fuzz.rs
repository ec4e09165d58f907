//! Fuzzing the readers (issue 10 section 6): every extract format ako reads, and the
//! analysts' CSV reader, fed random bytes and mutations of good files. Nothing may
//! panic; every failure must be a refusal of the file or a rejected row.
//!
//! `AKO_FUZZ_CASES` sets the number of cases per format (default 64 here; the long run
//! in `bench/README.md` uses 20,000).

use std::path::Path;

use ako::ingest::profile::ProfileSet;
use ako::ingest::source::{self, Item};
use ako::ingest::validate::Validator;
use ako::sheet::Sheet;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::fixture::sample_profiles;

fn cases() -> u32 {
    std::env::var("AKO_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

/// A runner of `AKO_FUZZ_CASES` cases that keeps no failure files in the tree.
fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

/// The first lines of a bundled sample file of each format, as seeds to mutate.
fn seed(path: &str, lines: usize) -> Vec<u8> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
    let mut out: String = text.lines().take(lines).collect::<Vec<_>>().join("\n");
    out.push('\n');
    out.into_bytes()
}

/// Bytes that break parsers: quotes, separators, line ends, NUL, a lone UTF-8
/// continuation byte, braces, a byte-order mark, a long run of digits.
fn nasty() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"\"".to_vec()),
        Just(b",".to_vec()),
        Just(b"|".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\0".to_vec()),
        Just(vec![0x80]),
        Just(vec![0xff, 0xfe]),
        Just(b"{".to_vec()),
        Just(b"}".to_vec()),
        Just(b"[".to_vec()),
        Just(b"\\u0000".to_vec()),
        Just("\u{feff}".as_bytes().to_vec()),
        Just(b"99999999999999999999999".to_vec()),
        Just(b"-1".to_vec()),
        Just(b"2024-02-30T25:61:00".to_vec()),
        Just("ＺＺＺ００１６".as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 1..8),
    ]
}

#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
    Duplicate(usize, usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<usize>(), nasty()).prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<usize>(), 1usize..40).prop_map(|(i, n)| Edit::Delete(i, n)),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), 1usize..200).prop_map(|(i, n)| Edit::Duplicate(i, n)),
    ];
    prop::collection::vec(edit, 1..12)
}

fn mutate(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for e in edits {
        let at = |i: usize, len: usize| if len == 0 { 0 } else { i % (len + 1) };
        match e {
            Edit::Flip(i, x) if !b.is_empty() => {
                let n = b.len();
                b[i % n] ^= x | 1;
            }
            Edit::Flip(..) => {}
            Edit::Insert(i, bytes) => {
                let p = at(*i, b.len());
                b.splice(p..p, bytes.iter().copied());
            }
            Edit::Delete(i, n) => {
                let p = at(*i, b.len());
                let end = (p + n).min(b.len());
                b.drain(p..end);
            }
            Edit::Truncate(i) => {
                let p = at(*i, b.len());
                b.truncate(p);
            }
            Edit::Duplicate(i, n) => {
                let p = at(*i, b.len());
                let end = (p + n).min(b.len());
                let copy = b[p..end].to_vec();
                b.splice(p..p, copy);
            }
        }
    }
    b
}

/// Reads `bytes` as an extract with `profile` and validates every record: it must end in
/// the file's end or a refusal, never a panic. Returns (records, rejected, refused).
fn read_all(dir: &Path, bytes: &[u8], profile: &ako::ingest::profile::Profile) -> (u64, u64, bool) {
    let path = dir.join("case.dat");
    std::fs::write(&path, bytes).unwrap();
    let mut reader = match source::open(&path, profile) {
        Ok(r) => r,
        Err(_) => return (0, 0, true),
    };
    let validator = Validator::new(profile, Some(ako::model::Jurisdiction::Nz));
    let (mut records, mut rejected) = (0, 0);
    loop {
        match reader.next_item(None) {
            Ok(None) => return (records, rejected, false),
            Err(_) => return (records, rejected, true),
            Ok(Some(Item::Malformed { .. })) => rejected += 1,
            Ok(Some(Item::Record(rec))) => {
                records += 1;
                if validator.episode(&rec).is_err() {
                    rejected += 1;
                }
            }
        }
    }
}

fn fuzz_format(sample: &str, profile: &str) {
    let profiles = ProfileSet::load(&[sample_profiles()]).unwrap();
    let profile = profiles.get(profile).unwrap().clone();
    let seed = seed(sample, 12);
    let dir = tempfile::tempdir().unwrap();
    // The unmutated seed reads whole, so a case that reads nothing is the mutation's doing.
    let (records, rejected, refused) = read_all(dir.path(), &seed, &profile);
    assert!(
        records > 0 && !refused,
        "{sample}: {records} records, {rejected} rejected"
    );
    let mut runner = runner();
    runner
        .run(&edits(), |edits| {
            let bytes = mutate(&seed, &edits);
            read_all(dir.path(), &bytes, &profile);
            Ok(())
        })
        .unwrap();
    runner
        .run(&prop::collection::vec(any::<u8>(), 0..2048), |bytes| {
            read_all(dir.path(), &bytes, &profile);
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_canonical_csv_reader_survives_mutations_and_noise() {
    fuzz_format(
        "sample-data/extracts/NSW-HD/NSW-HD_FY2021-22.csv",
        "canonical",
    );
}

#[test]
fn the_coded_pipe_reader_survives_mutations_and_noise() {
    fuzz_format(
        "sample-data/extracts/AKL/AKL_FY2021-22.txt",
        "nz_collection",
    );
}

#[test]
fn the_json_lines_reader_survives_mutations_and_noise() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/extracts");
    let jsonl = std::fs::read_dir(&dir)
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .expect("the sample has a JSON Lines extract");
    let rel = jsonl
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    fuzz_format(&rel, "vendor_jsonl");
}

#[test]
fn the_analyst_table_reader_survives_mutations_and_noise() {
    let seed = b"period,numerator,denominator,label\n2024-01,3,120,a\n2024-02,\"5\",130,\"b, c\"\n\n2024-03,0,90,d\n".to_vec();
    let parsed = Sheet::parse("seed.csv", std::str::from_utf8(&seed).unwrap()).unwrap();
    assert_eq!(parsed.len(), 3);
    let mut runner = runner();
    runner
        .run(&edits(), |edits| {
            let bytes = mutate(&seed, &edits);
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(t) = Sheet::parse("case.csv", &text) {
                // A table that reads can be asked for its numbers without panicking.
                if let Ok(c) = t.column("numerator") {
                    for row in 0..t.len() {
                        let _ = t.count(row, c);
                    }
                }
            }
            Ok(())
        })
        .unwrap();
}
