"""Dead-letter queues, redrive and message move tasks through current boto3 (JSON)."""
import json
import time

import pytest
from botocore.exceptions import ClientError

import compat_util as cu
from conftest import assert_error


def arn_of(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def policy(dlq_arn, count=1):
    return json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": count})


@pytest.fixture
def source_and_dlq(sqs, make_queue):
    dlq = make_queue("dlq")
    dlq_arn = arn_of(sqs, dlq)
    src = make_queue("src", attributes={"RedrivePolicy": policy(dlq_arn)})
    return src, dlq


def move_one_to_dlq(sqs, src, body="to-dlq"):
    sent = sqs.send_message(QueueUrl=src, MessageBody=body, MessageAttributes={
        "Foo": {"DataType": "String", "StringValue": "Bar"}})
    [m] = sqs.receive_message(QueueUrl=src, VisibilityTimeout=0,
                              MessageSystemAttributeNames=["SentTimestamp"])["Messages"]  # receive count 1
    assert m["MessageId"] == sent["MessageId"]
    sent["SentTimestamp"] = m["Attributes"]["SentTimestamp"]
    # Second receive attempt: count already == maxReceiveCount -> moved, not delivered.
    assert sqs.receive_message(QueueUrl=src).get("Messages", []) == []
    return sent


def test_redrive_policy_round_trip(sqs, make_queue):
    dlq = make_queue("dlq")
    dlq_arn = arn_of(sqs, dlq)
    assert dlq_arn == cu.queue_arn(cu.name_of(dlq))
    src = make_queue("src", attributes={"RedrivePolicy": policy(dlq_arn, 5)})
    got = json.loads(sqs.get_queue_attributes(QueueUrl=src, AttributeNames=["RedrivePolicy"])
                     ["Attributes"]["RedrivePolicy"])
    assert got["deadLetterTargetArn"] == dlq_arn
    assert int(got["maxReceiveCount"]) == 5
    # "" clears it
    sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": ""})
    assert "RedrivePolicy" not in sqs.get_queue_attributes(QueueUrl=src, AttributeNames=["All"])["Attributes"]


def test_redrive_policy_string_count_accepted(sqs, make_queue):
    dlq = make_queue("dlq")
    src = make_queue("src")
    sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": "3"})})
    got = json.loads(sqs.get_queue_attributes(QueueUrl=src, AttributeNames=["RedrivePolicy"])
                     ["Attributes"]["RedrivePolicy"])
    assert int(got["maxReceiveCount"]) == 3


def test_message_moves_to_dlq(sqs, source_and_dlq):
    src, dlq = source_and_dlq
    sent = move_one_to_dlq(sqs, src)
    [d] = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=2, MessageSystemAttributeNames=["All"],
                              MessageAttributeNames=["All"])["Messages"]
    assert d["MessageId"] == sent["MessageId"]
    assert d["Body"] == "to-dlq"
    assert d["MD5OfBody"] == cu.md5_hex("to-dlq")
    assert d["MessageAttributes"] == {"Foo": {"DataType": "String", "StringValue": "Bar"}}
    assert d["MD5OfMessageAttributes"] == "ae7155c6026991b6d54b11589678bf9c"
    assert d["Attributes"]["ApproximateReceiveCount"] == "2"  # continues from the source
    assert d["Attributes"]["DeadLetterQueueSourceArn"] == arn_of(sqs, src)
    assert d["Attributes"]["SentTimestamp"] == sent["SentTimestamp"]  # unchanged by the move
    src_counts = sqs.get_queue_attributes(QueueUrl=src, AttributeNames=["All"])["Attributes"]
    assert src_counts["ApproximateNumberOfMessages"] == "0"
    assert src_counts["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_fifo_dlq(sqs, make_queue):
    dlq = make_queue("fdlq", fifo=True)
    src = make_queue("fsrc", fifo=True, attributes={"RedrivePolicy": policy(arn_of(sqs, dlq), 1),
                                                     "ContentBasedDeduplication": "true"})
    sent = sqs.send_message(QueueUrl=src, MessageBody="f1", MessageGroupId="g")
    sqs.send_message(QueueUrl=src, MessageBody="f2", MessageGroupId="g")
    [m] = sqs.receive_message(QueueUrl=src, VisibilityTimeout=0)["Messages"]
    assert m["Body"] == "f1"
    # f1 moves; its group is unblocked so f2 is delivered.
    msgs = sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=10).get("Messages", [])
    assert [x["Body"] for x in msgs] == ["f2"]
    [d] = sqs.receive_message(QueueUrl=dlq, MessageSystemAttributeNames=["All"])["Messages"]
    assert d["MessageId"] == sent["MessageId"]
    assert d["Body"] == "f1"
    assert d["Attributes"]["MessageGroupId"] == "g"


