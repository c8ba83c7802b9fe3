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


def test_batch_output_has_both_lists(endpoint, queue):
    status, _, body = call(endpoint, "SendMessageBatch", {"QueueUrl": queue, "Entries": [
        {"Id": "a", "MessageBody": "x"}]})
    assert status == 200
    assert isinstance(body["Successful"], list) and len(body["Successful"]) == 1
    assert body.get("Failed", []) == []


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
