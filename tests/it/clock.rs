//! Time-dependent behaviour driven by an injected clock instead of sleeps: retention, delays,
//! visibility (expiry and the 12-hour cap), the FIFO deduplication and receive-attempt
//! windows, and the PurgeQueue and DeleteQueue cooldowns.
//!
//! The server's engine reads a [`ManualClock`] that only the test moves. The tests hold
//! whether background waits run on real time or sleep on that clock (where moving it wakes
//! them):
//! - expired messages are removed in the background (the janitor) and by the receive path.
//!   Receives are asserted at once; counters, which only the janitor updates, are awaited with
//!   a bounded deadline ([`wait_counts`]).
//! - a long poll ends when the *clock* passes its wait time, so a long poll on a frozen clock
//!   would never end: [`long_poll`] moves the clock while it waits. Every other receive here
//!   is a short poll (WaitTimeSeconds 0, given or the queue's default).
//!
//! SigV4 dates are verified against the server's clock but the SDK signs with real time, so
//! these servers run with `--auth off` (the clock moves by hours).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName};
use cauda::clock::ManualClock;

use crate::harness::{sdk_failure, unique, TestServer};

const SEC: u64 = 1000;
const MIN: u64 = 60 * SEC;
const HOUR: u64 = 60 * MIN;

/// A server (auth off, plus `args`) on a manual clock that starts at the real time.
pub(crate) async fn start(args: &[&str]) -> (TestServer, Arc<ManualClock>) {
    let mut argv = vec!["--auth", "off"];
    argv.extend_from_slice(args);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64;
    TestServer::start_with_clock(&argv, Arc::new(ManualClock::new(now))).await
}

async fn create_queue(s: &TestServer, name: &str, attrs: &[(&str, &str)]) -> String {
    let mut req = s.sdk().create_queue().queue_name(name);
    for (k, v) in attrs {
        req = req.attributes(QueueAttributeName::from(*k), *v);
    }
    req.send()
        .await
        .expect("CreateQueue")
        .queue_url()
        .expect("QueueUrl")
        .to_string()
}

async fn send(s: &TestServer, url: &str, body: &str, delay: Option<i32>) -> String {
    s.sdk()
        .send_message()
        .queue_url(url)
        .message_body(body)
        .set_delay_seconds(delay)
        .send()
        .await
        .expect("SendMessage")
        .message_id()
        .expect("MessageId")
        .to_string()
}

async fn send_fifo(s: &TestServer, url: &str, body: &str, group: &str, dedup: &str) -> String {
    s.sdk()
        .send_message()
        .queue_url(url)
        .message_body(body)
        .message_group_id(group)
        .message_deduplication_id(dedup)
        .send()
        .await
        .expect("SendMessage")
        .message_id()
        .expect("MessageId")
        .to_string()
}

/// A short poll (WaitTimeSeconds 0) for up to `max` messages, with every system attribute.
async fn receive(
    s: &TestServer,
    url: &str,
    max: i32,
    vt: Option<i32>,
    attempt: Option<&str>,
) -> Vec<Message> {
    s.sdk()
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(max)
        .wait_time_seconds(0)
        .set_visibility_timeout(vt)
        .set_receive_request_attempt_id(attempt.map(str::to_string))
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .expect("ReceiveMessage")
        .messages
        .unwrap_or_default()
}

/// A long poll (WaitTimeSeconds 1) while the clock moves 100 ms every 20 ms of real time, so
/// that the server's wait, measured on its clock, can end. Bounded to 10 s of real time.
async fn long_poll(s: &TestServer, clock: &ManualClock, url: &str) -> Vec<Message> {
    let poll = s
        .sdk()
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send();
    let ticker = async {
        loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            clock.advance_ms(100);
        }
    };
    let out = tokio::time::timeout(Duration::from_secs(10), async {
        tokio::select! {
            r = poll => r,
            _ = ticker => unreachable!(),
        }
    })
    .await
    .expect("the long poll ends once the clock passes its wait time");
    out.expect("ReceiveMessage").messages.unwrap_or_default()
}

fn ids(ms: &[Message]) -> Vec<String> {
    ms.iter()
        .map(|m| m.message_id().unwrap_or_default().to_string())
        .collect()
}

fn bodies(ms: &[Message]) -> Vec<String> {
    ms.iter()
        .map(|m| m.body().unwrap_or_default().to_string())
        .collect()
}

