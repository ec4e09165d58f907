//! Values kept by a 32-byte digest of what made them, the least recently used dropped
//! past a byte budget: the server's rasterised charts and its whole panel answers.

use std::sync::{Arc, Mutex};

use lru::LruCache;

/// Values by digest, each weighed in bytes when it is kept.
pub struct Kept<T> {
    inner: Mutex<Inner<T>>,
    budget: usize,
}

struct Inner<T> {
    items: LruCache<[u8; 32], (Arc<T>, usize)>,
    bytes: usize,
    hits: u64,
}

impl<T> Kept<T> {
    pub fn with_budget(budget: usize) -> Kept<T> {
        Kept {
            inner: Mutex::new(Inner {
                items: LruCache::unbounded(),
                bytes: 0,
                hits: 0,
            }),
            budget,
        }
    }

    /// The value kept for `key`, if any.
    pub fn get(&self, key: &[u8; 32]) -> Option<Arc<T>> {
        let mut inner = self.lock();
        let found = inner.items.get(key).map(|(v, _)| v.clone());
        inner.hits += u64::from(found.is_some());
        found
    }

    /// Keeps `value`, of `bytes` bytes, making room if need be. It is made outside the
    /// lock, so two requests for a new value may both make it: that costs a little time
    /// and nothing else.
    pub fn put(&self, key: [u8; 32], value: T, bytes: usize) -> Arc<T> {
        let value = Arc::new(value);
        let mut inner = self.lock();
        if bytes <= self.budget {
            if let Some((_, old)) = inner.items.put(key, (value.clone(), bytes)) {
                inner.bytes -= old;
            }
            inner.bytes += bytes;
        }
        while inner.bytes > self.budget {
            match inner.items.pop_lru() {
                Some((_, (_, old))) => inner.bytes -= old,
                None => break,
            }
        }
        value
    }

    /// Drops everything (a new lake version makes every answer old).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.items.clear();
        inner.bytes = 0;
    }

    /// Values held, their bytes, and the lookups answered from them.
    pub fn stats(&self) -> (usize, usize, u64) {
        let inner = self.lock();
        (inner.items.len(), inner.bytes, inner.hits)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<T>> {
        self.inner.lock().expect("kept values lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_budget_the_least_recently_used_go_first() {
        let kept: Kept<&str> = Kept::with_budget(25);
        kept.put([1; 32], "one", 10);
        kept.put([2; 32], "two", 10);
        assert_eq!(kept.get(&[1; 32]).as_deref(), Some(&"one")); // one is now the newest
        kept.put([3; 32], "three", 10); // 30 bytes: two goes
        assert_eq!(kept.get(&[2; 32]), None);
        assert_eq!(kept.stats(), (2, 20, 1));
        // the same key again replaces its value and its weight
        kept.put([3; 32], "three again", 12);
        assert_eq!(kept.stats(), (2, 22, 1));
        assert_eq!(kept.get(&[3; 32]).as_deref(), Some(&"three again"));
        // a value over the whole budget is given back but not kept
        kept.put([4; 32], "huge", 26);
        assert_eq!(kept.get(&[4; 32]), None);
        kept.clear();
        assert_eq!(kept.stats().0, 0);
        assert_eq!(kept.stats().1, 0);
    }
}
