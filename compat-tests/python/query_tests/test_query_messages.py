"""Messaging through Query-protocol botocore 1.34.89 (form POST, XML replies)."""
import threading
import time

import pytest
from botocore.exceptions import ClientError

import compat_util as cu
from conftest import assert_error, make_client


def counts(sqs, url):
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return (int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"]),
            int(a["ApproximateNumberOfMessagesDelayed"]))


def receive_all(sqs, url, n, timeout=10, **kw):
    got, deadline = [], time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        got += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, **kw).get("Messages", [])
    return got


def test_send_receive_delete(sqs, queue):
    sent = sqs.send_message(QueueUrl=queue, MessageBody="hello")
    assert sent["MD5OfMessageBody"] == "5d41402abc4b2a76b9719d911017c592"
    [m] = sqs.receive_message(QueueUrl=queue)["Messages"]
    assert (m["MessageId"], m["Body"], m["MD5OfBody"]) == (sent["MessageId"], "hello", sent["MD5OfMessageBody"])
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    assert counts(sqs, queue) == (0, 0, 0)
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []


@pytest.mark.parametrize("body", ["<tag attr=\"v\">&amp; ' </tag>", "]]>", "unicode ✓ 日本 🎉",
                                  "line\nbreak\r\ncrlf\ttab", "  leading and trailing  "])
def test_xml_escaping_round_trip(sqs, queue, body):
    sent = sqs.send_message(QueueUrl=queue, MessageBody=body)
    assert sent["MD5OfMessageBody"] == cu.md5_hex(body)
    [m] = sqs.receive_message(QueueUrl=queue)["Messages"]
    assert m["Body"] == body
    assert m["MD5OfBody"] == cu.md5_hex(body)


@pytest.mark.parametrize("vid,attrs,md5", cu.MD5_VECTORS, ids=[v[0] for v in cu.MD5_VECTORS])
def test_message_attribute_md5(sqs, queue, vid, attrs, md5):
    sent = sqs.send_message(QueueUrl=queue, MessageBody="b", MessageAttributes=attrs)
    assert sent["MD5OfMessageAttributes"] == md5
    [m] = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"]
    assert m["MD5OfMessageAttributes"] == md5
    assert m["MessageAttributes"] == attrs


def test_attribute_filtering(sqs, queue):
    attrs = {"Hello": {"DataType": "String", "StringValue": "There"},
             "General": {"DataType": "String", "StringValue": "Kenobi"},
             "Help.Me": {"DataType": "String", "StringValue": "Me"}}
    sqs.send_message(QueueUrl=queue, MessageBody="f", MessageAttributes=attrs)
    [m] = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["Hel.*"], VisibilityTimeout=0)["Messages"]
    assert set(m["MessageAttributes"]) == {"Hello", "Help.Me"}
    assert m["MD5OfMessageAttributes"] == "83fee93c1bcd8b9a5a923ffacdc636c7"
    [m] = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0)["Messages"]
    assert "MessageAttributes" not in m and "MD5OfMessageAttributes" not in m


def test_system_attributes(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="s")
    [m] = sqs.receive_message(QueueUrl=queue, AttributeNames=["All"], VisibilityTimeout=0)["Messages"]
    assert {"SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"} <= set(m["Attributes"])
    assert m["Attributes"]["ApproximateReceiveCount"] == "1"
    assert abs(int(m["Attributes"]["SentTimestamp"]) - time.time() * 1000) < 120_000
    [m] = sqs.receive_message(QueueUrl=queue, AttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert m["Attributes"] == {"ApproximateReceiveCount": "2"}


def test_send_batch_with_partial_failure(sqs, queue):
    resp = sqs.send_message_batch(QueueUrl=queue, Entries=[
        {"Id": "ok1", "MessageBody": "one"},
        {"Id": "ok2", "MessageBody": "two", "MessageAttributes": {
            "MyAttribute": {"DataType": "String", "StringValue": "foobar"}}},
        {"Id": "bad", "MessageBody": "\x00"},
    ])
    ok = {e["Id"]: e for e in resp["Successful"]}
    assert set(ok) == {"ok1", "ok2"}
    assert ok["ok1"]["MD5OfMessageBody"] == cu.md5_hex("one")
    assert ok["ok2"]["MD5OfMessageAttributes"] == "adb59cd4678ea5a855436b949cd07ab6"
    [f] = resp["Failed"]
    assert (f["Id"], f["Code"], f["SenderFault"]) == ("bad", "InvalidMessageContents", True)


@pytest.mark.parametrize("op", ["send_message_batch", "delete_message_batch", "change_message_visibility_batch"])
def test_batch_request_errors(sqs, queue, op):
    def entry(i):
        if op == "send_message_batch":
            return {"Id": i, "MessageBody": "x"}
        if op == "delete_message_batch":
            return {"Id": i, "ReceiptHandle": "h"}
        return {"Id": i, "ReceiptHandle": "h", "VisibilityTimeout": 1}
    call = getattr(sqs, op)
    cases = [
        ([], "AWS.SimpleQueueService.EmptyBatchRequest"),
        ([entry(f"e{i}") for i in range(11)], "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"),
        ([entry("dup"), entry("dup")], "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"),
        ([entry("not:valid")], "AWS.SimpleQueueService.InvalidBatchEntryId"),
    ]
    for entries, code in cases:
        with pytest.raises(ClientError) as ei:
            call(QueueUrl=queue, Entries=entries)
        assert_error(ei, code, 400)


def test_batch_delete_and_change_visibility(sqs, queue):
    sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": f"i{i}", "MessageBody": f"b{i}"} for i in range(3)])
    got = receive_all(sqs, queue, 3, VisibilityTimeout=60)
    assert len(got) == 3
    resp = sqs.change_message_visibility_batch(QueueUrl=queue, Entries=[
        {"Id": "c0", "ReceiptHandle": got[0]["ReceiptHandle"], "VisibilityTimeout": 0},
        {"Id": "cx", "ReceiptHandle": "garbage", "VisibilityTimeout": 0}])
    assert [e["Id"] for e in resp["Successful"]] == ["c0"]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in resp["Failed"]] == [("cx", "ReceiptHandleIsInvalid", True)]
    resp = sqs.delete_message_batch(QueueUrl=queue, Entries=[
        {"Id": "d1", "ReceiptHandle": got[1]["ReceiptHandle"]},
        {"Id": "d2", "ReceiptHandle": got[2]["ReceiptHandle"]},
        {"Id": "dx", "ReceiptHandle": "garbage"}])
    assert sorted(e["Id"] for e in resp["Successful"]) == ["d1", "d2"]
    assert [(f["Id"], f["Code"]) for f in resp["Failed"]] == [("dx", "ReceiptHandleIsInvalid")]
    [m] = sqs.receive_message(QueueUrl=queue)["Messages"]
    assert m["Body"] == got[0]["Body"]


