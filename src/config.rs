//! Server configuration: command-line flags, each also readable from a `CAUDA_*` environment
//! variable and settable in the `--config` TOML file under the flag's name (see
//! [`crate::config_file`]). The flag names are a contract that scripts and tests rely on; keep
//! them stable.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::parser::ValueSource;
use clap::{ArgAction, CommandFactory, FromArgMatches, Parser, ValueEnum};

use crate::config_file::{self, DeclaredQueue, Place, Setting};

pub use crate::auth::AuthMode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// When a mutating call may answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Durability {
    /// Reply only after the write is flushed to disk; concurrent requests share one flush.
    Strict,
    /// Reply once the write is in the store; sled flushes in the background (every ~100 ms).
    Relaxed,
}

/// Where message state lives (`--backend`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// In memory only; nothing survives a restart.
    Memory,
    /// In memory, journalled to the sled store under `--data-dir`.
    Sled,
    /// In a PostgreSQL database (`--database-url`), shared by every cauda node over it.
    Postgres,
}

/// Printed after the flags by `--help`.
const AFTER_HELP: &str = "\
Every flag can also be set by the environment variable named beside it, and in the --config
file under its own name (data-dir = \"/var/lib/cauda\"). A flag given on the command line wins,
then the variable, then the file. Boolean variables accept 1/0, true/false, yes/no, on/off.

Logging: RUST_LOG filters the log (default \"info\"; e.g. RUST_LOG=cauda=debug); colour only on a
terminal, never with NO_COLOR set.

GET /health answers 200 once the server is up (unauthenticated); `cauda healthcheck` asks it.";

#[derive(Clone, Debug, Parser)]
#[command(
    name = "cauda",
    version,
    about = "An SQS-compatible queue server",
    after_help = AFTER_HELP
)]
pub struct Config {
    /// Address to listen on: IP:PORT, localhost:PORT, PORT (on 127.0.0.1) or :PORT (every
    /// interface, 0.0.0.0).
    #[arg(long, env = "CAUDA_BIND", default_value = "127.0.0.1:9324", value_parser = parse_bind)]
    pub bind: SocketAddr,

    /// Directory of the sled store.
    #[arg(long, env = "CAUDA_DATA_DIR", default_value = "./cauda-data")]
    pub data_dir: PathBuf,

    /// Keep everything in memory; nothing survives a restart (shorthand for `--backend memory`).
    #[arg(long, env = "CAUDA_IN_MEMORY", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub in_memory: bool,

    /// Where message state lives: memory, sled (journalled under `--data-dir`), or postgres
    /// (the database `--database-url` names, shared by every node over it).
    #[arg(long, env = "CAUDA_BACKEND", value_enum, default_value = "sled")]
    pub backend: Backend,

    /// The PostgreSQL database of `--backend postgres`: a `postgres://user:password@host:port/db`
    /// URL or a libpq `key=value` string. Its password is never logged.
    #[arg(long, env = "CAUDA_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Certificates (PEM) to trust for the database's (`--backend postgres`): the server's
    /// certificate is then verified against them and the URL's host, as libpq's
    /// `verify-full`. Without it, TLS is used as the URL's `sslmode` says (`prefer`, the
    /// default, or `require`) but the server is not verified.
    #[arg(long, env = "CAUDA_DATABASE_CA_FILE")]
    pub database_ca_file: Option<PathBuf>,

    /// Seconds a node's lease of a running message move task lasts (`--backend postgres`): the
    /// node renews it every third of it; if the node dies, another takes the task over once
    /// the lease has expired.
    #[arg(long, env = "CAUDA_MOVE_TASK_LEASE_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub move_task_lease_secs: u64,

    /// The account id of callers that no credential maps to an account.
    #[arg(long, env = "CAUDA_ACCOUNT_ID", default_value = "000000000000")]
    pub account_id: String,

    /// Region of requests that name none (unsigned, without a regional `Host`), and of queues
    /// stored before queues had regions. A signed request's region is its credential scope's.
    #[arg(long, env = "CAUDA_REGION", default_value = "us-east-1", value_parser = parse_region)]
    pub region: String,

    /// Fixed `host[:port]` (optionally with `http://`/`https://`) for queue URLs. Default: the
    /// request's `Host` header, so URLs reach the server the way the client did.
    #[arg(long, env = "CAUDA_QUEUE_URL_HOST")]
    pub queue_url_host: Option<String>,

