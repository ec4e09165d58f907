//! An extract read ahead on a thread of its own.
//!
//! Reading (CSV parsing and the identifiable-data guard on every cell) and validating
//! each row shared one thread while the staging writer left the second core mostly idle.
//! The reader now runs ahead in chunks of records, so reading and validation overlap.
//! Records come back to the reader once validated and their buffers hold later records:
//! a record allocated on one thread and freed on another costs glibc's allocator its
//! arena locks (an earlier read-ahead that did so was slower than none, bench/README.md).

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use super::source::{Item, RawRecord, RecordSource, Refusal};

/// Records per chunk.
const CHUNK: usize = 4096;

/// Chunks read ahead before the reader waits.
const CHUNKS_AHEAD: usize = 2;

struct Chunk {
    items: Vec<Result<Item, Refusal>>,
    bytes_read: u64,
    /// The source ended (or refused the file) with this chunk.
    last: bool,
}

/// A [`RecordSource`] whose records are read by another thread.
pub struct ReadAhead {
    chunks: Option<Receiver<Chunk>>,
    returns: SyncSender<Vec<RawRecord>>,
    current: std::vec::IntoIter<Result<Item, Refusal>>,
    given_back: Vec<RawRecord>,
    bytes_read: u64,
    ended: bool,
    reader: Option<JoinHandle<()>>,
}

impl ReadAhead {
    pub fn new(mut source: Box<dyn RecordSource>) -> std::io::Result<ReadAhead> {
        let (chunk_tx, chunks) = sync_channel::<Chunk>(CHUNKS_AHEAD);
        let (returns, returned) = sync_channel::<Vec<RawRecord>>(CHUNKS_AHEAD + 2);
        let reader = std::thread::Builder::new()
            .name("ako-reader".into())
            .spawn(move || {
                let mut spares: Vec<RawRecord> = Vec::new();
                loop {
                    while let Ok(mut back) = returned.try_recv() {
                        spares.append(&mut back);
                    }
                    let mut items = Vec::with_capacity(CHUNK);
                    let mut last = false;
                    while items.len() < CHUNK {
                        match source.next_item(spares.pop()) {
                            Ok(Some(item)) => items.push(Ok(item)),
                            Ok(None) => {
                                last = true;
                                break;
                            }
                            Err(why) => {
                                items.push(Err(why));
                                last = true;
                                break;
                            }
                        }
                    }
                    let chunk = Chunk {
                        items,
                        bytes_read: source.bytes_read(),
                        last,
                    };
                    // A send fails when the ingest stopped reading (a refused file).
                    if chunk_tx.send(chunk).is_err() || last {
                        return;
                    }
                }
            })?;
        Ok(ReadAhead {
            chunks: Some(chunks),
            returns,
            current: Vec::new().into_iter(),
            given_back: Vec::new(),
            bytes_read: 0,
            ended: false,
            reader: Some(reader),
        })
    }

    /// Waits for the reader thread, passing on its panic.
    fn join(&mut self) {
        drop(self.chunks.take());
        if let Some(reader) = self.reader.take()
            && let Err(panic) = reader.join()
            && !std::thread::panicking()
        {
            std::panic::resume_unwind(panic);
        }
    }
}

impl RecordSource for ReadAhead {
    fn next_item(&mut self, spare: Option<RawRecord>) -> Result<Option<Item>, Refusal> {
        if let Some(record) = spare {
            self.given_back.push(record);
            if self.given_back.len() >= CHUNK {
                let back = std::mem::take(&mut self.given_back);
                // With the reader's queue full, these few are simply freed here.
                if let Err(TrySendError::Full(back) | TrySendError::Disconnected(back)) =
                    self.returns.try_send(back)
                {
                    drop(back);
                }
            }
        }
        loop {
            if let Some(item) = self.current.next() {
                return item.map(Some);
            }
            if self.ended {
                return Ok(None);
            }
            let received = self.chunks.as_ref().map(Receiver::recv);
            match received {
                Some(Ok(chunk)) => {
                    self.bytes_read = chunk.bytes_read;
                    self.ended = chunk.last;
                    self.current = chunk.items.into_iter();
                }
                // The reader stopped without a last chunk: `join` passes on its panic,
                // and anything else must not pass for the end of the file.
                _ => {
                    self.ended = true;
                    self.join();
                    return Err(Refusal {
                        line: None,
                        column: None,
                        message: "the extract's reader stopped before the end of the file".into(),
                    });
                }
            }
        }
    }

