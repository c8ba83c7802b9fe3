//! The accept loop: hyper HTTP/1.1 connections on tokio, at most `--max-connections` of them
//! (one more is closed as soon as it is accepted), each with the limits of `conn`; and
//! graceful shutdown (stop accepting, release long polls, finish in-flight requests, flush the
//! store).

mod conn;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
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
use crate::limits::{self, Limit};
use crate::store::{MemoryStore, SledStore, Store};
use conn::{Activity, ConnLimits, Watched};

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
        self.wait().await;
    }

    /// Waits until the server stops (after [`RunningServer::shutdown`] from elsewhere).
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }

    pub async fn wait(self) {
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the server task ended abnormally");
        }
    }
}

/// Opens the store the configuration names. Runs before recovery, after the listener is bound,
/// so that a data dir is never created for a server that could not listen.
fn open_store(config: &Config) -> std::io::Result<Arc<dyn Store>> {
    match config.backend() {
        Backend::Memory => return Ok(Arc::new(MemoryStore::new())),
        Backend::Sled => {}
        // open_engine opens the postgres backend itself; it has no store.
        Backend::Postgres => {
            return Err(std::io::Error::other(
                "the postgres backend has no local store",
            ))
        }
    }
    let dir = config.data_dir.display();
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot create the data directory {dir}: {e} (choose another with --data-dir or CAUDA_DATA_DIR, or run with --in-memory)"),
        )
    })?;
    let store = SledStore::open_with_index(
        &config.data_dir,
        Some(crate::engine::queue::MessageIndexRecord::of_stored),
    )
    .map_err(|e| std::io::Error::other(format!("cannot open the store in {dir}: {e}")))?;
    Ok(Arc::new(store))
}

/// Binds the listener; the error names the address and what to do about it.
async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => " (another program, perhaps another cauda, listens there: choose another address with --bind or CAUDA_BIND)",
            std::io::ErrorKind::PermissionDenied => " (ports below 1024 need privileges: choose another with --bind or CAUDA_BIND)",
            std::io::ErrorKind::AddrNotAvailable => " (no interface of this machine has that address: use 127.0.0.1 or 0.0.0.0 with --bind)",
            _ => "",
        };
        std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}{hint}"))
    })
}

/// Binds, then opens the store and recovers the engine while already answering: until the
/// server is ready, `/health` and every request get 503. Returns once it is ready.
pub async fn start(config: Config) -> std::io::Result<RunningServer> {
    start_with_clock(config, Arc::new(SystemClock)).await
}

pub async fn start_with_clock(
    config: Config,
    clock: Arc<dyn Clock>,
) -> std::io::Result<RunningServer> {
    start_over(config, clock, None).await
}

/// Starts a server over `store` instead of the one the configuration names (tests: a store
/// that fails on purpose, `store::FaultyStore`).
pub async fn start_with_store(
    config: Config,
    store: Arc<dyn Store>,
) -> std::io::Result<RunningServer> {
    start_over(config, Arc::new(SystemClock), Some(store)).await
}

async fn start_over(
    config: Config,
    clock: Arc<dyn Clock>,
    store: Option<Arc<dyn Store>>,
) -> std::io::Result<RunningServer> {
    let credentials =
        Credentials::from_specs(&config.credentials).map_err(std::io::Error::other)?;
    let verifier = Verifier::new(config.auth, credentials);
    let listener = bind(config.bind).await?;
    let local_addr = listener.local_addr()?;
    let ready = Arc::new(OnceLock::new());
    let (stop, stop_rx) = watch::channel(false);
    let conn_limits = ConnLimits::from_config(&config);
    let task = tokio::spawn(serve(listener, conn_limits, ready.clone(), stop_rx));
    let engine = match open_engine(&config, clock, store).await {
        Ok(engine) => engine,
        Err(e) => {
            stop.send_replace(true);
            if let Err(join) = task.await {
                tracing::error!(error = %join, "the server task ended abnormally");
            }
            return Err(e);
        }
    };
    let state = Arc::new(AppState {
        engine: engine.clone(),
        verifier,
        config,
        metrics: crate::metrics::Metrics::new(),
    });
    if ready.set(state).is_err() {
        return Err(std::io::Error::other("the server was made ready twice"));
    }
    tracing::debug!("ready");
    Ok(RunningServer {
        local_addr,
        engine,
        stop,
        task,
    })
}

