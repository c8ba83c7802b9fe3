//! The default [`Store`]: one sled 0.34 tree, batches applied with `apply_batch` (atomic).

use std::path::Path;

use super::{Store, StoreError, StoreResult, WriteBatch};

pub struct SledStore {
    db: sled::Db,
}

fn err(e: sled::Error) -> StoreError {
    StoreError(e.to_string())
}

impl SledStore {
    pub fn open(dir: &Path) -> StoreResult<Self> {
        let db = sled::Config::new()
            .path(dir)
            .flush_every_ms(Some(500))
            .cache_capacity(64 * 1024 * 1024)
            .open()
            .map_err(err)?;
        Ok(SledStore { db })
    }
}

impl Store for SledStore {
    fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.db.get(key).map_err(err)?.map(|v| v.to_vec()))
    }

    fn scan_prefix(&self, prefix: &[u8]) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.db
            .scan_prefix(prefix)
            .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(err))
            .collect()
    }

    fn keys_with_prefix(&self, prefix: &[u8], limit: usize) -> StoreResult<Vec<Vec<u8>>> {
        self.db
            .scan_prefix(prefix)
            .keys()
            .take(limit)
            .map(|r| r.map(|k| k.to_vec()).map_err(err))
            .collect()
    }

    fn apply(&self, batch: WriteBatch) -> StoreResult<()> {
        // One op is atomic by itself; plain inserts and removes avoid the exclusive lock sled
        // takes for every batch.
        if !batch.atomic || batch.ops.len() == 1 {
            for (k, v) in batch.ops {
                match v {
                    Some(v) => self.db.insert(k, v).map(|_| ()),
                    None => self.db.remove(k).map(|_| ()),
                }
                .map_err(err)?;
            }
            return Ok(());
        }
        let mut b = sled::Batch::default();
        for (k, v) in batch.ops {
            match v {
                Some(v) => b.insert(k, v),
                None => b.remove(k),
            }
        }
        self.db.apply_batch(b).map_err(err)
    }

    fn flush(&self) -> StoreResult<()> {
        self.db.flush().map(|_| ()).map_err(err)
    }

    fn is_persistent(&self) -> bool {
        true
    }
}
