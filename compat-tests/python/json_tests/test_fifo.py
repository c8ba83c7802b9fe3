"""FIFO queues through current boto3 (AWS JSON 1.0 protocol)."""
import time

import pytest
from botocore.exceptions import ClientError

import compat_util as cu
from conftest import assert_error


@pytest.fixture
def cbd_queue(make_queue):
    return make_queue("cbd", fifo=True, attributes={"ContentBasedDeduplication": "true"})


def test_message_group_id_required(sqs, cbd_queue):
    with pytest.raises(ClientError) as ei:
        sqs.send_message(QueueUrl=cbd_queue, MessageBody="no group")
    assert_error(ei, "MissingParameter", 400, query_code="MissingRequiredParameterException")


def test_batch_without_group_id_fails_whole_request(sqs, cbd_queue):
    with pytest.raises(ClientError) as ei:
        sqs.send_message_batch(QueueUrl=cbd_queue, Entries=[
            {"Id": "a", "MessageBody": "a", "MessageGroupId": "g"},
            {"Id": "b", "MessageBody": "b"}])
    assert_error(ei, "InvalidParameterValue", 400)


@pytest.mark.parametrize("group", ["", "x" * 129, "group 123"])
def test_invalid_group_id(sqs, cbd_queue, group):
    with pytest.raises(ClientError) as ei:
        sqs.send_message(QueueUrl=cbd_queue, MessageBody="x", MessageGroupId=group)
    # Empty can be reported as missing; the rest are InvalidParameterValue.
    assert ei.value.response["Error"]["Code"] in (("InvalidParameterValue", "MissingParameter") if not group
                                                   else ("InvalidParameterValue",))


def test_dedup_id_required_without_content_based(sqs, fifo_queue):
    with pytest.raises(ClientError) as ei:
        sqs.send_message(QueueUrl=fifo_queue, MessageBody="x", MessageGroupId="g")
    assert_error(ei, "InvalidParameterValue", 400)


def test_ordering_within_group(sqs, fifo_queue):
    seqs = []
    for i in range(6):
        r = sqs.send_message(QueueUrl=fifo_queue, MessageBody=f"m{i}", MessageGroupId="g1",
                             MessageDeduplicationId=f"d{i}")
        assert r["MD5OfMessageBody"] == cu.md5_hex(f"m{i}")
        seqs.append(r["SequenceNumber"])
    assert all(s.isdigit() for s in seqs)
    assert [int(s) for s in seqs] == sorted(int(s) for s in seqs)
    assert len(set(seqs)) == 6

    order = []
    for _ in range(10):
        msgs = sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=4,
                                   MessageSystemAttributeNames=["All"]).get("Messages", [])
        for m in msgs:
            order.append((m["Body"], m["Attributes"]["SequenceNumber"]))
            sqs.delete_message(QueueUrl=fifo_queue, ReceiptHandle=m["ReceiptHandle"])
        if len(order) == 6:
            break
    assert [b for b, _ in order] == [f"m{i}" for i in range(6)]
    assert [s for _, s in order] == seqs


def test_group_locked_while_in_flight(sqs, fifo_queue):
    for body in ("a1", "a2"):
        sqs.send_message(QueueUrl=fifo_queue, MessageBody=body, MessageGroupId="A", MessageDeduplicationId=body)
    [first] = sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=1)["Messages"]
    assert first["Body"] == "a1"
    sqs.send_message(QueueUrl=fifo_queue, MessageBody="b1", MessageGroupId="B", MessageDeduplicationId="b1")
    # While a1 is in flight, a2 must not be delivered; group B is free.
    seen = []
    for _ in range(3):
        seen += [m["Body"] for m in sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=10).get("Messages", [])]
    assert seen == ["b1"], seen
    sqs.delete_message(QueueUrl=fifo_queue, ReceiptHandle=first["ReceiptHandle"])
    msgs = sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in msgs] == ["a2"]


def test_group_unlocks_when_visibility_reset(sqs, fifo_queue):
    for body in ("x1", "x2"):
        sqs.send_message(QueueUrl=fifo_queue, MessageBody=body, MessageGroupId="X",
                         MessageDeduplicationId=body)
    [m] = sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=1)["Messages"]
    assert m["Body"] == "x1"
    assert sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=10).get("Messages", []) == []
    sqs.change_message_visibility(QueueUrl=fifo_queue, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    msgs = sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=10)["Messages"]
    assert [x["Body"] for x in msgs] == ["x1", "x2"]  # x1 again first, then the rest of X


