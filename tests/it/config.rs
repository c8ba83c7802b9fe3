//! Configuration flags, each through real calls: `--queue-url-regional` with `--account-id`,
//! `--account-id` and `--region` for unsigned and auto-mode callers, `--log-format json` and
//! comma-separated `CAUDA_CREDENTIALS` (a real child process), `--purge-cooldown-secs 0`, and
//! the fair-queue rule of standard queues (one message per group before a second of any).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName as A;

use crate::crash::Proc;
use crate::harness::{sdk_failure, unique, TestServer};

const ACCOUNT: &str = "123456789012";

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

/// Bodies of one receive of up to `max` (visibility 300 s), in the order returned.
async fn receive_bodies(sdk: &aws_sdk_sqs::Client, url: &str, max: i32) -> Vec<String> {
    sdk.receive_message()
        .queue_url(url)
        .max_number_of_messages(max)
        .visibility_timeout(300)
        .wait_time_seconds(0)
        .send()
        .await
        .unwrap()
        .messages()
        .iter()
        .map(|m| m.body().unwrap().to_string())
        .collect()
}

fn set(items: &[&str]) -> HashSet<String> {
    items.iter().map(std::string::ToString::to_string).collect()
}

// ----- --queue-url-regional, --account-id, --region -----

#[tokio::test]
async fn regional_urls_carry_the_configured_account() {
    // regions.rs covers regional URLs in the default account; here the account is configured.
    let s = TestServer::start_with(&["--queue-url-regional", "--account-id", ACCOUNT]).await;
    let sdk = s.sdk_in("eu-west-1");
    let name = unique("cfg-rurl");
    let url = create(&sdk, &name).await;
    let host = s.addr.to_string();
    let expected = format!("http://sqs.eu-west-1.{host}/{ACCOUNT}/{name}");
    assert_eq!(url, expected);
    let got = sdk.get_queue_url().queue_name(&name).send().await.unwrap();
    assert_eq!(got.queue_url(), Some(expected.as_str()));
    let listed = sdk
        .list_queues()
        .queue_name_prefix(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.queue_urls(), [expected.as_str()]);
    assert_eq!(
        arn_of(&sdk, &url).await,
        format!("arn:aws:sqs:eu-west-1:{ACCOUNT}:{name}")
    );
    // The URL leads back to the queue.
    sdk.send_message()
        .queue_url(&url)
        .message_body("via the regional url")
        .send()
        .await
        .unwrap();
    assert_eq!(
        receive_bodies(&sdk, &url, 10).await,
        ["via the regional url"]
    );
    s.stop().await;
}

#[tokio::test]
async fn account_id_owns_the_queues_of_auto_mode_callers() {
    // auto mode without credentials: any well-formed signature, the caller is --account-id.
    let s = TestServer::start_with(&["--account-id", ACCOUNT]).await;
    let sdk = s.sdk();
    let name = unique("cfg-acct");
    let url = create(&sdk, &name).await;
    assert_eq!(url, format!("{}/{ACCOUNT}/{name}", s.endpoint));
    assert_eq!(
        arn_of(&sdk, &url).await,
        format!("arn:aws:sqs:us-east-1:{ACCOUNT}:{name}")
    );
    // A URL naming the default account does not reach it.
    let other = format!("{}/000000000000/{name}", s.endpoint);
    let e = sdk
        .get_queue_attributes()
        .queue_url(&other)
        .attribute_names(A::QueueArn)
        .send()
        .await
        .unwrap_err();
    assert!(sdk_failure(e).err.is_queue_does_not_exist());
    s.stop().await;
}

#[tokio::test]
async fn unsigned_requests_use_the_configured_region_and_account() {
    let s = TestServer::start_with(&[
        "--auth",
        "off",
        "--region",
        "ap-south-1",
        "--account-id",
        ACCOUNT,
    ])
    .await;
    let name = unique("cfg-unsigned");
    let body = serde_urlencoded::to_string([
        ("Action", "CreateQueue"),
        ("QueueName", name.as_str()),
        ("Version", "2012-11-05"),
    ])
    .unwrap();
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let r = s.send("POST", "/", &form, &body, false).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let url = format!("{}/{ACCOUNT}/{name}", s.endpoint);
    assert_eq!(r.xml("QueueUrl").as_deref(), Some(url.as_str()));

    let body = serde_urlencoded::to_string([
        ("Action", "GetQueueAttributes"),
        ("AttributeName.1", "QueueArn"),
        ("Version", "2012-11-05"),
    ])
    .unwrap();
    let path = format!("/{ACCOUNT}/{name}");
    let r = s.send("POST", &path, &form, &body, false).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.xml("Value"),
        Some(format!("arn:aws:sqs:ap-south-1:{ACCOUNT}:{name}"))
    );

    // The queue is in ap-south-1: a client signing for that region finds it, us-east-1 not.
    let found = s
        .sdk_in("ap-south-1")
        .get_queue_url()
        .queue_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(found.queue_url(), Some(url.as_str()));
    let e = s
        .sdk_in("us-east-1")
        .get_queue_url()
        .queue_name(&name)
        .send()
        .await
        .unwrap_err();
    assert!(sdk_failure(e).err.is_queue_does_not_exist());
    s.stop().await;
}

