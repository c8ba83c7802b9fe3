"""Hand-built, SigV4-signed AWS JSON 1.0 requests: the response shapes of §1.5."""
import json
import urllib.error
import urllib.request

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import compat_util as cu


def call(endpoint, target, payload, path="/"):
    body = json.dumps(payload).encode()
    req = AWSRequest(method="POST", url=endpoint + path, data=body, headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"AmazonSQS.{target}",
        "x-amzn-query-mode": "true"})
    SigV4Auth(Credentials("test", "test"), "sqs", cu.REGION).add_auth(req)
    p = req.prepare()
    r = urllib.request.Request(p.url, data=p.body, method="POST", headers=dict(p.headers))
    try:
        with urllib.request.urlopen(r, timeout=30) as resp:
            status, headers, raw = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        status, headers, raw = e.code, e.headers, e.read()
    return status, {k.lower(): v for k, v in headers.items()}, json.loads(raw) if raw else None


def test_error_shape(endpoint):
    status, headers, body = call(endpoint, "GetQueueUrl", {"QueueName": cu.unique_name("wire-missing")})
    assert status == 400
    assert headers["content-type"].startswith("application/x-amz-json-1.0")
    assert headers["x-amzn-query-error"] == "AWS.SimpleQueueService.NonExistentQueue;Sender"
    assert headers.get("x-amzn-requestid")
    assert body["__type"].split("#")[-1] == "QueueDoesNotExist", body
    assert body.get("message") or body.get("Message"), body


def test_unmodelled_error_shape(endpoint, queue):
    status, headers, body = call(endpoint, "ReceiveMessage", {"QueueUrl": queue, "MaxNumberOfMessages": 11})
    assert status == 400
    assert headers["x-amzn-query-error"] == "InvalidParameterValue;Sender"
    assert body["__type"].split("#")[-1] == "InvalidParameterValueException", body


def test_empty_receive_is_empty_object(endpoint, queue):
    status, headers, body = call(endpoint, "ReceiveMessage", {"QueueUrl": queue})
    assert status == 200
    assert headers["content-type"].startswith("application/x-amz-json-1.0")
    assert body.get("Messages", []) == []


def test_output_less_operation_returns_empty_object(endpoint, queue):
    status, _, body = call(endpoint, "SetQueueAttributes", {"QueueUrl": queue, "Attributes": {"DelaySeconds": "1"}})
    assert status == 200
    assert body == {}


def _received_handles(sqs, queue, n):
    for i in range(n):
        sqs.send_message(QueueUrl=queue, MessageBody=f"m{i}")
    handles = []
    for _ in range(10):
        if len(handles) >= n:
            break
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=60)
        handles += [m["ReceiptHandle"] for m in got.get("Messages", [])]
    assert len(handles) == n
    return handles


def test_batch_outputs_leave_out_an_empty_failed(sqs, make_queue):
    """AWS omits an empty Failed (§1.5, recorded); boto3 then has no Failed key."""
    queue = make_queue("wire-batch-ok")
    resp = sqs.send_message_batch(QueueUrl=queue, Entries=[
        {"Id": "a", "MessageBody": "x"}, {"Id": "b", "MessageBody": "y"}])
    assert "Failed" not in resp, resp
    assert sorted(e["Id"] for e in resp["Successful"]) == ["a", "b"]

    other = make_queue("wire-batch-handles")
    h = _received_handles(sqs, other, 2)
    resp = sqs.change_message_visibility_batch(QueueUrl=other, Entries=[
        {"Id": "v1", "ReceiptHandle": h[0], "VisibilityTimeout": 60},
        {"Id": "v2", "ReceiptHandle": h[1], "VisibilityTimeout": 60}])
    assert "Failed" not in resp, resp
    assert sorted(e["Id"] for e in resp["Successful"]) == ["v1", "v2"]

    resp = sqs.delete_message_batch(QueueUrl=other, Entries=[
        {"Id": "d1", "ReceiptHandle": h[0]}, {"Id": "d2", "ReceiptHandle": h[1]}])
    assert "Failed" not in resp, resp
    assert sorted(e["Id"] for e in resp["Successful"]) == ["d1", "d2"]


def test_batch_outputs_leave_out_an_empty_successful(sqs, queue):
    resp = sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": "bad", "MessageBody": "bad\u0000"}])
    assert "Successful" not in resp, resp
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in resp["Failed"]] == [
        ("bad", "InvalidMessageContents", True)]
    resp = sqs.change_message_visibility_batch(QueueUrl=queue, Entries=[
        {"Id": "v", "ReceiptHandle": "garbage", "VisibilityTimeout": 0}])
    assert "Successful" not in resp, resp
    assert [f["Code"] for f in resp["Failed"]] == ["ReceiptHandleIsInvalid"]
    resp = sqs.delete_message_batch(QueueUrl=queue, Entries=[{"Id": "d", "ReceiptHandle": "garbage"}])
    assert "Successful" not in resp, resp
    assert [f["Code"] for f in resp["Failed"]] == ["ReceiptHandleIsInvalid"]


def test_batch_raw_bodies_have_no_empty_lists(endpoint, sqs, make_queue):
    queue = make_queue("wire-batch-raw")
    status, _, body = call(endpoint, "SendMessageBatch", {"QueueUrl": queue, "Entries": [
        {"Id": "a", "MessageBody": "x"}]})
    assert status == 200
    assert set(body) == {"Successful"}, body
    assert [e["Id"] for e in body["Successful"]] == ["a"]
    status, _, body = call(endpoint, "SendMessageBatch", {"QueueUrl": queue, "Entries": [
        {"Id": "b", "MessageBody": "bad\u0000"}]})
    assert status == 200
    assert set(body) == {"Failed"}, body

    other = make_queue("wire-batch-raw-v")
    [handle] = _received_handles(sqs, other, 1)
    for target, entry in (("ChangeMessageVisibilityBatch", {"VisibilityTimeout": 60}),
                          ("DeleteMessageBatch", {})):
        status, _, body = call(endpoint, target, {"QueueUrl": other, "Entries": [
            {"Id": "ok", "ReceiptHandle": handle, **entry}]})
        assert status == 200
        assert body == {"Successful": [{"Id": "ok"}]}, body
        status, _, body = call(endpoint, target, {"QueueUrl": other, "Entries": [
            {"Id": "no", "ReceiptHandle": "garbage", **entry}]})
        assert status == 200
        assert set(body) == {"Failed"}, body
        assert body["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"


def test_attribute_values_are_strings_and_longs_are_numbers(endpoint, queue):
    _, _, body = call(endpoint, "GetQueueAttributes", {"QueueUrl": queue, "AttributeNames": ["All"]})
    assert all(isinstance(v, str) for v in body["Attributes"].values()), body


def test_json_on_queue_path(endpoint, queue):
    from urllib.parse import urlparse
    status, _, body = call(endpoint, "SendMessage", {"QueueUrl": queue, "MessageBody": "on-path"},
                           path=urlparse(queue).path)
    assert status == 200, body
    assert body["MD5OfMessageBody"] == cu.md5_hex("on-path")


def test_create_queue_tags_member_is_lowercase(endpoint, sqs):
    name = cu.unique_name("wire-tags")
    status, _, body = call(endpoint, "CreateQueue", {"QueueName": name, "tags": {"k": "v"}})
    assert status == 200, body
    try:
        assert sqs.list_queue_tags(QueueUrl=body["QueueUrl"])["Tags"] == {"k": "v"}
    finally:
        sqs.delete_queue(QueueUrl=body["QueueUrl"])