def test_list_dead_letter_source_queues(sqs, make_queue):
    dlq = make_queue("dlq")
    dlq_arn = arn_of(sqs, dlq)
    sources = {make_queue(f"src{i}", attributes={"RedrivePolicy": policy(dlq_arn, 3)}) for i in range(3)}
    make_queue("unrelated")
    resp = sqs.list_dead_letter_source_queues(QueueUrl=dlq)
    assert set(resp["queueUrls"]) == sources
    assert "NextToken" not in resp
    page = sqs.list_dead_letter_source_queues(QueueUrl=dlq, MaxResults=2)
    assert len(page["queueUrls"]) == 2 and page.get("NextToken")
    rest = sqs.list_dead_letter_source_queues(QueueUrl=dlq, MaxResults=2, NextToken=page["NextToken"])
    assert set(page["queueUrls"]) | set(rest["queueUrls"]) == sources
    other = make_queue("notdlq")
    assert sqs.list_dead_letter_source_queues(QueueUrl=other).get("queueUrls", []) == []


def test_invalid_redrive_policies(sqs, make_queue, endpoint):
    src = make_queue("src")
    fifo_dlq = make_queue("fdlq", fifo=True)
    missing = cu.queue_arn(cu.unique_name("nodlq"))
    std_dlq = make_queue("sdlq")
    bad = [
        policy(missing, 1),                                           # target does not exist
        json.dumps({"deadLetterTargetArn": arn_of(sqs, std_dlq)}),    # no maxReceiveCount
        json.dumps({"maxReceiveCount": 1}),                           # no target
        json.dumps({"deadLetterTargetArn": arn_of(sqs, std_dlq), "maxReceiveCount": "many"}),
        policy(arn_of(sqs, fifo_dlq), 1),                             # standard -> FIFO
    ]
    for p in bad:
        with pytest.raises(ClientError) as ei:
            sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": p})
        assert_error(ei, "InvalidParameterValue", 400)
        assert "RedrivePolicy" not in sqs.get_queue_attributes(QueueUrl=src, AttributeNames=["All"])["Attributes"]
    # FIFO source -> standard DLQ
    with pytest.raises(ClientError) as ei:
        sqs.create_queue(QueueName=cu.unique_name("fsrc", fifo=True),
                         Attributes={"FifoQueue": "true", "RedrivePolicy": policy(arn_of(sqs, std_dlq))})
    assert_error(ei, "InvalidParameterValue", 400)


def wait_task(sqs, source_arn, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        results = sqs.list_message_move_tasks(SourceArn=source_arn, MaxResults=10)["Results"]
        if results and results[0]["Status"] not in ("RUNNING", "CANCELLING"):
            return results
        if time.monotonic() > deadline:
            return results
        time.sleep(0.3)


def test_message_move_task_back_to_source(sqs, source_and_dlq):
    src, dlq = source_and_dlq
    dlq_arn = arn_of(sqs, dlq)
    move_one_to_dlq(sqs, src, body="redrive-me")
    assert cu.wait_until(lambda: sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=[
        "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"] == "1", timeout=5)
    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    assert handle
    results = wait_task(sqs, dlq_arn)
    assert results, "ListMessageMoveTasks returned nothing"
    t = results[0]
    assert t["Status"] == "COMPLETED", t
    assert t["SourceArn"] == dlq_arn
    assert t["ApproximateNumberOfMessagesMoved"] == 1
    assert t["ApproximateNumberOfMessagesToMove"] == 1
    assert isinstance(t["StartedTimestamp"], int)
    assert abs(t["StartedTimestamp"] - time.time() * 1000) < 120_000  # epoch milliseconds
    assert "TaskHandle" not in t  # only shown while RUNNING
    assert "DestinationArn" not in t
    [m] = sqs.receive_message(QueueUrl=src, WaitTimeSeconds=2)["Messages"]
    assert m["Body"] == "redrive-me"
    assert sqs.receive_message(QueueUrl=dlq).get("Messages", []) == []


def test_message_move_task_explicit_destination(sqs, source_and_dlq, make_queue):
    src, dlq = source_and_dlq
    dest = make_queue("dest")
    dlq_arn = arn_of(sqs, dlq)
    move_one_to_dlq(sqs, src, body="elsewhere")
    sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=arn_of(sqs, dest),
                                MaxNumberOfMessagesPerSecond=50)
    t = wait_task(sqs, dlq_arn)[0]
    assert t["Status"] == "COMPLETED", t
    assert t["DestinationArn"] == arn_of(sqs, dest)
    assert t["MaxNumberOfMessagesPerSecond"] == 50
    [m] = sqs.receive_message(QueueUrl=dest, WaitTimeSeconds=2)["Messages"]
    assert m["Body"] == "elsewhere"
    assert sqs.receive_message(QueueUrl=src).get("Messages", []) == []


