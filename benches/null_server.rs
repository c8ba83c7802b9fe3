//! The null server: the load generator's ceiling. A minimal hyper HTTP/1.1 server on loopback
//! that reads each request whole and answers a fixed, valid reply for its action, in the
//! request's protocol (AWS JSON 1.0 when `X-Amz-Target` is present, AWS Query otherwise), with
//! no signature check, no queue and no state. `benches/null-ratio.sh` runs `load` against it
//! and against `cauda --in-memory` in one run and reports the ratio.
//!
//! ```sh
//! cargo bench --bench null_server -- --bind 127.0.0.1:0 --max-secs 300
//! ```
//!
//! It prints `listening on ADDR` once bound and stops by itself after `--max-secs` (or on
//! SIGTERM / Ctrl-C). The replies cover what the send scenarios need: CreateQueue (a queue URL
//! on this server), SendMessage (the MD5 of the 256-byte bodies the load generator sends is not
//! checked by it, so a fixed one is used), SendMessageBatch (ten successful entries), and an
//! empty success for anything else (DeleteQueue, ...).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// The same allocator as the server and the load generator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(about = "Canned-reply SQS server: the load generator's ceiling")]
struct Args {
    /// Loopback address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: SocketAddr,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 600)]
    max_secs: u64,
    /// Passed by `cargo bench`; without it (e.g. under `cargo test --benches`) nothing runs.
    #[arg(long, hide = true)]
    bench: bool,
}

const JSON_CREATE: &str = r#"{"QueueUrl":"http://127.0.0.1/000000000000/null"}"#;
const JSON_SEND: &str = r#"{"MD5OfMessageBody":"d41d8cd98f00b204e9800998ecf8427e","MessageId":"5fea7756-0ea4-451a-a703-a558b933e274"}"#;
const QUERY_CREATE: &str = r#"<?xml version="1.0"?><CreateQueueResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><CreateQueueResult><QueueUrl>http://127.0.0.1/000000000000/null</QueueUrl></CreateQueueResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></CreateQueueResponse>"#;
const QUERY_SEND: &str = r#"<?xml version="1.0"?><SendMessageResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><SendMessageResult><MessageId>5fea7756-0ea4-451a-a703-a558b933e274</MessageId><MD5OfMessageBody>d41d8cd98f00b204e9800998ecf8427e</MD5OfMessageBody></SendMessageResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></SendMessageResponse>"#;
const QUERY_EMPTY: &str = r#"<?xml version="1.0"?><Response xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></Response>"#;

/// A successful batch reply of ten entries, in either protocol.
fn batch_reply(json: bool) -> String {
    let entry = |i: u32| {
        if json {
            format!(
                r#"{{"Id":"{i}","MessageId":"m{i}","MD5OfMessageBody":"d41d8cd98f00b204e9800998ecf8427e"}}"#
            )
        } else {
            format!("<SendMessageBatchResultEntry><Id>{i}</Id><MessageId>m{i}</MessageId><MD5OfMessageBody>d41d8cd98f00b204e9800998ecf8427e</MD5OfMessageBody></SendMessageBatchResultEntry>")
        }
    };
    let entries: Vec<String> = (0..10).map(entry).collect();
    if json {
        format!(r#"{{"Successful":[{}],"Failed":[]}}"#, entries.join(","))
    } else {
        format!(
            r#"<?xml version="1.0"?><SendMessageBatchResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><SendMessageBatchResult>{}</SendMessageBatchResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></SendMessageBatchResponse>"#,
            entries.concat()
        )
    }
}

/// The canned replies, built once.
struct Replies {
    json_batch: Bytes,
    query_batch: Bytes,
}

/// The action of a Query request: the `Action=` form field of its body.
fn query_action(body: &[u8]) -> &[u8] {
    body.split(|&b| b == b'&')
        .find_map(|field| field.strip_prefix(b"Action="))
        .unwrap_or_default()
}

async fn answer(
    replies: &'static Replies,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let target = req.headers().get("x-amz-target").cloned();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let (content_type, reply) = match &target {
        Some(t) => {
            let action = t.as_bytes().strip_prefix(b"AmazonSQS.").unwrap_or_default();
            let reply = match action {
                b"CreateQueue" => Bytes::from_static(JSON_CREATE.as_bytes()),
                b"SendMessage" => Bytes::from_static(JSON_SEND.as_bytes()),
                b"SendMessageBatch" => replies.json_batch.clone(),
                _ => Bytes::from_static(b"{}"),
            };
            ("application/x-amz-json-1.0", reply)
        }
        None => {
            let reply = match query_action(&body) {
                b"CreateQueue" => Bytes::from_static(QUERY_CREATE.as_bytes()),
                b"SendMessage" => Bytes::from_static(QUERY_SEND.as_bytes()),
                b"SendMessageBatch" => replies.query_batch.clone(),
                _ => Bytes::from_static(QUERY_EMPTY.as_bytes()),
            };
            ("text/xml", reply)
        }
    };
    let mut resp = Response::new(Full::new(reply));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    Ok(resp)
}

#[allow(
    clippy::print_stdout,
    reason = "the bound address is this tool's output"
)]
#[allow(clippy::print_stderr, reason = "errors of a command-line tool")]
fn main() -> ExitCode {
    let args = Args::parse();
    if !args.bench {
        println!("null_server: run it with `cargo bench --bench null_server -- [args]`. Skipping.");
        return ExitCode::SUCCESS;
    }
    if !args.bind.ip().is_loopback() {
        eprintln!("null_server: {} is not a loopback address", args.bind);
        return ExitCode::from(2);
    }
    let replies: &'static Replies = Box::leak(Box::new(Replies {
        json_batch: Bytes::from(batch_reply(true)),
        query_batch: Bytes::from(batch_reply(false)),
    }));
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("null_server: cannot start tokio: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(args.bind).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("null_server: cannot bind {}: {e}", args.bind);
                return ExitCode::from(1);
            }
        };
        match listener.local_addr() {
            Ok(a) => println!("listening on {a}"),
            Err(e) => {
                eprintln!("null_server: {e}");
                return ExitCode::from(1);
            }
        }
        let serve = async {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let service = service_fn(move |req| answer(replies, req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        };
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("null_server: {e}");
                    return ExitCode::from(1);
                }
            };
        tokio::select! {
            () = serve => {}
            () = tokio::time::sleep(Duration::from_secs(args.max_secs)) => {}
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        ExitCode::SUCCESS
    })
}
