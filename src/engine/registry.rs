//! The queue registry: lookup by name and ARN, ListQueues, CreateQueue, DeleteQueue,
//! ListDeadLetterSourceQueues, and the resolution of the dead-letter queues a RedrivePolicy names.

use std::sync::Arc;

use super::attributes::{self, AttributeContext, QueueLookup, RedriveAllowPolicy};
use super::queue::{Queue, QueueRecord, QueueStats};
use super::queue_attributes::validate_tags;
use super::{queue, queue_key, Engine, EngineError, EngineResult, QueueAttributes};

impl Engine {
    pub fn queue(&self, account: &str, region: &str, name: &str) -> EngineResult<Arc<Queue>> {
        self.queues
            .read()
            .expect("registry")
            .get(&queue_key(account, region, name))
            .cloned()
            .ok_or(EngineError::QueueDoesNotExist)
    }

    /// The queue named so, as [`Engine::queue`]; one this node's registry misses is looked up
    /// in the backend's store, which other nodes may share: a queue another node created is
    /// found at once, not only once this node hears of it.
    pub async fn find_queue(
        &self,
        account: &str,
        region: &str,
        name: &str,
    ) -> EngineResult<Arc<Queue>> {
        match self.queue(account, region, name) {
            Err(EngineError::QueueDoesNotExist) => {}
            found => return found,
        }
        if self
            .state
            .stored_queue(account, region, name)
            .await?
            .is_none()
        {
            return Err(EngineError::QueueDoesNotExist);
        }
        // Read again under the gate, after this node's CreateQueue or DeleteQueue in
        // progress: read before, it could bring back a queue this node just deleted.
        let _gate = self.registry_gate.lock().await;
        if let Ok(q) = self.queue(account, region, name) {
            return Ok(q);
        }
        let record = self
            .state
            .stored_queue(account, region, name)
            .await?
            .ok_or(EngineError::QueueDoesNotExist)?;
        Ok(self.register_followed(record))
    }

    /// The queue an ARN names, in the ARN's own account and region.
    pub fn queue_by_arn(&self, arn: &str) -> Option<Arc<Queue>> {
        let (region, account, name) = queue::parse_arn(arn)?;
        self.queue(account, region, name).ok()
    }

    /// Queues of `account` in `region` whose name starts with `prefix`, by name.
    pub fn list_queues(&self, account: &str, region: &str, prefix: &str) -> Vec<Arc<Queue>> {
        let queues = self.queues.read().expect("registry");
        queues
            .range(queue_key(account, region, prefix)..)
            .take_while(|((a, r, n), _)| a == account && r == region && n.starts_with(prefix))
            .map(|(_, q)| q.clone())
            .collect()
    }

    /// Every queue of every account and region, by account, region and name.
    pub fn all_queues(&self) -> Vec<Arc<Queue>> {
        self.queues
            .read()
            .expect("registry")
            .values()
            .cloned()
            .collect()
    }

    /// `q`'s visible, in-flight and delayed messages now, and its oldest message's send time.
    pub async fn queue_stats(&self, q: &Queue) -> EngineResult<QueueStats> {
        self.state.stats(q, self.now()).await
    }

    /// Every queue of `dlq`'s account and region whose RedrivePolicy targets `dlq`, by name.
    pub fn dead_letter_sources(&self, dlq: &Queue) -> Vec<Arc<Queue>> {
        let all: Vec<Arc<Queue>> = self.list_queues(&dlq.account, &dlq.region, "");
        all.into_iter()
            .filter(|q| {
                self.record_of(q, |r| {
                    r.attributes
                        .redrive_policy
                        .as_ref()
                        .is_some_and(|p| p.dead_letter_target_arn == dlq.arn)
                })
            })
            .collect()
    }

