//! The queue engine: queues, messages, visibility, FIFO groups, deduplication, redrive and
//! message move tasks, over a [`Store`].
//!
//! Every mutation follows one order: lock the queue → validate → build a `WriteBatch` →
//! `store.apply` → only on success change memory → unlock → await durability → notify
//! waiters. A failed write leaves memory untouched. This module never sees HTTP, XML or JSON
//! wire types; its errors are [`SqsError`]s whose codes the protocol layer renders.
//!
//! **The lock rule: never take the registry's lock or another queue's lock while holding a
//! queue's lock**, and never hold one across an `.await`. Whatever a change needs from other
//! queues (a dead-letter queue's type, ARN and RedriveAllowPolicy, a move's destination) is
//! resolved first, each lock taken and released on its own; the change then runs under its
//! own queue's lock, re-checking what may have moved meanwhile. A message moving between
//! queues is one store batch written under the source's lock; the destination's memory is
//! updated after that lock is released. Two queues' locks are thus never held together, so
//! no order between them can deadlock (two SetQueueAttributes naming each other as
//! dead-letter queue once did). The move-task table's lock may be taken under a queue's lock
//! (a move records its progress in its own store batch), never a queue's lock under it.

pub mod attributes;
pub mod janitor;
pub mod message;
mod messaging;
pub mod move_tasks;
pub mod policy;
pub mod queue;
pub mod receipt;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::watch;

use crate::clock::Clock;
use crate::error::{ErrorCode, SqsError, SqsResult};
use crate::store::{keys, records, GroupCommit, Store, StoreError, WriteBatch};

pub use attributes::QueueAttributes;
pub use messaging::{ReceiveRequest, ReceivedMessage, SendEntry, SendOutcome};
pub use move_tasks::MoveTaskInfo;
pub use queue::{Counts, Queue, QueueRecord};

use attributes::{AttributeContext, QueueLookup, RedriveAllowPolicy};
use queue::{DedupRecord, MessageMeta, MessageRecord, MessageStateRecord, QueueState};

/// Engine settings taken from the server configuration.
#[derive(Clone, Debug)]
pub struct EngineSettings {
    /// The region of queue records stored before queues had regions.
    pub region: String,
    pub max_inflight: usize,
    pub purge_cooldown_ms: u64,
    pub queue_deleted_cooldown_ms: u64,
    /// Wait for a flush before acknowledging a mutation.
    pub sync_writes: bool,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            region: "us-east-1".into(),
            max_inflight: 120_000,
            purge_cooldown_ms: 60_000,
            queue_deleted_cooldown_ms: 0,
            sync_writes: true,
        }
    }
}

/// A queue's identity: (account, region, name).
type QueueKey = (String, String, String);

fn queue_key(account: &str, region: &str, name: &str) -> QueueKey {
    (account.to_string(), region.to_string(), name.to_string())
}

pub struct Engine {
    store: Arc<dyn Store>,
    commit: Option<Arc<GroupCommit>>,
    pub clock: Arc<dyn Clock>,
    pub settings: EngineSettings,
    queues: RwLock<BTreeMap<QueueKey, Arc<Queue>>>,
    deleted_at: Mutex<HashMap<QueueKey, u64>>,
    seq: AtomicU64,
    shutdown: watch::Sender<bool>,
    move_tasks: move_tasks::MoveTasks,
}

fn internal(e: StoreError) -> SqsError {
    tracing::error!(error = %e, "store failure");
    SqsError::internal("Internal error.")
}

impl Engine {
    /// Opens the engine over `store`, rebuilding every in-memory index from it. Must run inside
    /// a tokio runtime (it starts the flusher).
    pub fn open(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: EngineSettings,
    ) -> Result<Arc<Engine>, StoreError> {
        let commit = (settings.sync_writes && store.is_persistent())
            .then(|| GroupCommit::start(store.clone()));
        let engine = Engine {
            store,
            commit,
            seq: AtomicU64::new(clock.now_ms().saturating_mul(1_000_000)),
            clock,
            settings,
            queues: RwLock::new(BTreeMap::new()),
            deleted_at: Mutex::new(HashMap::new()),
            shutdown: watch::channel(false).0,
            move_tasks: move_tasks::MoveTasks::default(),
        };
        engine.recover()?;
        Ok(Arc::new(engine))
    }

