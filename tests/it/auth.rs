//! Authentication (SQS-REFERENCE §9.1, §3): strict mode with configured credentials, the error
//! codes of each failure in both protocols, presigned URLs, accounts, `--auth off` and auto mode.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;

use crate::harness::{
    assert_json_error, assert_query_error, sdk_failure, sign_request, unique, Raw, TestServer,
};

const AK: &str = "AK";
const SK: &str = "SK";
const ACCOUNT: &str = "111111111111";
const SIGNATURE_MISMATCH: &str =
    "The request signature we calculated does not match the signature you provided.";

/// A strict server whose harness keys (Query client, `sdk()`) are the configured credential.
async fn strict() -> TestServer {
    let mut s = TestServer::start_with(&[
        "--auth",
        "strict",
        "--credentials",
        &format!("{AK}:{SK}:{ACCOUNT}"),
    ])
    .await;
    s.access_key = AK.into();
    s.secret_key = SK.into();
    s
}

const FORM: (&str, &str) = (
    "content-type",
    "application/x-www-form-urlencoded; charset=utf-8",
);
const JSON_CT: (&str, &str) = ("content-type", "application/x-amz-json-1.0");
const LIST_QUEUES_FORM: &str = "Action=ListQueues&Version=2012-11-05";

/// Sends a request signed (header auth) at `time` with the given keys.
#[allow(
    clippy::too_many_arguments,
    reason = "every part of a signed request is a knob of these tests"
)]
async fn send_signed_at(
    s: &TestServer,
    keys: (&str, &str),
    time: SystemTime,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Raw {
    let mut req = http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", s.endpoint))
        .header("host", s.addr.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(body.to_string()).unwrap();
    sign_request(&mut req, keys.0, keys.1, "us-east-1", time);
    let signed: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter(|(k, _)| k.as_str() != "host")
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
        .collect();
    let refs: Vec<(&str, &str)> = signed
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    s.send(method, path, &refs, body, false).await
}

/// A presigned GET `path_and_query` (signature in the query string), signed at `time`.
fn presign(
    s: &TestServer,
    keys: (&str, &str),
    path_and_query: &str,
    time: SystemTime,
    expires_in: Duration,
) -> String {
    let identity = Credentials::new(keys.0, keys.1, None, None, "tests").into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(expires_in);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("sqs")
        .time(time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let uri = format!("{}{path_and_query}", s.endpoint);
    let host = s.addr.to_string();
    let signable = SignableRequest::new(
        "GET",
        &uri,
        [("host", host.as_str())].into_iter(),
        SignableBody::Bytes(b""),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut req = http::Request::builder().uri(&uri).body(()).unwrap();
    instructions.apply_to_request_http1x(&mut req);
    let pq = req.uri().path_and_query().unwrap().to_string();
    assert!(pq.contains("X-Amz-Signature="), "{pq}");
    assert!(pq.contains("X-Amz-Expires="), "{pq}");
    pq
}

#[tokio::test]
async fn strict_mode_with_the_right_secret_works_end_to_end() {
    let s = strict().await;
    let sdk = s.sdk_with(AK, SK);
    let name = unique("strict");
    let url = sdk
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    // The credential's account owns the queue.
    assert_eq!(url, format!("{}/{ACCOUNT}/{name}", s.endpoint));
    sdk.send_message()
        .queue_url(&url)
        .message_body("signed")
        .send()
        .await
        .unwrap();
    let got = sdk.receive_message().queue_url(&url).send().await.unwrap();
    let m = &got.messages()[0];
    assert_eq!(m.body(), Some("signed"));
    sdk.delete_message()
        .queue_url(&url)
        .receipt_handle(m.receipt_handle().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        sdk.list_queues().send().await.unwrap().queue_urls(),
        std::slice::from_ref(&url)
    );
    // The Query client signed with the same key works too.
    let r = s
        .query(&[("Action", "GetQueueUrl"), ("QueueName", &name)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.xml("QueueUrl"), Some(url.clone()));
    // A queue path and a signed GET.
    let r = s
        .send(
            "GET",
            &format!("/{ACCOUNT}/{name}?Action=GetQueueAttributes&AttributeName.1=QueueArn"),
            &[],
            "",
            true,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.xml("Value"),
        Some(format!("arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"))
    );
    sdk.delete_queue().queue_url(&url).send().await.unwrap();
    s.stop().await;
}

#[tokio::test]
async fn wrong_secret_is_signature_does_not_match() {
    let s = strict().await;
    let f = sdk_failure(
        s.sdk_with(AK, "wrong-secret")
            .list_queues()
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!((f.status, f.code.as_str()), (403, "SignatureDoesNotMatch"));
    assert!(f.message.starts_with(SIGNATURE_MISMATCH), "{}", f.message);
    let r = s
        .send_as("POST", "/", &[FORM], LIST_QUEUES_FORM, Some((AK, "wrong")))
        .await;
    assert_query_error(&r, 403, "SignatureDoesNotMatch");
    assert!(
        r.xml("Message").unwrap().starts_with(SIGNATURE_MISMATCH),
        "{}",
        r.body
    );
    let r = s
        .send_as(
            "POST",
            "/",
            &[JSON_CT, ("x-amz-target", "AmazonSQS.ListQueues")],
            "{}",
            Some((AK, "wrong")),
        )
        .await;
    assert_json_error(&r, 403, "SignatureDoesNotMatch", "SignatureDoesNotMatch");
    // A body changed after signing no longer matches either.
    let mut req = http::Request::builder()
        .method("POST")
        .uri(format!("{}/", s.endpoint))
        .header("host", s.addr.to_string())
        .header(FORM.0, FORM.1)
        .body(LIST_QUEUES_FORM.to_string())
        .unwrap();
    sign_request(&mut req, AK, SK, "us-east-1", SystemTime::now());
    let auth = req.headers()["authorization"].to_str().unwrap().to_string();
    let date = req.headers()["x-amz-date"].to_str().unwrap().to_string();
    let r = s
        .send(
            "POST",
            "/",
            &[FORM, ("authorization", &auth), ("x-amz-date", &date)],
            "Action=ListQueues&Version=2012-11-05&QueueNamePrefix=x",
            false,
        )
        .await;
    assert_query_error(&r, 403, "SignatureDoesNotMatch");
    s.stop().await;
}

#[tokio::test]
async fn unknown_access_key_is_invalid_client_token_id() {
    let s = strict().await;
    let f = sdk_failure(
        s.sdk_with("AKUNKNOWN", SK)
            .list_queues()
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!((f.status, f.code.as_str()), (403, "InvalidClientTokenId"));
    assert_eq!(
        f.message,
        "The security token included in the request is invalid."
    );
    let r = s
        .send_as(
            "POST",
            "/",
            &[FORM],
            LIST_QUEUES_FORM,
            Some(("AKUNKNOWN", SK)),
        )
        .await;
    assert_query_error(&r, 403, "InvalidClientTokenId");
    s.stop().await;
}

#[tokio::test]
async fn unsigned_requests_are_missing_authentication_token() {
    for s in [strict().await, TestServer::start().await] {
        let r = s.send("POST", "/", &[FORM], LIST_QUEUES_FORM, false).await;
        assert_query_error(&r, 403, "MissingAuthenticationToken");
        let r = s
            .send(
                "GET",
                "/?Action=ListQueues&Version=2012-11-05",
                &[],
                "",
                false,
            )
            .await;
        assert_query_error(&r, 403, "MissingAuthenticationToken");
        let r = s
            .send(
                "POST",
                "/",
                &[JSON_CT, ("x-amz-target", "AmazonSQS.ListQueues")],
                "{}",
                false,
            )
            .await;
        assert_json_error(
            &r,
            403,
            "MissingAuthenticationToken",
            "MissingAuthenticationToken",
        );
        // Nothing was done on the caller's behalf.
        let r = s
            .send(
                "POST",
                "/",
                &[FORM],
                "Action=CreateQueue&QueueName=unsigned&Version=2012-11-05",
                false,
            )
            .await;
        assert_eq!(r.status, 403);
        let r = s.query(&[("Action", "ListQueues")]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.xml_all("QueueUrl").is_empty(), "{}", r.body);
        s.stop().await;
    }
}

#[tokio::test]
async fn malformed_authorization_is_incomplete_signature() {
    let s = strict().await;
    let date = {
        // Any well-formed date: take the one a real signature would carry.
        let mut req = http::Request::builder()
            .uri(format!("{}/", s.endpoint))
            .header("host", s.addr.to_string())
            .body(String::new())
            .unwrap();
        sign_request(&mut req, AK, SK, "us-east-1", SystemTime::now());
        req.headers()["x-amz-date"].to_str().unwrap().to_string()
    };
    let day = &date[..8];
    let bad_headers = [
        // No SignedHeaders, no Signature.
        format!("AWS4-HMAC-SHA256 Credential={AK}/{day}/us-east-1/sqs/aws4_request"),
        // No Signature.
        format!(
            "AWS4-HMAC-SHA256 Credential={AK}/{day}/us-east-1/sqs/aws4_request, SignedHeaders=host;x-amz-date"
        ),
        // No Credential.
        "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=abcdef".to_string(),
    ];
    for auth in &bad_headers {
        let r = s
            .send(
                "POST",
                "/",
                &[FORM, ("authorization", auth), ("x-amz-date", &date)],
                LIST_QUEUES_FORM,
                false,
            )
            .await;
        assert_query_error(&r, 400, "IncompleteSignature");
        let r = s
            .send(
                "POST",
                "/",
                &[
                    JSON_CT,
                    ("x-amz-target", "AmazonSQS.ListQueues"),
                    ("authorization", auth),
                    ("x-amz-date", &date),
                ],
                "{}",
                false,
            )
            .await;
        assert_json_error(&r, 400, "IncompleteSignature", "IncompleteSignature");
    }
    s.stop().await;
}

#[tokio::test]
async fn requests_dated_too_far_from_now_are_expired() {
    let s = strict().await;
    let twenty_min = Duration::from_secs(20 * 60);
    for time in [
        SystemTime::now() - twenty_min,
        SystemTime::now() + twenty_min,
    ] {
        let r = send_signed_at(&s, (AK, SK), time, "POST", "/", &[FORM], LIST_QUEUES_FORM).await;
        assert_query_error(&r, 400, "RequestExpired");
        let r = send_signed_at(
            &s,
            (AK, SK),
            time,
            "POST",
            "/",
            &[JSON_CT, ("x-amz-target", "AmazonSQS.ListQueues")],
            "{}",
        )
        .await;
        assert_json_error(&r, 400, "RequestExpired", "RequestExpired");
    }
    // Within the 15 minutes allowed, the same request is fine.
    let r = send_signed_at(
        &s,
        (AK, SK),
        SystemTime::now() - Duration::from_secs(5 * 60),
        "POST",
        "/",
        &[FORM],
        LIST_QUEUES_FORM,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    s.stop().await;
}

#[tokio::test]
async fn presigned_get_url_works_until_it_expires() {
    // The server reads a clock this test moves (starting at the real time, as the URLs are
    // signed with it), so a short-lived URL runs out without sleeping.
    let now = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let credential = format!("{AK}:{SK}:{ACCOUNT}");
    let (mut s, clock) = TestServer::start_with_clock(
        &["--auth", "strict", "--credentials", &credential],
        std::sync::Arc::new(cauda::clock::ManualClock::new(now)),
    )
    .await;
    s.access_key = AK.into();
    s.secret_key = SK.into();
    let name = unique("presign");
    let url = s
        .sdk()
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let target = "/?Action=ListQueues&Version=2012-11-05";

    let fresh = presign(
        &s,
        (AK, SK),
        target,
        SystemTime::now(),
        Duration::from_secs(3600),
    );
    let r = s.send("GET", &fresh, &[], "", false).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<ListQueuesResponse"), "{}", r.body);
    assert_eq!(r.xml_all("QueueUrl"), vec![url.clone()]);

    // Signed two minutes ago, valid for one: expired.
    let expired = presign(
        &s,
        (AK, SK),
        target,
        SystemTime::now() - Duration::from_secs(120),
        Duration::from_secs(60),
    );
    let r = s.send("GET", &expired, &[], "", false).await;
    assert_query_error(&r, 400, "RequestExpired");

    // Wrong secret in a presigned URL.
    let wrong = presign(
        &s,
        (AK, "nope"),
        target,
        SystemTime::now(),
        Duration::from_secs(3600),
    );
    let r = s.send("GET", &wrong, &[], "", false).await;
    assert_query_error(&r, 403, "SignatureDoesNotMatch");

    // A tampered parameter breaks the signature.
    let tampered = fresh.replace("Action=ListQueues", "Action=ListQueues&QueueNamePrefix=x");
    assert_ne!(tampered, fresh);
    let r = s.send("GET", &tampered, &[], "", false).await;
    assert_query_error(&r, 403, "SignatureDoesNotMatch");

    // A short-lived URL that really runs out.
    let short = presign(
        &s,
        (AK, SK),
        target,
        SystemTime::now(),
        Duration::from_secs(1),
    );
    let r = s.send("GET", &short, &[], "", false).await;
    assert_eq!(r.status, 200, "{}", r.body);
    clock.advance_ms(2100);
    let r = s.send("GET", &short, &[], "", false).await;
    assert_query_error(&r, 400, "RequestExpired");
    s.stop().await;
}

#[tokio::test]
async fn two_accounts_see_their_own_queues() {
    let s = TestServer::start_with(&[
        "--auth",
        "strict",
        "--credentials",
        "AKA:SKA:111111111111",
        "--credentials",
        "AKB:SKB:222222222222",
    ])
    .await;
    let a = s.sdk_with("AKA", "SKA");
    let b = s.sdk_with("AKB", "SKB");
    let shared = unique("shared");
    let a_only = unique("a-only");
    let b_only = unique("b-only");
    let create = |c: aws_sdk_sqs::Client, n: String| async move {
        c.create_queue()
            .queue_name(n)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap()
    };
    let a_shared = create(a.clone(), shared.clone()).await;
    let a_url = create(a.clone(), a_only.clone()).await;
    let b_shared = create(b.clone(), shared.clone()).await;
    let b_url = create(b.clone(), b_only.clone()).await;
    assert_eq!(a_url, format!("{}/111111111111/{a_only}", s.endpoint));
    assert_eq!(b_url, format!("{}/222222222222/{b_only}", s.endpoint));
    assert_ne!(a_shared, b_shared, "the same name in two accounts");

    let mut listed_a = a.list_queues().send().await.unwrap().queue_urls().to_vec();
    listed_a.sort();
    let mut want_a = vec![a_shared.clone(), a_url.clone()];
    want_a.sort();
    assert_eq!(listed_a, want_a);
    let mut listed_b = b.list_queues().send().await.unwrap().queue_urls().to_vec();
    listed_b.sort();
    let mut want_b = vec![b_shared.clone(), b_url.clone()];
    want_b.sort();
    assert_eq!(listed_b, want_b);

    // Without the owner account, B does not find A's queue; with it, B finds it but may not
    // use it: A's queue has no policy granting B anything (tests/it/policies.rs has the rest).
    let f = sdk_failure(
        b.get_queue_url()
            .queue_name(&a_only)
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.err.is_queue_does_not_exist());
    for (client, name, owner) in [
        (&b, &a_only, "111111111111"),
        (&a, &b_only, "222222222222"),
        (&a, &shared, "222222222222"),
    ] {
        let f = sdk_failure(
            client
                .get_queue_url()
                .queue_name(name)
                .queue_owner_aws_account_id(owner)
                .send()
                .await
                .unwrap_err(),
        );
        assert_eq!((f.code.as_str(), f.status), ("AccessDenied", 403));
    }
    // The shared name resolves per account.
    let got = a.get_queue_url().queue_name(&shared).send().await.unwrap();
    assert_eq!(got.queue_url(), Some(a_shared.as_str()));
    let got = b.get_queue_url().queue_name(&shared).send().await.unwrap();
    assert_eq!(got.queue_url(), Some(b_shared.as_str()));

    // The two same-named queues are distinct, and ARNs carry the owner account.
    a.send_message()
        .queue_url(&a_shared)
        .message_body("for a")
        .send()
        .await
        .unwrap();
    for (client, url, count, account) in [
        (&a, &a_shared, "1", "111111111111"),
        (&b, &b_shared, "0", "222222222222"),
    ] {
        let out = client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .unwrap();
        let attrs = out.attributes().unwrap();
        assert_eq!(
            attrs[&QueueAttributeName::ApproximateNumberOfMessages],
            count
        );
        assert_eq!(
            attrs[&QueueAttributeName::QueueArn],
            format!("arn:aws:sqs:us-east-1:{account}:{shared}")
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn auth_off_accepts_unsigned_requests() {
    let s = TestServer::start_with(&["--auth", "off"]).await;
    let name = unique("off");
    let r = s
        .send(
            "POST",
            "/",
            &[FORM],
            &format!("Action=CreateQueue&QueueName={name}&Version=2012-11-05"),
            false,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let url = r.xml("QueueUrl").unwrap();
    assert_eq!(url, s.queue_url(&name));
    let r = s
        .send(
            "POST",
            "/",
            &[JSON_CT, ("x-amz-target", "AmazonSQS.SendMessage")],
            &serde_json::json!({"QueueUrl": url, "MessageBody": "unsigned"}).to_string(),
            false,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["MessageId"].is_string(), "{}", r.body);
    let r = s
        .send(
            "GET",
            &format!("/?Action=ListQueues&Version=2012-11-05&QueueNamePrefix={name}"),
            &[],
            "",
            false,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.xml_all("QueueUrl"), vec![url.clone()]);
    // Signed requests, whatever their keys, work too.
    let out = s
        .sdk_with("whoever", "whatever")
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.attributes().unwrap()[&QueueAttributeName::ApproximateNumberOfMessages],
        "1"
    );
    s.stop().await;
}

#[tokio::test]
async fn auto_mode_without_credentials_accepts_any_secret() {
    let s = TestServer::start().await;
    let name = unique("auto");
    let url = s
        .sdk_with("AKIAONE", "secret-one")
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let got = s
        .sdk_with("AKIATWO", "a completely different secret")
        .get_queue_url()
        .queue_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(got.queue_url(), Some(url.as_str()));
    let r = s
        .send_as(
            "POST",
            "/",
            &[FORM],
            LIST_QUEUES_FORM,
            Some(("AKIATHREE", "x")),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.xml_all("QueueUrl"), vec![url]);
    // Still rejected: a stale date (well-formedness includes the time).
    let r = send_signed_at(
        &s,
        ("AKIAONE", "x"),
        SystemTime::now() - Duration::from_secs(20 * 60),
        "POST",
        "/",
        &[FORM],
        LIST_QUEUES_FORM,
    )
    .await;
    assert_query_error(&r, 400, "RequestExpired");
    s.stop().await;
}

#[tokio::test]
async fn sender_id_is_the_callers_access_key() {
    // Strict mode with a configured credential.
    let s = strict().await;
    let sdk = s.sdk_with(AK, SK);
    let url = sdk
        .create_queue()
        .queue_name(unique("sender"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    sdk.send_message()
        .queue_url(&url)
        .message_body("who sent me")
        .send()
        .await
        .unwrap();
    let got = sdk
        .receive_message()
        .queue_url(&url)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap();
    let m = &got.messages()[0];
    let attrs = m.attributes().unwrap();
    assert_eq!(attrs[&MessageSystemAttributeName::SenderId], AK);
    assert_eq!(
        attrs[&MessageSystemAttributeName::ApproximateReceiveCount],
        "1"
    );
    s.stop().await;

    // Auto mode: whichever key signed the send; read back through Query.
    let s = TestServer::start().await;
    let name = unique("sender-auto");
    let url = s
        .sdk()
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    s.sdk_with("AKIASENDER", "x")
        .send_message()
        .queue_url(&url)
        .message_body("from AKIASENDER")
        .send()
        .await
        .unwrap();
    let r = s
        .query(&[
            ("Action", "ReceiveMessage"),
            ("QueueUrl", &url),
            ("AttributeName.1", "All"),
        ])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let names = r.xml_all("Name");
    let values = r.xml_all("Value");
    let sender = names
        .iter()
        .position(|n| n == "SenderId")
        .unwrap_or_else(|| panic!("no SenderId: {}", r.body));
    assert_eq!(values[sender], "AKIASENDER");
    s.stop().await;
}