    /// Resolves every queue a RedrivePolicy among `attrs` names: the registry (or the store,
    /// for a queue another node created: [`Engine::find_queue`]), then each named queue's
    /// lock on its own, with no other lock held.
    pub(super) async fn resolve_dead_letter_targets(
        &self,
        attrs: &[(String, String)],
    ) -> ResolvedTargets {
        let mut targets = Vec::new();
        for arn in attributes::dead_letter_target_arns(attrs) {
            let Some((region, account, name)) = queue::parse_arn(&arn) else {
                continue;
            };
            let Ok(dlq) = self.find_queue(account, region, name).await else {
                continue;
            };
            let allow = self.record_of(&dlq, |r| r.attributes.redrive_allow_policy.clone());
            targets.push(ResolvedTarget {
                arn,
                account: dlq.account.clone(),
                region: dlq.region.clone(),
                fifo: dlq.fifo,
                allow,
            });
        }
        ResolvedTargets(targets)
    }

    /// CreateQueue: an existing queue of the name is returned if `attrs` match it; otherwise
    /// a new queue's record is written and the queue registered.
    pub async fn create_queue(
        &self,
        account: &str,
        region: &str,
        name: &str,
        attrs: &[(String, String)],
        tags: &[(String, String)],
    ) -> EngineResult<Arc<Queue>> {
        let fifo = fifo_flag(name, attrs)?;
        attributes::validate_queue_name(name, fifo)?;
        validate_tags(tags)?;
        let now = self.now();
        let arn = self.arn(account, region, name);
        let targets = self.resolve_dead_letter_targets(attrs).await;
        let ctx = AttributeContext {
            creating: true,
            queue_arn: &arn,
            lookup: &targets,
        };
        match self.current_queue(account, region, name).await {
            Ok(existing) => {
                let current = self.record_of(&existing, |r| r.attributes.clone());
                same_attributes(&existing, &current, fifo, attrs, &ctx)?;
                return Ok(existing);
            }
            Err(EngineError::QueueDoesNotExist) => {}
            Err(e) => return Err(e),
        }
        if self.settings.queue_deleted_cooldown_ms > 0 {
            let here = self
                .deleted_at
                .lock()
                .expect("deleted_at")
                .get(&queue_key(account, region, name))
                .copied();
            let anywhere = self.state.deleted_at(account, region, name).await?;
            if let Some(at) = here.max(anywhere) {
                if now < at + self.settings.queue_deleted_cooldown_ms {
                    return Err(EngineError::QueueDeletedRecently);
                }
            }
        }
        let mut attributes = QueueAttributes::new(fifo);
        attributes.apply(attrs, &ctx)?;
        let creation_deduplication_scope = fifo.then(|| attributes.deduplication_scope.clone());
        let record = QueueRecord {
            id: self.state.queue_id().await?,
            account: account.to_string(),
            region: Some(region.to_string()),
            name: name.to_string(),
            attributes,
            tags: tags.iter().cloned().collect(),
            created_at: now / 1000,
            last_modified_at: now / 1000,
            creation_deduplication_scope,
        };
        let id = record.id;
        let existing = match self.register(record, region).await {
            Ok(q) if q.id == id => return Ok(q),
            // Another CreateQueue of the name registered it first.
            Ok(q) => q,
            Err(lost) if !matches!(lost, EngineError::Unflushed) => {
                // Another node over the same store may have created the name meanwhile.
                match self.find_queue(account, region, name).await {
                    Ok(q) => q,
                    Err(_) => return Err(lost),
                }
            }
            Err(e) => return Err(e),
        };
        // The winner's queue is the answer, as for an existing name.
        let current = self.record_of(&existing, |r| r.attributes.clone());
        same_attributes(&existing, &current, fifo, attrs, &ctx)?;
        Ok(existing)
    }

    /// The queue named so as the store has it now: over a store other nodes share, the
    /// registry's handle is checked against the stored record, which another node may have
    /// deleted or replaced (the registry then follows it). CreateQueue's lookup: an answer
    /// from a stale handle would hand out a deleted queue's URL.
    async fn current_queue(
        &self,
        account: &str,
        region: &str,
        name: &str,
    ) -> EngineResult<Arc<Queue>> {
        if !self.state.is_shared() {
            return self.queue(account, region, name);
        }
        let _gate = self.registry_gate.lock().await;
        let stored = self.state.stored_queue(account, region, name).await?;
        match (self.queue(account, region, name).ok(), stored) {
            (Some(q), Some(record)) if q.id == record.id => Ok(q),
            (_, Some(record)) => Ok(self.register_followed(record)),
            (Some(q), None) => {
                self.forget_followed(&q);
                Err(EngineError::QueueDoesNotExist)
            }
            (None, None) => Err(EngineError::QueueDoesNotExist),
        }
    }

