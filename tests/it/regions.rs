//! Queues are regional, as on AWS: a queue is (account, region, name), and a request addresses
//! the region of its SigV4 credential scope (for an unsigned request: the region its `Host`
//! names when queue URLs are regional, else `--region`). The Rust SDK is configured for
//! us-east-1 and eu-west-1 against the same server.

use std::time::SystemTime;

use aws_sdk_sqs::types::QueueAttributeName as A;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{sdk_failure, sign_request, unique, xml_all, TestServer};

const US: &str = "us-east-1";
const EU: &str = "eu-west-1";

async fn create(sdk: &aws_sdk_sqs::Client, name: &str) -> String {
    sdk.create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateQueue {name}: {e:?}"))
        .queue_url()
        .unwrap()
        .to_string()
}

async fn arn_of(sdk: &aws_sdk_sqs::Client, url: &str) -> String {
    sdk.get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::QueueArn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetQueueAttributes {url}: {e:?}"))
        .attributes()
        .and_then(|a| a.get(&A::QueueArn))
        .cloned()
        .unwrap()
}

async fn send(sdk: &aws_sdk_sqs::Client, url: &str, body: &str) {
    sdk.send_message()
        .queue_url(url)
        .message_body(body)
        .send()
        .await
        .unwrap();
}

async fn bodies(sdk: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let out = sdk
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(0)
        .send()
        .await
        .unwrap();
    let mut bodies: Vec<String> = out
        .messages()
        .iter()
        .filter_map(|m| m.body().map(str::to_string))
        .collect();
    bodies.sort();
    bodies
}

async fn listed(sdk: &aws_sdk_sqs::Client, prefix: &str) -> Vec<String> {
    sdk.list_queues()
        .queue_name_prefix(prefix)
        .send()
        .await
        .unwrap()
        .queue_urls()
        .to_vec()
}

async fn missing_in(sdk: &aws_sdk_sqs::Client, name: &str) -> bool {
    match sdk.get_queue_url().queue_name(name).send().await {
        Ok(_) => false,
        Err(e) => sdk_failure(e).err.is_queue_does_not_exist(),
    }
}

fn arn(region: &str, name: &str) -> String {
    format!("arn:aws:sqs:{region}:000000000000:{name}")
}

#[tokio::test]
async fn one_name_in_two_regions_is_two_queues() {
    let s = TestServer::start().await;
    let (us, eu) = (s.sdk_in(US), s.sdk_in(EU));
    let name = unique("twin");
    let us_url = create(&us, &name).await;
    let eu_url = create(&eu, &name).await;
    // Plain URLs carry no region: the same text addresses each region's queue.
    assert_eq!(us_url, eu_url);
    assert_eq!(arn_of(&us, &us_url).await, arn(US, &name));
    assert_eq!(arn_of(&eu, &eu_url).await, arn(EU, &name));

    send(&us, &us_url, "sent in us-east-1").await;
    assert!(bodies(&eu, &eu_url).await.is_empty());
    send(&eu, &eu_url, "sent in eu-west-1").await;
    assert_eq!(bodies(&us, &us_url).await, ["sent in us-east-1"]);
    assert_eq!(bodies(&eu, &eu_url).await, ["sent in eu-west-1"]);
    s.stop().await;
}

#[tokio::test]
async fn get_queue_url_and_list_queues_see_their_region_only() {
    let s = TestServer::start().await;
    let (us, eu) = (s.sdk_in(US), s.sdk_in(EU));
    let prefix = unique("where");
    let only_eu = format!("{prefix}-eu");
    let only_us = format!("{prefix}-us");
    let eu_url = create(&eu, &only_eu).await;
    let us_url = create(&us, &only_us).await;

    assert!(missing_in(&us, &only_eu).await);
    assert!(missing_in(&eu, &only_us).await);
    let with_owner = us
        .get_queue_url()
        .queue_name(&only_eu)
        .queue_owner_aws_account_id("000000000000")
        .send()
        .await;
    assert!(sdk_failure(with_owner.unwrap_err())
        .err
        .is_queue_does_not_exist());
    let found = eu
        .get_queue_url()
        .queue_name(&only_eu)
        .queue_owner_aws_account_id("000000000000")
        .send()
        .await
        .unwrap();
    assert_eq!(found.queue_url(), Some(eu_url.as_str()));

    assert_eq!(listed(&us, &prefix).await, [us_url.as_str()]);
    assert_eq!(listed(&eu, &prefix).await, [eu_url.as_str()]);
    // A queue URL resolves in the caller's region: the EU queue's URL means nothing in us-east-1.
    let f = sdk_failure(
        us.get_queue_attributes()
            .queue_url(&eu_url)
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.err.is_queue_does_not_exist());
    s.stop().await;
}

