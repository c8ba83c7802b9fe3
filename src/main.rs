//! The `cauda` binary: parse configuration (flags, variables, config file), set up logging,
//! check the declared queues, serve until SIGINT/SIGTERM.

use tracing_subscriber::EnvFilter;

use cauda::config::{Command, Config, LogFormat};

/// Requests allocate and free many small buffers across threads; mimalloc does that with far
/// less time in the allocator than glibc's malloc (the load benchmark's receive + delete round
/// trip: about 30 % more messages/s). Transparent huge pages are off for it (`no_thp`): with
/// them the idle process kept 15 MiB more resident.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::from_process();
    if let Some(Command::Healthcheck { url }) = &config.command {
        return healthcheck(
            url.clone()
                .unwrap_or_else(|| cauda::healthcheck::default_url(config.bind)),
        )
        .await;
    }
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    match config.log_format {
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init(),
        LogFormat::Text => tracing_subscriber::fmt()
            .with_ansi(colour())
            .with_env_filter(filter)
            .init(),
    }
    if let Err(e) = cauda::declare::check(&config).await {
        #[allow(
            clippy::print_stderr,
            reason = "a bad config file is named on stderr, before any log"
        )]
        {
            eprintln!("cauda: {e}");
        }
        return std::process::ExitCode::from(2);
    }
    let server = match cauda::start(config).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            return std::process::ExitCode::FAILURE;
        }
    };
    tracing::info!("cauda listening on http://{}", server.local_addr);
    wait_for_signal().await;
    tracing::info!("shutting down");
    server.shutdown().await;
    std::process::ExitCode::SUCCESS
}

/// Colour codes only on a terminal, and never when `NO_COLOR` is set to anything non-empty
/// (<https://no-color.org>): `docker logs` and log files get plain text.
fn colour() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `cauda healthcheck`: one line on failure, none on success (it runs every few seconds).
#[allow(
    clippy::print_stderr,
    reason = "the healthcheck answers on stderr; it sets up no log"
)]
async fn healthcheck(url: String) -> std::process::ExitCode {
    match cauda::healthcheck::check(&url).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("cauda healthcheck: {reason}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Until SIGINT or SIGTERM. A signal that cannot be listened for is logged and left out: the
/// server keeps running rather than stopping at once.
async fn wait_for_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