    /// Stores a new queue's record (through the backend) and registers the queue, unless
    /// another CreateQueue of the name registered it first (its queue is returned then). Queues are created and deleted one at a time
    /// (the registry gate, an async lock: the store write is awaited, never under a std lock).
    async fn register(&self, record: QueueRecord, region: &str) -> EngineResult<Arc<Queue>> {
        let _gate = self.registry_gate.lock().await;
        let key = queue_key(&record.account, region, &record.name);
        if let Some(existing) = self.queues.read().expect("registry").get(&key) {
            return Ok(existing.clone());
        }
        self.check_queue_count(&record.account)?;
        // A write that was not made durable is in the store all the same: the queue is
        // registered, so that memory and the store agree, and the request still fails.
        let written = self.state.create_queue(&record).await;
        if let Err(e) = &written {
            if *e != EngineError::Unflushed {
                return Err(e.clone());
            }
        }
        let q = Arc::new(Queue::new(record, region, |r| self.state.queue_slot(r)));
        self.queues
            .write()
            .expect("registry")
            .insert(key, q.clone());
        written.map(|()| q)
    }

    /// `max_queues_per_account`: an account with that many queues (every region) may create
    /// no more. Counted under the registry gate, so that concurrent creates cannot pass it.
    fn check_queue_count(&self, account: &str) -> EngineResult<()> {
        let max = self.settings.max_queues_per_account;
        let count = self
            .queues
            .read()
            .expect("registry")
            .range(queue_key(account, "", "")..)
            .take_while(|((a, _, _), _)| a == account)
            .take(max)
            .count();
        if count < max {
            return Ok(());
        }
        crate::limits::hit(
            crate::limits::Limit::QueuesPerAccount,
            &format!("account {account} has {max} queues; CreateQueue refused"),
        );
        Err(EngineError::OverLimit(
            format!("The account has reached its maximum number of queues ({max}; cauda's --max-queues-per-account).").into(),
        ))
    }

    /// Removes the queue from the registry and its record (through the backend); the backend
    /// then forgets its messages and deduplication entries (`MessageState::queue_deleted`).
    pub async fn delete_queue(&self, q: &Arc<Queue>) -> EngineResult<()> {
        let _gate = self.registry_gate.lock().await;
        let key = queue_key(&q.account, &q.region, &q.name);
        match self.queues.read().expect("registry").get(&key) {
            Some(current) if Arc::ptr_eq(current, q) => {}
            _ => return Err(EngineError::QueueDoesNotExist),
        }
        // As in `register`: a removal not made durable is in the store all the same.
        let written = self.state.delete_queue(q).await;
        if written == Err(EngineError::QueueDoesNotExist) {
            // Another node over the same store deleted it first.
            self.forget_followed(q);
            return written;
        }
        if matches!(written, Err(ref e) if *e != EngineError::Unflushed) {
            return written;
        }
        self.queues.write().expect("registry").remove(&key);
        self.state.queue_deleted(q);
        q.notify.notify_waiters();
        if self.settings.queue_deleted_cooldown_ms > 0 {
            self.deleted_at
                .lock()
                .expect("deleted_at")
                .insert(key, self.now());
        }
        written
    }
}

