//! cauda: an SQS-compatible queue server.
//!
//! Layers, and the one direction data flows:
//!
//! ```text
//! server → http → { auth, protocol } → api → engine → store
//! ```
//!
//! - [`server`]: accept loop, graceful shutdown.
//! - [`http`]: the request pipeline (protocol detection, body limit, auth, decode, dispatch).
//! - [`auth`]: SigV4 verification; [`protocol`]: Query/XML and JSON 1.0 codecs.
//! - [`api`]: the 23 actions, typed inputs and outputs.
//! - [`engine`]: queues and messages; no HTTP, XML or JSON wire types.
//! - [`store`]: a small key-value trait over sled or memory.
//! - [`config`], [`config_file`]: flags, `CAUDA_*` variables and the TOML file; [`declare`]:
//!   the queues they declare, applied at start.

pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod config_file;
pub mod declare;
pub mod embed;
pub mod engine;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod healthcheck;
pub mod http;
pub mod limits;
pub mod log_throttle;
pub mod metrics;
pub mod protocol;
pub mod server;
pub mod store;

pub use clock::{Clock, ManualClock};
pub use config::Config;
pub use server::{start, start_with_clock, RunningServer};
