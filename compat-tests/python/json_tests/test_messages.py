"""Messaging through current boto3 (AWS JSON 1.0 protocol)."""
import re
import threading
import time

import pytest
from botocore.exceptions import ClientError

import compat_util as cu
from conftest import assert_error


def counts(sqs, url):
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed"])["Attributes"]
    return (int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"]),
            int(a["ApproximateNumberOfMessagesDelayed"]))


def receive_all(sqs, url, expected, timeout=10, **kw):
    """Receive until `expected` messages were collected (or timeout)."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < expected and time.monotonic() < deadline:
        got += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                   **kw).get("Messages", [])
    return got


def test_send_receive_delete(sqs, queue):
    sent = sqs.send_message(QueueUrl=queue, MessageBody="hello")
    assert sent["MD5OfMessageBody"] == "5d41402abc4b2a76b9719d911017c592"
    assert re.match(cu.UUID_RE, sent["MessageId"])
    assert "MD5OfMessageAttributes" not in sent
    assert "SequenceNumber" not in sent
    assert counts(sqs, queue) == (1, 0, 0)

    msgs = sqs.receive_message(QueueUrl=queue)["Messages"]
    assert len(msgs) == 1
    m = msgs[0]
    assert m["MessageId"] == sent["MessageId"]
    assert m["Body"] == "hello"
    assert m["MD5OfBody"] == "5d41402abc4b2a76b9719d911017c592"
    assert m["ReceiptHandle"]
    assert "Attributes" not in m
    assert "MessageAttributes" not in m
    assert "MD5OfMessageAttributes" not in m
    assert counts(sqs, queue) == (0, 1, 0)

    sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    assert counts(sqs, queue) == (0, 0, 0)
    resp = sqs.receive_message(QueueUrl=queue)
    assert "Messages" not in resp or resp["Messages"] == []


def test_empty_receive_has_no_messages_member(sqs, queue):
    resp = sqs.receive_message(QueueUrl=queue)
    assert resp.get("Messages", []) == []


@pytest.mark.parametrize("body", ["msg", "message", "test", "héllo wörld ✓", "日本語テキスト",
                                  "emoji 🎉🚀", "tab\tnew\nline\rcr", "<xml>&amp;\"'</xml>",
                                  "\ue000\ufffd\U0010ffff", "x" * 10000])
def test_body_md5_and_round_trip(sqs, queue, body):
    sent = sqs.send_message(QueueUrl=queue, MessageBody=body)
    assert sent["MD5OfMessageBody"] == cu.md5_hex(body)
    [m] = sqs.receive_message(QueueUrl=queue)["Messages"]
    assert m["Body"] == body
    assert m["MD5OfBody"] == cu.md5_hex(body)


@pytest.mark.parametrize("vid,attrs,md5", cu.MD5_VECTORS, ids=[v[0] for v in cu.MD5_VECTORS])
def test_message_attribute_md5_vectors(sqs, queue, vid, attrs, md5):
    sent = sqs.send_message(QueueUrl=queue, MessageBody="body", MessageAttributes=attrs)
    assert sent["MD5OfMessageAttributes"] == md5
    [m] = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"]
    assert m["MD5OfMessageAttributes"] == md5
    assert m["MessageAttributes"] == attrs  # String, Number, Binary (bytes) round-trip


def test_message_attribute_name_filtering(sqs, queue):
    attrs = {"Hello": {"DataType": "String", "StringValue": "There"},
             "General": {"DataType": "String", "StringValue": "Kenobi"},
             "Help.Me": {"DataType": "String", "StringValue": "Me"}}
    sent = sqs.send_message(QueueUrl=queue, MessageBody="filter", MessageAttributes=attrs)
    assert sent["MD5OfMessageAttributes"] == "4c360f3fdafd970e05fae2f149d997f5"

    def recv(names):
        kw = {"MessageAttributeNames": names} if names is not None else {}
        [m] = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0, **kw)["Messages"]
        return m

    for names in (["All"], ["*"], [".*"]):
        m = recv(names)
        assert m["MessageAttributes"] == attrs, names
        assert m["MD5OfMessageAttributes"] == "4c360f3fdafd970e05fae2f149d997f5"
    m = recv(["Hel.*"])
    assert set(m["MessageAttributes"]) == {"Hello", "Help.Me"}
    assert m["MD5OfMessageAttributes"] == "83fee93c1bcd8b9a5a923ffacdc636c7"
    m = recv(["Hello"])
    assert m["MessageAttributes"] == {"Hello": attrs["Hello"]}
    assert m["MD5OfMessageAttributes"] == "a311262e065454b75da111d535b8dacd"
    m = recv(["Hello", "General", "NoSuch"])
    assert set(m["MessageAttributes"]) == {"Hello", "General"}
    assert m["MD5OfMessageAttributes"] == "fca026605781cb4126a1e9044df24232"
    for names in (None, ["NoSuch"]):
        m = recv(names)
        assert "MessageAttributes" not in m, names
        assert "MD5OfMessageAttributes" not in m, names


def test_number_and_custom_types_round_trip(sqs, queue):
    attrs = {"price": {"DataType": "Number.float", "StringValue": "12.5"},
             "big": {"DataType": "Number", "StringValue": "1614717034367"},
             "img": {"DataType": "Binary.png", "BinaryValue": bytes(range(256))},
             "s": {"DataType": "String.utf8", "StringValue": "ünï"}}
    sent = sqs.send_message(QueueUrl=queue, MessageBody="typed", MessageAttributes=attrs)
    assert sent["MD5OfMessageAttributes"] == cu.md5_of_message_attributes(attrs)
    [m] = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"]
    assert m["MessageAttributes"] == attrs
    assert m["MD5OfMessageAttributes"] == cu.md5_of_message_attributes(attrs)


@pytest.mark.parametrize("attrs", [
    {"empty": {"DataType": "String", "StringValue": ""}},
    {"AWS.reserved": {"DataType": "String", "StringValue": "x"}},
    {"amazon.reserved": {"DataType": "String", "StringValue": "x"}},
    {".leading": {"DataType": "String", "StringValue": "x"}},
    {"trailing.": {"DataType": "String", "StringValue": "x"}},
    {"bad name": {"DataType": "String", "StringValue": "x"}},
    {"n" * 257: {"DataType": "String", "StringValue": "x"}},
    {"t": {"DataType": "Text", "StringValue": "x"}},
    {"c": {"DataType": "String", "StringValue": "bad\x00char"}},
    {f"a{i}": {"DataType": "String", "StringValue": "x"} for i in range(11)},
], ids=["empty-value", "aws-prefix", "amazon-prefix", "leading-dot", "trailing-dot", "space",
        "name-too-long", "bad-datatype", "bad-chars", "eleven-attributes"])
def test_invalid_message_attributes(sqs, queue, attrs):
    with pytest.raises(ClientError) as ei:
        sqs.send_message(QueueUrl=queue, MessageBody="x", MessageAttributes=attrs)
    assert ei.value.response["Error"]["Code"].startswith("Invalid"), ei.value.response
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_system_attributes_on_receive(sqs, queue):
    before = int(time.time() * 1000)
    sqs.send_message(QueueUrl=queue, MessageBody="sys")
    [m] = sqs.receive_message(QueueUrl=queue, MessageSystemAttributeNames=["All"], VisibilityTimeout=0)["Messages"]
    a = m["Attributes"]
    assert {"SenderId", "SentTimestamp", "ApproximateReceiveCount",
            "ApproximateFirstReceiveTimestamp"} <= set(a), a
    for k in ("SequenceNumber", "MessageGroupId", "MessageDeduplicationId", "DeadLetterQueueSourceArn"):
        assert k not in a
    assert a["ApproximateReceiveCount"] == "1"
    sent_ts = int(a["SentTimestamp"])  # epoch milliseconds
    assert before - 60_000 <= sent_ts <= time.time() * 1000 + 60_000
    first = int(a["ApproximateFirstReceiveTimestamp"])
    assert first >= sent_ts - 1000

    [m2] = sqs.receive_message(QueueUrl=queue, AttributeNames=["All"])["Messages"]  # deprecated member
    assert m2["Attributes"]["ApproximateReceiveCount"] == "2"
    assert m2["Attributes"]["ApproximateFirstReceiveTimestamp"] == a["ApproximateFirstReceiveTimestamp"]
    assert m2["Attributes"]["SentTimestamp"] == a["SentTimestamp"]
    assert m2["ReceiptHandle"] != m["ReceiptHandle"]  # every receive issues a new handle


def test_selected_system_attributes(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="sel")
    [m] = sqs.receive_message(QueueUrl=queue, MessageSystemAttributeNames=["SentTimestamp", "SequenceNumber"],
                              VisibilityTimeout=0)["Messages"]
    assert set(m["Attributes"]) == {"SentTimestamp"}
    [m] = sqs.receive_message(QueueUrl=queue)["Messages"]
    assert "Attributes" not in m


def test_aws_trace_header_system_attribute(sqs, queue):
    sent = sqs.send_message(QueueUrl=queue, MessageBody="traced", MessageSystemAttributes={
        "AWSTraceHeader": {"DataType": "String", "StringValue": cu.TRACE_HEADER}})
    assert sent["MD5OfMessageSystemAttributes"] == cu.TRACE_HEADER_MD5
    assert "MD5OfMessageAttributes" not in sent
    [m] = sqs.receive_message(QueueUrl=queue, MessageSystemAttributeNames=["AWSTraceHeader"])["Messages"]
    assert m["Attributes"] == {"AWSTraceHeader": cu.TRACE_HEADER}


def test_invalid_message_contents(sqs, queue):
    for body in ("bad\x08char", "nul\x00", "\ufffe", "ctl\x13"):
        with pytest.raises(ClientError) as ei:
            sqs.send_message(QueueUrl=queue, MessageBody=body)
        assert_error(ei, "InvalidMessageContents", 400)


def test_empty_body_is_missing_parameter(sqs, queue):
    with pytest.raises(ClientError) as ei:
        sqs.send_message(QueueUrl=queue, MessageBody="")
    assert_error(ei, "MissingParameter", 400)


def test_message_too_large(sqs, queue):
    with pytest.raises(ClientError) as ei:
        sqs.send_message(QueueUrl=queue, MessageBody="x" * (1048576 + 1))
    assert_error(ei, "InvalidParameterValue", 400)


def test_message_size_limit_from_queue_attribute(sqs, make_queue):
    url = make_queue("small", attributes={"MaximumMessageSize": "1024"})
    sqs.send_message(QueueUrl=url, MessageBody="y" * 1000)
    with pytest.raises(ClientError) as ei:
        sqs.send_message(QueueUrl=url, MessageBody="y" * 1025)
    assert_error(ei, "InvalidParameterValue", 400)
    # Attributes count toward the limit: 1000 body bytes + name + type + value > 1024.
    with pytest.raises(ClientError) as ei:
        sqs.send_message(QueueUrl=url, MessageBody="y" * 1000, MessageAttributes={
            "attr": {"DataType": "String", "StringValue": "z" * 100}})
    assert_error(ei, "InvalidParameterValue", 400)


def test_send_message_batch(sqs, queue):
    entries = [{"Id": f"m{i}", "MessageBody": f"batch-{i}"} for i in range(3)]
    entries[1]["MessageAttributes"] = {"Foo": {"DataType": "String", "StringValue": "Bar"}}
    resp = sqs.send_message_batch(QueueUrl=queue, Entries=entries)
    assert resp.get("Failed", []) == []
    ok = {e["Id"]: e for e in resp["Successful"]}
    assert set(ok) == {"m0", "m1", "m2"}
    for i in range(3):
        assert ok[f"m{i}"]["MD5OfMessageBody"] == cu.md5_hex(f"batch-{i}")
        assert re.match(cu.UUID_RE, ok[f"m{i}"]["MessageId"])
    assert ok["m1"]["MD5OfMessageAttributes"] == "ae7155c6026991b6d54b11589678bf9c"
    assert "MD5OfMessageAttributes" not in ok["m0"]
    got = receive_all(sqs, queue, 3, MessageAttributeNames=["All"])
    assert sorted(m["Body"] for m in got) == ["batch-0", "batch-1", "batch-2"]
    ids = {m["MessageId"] for m in got}
    assert ids == {e["MessageId"] for e in resp["Successful"]}


def test_send_message_batch_partial_failure(sqs, make_queue):
    url = make_queue("partial", attributes={"MaximumMessageSize": "1024"})
    resp = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "good", "MessageBody": "fine"},
        {"Id": "badchars", "MessageBody": "bad\x08"},
        {"Id": "toolong", "MessageBody": "z" * 2000},
        {"Id": "baddelay", "MessageBody": "d", "DelaySeconds": 901},
    ])
    assert [e["Id"] for e in resp["Successful"]] == ["good"]
    failed = {e["Id"]: e for e in resp["Failed"]}
    assert set(failed) == {"badchars", "toolong", "baddelay"}
    assert failed["badchars"]["Code"] == "InvalidMessageContents"
    assert failed["toolong"]["Code"] == "InvalidParameterValue"
    assert failed["baddelay"]["Code"] == "InvalidParameterValue"
    assert all(e["SenderFault"] is True for e in failed.values())
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200


BATCH_OPS = ["send_message_batch", "delete_message_batch", "change_message_visibility_batch"]


def _entry(op, i):
    if op == "send_message_batch":
        return {"Id": i, "MessageBody": "b"}
    if op == "delete_message_batch":
        return {"Id": i, "ReceiptHandle": "handle"}
    return {"Id": i, "ReceiptHandle": "handle", "VisibilityTimeout": 0}


@pytest.mark.parametrize("op", BATCH_OPS)
def test_batch_request_errors(sqs, queue, op):
    call = getattr(sqs, op)
    with pytest.raises(ClientError) as ei:
        call(QueueUrl=queue, Entries=[])
    assert_error(ei, "AWS.SimpleQueueService.EmptyBatchRequest", 400, query_code="EmptyBatchRequest")
    with pytest.raises(ClientError) as ei:
        call(QueueUrl=queue, Entries=[_entry(op, f"e{i}") for i in range(11)])
    assert_error(ei, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400,
                 query_code="TooManyEntriesInBatchRequest")
    with pytest.raises(ClientError) as ei:
        call(QueueUrl=queue, Entries=[_entry(op, "same"), _entry(op, "same")])
    assert_error(ei, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400,
                 query_code="BatchEntryIdsNotDistinct")
    for bad in ("bad:id", "x" * 81, "sp ace"):
        with pytest.raises(ClientError) as ei:
            call(QueueUrl=queue, Entries=[_entry(op, bad)])
        assert_error(ei, "AWS.SimpleQueueService.InvalidBatchEntryId", 400,
                     query_code="InvalidBatchEntryId")
    # Nothing was sent by the failing send batches.
    assert counts(sqs, queue) == (0, 0, 0)


def test_batch_entry_id_limits_ok(sqs, queue):
    resp = sqs.send_message_batch(QueueUrl=queue, Entries=[
        {"Id": "A-z_0-9" + "x" * 73, "MessageBody": "a"}, {"Id": "b", "MessageBody": "b"}])
    assert len(resp["Successful"]) == 2


def test_delete_message_batch(sqs, queue):
    sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": f"m{i}", "MessageBody": f"d{i}"} for i in range(3)])
    got = receive_all(sqs, queue, 3)
    assert len(got) == 3
    resp = sqs.delete_message_batch(QueueUrl=queue, Entries=[
        {"Id": "a", "ReceiptHandle": got[0]["ReceiptHandle"]},
        {"Id": "b", "ReceiptHandle": got[1]["ReceiptHandle"]},
        {"Id": "c", "ReceiptHandle": "garbage"},
    ])
    assert sorted(e["Id"] for e in resp["Successful"]) == ["a", "b"]
    [f] = resp["Failed"]
    assert f["Id"] == "c"
    assert f["Code"] == "ReceiptHandleIsInvalid"
    assert f["SenderFault"] is True
    assert counts(sqs, queue) == (0, 1, 0)


def test_change_message_visibility_batch(sqs, queue):
    sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": f"m{i}", "MessageBody": f"v{i}"} for i in range(2)])
    got = receive_all(sqs, queue, 2, VisibilityTimeout=60)
    assert len(got) == 2
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []
    resp = sqs.change_message_visibility_batch(QueueUrl=queue, Entries=[
        {"Id": "x", "ReceiptHandle": got[0]["ReceiptHandle"], "VisibilityTimeout": 0},
        {"Id": "y", "ReceiptHandle": got[1]["ReceiptHandle"], "VisibilityTimeout": 0},
        {"Id": "z", "ReceiptHandle": "garbage", "VisibilityTimeout": 0},
    ])
    assert sorted(e["Id"] for e in resp["Successful"]) == ["x", "y"]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in resp["Failed"]] == [("z", "ReceiptHandleIsInvalid", True)]
    again = receive_all(sqs, queue, 2, timeout=5)
    assert sorted(m["Body"] for m in again) == ["v0", "v1"]


def test_visibility_timeout_zero_makes_message_visible(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="vis")
    [m] = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0)["Messages"]
    [m2] = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=30)["Messages"]
    assert m2["MessageId"] == m["MessageId"]
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []
    assert counts(sqs, queue) == (0, 1, 0)
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=m2["ReceiptHandle"], VisibilityTimeout=0)
    [m3] = sqs.receive_message(QueueUrl=queue)["Messages"]
    assert m3["MessageId"] == m["MessageId"]


def test_visibility_timeout_expires(sqs, make_queue):
    url = make_queue("vt", attributes={"VisibilityTimeout": "2"})
    sqs.send_message(QueueUrl=url, MessageBody="comes back")
    t0 = time.monotonic()
    [m] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    [m2] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=8)["Messages"]
    assert 1.5 <= time.monotonic() - t0 <= 6.5
    assert m2["MessageId"] == m["MessageId"]


def test_delete_is_idempotent(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="once")
    [m] = sqs.receive_message(QueueUrl=queue)["Messages"]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])


def test_invalid_receipt_handle(sqs, queue):
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid) as ei:
        sqs.delete_message(QueueUrl=queue, ReceiptHandle="garbage")
    assert_error(ei, "ReceiptHandleIsInvalid")
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid) as ei:
        sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle="garbage", VisibilityTimeout=0)
    assert_error(ei, "ReceiptHandleIsInvalid")


def test_receipt_handle_of_other_queue(sqs, make_queue):
    a, b = make_queue("rha"), make_queue("rhb")
    sqs.send_message(QueueUrl=a, MessageBody="a")
    [m] = sqs.receive_message(QueueUrl=a)["Messages"]
    with pytest.raises(ClientError):
        sqs.delete_message(QueueUrl=b, ReceiptHandle=m["ReceiptHandle"])
    assert counts(sqs, a) == (0, 1, 0)


def test_change_visibility_after_delete(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="cv")
    [m] = sqs.receive_message(QueueUrl=queue)["Messages"]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    with pytest.raises(ClientError) as ei:
        sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=10)
    assert_error(ei, "InvalidParameterValue", 400)


def test_message_delay_seconds(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="later", DelaySeconds=2)
    t0 = time.monotonic()
    assert counts(sqs, queue) == (0, 0, 1)
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []
    [m] = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=6)["Messages"]
    elapsed = time.monotonic() - t0
    assert m["Body"] == "later"
    assert 1.0 <= elapsed <= 5.5, elapsed


def test_queue_delay_seconds(sqs, make_queue):
    url = make_queue("qdelay", attributes={"DelaySeconds": "2"})
    sqs.send_message(QueueUrl=url, MessageBody="q-later")
    t0 = time.monotonic()
    assert counts(sqs, url) == (0, 0, 1)
    [m] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=6)["Messages"]
    assert 1.0 <= time.monotonic() - t0 <= 5.5
    # An explicit per-message 0 overrides the queue delay on a standard queue.
    sqs.send_message(QueueUrl=url, MessageBody="now", DelaySeconds=0)
    [m] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert m["Body"] == "now"


def test_delay_seconds_out_of_range(sqs, queue):
    for v in (901, -1):
        with pytest.raises(ClientError) as ei:
            sqs.send_message(QueueUrl=queue, MessageBody="x", DelaySeconds=v)
        assert_error(ei, "InvalidParameterValue", 400)


def test_long_poll_empty_queue_waits(sqs, queue):
    t0 = time.monotonic()
    resp = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2)
    elapsed = time.monotonic() - t0
    assert resp.get("Messages", []) == []
    assert 1.7 <= elapsed <= 5.0, elapsed


def test_short_poll_returns_immediately(sqs, queue):
    t0 = time.monotonic()
    sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0)
    assert time.monotonic() - t0 < 1.5


def test_long_poll_returns_when_message_arrives(sqs, queue, endpoint):
    from conftest import make_client
    sender = make_client(endpoint)
    timer = threading.Timer(1.0, lambda: sender.send_message(QueueUrl=queue, MessageBody="wake"))
    t0 = time.monotonic()
    timer.start()
    try:
        resp = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=15)
    finally:
        timer.join()
    elapsed = time.monotonic() - t0
    assert [m["Body"] for m in resp.get("Messages", [])] == ["wake"]
    assert 0.8 <= elapsed <= 6.0, elapsed


def test_queue_receive_wait_time_attribute(sqs, make_queue):
    url = make_queue("qwait", attributes={"ReceiveMessageWaitTimeSeconds": "2"})
    t0 = time.monotonic()
    sqs.receive_message(QueueUrl=url)
    assert 1.7 <= time.monotonic() - t0 <= 5.0


@pytest.mark.parametrize("kw", [{"MaxNumberOfMessages": 11}, {"MaxNumberOfMessages": 0},
                                {"WaitTimeSeconds": 21}, {"WaitTimeSeconds": -1},
                                {"VisibilityTimeout": 43201}])
def test_receive_parameter_ranges(sqs, queue, kw):
    with pytest.raises(ClientError) as ei:
        sqs.receive_message(QueueUrl=queue, **kw)
    assert_error(ei, "InvalidParameterValue", 400, query_code="InvalidParameterValueException")


def test_max_number_of_messages(sqs, queue):
    sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": f"m{i}", "MessageBody": str(i)} for i in range(10)])
    first = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=3)["Messages"]
    assert 1 <= len(first) <= 3
    rest = receive_all(sqs, queue, 10 - len(first))
    assert sorted(int(m["Body"]) for m in first + rest) == list(range(10))
    assert len({m["MessageId"] for m in first + rest}) == 10


def test_purge_queue(sqs, queue):
    sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": f"m{i}", "MessageBody": str(i)} for i in range(3)])
    sqs.send_message(QueueUrl=queue, MessageBody="delayed", DelaySeconds=60)
    sqs.receive_message(QueueUrl=queue)  # one in flight: purge removes in-flight too
    sqs.purge_queue(QueueUrl=queue)
    assert cu.wait_until(lambda: counts(sqs, queue) == (0, 0, 0), timeout=5), counts(sqs, queue)
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []
    with pytest.raises(sqs.exceptions.PurgeQueueInProgress) as ei:
        sqs.purge_queue(QueueUrl=queue)
    assert_error(ei, "AWS.SimpleQueueService.PurgeQueueInProgress", 403, query_code="PurgeQueueInProgress")


def test_message_group_id_on_standard_queue(sqs, queue):
    # Fair queues: MessageGroupId is accepted on standard queues, returned, no SequenceNumber.
    sent = sqs.send_message(QueueUrl=queue, MessageBody="fair", MessageGroupId="tenant-1")
    assert "SequenceNumber" not in sent
    [m] = sqs.receive_message(QueueUrl=queue, MessageSystemAttributeNames=["All"])["Messages"]
    assert m["Attributes"]["MessageGroupId"] == "tenant-1"
    assert "SequenceNumber" not in m["Attributes"]


def test_batch_request_too_long(sqs, queue):
    # Each entry is within the per-message limit; together they exceed 1 MiB.
    entries = [{"Id": f"big{i}", "MessageBody": "x" * 600_000} for i in range(2)]
    with pytest.raises(ClientError) as ei:
        sqs.send_message_batch(QueueUrl=queue, Entries=entries)
    assert_error(ei, "AWS.SimpleQueueService.BatchRequestTooLong", 400, query_code="BatchRequestTooLong")
    assert counts(sqs, queue) == (0, 0, 0)


def test_standard_delete_with_expired_handle_succeeds(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="late delete")
    [m] = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=1)["Messages"]
    time.sleep(1.5)
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])  # no error on a standard queue


def test_standard_change_visibility_with_older_handle(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="two handles")
    [m1] = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0)["Messages"]
    [m2] = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=60)["Messages"]
    assert m1["ReceiptHandle"] != m2["ReceiptHandle"]
    # The older handle of a re-received message still works on a standard queue.
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=m1["ReceiptHandle"], VisibilityTimeout=0)
    assert len(sqs.receive_message(QueueUrl=queue).get("Messages", [])) == 1


def test_system_attribute_names_win_over_deprecated_attribute_names(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="both lists")
    [m] = sqs.receive_message(QueueUrl=queue, MessageSystemAttributeNames=["All"],
                              AttributeNames=["SenderId"])["Messages"]
    assert {"SenderId", "SentTimestamp", "ApproximateReceiveCount",
            "ApproximateFirstReceiveTimestamp"} <= set(m["Attributes"])


def test_trace_header_from_http_header(sqs, queue):
    def add_header(request, **kwargs):
        request.headers["X-Amzn-Trace-Id"] = cu.TRACE_HEADER

    sqs.meta.events.register_first("before-sign.sqs.SendMessage", add_header)
    try:
        sqs.send_message(QueueUrl=queue, MessageBody="traced by header")
    finally:
        sqs.meta.events.unregister("before-sign.sqs.SendMessage", add_header)
    [m] = sqs.receive_message(QueueUrl=queue, MessageSystemAttributeNames=["AWSTraceHeader"])["Messages"]
    assert m["Attributes"] == {"AWSTraceHeader": cu.TRACE_HEADER}


def test_missing_message_body_parameter(sqs, queue):
    with pytest.raises(ClientError) as ei:
        sqs.send_message(QueueUrl=queue)  # no MessageBody at all
    assert_error(ei, "MissingParameter", 400)


def test_attribute_limits_ok(sqs, queue):
    attrs = {f"a{i}": {"DataType": "String", "StringValue": str(i)} for i in range(9)}
    attrs["n" * 256] = {"DataType": "String", "StringValue": "long name"}  # 256 chars is the limit
    sent = sqs.send_message(QueueUrl=queue, MessageBody="ten attributes", MessageAttributes=attrs)
    assert sent["MD5OfMessageAttributes"] == cu.md5_of_message_attributes(attrs)
    [m] = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"]
    assert m["MessageAttributes"] == attrs


@pytest.mark.parametrize("group", ["", "x" * 129, "group 123"])
def test_invalid_group_id_on_standard_queue(sqs, queue, group):
    with pytest.raises(ClientError) as ei:
        sqs.send_message(QueueUrl=queue, MessageBody="x", MessageGroupId=group)
    assert ei.value.response["Error"]["Code"] in (("InvalidParameterValue", "MissingParameter") if not group
                                                   else ("InvalidParameterValue",)), ei.value.response


def test_change_visibility_out_of_range(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="cv-range")
    [m] = sqs.receive_message(QueueUrl=queue)["Messages"]
    with pytest.raises(ClientError) as ei:
        sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=43201)
    assert_error(ei, "InvalidParameterValue", 400)


def test_number_attribute_must_be_numeric(sqs, queue):
    with pytest.raises(ClientError) as ei:
        sqs.send_message(QueueUrl=queue, MessageBody="x", MessageAttributes={
            "n": {"DataType": "Number", "StringValue": "not-a-number"}})
    assert_error(ei, "InvalidParameterValue", 400)


def test_binary_attribute_must_not_be_empty(sqs, queue):
    with pytest.raises(ClientError) as ei:
        sqs.send_message(QueueUrl=queue, MessageBody="x", MessageAttributes={
            "b": {"DataType": "Binary", "BinaryValue": b""}})
    assert_error(ei, "InvalidParameterValue", 400)


def test_non_ascii_attribute_name_accepted(sqs, queue):
    attrs = {"attr.1øßä": {"DataType": "String", "StringValue": "v"}}
    sent = sqs.send_message(QueueUrl=queue, MessageBody="x", MessageAttributes=attrs)
    assert sent["MD5OfMessageAttributes"] == cu.md5_of_message_attributes(attrs)
    [m] = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"]
    assert m["MessageAttributes"] == attrs


def test_receive_defaults_to_one_message(sqs, queue):
    sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": f"m{i}", "MessageBody": str(i)} for i in range(3)])
    assert len(sqs.receive_message(QueueUrl=queue)["Messages"]) == 1