fn handles(ms: &[Message]) -> Vec<String> {
    ms.iter()
        .map(|m| m.receipt_handle().unwrap_or_default().to_string())
        .collect()
}

fn receive_count(m: &Message) -> String {
    m.attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .cloned()
        .unwrap_or_default()
}

/// (ApproximateNumberOfMessages, …NotVisible, …Delayed).
async fn counts(s: &TestServer, url: &str) -> (u64, u64, u64) {
    let out = s
        .sdk()
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .expect("GetQueueAttributes");
    let attrs: HashMap<String, String> = out
        .attributes()
        .map(|a| {
            a.iter()
                .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let n = |k: &str| attrs.get(k).and_then(|v| v.parse().ok()).expect(k);
    (
        n("ApproximateNumberOfMessages"),
        n("ApproximateNumberOfMessagesNotVisible"),
        n("ApproximateNumberOfMessagesDelayed"),
    )
}

/// Waits (real time, bounded to 5 s) until the counters are `want`: removal by retention is
/// the janitor's work, in the background.
async fn wait_counts(s: &TestServer, url: &str, want: (u64, u64, u64)) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = counts(s, url).await;
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "counters stayed {got:?}, expected {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ----- retention -----

#[tokio::test]
async fn retention_removes_visible_in_flight_and_delayed_messages() {
    let (s, clock) = start(&[]).await;
    let url = create_queue(
        &s,
        &unique("retention"),
        &[("MessageRetentionPeriod", "60")],
    )
    .await;
    let in_flight = send(&s, &url, "in flight", None).await;
    send(&s, &url, "visible", None).await;
    send(&s, &url, "delayed", Some(900)).await;
    let got = receive(&s, &url, 1, Some(3600), None).await;
    assert_eq!(ids(&got), [in_flight.as_str()]);
    let handle = handles(&got).remove(0);

    // 59 s: nothing has expired.
    clock.advance_ms(59 * SEC);
    assert_eq!(counts(&s, &url).await, (1, 1, 1));

    // 61 s: all three are past the retention period, whatever their state.
    clock.advance_ms(2 * SEC);
    assert!(receive(&s, &url, 10, None, None).await.is_empty());
    let q = s
        .query(&[
            ("Action", "ReceiveMessage"),
            ("QueueUrl", &url),
            ("MaxNumberOfMessages", "10"),
            ("WaitTimeSeconds", "0"),
        ])
        .await;
    assert_eq!(q.status, 200, "{}", q.body);
    assert!(q.xml_all("MessageId").is_empty(), "{}", q.body);
    assert!(long_poll(&s, &clock, &url).await.is_empty());
    wait_counts(&s, &url, (0, 0, 0)).await;
    // The in-flight message is gone, not just hidden: its handle can no longer extend it.
    let e = s
        .sdk()
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&handle)
        .visibility_timeout(10)
        .send()
        .await
        .map_err(sdk_failure)
        .expect_err("the message was removed by retention");
    assert_eq!((e.status, e.code.as_str()), (400, "InvalidParameterValue"));
    assert!(
        e.message.ends_with(
            "Reason: Message does not exist or is not available for visibility timeout change."
        ),
        "{}",
        e.message
    );

    // One sent 30 s after another outlives it.
    let early = send(&s, &url, "early", None).await;
    clock.advance_ms(30 * SEC);
    let late = send(&s, &url, "late", None).await;
    clock.advance_ms(31 * SEC);
    let got = receive(&s, &url, 10, None, None).await;
    assert_eq!(ids(&got), [late], "early was {early}");
    assert_eq!(receive_count(&got[0]), "1");
    wait_counts(&s, &url, (0, 1, 0)).await;
    s.stop().await;
}

// ----- visibility -----

/// Retention is the janitor's, woken by the queue's deadline on the server's clock: the
/// messages go when the clock passes it, with no receive to notice them.
#[tokio::test]
async fn the_janitor_removes_expired_messages_without_a_receive() {
    let (s, clock) = start(&[]).await;
    let url = create_queue(&s, &unique("janitor"), &[("MessageRetentionPeriod", "60")]).await;
    send(&s, &url, "first", None).await;
    clock.advance_ms(30 * SEC);
    send(&s, &url, "second", None).await;
    clock.advance_ms(31 * SEC);
    wait_counts(&s, &url, (1, 0, 0)).await;
    clock.advance_ms(30 * SEC);
    wait_counts(&s, &url, (0, 0, 0)).await;
}

#[tokio::test]
async fn visibility_timeout_lapses_by_clock() {
    let (s, clock) = start(&[]).await;
    let url = create_queue(&s, &unique("vt-clock"), &[("VisibilityTimeout", "30")]).await;
    let id = send(&s, &url, "x", None).await;
    let first = receive(&s, &url, 1, None, None).await;
    assert_eq!(ids(&first), [id.as_str()]);
    assert_eq!(receive_count(&first[0]), "1");

    clock.advance_ms(30 * SEC - 1);
    assert!(receive(&s, &url, 1, None, None).await.is_empty());
    assert_eq!(counts(&s, &url).await, (0, 1, 0));

    clock.advance_ms(1);
    assert_eq!(counts(&s, &url).await, (1, 0, 0));
    let second = receive(&s, &url, 1, Some(5), None).await;
    assert_eq!(ids(&second), [id.as_str()]);
    assert_eq!(receive_count(&second[0]), "2");
    assert_ne!(handles(&second), handles(&first));

    // The per-receive timeout (5 s) replaces the queue's 30 s for this receive only.
    clock.advance_ms(5 * SEC - 1);
    assert!(receive(&s, &url, 1, None, None).await.is_empty());
    clock.advance_ms(1);
    let third = s
        .query(&[
            ("Action", "ReceiveMessage"),
            ("QueueUrl", &url),
            ("AttributeName.1", "ApproximateReceiveCount"),
        ])
        .await;
    assert_eq!(third.xml_all("MessageId"), [id], "{}", third.body);
    assert_eq!(third.xml_all("Value"), ["3"], "{}", third.body);
    s.stop().await;
}

#[tokio::test]
async fn visibility_cap_is_twelve_hours_from_the_receive() {
    let (s, clock) = start(&[]).await;
    let url = create_queue(&s, &unique("vt-cap"), &[("VisibilityTimeout", "30")]).await;
    let id = send(&s, &url, "x", None).await;
    let h = handles(&receive(&s, &url, 1, None, None).await).remove(0);
    let change = |timeout: i32| {
        s.sdk()
            .change_message_visibility()
            .queue_url(&url)
            .receipt_handle(&h)
            .visibility_timeout(timeout)
            .send()
    };
    let cap_refused = |r: Result<_, _>, timeout: i32| {
        let e = r.map_err(sdk_failure).expect_err("beyond the 12 h cap");
        assert_eq!(
            (e.status, e.code.as_str()),
            (400, "InvalidParameterValue"),
            "{timeout}: {}",
            e.message
        );
        assert!(
            e.message.contains(
                "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]"
            ),
            "{timeout}: {}",
            e.message
        );
    };

    // At the receive the whole 12 h is left.
    change(43_200).await.expect("exactly 12 h from the receive");
    let e = change(43_201).await.map_err(sdk_failure).unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (400, "InvalidParameterValue"));

    // Extending does not restart the 12 h: 1 s later, 43,199 s are left.
    clock.advance_ms(SEC);
    cap_refused(change(43_200).await, 43_200);
    change(43_199).await.expect("the remaining allowance");

    // 12 h minus 10 s after the receive, 10 s are left.
    clock.advance_ms(12 * HOUR - 11 * SEC);
    cap_refused(change(11).await, 11);
    let q = s
        .query(&[
            ("Action", "ChangeMessageVisibility"),
            ("QueueUrl", &url),
            ("ReceiptHandle", &h),
            ("VisibilityTimeout", "11"),
        ])
        .await;
    assert_eq!(
        (q.status, q.query_code().as_deref()),
        (400, Some("InvalidParameterValue")),
        "{}",
        q.body
    );
    change(10).await.expect("the last 10 s");
    assert!(receive(&s, &url, 1, None, None).await.is_empty());

    // At 12 h the message is visible again; a new receive has a new 12 h.
    clock.advance_ms(10 * SEC);
    let again = receive(&s, &url, 1, None, None).await;
    assert_eq!(ids(&again), [id]);
    assert_eq!(receive_count(&again[0]), "2");
    s.sdk()
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(again[0].receipt_handle().unwrap())
        .visibility_timeout(43_200)
        .send()
        .await
        .expect("12 h from the new receive");
    s.stop().await;
}