def test_invalid_receipt_handle(sqs, queue):
    with pytest.raises(ClientError) as ei:
        sqs.delete_message(QueueUrl=queue, ReceiptHandle="garbage")
    assert_error(ei, "ReceiptHandleIsInvalid")
    with pytest.raises(ClientError) as ei:
        sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle="garbage", VisibilityTimeout=5)
    assert_error(ei, "ReceiptHandleIsInvalid")


def test_parameter_errors(sqs, queue):
    for kw in ({"MaxNumberOfMessages": 11}, {"WaitTimeSeconds": 21}):
        with pytest.raises(ClientError) as ei:
            sqs.receive_message(QueueUrl=queue, **kw)
        assert_error(ei, "InvalidParameterValue", 400)
    with pytest.raises(ClientError) as ei:
        sqs.send_message(QueueUrl=queue, MessageBody="x" * 1048577)
    assert_error(ei, "InvalidParameterValue", 400)
    with pytest.raises(ClientError) as ei:
        sqs.send_message(QueueUrl=queue, MessageBody="x", DelaySeconds=901)
    assert_error(ei, "InvalidParameterValue", 400)
    with pytest.raises(ClientError) as ei:
        sqs.send_message(QueueUrl=queue, MessageBody="bad\x0bchar")
    assert_error(ei, "InvalidMessageContents", 400)
    with pytest.raises(ClientError) as ei:
        sqs.send_message(QueueUrl=queue, MessageBody="")
    assert_error(ei, "MissingParameter", 400)
    with pytest.raises(ClientError) as ei:
        sqs.send_message(QueueUrl=queue, MessageBody="x", MessageAttributes={
            "e": {"DataType": "String", "StringValue": ""}})
    assert_error(ei, "InvalidParameterValue", 400)


def test_visibility_and_delay(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="d", DelaySeconds=2)
    assert counts(sqs, queue) == (0, 0, 1)
    t0 = time.monotonic()
    [m] = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=6, VisibilityTimeout=0)["Messages"]
    assert 1.0 <= time.monotonic() - t0 <= 5.5
    [m] = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=30)["Messages"]
    assert counts(sqs, queue) == (0, 1, 0)
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    assert len(sqs.receive_message(QueueUrl=queue)["Messages"]) == 1


def test_long_polling(sqs, queue, endpoint):
    t0 = time.monotonic()
    assert sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2).get("Messages", []) == []
    assert 1.7 <= time.monotonic() - t0 <= 5.0
    sender = make_client(endpoint)
    timer = threading.Timer(1.0, lambda: sender.send_message(QueueUrl=queue, MessageBody="wake"))
    t0 = time.monotonic()
    timer.start()
    try:
        msgs = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=15).get("Messages", [])
    finally:
        timer.join()
    assert [m["Body"] for m in msgs] == ["wake"]
    assert time.monotonic() - t0 <= 6.0


def test_purge(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="p1")
    sqs.send_message(QueueUrl=queue, MessageBody="p2")
    sqs.purge_queue(QueueUrl=queue)
    assert cu.wait_until(lambda: counts(sqs, queue) == (0, 0, 0), timeout=5)
    with pytest.raises(sqs.exceptions.PurgeQueueInProgress) as ei:
        sqs.purge_queue(QueueUrl=queue)
    assert_error(ei, "AWS.SimpleQueueService.PurgeQueueInProgress", 403)