    /// Build queue URLs as `sqs.<region>.<host>` with the queue's region (AWS style; needs
    /// matching DNS). An unsigned request to such a host addresses that region.
    #[arg(long, env = "CAUDA_QUEUE_URL_REGIONAL", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub queue_url_regional: bool,

    /// Log lines as human-readable text or as one JSON object per line.
    #[arg(long, env = "CAUDA_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Signature checking: strict, off, or auto (strict when credentials are configured,
    /// otherwise any well-formed SigV4 signature is accepted).
    #[arg(long, env = "CAUDA_AUTH", value_enum, default_value = "auto")]
    pub auth: AuthMode,

    /// `ACCESS_KEY:SECRET[:ACCOUNT_ID]`; repeatable (comma-separated in the environment).
    #[arg(long = "credentials", env = "CAUDA_CREDENTIALS", value_delimiter = ',')]
    pub credentials: Vec<String>,

    /// When a change is acknowledged: strict (after it is flushed to disk) or relaxed (once it
    /// is in the store; sled flushes every ~100 ms, so a crash may lose the last 100 ms).
    #[arg(long, env = "CAUDA_DURABILITY", value_enum, default_value = "strict")]
    pub durability: Durability,

    /// Seconds between two PurgeQueue calls on one queue (AWS: 60); 0 turns the check off.
    #[arg(long, env = "CAUDA_PURGE_COOLDOWN_SECS", default_value_t = 60)]
    pub purge_cooldown_secs: u64,

    /// Seconds a deleted queue's name stays blocked (AWS: 60); 0 (default) turns it off.
    #[arg(long, env = "CAUDA_QUEUE_DELETED_COOLDOWN_SECS", default_value_t = 0)]
    pub queue_deleted_cooldown_secs: u64,

    /// In-flight messages per standard queue before short-poll receives get OverLimit.
    #[arg(long, env = "CAUDA_MAX_INFLIGHT", default_value_t = 120_000)]
    pub max_inflight: usize,

    /// Standard queues deliver visible messages in an order drawn from this seed (and each
    /// queue's name) instead of oldest first, the same for the same operations: for testing
    /// consumers against SQS's best-effort ordering. FIFO queues keep their order.
    #[arg(long, env = "CAUDA_SHUFFLE_SEED")]
    pub shuffle_seed: Option<u64>,

    /// Create a missing queue of the caller's account when a request first names its URL
    /// (FIFO when the name ends in `.fifo`, default attributes); off, as on AWS.
    #[arg(long, env = "CAUDA_AUTO_CREATE", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub auto_create: bool,

    /// `GET /metrics` only with a SigV4 signature of a configured credential (by default it
    /// answers anyone, like `/health`).
    #[arg(long, env = "CAUDA_METRICS_AUTH", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub metrics_auth: bool,