// ----- delays -----

#[tokio::test]
async fn queue_and_message_delays_hold_until_the_clock_passes() {
    let (s, clock) = start(&[]).await;
    let url = create_queue(&s, &unique("delays"), &[("DelaySeconds", "10")]).await;
    let queue_delayed = send(&s, &url, "queue delay", None).await;
    let message_delayed = send(&s, &url, "message delay", Some(30)).await;
    let immediate = send(&s, &url, "explicit zero", Some(0)).await;
    assert_eq!(counts(&s, &url).await, (1, 0, 2));
    let got = receive(&s, &url, 10, Some(3600), None).await;
    assert_eq!(ids(&got), [immediate]);
    assert_eq!(counts(&s, &url).await, (0, 1, 2));

    clock.advance_ms(10 * SEC - 1);
    assert!(receive(&s, &url, 10, Some(3600), None).await.is_empty());
    assert_eq!(counts(&s, &url).await, (0, 1, 2));

    clock.advance_ms(1);
    assert_eq!(counts(&s, &url).await, (1, 1, 1));
    let got = receive(&s, &url, 10, Some(3600), None).await;
    assert_eq!(ids(&got), [queue_delayed]);

    clock.advance_ms(20 * SEC - 1);
    assert!(receive(&s, &url, 10, Some(3600), None).await.is_empty());
    assert_eq!(counts(&s, &url).await, (0, 2, 1));
    clock.advance_ms(1);
    assert_eq!(counts(&s, &url).await, (1, 2, 0));
    let got = receive(&s, &url, 10, Some(3600), None).await;
    assert_eq!(ids(&got), [message_delayed]);
    assert_eq!(counts(&s, &url).await, (0, 3, 0));

    // FIFO: an explicit DelaySeconds 0 still gets the queue's delay.
    let fifo = create_queue(
        &s,
        &format!("{}.fifo", unique("delays")),
        &[("FifoQueue", "true"), ("DelaySeconds", "5")],
    )
    .await;
    let id = s
        .sdk()
        .send_message()
        .queue_url(&fifo)
        .message_body("f")
        .message_group_id("g")
        .message_deduplication_id("d")
        .delay_seconds(0)
        .send()
        .await
        .expect("SendMessage")
        .message_id
        .expect("MessageId");
    assert_eq!(counts(&s, &fifo).await, (0, 0, 1));
    assert!(receive(&s, &fifo, 10, None, None).await.is_empty());
    clock.advance_ms(5 * SEC);
    assert_eq!(counts(&s, &fifo).await, (1, 0, 0));
    assert_eq!(ids(&receive(&s, &fifo, 10, None, None).await), [id]);
    s.stop().await;
}