    fn recover(&self) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut by_id: HashMap<u64, Arc<Queue>> = HashMap::new();
        let mut max_seq = 0u64;
        for (_, v) in self.store.scan_prefix(&[keys::QUEUE])? {
            let record: QueueRecord = records::decode(&v)?;
            max_seq = max_seq.max(record.id);
            let q = Arc::new(Queue::new(record, &self.settings.region));
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
        let mut garbage = WriteBatch::new();
        let mut states: HashMap<(u64, u64), MessageStateRecord> = HashMap::new();
        for (k, v) in self.store.scan_prefix(&[keys::MESSAGE_STATE])? {
            if let Some(id) = keys::split_id_key(&k) {
                states.insert(id, records::decode(&v)?);
            }
        }
        let mut recovered = 0usize;
        for (k, v) in self.store.scan_prefix(&[keys::MESSAGE])? {
            let Some((queue_id, seq)) = keys::split_id_key(&k) else {
                continue;
            };
            max_seq = max_seq.max(seq);
            let Some(q) = by_id.get(&queue_id) else {
                garbage.delete(k);
                garbage.delete(keys::message_state(queue_id, seq));
                continue;
            };
            let record: MessageRecord = records::decode(&v)?;
            let state = states
                .remove(&(queue_id, seq))
                .unwrap_or(MessageStateRecord {
                    visible_at: record.first_visible_at.max(record.sent_at),
                    ..Default::default()
                });
            let meta = MessageMeta {
                state,
                sent_at: record.sent_at,
                group: record.group_id.as_deref().map(Arc::from),
            };
            q.lock().insert(seq, meta, now);
            recovered += 1;
        }
        for ((queue_id, seq), _) in states {
            garbage.delete(keys::message_state(queue_id, seq));
        }
        for (k, v) in self.store.scan_prefix(&[keys::DEDUP])? {
            let record: DedupRecord = records::decode(&v)?;
            match keys::split_queue_id(&k).and_then(|id| by_id.get(&id)) {
                Some(q) if record.expires_at > now => {
                    let mut st = q.lock();
                    st.dedup_expiry
                        .insert((record.expires_at, record.key.clone()));
                    st.dedup.insert(record.key.clone(), record);
                }
                _ => garbage.delete(k),
            }
        }
        self.seq.fetch_max(max_seq + 1, Ordering::SeqCst);
        self.move_tasks.recover(self.store.as_ref())?;
        if !garbage.is_empty() {
            self.store.apply(garbage)?;
        }
        tracing::info!(
            queues = by_id.len(),
            messages = recovered,
            "store recovered"
        );
        Ok(())
    }