    /// Largest request body accepted, in bytes; a larger one gets RequestEntityTooLarge (413).
    #[arg(long, env = "CAUDA_MAX_BODY_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Largest request head (request line and headers), in bytes; a larger one gets 431 and
    /// the connection is closed.
    #[arg(long, env = "CAUDA_MAX_HEADER_BYTES", default_value_t = 64 * 1024,
          value_parser = clap::value_parser!(u64).range(1024..=16 * 1024 * 1024))]
    pub max_header_bytes: u64,

    /// Most header fields in a request; more get 431 and the connection is closed.
    #[arg(long, env = "CAUDA_MAX_HEADERS", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_headers: u64,

    /// Seconds a client has to send a request's head once it has begun (or, on a new
    /// connection, once connected); a slower one is disconnected. 0 turns it off.
    #[arg(long, env = "CAUDA_HEADER_READ_TIMEOUT_SECS", default_value_t = 20)]
    pub header_read_timeout_secs: u64,

    /// Seconds a client has to send a request's body once its head arrived; a slower one gets
    /// 408 RequestTimeout and is disconnected. 0 turns it off.
    #[arg(long, env = "CAUDA_BODY_READ_TIMEOUT_SECS", default_value_t = 60)]
    pub body_read_timeout_secs: u64,

    /// Seconds a keep-alive connection may sit idle between requests before it is closed
    /// (longer than a 20 s long poll, which is not idle time). 0 turns it off.
    #[arg(long, env = "CAUDA_IDLE_TIMEOUT_SECS", default_value_t = 75)]
    pub idle_timeout_secs: u64,

    /// Most open client connections; a connection beyond it is closed as soon as it is
    /// accepted.
    #[arg(long, env = "CAUDA_MAX_CONNECTIONS", default_value_t = 4096,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: u64,

    /// Most ReceiveMessage calls waiting at once (long polls); a receive beyond it is
    /// answered at once, as a short poll.
    #[arg(long, env = "CAUDA_MAX_LONG_POLLS", default_value_t = 1024,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_long_polls: u64,

    /// Most queues an account may have (all regions together); CreateQueue beyond it gets
    /// OverLimit.
    #[arg(long, env = "CAUDA_MAX_QUEUES_PER_ACCOUNT", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_queues_per_account: u64,

    /// TOML file of settings (the flags' names, e.g. `data-dir = "/var/lib/cauda"`) and
    /// `[[queue]]` tables to create or update at start.
    #[arg(long, env = "CAUDA_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// A queue to create (or update) at start: `NAME[:Attribute=value,...]`; repeatable
    /// (whitespace-separated in the environment).
    #[arg(
        long = "queue",
        env = "CAUDA_QUEUES",
        value_name = "NAME[:ATTR=VALUE,...]"
    )]
    pub queues: Vec<String>,

    /// The queues to declare at start: the file's `[[queue]]` tables, then `--queue`, checked.
    #[arg(skip)]
    pub declared: Vec<DeclaredQueue>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Why [`Config::load`] failed.
#[derive(Debug)]
pub enum LoadError {
    /// A flag or variable clap refuses (or `--help` / `--version`).
    Clap(clap::Error),
    /// The config file or a `--queue` value: `PATH:LINE: problem`.
    Invalid(String),
}

/// Flags the config file cannot set: itself, and `queue` (the file has `[[queue]]` tables).
const NOT_IN_FILE: &[&str] = &["config", "queue", "help", "version"];

/// What the binary does instead of serving.
#[derive(Clone, Debug, PartialEq, Eq, clap::Subcommand)]
pub enum Command {
    /// Exit 0 when a running server's `GET /health` answers 200, 1 otherwise (for container
    /// images without curl).
    Healthcheck {
        /// The full health URL. Default: `/health` on the address `--bind` / `CAUDA_BIND` names
        /// (a wildcard address is asked on loopback).
        #[arg(long)]
        url: Option<String>,
    },
}

/// A region name as AWS spells them (`us-east-1`): 1–63 lower-case letters, digits and `-`, so
/// it fits an ARN, a host name label and a store key.
pub fn is_region_name(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The environment variable that gave the value `e` refuses: set, and its flag not among `args`.
fn env_source(e: &clap::Error, args: impl Iterator<Item = std::ffi::OsString>) -> Option<String> {
    use clap::error::{ContextKind, ContextValue};
    let Some(ContextValue::String(invalid)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    let long = invalid.split_whitespace().next()?.strip_prefix("--")?;
    let command = <Config as clap::CommandFactory>::command();
    let arg = command
        .get_arguments()
        .find(|a| a.get_long() == Some(long))?;
    let var = arg.get_env()?.to_str()?.to_string();
    let flag = format!("--{long}");
    let on_command_line = args
        .filter_map(|a| a.into_string().ok())
        .any(|a| a == flag || a.starts_with(&format!("{flag}=")));
    (std::env::var_os(&var).is_some() && !on_command_line).then_some(var)
}

/// `--bind`: `IP:PORT`, `localhost:PORT`, a bare `PORT` (loopback) or `:PORT` (every interface).
fn parse_bind(s: &str) -> Result<SocketAddr, String> {
    let port = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| format!("{p:?} is not a port number (0-65535)"))
    };
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Some(p) = s.strip_prefix("localhost:") {
        return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port(p)?)));
    }
    if let Some(p) = s.strip_prefix(':') {
        return Ok(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port(p)?)));
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port(s)?)));
    }
    Err("expected IP:PORT, localhost:PORT, PORT or :PORT (e.g. 127.0.0.1:9324)".into())
}

