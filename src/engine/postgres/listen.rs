//! Cross-node long-poll wake-ups: a node's one `LISTEN cauda_ready` connection (not pooled).
//! A send or a visibility change to 0 on any node notifies its queue's id at commit; this
//! node wakes that queue's waiting receives. Lost notifications (the connection dropped, or
//! an engine without NOTIFY) only make a waiting receive slower: its claim is repeated at
//! least every [`FALLBACK_POLL_MS`].

use std::sync::Weak;
use std::time::Duration;

use tokio_postgres::{AsyncMessage, NoTls};

use crate::engine::Engine;

/// The channel sends and visibility changes notify, with the queue's id as payload.
pub(crate) const CHANNEL: &str = "cauda_ready";

/// A waiting receive claims again at least this often (ms), notified or not.
pub(crate) const FALLBACK_POLL_MS: u64 = 2_000;

/// How long to wait before connecting again after the listening connection failed.
const RECONNECT: Duration = Duration::from_secs(1);

/// Listens until the engine shuts down or is dropped, reconnecting after a failure.
pub(crate) fn spawn(config: tokio_postgres::Config, engine: Weak<Engine>) {
    tokio::spawn(async move {
        let mut shutdown = match engine.upgrade() {
            Some(e) => e.shutdown_signal(),
            None => return,
        };
        loop {
            tokio::select! {
                r = listen(&config, &engine) => {
                    if let Err(e) = r {
                        tracing::warn!(error = %e, "postgres backend: the LISTEN connection failed; waiting receives fall back to polling until it is back");
                    }
                }
                _ = shutdown.changed() => return,
            }
            if engine.upgrade().is_none_or(|e| e.is_shutting_down()) {
                return;
            }
            tokio::time::sleep(RECONNECT).await;
        }
    });
}

/// One connection's life: LISTEN, then wake the queue each notification names.
async fn listen(
    config: &tokio_postgres::Config,
    engine: &Weak<Engine>,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut conn) = config.connect(NoTls).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| conn.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    if tx.send(n.payload().to_string()).is_err() {
                        return Ok(());
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            }
        }
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    while let Some(payload) = rx.recv().await {
        let Some(engine) = engine.upgrade() else {
            return Ok(());
        };
        let Ok(id) = payload.parse::<u64>() else {
            continue;
        };
        // A scan of the registry: phase 1 has no index of queues by id.
        if let Some(q) = engine.all_queues().into_iter().find(|q| q.id == id) {
            q.notify.notify_waiters();
        }
    }
    drop(client);
    match driver.await {
        Ok(r) => r,
        Err(_) => Ok(()),
    }
}
