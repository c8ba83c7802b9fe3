//! The routes for people and probes that answer without an SQS request: `/`, `/health`,
//! `/metrics`.

use crate::harness::{unique, TestServer, ACCESS_KEY, SECRET_KEY};

#[tokio::test]
async fn root_health_and_metrics_answer_without_a_signature() {
    let s = TestServer::start_with(&[
        "--auth",
        "strict",
        "--credentials",
        &format!("{ACCESS_KEY}:{SECRET_KEY}"),
    ])
    .await;
    let home = s.send("GET", "/", &[], "", false).await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(home.body.contains("/health") && home.body.contains("/metrics"));
    for method in ["GET", "HEAD"] {
        let health = s.send(method, "/health", &[], "", false).await;
        assert_eq!(health.status, 200, "{method} /health");
    }
    let metrics = s.send("GET", "/metrics", &[], "", false).await;
    assert_eq!(metrics.status, 200, "{}", metrics.body);
    assert!(metrics
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    // An unsigned SQS request is still refused, and a signed GET of / is still an SQS request.
    let unsigned = s.send("GET", "/?Action=ListQueues", &[], "", false).await;
    assert_eq!(unsigned.status, 403, "{}", unsigned.body);
    let signed = s.send("GET", "/", &[], "", true).await;
    assert!((400..500).contains(&signed.status), "{}", signed.body);
    s.stop().await;
}

/// The value of the sample `name{labels}` in a text exposition.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn request_counters_follow_the_requests() {
    let s = TestServer::start().await;
    let sqs = s.sdk();
    let url = sqs
        .create_queue()
        .queue_name(unique("metrics"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    for i in 0..5 {
        sqs.send_message()
            .queue_url(&url)
            .message_body(format!("m{i}"))
            .send()
            .await
            .unwrap();
    }
    for _ in 0..2 {
        sqs.receive_message().queue_url(&url).send().await.unwrap();
    }
    let refused = sqs
        .send_message()
        .queue_url(&url)
        .message_body("")
        .send()
        .await;
    assert!(refused.is_err());
    let text = s.send("GET", "/metrics", &[], "", false).await.body;
    let count = |series: &str| sample(&text, series).unwrap_or(0.0);
    assert_eq!(
        count(r#"cauda_requests_total{action="SendMessage",status="200"}"#),
        5.0,
        "{text}"
    );
    assert_eq!(
        count(r#"cauda_requests_total{action="SendMessage",status="400"}"#),
        1.0,
        "{text}"
    );
    assert_eq!(
        count(r#"cauda_requests_total{action="ReceiveMessage",status="200"}"#),
        2.0,
        "{text}"
    );
    assert_eq!(
        count(r#"cauda_requests_total{action="CreateQueue",status="200"}"#),
        1.0,
        "{text}"
    );
    assert_eq!(
        count(r#"cauda_request_duration_seconds_count{action="SendMessage"}"#),
        6.0,
        "{text}"
    );
    s.stop().await;
}

#[tokio::test]
async fn metrics_can_require_a_signature() {
    let s = TestServer::start_with(&[
        "--auth",
        "strict",
        "--credentials",
        &format!("{ACCESS_KEY}:{SECRET_KEY}"),
        "--metrics-auth",
    ])
    .await;
    let unsigned = s.send("GET", "/metrics", &[], "", false).await;
    assert_eq!(unsigned.status, 403, "{}", unsigned.body);
    let listed = s.query(&[("Action", "ListQueues")]).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let signed = s.send("GET", "/metrics", &[], "", true).await;
    assert_eq!(signed.status, 200, "{}", signed.body);
    assert!(
        signed.body.contains("cauda_requests_total"),
        "{}",
        signed.body
    );
    s.stop().await;
}

#[tokio::test]
async fn auto_create_makes_a_missing_queue_on_first_use_of_its_url() {
    let s = TestServer::start_with(&["--auto-create"]).await;
    let sqs = s.sdk();
    let name = unique("auto");
    let url = s.queue_url(&name);
    sqs.send_message()
        .queue_url(&url)
        .message_body("first")
        .send()
        .await
        .expect("the send creates the queue");
    let got = sqs.receive_message().queue_url(&url).send().await.unwrap();
    assert_eq!(got.messages()[0].body(), Some("first"));
    let fifo_url = s.queue_url(&format!("{name}.fifo"));
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&fifo_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::FifoQueue)
        .send()
        .await
        .expect("the FIFO queue is created");
    assert_eq!(
        attrs.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::FifoQueue],
        "true"
    );
    // DeleteQueue of a missing queue creates nothing; another account's URL creates nothing.
    let gone = s.queue_url(&unique("never"));
    let err = sqs
        .delete_queue()
        .queue_url(&gone)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("AWS.SimpleQueueService.NonExistentQueue")
    );
    let other = format!("{}/111111111111/{}", s.endpoint, unique("theirs"));
    assert!(sqs
        .send_message()
        .queue_url(&other)
        .message_body("x")
        .send()
        .await
        .is_err());
    let listed = sqs.list_queues().send().await.unwrap();
    assert_eq!(listed.queue_urls().len(), 2, "{:?}", listed.queue_urls());
    s.stop().await;
}

#[tokio::test]
async fn without_auto_create_a_missing_queue_does_not_exist() {
    let s = TestServer::start().await;
    let err = s
        .sdk()
        .send_message()
        .queue_url(s.queue_url(&unique("missing")))
        .message_body("x")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_queue_does_not_exist());
    s.stop().await;
}

#[tokio::test]
async fn queue_metrics_are_read_at_scrape_time() {
    let s = TestServer::start().await;
    let sqs = s.sdk();
    let name = unique("qmetrics");
    let url = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    for i in 0..5 {
        sqs.send_message()
            .queue_url(&url)
            .message_body(format!("m{i}"))
            .send()
            .await
            .unwrap();
    }
    let got = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(2)
        .visibility_timeout(30)
        .send()
        .await
        .unwrap();
    assert_eq!(got.messages().len(), 2);

    // A dead-letter queue and its source: the second receive moves the message.
    let dlq_name = unique("qmetrics-dlq");
    sqs.create_queue()
        .queue_name(&dlq_name)
        .send()
        .await
        .unwrap();
    let dlq_arn = format!("arn:aws:sqs:us-east-1:000000000000:{dlq_name}");
    let src_name = unique("qmetrics-src");
    let src_url = sqs
        .create_queue()
        .queue_name(&src_name)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":1}}"#),
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    sqs.send_message()
        .queue_url(&src_url)
        .message_body("doomed")
        .send()
        .await
        .unwrap();
    for _ in 0..2 {
        sqs.receive_message()
            .queue_url(&src_url)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
    }

    let text = s.send("GET", "/metrics", &[], "", false).await.body;
    let labels =
        |queue: &str| format!(r#"{{account="000000000000",region="us-east-1",queue="{queue}"}}"#);
    let value = |metric: &str, queue: &str| {
        sample(&text, &format!("{metric}{}", labels(queue)))
            .unwrap_or_else(|| panic!("{metric} of {queue}: {text}"))
    };
    assert_eq!(value("cauda_queue_messages_visible", &name), 3.0);
    assert_eq!(value("cauda_queue_messages_in_flight", &name), 2.0);
    assert_eq!(value("cauda_queue_messages_delayed", &name), 0.0);
    assert!(value("cauda_queue_oldest_message_age_seconds", &name) >= 0.0);
    assert_eq!(value("cauda_queue_long_polls_waiting", &name), 0.0);
    assert_eq!(value("cauda_queue_dead_letter_moves_total", &src_name), 1.0);
    assert_eq!(value("cauda_queue_dead_letter_moves_total", &name), 0.0);
    assert_eq!(value("cauda_queue_messages_visible", &dlq_name), 1.0);
    assert!(text.ends_with("# EOF\n"), "{text}");

    // A waiting long poll is counted while it waits.
    let waiting = tokio::spawn({
        let sqs = sqs.clone();
        let url = src_url.clone();
        async move {
            sqs.receive_message()
                .queue_url(&url)
                .wait_time_seconds(3)
                .send()
                .await
        }
    });
    let series = format!("cauda_queue_long_polls_waiting{}", labels(&src_name));
    let mut waiters = None;
    for _ in 0..50 {
        let text = s.send("GET", "/metrics", &[], "", false).await.body;
        waiters = sample(&text, &series);
        if waiters == Some(1.0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(waiters, Some(1.0));
    waiting.await.unwrap().unwrap();
    s.stop().await;
}

#[tokio::test]
async fn store_metrics_follow_durable_writes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = TestServer::start_with(&["--data-dir", data.to_str().unwrap()]).await;
    let sqs = s.sdk();
    let url = sqs
        .create_queue()
        .queue_name(unique("store-metrics"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let before = s.send("GET", "/metrics", &[], "", false).await.body;
    let flushes_before = sample(&before, "cauda_store_flushes_total").unwrap_or(0.0);
    for i in 0..3 {
        sqs.send_message()
            .queue_url(&url)
            .message_body(format!("m{i}"))
            .send()
            .await
            .unwrap();
    }
    let text = s.send("GET", "/metrics", &[], "", false).await.body;
    let flushes = sample(&text, "cauda_store_flushes_total").unwrap();
    assert!(flushes >= flushes_before + 1.0, "{text}");
    assert!(
        sample(&text, "cauda_store_flush_seconds_total").unwrap() > 0.0,
        "{text}"
    );
    assert!(
        sample(&text, "cauda_store_journal_bytes").unwrap() > 0.0,
        "{text}"
    );
    s.stop().await;
}
