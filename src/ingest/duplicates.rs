//! Duplicate episode ids within one extract, found after staging.
//!
//! Holding every id seen while streaming would make memory grow with the file. Grouping
//! the staged ids in DataFusion kept memory bounded but spilled most of a 10 M-row
//! file's ids to disk and back (a fifth of the ingest's time, measured). Instead each
//! row becomes 16 bytes, a keyed 64-bit hash of its id and its line, sorted in runs of
//! bounded size (spilled as raw sorted runs when the file is large) and merged: rows
//! whose hash repeats are the candidates, nearly always none. A second pass over the
//! staged file compares the candidates' ids themselves, so a hash collision can never
//! reject a row; when one could hide a duplicate, the search runs again with a new key.
//! The first occurrence of an id is kept; later ones are rejected by line.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use datafusion::arrow::array::RecordBatch;
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::IngestError;
use super::batch::Lines;
use crate::lake::StagedRows;
use crate::model::col;
use crate::table::string_column;

/// Rows sorted in memory at a time (16 bytes each, so 32 MiB); a larger file spills
/// sorted runs of this size next to its staged Parquet.
const RUN_ROWS: usize = 1 << 21;

/// Searches with fresh keys before giving up; each retry follows a collision among
/// the first `limit + 1` candidates, which for a 64-bit key is vanishingly rare.
const ATTEMPTS: usize = 8;

/// (line, episode id) of every row whose id occurs on an earlier line, in line order;
/// at most `limit + 1` rows, so a caller can tell "more than `limit`".
pub async fn later_duplicates(
    staged: &StagedRows,
    lines: &Lines,
    limit: usize,
) -> Result<Vec<(u64, String)>, IngestError> {
    let rows = Rows {
        files: staged.paths()?,
        lines,
        spill: &staged.root,
    };
    for _ in 0..ATTEMPTS {
        let key = std::collections::hash_map::RandomState::new();
        let hash = |id: &[u8]| {
            let mut h = key.build_hasher();
            h.write(id);
            h.finish()
        };
        if let Some(found) = search(&rows, limit, RUN_ROWS, &hash)? {
            return Ok(found);
        }
    }
    Err(IngestError::Io {
        path: staged.root.clone(),
        source: std::io::Error::other(format!(
            "episode ids collided under {ATTEMPTS} hash keys in a row; this should not happen"
        )),
    })
}

/// The staged rows searched: their files in row order, each row's source line, and a
/// folder for spilled runs.
struct Rows<'a> {
    files: Vec<PathBuf>,
    lines: &'a Lines,
    spill: &'a Path,
}

/// One search under one hash; `None` when a collision may have hidden a duplicate.
fn search(
    rows: &Rows,
    limit: usize,
    run_rows: usize,
    hash: &dyn Fn(&[u8]) -> u64,
) -> Result<Option<Vec<(u64, String)>>, IngestError> {
    let mut runs = Runs::new(rows.spill, run_rows);
    for_each_id(rows, |line, id| runs.push(hash(id.as_bytes()), line))?;
    let candidates = runs.later_lines(limit + 1)?;
    if candidates.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let hashes: HashSet<u64> = candidates.iter().map(|&(_, h)| h).collect();
    // Rows arrive in line order, so the first row of an id is the one kept and later
    // ones come out sorted.
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let mut found = Vec::new();
    for_each_id(rows, |line, id| {
        if found.len() > limit || !hashes.contains(&hash(id.as_bytes())) {
            return Ok(());
        }
        if first_line.contains_key(id) {
            found.push((line, id.to_string()));
        } else {
            first_line.insert(id.to_string(), line);
        }
        Ok(())
    })?;
    // With every candidate found, they are the first `limit + 1` repeats. Otherwise a
    // collision took a place in the list that a later true repeat may have needed.
    let full = candidates.len() > limit;
    let mut lines: Vec<u64> = candidates.iter().map(|&(l, _)| l).collect();
    lines.sort_unstable();
    let verified = found.iter().map(|&(l, _)| l).eq(lines.iter().copied());
    Ok((verified || !full).then_some(found))
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> IngestError + '_ {
    |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Calls `f` with each staged row's line and episode id, in row order.
fn for_each_id(
    rows: &Rows,
    mut f: impl FnMut(u64, &str) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    let mut lines = rows.lines.iter();
    for path in &rows.files {
        let file = File::open(path).map_err(io(path))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
        let schema = builder.parquet_schema();
        let wanted: Vec<usize> = (0..schema.num_columns())
            .filter(|&i| schema.column(i).name() == col::EPISODE_ID)
            .collect();
        let mask = ProjectionMask::leaves(schema, wanted);
        for batch in builder.with_projection(mask).build()? {
            let batch: RecordBatch = batch?;
            let ids = string_column(&batch, col::EPISODE_ID)?;
            for i in 0..batch.num_rows() {
                let line = lines.next().ok_or_else(|| IngestError::Io {
                    path: path.clone(),
                    source: std::io::Error::other("more staged rows than lines read"),
                })?;
                f(line, ids.value(i))?;
            }
        }
    }
    Ok(())
}

/// A row as the search sorts it: its id's hash, then its line.
type Pair = (u64, u64);

/// (hash, line) pairs sorted in bounded runs, the full ones spilled to a temporary
/// folder in `parent`, made only when a file has more than one run's rows.
struct Runs<'a> {
    parent: &'a Path,
    run_rows: usize,
    current: Vec<Pair>,
    spill: Option<tempfile::TempDir>,
    spilled: Vec<PathBuf>,
}

