//! An in-memory [`Store`] for `--in-memory` and tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{with_prefix, Store, StoreResult, WriteBatch};

#[derive(Default)]
pub struct MemoryStore {
    map: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        Ok(self
            .map
            .lock()
            .expect("memory store lock")
            .get(key)
            .cloned())
    }

    fn scan_prefix(&self, prefix: &[u8]) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let map = self.map.lock().expect("memory store lock");
        Ok(with_prefix(&map, prefix)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn keys_with_prefix(&self, prefix: &[u8], limit: usize) -> StoreResult<Vec<Vec<u8>>> {
        let map = self.map.lock().expect("memory store lock");
        Ok(with_prefix(&map, prefix)
            .take(limit)
            .map(|(k, _)| k.clone())
            .collect())
    }

    fn apply(&self, batch: WriteBatch) -> StoreResult<()> {
        let mut map = self.map.lock().expect("memory store lock");
        for (k, v) in batch.ops {
            match v {
                Some(v) => {
                    map.insert(k, v);
                }
                None => {
                    map.remove(&k);
                }
            }
        }
        Ok(())
    }

    fn flush(&self) -> StoreResult<()> {
        Ok(())
    }

    fn is_persistent(&self) -> bool {
        false
    }
}