// ----- FIFO windows -----

#[tokio::test]
async fn dedup_window_expires_after_five_minutes() {
    let (s, clock) = start(&[]).await;
    let url = create_queue(
        &s,
        &format!("{}.fifo", unique("dedup-window")),
        &[("FifoQueue", "true")],
    )
    .await;
    let first = send_fifo(&s, &url, "a", "g", "d1").await;

    // Within 5 min of the first send: deduplicated, over JSON and Query alike.
    clock.advance_ms(5 * MIN - SEC);
    assert_eq!(send_fifo(&s, &url, "b", "g", "d1").await, first);
    let q = s
        .query(&[
            ("Action", "SendMessage"),
            ("QueueUrl", &url),
            ("MessageBody", "c"),
            ("MessageGroupId", "g"),
            ("MessageDeduplicationId", "d1"),
        ])
        .await;
    assert_eq!(q.status, 200, "{}", q.body);
    assert_eq!(q.xml("MessageId").as_deref(), Some(first.as_str()));
    assert_eq!(counts(&s, &url).await, (1, 0, 0));

    // 5 min + 1 s after the first send (duplicates do not extend the window): delivered.
    clock.advance_ms(2 * SEC);
    let second = send_fifo(&s, &url, "d", "g", "d1").await;
    assert_ne!(second, first);
    assert_eq!(counts(&s, &url).await, (2, 0, 0));
    let got = receive(&s, &url, 10, None, None).await;
    assert_eq!(bodies(&got), ["a", "d"]);
    assert_eq!(ids(&got), [first, second]);
    s.stop().await;
}

