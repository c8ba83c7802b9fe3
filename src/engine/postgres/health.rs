//! Whether a node can serve: it has *opened* (the schema made current and the stored queues
//! loaded, at start or, when the database was unreachable then, as soon as it answers) and
//! the database is *reachable* (a `SELECT 1` on a pooled connection every [`CHECK_EVERY`],
//! every [`RETRY_EVERY`] while it fails; a request that cannot get a connection marks it
//! unreachable at once). While it cannot, every SQS request is answered 500 InternalFailure
//! and `/health` 503 ([`Engine::unavailable`]); each change is logged once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::watch;

use super::{listen, Postgres};
use crate::engine::Engine;

/// How often the database is checked while it answers.
const CHECK_EVERY: Duration = Duration::from_secs(2);

/// How often the database is tried while it does not answer (the open at start included).
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// A check not answered within this fails.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// A failing open is logged again after this many attempts (one at each [`RETRY_EVERY`]).
const LOG_EVERY_ATTEMPTS: u64 = 30;

/// What [`Engine::unavailable`] reads: set by the open, the checks and the requests.
#[derive(Default)]
pub(crate) struct Health {
    opened: AtomicBool,
    reachable: AtomicBool,
}

impl Health {
    /// Why the node cannot serve now; `None` when it can.
    pub(crate) fn unavailable(&self) -> Option<&'static str> {
        if !self.opened.load(Ordering::Acquire) {
            Some("cauda has not reached its database since it started")
        } else if !self.reachable.load(Ordering::Acquire) {
            Some("cauda cannot reach its database")
        } else {
            None
        }
    }

    pub(crate) fn opened(&self) -> bool {
        self.opened.load(Ordering::Acquire)
    }

    /// The schema is current and the stored queues are registered: the node serves.
    pub(crate) fn set_opened(&self) {
        self.reachable.store(true, Ordering::Release);
        self.opened.store(true, Ordering::Release);
    }

    /// The database did not answer (`why`); logged when it answered until now.
    pub(crate) fn lost(&self, why: &dyn std::fmt::Display) {
        if self.reachable.swap(false, Ordering::AcqRel) && self.opened() {
            tracing::error!(
                error = %why,
                "postgres backend: the database is unreachable; requests are answered 500 \
                 InternalFailure and /health 503 until it answers again (checked every {}s)",
                RETRY_EVERY.as_secs()
            );
        }
    }

    /// The database answered again; logged when it did not until now.
    fn back(&self) {
        if !self.reachable.swap(true, Ordering::AcqRel) {
            tracing::info!("postgres backend: the database answers again; serving");
        }
    }

    fn reachable(&self) -> bool {
        self.reachable.load(Ordering::Acquire)
    }
}

/// Runs until the engine shuts down: opens the backend if it is not open yet (retrying every
/// [`RETRY_EVERY`]), then starts the node's listener ([`listen::spawn`]) and checks the
/// database.
pub(crate) fn spawn(connect: super::Connect, engine: Weak<Engine>, pg: Arc<Postgres>) {
    let Some(mut shutdown) = engine.upgrade().map(|e| e.shutdown_signal()) else {
        return;
    };
    tokio::spawn(async move {
        if !pg.health.opened() && !open_when_reachable(&engine, &pg, &mut shutdown).await {
            return;
        }
        listen::spawn(connect, engine.clone(), pg.clone());
        loop {
            let wait = if pg.health.reachable() {
                CHECK_EVERY
            } else {
                RETRY_EVERY
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return,
            }
            match tokio::time::timeout(CHECK_TIMEOUT, pg.ping()).await {
                Ok(Ok(())) => pg.health.back(),
                Ok(Err(e)) => pg.health.lost(&e),
                Err(_) => pg.health.lost(&format!(
                    "no answer to SELECT 1 within {}s",
                    CHECK_TIMEOUT.as_secs()
                )),
            }
        }
    });
}

/// Tries to open the backend every [`RETRY_EVERY`] until it opens (true) or the engine shuts
/// down (false); registers the stored queues.
async fn open_when_reachable(
    engine: &Weak<Engine>,
    pg: &Postgres,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    let mut attempts: u64 = 0;
    loop {
        tokio::select! {
            () = tokio::time::sleep(RETRY_EVERY) => {}
            _ = shutdown.changed() => return false,
        }
        let Some(engine) = engine.upgrade() else {
            return false;
        };
        attempts += 1;
        match pg.open().await {
            Ok(records) => {
                let count = engine.register_stored(records).len();
                pg.health.set_opened();
                tracing::info!(
                    queues = count,
                    attempts,
                    "postgres backend opened: the database answers; serving"
                );
                return true;
            }
            Err(e) if attempts % LOG_EVERY_ATTEMPTS == 0 => {
                tracing::warn!(error = %super::describe(&e), attempts, "postgres backend: the database still cannot be opened; requests are answered 500 InternalFailure and /health 503 meanwhile");
            }
            Err(e) => {
                tracing::debug!(error = %super::describe(&e), attempts, "postgres backend: open failed");
            }
        }
    }
}
