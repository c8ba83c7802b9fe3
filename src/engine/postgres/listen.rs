//! What a node hears from the others, on its one `LISTEN` connection (not pooled), from the
//! moment the node has opened ([`health`](super::health)):
//!
//! - `cauda_ready` (a queue id): a send or a visibility change to 0 committed on some node;
//!   this node wakes that queue's waiting receives. A lost notification (the connection
//!   dropped, or an engine without NOTIFY) only makes a waiting receive slower: its claim is
//!   repeated at least every [`FALLBACK_POLL_MS`].
//! - `cauda_registry` (a queue id): a queue was created, changed or deleted; this node's
//!   registry follows the stored record ([`Engine::follow_stored`]). Every
//!   [`REGISTRY_CHECK`] the node also compares the stored queues' versions with those it
//!   last saw, and follows every stored queue once its connection listens (at start and
//!   after a reconnection), so that a lost notification delays a change, never loses it.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio_postgres::AsyncMessage;

use super::Postgres;
use crate::engine::Engine;

/// The channel sends and visibility changes notify, with the queue's id as payload.
pub(crate) const CHANNEL: &str = "cauda_ready";

/// The channel queue creations, changes and deletions notify, with the queue's id.
pub(crate) const REGISTRY_CHANNEL: &str = "cauda_registry";

/// A waiting receive claims again at least this often (ms), notified or not.
pub(crate) const FALLBACK_POLL_MS: u64 = 2_000;

/// How often the registry is compared with the stored queues, notified or not.
const REGISTRY_CHECK: Duration = Duration::from_secs(5);

/// How long to wait before connecting again after the listening connection failed.
const RECONNECT: Duration = Duration::from_secs(1);

/// Listens until the engine shuts down or is dropped, reconnecting after a failure; checks
/// the registry every [`REGISTRY_CHECK`].
pub(crate) fn spawn(connect: super::Connect, engine: Weak<Engine>, pg: Arc<Postgres>) {
    let mut shutdown = match engine.upgrade() {
        Some(e) => e.shutdown_signal(),
        None => return,
    };
    let mut stop = shutdown.clone();
    let (checking, checked_pg) = (engine.clone(), pg.clone());
    tokio::spawn(async move {
        let mut seen: HashMap<u64, i64> = HashMap::new();
        loop {
            tokio::select! {
                () = tokio::time::sleep(REGISTRY_CHECK) => {}
                _ = stop.changed() => return,
            }
            let Some(engine) = checking.upgrade() else {
                return;
            };
            // While the database is unreachable the check would only fail (and log so).
            if checked_pg.health.unavailable().is_none() {
                check_registry(&engine, &checked_pg, &mut seen).await;
            }
        }
    });
    tokio::spawn(async move {
        // Failures in a row: the first is logged, the next ones (one a second while the
        // database is down) only at debug level.
        let mut failures: u64 = 0;
        loop {
            let ended = tokio::select! {
                r = listen(&connect, &engine, &pg, &mut failures) => r,
                _ = shutdown.changed() => return,
            };
            if engine.upgrade().is_none_or(|e| e.is_shutting_down()) {
                return;
            }
            let why = match ended {
                Ok(()) => "the database closed the connection".to_string(),
                Err(e) => super::describe(&e),
            };
            if failures == 0 {
                tracing::warn!(error = %why, "postgres backend: the LISTEN connection failed; waiting receives fall back to polling until it is back");
            } else {
                tracing::debug!(error = %why, failures, "postgres backend: the LISTEN connection failed again");
            }
            failures += 1;
            tokio::time::sleep(RECONNECT).await;
        }
    });
}

/// One connection's life: LISTEN, then act on each notification.
async fn listen(
    connect: &super::Connect,
    engine: &Weak<Engine>,
    pg: &Postgres,
    failures: &mut u64,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut conn) = connect.config.connect(connect.tls.clone()).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(bool, String)>();
    let driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| conn.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    let registry = n.channel() == REGISTRY_CHANNEL;
                    if tx.send((registry, n.payload().to_string())).is_err() {
                        return Ok(());
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {CHANNEL}; LISTEN {REGISTRY_CHANNEL}"))
        .await?;
    if *failures > 0 {
        tracing::info!("postgres backend: the LISTEN connection is back");
        *failures = 0;
    }
    // What changed before this connection listened (since the node opened, or while the
    // connection was down) is followed now, not at the next check.
    if let Some(engine) = engine.upgrade() {
        check_registry(&engine, pg, &mut HashMap::new()).await;
    }
    while let Some((registry, payload)) = rx.recv().await {
        let Some(engine) = engine.upgrade() else {
            return Ok(());
        };
        let Ok(id) = payload.parse::<u64>() else {
            continue;
        };
        if registry {
            follow(&engine, pg, id).await;
        } else if let Some(q) = engine.all_queues().into_iter().find(|q| q.id == id) {
            // A scan of the registry: phase 1 has no index of queues by id.
            q.notify.notify_waiters();
        }
    }
    drop(client);
    match driver.await {
        Ok(r) => r,
        Err(_) => Ok(()),
    }
}

/// The registry follows queue `id`'s stored record (a failed read is logged by the backend
/// and left to the next check).
async fn follow(engine: &Engine, pg: &Postgres, id: u64) {
    let load = async { pg.stored_queue(id).await.ok() };
    engine.follow_stored(id, load, Postgres::refresh).await;
}

/// Follows every queue created, changed or deleted since the last check (`seen`: the
/// versions then).
async fn check_registry(engine: &Engine, pg: &Postgres, seen: &mut HashMap<u64, i64>) {
    let Ok(stored) = pg.queue_versions().await else {
        return;
    };
    let stored: HashMap<u64, i64> = stored.into_iter().collect();
    let registered: Vec<u64> = engine.all_queues().iter().map(|q| q.id).collect();
    let mut changed: Vec<u64> = stored
        .iter()
        .filter(|(id, v)| seen.get(id) != Some(v) || !registered.contains(id))
        .map(|(id, _)| *id)
        .collect();
    changed.extend(registered.iter().filter(|id| !stored.contains_key(id)));
    for id in changed {
        follow(engine, pg, id).await;
    }
    *seen = stored;
}
