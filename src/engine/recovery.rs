//! Recovery at open: the backend's stored queues registered, then its message state
//! rebuilt ([`Local::recover`](super::local::Local::recover)), and the move tasks read.

use std::collections::HashMap;
use std::sync::Arc;

use super::queue::{Queue, QueueRecord};
use super::{queue_key, Engine};
use crate::store::keys;
use crate::store::StoreError;

impl Engine {
    /// Refuses to open on data it cannot read whole (a record that does not decode): the
    /// error says what the operator can do.
    pub(super) fn recover(&self) -> Result<(), StoreError> {
        self.recover_all().map_err(|e| {
            StoreError(format!(
                "{}: the stored data cannot be read whole (a damaged data directory, or one \
                 written by an incompatible cauda). cauda does not start on part of it: \
                 restore a backup of the data directory, or move it away to start with an \
                 empty store",
                e.0
            ))
        })
    }

    fn recover_all(&self) -> Result<(), StoreError> {
        let by_id = self.recover_queues()?;
        let recovered = self.local.recover(&by_id, self.clock.now_ms())?;
        self.local.recover_tasks()?;
        tracing::info!(
            queues = by_id.len(),
            messages = recovered,
            "store recovered"
        );
        Ok(())
    }

    /// Registers every stored queue; every queue by id, served or not.
    fn recover_queues(&self) -> Result<HashMap<u64, Arc<Queue>>, StoreError> {
        Ok(self.register_stored(self.local.stored_queues()?))
    }

    /// Registers the backend's stored queues; every queue by id, served or not.
    pub(super) fn register_stored(&self, records: Vec<QueueRecord>) -> HashMap<u64, Arc<Queue>> {
        let mut by_id: HashMap<u64, Arc<Queue>> = HashMap::new();
        for record in records {
            let q = Arc::new(Queue::new(record, &self.settings.region, |r| {
                self.state.queue_slot(r)
            }));
            by_id.insert(q.id, q.clone());
            let mut queues = self.queues.write().expect("registry");
            let key = queue_key(&q.account, &q.region, &q.name);
            // A legacy record (no region) of a name that also has a record naming the same
            // region (possible only after --region changed): the one naming it wins, the other
            // is kept in the store untouched but not served.
            if let Some(other) = queues.get(&key) {
                let legacy = |q: &Queue| q.store_key == keys::queue(&q.account, None, &q.name);
                tracing::warn!(queue = %q.name, region = %q.region, "two stored queues share one name and region; serving the one whose record names the region");
                if !legacy(other) || legacy(&q) {
                    continue;
                }
            }
            queues.insert(key, q);
        }
        by_id
    }
}
