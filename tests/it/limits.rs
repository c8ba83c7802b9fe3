//! The resource limits, each hit through a real TCP or SDK client with the limit set low: the
//! client gets a clean error in its protocol (or a closed connection, or a short poll), and
//! the server keeps answering normal requests afterwards.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::harness::{assert_json_error, assert_query_error, sdk_failure, unique, TestServer};
use crate::wire::{self, closes_within, exchange, exchange_on};

/// A generous bound for anything that should happen "at once" on a loaded machine.
const SOON: Duration = Duration::from_secs(10);

async fn assert_serving(s: &TestServer) {
    let r = s.query(&[("Action", "ListQueues")]).await;
    assert_eq!(
        r.status, 200,
        "a normal request after the limit: {}",
        r.body
    );
    let r = s.json("ListQueues", "{}").await;
    assert_eq!(
        r.status, 200,
        "a normal request after the limit: {}",
        r.body
    );
}

#[tokio::test]
async fn a_head_over_the_size_or_count_limit_gets_431() {
    let s = TestServer::start_with(&["--max-header-bytes", "4096", "--max-headers", "20"]).await;
    let list = b"Action=ListQueues&Version=2012-11-05";
    // Under both limits: answered.
    let pad = format!("X-Pad: {}", "p".repeat(1000));
    let ok = wire::query_request(b"/", list);
    let ok = [
        &ok[..ok.len() - list.len() - 2],
        pad.as_bytes(),
        b"\r\n\r\n",
        list,
    ]
    .concat();
    let e = exchange(s.addr, vec![ok], Duration::ZERO, 1, SOON).await;
    assert_eq!(e.statuses(), [200], "{e:?}");
    // One header of 5000 bytes.
    let big = format!("X-Pad: {}", "p".repeat(5000));
    let req = wire::request("POST", b"/", &[big.as_bytes()], list, true);
    let e = exchange(s.addr, vec![req], Duration::ZERO, 1, SOON).await;
    assert!(!e.timed_out, "{e:?}");
    assert_eq!(e.statuses(), [431], "{e:?}");
    // A request line of 5000 bytes.
    let target = format!("/?Action=ListQueues&X={}", "x".repeat(5000));
    let req = wire::request("GET", target.as_bytes(), &[], b"", true);
    let e = exchange(s.addr, vec![req], Duration::ZERO, 1, SOON).await;
    assert_eq!(e.statuses(), [431], "{e:?}");
    // 30 small headers.
    let many: Vec<String> = (0..30).map(|i| format!("X-H{i}: v")).collect();
    let many: Vec<&[u8]> = many.iter().map(String::as_bytes).collect();
    let req = wire::request("POST", b"/", &many, list, true);
    let e = exchange(s.addr, vec![req], Duration::ZERO, 1, SOON).await;
    assert_eq!(e.statuses(), [431], "{e:?}");
    // The connection is closed after the 431.
    let req = wire::request("POST", b"/", &many, list, true);
    let again = wire::query_request(b"/", list);
    let e = exchange(s.addr, vec![[req, again].concat()], Duration::ZERO, 2, SOON).await;
    assert_eq!(e.statuses(), [431], "{e:?}");
    assert!(e.closed, "{e:?}");
    assert_serving(&s).await;
    s.stop().await;
}