#[tokio::test]
async fn receive_attempt_id_replays_for_five_minutes() {
    let (s, clock) = start(&[]).await;
    let url = create_queue(
        &s,
        &format!("{}.fifo", unique("attempt")),
        &[("FifoQueue", "true"), ("VisibilityTimeout", "60")],
    )
    .await;
    let m1 = send_fifo(&s, &url, "m1", "g", "1").await;
    let m2 = send_fifo(&s, &url, "m2", "g", "2").await;
    send_fifo(&s, &url, "m3", "g", "3").await;

    let first = receive(&s, &url, 2, None, Some("attempt-a")).await;
    assert_eq!(ids(&first), [m1.clone(), m2.clone()]);

    // A retry 10 s later: the same messages and handles, not a new receive.
    clock.advance_ms(10 * SEC);
    let retry = receive(&s, &url, 2, None, Some("attempt-a")).await;
    assert!(!retry.is_empty(), "the retry replays the first receive");
    assert_eq!(ids(&retry), ids(&first));
    assert_eq!(handles(&retry), handles(&first));
    assert!(retry.iter().all(|m| receive_count(m) == "1"));
    // Over Query too.
    let q = s
        .query(&[
            ("Action", "ReceiveMessage"),
            ("QueueUrl", &url),
            ("MaxNumberOfMessages", "2"),
            ("ReceiveRequestAttemptId", "attempt-a"),
        ])
        .await;
    assert_eq!(q.xml_all("ReceiptHandle"), handles(&first), "{}", q.body);
    // A receive without the id is a new one: the group is in flight.
    assert!(receive(&s, &url, 10, None, None).await.is_empty());

    // The replay reset the visibility timeout (60 s from the retry): at 5 min + 1 s after the
    // first receive the messages are visible and the id has expired, so the same id is a new
    // receive: second receive count, new handles.
    clock.advance_ms(5 * MIN - 10 * SEC + SEC);
    let later = receive(&s, &url, 2, None, Some("attempt-a")).await;
    assert_eq!(ids(&later), [m1, m2]);
    assert!(later.iter().all(|m| receive_count(m) == "2"));
    let later_handles = handles(&later);
    assert!(later_handles.iter().all(|h| !handles(&first).contains(h)));
    s.stop().await;
}

/// A FIFO queue (VisibilityTimeout 60) where a receive with attempt id "attempt" took m1 and
/// m2 of group a, then n1 was sent to group b and the clock moved 5 s. Returns the queue, the
/// first receive and n1's id.
async fn attempt_after_a_receive(
    s: &TestServer,
    clock: &ManualClock,
) -> (String, Vec<Message>, String) {
    let url = create_queue(
        s,
        &format!("{}.fifo", unique("attempt-change")),
        &[("FifoQueue", "true"), ("VisibilityTimeout", "60")],
    )
    .await;
    let m1 = send_fifo(s, &url, "m1", "a", "1").await;
    let m2 = send_fifo(s, &url, "m2", "a", "2").await;
    let first = receive(s, &url, 2, None, Some("attempt")).await;
    assert_eq!(ids(&first), [m1, m2]);
    // Another group's message, there for a receive that is not a replay to take.
    let n1 = send_fifo(s, &url, "n1", "b", "3").await;
    clock.advance_ms(5 * SEC);
    (url, first, n1)
}

#[tokio::test]
async fn receive_attempt_id_ends_when_a_message_is_deleted() {
    let (s, clock) = start(&[]).await;
    let (url, first, n1) = attempt_after_a_receive(&s, &clock).await;
    s.sdk()
        .delete_message()
        .queue_url(&url)
        .receipt_handle(first[0].receipt_handle().unwrap())
        .send()
        .await
        .expect("DeleteMessage");
    // The retry is a new receive: m2 is in flight (group a blocked), so it takes n1.
    let retry = receive(&s, &url, 2, None, Some("attempt")).await;
    assert_eq!(ids(&retry), [n1]);
    assert_eq!(receive_count(&retry[0]), "1");
    s.stop().await;
}

#[tokio::test]
async fn receive_attempt_id_ends_when_a_visibility_changes() {
    let (s, clock) = start(&[]).await;
    let (url, first, n1) = attempt_after_a_receive(&s, &clock).await;
    s.sdk()
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(first[1].receipt_handle().unwrap())
        .visibility_timeout(120)
        .send()
        .await
        .expect("ChangeMessageVisibility");
    // A replay holds only while none of its messages had their visibility changed
    // (SQS-REFERENCE §6): the retry is a new receive; m1 is in flight (group a blocked), so
    // it takes n1.
    let retry = receive(&s, &url, 2, None, Some("attempt")).await;
    assert_eq!(ids(&retry), [n1]);
    assert_eq!(receive_count(&retry[0]), "1");
    // m2's changed timeout holds: 60 s later m1 and n1 are back, m2 is not.
    clock.advance_ms(60 * SEC);
    let mut all = bodies(&receive(&s, &url, 10, None, None).await);
    all.sort();
    assert_eq!(all, ["m1", "n1"], "m2 keeps its 120 s timeout");
    s.stop().await;
}

