//! The operators' read-only API under `/_cauda/`: listing queues and peeking at messages
//! without changing them.

use aws_sdk_sqs::types::MessageSystemAttributeName;
use serde_json::Value;

use crate::harness::{unique, TestServer, ACCESS_KEY, SECRET_KEY};

async fn get_json(s: &TestServer, path: &str) -> Value {
    let r = s.send("GET", path, &[], "", false).await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.json()
}

async fn create(s: &TestServer, name: &str) -> String {
    s.sdk()
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

async fn send(s: &TestServer, url: &str, body: &str, delay: i32) {
    s.sdk()
        .send_message()
        .queue_url(url)
        .message_body(body)
        .delay_seconds(delay)
        .send()
        .await
        .unwrap();
}

fn bodies(page: &Value) -> Vec<String> {
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn peeking_changes_neither_visibility_nor_receive_counts() {
    let s = TestServer::start_with(&["--auth", "off"]).await;
    let sqs = s.sdk();
    let name = unique("peek");
    let url = create(&s, &name).await;
    send(&s, &url, "taken", 0).await;
    send(&s, &url, "waiting", 0).await;
    send(&s, &url, "later", 60).await;
    let got = sqs
        .receive_message()
        .queue_url(&url)
        .visibility_timeout(30)
        .send()
        .await
        .unwrap();
    assert_eq!(got.messages()[0].body(), Some("taken"));

    let path = |state: &str| format!("/_cauda/queues/000000000000/{name}/messages?state={state}");
    for _ in 0..2 {
        let all = get_json(&s, &path("all")).await;
        assert_eq!(bodies(&all), ["taken", "waiting", "later"], "{all}");
        let states: Vec<&str> = all["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["inflight", "visible", "delayed"]);
        assert_eq!(all["messages"][0]["receive_count"], 1);
        assert_eq!(all["messages"][1]["receive_count"], 0);
        assert_eq!(bodies(&get_json(&s, &path("visible")).await), ["waiting"]);
        assert_eq!(bodies(&get_json(&s, &path("inflight")).await), ["taken"]);
        assert_eq!(bodies(&get_json(&s, &path("delayed")).await), ["later"]);
    }

    // The peeked visible message is received for the first time; the in-flight one stays
    // invisible, the delayed one delayed.
    let got = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .send()
        .await
        .unwrap();
    assert_eq!(got.messages().len(), 1, "{got:?}");
    let m = &got.messages()[0];
    assert_eq!(m.body(), Some("waiting"));
    assert_eq!(
        m.attributes().unwrap()[&MessageSystemAttributeName::ApproximateReceiveCount],
        "1"
    );

    let listed = get_json(&s, "/_cauda/queues").await;
    let q = listed["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == name.as_str())
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(q["url"], url.as_str());
    assert_eq!(q["fifo"], false);
    assert_eq!(
        (&q["visible"], &q["inflight"], &q["delayed"]),
        (&0.into(), &2.into(), &1.into())
    );
    s.stop().await;
}

#[tokio::test]
async fn peeking_pages_by_sequence_number() {
    let s = TestServer::start_with(&["--auth", "off"]).await;
    let name = unique("peek-pages");
    let url = create(&s, &name).await;
    for i in 0..5 {
        send(&s, &url, &format!("m{i}"), 0).await;
    }
    let mut seen = Vec::new();
    let mut after = String::new();
    for expected in [2, 2, 1, 0] {
        let page = get_json(
            &s,
            &format!("/_cauda/queues/000000000000/{name}/messages?limit=2{after}"),
        )
        .await;
        assert_eq!(bodies(&page).len(), expected, "{page}");
        seen.extend(bodies(&page));
        if let Some(next) = page["next_after"].as_str() {
            assert!(next.parse::<u64>().is_ok(), "{page}");
            after = format!("&after={next}");
        }
    }
    assert_eq!(seen, ["m0", "m1", "m2", "m3", "m4"]);
    let bad = s
        .send(
            "GET",
            &format!("/_cauda/queues/000000000000/{name}/messages?state=gone"),
            &[],
            "",
            false,
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    s.stop().await;
}

#[tokio::test]
async fn strict_mode_peeks_only_when_signed() {
    let s = TestServer::start_with(&[
        "--auth",
        "strict",
        "--credentials",
        &format!("{ACCESS_KEY}:{SECRET_KEY}"),
    ])
    .await;
    let name = unique("peek-strict");
    let url = create(&s, &name).await;
    send(&s, &url, "secret", 0).await;
    let path = format!("/_cauda/queues/000000000000/{name}/messages");
    for p in [path.as_str(), "/_cauda/queues"] {
        let unsigned = s.send("GET", p, &[], "", false).await;
        assert_eq!(unsigned.status, 403, "{p}: {}", unsigned.body);
    }
    let signed = s.send("GET", &path, &[], "", true).await;
    assert_eq!(signed.status, 200, "{}", signed.body);
    assert_eq!(bodies(&signed.json()), ["secret"]);
    let listed = s.send("GET", "/_cauda/queues", &[], "", true).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert!(listed.body.contains(&name), "{}", listed.body);
    s.stop().await;
}

#[tokio::test]
async fn a_caller_peeks_only_its_own_accounts_queues() {
    let s = TestServer::start_with(&[
        "--auth",
        "strict",
        "--credentials",
        &format!("{ACCESS_KEY}:{SECRET_KEY}"),
        "--credentials",
        "OTHERKEY:othersecret:111111111111",
    ])
    .await;
    let name = unique("peek-own");
    let url = create(&s, &name).await;
    send(&s, &url, "not yours", 0).await;
    let other = Some(("OTHERKEY", "othersecret"));
    let path = format!("/_cauda/queues/000000000000/{name}/messages");
    let refused = s.send_as("GET", &path, &[], "", other).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(!refused.body.contains("not yours"), "{}", refused.body);
    let all = s
        .send_as("GET", "/_cauda/queues?all=true", &[], "", other)
        .await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert!(!all.body.contains(&name), "{}", all.body);
    let own = s
        .send("GET", "/_cauda/queues?all=true", &[], "", true)
        .await;
    assert!(own.body.contains(&name), "{}", own.body);
    s.stop().await;
}

#[tokio::test]
async fn the_default_auth_mode_answers_unsigned_peeks() {
    // Auto mode without credentials (the default) checks no signature: the README's plain
    // curl examples work.
    let s = TestServer::start().await;
    let name = unique("peek-default");
    let url = create(&s, &name).await;
    send(&s, &url, "plain curl", 0).await;
    let listed = get_json(&s, "/_cauda/queues").await;
    assert!(listed.to_string().contains(&name), "{listed}");
    let peeked = get_json(&s, &format!("/_cauda/queues/000000000000/{name}/messages")).await;
    assert_eq!(bodies(&peeked), ["plain curl"]);
    s.stop().await;
}
