//! cauda inside a Rust program or test: an in-memory server on a free loopback port that stops
//! when it is dropped.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
//!
//! let cauda = cauda::embed::EmbeddedServer::start().await?;
//! let config = aws_sdk_sqs::Config::builder()
//!     .behavior_version(BehaviorVersion::latest())
//!     .endpoint_url(cauda.endpoint())
//!     .region(Region::new("us-east-1"))
//!     .credentials_provider(Credentials::new("test", "test", None, None, "test"))
//!     // Only because cauda's tests build aws-sdk-sqs without its default HTTP client:
//!     .http_client(aws_smithy_http_client::Builder::new().build_http())
//!     .build();
//! let sqs = aws_sdk_sqs::Client::from_conf(config);
//!
//! let url = sqs.create_queue().queue_name("jobs").send().await?.queue_url.unwrap();
//! sqs.send_message().queue_url(&url).message_body("hello").send().await?;
//! let received = sqs.receive_message().queue_url(&url).send().await?;
//! assert_eq!(received.messages()[0].body(), Some("hello"));
//! # Ok(())
//! # }
//! ```

use std::net::SocketAddr;

use crate::config::Config;
use crate::server::RunningServer;

/// A running in-memory cauda; dropping it stops the server (in the background, on the runtime
/// it was started on), [`EmbeddedServer::stop`] stops it and waits.
pub struct EmbeddedServer {
    endpoint: String,
    local_addr: SocketAddr,
    server: Option<RunningServer>,
}

impl EmbeddedServer {
    /// Starts a server with the defaults of a test: in memory, on `127.0.0.1` and a free port,
    /// any well-formed signature accepted. Must be called inside a tokio runtime.
    pub async fn start() -> std::io::Result<EmbeddedServer> {
        EmbeddedServer::start_with(Config::for_tests()).await
    }

    /// Starts a server with `config` (e.g. from `Config::for_tests()`, then changed).
    pub async fn start_with(config: Config) -> std::io::Result<EmbeddedServer> {
        let server = crate::server::start(config).await?;
        Ok(EmbeddedServer {
            endpoint: format!("http://{}", server.local_addr),
            local_addr: server.local_addr,
            server: Some(server),
        })
    }

    /// The URL to give an SDK as its endpoint, e.g. `http://127.0.0.1:40123`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, finishes the requests in flight and waits until the server is down.
    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

impl Drop for EmbeddedServer {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stopper().send_replace(true);
        }
    }
}
