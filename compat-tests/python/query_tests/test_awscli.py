"""awscli v1 (1.32.89, Query protocol) driving the server as a user would: `aws sqs ...`."""
import json

import pytest

import compat_util as cu


@pytest.fixture
def cli_queue(aws):
    name = cu.unique_name("cli")
    _, out, _ = aws("create-queue", "--queue-name", name, "--attributes", "VisibilityTimeout=40,DelaySeconds=0",
                    "--tags", "team=core")
    url = out["QueueUrl"]
    yield url
    aws("delete-queue", "--queue-url", url, check=False)


def test_create_get_list_delete(aws, endpoint):
    name = cu.unique_name("cli-life")
    _, out, _ = aws("create-queue", "--queue-name", name)
    url = out["QueueUrl"]
    assert url == f"{endpoint}/{cu.ACCOUNT}/{name}"
    _, out, _ = aws("get-queue-url", "--queue-name", name)
    assert out["QueueUrl"] == url
    _, out, _ = aws("list-queues", "--queue-name-prefix", name)
    assert out["QueueUrls"] == [url]
    rc, out, err = aws("delete-queue", "--queue-url", url)
    assert rc == 0
    rc, out, err = aws("get-queue-url", "--queue-name", name, check=False)
    assert rc == 255
    assert "AWS.SimpleQueueService.NonExistentQueue" in err, err
    assert "GetQueueUrl" in err


def test_attributes_and_tags(aws, cli_queue):
    _, out, _ = aws("get-queue-attributes", "--queue-url", cli_queue, "--attribute-names", "All")
    attrs = out["Attributes"]
    assert attrs["VisibilityTimeout"] == "40"
    assert attrs["QueueArn"] == cu.queue_arn(cu.name_of(cli_queue))
    aws("set-queue-attributes", "--queue-url", cli_queue, "--attributes", "MaximumMessageSize=2048")
    _, out, _ = aws("get-queue-attributes", "--queue-url", cli_queue, "--attribute-names", "MaximumMessageSize")
    assert out["Attributes"] == {"MaximumMessageSize": "2048"}
    rc, _, err = aws("set-queue-attributes", "--queue-url", cli_queue, "--attributes",
                     "VisibilityTimeout=99999", check=False)
    assert rc == 255 and "InvalidAttributeValue" in err, err
    _, out, _ = aws("list-queue-tags", "--queue-url", cli_queue)
    assert out["Tags"] == {"team": "core"}
    aws("tag-queue", "--queue-url", cli_queue, "--tags", "env=dev")
    aws("untag-queue", "--queue-url", cli_queue, "--tag-keys", "team")
    _, out, _ = aws("list-queue-tags", "--queue-url", cli_queue)
    assert out["Tags"] == {"env": "dev"}


def test_send_receive_delete(aws, cli_queue):
    _, sent, _ = aws("send-message", "--queue-url", cli_queue, "--message-body", "from the cli",
                     "--message-attributes", json.dumps({"Foo": {"DataType": "String", "StringValue": "Bar"}}))
    assert sent["MD5OfMessageBody"] == cu.md5_hex("from the cli")
    assert sent["MD5OfMessageAttributes"] == "ae7155c6026991b6d54b11589678bf9c"
    _, out, _ = aws("receive-message", "--queue-url", cli_queue, "--attribute-names", "All",
                    "--message-attribute-names", "All")
    [m] = out["Messages"]
    assert m["Body"] == "from the cli"
    assert m["MessageId"] == sent["MessageId"]
    assert m["MessageAttributes"] == {"Foo": {"DataType": "String", "StringValue": "Bar"}}
    assert m["Attributes"]["ApproximateReceiveCount"] == "1"
    aws("delete-message", "--queue-url", cli_queue, "--receipt-handle", m["ReceiptHandle"])
    rc, out, _ = aws("receive-message", "--queue-url", cli_queue)
    assert rc == 0 and (out is None or out.get("Messages", []) == [])


def test_batch_and_visibility(aws, cli_queue):
    entries = [{"Id": f"e{i}", "MessageBody": f"cli-{i}"} for i in range(3)]
    _, out, _ = aws("send-message-batch", "--queue-url", cli_queue, "--entries", json.dumps(entries))
    assert sorted(e["Id"] for e in out["Successful"]) == ["e0", "e1", "e2"]
    got = []
    for _ in range(5):
        _, out, _ = aws("receive-message", "--queue-url", cli_queue, "--max-number-of-messages", "10",
                        "--visibility-timeout", "60", "--wait-time-seconds", "1")
        got += (out or {}).get("Messages", [])
        if len(got) >= 3:
            break
    assert sorted(m["Body"] for m in got) == ["cli-0", "cli-1", "cli-2"]
    aws("change-message-visibility", "--queue-url", cli_queue, "--receipt-handle", got[0]["ReceiptHandle"],
        "--visibility-timeout", "0")
    _, out, _ = aws("delete-message-batch", "--queue-url", cli_queue, "--entries", json.dumps(
        [{"Id": "d1", "ReceiptHandle": got[1]["ReceiptHandle"]},
         {"Id": "d2", "ReceiptHandle": got[2]["ReceiptHandle"]}]))
    assert sorted(e["Id"] for e in out["Successful"]) == ["d1", "d2"]
    _, out, _ = aws("receive-message", "--queue-url", cli_queue)
    assert [m["Body"] for m in out["Messages"]] == [got[0]["Body"]]