def test_explicit_dedup_id(sqs, fifo_queue):
    r1 = sqs.send_message(QueueUrl=fifo_queue, MessageBody="one", MessageGroupId="g",
                          MessageDeduplicationId="dup")
    r2 = sqs.send_message(QueueUrl=fifo_queue, MessageBody="one-again", MessageGroupId="g",
                          MessageDeduplicationId="dup")
    assert r2["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert r2["MessageId"]
    msgs = sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in msgs] == ["one"]
    assert msgs[0]["MessageId"] == r1["MessageId"]
    sqs.delete_message(QueueUrl=fifo_queue, ReceiptHandle=msgs[0]["ReceiptHandle"])
    # Dedup survives deletion (5-minute interval).
    sqs.send_message(QueueUrl=fifo_queue, MessageBody="one", MessageGroupId="g", MessageDeduplicationId="dup")
    assert sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=10).get("Messages", []) == []
    a = sqs.get_queue_attributes(QueueUrl=fifo_queue, AttributeNames=["All"])["Attributes"]
    assert a["ApproximateNumberOfMessages"] == "0"
    assert a["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_content_based_dedup(sqs, cbd_queue):
    sqs.send_message(QueueUrl=cbd_queue, MessageBody="same", MessageGroupId="g")
    sqs.send_message(QueueUrl=cbd_queue, MessageBody="same", MessageGroupId="g")
    sqs.send_message(QueueUrl=cbd_queue, MessageBody="different", MessageGroupId="g")
    # Attributes are not part of the content hash.
    sqs.send_message(QueueUrl=cbd_queue, MessageBody="same", MessageGroupId="g",
                     MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
    bodies = []
    for _ in range(5):
        msgs = sqs.receive_message(QueueUrl=cbd_queue, MaxNumberOfMessages=10,
                                   MessageSystemAttributeNames=["All"]).get("Messages", [])
        for m in msgs:
            bodies.append(m["Body"])
            if m["Body"] == "same":
                assert m["Attributes"]["MessageDeduplicationId"] == \
                    __import__("hashlib").sha256(b"same").hexdigest()
            sqs.delete_message(QueueUrl=cbd_queue, ReceiptHandle=m["ReceiptHandle"])
        if len(bodies) >= 2:
            break
    assert bodies == ["same", "different"]


def test_explicit_dedup_id_overrides_content(sqs, cbd_queue):
    sqs.send_message(QueueUrl=cbd_queue, MessageBody="body", MessageGroupId="g", MessageDeduplicationId="a")
    sqs.send_message(QueueUrl=cbd_queue, MessageBody="body", MessageGroupId="g", MessageDeduplicationId="b")
    a = sqs.get_queue_attributes(QueueUrl=cbd_queue, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert a["ApproximateNumberOfMessages"] == "2"


def test_dedup_scope_message_group(sqs, make_queue):
    url = make_queue("scope", fifo=True, attributes={"DeduplicationScope": "messageGroup",
                                                      "FifoThroughputLimit": "perMessageGroupId"})
    for g in ("g1", "g2", "g1"):
        sqs.send_message(QueueUrl=url, MessageBody=f"in-{g}", MessageGroupId=g, MessageDeduplicationId="same")
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert a["ApproximateNumberOfMessages"] == "2"


def test_dedup_scope_queue(sqs, fifo_queue):
    for g in ("g1", "g2"):
        sqs.send_message(QueueUrl=fifo_queue, MessageBody=f"in-{g}", MessageGroupId=g, MessageDeduplicationId="same")
    a = sqs.get_queue_attributes(QueueUrl=fifo_queue, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert a["ApproximateNumberOfMessages"] == "1"


def test_fifo_system_attributes(sqs, fifo_queue):
    sent = sqs.send_message(QueueUrl=fifo_queue, MessageBody="attrs", MessageGroupId="grp",
                            MessageDeduplicationId="ddd")
    [m] = sqs.receive_message(QueueUrl=fifo_queue, MessageSystemAttributeNames=["All"])["Messages"]
    a = m["Attributes"]
    assert a["MessageGroupId"] == "grp"
    assert a["MessageDeduplicationId"] == "ddd"
    assert a["SequenceNumber"] == sent["SequenceNumber"]
    assert a["ApproximateReceiveCount"] == "1"
    assert {"SenderId", "SentTimestamp", "ApproximateFirstReceiveTimestamp"} <= set(a)


def test_sequence_numbers_increase_in_batch(sqs, fifo_queue):
    resp = sqs.send_message_batch(QueueUrl=fifo_queue, Entries=[
        {"Id": f"e{i}", "MessageBody": f"b{i}", "MessageGroupId": "g", "MessageDeduplicationId": f"d{i}"}
        for i in range(5)])
    assert resp.get("Failed", []) == []
    by_id = {e["Id"]: int(e["SequenceNumber"]) for e in resp["Successful"]}
    seq = [by_id[f"e{i}"] for i in range(5)]
    assert seq == sorted(seq) and len(set(seq)) == 5
    single = int(sqs.send_message(QueueUrl=fifo_queue, MessageBody="later", MessageGroupId="g",
                                  MessageDeduplicationId="later")["SequenceNumber"])
    assert single > seq[-1]


def test_per_message_delay_rejected(sqs, cbd_queue):
    with pytest.raises(ClientError) as ei:
        sqs.send_message(QueueUrl=cbd_queue, MessageBody="d", MessageGroupId="g", DelaySeconds=2)
    assert_error(ei, "InvalidParameterValue", 400)
    sqs.send_message(QueueUrl=cbd_queue, MessageBody="d0", MessageGroupId="g", DelaySeconds=0)


def test_receive_request_attempt_id(sqs, fifo_queue):
    for i in range(3):
        sqs.send_message(QueueUrl=fifo_queue, MessageBody=f"r{i}", MessageGroupId="g",
                         MessageDeduplicationId=f"r{i}")
    first = sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=10,
                                ReceiveRequestAttemptId="attempt-1")["Messages"]
    assert [m["Body"] for m in first] == ["r0", "r1", "r2"]
    retry = sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=10,
                                ReceiveRequestAttemptId="attempt-1")["Messages"]
    assert [m["MessageId"] for m in retry] == [m["MessageId"] for m in first]
    assert [m["ReceiptHandle"] for m in retry] == [m["ReceiptHandle"] for m in first]
    # A different attempt id sees nothing: the group is in flight.
    assert sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=10,
                               ReceiveRequestAttemptId="attempt-2").get("Messages", []) == []


def test_fifo_delete_with_expired_handle(sqs, fifo_queue):
    sqs.send_message(QueueUrl=fifo_queue, MessageBody="exp", MessageGroupId="g", MessageDeduplicationId="e")
    [m] = sqs.receive_message(QueueUrl=fifo_queue, VisibilityTimeout=1)["Messages"]
    time.sleep(1.6)
    with pytest.raises(ClientError) as ei:
        sqs.delete_message(QueueUrl=fifo_queue, ReceiptHandle=m["ReceiptHandle"])
    assert_error(ei, "InvalidParameterValue", 400)


def test_fifo_queue_delay_applies(sqs, make_queue):
    url = make_queue("fdelay", fifo=True, attributes={"DelaySeconds": "2", "ContentBasedDeduplication": "true"})
    sqs.send_message(QueueUrl=url, MessageBody="delayed", MessageGroupId="g", DelaySeconds=0)
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])["Attributes"]
    assert a["ApproximateNumberOfMessagesDelayed"] == "1"
    t0 = time.monotonic()
    [m] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=6)["Messages"]
    assert m["Body"] == "delayed"
    assert time.monotonic() - t0 <= 5.5


@pytest.mark.parametrize("dedup", ["x" * 129, "dedup id"])
def test_invalid_dedup_id(sqs, fifo_queue, dedup):
    with pytest.raises(ClientError) as ei:
        sqs.send_message(QueueUrl=fifo_queue, MessageBody="x", MessageGroupId="g", MessageDeduplicationId=dedup)
    assert_error(ei, "InvalidParameterValue", 400)


def test_long_poll_on_fifo_wakes_on_send(sqs, fifo_queue, endpoint):
    import threading
    from conftest import make_client
    sender = make_client(endpoint)
    timer = threading.Timer(1.0, lambda: sender.send_message(
        QueueUrl=fifo_queue, MessageBody="fifo-wake", MessageGroupId="g", MessageDeduplicationId="w"))
    t0 = time.monotonic()
    timer.start()
    try:
        msgs = sqs.receive_message(QueueUrl=fifo_queue, WaitTimeSeconds=15).get("Messages", [])
    finally:
        timer.join()
    assert [m["Body"] for m in msgs] == ["fifo-wake"]
    assert time.monotonic() - t0 <= 6.0