fn parse_region(s: &str) -> Result<String, String> {
    if is_region_name(s) {
        Ok(s.to_string())
    } else {
        Err("a region is 1-63 lower-case letters, digits and '-' (e.g. us-east-1)".into())
    }
}

/// `command` with the file's settings as the defaults of their flags, each value checked by
/// the flag's own parser first (so the error names the file's line).
fn with_file_defaults(
    mut command: clap::Command,
    settings: &[Setting],
) -> Result<clap::Command, String> {
    for s in settings {
        let arg = command.get_arguments().find(|a| {
            a.get_long() == Some(s.key.as_str()) && !NOT_IN_FILE.contains(&s.key.as_str())
        });
        let Some(arg) = arg else {
            let hint = if command
                .get_arguments()
                .any(|a| a.get_long() == Some(s.key.replace('_', "-").as_str()))
            {
                format!(" (did you mean {}?)", s.key.replace('_', "-"))
            } else {
                " (settings take the flags' names, e.g. data-dir)".to_string()
            };
            return Err(format!("{}: unknown key {:?}{hint}", s.at, s.key));
        };
        if s.values.len() != 1 && !matches!(arg.get_action(), ArgAction::Append) {
            return Err(format!("{}: {} takes one value, not a list", s.at, s.key));
        }
        // The flag alone, taking one value and no variable, parses each value.
        let probe = clap::Command::new("cauda").no_binary_name(true).arg(
            arg.clone()
                .action(ArgAction::Set)
                .num_args(1)
                .value_delimiter(None)
                .env(None),
        );
        for v in &s.values {
            probe
                .clone()
                .try_get_matches_from([format!("--{}={v}", s.key)])
                .map_err(|e| format!("{}: {} = {v:?}: {}", s.at, s.key, value_problem(&e)))?;
        }
        let id = arg.get_id().clone();
        let values = s.values.clone();
        command = command.mut_arg(id, |a| a.default_values(values));
    }
    Ok(command)
}