// ----- cooldowns -----

#[tokio::test]
async fn purge_cooldown_is_sixty_seconds() {
    let (s, clock) = start(&[]).await;
    let name = unique("purge-cooldown");
    let url = create_queue(&s, &name, &[]).await;
    send(&s, &url, "x", None).await;
    let purge = || s.sdk().purge_queue().queue_url(&url).send();
    purge().await.expect("first purge");
    assert_eq!(counts(&s, &url).await, (0, 0, 0));
    send(&s, &url, "y", None).await;

    clock.advance_ms(60 * SEC - 1);
    let e = purge().await.map_err(sdk_failure).unwrap_err();
    assert_eq!(
        (e.status, e.code.as_str()),
        (403, "AWS.SimpleQueueService.PurgeQueueInProgress"),
        "{}",
        e.message
    );
    assert_eq!(
        e.message,
        format!("Only one PurgeQueue operation on {name} is allowed every 60 seconds.")
    );
    let q = s
        .query(&[("Action", "PurgeQueue"), ("QueueUrl", &url)])
        .await;
    assert_eq!(
        (q.status, q.query_code().as_deref()),
        (403, Some("AWS.SimpleQueueService.PurgeQueueInProgress")),
        "{}",
        q.body
    );
    assert_eq!(
        counts(&s, &url).await,
        (1, 0, 0),
        "a refused purge removes nothing"
    );

    clock.advance_ms(1);
    purge().await.expect("60 s after the first purge");
    assert_eq!(counts(&s, &url).await, (0, 0, 0));
    // And the cooldown starts again from this purge.
    let e = purge().await.map_err(sdk_failure).unwrap_err();
    assert_eq!(e.status, 403);
    s.stop().await;
}

#[tokio::test]
async fn queue_deleted_recently_cooldown() {
    let (s, clock) = start(&["--queue-deleted-cooldown-secs", "60"]).await;
    let name = unique("deleted-recently");
    let url = create_queue(&s, &name, &[]).await;
    s.sdk()
        .delete_queue()
        .queue_url(&url)
        .send()
        .await
        .expect("DeleteQueue");

    clock.advance_ms(60 * SEC - 1);
    let e = s
        .sdk()
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .map_err(sdk_failure)
        .unwrap_err();
    assert_eq!(
        (e.status, e.code.as_str()),
        (400, "AWS.SimpleQueueService.QueueDeletedRecently"),
        "{}",
        e.message
    );
    assert_eq!(
        e.message,
        "You must wait 60 seconds after deleting a queue before you can create another with the same name."
    );
    let q = s
        .query(&[("Action", "CreateQueue"), ("QueueName", &name)])
        .await;
    assert_eq!(
        (q.status, q.query_code().as_deref()),
        (400, Some("AWS.SimpleQueueService.QueueDeletedRecently")),
        "{}",
        q.body
    );

    clock.advance_ms(1);
    assert_eq!(create_queue(&s, &name, &[]).await, url);
    s.stop().await;
}

// ----- timestamps and dead letters -----