#[tokio::test]
async fn delete_queue_in_one_region_leaves_the_other() {
    let s = TestServer::start().await;
    let (us, eu) = (s.sdk_in(US), s.sdk_in(EU));
    let name = unique("del");
    let us_url = create(&us, &name).await;
    let eu_url = create(&eu, &name).await;
    send(&eu, &eu_url, "kept").await;
    us.delete_queue().queue_url(&us_url).send().await.unwrap();
    assert!(missing_in(&us, &name).await);
    assert!(!missing_in(&eu, &name).await);
    assert_eq!(bodies(&eu, &eu_url).await, ["kept"]);
    // Recreating it in us-east-1 makes a new, empty queue.
    let again = create(&us, &name).await;
    assert!(bodies(&us, &again).await.is_empty());
    s.stop().await;
}

#[tokio::test]
async fn dead_letter_queues_stay_in_their_region() {
    let s = TestServer::start().await;
    let (us, eu) = (s.sdk_in(US), s.sdk_in(EU));
    let dlq_name = unique("rdlq");
    let us_dlq = create(&us, &dlq_name).await;
    let eu_dlq = create(&eu, &dlq_name).await;
    let only_eu = unique("rdlq-eu-only");
    create(&eu, &only_eu).await;
    let policy = |arn: &str| format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":1}}"#);

    // A source in us-east-1 may not name a eu-west-1 queue, at creation or later.
    let src_name = unique("rsrc");
    let refused = us
        .create_queue()
        .queue_name(&src_name)
        .attributes(A::RedrivePolicy, policy(&arn(EU, &only_eu)))
        .send()
        .await
        .unwrap_err();
    let f = sdk_failure(refused);
    assert_eq!((f.code.as_str(), f.status), ("InvalidParameterValue", 400));
    assert!(
        f.message.contains("Dead letter target does not exist."),
        "{}",
        f.message
    );
    let src = create(&us, &src_name).await;
    let f = sdk_failure(
        us.set_queue_attributes()
            .queue_url(&src)
            .attributes(A::RedrivePolicy, policy(&arn(EU, &dlq_name)))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(f.code, "InvalidParameterValue");
    assert!(f.message.contains("Dead letter target does not exist."));

    // Its own region's queue of the same name is fine.
    us.set_queue_attributes()
        .queue_url(&src)
        .attributes(A::RedrivePolicy, policy(&arn(US, &dlq_name)))
        .send()
        .await
        .unwrap();
    let sources = |sdk: aws_sdk_sqs::Client, url: String| async move {
        sdk.list_dead_letter_source_queues()
            .queue_url(url)
            .send()
            .await
            .unwrap()
            .queue_urls()
            .to_vec()
    };
    assert_eq!(sources(us.clone(), us_dlq.clone()).await, [src.as_str()]);
    assert!(sources(eu.clone(), eu_dlq.clone()).await.is_empty());

    // A redriven message lands in its region's DLQ only.
    send(&us, &src, "to the dlq").await;
    let first = us
        .receive_message()
        .queue_url(&src)
        .wait_time_seconds(0)
        .send()
        .await
        .unwrap();
    us.change_message_visibility()
        .queue_url(&src)
        .receipt_handle(first.messages()[0].receipt_handle().unwrap())
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    assert!(bodies(&us, &src).await.is_empty());
    assert_eq!(bodies(&us, &us_dlq).await, ["to the dlq"]);
    assert!(bodies(&eu, &eu_dlq).await.is_empty());

    // A message move task may not send messages to another region.
    let f = sdk_failure(
        us.start_message_move_task()
            .source_arn(arn(US, &dlq_name))
            .destination_arn(arn(EU, &dlq_name))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (f.code.as_str(), f.message.as_str()),
        (
            "ResourceNotFoundException",
            "The resource that you specified for the DestinationArn parameter doesn't exist."
        )
    );
    s.stop().await;
}

#[tokio::test]
async fn regional_queue_urls_name_the_queue_region() {
    let s = TestServer::start_with(&["--queue-url-regional"]).await;
    let (us, eu) = (s.sdk_in(US), s.sdk_in(EU));
    let name = unique("rurl");
    let us_url = create(&us, &name).await;
    let eu_url = create(&eu, &name).await;
    let host = s.addr.to_string();
    assert_eq!(
        us_url,
        format!("http://sqs.us-east-1.{host}/000000000000/{name}")
    );
    assert_eq!(
        eu_url,
        format!("http://sqs.eu-west-1.{host}/000000000000/{name}")
    );
    assert_eq!(listed(&eu, &name).await, [eu_url.as_str()]);
    let got = eu.get_queue_url().queue_name(&name).send().await.unwrap();
    assert_eq!(got.queue_url(), Some(eu_url.as_str()));
    // The URL is resolved by its path in the request's region: the signed scope decides.
    send(&us, &eu_url, "us via the eu url").await;
    assert!(bodies(&eu, &eu_url).await.is_empty());
    assert_eq!(bodies(&us, &us_url).await, ["us via the eu url"]);
    s.stop().await;
}

/// An HTTP/1.1 Query POST to the server at `addr` with the given `Host`, signed for
/// `signed_for` or unsigned; returns the status and the body.
async fn query_with_host(
    s: &TestServer,
    host: &str,
    params: &[(&str, &str)],
    signed_for: Option<&str>,
) -> (u16, String) {
    let mut all = params.to_vec();
    all.push(("Version", "2012-11-05"));
    let body = serde_urlencoded::to_string(&all).unwrap();
    let mut req = http::Request::builder()
        .method("POST")
        .uri(format!("http://{host}/"))
        .header("host", host)
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(body)
        .unwrap();
    if let Some(region) = signed_for {
        sign_request(
            &mut req,
            &s.access_key,
            &s.secret_key,
            region,
            SystemTime::now(),
        );
    }
    let mut wire = String::from("POST / HTTP/1.1\r\n");
    for (k, v) in req.headers() {
        wire.push_str(&format!("{k}: {}\r\n", v.to_str().unwrap()));
    }
    wire.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n{}",
        req.body().len(),
        req.body()
    ));
    let mut stream = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    stream.write_all(wire.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response).to_string();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_string());
    (status, body)
}