    /// Starts the background work: the janitor and any message move task left running.
    pub fn start(self: &Arc<Self>) {
        let engine = Arc::downgrade(self);
        let mut shutdown = self.shutdown.subscribe();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = shutdown.changed() => return,
                }
                let Some(engine) = engine.upgrade() else {
                    return;
                };
                engine.janitor_pass().await;
            }
        });
        move_tasks::resume(self);
    }

    /// Releases long-poll waiters and stops background work.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
        for q in self.queues.read().expect("registry").values() {
            q.notify.notify_waiters();
        }
    }

    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Flushes the store (graceful shutdown).
    pub fn flush(&self) -> SqsResult<()> {
        self.store.flush().map_err(internal)
    }

    pub(crate) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::SeqCst)
    }

    pub(crate) fn now(&self) -> u64 {
        self.clock.now_ms()
    }

    pub(crate) fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Applies a batch; returns the ticket to wait on for durability.
    pub(crate) fn apply(&self, batch: WriteBatch) -> SqsResult<Option<u64>> {
        if batch.is_empty() {
            return Ok(None);
        }
        self.store.apply(batch).map_err(internal)?;
        Ok(self.commit.as_ref().map(|c| c.ticket()))
    }

    /// Waits until the write of `ticket` is durable (strict durability only).
    pub(crate) async fn durable(&self, ticket: Option<u64>) -> SqsResult<()> {
        match (ticket, &self.commit) {
            (Some(t), Some(c)) => c.wait(t).await.map_err(internal),
            _ => Ok(()),
        }
    }

    pub fn arn(&self, account: &str, region: &str, name: &str) -> String {
        queue::arn(region, account, name)
    }

    // ----- queue registry -----

    pub fn queue(&self, account: &str, region: &str, name: &str) -> SqsResult<Arc<Queue>> {
        self.queues
            .read()
            .expect("registry")
            .get(&queue_key(account, region, name))
            .cloned()
            .ok_or_else(SqsError::queue_does_not_exist)
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

    /// Every queue of `dlq`'s account and region whose RedrivePolicy targets `dlq`, by name.
    pub fn dead_letter_sources(&self, dlq: &Queue) -> Vec<Arc<Queue>> {
        let all: Vec<Arc<Queue>> = self.list_queues(&dlq.account, &dlq.region, "");
        all.into_iter()
            .filter(|q| {
                q.lock()
                    .attributes()
                    .redrive_policy
                    .as_ref()
                    .is_some_and(|p| p.dead_letter_target_arn == dlq.arn)
            })
            .collect()
    }

    /// Resolves every queue a RedrivePolicy among `attrs` names: the registry, then each
    /// named queue's lock on its own, with no other lock held.
    fn resolve_dead_letter_targets(&self, attrs: &[(String, String)]) -> ResolvedTargets {
        ResolvedTargets(
            attributes::dead_letter_target_arns(attrs)
                .into_iter()
                .filter_map(|arn| {
                    let dlq = self.queue_by_arn(&arn)?;
                    let allow = dlq.lock().attributes().redrive_allow_policy.clone();
                    Some(ResolvedTarget {
                        arn,
                        account: dlq.account.clone(),
                        region: dlq.region.clone(),
                        fifo: dlq.fifo,
                        allow,
                    })
                })
                .collect(),
        )
    }

    pub async fn create_queue(
        &self,
        account: &str,
        region: &str,
        name: &str,
        attrs: &[(String, String)],
        tags: &[(String, String)],
    ) -> SqsResult<Arc<Queue>> {
        let fifo = match attrs.iter().find(|(k, _)| k == "FifoQueue") {
            Some((_, v)) if v.eq_ignore_ascii_case("true") => true,
            Some((_, v)) if v.eq_ignore_ascii_case("false") && !name.ends_with(".fifo") => {
                return Err(SqsError::unknown_attribute("FifoQueue"))
            }
            Some(_) => return Err(SqsError::invalid_attribute_value("FifoQueue")),
            None => false,
        };
        attributes::validate_queue_name(name, fifo)?;
        validate_tags(tags, 0)?;
        let now = self.now();
        let arn = self.arn(account, region, name);
        let targets = self.resolve_dead_letter_targets(attrs);
        if let Ok(existing) = self.queue(account, region, name) {
            let st = existing.lock();
            let current = st.attributes().clone();
            for (k, v) in attrs {
                let mut probe = current.clone();
                let ctx = AttributeContext {
                    creating: true,
                    queue_arn: &arn,
                    lookup: &targets,
                };
                if k == "FifoQueue" && existing.fifo == fifo {
                    continue;
                }
                probe.apply(&[(k.clone(), v.clone())], &ctx)?;
                if probe != current || (k == "FifoQueue") {
                    return Err(SqsError::new(
                        ErrorCode::QueueNameExists,
                        format!("A queue already exists with the same name and a different value for attribute {k}"),
                    ));
                }
            }
            drop(st);
            return Ok(existing);
        }
        if self.settings.queue_deleted_cooldown_ms > 0 {
            let deleted = self.deleted_at.lock().expect("deleted_at");
            if let Some(at) = deleted.get(&queue_key(account, region, name)) {
                if now < at + self.settings.queue_deleted_cooldown_ms {
                    return Err(SqsError::new(
                        ErrorCode::QueueDeletedRecently,
                        "You must wait 60 seconds after deleting a queue before you can create another with the same name.",
                    ));
                }
            }
        }
        let mut attributes = QueueAttributes::new(fifo);
        let ctx = AttributeContext {
            creating: true,
            queue_arn: &arn,
            lookup: &targets,
        };
        attributes.apply(attrs, &ctx)?;
        let creation_deduplication_scope = fifo.then(|| attributes.deduplication_scope.clone());
        let record = QueueRecord {
            id: self.next_seq(),
            account: account.to_string(),
            region: Some(region.to_string()),
            name: name.to_string(),
            attributes,
            tags: tags.iter().cloned().collect(),
            created_at: now / 1000,
            last_modified_at: now / 1000,
            creation_deduplication_scope,
        };
        let ticket;
        let q;
        {
            let mut queues = self.queues.write().expect("registry");
            let key = queue_key(account, region, name);
            if let Some(existing) = queues.get(&key) {
                // Lost a race with an identical CreateQueue.
                return Ok(existing.clone());
            }
            let mut batch = WriteBatch::new();
            batch.put(
                keys::queue(account, Some(region), name),
                records::encode(&record),
            );
            ticket = self.apply(batch)?;
            q = Arc::new(Queue::new(record, region));
            queues.insert(key, q.clone());
        }
        self.durable(ticket).await?;
        Ok(q)
    }

    /// Deletes the queue record at once; its messages and dedup entries are removed in the
    /// background, in chunks (after a crash, recovery drops what is left: records of a queue id
    /// that no queue has).
    pub async fn delete_queue(&self, q: &Arc<Queue>) -> SqsResult<()> {
        let mut batch = WriteBatch::new();
        batch.delete(q.store_key.clone());
        let ticket = {
            let mut queues = self.queues.write().expect("registry");
            let key = queue_key(&q.account, &q.region, &q.name);
            match queues.get(&key) {
                Some(current) if Arc::ptr_eq(current, q) => {}
                _ => return Err(SqsError::queue_does_not_exist()),
            }
            let ticket = self.apply(batch)?;
            queues.remove(&key);
            ticket
        };
        // The indexes of a large queue take tens of milliseconds to free: they are moved out
        // here and dropped on the cleanup thread, not on a request worker.
        let indexes = {
            let mut st = q.lock();
            st.deleted = true;
            st.take_indexes()
        };
        q.notify.notify_waiters();
        let store = self.store.clone();
        let queue_id = q.id;
        let shutdown = self.shutdown_signal();
        tokio::task::spawn_blocking(move || {
            free_gradually(indexes, &shutdown);
            if let Err(e) = remove_queue_records(store.as_ref(), queue_id, &shutdown) {
                tracing::warn!(error = %e, "cleaning up a deleted queue failed; recovery will finish it");
            }
        });
        if self.settings.queue_deleted_cooldown_ms > 0 {
            self.deleted_at
                .lock()
                .expect("deleted_at")
                .insert(queue_key(&q.account, &q.region, &q.name), self.now());
        }
        self.durable(ticket).await
    }

    /// GetQueueAttributes: `names` may hold `All`; unknown names are rejected.
    pub fn queue_attributes(
        &self,
        q: &Queue,
        names: &[String],
    ) -> SqsResult<Vec<(String, String)>> {
        for n in names {
            if n != "All" && !attributes::ALL_ATTRIBUTE_NAMES.contains(&n.as_str()) {
                return Err(SqsError::unknown_attribute(n));
            }
        }
        let all = names.iter().any(|n| n == "All");
        let now = self.now();
        let mut st = q.lock();
        let counts = st.counts(now);
        let mut out = Vec::new();
        for &name in attributes::ALL_ATTRIBUTE_NAMES {
            if !all && !names.iter().any(|n| n == name) {
                continue;
            }
            let value = match name {
                "ApproximateNumberOfMessages" => Some(counts.visible.to_string()),
                "ApproximateNumberOfMessagesNotVisible" => Some(counts.in_flight.to_string()),
                "ApproximateNumberOfMessagesDelayed" => Some(counts.delayed.to_string()),
                "CreatedTimestamp" => Some(st.record.created_at.to_string()),
                "LastModifiedTimestamp" => Some(st.record.last_modified_at.to_string()),
                "QueueArn" => Some(q.arn.clone()),
                other => st.attributes().get(other),
            };
            if let Some(v) = value {
                out.push((name.to_string(), v));
            }
        }
        Ok(out)
    }

    pub async fn set_queue_attributes(
        &self,
        q: &Arc<Queue>,
        attrs: &[(String, String)],
    ) -> SqsResult<()> {
        if attrs.is_empty() {
            return Err(SqsError::missing_parameter("Attribute.1.Name"));
        }
        let targets = self.resolve_dead_letter_targets(attrs);
        let ticket = {
            let mut st = q.lock();
            if st.deleted {
                return Err(SqsError::queue_does_not_exist());
            }
            let mut next = st.record.clone();
            let ctx = AttributeContext {
                creating: false,
                queue_arn: &q.arn,
                lookup: &targets,
            };
            next.attributes.apply(attrs, &ctx)?;
            next.last_modified_at = self.now() / 1000;
            let mut batch = WriteBatch::new();
            batch.put(q.store_key.clone(), records::encode(&next));
            let ticket = self.apply(batch)?;
            st.record = next;
            q.refresh_policy(&st.record);
            ticket
        };
        // A lower retention period or a shorter delay may change what is receivable now.
        self.expire(q).await?;
        q.notify.notify_waiters();
        self.durable(ticket).await
    }

    /// Changes the stored record of a queue (tags, policy) through `change`.
    async fn update_record<F>(&self, q: &Arc<Queue>, change: F) -> SqsResult<()>
    where
        F: FnOnce(&mut QueueRecord) -> SqsResult<()>,
    {
        let ticket = {
            let mut st = q.lock();
            if st.deleted {
                return Err(SqsError::queue_does_not_exist());
            }
            let mut next = st.record.clone();
            change(&mut next)?;
            let mut batch = WriteBatch::new();
            batch.put(q.store_key.clone(), records::encode(&next));
            let ticket = self.apply(batch)?;
            st.record = next;
            q.refresh_policy(&st.record);
            ticket
        };
        self.durable(ticket).await
    }

    pub async fn tag_queue(&self, q: &Arc<Queue>, tags: &[(String, String)]) -> SqsResult<()> {
        if tags.is_empty() {
            return Err(SqsError::missing_parameter("Tags"));
        }
        validate_tags(tags, 0)?;
        self.update_record(q, |r| {
            for (k, v) in tags {
                r.tags.insert(k.clone(), v.clone());
            }
            if r.tags.len() > 50 {
                return Err(SqsError::new(
                    ErrorCode::InvalidParameterValue,
                    "Too many tags added for queue. A queue can have at most 50 tags.",
                ));
            }
            Ok(())
        })
        .await
    }

    pub async fn untag_queue(&self, q: &Arc<Queue>, keys_to_remove: &[String]) -> SqsResult<()> {
        if keys_to_remove.is_empty() {
            return Err(SqsError::missing_parameter("TagKeys"));
        }
        self.update_record(q, |r| {
            for k in keys_to_remove {
                r.tags.remove(k);
            }
            Ok(())
        })
        .await
    }

    pub fn queue_tags(&self, q: &Queue) -> BTreeMap<String, String> {
        q.lock().record.tags.clone()
    }

    pub async fn add_permission(
        &self,
        q: &Arc<Queue>,
        label: &str,
        accounts: &[String],
        actions: &[String],
    ) -> SqsResult<()> {
        validate_label(label)?;
        if accounts.is_empty() {
            return Err(SqsError::missing_parameter("AWSAccountIds"));
        }
        if actions.is_empty() {
            return Err(SqsError::missing_parameter("Actions"));
        }
        if actions.len() > 7 {
            return Err(SqsError::new(
                ErrorCode::OverLimit,
                format!(
                    "{} Actions were found, maximum allowed is 7.",
                    actions.len()
                ),
            ));
        }
        for a in actions {
            if !PERMISSION_ACTIONS.contains(&a.as_str()) {
                return Err(SqsError::invalid_parameter(
                    "ActionName.1",
                    a,
                    "Only the queue owner is allowed to invoke this action.",
                ));
            }
        }
        for a in accounts {
            if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                return Err(SqsError::invalid_parameter(
                    "AWSAccountId",
                    a,
                    "An AWS account id must have 12 digits.",
                ));
            }
        }
        let arn = q.arn.clone();
        self.update_record(q, |r| {
            let mut policy: serde_json::Value = match &r.attributes.policy {
                Some(p) => serde_json::from_str(p).unwrap_or_else(|_| serde_json::json!({})),
                None => serde_json::json!({"Version": "2008-10-17", "Id": format!("{arn}/SQSDefaultPolicy"), "Statement": []}),
            };
            let statements = statements_mut(&mut policy);
            if statements.iter().any(|s| s.get("Sid").and_then(|v| v.as_str()) == Some(label)) {
                return Err(SqsError::invalid_parameter("Label", label, "Already exists."));
            }
            if statements.len() >= 20 {
                return Err(SqsError::new(ErrorCode::OverLimit, "A queue policy can have at most 20 statements."));
            }
            let one_or_many = |v: Vec<String>| {
                if v.len() == 1 {
                    serde_json::Value::String(v.into_iter().next().unwrap_or_default())
                } else {
                    serde_json::Value::from(v)
                }
            };
            let principals = one_or_many(accounts.iter().map(|a| format!("arn:aws:iam::{a}:root")).collect());
            let actions = one_or_many(actions.iter().map(|a| format!("SQS:{a}")).collect());
            statements.push(serde_json::json!({
                "Sid": label, "Effect": "Allow", "Principal": {"AWS": principals}, "Action": actions, "Resource": arn,
            }));
            r.attributes.policy = Some(policy.to_string());
            Ok(())
        })
        .await
    }

    pub async fn remove_permission(&self, q: &Arc<Queue>, label: &str) -> SqsResult<()> {
        if label.is_empty() {
            return Err(SqsError::missing_parameter("Label"));
        }
        self.update_record(q, |r| {
            let not_found = || SqsError::invalid_parameter("Label", label, "can't find label.");
            let mut policy: serde_json::Value =
                serde_json::from_str(r.attributes.policy.as_deref().ok_or_else(not_found)?)
                    .map_err(|_| not_found())?;
            let statements = statements_mut(&mut policy);
            let before = statements.len();
            statements.retain(|s| s.get("Sid").and_then(|v| v.as_str()) != Some(label));
            if statements.len() == before {
                return Err(not_found());
            }
            r.attributes.policy = if statements.is_empty() {
                None
            } else {
                Some(policy.to_string())
            };
            Ok(())
        })
        .await
    }

    // ----- timed work -----

    async fn janitor_pass(&self) {
        let queues: Vec<Arc<Queue>> = self
            .queues
            .read()
            .expect("registry")
            .values()
            .cloned()
            .collect();
        for q in queues {
            if let Err(e) = self.expire(&q).await {
                tracing::warn!(queue = %q.name, error = %e, "janitor pass failed");
            }
        }
    }

    /// Removes messages past their retention, expired dedup entries and receive attempts.
    pub(crate) async fn expire(&self, q: &Arc<Queue>) -> SqsResult<()> {
        let now = self.now();
        {
            let mut st = q.lock();
            let expired = st.expired(now);
            let mut batch = WriteBatch::new();
            for &seq in &expired {
                batch.delete(keys::message(q.id, seq));
                batch.delete(keys::message_state(q.id, seq));
            }
            let dedup_expired: Vec<(u64, String)> = st
                .dedup_expiry
                .iter()
                .take_while(|(at, _)| *at <= now)
                .cloned()
                .collect();
            for (_, key) in &dedup_expired {
                batch.delete(keys::dedup(q.id, key));
            }
            if batch.is_empty() {
                st.attempts.retain(|_, a| a.expires_at > now);
                return Ok(());
            }
            // Expiry is nobody's acknowledged write: sled's periodic flush makes it durable.
            self.apply(batch)?;
            for seq in expired {
                st.remove(seq);
            }
            for entry in dedup_expired {
                st.dedup.remove(&entry.1);
                st.dedup_expiry.remove(&entry);
            }
            st.attempts.retain(|_, a| a.expires_at > now);
        }
        Ok(())
    }
}