#[tokio::test]
async fn a_slow_or_silent_client_is_disconnected_after_the_header_read_timeout() {
    let s = TestServer::start_with(&["--header-read-timeout-secs", "2"]).await;
    // Silent after connecting.
    let started = Instant::now();
    let mut silent = TcpStream::connect(s.addr).await.unwrap();
    assert!(
        closes_within(&mut silent, SOON).await,
        "a silent connection stays open"
    );
    assert!(started.elapsed() >= Duration::from_millis(1900));
    // A head sent a few bytes at a time, never finished: slowloris.
    let parts: Vec<Vec<u8>> = b"POST / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n"
        .chunks(4)
        .map(<[u8]>::to_vec)
        .collect();
    let started = Instant::now();
    let e = exchange(s.addr, parts, Duration::from_millis(300), 1, SOON).await;
    assert!(e.closed && e.responses.is_empty(), "{e:?}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    // A head that completes in time is answered.
    let req = wire::query_request(b"/", b"Action=ListQueues");
    let (a, b) = req.split_at(20);
    let e = exchange(
        s.addr,
        vec![a.to_vec(), b.to_vec()],
        Duration::from_millis(200),
        1,
        SOON,
    )
    .await;
    assert_eq!(e.statuses(), [200], "{e:?}");
    assert_serving(&s).await;
    s.stop().await;
}

#[tokio::test]
async fn keep_alive_connections_close_after_the_idle_timeout_not_the_header_timeout() {
    let s = TestServer::start_with(&[
        "--header-read-timeout-secs",
        "1",
        "--idle-timeout-secs",
        "5",
    ])
    .await;
    let queue = unique("idle");
    let r = s
        .query(&[("Action", "CreateQueue"), ("QueueName", &queue)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let list = wire::query_request(b"/", b"Action=ListQueues");
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    for _ in 0..2 {
        // Idle for longer than the header-read timeout (1 s), less than the idle one (5 s).
        let e = exchange_on(
            clone_stream(&mut stream).await,
            vec![list.clone()],
            Duration::ZERO,
            1,
            SOON,
        )
        .await;
        assert_eq!(e.statuses(), [200], "{e:?}");
        tokio::time::sleep(Duration::from_millis(2000)).await;
    }
    // A long poll longer than both timeouts is not cut.
    let receive = format!(
        "Action=ReceiveMessage&QueueUrl={}&WaitTimeSeconds=6",
        s.queue_url(&queue)
    );
    let started = Instant::now();
    let e = exchange_on(
        clone_stream(&mut stream).await,
        vec![wire::query_request(b"/", receive.as_bytes())],
        Duration::ZERO,
        1,
        SOON + Duration::from_secs(6),
    )
    .await;
    assert_eq!(e.statuses(), [200], "{e:?}");
    assert!(started.elapsed() >= Duration::from_millis(5900));
    // Then, idle past the idle timeout: closed.
    let started = Instant::now();
    assert!(
        closes_within(&mut stream, SOON).await,
        "an idle connection stays open"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(4000),
        "closed after {:?}",
        started.elapsed()
    );
    assert_serving(&s).await;
    s.stop().await;
}

/// A second handle on the same connection (`exchange_on` takes the stream by value).
async fn clone_stream(stream: &mut TcpStream) -> TcpStream {
    use std::os::fd::AsFd;
    let owned = stream.as_fd().try_clone_to_owned().expect("dup");
    let std = std::net::TcpStream::from(owned);
    std.set_nonblocking(true).unwrap();
    TcpStream::from_std(std).unwrap()
}

#[tokio::test]
async fn connections_beyond_the_maximum_are_closed_at_once() {
    let s = TestServer::start_with(&["--max-connections", "2"]).await;
    let mut first = TcpStream::connect(s.addr).await.unwrap();
    let mut second = TcpStream::connect(s.addr).await.unwrap();
    // Both are served.
    for stream in [&mut first, &mut second] {
        let e = exchange_on(
            clone_stream(stream).await,
            vec![wire::query_request(b"/", b"Action=ListQueues")],
            Duration::ZERO,
            1,
            SOON,
        )
        .await;
        assert_eq!(e.statuses(), [200], "{e:?}");
    }
    // A third is closed without an answer, several times over (logged once).
    for _ in 0..3 {
        let e = exchange(
            s.addr,
            vec![wire::query_request(b"/", b"Action=ListQueues")],
            Duration::ZERO,
            1,
            SOON,
        )
        .await;
        assert!(e.closed && e.responses.is_empty(), "{e:?}");
    }
    // Once one closes, a new connection is served again.
    first.shutdown().await.unwrap();
    drop(first);
    let deadline = Instant::now() + SOON;
    loop {
        let e = exchange(
            s.addr,
            vec![wire::query_request(b"/", b"Action=ListQueues")],
            Duration::ZERO,
            1,
            SOON,
        )
        .await;
        if e.statuses() == [200] {
            break;
        }
        assert!(Instant::now() < deadline, "never served again: {e:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(second);
    s.stop().await;
}

#[tokio::test]
async fn long_polls_beyond_the_maximum_are_answered_as_short_polls() {
    let s = TestServer::start_with(&["--max-long-polls", "1"]).await;
    let sdk = s.sdk();
    let queue = unique("polls");
    let url = sdk
        .create_queue()
        .queue_name(&queue)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let engine = s.server.as_ref().unwrap().engine.clone();
    let q = engine.queue("000000000000", "us-east-1", &queue).unwrap();
    let waiting = {
        let sdk = sdk.clone();
        let url = url.clone();
        tokio::spawn(async move {
            sdk.receive_message()
                .queue_url(url)
                .wait_time_seconds(20)
                .send()
                .await
        })
    };
    let deadline = Instant::now() + SOON;
    while q.waiting_receives() == 0 {
        assert!(Instant::now() < deadline, "the first long poll never waits");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A second long poll, in each protocol, is answered at once with nothing.
    let started = Instant::now();
    let second = sdk
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(20)
        .send()
        .await
        .unwrap();
    assert!(second.messages().is_empty());
    let r = s
        .query(&[
            ("Action", "ReceiveMessage"),
            ("QueueUrl", &url),
            ("WaitTimeSeconds", "20"),
        ])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.xml("Message").is_none(), "{}", r.body);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    // The first still waits, and gets the message sent now.
    sdk.send_message()
        .queue_url(&url)
        .message_body("for the first")
        .send()
        .await
        .unwrap();
    let first = tokio::time::timeout(SOON, waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.messages()[0].body(), Some("for the first"));
    // With the permit back, a long poll waits again.
    let started = Instant::now();
    let r = sdk
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap();
    assert!(r.messages().is_empty());
    assert!(started.elapsed() >= Duration::from_millis(1900));
    s.stop().await;
}

#[tokio::test]
async fn create_queue_beyond_the_maximum_per_account_is_over_limit() {
    let s = TestServer::start_with(&["--max-queues-per-account", "3"]).await;
    let sdk = s.sdk();
    let names: Vec<String> = (0..3).map(|_| unique("quota")).collect();
    for name in &names {
        sdk.create_queue().queue_name(name).send().await.unwrap();
    }
    // Another region of the same account counts too.
    let e = s
        .sdk_in("eu-west-1")
        .create_queue()
        .queue_name(unique("quota"))
        .send()
        .await
        .unwrap_err();
    let f = sdk_failure(e);
    assert_eq!(
        (f.status, f.code.as_str()),
        (403, "OverLimit"),
        "{}",
        f.message
    );
    assert!(
        f.message.contains("maximum number of queues"),
        "{}",
        f.message
    );
    let r = s
        .json(
            "CreateQueue",
            &format!(r#"{{"QueueName":"{}"}}"#, unique("quota")),
        )
        .await;
    assert_json_error(&r, 403, "OverLimit", "OverLimit");
    let r = s
        .query(&[("Action", "CreateQueue"), ("QueueName", &unique("quota"))])
        .await;
    assert_query_error(&r, 403, "OverLimit");
    // An existing queue's CreateQueue still answers its URL.
    let again = sdk
        .create_queue()
        .queue_name(&names[0])
        .send()
        .await
        .unwrap();
    assert_eq!(again.queue_url(), Some(s.queue_url(&names[0]).as_str()));
    // After a delete there is room again.
    sdk.delete_queue()
        .queue_url(s.queue_url(&names[1]))
        .send()
        .await
        .unwrap();
    sdk.create_queue()
        .queue_name(unique("quota"))
        .send()
        .await
        .unwrap();
    assert_serving(&s).await;
    s.stop().await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_in_the_clients_protocol() {
    let s = TestServer::start_with(&["--max-body-bytes", "1024"]).await;
    let body = format!(r#"{{"QueueNamePrefix":"{}"}}"#, "p".repeat(2000));
    let r = s.json("ListQueues", &body).await;
    assert_json_error(&r, 413, "RequestEntityTooLarge", "RequestEntityTooLarge");
    let r = s
        .query(&[
            ("Action", "ListQueues"),
            ("QueueNamePrefix", &"p".repeat(2000)),
        ])
        .await;
    assert_query_error(&r, 413, "RequestEntityTooLarge");
    // A Content-Length over the limit is refused before any of the body is sent.
    let req = wire::request(
        "POST",
        b"/",
        &[
            b"Content-Type: application/x-www-form-urlencoded",
            b"Content-Length: 1000000",
        ],
        b"",
        true,
    );
    let e = exchange(s.addr, vec![req], Duration::ZERO, 1, SOON).await;
    assert_eq!(e.statuses(), [413], "{e:?}");
    assert_eq!(
        e.responses[0].xml("Code").as_deref(),
        Some("RequestEntityTooLarge")
    );
    // Exactly at the limit: answered.
    let at = format!(
        "Action=ListQueues&QueueNamePrefix={}",
        "p".repeat(1024 - "Action=ListQueues&QueueNamePrefix=".len())
    );
    assert_eq!(at.len(), 1024);
    let e = exchange(
        s.addr,
        vec![wire::query_request(b"/", at.as_bytes())],
        Duration::ZERO,
        1,
        SOON,
    )
    .await;
    assert_eq!(e.statuses(), [200], "{e:?}");
    assert_serving(&s).await;
    s.stop().await;
}

#[tokio::test]
async fn a_body_slower_than_the_body_timeout_gets_408_and_a_close() {
    let s = TestServer::start_with(&["--body-read-timeout-secs", "1"]).await;
    let head = wire::request(
        "POST",
        b"/",
        &[
            b"Content-Type: application/x-amz-json-1.0",
            b"X-Amz-Target: AmazonSQS.ListQueues",
            b"Content-Length: 20",
        ],
        b"",
        true,
    );
    let started = Instant::now();
    // `want` 2: read on until the server closes.
    let e = exchange(
        s.addr,
        vec![head, b"{".to_vec(), b" ".to_vec()],
        Duration::from_millis(400),
        2,
        SOON,
    )
    .await;
    assert_eq!(e.statuses(), [408], "{e:?}");
    assert!(e.closed, "{e:?}");
    let r = &e.responses[0];
    assert_eq!(
        r.header("connection").as_deref(),
        Some("close"),
        "{}",
        r.head
    );
    assert_eq!(
        r.json()["__type"].as_str(),
        Some("com.amazonaws.sqs#RequestTimeout"),
        "{}",
        r.text()
    );
    assert!(started.elapsed() < Duration::from_secs(8));
    assert_serving(&s).await;
    s.stop().await;
}

#[tokio::test]
async fn with_the_header_timeout_off_a_silent_connection_still_meets_the_idle_timeout() {
    let s = TestServer::start_with(&[
        "--header-read-timeout-secs",
        "0",
        "--idle-timeout-secs",
        "1",
    ])
    .await;
    let started = Instant::now();
    let mut silent = TcpStream::connect(s.addr).await.unwrap();
    assert!(
        closes_within(&mut silent, SOON).await,
        "a silent connection stays open"
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
    // A slow head is not cut (no header-read timeout), and is answered once complete.
    let req = wire::query_request(b"/", b"Action=ListQueues");
    let (a, b) = req.split_at(20);
    let e = exchange(
        s.addr,
        vec![a.to_vec(), b.to_vec()],
        Duration::from_millis(1500),
        1,
        SOON,
    )
    .await;
    assert_eq!(e.statuses(), [200], "{e:?}");
    assert_serving(&s).await;
    s.stop().await;
}
