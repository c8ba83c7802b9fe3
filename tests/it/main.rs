//! The one integration-test binary: a real server driven by the Rust SDK (JSON protocol) and a
//! raw signed client (Query protocol, malformed input). One module per area.

#![allow(
    clippy::print_stderr,
    reason = "load and crash tests print what they measured to the CI log"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "the tests drive a real server in real time and sign requests with the real time"
)]

mod harness;
mod wire;

// Operators: the admin API and the web console.
mod admin;
mod console;

// Queue management, errors, auth, restart.
mod auth;
mod bad_input;
mod config;
mod config_file;
mod hostile;
mod limits;
mod queues;
mod regions;
mod restart;
mod wire_formats;

// Messaging, FIFO, dead letters, durability, concurrency.
mod clock;
mod concurrency;
mod crash;
mod crash_mixed;
mod dlq;
mod embedding;
mod fifo;
mod messages;
mod operator;
mod pg_dedup;
mod pg_move_tasks;
mod policies;
mod postgres;
mod process;
mod readiness;
mod store_faults;
mod stress;
