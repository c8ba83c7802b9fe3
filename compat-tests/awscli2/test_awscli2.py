"""AWS CLI v2 (Debian's awscli 2.9.19, AWS Query protocol) against cauda: `aws sqs ...`."""
import base64
import http.server
import json
import threading
import urllib.parse

import pytest

from cli2 import AWS_BIN, md5_hex, md5_of_attributes, queue_arn, run_aws, unique_name, ACCOUNT

NS = 'xmlns="http://queue.amazonaws.com/doc/2012-11-05/"'
META = "<ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata>"
STUB_REPLIES = {
    "ListQueues": f"<ListQueuesResponse {NS}><ListQueuesResult><QueueUrl>http://127.0.0.1:1/000000000000/a</QueueUrl>"
                  f"</ListQueuesResult>{META}</ListQueuesResponse>",
    "SendMessage": f"<SendMessageResponse {NS}><SendMessageResult><MessageId>m-1</MessageId>"
                   f"<MD5OfMessageBody>5d41402abc4b2a76b9719d911017c592</MD5OfMessageBody></SendMessageResult>{META}"
                   f"</SendMessageResponse>",
}


@pytest.fixture
def stub():
    """A loopback stub (not cauda) that records requests and answers in Query XML."""
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            form = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
            seen.append({"method": "POST", "path": self.path, "headers": dict(self.headers), "form": form})
            reply = STUB_REPLIES.get(form.get("Action"))
            self.send_response(200 if reply else 400)
            self.send_header("Content-Type", "text/xml")
            data = (reply or f"<ErrorResponse {NS}><Error><Type>Sender</Type><Code>InvalidAction</Code>"
                             f"<Message>stub</Message></Error><RequestId>r</RequestId></ErrorResponse>").encode()
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", seen
    srv.shutdown()
    srv.server_close()


def test_is_cli_v2_by_absolute_path():
    assert AWS_BIN.startswith("/")
    rc, out, err = run_aws("--version")
    assert rc == 0
    assert (out + err).startswith("aws-cli/2."), out + err


