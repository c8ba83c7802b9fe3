//! The accept loop: hyper HTTP/1.1 connections on tokio, and graceful shutdown (stop
//! accepting, release long polls, finish in-flight requests, flush the store).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::{credentials::Credentials, Verifier};
use crate::clock::{Clock, SystemClock};
use crate::config::{Backend, Config, Durability};
use crate::engine::{Engine, EngineSettings};
use crate::http::AppState;
use crate::store::{MemoryStore, SledStore, Store};

/// A running server.
pub struct RunningServer {
    pub local_addr: SocketAddr,
    pub engine: Arc<Engine>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    /// Stops accepting, lets in-flight requests finish (long polls are released at once),
    /// flushes the store.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        let _ = self.task.await;
    }

    /// Waits until the server stops (after [`RunningServer::shutdown`] from elsewhere).
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }

    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

fn open_store(config: &Config) -> std::io::Result<Arc<dyn Store>> {
    if config.backend() == Backend::Memory {
        return Ok(Arc::new(MemoryStore::new()));
    }
    std::fs::create_dir_all(&config.data_dir)?;
    let store =
        SledStore::open(&config.data_dir).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(Arc::new(store))
}

/// Opens the store, recovers the engine, binds and starts serving.
pub async fn start(config: Config) -> std::io::Result<RunningServer> {
    start_with_clock(config, Arc::new(SystemClock)).await
}

pub async fn start_with_clock(
    config: Config,
    clock: Arc<dyn Clock>,
) -> std::io::Result<RunningServer> {
    let credentials =
        Credentials::from_specs(&config.credentials).map_err(std::io::Error::other)?;
    let verifier = Verifier::new(config.auth, credentials);
    let store = open_store(&config)?;
    let settings = EngineSettings {
        region: config.region.clone(),
        max_inflight: config.max_inflight,
        purge_cooldown_ms: config.purge_cooldown_secs * 1000,
        queue_deleted_cooldown_ms: config.queue_deleted_cooldown_secs * 1000,
        sync_writes: config.durability == Durability::Strict,
    };
    let engine =
        Engine::open(store, clock, settings).map_err(|e| std::io::Error::other(e.to_string()))?;
    engine.start();
    let listener = TcpListener::bind(config.bind).await?;
    let local_addr = listener.local_addr()?;
    let state = Arc::new(AppState {
        engine: engine.clone(),
        verifier,
        config,
    });
    let (stop, stop_rx) = watch::channel(false);
    let task = tokio::spawn(serve(listener, state, stop_rx));
    Ok(RunningServer {
        local_addr,
        engine,
        stop,
        task,
    })
}

async fn serve(listener: TcpListener, state: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                let svc = service_fn(move |req| {
                    let state = state.clone();
                    async move { Ok::<_, std::convert::Infallible>(crate::http::handle(state, req).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    state.engine.shutdown();
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 10 s; closing");
    }
    if let Err(e) = state.engine.flush() {
        tracing::error!(error = %e, "final flush failed");
    }
}