def test_message_move_task_errors(sqs, make_queue):
    plain = make_queue("plain")
    with pytest.raises(ClientError) as ei:
        sqs.start_message_move_task(SourceArn=arn_of(sqs, plain))
    assert_error(ei, "InvalidParameterValue", 400)
    with pytest.raises(sqs.exceptions.ResourceNotFoundException) as ei:
        sqs.start_message_move_task(SourceArn=cu.queue_arn(cu.unique_name("none")))
    assert_error(ei, "ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as ei:
        sqs.cancel_message_move_task(TaskHandle="not-a-handle")
    assert_error(ei, "InvalidParameterValue", 400)
    with pytest.raises(ClientError) as ei:
        sqs.list_message_move_tasks(SourceArn=cu.queue_arn(cu.unique_name("none")))
    assert_error(ei, "ResourceNotFoundException", 404)


def test_list_message_move_tasks_empty(sqs, source_and_dlq):
    _, dlq = source_and_dlq
    assert sqs.list_message_move_tasks(SourceArn=arn_of(sqs, dlq)).get("Results", []) == []


def test_redrive_allow_policy(sqs, make_queue):
    dlq = make_queue("dlq")
    dlq_arn = arn_of(sqs, dlq)
    sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": json.dumps(
        {"redrivePermission": "denyAll"})})
    got = json.loads(sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["RedriveAllowPolicy"])
                     ["Attributes"]["RedriveAllowPolicy"])
    assert got["redrivePermission"] == "denyAll"
    src = make_queue("src")
    # denyAll: no source queue may name this queue as its dead-letter queue.
    with pytest.raises(ClientError) as ei:
        sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": policy(dlq_arn)})
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, ei.value.response
    # byQueue naming this source allows it.
    sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": json.dumps(
        {"redrivePermission": "byQueue", "sourceQueueArns": [arn_of(sqs, src)]})})
    sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": policy(dlq_arn)})
    other = make_queue("other")
    with pytest.raises(ClientError):
        sqs.set_queue_attributes(QueueUrl=other, Attributes={"RedrivePolicy": policy(dlq_arn)})


def test_move_task_running_cancel_and_single_active(sqs, source_and_dlq, make_queue):
    """MaxNumberOfMessagesPerSecond=1 over 5 messages keeps the task RUNNING for seconds."""
    _, dlq = source_and_dlq
    dest = make_queue("dest")
    dlq_arn = arn_of(sqs, dlq)
    sqs.send_message_batch(QueueUrl=dlq, Entries=[{"Id": f"m{i}", "MessageBody": f"slow-{i}"} for i in range(5)])
    handle = sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=arn_of(sqs, dest),
                                         MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    [t] = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
    assert t["Status"] == "RUNNING", t
    assert t["TaskHandle"] == handle
    assert t["ApproximateNumberOfMessagesToMove"] == 5
    assert t["MaxNumberOfMessagesPerSecond"] == 1
    # Only one active task per source.
    with pytest.raises(ClientError) as ei:
        sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=arn_of(sqs, dest))
    assert_error(ei, "InvalidParameterValue", 400)
    moved = sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]
    assert 0 <= moved < 5
    results = wait_task(sqs, dlq_arn)
    assert results[0]["Status"] == "CANCELLED", results
    # Cancelling a task that is no longer running is refused.
    with pytest.raises(ClientError):
        sqs.cancel_message_move_task(TaskHandle=handle)
    remaining = int(sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
                    ["Attributes"]["ApproximateNumberOfMessages"])
    arrived = int(sqs.get_queue_attributes(QueueUrl=dest, AttributeNames=["ApproximateNumberOfMessages"])
                  ["Attributes"]["ApproximateNumberOfMessages"])
    assert remaining + arrived == 5
    assert remaining >= 1


def test_list_message_move_tasks_order_and_default_max(sqs, source_and_dlq, make_queue):
    _, dlq = source_and_dlq
    dlq_arn = arn_of(sqs, dlq)
    dests = [make_queue("d1"), make_queue("d2")]
    for dest in dests:
        sqs.send_message(QueueUrl=dlq, MessageBody="m")
        sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=arn_of(sqs, dest))
        assert wait_task(sqs, dlq_arn)[0]["Status"] == "COMPLETED"
    default = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
    assert len(default) == 1  # MaxResults defaults to 1
    assert default[0]["DestinationArn"] == arn_of(sqs, dests[1])  # most recent first
    both = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10)["Results"]
    assert [t["DestinationArn"] for t in both] == [arn_of(sqs, dests[1]), arn_of(sqs, dests[0])]
