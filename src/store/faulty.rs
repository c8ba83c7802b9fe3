//! A [`Store`] that fails on purpose, for fault-injection tests: it wraps another store and
//! fails the calls its rules choose (the nth write from now, every write, writes touching a
//! key prefix, flushes, reads), like a disk that breaks and heals. A failed write changes
//! nothing in the wrapped store.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::{Store, StoreError, StoreResult, WriteBatch};

/// The message of an injected failure: the text an operating system gives a full disk.
pub const INJECTED_FAILURE: &str = "injected failure: No space left on device (os error 28)";

#[derive(Default)]
struct Rules {
    /// Writes still to pass before the next one fails (`Some(0)`: the next fails), once.
    nth_write: Option<u64>,
    every_write: bool,
    /// Writes with an op on a key starting with one of these fail.
    prefixes: Vec<Vec<u8>>,
    flushes: bool,
    reads: bool,
}

pub struct FaultyStore {
    inner: Arc<dyn Store>,
    /// Whether it says it is persistent: then a strict-durability engine waits on its flushes.
    persistent: bool,
    rules: Mutex<Rules>,
    failed_writes: AtomicU64,
    failed_flushes: AtomicU64,
    writes: AtomicU64,
}

impl FaultyStore {
    /// Wraps `inner`; it passes every call until a rule is set.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        FaultyStore {
            persistent: inner.is_persistent(),
            inner,
            rules: Mutex::new(Rules::default()),
            failed_writes: AtomicU64::new(0),
            failed_flushes: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        }
    }

    /// Says it is persistent whatever it wraps (a memory store then behaves like a disk whose
    /// flushes an engine waits on).
    pub fn persistent(mut self) -> Self {
        self.persistent = true;
        self
    }

    fn rules(&self) -> std::sync::MutexGuard<'_, Rules> {
        self.rules
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The `n`th write from now fails (1: the next one), once.
    pub fn fail_nth_write(&self, n: u64) {
        self.rules().nth_write = Some(n.saturating_sub(1));
    }

    /// Every write fails until [`FaultyStore::heal`].
    pub fn fail_every_write(&self) {
        self.rules().every_write = true;
    }

    /// Every write with an op on a key starting with `prefix` fails until healed.
    pub fn fail_writes_touching(&self, prefix: &[u8]) {
        self.rules().prefixes.push(prefix.to_vec());
    }

    /// Every flush fails until healed.
    pub fn fail_flushes(&self) {
        self.rules().flushes = true;
    }

    /// Every read fails until healed.
    pub fn fail_reads(&self) {
        self.rules().reads = true;
    }

    /// Clears every rule: the store works again.
    pub fn heal(&self) {
        *self.rules() = Rules::default();
    }

    /// Writes failed so far.
    pub fn failed_writes(&self) -> u64 {
        self.failed_writes.load(Ordering::SeqCst)
    }

    /// Flushes failed so far.
    pub fn failed_flushes(&self) -> u64 {
        self.failed_flushes.load(Ordering::SeqCst)
    }

    /// Writes applied or failed so far (empty batches are not writes).
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }

    /// The wrapped store.
    pub fn inner(&self) -> &Arc<dyn Store> {
        &self.inner
    }

    fn injected() -> StoreError {
        StoreError(INJECTED_FAILURE.into())
    }

    fn read(&self) -> StoreResult<()> {
        if self.rules().reads {
            return Err(Self::injected());
        }
        Ok(())
    }

    /// Whether the rules fail this write (counting it against `fail_nth_write`).
    fn write_fails(&self, batch: &WriteBatch) -> bool {
        let mut rules = self.rules();
        let nth = match rules.nth_write {
            Some(0) => {
                rules.nth_write = None;
                true
            }
            Some(n) => {
                rules.nth_write = Some(n - 1);
                false
            }
            None => false,
        };
        nth || rules.every_write
            || batch
                .ops
                .iter()
                .any(|(k, _)| rules.prefixes.iter().any(|p| k.starts_with(p)))
    }
}

impl Store for FaultyStore {
    fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        self.read()?;
        self.inner.get(key)
    }

    fn scan_prefix(&self, prefix: &[u8]) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.read()?;
        self.inner.scan_prefix(prefix)
    }

    fn keys_with_prefix(&self, prefix: &[u8], limit: usize) -> StoreResult<Vec<Vec<u8>>> {
        self.read()?;
        self.inner.keys_with_prefix(prefix, limit)
    }

    fn apply(&self, batch: WriteBatch) -> StoreResult<()> {
        if batch.is_empty() {
            return self.inner.apply(batch);
        }
        self.writes.fetch_add(1, Ordering::SeqCst);
        if self.write_fails(&batch) {
            self.failed_writes.fetch_add(1, Ordering::SeqCst);
            return Err(Self::injected());
        }
        self.inner.apply(batch)
    }

    fn flush(&self) -> StoreResult<()> {
        if self.rules().flushes {
            self.failed_flushes.fetch_add(1, Ordering::SeqCst);
            return Err(Self::injected());
        }
        self.inner.flush()
    }

    fn after_flush(&self) -> StoreResult<()> {
        self.inner.after_flush()
    }

    fn is_persistent(&self) -> bool {
        self.persistent
    }

    fn journal_bytes(&self) -> Option<u64> {
        self.inner.journal_bytes()
    }

    fn recovered(&self) {
        self.inner.recovered();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn put(key: &[u8]) -> WriteBatch {
        let mut b = WriteBatch::new();
        b.put(key.to_vec(), b"v".to_vec());
        b
    }

    #[test]
    fn rules_fail_the_chosen_calls_and_change_nothing() {
        let store = FaultyStore::new(Arc::new(MemoryStore::new()));
        store.fail_nth_write(2);
        store.apply(put(b"a")).unwrap();
        assert!(store.apply(put(b"b")).is_err());
        store.apply(put(b"c")).unwrap();
        assert_eq!(store.get(b"b").unwrap(), None);
        store.fail_writes_touching(b"x");
        assert!(store.apply(put(b"xy")).is_err());
        store.apply(put(b"yx")).unwrap();
        store.fail_flushes();
        assert!(store.flush().is_err());
        store.fail_reads();
        assert!(store.get(b"a").is_err());
        store.heal();
        store.flush().unwrap();
        assert_eq!(store.scan_prefix(b"").unwrap().len(), 3);
        assert_eq!((store.failed_writes(), store.failed_flushes()), (2, 1));
        assert_eq!(store.writes(), 5);
    }
}
