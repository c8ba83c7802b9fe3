"""FIFO queues, dead-letter queues and move tasks through Query-protocol botocore 1.34.89."""
import json
import time

import pytest
from botocore.exceptions import ClientError

import compat_util as cu
from conftest import assert_error


def arn_of(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def test_fifo_group_required(sqs, fifo_queue):
    with pytest.raises(ClientError) as ei:
        sqs.send_message(QueueUrl=fifo_queue, MessageBody="x", MessageDeduplicationId="d")
    assert_error(ei, "MissingParameter", 400)
    with pytest.raises(ClientError) as ei:
        sqs.send_message(QueueUrl=fifo_queue, MessageBody="x", MessageGroupId="g")  # no dedup id, no CBD
    assert_error(ei, "InvalidParameterValue", 400)
    with pytest.raises(ClientError) as ei:
        sqs.send_message(QueueUrl=fifo_queue, MessageBody="x", MessageGroupId="g",
                         MessageDeduplicationId="d", DelaySeconds=5)
    assert_error(ei, "InvalidParameterValue", 400)


def test_fifo_order_dedup_and_sequence(sqs, fifo_queue):
    seqs = []
    for i in range(4):
        r = sqs.send_message(QueueUrl=fifo_queue, MessageBody=f"m{i}", MessageGroupId="g",
                             MessageDeduplicationId=f"d{i}")
        seqs.append(int(r["SequenceNumber"]))
    dup = sqs.send_message(QueueUrl=fifo_queue, MessageBody="m0-dup", MessageGroupId="g",
                           MessageDeduplicationId="d0")
    assert dup["MessageId"]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    bodies = []
    for _ in range(6):
        msgs = sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=10,
                                   AttributeNames=["SequenceNumber", "MessageGroupId"]).get("Messages", [])
        for m in msgs:
            assert m["Attributes"]["MessageGroupId"] == "g"
            bodies.append(m["Body"])
            sqs.delete_message(QueueUrl=fifo_queue, ReceiptHandle=m["ReceiptHandle"])
        if len(bodies) >= 4:
            break
    assert bodies == ["m0", "m1", "m2", "m3"]


def test_fifo_group_lock_and_attempt_id(sqs, fifo_queue):
    for b in ("a1", "a2"):
        sqs.send_message(QueueUrl=fifo_queue, MessageBody=b, MessageGroupId="A", MessageDeduplicationId=b)
    first = sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=1, ReceiveRequestAttemptId="try1")["Messages"]
    assert [m["Body"] for m in first] == ["a1"]
    again = sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=1, ReceiveRequestAttemptId="try1")["Messages"]
    assert [(m["MessageId"], m["ReceiptHandle"]) for m in again] == [(m["MessageId"], m["ReceiptHandle"]) for m in first]
    assert sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=10).get("Messages", []) == []
    sqs.delete_message(QueueUrl=fifo_queue, ReceiptHandle=first[0]["ReceiptHandle"])
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=10)["Messages"]] == ["a2"]


def test_fifo_batch_without_group(sqs, make_queue):
    url = make_queue("qcbd", fifo=True, attributes={"ContentBasedDeduplication": "true"})
    with pytest.raises(ClientError) as ei:
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "a"}])
    assert_error(ei, "InvalidParameterValue", 400)
    resp = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "a", "MessageBody": "a", "MessageGroupId": "g"},
        {"Id": "b", "MessageBody": "a", "MessageGroupId": "g"}])  # content duplicate: accepted
    assert sorted(e["Id"] for e in resp["Successful"]) == ["a", "b"]
    assert all(e["SequenceNumber"].isdigit() for e in resp["Successful"])
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert a["ApproximateNumberOfMessages"] == "1"


def test_redrive_to_dlq_and_move_back(sqs, make_queue):
    dlq = make_queue("qdlq")
    dlq_arn = arn_of(sqs, dlq)
    src = make_queue("qsrc", attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})})
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [src]
    sent = sqs.send_message(QueueUrl=src, MessageBody="poison")
    sqs.receive_message(QueueUrl=src, VisibilityTimeout=0)
    assert sqs.receive_message(QueueUrl=src).get("Messages", []) == []
    [d] = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"], VisibilityTimeout=0)["Messages"]
    assert (d["MessageId"], d["Body"]) == (sent["MessageId"], "poison")
    assert d["Attributes"]["DeadLetterQueueSourceArn"] == arn_of(sqs, src)

    sqs.start_message_move_task(SourceArn=dlq_arn)
    deadline = time.monotonic() + 20
    while True:
        results = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
        if results and results[0]["Status"] != "RUNNING" or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert results and results[0]["Status"] == "COMPLETED", results
    assert results[0]["ApproximateNumberOfMessagesMoved"] == 1
    [m] = sqs.receive_message(QueueUrl=src, WaitTimeSeconds=2)["Messages"]
    assert m["Body"] == "poison"


def test_redrive_policy_errors(sqs, queue):
    with pytest.raises(ClientError) as ei:
        sqs.set_queue_attributes(QueueUrl=queue, Attributes={"RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": cu.queue_arn(cu.unique_name("nope")), "maxReceiveCount": 1})})
    assert_error(ei, "InvalidParameterValue", 400)
    with pytest.raises(ClientError) as ei:
        sqs.start_message_move_task(SourceArn=arn_of(sqs, queue))
    assert_error(ei, "InvalidParameterValue", 400)
    with pytest.raises(ClientError) as ei:
        sqs.start_message_move_task(SourceArn=cu.queue_arn(cu.unique_name("nope")))
    assert_error(ei, "ResourceNotFoundException", 404)