/// The queues that an attribute change's RedrivePolicy names, resolved before the changed
/// queue's lock is taken (the lock rule in the module doc).
struct ResolvedTargets(Vec<ResolvedTarget>);

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

/// Frees the indexes of a deleted queue a slice at a time: a queue with a few hundred
/// thousand messages and dedup entries takes over 100 ms of CPU to free, which at once would
/// take a core from the requests. At shutdown the rest is freed at once.
fn free_gradually(state: QueueState, shutdown: &watch::Receiver<bool>) {
    fn slowly<T>(items: impl IntoIterator<Item = T>, shutdown: &watch::Receiver<bool>) {
        for (i, item) in items.into_iter().enumerate() {
            drop(item);
            if i % 4_096 == 4_095 && !*shutdown.borrow() {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
    }
    let QueueState {
        messages,
        waiting,
        ready,
        by_sent,
        in_flight,
        delayed,
        groups,
        dedup,
        dedup_expiry,
        attempts,
        ..
    } = state;
    slowly(messages, shutdown);
    slowly(waiting, shutdown);
    slowly(ready, shutdown);
    slowly(by_sent, shutdown);
    slowly(in_flight, shutdown);
    slowly(delayed, shutdown);
    slowly(groups, shutdown);
    slowly(dedup, shutdown);
    slowly(dedup_expiry, shutdown);
    slowly(attempts, shutdown);
}

/// Records removed per store batch when a deleted queue is cleaned up: each batch holds the
/// store's lock for ~1.5 µs per record, so small batches keep requests from waiting behind it.
const CLEANUP_CHUNK: usize = 128;

/// Removes every message, message state and dedup record of a deleted queue, in chunks of
/// [`CLEANUP_CHUNK`] records with a pause between them (runs on a blocking thread). Stops at
/// shutdown, which must not wait for it: recovery drops what is left on the next start.
fn remove_queue_records(
    store: &dyn Store,
    queue_id: u64,
    shutdown: &watch::Receiver<bool>,
) -> Result<(), StoreError> {
    for prefix in [keys::MESSAGE, keys::MESSAGE_STATE, keys::DEDUP] {
        let prefix = keys::queue_prefix(prefix, queue_id);
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let chunk = store.keys_with_prefix(&prefix, CLEANUP_CHUNK)?;
            if chunk.is_empty() {
                break;
            }
            let mut batch = WriteBatch::new();
            for k in chunk {
                batch.delete(k);
            }
            store.apply(batch)?;
            // Background work: leave the store to the requests between chunks.
            std::thread::sleep(std::time::Duration::from_millis(4));
        }
    }
    Ok(())
}

fn statements_mut(policy: &mut serde_json::Value) -> &mut Vec<serde_json::Value> {
    if !policy.is_object() {
        *policy = serde_json::json!({});
    }
    let obj = policy.as_object_mut().expect("object");
    let entry = obj
        .entry("Statement")
        .or_insert_with(|| serde_json::json!([]));
    if !entry.is_array() {
        let single = entry.take();
        *entry = serde_json::Value::Array(if single.is_null() {
            vec![]
        } else {
            vec![single]
        });
    }
    entry.as_array_mut().expect("array")
}

const PERMISSION_ACTIONS: &[&str] = &[
    "*",
    "SendMessage",
    "ReceiveMessage",
    "DeleteMessage",
    "ChangeMessageVisibility",
    "GetQueueAttributes",
    "GetQueueUrl",
    "ListDeadLetterSourceQueues",
    "PurgeQueue",
    "ListQueueTags",
];

fn validate_label(label: &str) -> SqsResult<()> {
    if label.is_empty() {
        return Err(SqsError::missing_parameter("Label"));
    }
    if label.len() > 80
        || !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(SqsError::invalid_parameter(
            "Label",
            label,
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length.",
        ));
    }
    Ok(())
}

/// Tag rules: keys 1–128, values 0–256, no `aws:` prefix, letters, digits, whitespace and
/// `_ . : / = + - @`; at most 50 on a queue.
fn validate_tags(tags: &[(String, String)], existing: usize) -> SqsResult<()> {
    let allowed = |s: &str| {
        s.chars()
            .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
    };
    for (k, v) in tags {
        if k.is_empty()
            || k.chars().count() > 128
            || !allowed(k)
            || k.to_ascii_lowercase().starts_with("aws:")
        {
            return Err(SqsError::new(
                ErrorCode::InvalidParameterValue,
                format!("Tag key {k} is invalid."),
            ));
        }
        if v.chars().count() > 256 || !allowed(v) {
            return Err(SqsError::new(
                ErrorCode::InvalidParameterValue,
                format!("Tag value {v} is invalid."),
            ));
        }
    }
    if existing + tags.len() > 50 {
        return Err(SqsError::new(
            ErrorCode::InvalidParameterValue,
            "Too many tags added for queue. A queue can have at most 50 tags.",
        ));
    }
    Ok(())
}