/// Opens the store and recovers the engine (on a blocking thread: it reads the whole store),
/// then applies the declared queues and starts the engine's background work.
async fn open_engine(
    config: &Config,
    clock: Arc<dyn Clock>,
    store: Option<Arc<dyn Store>>,
) -> std::io::Result<Arc<Engine>> {
    let settings = EngineSettings {
        region: config.region.clone(),
        max_inflight: config.max_inflight,
        purge_cooldown_ms: config.purge_cooldown_secs * 1000,
        queue_deleted_cooldown_ms: config.queue_deleted_cooldown_secs * 1000,
        sync_writes: config.durability == Durability::Strict,
        shuffle_seed: config.shuffle_seed,
        max_long_polls: usize::try_from(config.max_long_polls).unwrap_or(usize::MAX),
        max_queues_per_account: usize::try_from(config.max_queues_per_account)
            .unwrap_or(usize::MAX),
        move_task_lease_ms: config.move_task_lease_secs * 1000,
        database_ca_file: config.database_ca_file.clone(),
    };
    let engine = match (config.backend(), store) {
        (Backend::Postgres, None) => {
            let url = config.database_url.as_deref().unwrap_or_default();
            Engine::open_postgres(url, clock, settings)
                .await
                .map_err(|e| std::io::Error::other(format!("--backend postgres: {e}")))?
        }
        (_, store) => open_local(config, clock, store, settings).await?,
    };
    if engine.unavailable().is_some() && !config.declared.is_empty() {
        // The database does not answer yet: the declaration is checked now, applied once it
        // answers.
        crate::declare::check(config)
            .await
            .map_err(std::io::Error::other)?;
        tokio::spawn(declare_when_available(engine.clone(), config.clone()));
    } else {
        crate::declare::apply(&engine, config).await?;
    }
    engine.start();
    Ok(engine)
}

/// Applies the declared queues as soon as the engine can serve (checked every 500 ms), again
/// if the database is lost while they are applied; until the engine shuts down.
async fn declare_when_available(engine: Arc<Engine>, config: Config) {
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if engine.is_shutting_down() {
            return;
        }
        if engine.unavailable().is_some() {
            continue;
        }
        match crate::declare::apply(&engine, &config).await {
            Ok(()) => return,
            Err(e) if engine.unavailable().is_some() => {
                tracing::warn!(error = %e, "declared queues not applied yet: the database was lost; trying again once it answers");
            }
            Err(e) => {
                tracing::error!(error = %e, "the declared queues could not be applied");
                return;
            }
        }
    }
}

/// Opens the store (the given one, else the configuration's) and recovers the local backend
/// from it, on a blocking thread: it reads the whole store.
async fn open_local(
    config: &Config,
    clock: Arc<dyn Clock>,
    store: Option<Arc<dyn Store>>,
    settings: EngineSettings,
) -> std::io::Result<Arc<Engine>> {
    let opening = config.clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let _guard = runtime.enter();
        let store = match store {
            Some(store) => store,
            None => open_store(&opening)?,
        };
        Engine::open(store, clock, settings)
            .map_err(|e| std::io::Error::other(format!("cannot recover the store: {e}")))
    })
    .await
    .map_err(std::io::Error::other)?
}

/// The server's state once it is ready; empty while it starts.
type Ready = Arc<OnceLock<Arc<AppState>>>;

async fn serve(
    listener: TcpListener,
    conn_limits: ConnLimits,
    ready: Ready,
    mut stop: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let connections = Arc::new(tokio::sync::Semaphore::new(conn_limits.max_connections));
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
                let Ok(permit) = connections.clone().try_acquire_owned() else {
                    limits::hit(
                        Limit::Connections,
                        &format!("{} connections are open; a new one was closed", conn_limits.max_connections),
                    );
                    drop(stream);
                    continue;
                };
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::debug!(error = %e, "TCP_NODELAY not set");
                }
                let ready = ready.clone();
                let svc = service_fn(move |req| {
                    let state = ready.get().cloned();
                    async move {
                        let response = match state {
                            Some(state) => crate::http::handle(state, req).await,
                            None => crate::http::not_ready(&req),
                        };
                        Ok::<_, std::convert::Infallible>(response)
                    }
                });
                let activity = Activity::new();
                let io = TokioIo::new(Watched::new(stream, activity.clone()));
                let conn = conn_limits.builder(&activity).serve_connection(io, svc);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        activity.log_end(&e);
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    drop(permit);
                });
            }
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    let engine = ready.get().map(|state| state.engine.clone());
    if let Some(engine) = &engine {
        engine.shutdown();
    }
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 10 s; closing");
    }
    if let Some(engine) = &engine {
        if tokio::time::timeout(Duration::from_secs(5), engine.release_task_leases())
            .await
            .is_err()
        {
            tracing::warn!("the message move tasks' leases were not released within 5 s");
        }
    }
    if let Some(Err(e)) = engine.map(|engine| engine.flush()) {
        tracing::error!(error = %e, "final flush failed");
    }
}