    fn bytes_read(&self) -> u64 {
        self.bytes_read
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.join();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// `n` records on lines 2, 3, …, every 1000th malformed, then a refusal when
    /// `refuse` (else the end); counts the records it filled from a spare.
    struct Numbers {
        n: u64,
        next: u64,
        refuse: bool,
        reused: Arc<AtomicUsize>,
        panic_at: Option<u64>,
    }

    impl Numbers {
        fn new(n: u64, refuse: bool) -> (Numbers, Arc<AtomicUsize>) {
            let reused = Arc::new(AtomicUsize::new(0));
            let source = Numbers {
                n,
                next: 0,
                refuse,
                reused: reused.clone(),
                panic_at: None,
            };
            (source, reused)
        }
    }

    impl RecordSource for Numbers {
        fn next_item(&mut self, spare: Option<RawRecord>) -> Result<Option<Item>, Refusal> {
            if Some(self.next) == self.panic_at {
                panic!("the source broke");
            }
            if self.next == self.n {
                return match self.refuse {
                    true => Err(Refusal {
                        line: Some(self.n + 2),
                        column: None,
                        message: "refused".into(),
                    }),
                    false => Ok(None),
                };
            }
            let i = self.next;
            self.next += 1;
            if i % 1000 == 999 {
                return Ok(Some(Item::Malformed {
                    line: i + 2,
                    message: format!("bad {i}"),
                }));
            }
            let text = format!("E{i}");
            let values = [Some(text.as_str()), None];
            let record = match spare {
                Some(mut r) => {
                    self.reused.fetch_add(1, Ordering::Relaxed);
                    r.refill(i + 2, values);
                    r
                }
                None => RawRecord::new(i + 2, values),
            };
            Ok(Some(Item::Record(record)))
        }

        fn bytes_read(&self) -> u64 {
            self.next * 10
        }
    }

    /// Everything `source` yields, as text, giving each record back.
    fn drain(source: &mut dyn RecordSource) -> (Vec<String>, Option<String>) {
        let (mut seen, mut spare) = (Vec::new(), None);
        loop {
            match source.next_item(spare.take()) {
                Ok(Some(Item::Record(r))) => {
                    seen.push(format!("{} {:?}", r.line, r.values().collect::<Vec<_>>()));
                    spare = Some(r);
                }
                Ok(Some(Item::Malformed { line, message })) => {
                    seen.push(format!("{line} malformed {message}"))
                }
                Ok(None) => return (seen, None),
                Err(why) => return (seen, Some(format!("{:?} {}", why.line, why.message))),
            }
        }
    }

    #[test]
    fn read_ahead_yields_what_the_source_does_and_reuses_its_records() {
        for refuse in [false, true] {
            let n = 12 * CHUNK as u64 + 17;
            let (mut direct, _) = Numbers::new(n, refuse);
            let expected = drain(&mut direct);
            let (source, reused) = Numbers::new(n, refuse);
            let mut ahead = ReadAhead::new(Box::new(source)).unwrap();
            let got = drain(&mut ahead);
            assert_eq!(got.0.len(), n as usize);
            assert_eq!(got, expected, "refuse: {refuse}");
            assert_eq!(ahead.bytes_read(), n * 10);
            assert_eq!(got.1.is_some(), refuse, "a refusal at the end is passed on");
            // Records came back to the reader and held later ones.
            assert!(reused.load(Ordering::Relaxed) >= CHUNK, "{reused:?}");
        }
    }

    #[test]
    fn an_ingest_that_stops_reading_early_stops_the_reader() {
        let (source, _) = Numbers::new(1_000_000, false);
        let mut ahead = ReadAhead::new(Box::new(source)).unwrap();
        for _ in 0..10 {
            ahead.next_item(None).unwrap();
        }
        drop(ahead); // joins the reader, which must not wait on a full queue for ever
    }

    #[test]
    #[should_panic(expected = "the source broke")]
    fn a_panic_in_the_reader_reaches_the_ingest() {
        let (mut source, _) = Numbers::new(100_000, false);
        source.panic_at = Some(5_000);
        let mut ahead = ReadAhead::new(Box::new(source)).unwrap();
        let _ = drain(&mut ahead);
    }
}
