"""AWS rules recorded on real SQS (SQS-REFERENCE §2, §7, §8; compatibility round 2), checked
through whichever client a suite drives: each suite's test_aws_rules.py runs every check here
with its own `sqs` client (boto3 JSON, or the pinned Query-protocol botocore).

Each check takes (sqs, make_queue, assert_error) and asserts what AWS answers."""
import json
import time

import pytest
from botocore.exceptions import ClientError


def _arn(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _bodies(sqs, url, n=10, **kw):
    return [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=n, **kw).get("Messages", [])]


def released_message_delivered_while_later_in_flight(sqs, make_queue, assert_error):
    """m1, m2 in group A and n1 in B; receive 2 -> m1, m2; ChangeMessageVisibility(m1, 0);
    receive 3 -> n1 and m1 (m2 stays in flight, nothing after it comes)."""
    url = make_queue("rel", fifo=True, attributes={"ContentBasedDeduplication": "true"})
    for body, group in (("m1", "A"), ("m2", "A"), ("n1", "B")):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
    assert [m["Body"] for m in got] == ["m1", "m2"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"], VisibilityTimeout=0)
    assert sorted(_bodies(sqs, url, 3)) == ["m1", "n1"]
    assert _bodies(sqs, url) == []


def group_delivers_up_to_its_first_in_flight_message(sqs, make_queue, assert_error):
    """Three messages of one group received with VT 1, the middle one extended to 4 s;
    2.5 s later a receive returns only the first."""
    url = make_queue("upto", fifo=True, attributes={"ContentBasedDeduplication": "true"})
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=1)["Messages"]
    assert [m["Body"] for m in got] == ["m0", "m1", "m2"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[1]["ReceiptHandle"], VisibilityTimeout=4)
    time.sleep(2.5)
    assert _bodies(sqs, url) == ["m0"]


def purge_clears_fifo_deduplication(sqs, make_queue, assert_error):
    url = make_queue("purgededup", fifo=True)
    sqs.send_message(QueueUrl=url, MessageBody="first", MessageGroupId="g", MessageDeduplicationId="d")
    sqs.purge_queue(QueueUrl=url)
    sqs.send_message(QueueUrl=url, MessageBody="second", MessageGroupId="g", MessageDeduplicationId="d")
    assert _bodies(sqs, url) == ["second"]


def batch_without_dedup_id_fails_whole_call(sqs, make_queue, assert_error):
    url = make_queue("batchdedup", fifo=True)
    with pytest.raises(ClientError) as ei:
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "ok", "MessageBody": "ok", "MessageGroupId": "g", "MessageDeduplicationId": "d"},
            {"Id": "nodedup", "MessageBody": "x", "MessageGroupId": "g"}])
    assert_error(ei, "InvalidParameterValue", 400)
    assert ei.value.response["Error"]["Message"] == (
        "The queue should either have ContentBasedDeduplication enabled or "
        "MessageDeduplicationId provided explicitly")
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert a["ApproximateNumberOfMessages"] == "0"


def deduplication_scope_stays_as_created(sqs, make_queue, assert_error):
    # Created with scope queue, switched to messageGroup: still deduplicated queue-wide.
    url = make_queue("scopeq", fifo=True)
    sqs.set_queue_attributes(QueueUrl=url, Attributes={
        "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"})
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (a["DeduplicationScope"], a["FifoThroughputLimit"]) == ("messageGroup", "perMessageGroupId")
    for group in ("4", "5"):
        sqs.send_message(QueueUrl=url, MessageBody=f"in-{group}", MessageGroupId=group, MessageDeduplicationId="X")
    assert _bodies(sqs, url) == ["in-4"]
    # Created per group, switched to queue: still deduplicated per group.
    url = make_queue("scopeg", fifo=True, attributes={
        "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={
        "FifoThroughputLimit": "perQueue", "DeduplicationScope": "queue"})
    for group in ("4", "5"):
        sqs.send_message(QueueUrl=url, MessageBody=f"in-{group}", MessageGroupId=group, MessageDeduplicationId="X")
    assert sorted(_bodies(sqs, url)) == ["in-4", "in-5"]


def redrive_policy_may_name_the_queue_itself(sqs, make_queue, assert_error):
    url = make_queue("selfdlq")
    arn = _arn(sqs, url)
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 1})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": policy})
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]
    assert json.loads(got["RedrivePolicy"])["deadLetterTargetArn"] == arn
    sqs.send_message(QueueUrl=url, MessageBody="stays")
    for count in ("1", "2"):
        [m] = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0,
                                  AttributeNames=["ApproximateReceiveCount"])["Messages"]
        assert m["Attributes"]["ApproximateReceiveCount"] == count


def empty_redrive_policy_names_max_receive_count(sqs, make_queue, assert_error):
    url = make_queue("emptyrp")
    with pytest.raises(ClientError) as ei:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": "{}"})
    assert_error(ei, "InvalidParameterValue", 400)
    assert ei.value.response["Error"]["Message"] == (
        "Value {} for parameter RedrivePolicy is invalid. Reason: "
        "Redrive policy does not contain mandatory attribute: maxReceiveCount.")


def standard_queue_delivers_oldest_sent_first(sqs, make_queue, assert_error):
    """send t1, receive it (VT 1), send t2, after t1's timeout receive one -> t1."""
    url = make_queue("oldest")
    sqs.send_message(QueueUrl=url, MessageBody="t1")
    assert _bodies(sqs, url, 1, VisibilityTimeout=1) == ["t1"]
    sqs.send_message(QueueUrl=url, MessageBody="t2")
    time.sleep(1.3)
    assert _bodies(sqs, url, 1) == ["t1"]


RULES = [
    released_message_delivered_while_later_in_flight,
    group_delivers_up_to_its_first_in_flight_message,
    purge_clears_fifo_deduplication,
    batch_without_dedup_id_fails_whole_call,
    deduplication_scope_stays_as_created,
    redrive_policy_may_name_the_queue_itself,
    empty_redrive_policy_names_max_receive_count,
    standard_queue_delivers_oldest_sent_first,
]