impl<'a> Runs<'a> {
    fn new(parent: &'a Path, run_rows: usize) -> Runs<'a> {
        Runs {
            parent,
            run_rows,
            current: Vec::new(),
            spill: None,
            spilled: Vec::new(),
        }
    }

    fn push(&mut self, hash: u64, line: u64) -> Result<(), IngestError> {
        self.current.push((hash, line));
        if self.current.len() >= self.run_rows {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<(), IngestError> {
        self.current.sort_unstable();
        let dir = match &self.spill {
            Some(dir) => dir,
            None => self
                .spill
                .insert(tempfile::tempdir_in(self.parent).map_err(io(self.parent))?),
        };
        let path = dir.path().join(format!("run-{}", self.spilled.len()));
        let mut w = BufWriter::new(File::create(&path).map_err(io(&path))?);
        for &(hash, line) in &self.current {
            w.write_all(&hash.to_le_bytes())
                .and_then(|_| w.write_all(&line.to_le_bytes()))
                .map_err(io(&path))?;
        }
        w.flush().map_err(io(&path))?;
        self.current.clear();
        self.spilled.push(path);
        Ok(())
    }

    /// The `keep` smallest lines whose hash occurs on an earlier line, as (line, hash).
    fn later_lines(mut self, keep: usize) -> Result<Vec<(u64, u64)>, IngestError> {
        self.current.sort_unstable();
        let mut sources: Vec<Box<dyn Iterator<Item = std::io::Result<Pair>>>> = vec![Box::new(
            std::mem::take(&mut self.current).into_iter().map(Ok),
        )];
        for path in &self.spilled {
            let file = File::open(path).map_err(io(path))?;
            sources.push(Box::new(RunReader(BufReader::new(file))));
        }
        // A k-way merge: pairs come out by hash, then line, so within one hash the
        // first pair is the earliest line and every one after it a later line.
        let mut heads = BinaryHeap::new();
        for (k, s) in sources.iter_mut().enumerate() {
            if let Some(pair) = s.next().transpose().map_err(io(self.parent))? {
                heads.push(Reverse((pair, k)));
            }
        }
        // (line, hash): the heap's largest line is the one to drop.
        let mut later: BinaryHeap<(u64, u64)> = BinaryHeap::new();
        let mut previous: Option<u64> = None;
        while let Some(Reverse(((hash, line), k))) = heads.pop() {
            if previous == Some(hash) {
                later.push((line, hash));
                if later.len() > keep {
                    later.pop();
                }
            }
            previous = Some(hash);
            if let Some(pair) = sources[k].next().transpose().map_err(io(self.parent))? {
                heads.push(Reverse((pair, k)));
            }
        }
        Ok(later.into_vec())
    }
}

/// Reads back a spilled run.
struct RunReader(BufReader<File>);

impl Iterator for RunReader {
    type Item = std::io::Result<Pair>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut buf = [0u8; 16];
        match self.0.read_exact(&mut buf) {
            Ok(()) => {
                let (h, l) = buf.split_at(8);
                let word = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes"));
                Some(Ok((word(h), word(l))))
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => None,
            Err(e) => Some(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{ArrayRef, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::parquet::arrow::ArrowWriter;
    use std::sync::Arc;

    /// These ids staged on lines 2, 3, …: the first four in one file, the rest in a
    /// second, each written in batches of 3 (only the column the search reads).
    fn staged<'a>(dir: &'a Path, ids: &[&str], lines: &'a mut Lines) -> Rows<'a> {
        let schema = Arc::new(Schema::new(vec![Field::new(
            col::EPISODE_ID,
            DataType::Utf8,
            false,
        )]));
        let mut files = Vec::new();
        for (f, part) in [&ids[..ids.len().min(4)], &ids[ids.len().min(4)..]]
            .iter()
            .enumerate()
        {
            let path = dir.join(format!("part-{f}-{}.parquet", ids.len()));
            let mut w =
                ArrowWriter::try_new(File::create(&path).unwrap(), schema.clone(), None).unwrap();
            for chunk in part.chunks(3) {
                let columns: Vec<ArrayRef> = vec![Arc::new(StringArray::from(chunk.to_vec()))];
                w.write(&RecordBatch::try_new(schema.clone(), columns).unwrap())
                    .unwrap();
            }
            w.close().unwrap();
            files.push(path);
        }
        for i in 0..ids.len() {
            lines.push(i as u64 + 2);
        }
        Rows {
            files,
            lines,
            spill: dir,
        }
    }

    fn hashed(rows: &Rows, limit: usize) -> Option<Vec<(u64, String)>> {
        let key = std::collections::hash_map::RandomState::new();
        let hash = |id: &[u8]| {
            let mut h = key.build_hasher();
            h.write(id);
            h.finish()
        };
        search(rows, limit, RUN_ROWS, &hash).unwrap()
    }

    fn owned(found: &[(u64, &str)]) -> Vec<(u64, String)> {
        found.iter().map(|&(l, id)| (l, id.to_string())).collect()
    }

    const IDS: [&str; 9] = ["E1", "E2", "E1", "E3", "E22", "E2", "E1", "E4", "E5"];

    #[test]
    fn later_repeats_are_found_by_line_whether_runs_stay_in_memory_or_spill() {
        let dir = tempfile::tempdir().unwrap();
        let mut lines = Lines::default();
        let rows = staged(dir.path(), &IDS, &mut lines);
        let expected = owned(&[(4, "E1"), (7, "E2"), (8, "E1")]);
        assert_eq!(hashed(&rows, 10), Some(expected.clone()));
        let sip = |id: &[u8]| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            h.write(id);
            h.finish()
        };
        // runs of two rows: five runs merged from disk
        assert_eq!(search(&rows, 10, 2, &sip).unwrap(), Some(expected.clone()));
        // at most limit + 1, the earliest
        assert_eq!(
            search(&rows, 1, 2, &sip).unwrap(),
            Some(owned(&[(4, "E1"), (7, "E2")]))
        );
        let mut lines = Lines::default();
        let none = staged(dir.path(), &["A", "B", "C", "D", "F"], &mut lines);
        assert_eq!(hashed(&none, 10), Some(vec![]));
    }

    #[test]
    fn a_hash_collision_never_rejects_a_row_and_a_hidden_repeat_means_another_try() {
        let dir = tempfile::tempdir().unwrap();
        let mut lines = Lines::default();
        let path = staged(dir.path(), &IDS, &mut lines);
        // every id of the same length collides: E1..E5 share a hash, E22 has its own
        let by_length = |id: &[u8]| id.len() as u64;
        // room for every candidate: the ids themselves decide, so E3, E4 and E5 stay
        assert_eq!(
            search(&path, 10, 4, &by_length).unwrap(),
            Some(owned(&[(4, "E1"), (7, "E2"), (8, "E1")]))
        );
        // the two earliest candidates are lines 3 (E2 after E1: a collision) and 4:
        // a true repeat may be hidden behind the false one, so the search says so
        assert_eq!(search(&path, 1, 4, &by_length).unwrap(), None);
    }
}