#[tokio::test]
async fn timestamps_come_from_the_clock() {
    // A fixed start with milliseconds, so seconds and milliseconds are both checked.
    const T0: u64 = 1_800_000_000_250;
    let (s, clock) =
        TestServer::start_with_clock(&["--auth", "off"], Arc::new(ManualClock::new(T0))).await;
    let url = create_queue(&s, &unique("timestamps"), &[]).await;
    let attrs = |s: &TestServer| {
        let req = s
            .sdk()
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::All)
            .send();
        async move {
            let out = req.await.expect("GetQueueAttributes");
            let a = out.attributes().expect("attributes");
            (
                a[&QueueAttributeName::CreatedTimestamp].clone(),
                a[&QueueAttributeName::LastModifiedTimestamp].clone(),
            )
        }
    };
    let t0s = (T0 / 1000).to_string();
    assert_eq!(attrs(&s).await, (t0s.clone(), t0s.clone()));

    clock.advance_ms(5 * SEC);
    s.sdk()
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::VisibilityTimeout, "45")
        .send()
        .await
        .expect("SetQueueAttributes");
    assert_eq!(attrs(&s).await, (t0s, ((T0 + 5 * SEC) / 1000).to_string()));

    send(&s, &url, "x", None).await;
    clock.advance_ms(2 * SEC);
    let m = receive(&s, &url, 1, None, None).await.remove(0);
    let a = m.attributes().expect("attributes");
    assert_eq!(
        a[&MessageSystemAttributeName::SentTimestamp],
        (T0 + 5 * SEC).to_string()
    );
    assert_eq!(
        a[&MessageSystemAttributeName::ApproximateFirstReceiveTimestamp],
        (T0 + 7 * SEC).to_string()
    );
    s.stop().await;
}

#[tokio::test]
async fn dead_letter_retention_counts_from_the_original_send() {
    let (s, clock) = start(&[]).await;
    let dlq = create_queue(
        &s,
        &unique("dl-retention-dlq"),
        &[("MessageRetentionPeriod", "60")],
    )
    .await;
    let dlq_arn = queue_arn(&s, &dlq).await;
    let redrive = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":1}}"#);
    let src = create_queue(
        &s,
        &unique("dl-retention-src"),
        &[
            ("RedrivePolicy", redrive.as_str()),
            ("VisibilityTimeout", "10"),
        ],
    )
    .await;
    let id = send(&s, &src, "x", None).await;
    assert_eq!(ids(&receive(&s, &src, 1, None, None).await), [id.as_str()]);

    // 40 s after the send the second receive moves it to the DLQ.
    clock.advance_ms(40 * SEC);
    assert!(receive(&s, &src, 1, None, None).await.is_empty());
    assert_eq!(counts(&s, &dlq).await, (1, 0, 0));

    // 61 s after the send (21 s after the move) it is past the DLQ's 60 s retention.
    clock.advance_ms(21 * SEC);
    assert!(receive(&s, &dlq, 10, None, None).await.is_empty());
    wait_counts(&s, &dlq, (0, 0, 0)).await;
    s.stop().await;
}

/// A move task's redriven messages are new messages with a new retention period [Doc
/// "configure dead-letter queue redrive"], unlike a dead-letter move.
#[tokio::test]
async fn redriven_messages_start_a_new_retention_period() {
    let (s, clock) = start(&[]).await;
    let dlq = create_queue(&s, &unique("redrive-retention-dlq"), &[]).await;
    let dlq_arn = queue_arn(&s, &dlq).await;
    let redrive = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":1}}"#);
    let src = create_queue(
        &s,
        &unique("redrive-retention-src"),
        &[
            ("RedrivePolicy", redrive.as_str()),
            ("VisibilityTimeout", "10"),
            ("MessageRetentionPeriod", "60"),
        ],
    )
    .await;
    let id = send(&s, &src, "x", None).await;
    assert_eq!(ids(&receive(&s, &src, 1, None, None).await), [id.as_str()]);
    clock.advance_ms(20 * SEC);
    assert!(receive(&s, &src, 1, None, None).await.is_empty());
    assert_eq!(counts(&s, &dlq).await, (1, 0, 0));

    // 30 s after the send, redrive it back to its source.
    clock.advance_ms(10 * SEC);
    s.sdk()
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .send()
        .await
        .expect("StartMessageMoveTask");
    wait_counts(&s, &src, (1, 0, 0)).await;

    // 61 s after the original send it is still there: its retention restarted at the move.
    clock.advance_ms(31 * SEC);
    let got = receive(&s, &src, 1, Some(0), None).await;
    assert_eq!(bodies(&got), ["x"]);
    assert_eq!(receive_count(&got[0]), "1");
    // 61 s after the move it is gone, expired rather than dead-lettered again (had it been
    // there, this second receive would have moved it to the DLQ: maxReceiveCount 1).
    clock.advance_ms(30 * SEC);
    assert!(receive(&s, &src, 1, None, None).await.is_empty());
    wait_counts(&s, &src, (0, 0, 0)).await;
    assert_eq!(counts(&s, &dlq).await, (0, 0, 0));
    s.stop().await;
}

async fn queue_arn(s: &TestServer, url: &str) -> String {
    s.sdk()
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("QueueArn")
}