// ----- --purge-cooldown-secs -----

#[tokio::test]
async fn purge_cooldown_zero_allows_back_to_back_purges() {
    let s = TestServer::start_with(&["--purge-cooldown-secs", "0"]).await;
    let sdk = s.sdk();
    let url = create(&sdk, &unique("cfg-purge0")).await;
    for round in 0..2 {
        sdk.send_message()
            .queue_url(&url)
            .message_body("m")
            .send()
            .await
            .unwrap();
        sdk.purge_queue()
            .queue_url(&url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("purge {round}: {e:?}"));
        assert!(receive_bodies(&sdk, &url, 10).await.is_empty());
    }
    s.stop().await;

    // The default (60 s): the second purge is refused.
    let s = TestServer::start().await;
    let sdk = s.sdk();
    let url = create(&sdk, &unique("cfg-purge60")).await;
    sdk.purge_queue().queue_url(&url).send().await.unwrap();
    let f = sdk_failure(sdk.purge_queue().queue_url(&url).send().await.unwrap_err());
    assert_eq!(f.status, 403);
    assert!(f.err.is_purge_queue_in_progress(), "{}", f.code);
    s.stop().await;
}

// ----- fair queues -----

#[tokio::test]
async fn a_standard_queue_serves_one_message_per_group_first() {
    let s = TestServer::start().await;
    let sdk = s.sdk();
    let url = create(&sdk, &unique("cfg-fair")).await;
    // Group a floods first; b and c follow.
    for (group, n) in [("a", 4), ("b", 2), ("c", 2)] {
        for i in 1..=n {
            sdk.send_message()
                .queue_url(&url)
                .message_body(format!("{group}{i}"))
                .message_group_id(group)
                .send()
                .await
                .unwrap();
        }
    }
    // Three messages: the first of each group, not a1..a3.
    let first: HashSet<String> = receive_bodies(&sdk, &url, 3).await.into_iter().collect();
    assert_eq!(first, set(&["a1", "b1", "c1"]));
    // Four more: one of each group first (a2, b2, c2), then one more (only a has more).
    let second: HashSet<String> = receive_bodies(&sdk, &url, 4).await.into_iter().collect();
    assert_eq!(second, set(&["a2", "b2", "c2", "a3"]));
    assert_eq!(receive_bodies(&sdk, &url, 10).await, ["a4"]);
    s.stop().await;
}

// ----- a real process: --log-format json, CAUDA_CREDENTIALS -----

fn log_path(tag: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("{}.log", unique(tag)))
}

#[tokio::test]
async fn log_format_json_writes_one_json_line_per_request() {
    let log = log_path("cauda-jsonlog");
    let p = Proc::spawn(
        &["--in-memory", "--log-format", "json"],
        &[("RUST_LOG", "info")],
        &log,
    )
    .await;
    let c = p.client();
    let name = unique("cfg-json");
    create(&c.sdk(), &name).await;
    let missing = c
        .sdk()
        .get_queue_url()
        .queue_name(unique("cfg-none"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(sdk_failure(missing).status, 400);

    let deadline = Instant::now() + Duration::from_secs(10);
    let (created, refused) = loop {
        let text = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        let find = |action: &str| {
            lines
                .iter()
                .find(|v| v["fields"]["action"] == action)
                .cloned()
        };
        if let (Some(a), Some(b)) = (find("CreateQueue"), find("GetQueueUrl")) {
            break (a, b);
        }
        assert!(Instant::now() < deadline, "no request lines in:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(created["fields"]["status"], 200, "{created}");
    assert_eq!(created["fields"]["message"], "request", "{created}");
    assert_eq!(refused["fields"]["status"], 400, "{refused}");
    drop(p);
    let _ = std::fs::remove_file(&log);
}

#[tokio::test]
async fn comma_separated_cauda_credentials_are_all_known() {
    let log = log_path("cauda-creds");
    let creds = "AKONE:secretone:111111111111,AKTWO:secrettwo:222222222222";
    let p = Proc::spawn(
        &["--in-memory", "--auth", "strict"],
        &[("CAUDA_CREDENTIALS", creds)],
        &log,
    )
    .await;
    let c = p.client();
    let name = unique("cfg-creds");
    for (ak, sk, account) in [
        ("AKONE", "secretone", "111111111111"),
        ("AKTWO", "secrettwo", "222222222222"),
    ] {
        let url = create(&c.sdk_with(ak, sk), &name).await;
        assert_eq!(url, format!("{}/{account}/{name}", c.endpoint));
    }
    // Strict: a wrong secret and an unknown key are refused.
    let f = sdk_failure(
        c.sdk_with("AKONE", "secrettwo")
            .list_queues()
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!((f.status, f.code.as_str()), (403, "SignatureDoesNotMatch"));
    let f = sdk_failure(
        c.sdk_with("AKTHREE", "x")
            .list_queues()
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!((f.status, f.code.as_str()), (403, "InvalidClientTokenId"));
    drop(p);
    let _ = std::fs::remove_file(&log);
}