def test_wire_is_query_protocol(sqs, stub):
    url, seen = stub
    _, out, _ = sqs("list-queues", "--queue-name-prefix", "pre", endpoint_url=url)
    assert out["QueueUrls"] == ["http://127.0.0.1:1/000000000000/a"]
    r = seen[-1]
    assert (r["method"], r["path"]) == ("POST", "/")
    assert r["headers"]["Content-Type"].startswith("application/x-www-form-urlencoded"), r["headers"]
    assert r["form"] == {"Action": "ListQueues", "Version": "2012-11-05", "QueueNamePrefix": "pre"}
    assert r["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/us-east-1/sqs/aws4_request" in r["headers"]["Authorization"]
    assert r["headers"]["User-Agent"].startswith("aws-cli/2."), r["headers"]["User-Agent"]
    # A QueueUrl on a dead port: the CLI still posts to --endpoint-url, QueueUrl in the form.
    queue_url = "http://127.0.0.1:1/000000000000/elsewhere"
    _, out, _ = sqs("send-message", "--queue-url", queue_url, "--message-body", "hello", endpoint_url=url)
    assert out["MessageId"] == "m-1"
    r = seen[-1]
    assert r["path"] == "/"
    assert r["form"] == {"Action": "SendMessage", "Version": "2012-11-05", "QueueUrl": queue_url,
                         "MessageBody": "hello"}


def test_debug_shows_query_request_and_xml_reply(sqs, endpoint, queues):
    name, url = queues.create("cli2-debug")
    rc, out, err = run_aws("--debug", "sqs", "get-queue-url", "--queue-name", name, "--endpoint-url", endpoint,
                           "--output", "json")
    assert rc == 0, err
    assert json.loads(out) == {"QueueUrl": url}
    assert f"'body': {{'Action': 'GetQueueUrl', 'Version': '2012-11-05', 'QueueName': '{name}'}}" in err
    assert "'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8'" in err
    assert "Response headers: {'content-type': 'text/xml'" in err
    assert "<GetQueueUrlResponse" in err


def test_queue_management(sqs, endpoint, queues):
    name, url = queues.create("cli2-life", "--attributes",
                              "VisibilityTimeout=45,DelaySeconds=0,MaximumMessageSize=2048",
                              "--tags", "team=core,env=dev")
    assert url == f"{endpoint}/{ACCOUNT}/{name}"
    _, out, _ = sqs("get-queue-url", "--queue-name", name)
    assert out == {"QueueUrl": url}
    _, other = queues.create("", name=f"{name}-b")
    _, out, _ = sqs("list-queues", "--queue-name-prefix", name)
    assert sorted(out["QueueUrls"]) == [url, other]
    _, out, _ = sqs("list-queues", "--queue-name-prefix", f"{name}-b")
    assert out["QueueUrls"] == [other]

    _, out, _ = sqs("get-queue-attributes", "--queue-url", url, "--attribute-names", "All")
    a = out["Attributes"]
    assert (a["VisibilityTimeout"], a["DelaySeconds"], a["MaximumMessageSize"]) == ("45", "0", "2048")
    assert a["MessageRetentionPeriod"] == "345600"
    assert a["QueueArn"] == queue_arn(name)
    assert a["ApproximateNumberOfMessages"] == "0"
    assert "FifoQueue" not in a
    sqs("set-queue-attributes", "--queue-url", url, "--attributes", "VisibilityTimeout=60,DelaySeconds=2")
    _, out, _ = sqs("get-queue-attributes", "--queue-url", url, "--attribute-names", "VisibilityTimeout",
                    "DelaySeconds")
    assert out["Attributes"] == {"VisibilityTimeout": "60", "DelaySeconds": "2"}
    rc, _, err = sqs("set-queue-attributes", "--queue-url", url, "--attributes", "VisibilityTimeout=99999",
                     check=False)
    assert rc == 254 and "(InvalidAttributeValue)" in err, (rc, err)

    _, out, _ = sqs("list-queue-tags", "--queue-url", url)
    assert out["Tags"] == {"team": "core", "env": "dev"}
    sqs("tag-queue", "--queue-url", url, "--tags", "owner=cli2,env=prod")
    sqs("untag-queue", "--queue-url", url, "--tag-keys", "team")
    _, out, _ = sqs("list-queue-tags", "--queue-url", url)
    assert out["Tags"] == {"owner": "cli2", "env": "prod"}

    rc, out, _ = sqs("delete-queue", "--queue-url", url)
    assert rc == 0 and out is None
    _, out, _ = sqs("list-queues", "--queue-name-prefix", name)
    assert out["QueueUrls"] == [other]


def test_missing_queue_error(sqs):
    name = unique_name("cli2-missing")
    rc, out, err = sqs("get-queue-url", "--queue-name", name, check=False)
    # CLI v2: 254 = the service returned an error.
    assert rc == 254, (rc, err)
    assert out is None
    assert "An error occurred (AWS.SimpleQueueService.NonExistentQueue) when calling the GetQueueUrl operation" in err
    assert err.rstrip().endswith("The specified queue does not exist for this wsdl version."), err


def test_send_receive_delete_with_attributes(sqs, queues):
    _, url = queues.create("cli2-msg")
    body = "hello ✓ 日本 🎉 <&>"
    attrs = {"a": {"DataType": "String", "StringValue": "hello"},
             "b": {"DataType": "Binary", "BinaryValue": base64.b64encode(b"\x00\x01\x02").decode()},
             "n": {"DataType": "Number.int", "StringValue": "42"}}
    want = "8ede164999645b25afbafe8fd5817b1c"  # SQS-REFERENCE §5.3 vector
    assert md5_of_attributes(attrs) == want
    _, sent, _ = sqs("send-message", "--queue-url", url, "--message-body", body,
                     "--message-attributes", json.dumps(attrs))
    assert sent["MD5OfMessageBody"] == md5_hex(body)
    assert sent["MD5OfMessageAttributes"] == want
    assert "SequenceNumber" not in sent
    num = {"timestamp": {"DataType": "Number", "StringValue": "1493147359900"}}
    _, sent2, _ = sqs("send-message", "--queue-url", url, "--message-body", "second",
                      "--message-attributes", json.dumps(num))
    assert sent2["MD5OfMessageAttributes"] == "235c5c510d26fb653d073faed50ae77c"

    got = {}
    for _ in range(5):
        _, out, _ = sqs("receive-message", "--queue-url", url, "--max-number-of-messages", "10",
                        "--wait-time-seconds", "1", "--attribute-names", "All", "--message-attribute-names", "All")
        got.update({m["MessageId"]: m for m in (out or {}).get("Messages", [])})
        if len(got) >= 2:
            break
    assert set(got) == {sent["MessageId"], sent2["MessageId"]}
    m, m2 = got[sent["MessageId"]], got[sent2["MessageId"]]
    assert m["Body"] == body
    assert m["MD5OfBody"] == md5_hex(body)
    assert m["MessageAttributes"] == attrs
    assert m["MD5OfMessageAttributes"] == want == md5_of_attributes(m["MessageAttributes"])
    assert m["Attributes"]["ApproximateReceiveCount"] == "1"
    assert m["Attributes"]["SentTimestamp"].isdigit() and len(m["Attributes"]["SentTimestamp"]) == 13
    assert m2["Body"] == "second" and m2["MessageAttributes"] == num
    assert m2["MD5OfMessageAttributes"] == "235c5c510d26fb653d073faed50ae77c"

    for h in (m["ReceiptHandle"], m2["ReceiptHandle"]):
        rc, out, _ = sqs("delete-message", "--queue-url", url, "--receipt-handle", h)
        assert rc == 0 and out is None
    _, out, _ = sqs("get-queue-attributes", "--queue-url", url, "--attribute-names", "All")
    assert out["Attributes"]["ApproximateNumberOfMessages"] == "0"
    assert out["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0"
    rc, _, err = sqs("delete-message", "--queue-url", url, "--receipt-handle", "garbage", check=False)
    assert rc == 254 and "(ReceiptHandleIsInvalid)" in err, (rc, err)


def test_fifo_group_order(sqs, queues):
    name = unique_name("cli2-fifo", fifo=True)
    _, url = queues.create("", "--attributes", "FifoQueue=true", name=name)
    bodies, seqs = [], []
    for i in range(4):
        bodies.append(f"fifo-{i}")
        _, sent, _ = sqs("send-message", "--queue-url", url, "--message-body", bodies[-1],
                         "--message-group-id", "g1", "--message-deduplication-id", f"d{i}")
        assert sent["SequenceNumber"].isdigit()
        if seqs:
            assert int(sent["SequenceNumber"]) > int(seqs[-1])
        seqs.append(sent["SequenceNumber"])
    rc, _, err = sqs("send-message", "--queue-url", url, "--message-body", "nogroup",
                     "--message-deduplication-id", "x", check=False)
    assert rc == 254 and "(MissingParameter)" in err, (rc, err)
    got = []
    for _ in range(5):
        _, out, _ = sqs("receive-message", "--queue-url", url, "--max-number-of-messages", "10",
                        "--visibility-timeout", "60", "--wait-time-seconds", "1", "--attribute-names", "All")
        got += (out or {}).get("Messages", [])
        if len(got) >= 4:
            break
    assert [m["Body"] for m in got] == bodies
    assert [m["Attributes"]["SequenceNumber"] for m in got] == seqs
    assert {m["Attributes"]["MessageGroupId"] for m in got} == {"g1"}
    _, out, _ = sqs("delete-message-batch", "--queue-url", url, "--entries", json.dumps(
        [{"Id": f"e{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]))
    assert sorted(e["Id"] for e in out["Successful"]) == ["e0", "e1", "e2", "e3"]
    assert out.get("Failed", []) == []


def test_send_message_batch_partial_failure(sqs, queues):
    _, url = queues.create("cli2-batch", "--attributes", "MaximumMessageSize=1024")
    attrs = {"k": {"DataType": "String", "StringValue": "v"}}
    rc, out, err = sqs("send-message-batch", "--queue-url", url, "--entries", json.dumps([
        {"Id": "ok1", "MessageBody": "first"},
        {"Id": "toobig", "MessageBody": "x" * 2000},
        {"Id": "ok2", "MessageBody": "second", "MessageAttributes": attrs},
    ]), check=False)
    # The call itself succeeded (HTTP 200); the CLI exits 0 and prints both lists.
    assert rc == 0, err
    ok = {e["Id"]: e for e in out["Successful"]}
    assert sorted(ok) == ["ok1", "ok2"]
    assert ok["ok1"]["MD5OfMessageBody"] == md5_hex("first")
    assert "MD5OfMessageAttributes" not in ok["ok1"]
    assert ok["ok2"]["MD5OfMessageAttributes"] == md5_of_attributes(attrs)
    [f] = out["Failed"]
    assert f["Id"] == "toobig"
    assert f["Code"] == "InvalidParameterValue"
    assert f["SenderFault"] is True
    assert "1024" in f["Message"]
    bodies = []
    for _ in range(5):
        _, out, _ = sqs("receive-message", "--queue-url", url, "--max-number-of-messages", "10",
                        "--wait-time-seconds", "1")
        bodies += [m["Body"] for m in (out or {}).get("Messages", [])]
        if len(bodies) >= 2:
            break
    assert sorted(bodies) == ["first", "second"]
