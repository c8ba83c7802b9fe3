use crate::harness::{unique, TestServer};

#[tokio::test]
async fn sdk_and_query_client_reach_the_same_queue() {
    let s = TestServer::start().await;
    let sdk = s.sdk();
    let name = unique("smoke");
    let url = sdk
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    assert_eq!(url, s.queue_url(&name));
    let r = s
        .query(&[("Action", "GetQueueUrl"), ("QueueName", &name)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.xml("QueueUrl").as_deref(), Some(url.as_str()));
    let err = sdk
        .get_queue_url()
        .queue_name("nope")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_queue_does_not_exist());
    s.stop().await;
}