/// What is wrong with a value clap refused, without clap's framing (which names the flag).
fn value_problem(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    if let Some(ContextValue::Strings(valid)) = e.get(ContextKind::ValidValue) {
        return format!("expected one of {}", valid.join(", "));
    }
    if let Some(source) = std::error::Error::source(e) {
        return source.to_string();
    }
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

impl Config {
    /// The backend in use: `--in-memory` stands for `--backend memory`.
    pub fn backend(&self) -> Backend {
        if self.in_memory {
            Backend::Memory
        } else {
            self.backend
        }
    }

    /// The configuration of this process (flags, then `CAUDA_*` variables, then the config
    /// file). On a bad value that came from a variable, the error says which variable (clap
    /// names only the flag), and the process exits as clap's own errors do; a bad config file
    /// or `--queue` exits with status 2 and `PATH:LINE: problem` on stderr.
    #[allow(
        clippy::print_stderr,
        clippy::exit,
        reason = "a configuration error ends the process before any log, as clap's own do"
    )]
    pub fn from_process() -> Self {
        Config::load(std::env::args_os()).unwrap_or_else(|e| match e {
            LoadError::Invalid(message) => {
                eprintln!("cauda: {message}");
                std::process::exit(2);
            }
            LoadError::Clap(e) => {
                let source = env_source(&e, std::env::args_os().skip(1));
                let e = e.format(&mut Config::command());
                match source {
                    Some(var) => {
                        eprint!("{e}");
                        eprintln!("note: the value comes from the environment variable {var}");
                        std::process::exit(e.exit_code());
                    }
                    None => e.exit(),
                }
            }
        })
    }

    /// Parses `args` (the program name first) and the `CAUDA_*` variables over the `--config`
    /// file's settings, and checks the declared queues (file, then `--queue`).
    pub fn load<I, T>(args: I) -> Result<Config, LoadError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let path = Config::command()
            .ignore_errors(true)
            .try_get_matches_from(&args)
            .ok()
            .and_then(|m| m.get_one::<PathBuf>("config").cloned());
        let file = match &path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| LoadError::Invalid(format!("{}: {e}", path.display())))?;
                config_file::parse_file(path, &text).map_err(LoadError::Invalid)?
            }
            None => config_file::FileConfig::default(),
        };
        let command =
            with_file_defaults(Config::command(), &file.settings).map_err(LoadError::Invalid)?;
        let matches = command
            .try_get_matches_from(&args)
            .map_err(LoadError::Clap)?;
        let mut config = Config::from_arg_matches(&matches).map_err(LoadError::Clap)?;
        let from_env = matches.value_source("queues") == Some(ValueSource::EnvVariable);
        let mut specs = file.queues;
        for value in config.queues.iter().flat_map(|v| v.split_whitespace()) {
            let at = if from_env {
                Place::new(format!("CAUDA_QUEUES ({value})"))
            } else {
                Place::new(format!("--queue {value}"))
            };
            specs.push(config_file::parse_queue_flag(value, at).map_err(LoadError::Invalid)?);
        }
        config.declared = config_file::resolve(specs, &config.account_id, &config.region)
            .map_err(LoadError::Invalid)?;
        config.check_backend().map_err(LoadError::Invalid)?;
        Ok(config)
    }

    /// `--backend postgres` needs a database to connect to.
    fn check_backend(&self) -> Result<(), String> {
        if self.backend() == Backend::Postgres && self.database_url.is_none() {
            return Err(
                "--backend postgres needs --database-url (or CAUDA_DATABASE_URL, or \
                 database-url in the config file): the PostgreSQL database to keep queues in"
                    .into(),
            );
        }
        Ok(())
    }

    /// A configuration for tests: loopback port 0, in memory.
    pub fn for_tests() -> Self {
        Config::parse_from(["cauda", "--bind", "127.0.0.1:0", "--in-memory"])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_contract() {
        let c = Config::parse_from(["cauda"]);
        assert_eq!(c.bind.to_string(), "127.0.0.1:9324");
        assert_eq!(c.account_id, "000000000000");
        assert_eq!(c.region, "us-east-1");
        assert_eq!(c.data_dir, PathBuf::from("./cauda-data"));
        assert_eq!(c.auth, AuthMode::Auto);
        assert_eq!(c.durability, Durability::Strict);
        assert!(!c.in_memory);
    }

    #[test]
    fn repeatable_credentials() {
        let c = Config::parse_from([
            "cauda",
            "--credentials",
            "A:B",
            "--credentials",
            "C:D:111111111111",
        ]);
        assert_eq!(c.credentials, vec!["A:B", "C:D:111111111111"]);
    }

    #[test]
    fn bind_forms() {
        let bind = |s: &str| parse_bind(s).map(|a| a.to_string());
        assert_eq!(bind("127.0.0.1:9324").unwrap(), "127.0.0.1:9324");
        assert_eq!(bind("[::1]:9324").unwrap(), "[::1]:9324");
        assert_eq!(bind("localhost:9400").unwrap(), "127.0.0.1:9400");
        assert_eq!(bind("9401").unwrap(), "127.0.0.1:9401");
        assert_eq!(bind(":9402").unwrap(), "0.0.0.0:9402");
        for bad in [
            "",
            "localhost",
            ":",
            "99999",
            "host:1",
            "localhost:x",
            "1.2.3.4",
        ] {
            assert!(bind(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_backend_is_sled_unless_memory_is_asked_for() {
        assert_eq!(Config::parse_from(["cauda"]).backend(), Backend::Sled);
        assert_eq!(
            Config::parse_from(["cauda", "--in-memory"]).backend(),
            Backend::Memory
        );
        assert_eq!(
            Config::parse_from(["cauda", "--backend", "memory"]).backend(),
            Backend::Memory
        );
    }

    #[test]
    fn boolean_flags_take_the_usual_spellings() {
        use clap::builder::TypedValueParser;
        use clap::CommandFactory;
        let command = Config::command();
        let parse = |value: &str| {
            BoolishValueParser::new()
                .parse_ref(&command, None, std::ffi::OsStr::new(value))
                .ok()
        };
        for value in ["1", "yes", "on", "true", "True", "y"] {
            assert_eq!(parse(value), Some(true), "{value}");
        }
        for value in ["0", "no", "off", "false", "n"] {
            assert_eq!(parse(value), Some(false), "{value}");
        }
        assert_eq!(parse("maybe"), None);
        assert!(Config::parse_from(["cauda", "--in-memory"]).in_memory);
        assert!(!Config::parse_from(["cauda"]).in_memory);
    }

    /// `Config::load` over a file holding `text`, with `args` after `--config FILE`.
    fn load(text: &str, args: &[&str]) -> Result<Config, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cauda.toml");
        std::fs::write(&path, text).unwrap();
        let path = path.to_str().unwrap();
        let all = [&["cauda", "--config", path][..], args].concat();
        Config::load(all).map_err(|e| match e {
            LoadError::Invalid(m) => m.replace(path, "cauda.toml"),
            LoadError::Clap(e) => e.to_string(),
        })
    }

    #[test]
    fn postgres_needs_a_database_url_from_a_flag_or_the_file() {
        let e = load("", &["--backend", "postgres"]).unwrap_err();
        assert!(e.contains("--backend postgres needs --database-url"), "{e}");
        let url = "postgres://cauda@127.0.0.1:5432/cauda";
        let c = load("", &["--backend", "postgres", "--database-url", url]).unwrap();
        assert_eq!(c.backend(), Backend::Postgres);
        assert_eq!(c.database_url.as_deref(), Some(url));
        let c = load(
            &format!("backend = \"postgres\"\ndatabase-url = \"{url}\"\n"),
            &[],
        )
        .unwrap();
        assert_eq!(c.backend(), Backend::Postgres);
        assert_eq!(c.database_url.as_deref(), Some(url));
        assert_eq!(
            load("", &["--database-url", url]).unwrap().backend(),
            Backend::Sled
        );
    }

    #[test]
    fn the_move_task_lease_comes_from_a_flag_or_the_file_and_is_bounded() {
        assert_eq!(load("", &[]).unwrap().move_task_lease_secs, 30);
        let c = load("move-task-lease-secs = 5\n", &[]).unwrap();
        assert_eq!(c.move_task_lease_secs, 5);
        let c = load(
            "move-task-lease-secs = 5\n",
            &["--move-task-lease-secs", "2"],
        )
        .unwrap();
        assert_eq!(c.move_task_lease_secs, 2);
        let e = load("", &["--move-task-lease-secs", "0"]).unwrap_err();
        assert!(e.contains("--move-task-lease-secs"), "{e}");
    }

    #[test]
    fn file_settings_are_defaults_that_flags_override() {
        let text = "bind = \"9400\"\nin-memory = true\ncredentials = [\"A:B\", \"C:D\"]\n\
                    durability = \"relaxed\"\nmax-inflight = 7\nregion = \"eu-west-1\"\n";
        let c = load(text, &[]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:9400");
        assert!(c.in_memory);
        assert_eq!(c.credentials, ["A:B", "C:D"]);
        assert_eq!(c.durability, Durability::Relaxed);
        assert_eq!(c.max_inflight, 7);
        assert_eq!(c.region, "eu-west-1");
        assert_eq!(c.account_id, "000000000000");
        let c = load(
            text,
            &[
                "--bind",
                "9500",
                "--credentials",
                "E:F",
                "--max-inflight",
                "8",
            ],
        )
        .unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:9500");
        assert_eq!(c.credentials, ["E:F"]);
        assert_eq!(c.max_inflight, 8);
        assert!(c.in_memory);
    }

    #[test]
    fn limits_have_safe_defaults_and_come_from_the_file_too() {
        let c = Config::parse_from(["cauda"]);
        assert_eq!(c.max_body_bytes, 4 * 1024 * 1024);
        assert_eq!((c.max_header_bytes, c.max_headers), (64 * 1024, 100));
        assert_eq!(
            (
                c.header_read_timeout_secs,
                c.body_read_timeout_secs,
                c.idle_timeout_secs
            ),
            (20, 60, 75)
        );
        assert!(c.idle_timeout_secs > 20, "longer than a long poll");
        assert_eq!(
            (
                c.max_connections,
                c.max_long_polls,
                c.max_queues_per_account
            ),
            (4096, 1024, 10_000)
        );
        let text = "max-header-bytes = 2048\nmax-headers = 10\nheader-read-timeout-secs = 3\n\
                    body-read-timeout-secs = 4\nidle-timeout-secs = 5\nmax-connections = 6\n\
                    max-long-polls = 7\nmax-queues-per-account = 8\n";
        let c = load(text, &["--max-long-polls", "9"]).unwrap();
        assert_eq!((c.max_header_bytes, c.max_headers), (2048, 10));
        assert_eq!(
            (
                c.header_read_timeout_secs,
                c.body_read_timeout_secs,
                c.idle_timeout_secs
            ),
            (3, 4, 5)
        );
        assert_eq!(
            (
                c.max_connections,
                c.max_long_polls,
                c.max_queues_per_account
            ),
            (6, 9, 8)
        );
        let e = load("max-connections = 0\n", &[]).unwrap_err();
        assert!(
            e.starts_with("cauda.toml:1: max-connections = \"0\""),
            "{e}"
        );
        let e = load("max-header-bytes = 10\n", &[]).unwrap_err();
        assert!(
            e.starts_with("cauda.toml:1: max-header-bytes = \"10\""),
            "{e}"
        );
    }

    #[test]
    fn bad_file_settings_name_the_line() {
        let e = load("\nbind = \"nonsense\"\n", &[]).unwrap_err();
        assert!(
            e.starts_with("cauda.toml:2: bind = \"nonsense\": expected IP:PORT"),
            "{e}"
        );
        let e = load("in-memory = \"maybe\"\n", &[]).unwrap_err();
        assert!(e.starts_with("cauda.toml:1: in-memory = \"maybe\""), "{e}");
        let e = load("max-inflight = -1\n", &[]).unwrap_err();
        assert!(e.starts_with("cauda.toml:1: max-inflight = \"-1\""), "{e}");
        let e = load("log-format = \"xml\"\n", &[]).unwrap_err();
        assert_eq!(
            e,
            "cauda.toml:1: log-format = \"xml\": expected one of text, json"
        );
        let e = load("\n\ndata_dir = \"x\"\n", &[]).unwrap_err();
        assert_eq!(
            e,
            "cauda.toml:3: unknown key \"data_dir\" (did you mean data-dir?)"
        );
        let e = load("colour = true\n", &[]).unwrap_err();
        assert!(e.starts_with("cauda.toml:1: unknown key \"colour\""), "{e}");
        let e = load("config = \"other.toml\"\n", &[]).unwrap_err();
        assert!(e.starts_with("cauda.toml:1: unknown key \"config\""), "{e}");
        let e = load("bind = [\"1\", \"2\"]\n", &[]).unwrap_err();
        assert_eq!(e, "cauda.toml:1: bind takes one value, not a list");
    }

    #[test]
    fn a_missing_file_is_named() {
        let e = Config::load(["cauda", "--config", "/nonexistent/cauda.toml"]).unwrap_err();
        let LoadError::Invalid(m) = e else {
            panic!("{e:?}")
        };
        assert!(m.starts_with("/nonexistent/cauda.toml: "), "{m}");
    }

    #[test]
    fn queue_flags_join_the_file_queues() {
        let c = load(
            "[[queue]]\nname = \"a\"\n",
            &[
                "--queue",
                "b",
                "--queue",
                "c.fifo:ContentBasedDeduplication=true d",
            ],
        )
        .unwrap();
        let names: Vec<_> = c.declared.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c.fifo", "d"]);
        assert!(c.declared[2].fifo);
        let e = load("[[queue]]\nname = \"a\"\n", &["--queue", "a"]).unwrap_err();
        assert_eq!(
            e,
            "--queue a: queue \"a\" is declared twice (first at cauda.toml:2)"
        );
        let e = load("", &["--queue", "x:FifoQueue=true"]).unwrap_err();
        assert!(
            e.starts_with("--queue x:FifoQueue=true: queue \"x\": FifoQueue"),
            "{e}"
        );
        let c = Config::load(["cauda", "--queue", "q", "--account-id", "111111111111"]).unwrap();
        assert_eq!(c.declared[0].account, "111111111111");
    }

    #[test]
    fn healthcheck_subcommand() {
        assert_eq!(Config::parse_from(["cauda"]).command, None);
        let c = Config::parse_from(["cauda", "--bind", "0.0.0.0:9400", "healthcheck"]);
        assert_eq!(c.command, Some(Command::Healthcheck { url: None }));
        assert_eq!(c.bind.port(), 9400);
        let c = Config::parse_from(["cauda", "healthcheck", "--url", "http://h:1/health"]);
        assert_eq!(
            c.command,
            Some(Command::Healthcheck {
                url: Some("http://h:1/health".into())
            })
        );
    }
}
