//! Storage: a small synchronous key-value trait with one atomic write path.
//!
//! The engine encodes its records with [`keys`] and [`records`]; backends know nothing of SQS.
//! Must not depend on hyper, http, quick-xml or the engine.

pub mod durability;
pub mod faulty;
pub mod keys;
pub mod memory;
pub mod records;
pub mod sled_store;

#[cfg(test)]
mod conformance;

use std::collections::BTreeMap;
use std::ops::Bound;

pub use durability::GroupCommit;
pub use faulty::FaultyStore;
pub use memory::MemoryStore;
pub use sled_store::SledStore;

/// The entries of `map` whose key starts with `prefix`, in key order (both backends keep their
/// records in such a map).
fn with_prefix<'a, V>(
    map: &'a BTreeMap<Vec<u8>, V>,
    prefix: &'a [u8],
) -> impl Iterator<Item = (&'a Vec<u8>, &'a V)> + 'a {
    map.range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded))
        .take_while(move |(k, _)| k.starts_with(prefix))
}

/// A failed store operation. Always an internal error towards clients.
#[derive(Debug, thiserror::Error)]
#[error("store error: {0}")]
pub struct StoreError(pub String);

pub type StoreResult<T> = Result<T, StoreError>;

/// Logs a store failure at error level, with its cause; at most one line per
/// [`LOG_INTERVAL`](crate::log_throttle::LOG_INTERVAL) (a broken disk fails every request, and
/// a line each would flood the log): the line says how many failures it stands for.
pub fn log_failure(what: &str, e: &StoreError) {
    static THROTTLE: crate::log_throttle::LogThrottle = crate::log_throttle::LogThrottle::new();
    if let Some(failures) = THROTTLE.hit() {
        tracing::error!(error = %e, failures, "{what}");
    }
}

/// What [`Store::for_each_with_prefix`] calls with each pair (key, value).
pub type Visit<'a> = dyn FnMut(&[u8], &[u8]) -> StoreResult<()> + 'a;

/// One write: a key and its new value, or `None` to delete it.
pub type Op = (Vec<u8>, Option<Vec<u8>>);

/// A set of puts and deletes for [`Store::apply`], applied in order, all or nothing.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    pub ops: Vec<Op>,
}

impl WriteBatch {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push((key, Some(value)));
    }
    pub fn delete(&mut self, key: Vec<u8>) {
        self.ops.push((key, None));
    }
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
    pub fn len(&self) -> usize {
        self.ops.len()
    }
}

pub trait Store: Send + Sync + 'static {
    fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>>;
    /// Every pair whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, prefix: &[u8]) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>>;
    /// Calls `f` with every pair whose key starts with `prefix`, in key order, without
    /// copying them all out first (recovery reads millions). `f` must not call the store.
    fn for_each_with_prefix(&self, prefix: &[u8], f: &mut Visit<'_>) -> StoreResult<()> {
        for (k, v) in self.scan_prefix(prefix)? {
            f(&k, &v)?;
        }
        Ok(())
    }
    /// How many keys start with `prefix` (recovery sizes a queue's table from it).
    fn count_with_prefix(&self, prefix: &[u8]) -> StoreResult<usize> {
        Ok(self.keys_with_prefix(prefix, usize::MAX)?.len())
    }
    /// At most `limit` keys starting with `prefix`, in key order (no values).
    fn keys_with_prefix(&self, prefix: &[u8], limit: usize) -> StoreResult<Vec<Vec<u8>>>;
    /// Applies every op of the batch in order, all or none.
    fn apply(&self, batch: WriteBatch) -> StoreResult<()>;
    /// Makes every applied batch durable (a no-op for memory).
    fn flush(&self) -> StoreResult<()>;
    /// Work a flush leaves for after its waiters were answered (the sled store: moving cold
    /// writes to sled, see `sled_store/cold.rs`); the group commit's flusher calls it.
    fn after_flush(&self) -> StoreResult<()> {
        Ok(())
    }
    /// Whether [`Store::flush`] does real work (false for memory).
    fn is_persistent(&self) -> bool;
    /// Bytes of its on-disk journal, live records and those not compacted away yet; `None`
    /// for a store without one.
    fn journal_bytes(&self) -> Option<u64> {
        None
    }
    /// The opener has read the records it recovers from: the store may drop what it kept in
    /// memory only for that (the sled store: lean records' values, see [`keys::is_lean`]).
    /// Reads stay correct after it, if slower.
    fn recovered(&self) {}
}

/// What the store and its group commit tell about themselves, for the metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StoreStats {
    /// [`Store::journal_bytes`].
    pub journal_bytes: Option<u64>,
    /// Flushes the group commit made since the start.
    pub flushes: u64,
    /// The time those flushes took, together.
    pub flush_time: std::time::Duration,
}
