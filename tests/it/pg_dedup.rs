//! FIFO deduplication across nodes of the postgres backend: the same MessageDeduplicationId
//! sent at the same moment through two nodes is accepted once (a retry that lands on another
//! node while the first attempt is still in its transaction). Skipped without
//! `CAUDA_TEST_DATABASE_URL`.

use std::collections::HashSet;

use aws_sdk_sqs::types::QueueAttributeName;

use crate::harness::{unique, TestServer};

const VAR: &str = "CAUDA_TEST_DATABASE_URL";

#[tokio::test]
async fn one_deduplication_id_sent_at_once_through_two_nodes_is_accepted_once() {
    if std::env::var(VAR).is_err() {
        eprintln!("SKIPPED pg_dedup: {VAR} is unset (`.ci/postgres start` prints a URL)");
        return;
    }
    let db = crate::harness::fresh_postgres_database().await;
    let args = ["--backend", "postgres", "--database-url", db.as_str()];
    let (a, b) = (
        TestServer::start_with(&args).await,
        TestServer::start_with(&args).await,
    );
    let name = format!("{}.fifo", unique("pg-dedup"));
    let url = a
        .sdk()
        .create_queue()
        .queue_name(&name)
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    // Node B finds the queue at once (a lookup that misses reads the database).
    let url_b = b.queue_url(&name);
    const ROUNDS: usize = 15;
    const SENDERS: usize = 8;
    for round in 0..ROUNDS {
        let mut sends = tokio::task::JoinSet::new();
        for i in 0..SENDERS {
            let (sdk, url) = if i % 2 == 0 {
                (a.sdk(), url.clone())
            } else {
                (b.sdk(), url_b.clone())
            };
            sends.spawn(async move {
                sdk.send_message()
                    .queue_url(url)
                    .message_body(format!("round {round}"))
                    .message_group_id(format!("g{}", round % 3))
                    .message_deduplication_id(format!("d{round}"))
                    .send()
                    .await
                    .unwrap()
                    .message_id
                    .unwrap()
            });
        }
        let ids: HashSet<String> = sends.join_all().await.into_iter().collect();
        assert_eq!(
            ids.len(),
            1,
            "round {round}: one MessageId for {SENDERS} sends, got {ids:?}"
        );
    }
    let attrs = a
        .sdk()
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    assert_eq!(
        attrs.attributes().unwrap()[&QueueAttributeName::ApproximateNumberOfMessages],
        ROUNDS.to_string(),
        "one message per deduplication id"
    );
}
