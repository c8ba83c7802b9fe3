//! Queue definitions survive a graceful restart over the same `--data-dir`: attributes
//! (timestamps included), tags, policies, FIFO settings, URLs; deleted queues stay deleted.

use std::collections::BTreeMap;

use aws_sdk_sqs::types::QueueAttributeName as A;

use crate::harness::{sdk_failure, unique, TestServer};

async fn start(dir: &tempfile::TempDir) -> TestServer {
    TestServer::start_with(&["--data-dir", dir.path().to_str().unwrap()]).await
}

async fn all_attrs(s: &TestServer, url: &str) -> BTreeMap<String, String> {
    let out = s
        .sdk()
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::All)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetQueueAttributes {url}: {e:?}"));
    out.attributes()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.clone()))
        .collect()
}

async fn tags(s: &TestServer, url: &str) -> BTreeMap<String, String> {
    let out = s
        .sdk()
        .list_queue_tags()
        .queue_url(url)
        .send()
        .await
        .unwrap();
    out.tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

async fn listed(s: &TestServer) -> Vec<String> {
    let mut urls = s
        .sdk()
        .list_queues()
        .send()
        .await
        .unwrap()
        .queue_urls()
        .to_vec();
    urls.sort();
    urls
}

/// Everything a queue is: its `All` attributes and its tags, by name.
type Snapshot = BTreeMap<String, (BTreeMap<String, String>, BTreeMap<String, String>)>;

async fn snapshot(s: &TestServer, names: &[String]) -> Snapshot {
    let mut out = Snapshot::new();
    for n in names {
        let url = s.queue_url(n);
        out.insert(n.clone(), (all_attrs(s, &url).await, tags(s, &url).await));
    }
    out
}

#[tokio::test]
async fn queues_survive_a_graceful_restart() {
    let dir = tempfile::TempDir::new().unwrap();
    let s = start(&dir).await;
    let sdk = s.sdk();

    let std_name = unique("persist");
    let std_url = sdk
        .create_queue()
        .queue_name(&std_name)
        .attributes(A::VisibilityTimeout, "45")
        .attributes(A::DelaySeconds, "3")
        .attributes(A::MessageRetentionPeriod, "7200")
        .attributes(A::MaximumMessageSize, "4096")
        .attributes(A::ReceiveMessageWaitTimeSeconds, "2")
        .tags("team", "core")
        .tags("empty", "")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    sdk.tag_queue()
        .queue_url(&std_url)
        .tags("later", "added")
        .send()
        .await
        .unwrap();
    sdk.add_permission()
        .queue_url(&std_url)
        .label("share")
        .aws_account_ids("111111111111")
        .aws_account_ids("222222222222")
        .actions("SendMessage")
        .actions("ReceiveMessage")
        .send()
        .await
        .unwrap();

    let dlq_name = unique("persist-dlq");
    sdk.create_queue()
        .queue_name(&dlq_name)
        .send()
        .await
        .unwrap();
    let redrive = format!(
        r#"{{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:{dlq_name}","maxReceiveCount":3}}"#
    );
    // A value changed after creation (and LastModifiedTimestamp with it).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    sdk.set_queue_attributes()
        .queue_url(&std_url)
        .attributes(A::RedrivePolicy, &redrive)
        .attributes(A::VisibilityTimeout, "50")
        .send()
        .await
        .unwrap();

    let fifo_name = format!("{}.fifo", unique("persist"));
    sdk.create_queue()
        .queue_name(&fifo_name)
        .attributes(A::FifoQueue, "true")
        .attributes(A::ContentBasedDeduplication, "true")
        .attributes(A::DeduplicationScope, "messageGroup")
        .attributes(A::FifoThroughputLimit, "perMessageGroupId")
        .tags("kind", "fifo")
        .send()
        .await
        .unwrap();

    // Deleted before the restart: must stay deleted.
    let gone = unique("persist-gone");
    let gone_url = sdk
        .create_queue()
        .queue_name(&gone)
        .tags("x", "y")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    sdk.delete_queue()
        .queue_url(&gone_url)
        .send()
        .await
        .unwrap();
    // Deleted and recreated with other settings: the new definition is the one kept.
    let reborn = unique("persist-reborn");
    let reborn_url = sdk
        .create_queue()
        .queue_name(&reborn)
        .attributes(A::DelaySeconds, "7")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    sdk.delete_queue()
        .queue_url(&reborn_url)
        .send()
        .await
        .unwrap();
    sdk.create_queue()
        .queue_name(&reborn)
        .attributes(A::DelaySeconds, "8")
        .send()
        .await
        .unwrap();

    let names = vec![
        std_name.clone(),
        dlq_name.clone(),
        fifo_name.clone(),
        reborn.clone(),
    ];
    let before = snapshot(&s, &names).await;
    // Sanity: the snapshot holds what was set.
    let (std_attrs, std_tags) = &before[&std_name];
    assert_eq!(std_attrs["VisibilityTimeout"], "50");
    assert_eq!(std_attrs["DelaySeconds"], "3");
    assert!(std_attrs.contains_key("Policy"));
    assert!(std_attrs.contains_key("RedrivePolicy"));
    assert_ne!(
        std_attrs["CreatedTimestamp"],
        std_attrs["LastModifiedTimestamp"]
    );
    assert_eq!(std_tags.len(), 3);
    assert_eq!(before[&reborn].0["DelaySeconds"], "8");
    assert_eq!(before[&fifo_name].0["FifoQueue"], "true");
    assert_eq!(listed(&s).await.len(), 4);
    s.stop().await;

    for round in 1..=2 {
        let s = start(&dir).await;
        let after = snapshot(&s, &names).await;
        for n in &names {
            assert_eq!(after[n], before[n], "round {round}: queue {n}");
        }
        let mut want: Vec<String> = names.iter().map(|n| s.queue_url(n)).collect();
        want.sort();
        assert_eq!(listed(&s).await, want, "round {round}");
        for n in &names {
            let got = s.sdk().get_queue_url().queue_name(n).send().await.unwrap();
            assert_eq!(got.queue_url(), Some(s.queue_url(n).as_str()));
        }

        // The deleted queue stays deleted.
        let f = sdk_failure(
            s.sdk()
                .get_queue_url()
                .queue_name(&gone)
                .send()
                .await
                .unwrap_err(),
        );
        assert!(f.err.is_queue_does_not_exist(), "round {round}");
        let r = s
            .query(&[
                ("Action", "ListQueueTags"),
                ("QueueUrl", &s.queue_url(&gone)),
            ])
            .await;
        assert_eq!(
            r.xml("Code").as_deref(),
            Some("AWS.SimpleQueueService.NonExistentQueue"),
            "{}",
            r.body
        );

        // The restored definitions drive behaviour: idempotent CreateQueue compares with them.
        let same = s
            .sdk()
            .create_queue()
            .queue_name(&std_name)
            .attributes(A::VisibilityTimeout, "50")
            .send()
            .await
            .unwrap();
        assert_eq!(same.queue_url(), Some(s.queue_url(&std_name).as_str()));
        let f = sdk_failure(
            s.sdk()
                .create_queue()
                .queue_name(&std_name)
                .attributes(A::VisibilityTimeout, "45")
                .send()
                .await
                .unwrap_err(),
        );
        assert!(f.err.is_queue_name_exists(), "round {round}");
        s.stop().await;
    }
}

#[tokio::test]
async fn changes_after_a_restart_are_kept_by_the_next_one() {
    let dir = tempfile::TempDir::new().unwrap();
    let name = unique("twice");
    let s = start(&dir).await;
    let url = s
        .sdk()
        .create_queue()
        .queue_name(&name)
        .tags("v", "1")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let created = all_attrs(&s, &url).await["CreatedTimestamp"].clone();
    let doomed = unique("twice-doomed");
    s.sdk()
        .create_queue()
        .queue_name(&doomed)
        .send()
        .await
        .unwrap();
    s.stop().await;

    // Second life: change, untag, remove a queue, add one.
    let s = start(&dir).await;
    let url = s.queue_url(&name);
    s.sdk()
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(A::DelaySeconds, "12")
        .send()
        .await
        .unwrap();
    s.sdk()
        .untag_queue()
        .queue_url(&url)
        .tag_keys("v")
        .send()
        .await
        .unwrap();
    s.sdk()
        .tag_queue()
        .queue_url(&url)
        .tags("w", "2")
        .send()
        .await
        .unwrap();
    s.sdk()
        .delete_queue()
        .queue_url(s.queue_url(&doomed))
        .send()
        .await
        .unwrap();
    let added = unique("twice-added");
    s.sdk()
        .create_queue()
        .queue_name(&added)
        .send()
        .await
        .unwrap();
    let before = snapshot(&s, &[name.clone(), added.clone()]).await;
    s.stop().await;

    let s = start(&dir).await;
    let after = snapshot(&s, &[name.clone(), added.clone()]).await;
    assert_eq!(after, before);
    let (attrs, tags) = &after[&name];
    assert_eq!(attrs["DelaySeconds"], "12");
    assert_eq!(attrs["CreatedTimestamp"], created);
    assert_eq!(tags, &BTreeMap::from([("w".to_string(), "2".to_string())]));
    let mut want = vec![s.queue_url(&name), s.queue_url(&added)];
    want.sort();
    assert_eq!(listed(&s).await, want);
    s.stop().await;
}

#[tokio::test]
async fn queues_of_several_accounts_survive_a_restart() {
    let dir = tempfile::TempDir::new().unwrap();
    let args = [
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--auth",
        "strict",
        "--credentials",
        "AKA:SKA:111111111111",
        "--credentials",
        "AKB:SKB:222222222222",
    ];
    let name = unique("acct");
    let s = TestServer::start_with(&args).await;
    for (ak, sk, delay) in [("AKA", "SKA", "1"), ("AKB", "SKB", "2")] {
        s.sdk_with(ak, sk)
            .create_queue()
            .queue_name(&name)
            .attributes(A::DelaySeconds, delay)
            .send()
            .await
            .unwrap();
    }
    s.stop().await;

    let s = TestServer::start_with(&args).await;
    for (ak, sk, account, delay) in [
        ("AKA", "SKA", "111111111111", "1"),
        ("AKB", "SKB", "222222222222", "2"),
    ] {
        let sdk = s.sdk_with(ak, sk);
        let urls = sdk
            .list_queues()
            .send()
            .await
            .unwrap()
            .queue_urls()
            .to_vec();
        let url = format!("{}/{account}/{name}", s.endpoint);
        assert_eq!(urls, vec![url.clone()]);
        let out = sdk
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(A::DelaySeconds)
            .attribute_names(A::QueueArn)
            .send()
            .await
            .unwrap();
        let attrs = out.attributes().unwrap();
        assert_eq!(attrs[&A::DelaySeconds], delay);
        assert_eq!(
            attrs[&A::QueueArn],
            format!("arn:aws:sqs:us-east-1:{account}:{name}")
        );
    }
    s.stop().await;
}

/// FIFO deduplication across a restart: a purge removes the queue's deduplication records
/// from the store too (the id is free after the restart), and the scope the queue was created
/// with stays in force after SetQueueAttributes changed the attribute, restart or not.
#[tokio::test]
async fn fifo_deduplication_state_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(&dir).await;
    let sdk = s.sdk();
    let create = |name: String| {
        sdk.create_queue()
            .queue_name(name)
            .attributes(A::FifoQueue, "true")
            .send()
    };
    let purged = create(format!("{}.fifo", unique("rs-purge")))
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let scoped = create(format!("{}.fifo", unique("rs-scope")))
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let send = |url: String, body: &'static str, group: &'static str| {
        let sdk = sdk.clone();
        async move {
            sdk.send_message()
                .queue_url(url)
                .message_body(body)
                .message_group_id(group)
                .message_deduplication_id("d")
                .send()
                .await
                .unwrap();
        }
    };
    send(purged.clone(), "before", "g").await;
    sdk.purge_queue().queue_url(&purged).send().await.unwrap();
    sdk.set_queue_attributes()
        .queue_url(&scoped)
        .attributes(A::DeduplicationScope, "messageGroup")
        .send()
        .await
        .unwrap();
    send(scoped.clone(), "g1", "g1").await;
    s.stop().await;

    let s = start(&dir).await;
    let sdk = s.sdk();
    let send = |url: String, body: &'static str, group: &'static str| {
        let sdk = sdk.clone();
        async move {
            sdk.send_message()
                .queue_url(url)
                .message_body(body)
                .message_group_id(group)
                .message_deduplication_id("d")
                .send()
                .await
                .unwrap();
        }
    };
    send(purged.clone(), "after", "g").await;
    send(scoped.clone(), "g2", "g2").await;
    let bodies = |url: String| {
        let sdk = sdk.clone();
        async move {
            let mut b: Vec<String> = sdk
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap()
                .messages()
                .iter()
                .map(|m| m.body().unwrap().to_string())
                .collect();
            b.sort();
            b
        }
    };
    assert_eq!(bodies(purged).await, ["after"]);
    assert_eq!(
        all_attrs(&s, &scoped).await["DeduplicationScope"],
        "messageGroup"
    );
    assert_eq!(
        bodies(scoped).await,
        ["g1"],
        "deduplicated queue-wide, as created"
    );
    s.stop().await;
}