fn created_url(status: u16, body: &str) -> String {
    assert_eq!(status, 200, "{body}");
    xml_all(body, "QueueUrl").remove(0)
}

#[tokio::test]
async fn an_unsigned_request_addresses_the_region_its_host_names() {
    let s = TestServer::start_with(&["--auth", "off", "--queue-url-regional"]).await;
    let (us, eu) = (s.sdk_in(US), s.sdk_in(EU));
    let port = s.addr.port();
    let regional_host = format!("sqs.eu-west-1.localhost:{port}");
    let in_eu = unique("host-eu");
    let (status, body) = query_with_host(
        &s,
        &regional_host,
        &[("Action", "CreateQueue"), ("QueueName", &in_eu)],
        None,
    )
    .await;
    assert_eq!(
        created_url(status, &body),
        format!("http://{regional_host}/000000000000/{in_eu}")
    );
    assert!(!missing_in(&eu, &in_eu).await);
    assert!(missing_in(&us, &in_eu).await);
    let url = eu.get_queue_url().queue_name(&in_eu).send().await.unwrap();
    assert_eq!(arn_of(&eu, url.queue_url().unwrap()).await, arn(EU, &in_eu));

    // A plain host: the configured region (us-east-1).
    let plain = unique("host-plain");
    let plain_host = format!("localhost:{port}");
    let (status, body) = query_with_host(
        &s,
        &plain_host,
        &[("Action", "CreateQueue"), ("QueueName", &plain)],
        None,
    )
    .await;
    assert_eq!(
        created_url(status, &body),
        format!("http://sqs.us-east-1.localhost:{port}/000000000000/{plain}")
    );
    assert!(!missing_in(&us, &plain).await);
    assert!(missing_in(&eu, &plain).await);

    // Signed for us-east-1 through the eu-west-1 host: the scope wins.
    let signed = unique("host-signed");
    let (status, body) = query_with_host(
        &s,
        &regional_host,
        &[("Action", "CreateQueue"), ("QueueName", &signed)],
        Some(US),
    )
    .await;
    assert_eq!(
        created_url(status, &body),
        format!("http://sqs.us-east-1.localhost:{port}/000000000000/{signed}")
    );
    assert!(!missing_in(&us, &signed).await);
    assert!(missing_in(&eu, &signed).await);
    s.stop().await;
}