impl Engine {
    /// The registry follows queue `id`'s stored record as `load` reads it (`Some(None)`:
    /// deleted; `None`: unread, nothing changes), which another node (or this one) created,
    /// changed or deleted: a backend shared by several nodes calls it when told so. `refresh`
    /// makes a registered queue use the stored record. The record is read under the registry
    /// gate, after this node's own CreateQueue or DeleteQueue in progress: read before, it
    /// could bring back a queue this node just deleted.
    pub(crate) async fn follow_stored(
        &self,
        id: u64,
        load: impl std::future::Future<Output = Option<Option<QueueRecord>>>,
        refresh: impl FnOnce(&Queue, QueueRecord),
    ) {
        let _gate = self.registry_gate.lock().await;
        let Some(record) = load.await else {
            return;
        };
        let existing = self.all_queues().into_iter().find(|q| q.id == id);
        match (existing, record) {
            (Some(q), Some(record)) => refresh(&q, record),
            (Some(q), None) => self.forget_followed(&q),
            (None, Some(record)) => {
                self.register_followed(record);
            }
            (None, None) => {}
        }
    }

    /// Forgets a queue another node deleted (called under the registry gate).
    fn forget_followed(&self, q: &Arc<Queue>) {
        let key = queue_key(&q.account, &q.region, &q.name);
        let mut queues = self.queues.write().expect("registry");
        if queues.get(&key).is_some_and(|c| Arc::ptr_eq(c, q)) {
            queues.remove(&key);
        }
        drop(queues);
        self.state.queue_deleted(q);
        q.notify.notify_waiters();
    }

    /// Registers a queue another node created (called under the registry gate); a queue of
    /// the name registered here is one deleted elsewhere meanwhile, and is replaced.
    fn register_followed(&self, record: QueueRecord) -> Arc<Queue> {
        let region = record
            .region
            .clone()
            .unwrap_or_else(|| self.settings.region.clone());
        let q = Arc::new(Queue::new(record, &region, |r| self.state.queue_slot(r)));
        let key = queue_key(&q.account, &q.region, &q.name);
        let replaced = self
            .queues
            .write()
            .expect("registry")
            .insert(key, q.clone());
        if let Some(old) = replaced {
            old.notify.notify_waiters();
        }
        q
    }
}

/// The queue type CreateQueue asks for: `FifoQueue=true`, or a standard queue.
fn fifo_flag(name: &str, attrs: &[(String, String)]) -> EngineResult<bool> {
    match attrs.iter().find(|(k, _)| k == "FifoQueue") {
        Some((_, v)) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some((_, v)) if v.eq_ignore_ascii_case("false") && !name.ends_with(".fifo") => {
            Err(EngineError::UnknownAttribute("FifoQueue".into()))
        }
        Some(_) => Err(EngineError::invalid_attribute_value("FifoQueue")),
        None => Ok(false),
    }
}

/// CreateQueue of an existing name: refused unless each of `attrs` leaves the queue's
/// attributes as they are.
fn same_attributes(
    existing: &Queue,
    current: &QueueAttributes,
    fifo: bool,
    attrs: &[(String, String)],
    ctx: &AttributeContext<'_>,
) -> EngineResult<()> {
    for (k, v) in attrs {
        let mut probe = current.clone();
        if k == "FifoQueue" && existing.fifo == fifo {
            continue;
        }
        probe.apply(&[(k.clone(), v.clone())], ctx)?;
        if probe != *current || (k == "FifoQueue") {
            return Err(EngineError::QueueNameExists {
                attribute: k.clone(),
            });
        }
    }
    Ok(())
}

/// The queues that an attribute change's RedrivePolicy names, resolved before the changed
/// queue's lock is taken (the lock rule in the module doc).
pub(super) struct ResolvedTargets(Vec<ResolvedTarget>);

struct ResolvedTarget {
    arn: String,
    account: String,
    region: String,
    fifo: bool,
    allow: Option<RedriveAllowPolicy>,
}

impl QueueLookup for ResolvedTargets {
    /// Only a queue of the source's own account and region is found.
    fn dead_letter_target(
        &self,
        source_arn: &str,
        arn: &str,
    ) -> Option<(bool, Option<RedriveAllowPolicy>)> {
        let (region, account, _) = queue::parse_arn(source_arn)?;
        self.0
            .iter()
            .find(|t| t.arn == arn && t.region == region && t.account == account)
            .map(|t| (t.fifo, t.allow.clone()))
    }
}
