//! How much ako reads before it refuses: no real extract has a line of a megabyte or a
//! field of 64 KiB, so a file that does is refused with its line number instead of being
//! read into memory (a 4 GB file with no newline would otherwise be one 4 GB string).

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The longest line read, in bytes.
pub const MAX_LINE_BYTES: u64 = 1 << 20;

/// The longest field (a CSV cell, a JSON string), in bytes.
pub const MAX_FIELD_BYTES: usize = 64 << 10;

/// The largest extract file (a national decade at 10 million episodes is under 2 GB).
pub const MAX_EXTRACT_BYTES: u64 = 64 << 30;

/// The largest table read whole: reference tables and analysts' tables.
pub const MAX_TABLE_BYTES: u64 = 256 << 20;

/// Why a read stopped: a line too long.
#[derive(Debug)]
pub struct LineTooLong {
    /// 1-based line number.
    pub line: u64,
}

impl std::fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {} is longer than {} MiB; this is not an extract ako can read",
            self.line,
            MAX_LINE_BYTES >> 20
        )
    }
}

impl std::error::Error for LineTooLong {}

/// The line a read error stopped at, when it was a line too long.
pub fn line_too_long(e: &io::Error) -> Option<u64> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<LineTooLong>())
        .map(|l| l.line)
}

/// A reader that counts the bytes it passes (for progress) and fails on a line longer
/// than [`MAX_LINE_BYTES`].
pub struct Bounded<R> {
    inner: R,
    count: Arc<AtomicU64>,
    since_newline: u64,
    newlines: u64,
    max_line: u64,
}

impl<R> Bounded<R> {
    pub fn new(inner: R) -> Bounded<R> {
        Bounded::with_limit(inner, MAX_LINE_BYTES)
    }

    pub fn with_limit(inner: R, max_line: u64) -> Bounded<R> {
        Bounded {
            inner,
            count: Arc::new(AtomicU64::new(0)),
            since_newline: 0,
            newlines: 0,
            max_line,
        }
    }

    /// A handle on the count of bytes read so far.
    pub fn counter(&self) -> Arc<AtomicU64> {
        self.count.clone()
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let read = &buf[..n];
        match memchr::memrchr(b'\n', read) {
            Some(last) => {
                self.newlines += memchr::memchr_iter(b'\n', read).count() as u64;
                self.since_newline = (n - last - 1) as u64;
            }
            None => self.since_newline += n as u64,
        }
        if self.since_newline > self.max_line {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                LineTooLong {
                    line: self.newlines + 1,
                },
            ));
        }
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_stops_the_read_with_its_number() {
        let text = format!("a,b\n1,2\n{}\n", "x".repeat(100));
        let mut r = Bounded::with_limit(text.as_bytes(), 50);
        let mut out = Vec::new();
        let e = r.read_to_end(&mut out).unwrap_err();
        assert_eq!(line_too_long(&e), Some(3));
        // Short lines pass, and the bytes are counted.
        let mut r = Bounded::with_limit("a,b\n1,2\n".as_bytes(), 50);
        let count = r.counter();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(count.load(Ordering::Relaxed), 8);
    }

    #[test]
    fn an_endless_line_is_not_read_to_its_end() {
        // 1 GiB of one line, produced lazily: refused after about a megabyte.
        let endless = std::io::repeat(b'x').take(1 << 30);
        let mut r = Bounded::new(endless);
        let count = r.counter();
        let e = std::io::copy(&mut r, &mut std::io::sink()).unwrap_err();
        assert_eq!(line_too_long(&e), Some(1));
        assert!(
            count.load(Ordering::Relaxed) <= MAX_LINE_BYTES + (64 << 10),
            "{}",
            count.load(Ordering::Relaxed)
        );
    }
}