#[tokio::test]
async fn without_regional_urls_the_host_names_no_region() {
    let s = TestServer::start_with(&["--auth", "off"]).await;
    let eu = s.sdk_in(EU);
    let us = s.sdk_in(US);
    let name = unique("host-ignored");
    let host = format!("sqs.eu-west-1.localhost:{}", s.addr.port());
    let (status, body) = query_with_host(
        &s,
        &host,
        &[("Action", "CreateQueue"), ("QueueName", &name)],
        None,
    )
    .await;
    assert_eq!(
        created_url(status, &body),
        format!("http://{host}/000000000000/{name}")
    );
    assert!(!missing_in(&us, &name).await);
    assert!(missing_in(&eu, &name).await);
    s.stop().await;
}

#[tokio::test]
async fn queues_of_two_regions_survive_a_restart_apart() {
    let dir = tempfile::TempDir::new().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let s = TestServer::start_with(&["--data-dir", data_dir]).await;
    let name = unique("restart");
    let (us_url, eu_url) = {
        let (us, eu) = (s.sdk_in(US), s.sdk_in(EU));
        let us_url = create(&us, &name).await;
        let eu_url = create(&eu, &name).await;
        us.set_queue_attributes()
            .queue_url(&us_url)
            .attributes(A::VisibilityTimeout, "45")
            .send()
            .await
            .unwrap();
        send(&us, &us_url, "us message").await;
        send(&eu, &eu_url, "eu message").await;
        (us_url, eu_url)
    };
    s.stop().await;

    let s = TestServer::start_with(&["--data-dir", data_dir]).await;
    let (us, eu) = (s.sdk_in(US), s.sdk_in(EU));
    assert_eq!(arn_of(&us, &us_url).await, arn(US, &name));
    assert_eq!(arn_of(&eu, &eu_url).await, arn(EU, &name));
    let timeout = |sdk: aws_sdk_sqs::Client, url: String| async move {
        sdk.get_queue_attributes()
            .queue_url(url)
            .attribute_names(A::VisibilityTimeout)
            .send()
            .await
            .unwrap()
            .attributes()
            .and_then(|a| a.get(&A::VisibilityTimeout).cloned())
    };
    assert_eq!(
        timeout(us.clone(), us_url.clone()).await.as_deref(),
        Some("45")
    );
    assert_eq!(
        timeout(eu.clone(), eu_url.clone()).await.as_deref(),
        Some("30")
    );
    assert_eq!(listed(&us, &name).await.len(), 1);
    assert_eq!(listed(&eu, &name).await.len(), 1);
    assert_eq!(bodies(&us, &us_url).await, ["us message"]);
    assert_eq!(bodies(&eu, &eu_url).await, ["eu message"]);
    s.stop().await;
}