def test_errors(aws, cli_queue):
    rc, _, err = aws("receive-message", "--queue-url", cli_queue, "--max-number-of-messages", "11", check=False)
    assert rc == 255 and "InvalidParameterValue" in err, err
    rc, _, err = aws("delete-message", "--queue-url", cli_queue, "--receipt-handle", "garbage", check=False)
    assert rc == 255 and "ReceiptHandleIsInvalid" in err, err
    rc, _, err = aws("send-message-batch", "--queue-url", cli_queue, "--entries",
                     json.dumps([{"Id": "x", "MessageBody": "a"}, {"Id": "x", "MessageBody": "b"}]), check=False)
    assert rc == 255 and "AWS.SimpleQueueService.BatchEntryIdsNotDistinct" in err, err
    rc, _, err = aws("create-queue", "--queue-name", cu.name_of(cli_queue), "--attributes",
                     "VisibilityTimeout=41", check=False)
    assert rc == 255 and "QueueAlreadyExists" in err, err


def test_purge(aws, cli_queue):
    aws("send-message", "--queue-url", cli_queue, "--message-body", "purge me")
    aws("purge-queue", "--queue-url", cli_queue)
    rc, _, err = aws("purge-queue", "--queue-url", cli_queue, check=False)
    assert rc == 255 and "AWS.SimpleQueueService.PurgeQueueInProgress" in err, err


def test_fifo(aws):
    name = cu.unique_name("cli", fifo=True)
    _, out, _ = aws("create-queue", "--queue-name", name, "--attributes",
                    "FifoQueue=true,ContentBasedDeduplication=true")
    url = out["QueueUrl"]
    try:
        seqs = []
        for body in ("f1", "f2", "f1"):
            _, sent, _ = aws("send-message", "--queue-url", url, "--message-body", body,
                             "--message-group-id", "g")
            seqs.append(int(sent["SequenceNumber"]))
        assert seqs[0] < seqs[1]
        rc, _, err = aws("send-message", "--queue-url", url, "--message-body", "nogroup", check=False)
        assert rc == 255 and "MissingParameter" in err, err
        _, out, _ = aws("receive-message", "--queue-url", url, "--max-number-of-messages", "10",
                        "--attribute-names", "All")
        assert [m["Body"] for m in out["Messages"]] == ["f1", "f2"]
        assert out["Messages"][0]["Attributes"]["MessageGroupId"] == "g"
    finally:
        aws("delete-queue", "--queue-url", url, check=False)


def test_dlq_and_move_task(aws):
    dlq_name, src_name = cu.unique_name("cli-dlq"), cu.unique_name("cli-src")
    _, out, _ = aws("create-queue", "--queue-name", dlq_name)
    dlq = out["QueueUrl"]
    dlq_arn = cu.queue_arn(dlq_name)
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    _, out, _ = aws("create-queue", "--queue-name", src_name, "--attributes",
                    json.dumps({"RedrivePolicy": redrive}))
    src = out["QueueUrl"]
    try:
        _, out, _ = aws("list-dead-letter-source-queues", "--queue-url", dlq)
        assert out["queueUrls"] == [src]
        aws("send-message", "--queue-url", src, "--message-body", "bad message")
        aws("receive-message", "--queue-url", src, "--visibility-timeout", "0")
        rc, out, _ = aws("receive-message", "--queue-url", src)
        assert out is None or out.get("Messages", []) == []
        _, out, _ = aws("get-queue-attributes", "--queue-url", dlq, "--attribute-names", "ApproximateNumberOfMessages")
        assert out["Attributes"]["ApproximateNumberOfMessages"] == "1"
        _, out, _ = aws("start-message-move-task", "--source-arn", dlq_arn)
        assert out["TaskHandle"]
        import time
        deadline = time.monotonic() + 20
        while True:
            _, out, _ = aws("list-message-move-tasks", "--source-arn", dlq_arn)
            if (out["Results"] and out["Results"][0]["Status"] != "RUNNING") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert out["Results"][0]["Status"] == "COMPLETED", out
        _, out, _ = aws("receive-message", "--queue-url", src, "--wait-time-seconds", "2")
        assert [m["Body"] for m in out["Messages"]] == ["bad message"]
    finally:
        aws("delete-queue", "--queue-url", src, check=False)
        aws("delete-queue", "--queue-url", dlq, check=False)
