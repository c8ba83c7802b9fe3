"""Queue management through Query-protocol botocore 1.34.89 (form POST, XML replies)."""
import json
import time

import pytest
from botocore.exceptions import ClientError

import compat_util as cu
from conftest import assert_error


def all_attrs(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def test_create_and_get_queue_url(sqs, make_queue, endpoint):
    name = cu.unique_name("qshape")
    url = make_queue(name=name)
    assert url == f"{endpoint}/{cu.ACCOUNT}/{name}"
    resp = sqs.get_queue_url(QueueName=name)
    assert resp["QueueUrl"] == url
    assert resp["ResponseMetadata"]["RequestId"]  # from <ResponseMetadata><RequestId>


def test_create_queue_idempotency(sqs, make_queue):
    name = cu.unique_name("qidem")
    url = make_queue(name=name, attributes={"VisibilityTimeout": "45", "DelaySeconds": "3"})
    assert sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "45"})["QueueUrl"] == url
    assert sqs.create_queue(QueueName=name)["QueueUrl"] == url
    with pytest.raises(sqs.exceptions.QueueNameExists) as ei:
        sqs.create_queue(QueueName=name, Attributes={"DelaySeconds": "4"})
    assert_error(ei, "QueueAlreadyExists", 400)


def test_missing_queue(sqs, endpoint):
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as ei:
        sqs.get_queue_url(QueueName=cu.unique_name("qmissing"))
    assert_error(ei, "AWS.SimpleQueueService.NonExistentQueue", 400)
    assert "does not exist" in ei.value.response["Error"]["Message"]
    assert ei.value.response["ResponseMetadata"]["RequestId"]
    url = f"{endpoint}/{cu.ACCOUNT}/{cu.unique_name('qgone')}"
    for call in (lambda: sqs.send_message(QueueUrl=url, MessageBody="x"),
                 lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]),
                 lambda: sqs.delete_queue(QueueUrl=url)):
        with pytest.raises(sqs.exceptions.QueueDoesNotExist) as ei:
            call()
        assert_error(ei, "AWS.SimpleQueueService.NonExistentQueue", 400)


def test_list_queues_prefix_and_paging(sqs, make_queue):
    prefix = cu.unique_name("qlp")
    urls = {make_queue(name=f"{prefix}-{i}") for i in range(5)}
    make_queue("qlp-other")
    resp = sqs.list_queues(QueueNamePrefix=prefix)
    assert set(resp["QueueUrls"]) == urls
    assert "NextToken" not in resp
    seen, token, pages = [], None, 0
    while True:
        kw = {"NextToken": token} if token else {}
        resp = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2, **kw)
        pages += 1
        seen += resp.get("QueueUrls", [])
        token = resp.get("NextToken")
        if not token or pages > 5:
            break
    assert pages == 3
    assert sorted(seen) == sorted(urls)


def test_list_queues_no_match(sqs):
    assert sqs.list_queues(QueueNamePrefix=cu.unique_name("qnomatch")).get("QueueUrls", []) == []


def test_delete_queue(sqs, make_queue):
    url = make_queue("qdel")
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=cu.name_of(url))


def test_default_attributes(sqs, make_queue):
    url = make_queue("qdefs")
    attrs = all_attrs(sqs, url)
    assert set(attrs) == cu.NEW_STANDARD_ATTRIBUTES
    for k, v in cu.STANDARD_DEFAULTS.items():
        assert attrs[k] == v, k
    assert attrs["QueueArn"] == cu.queue_arn(cu.name_of(url))
    assert abs(int(attrs["CreatedTimestamp"]) - time.time()) < 120

    furl = make_queue("qfdefs", fifo=True)
    fattrs = all_attrs(sqs, furl)
    assert set(fattrs) == cu.NEW_STANDARD_ATTRIBUTES | cu.NEW_FIFO_EXTRA_ATTRIBUTES
    for k, v in {**cu.STANDARD_DEFAULTS, **cu.FIFO_DEFAULTS}.items():
        assert fattrs[k] == v, k


def test_get_queue_attributes_without_names(sqs, queue):
    assert sqs.get_queue_attributes(QueueUrl=queue).get("Attributes", {}) == {}


def test_set_and_get_attributes(sqs, queue):
    wanted = {"VisibilityTimeout": "120", "DelaySeconds": "10", "MaximumMessageSize": "4096",
              "MessageRetentionPeriod": "3600", "ReceiveMessageWaitTimeSeconds": "1"}
    sqs.set_queue_attributes(QueueUrl=queue, Attributes=wanted)
    got = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=list(wanted))["Attributes"]
    assert got == wanted


@pytest.mark.parametrize("name,value", cu.OUT_OF_RANGE)
def test_attribute_out_of_range(sqs, queue, name, value):
    with pytest.raises(ClientError) as ei:
        sqs.set_queue_attributes(QueueUrl=queue, Attributes={name: value})
    assert_error(ei, "InvalidAttributeValue", 400)


def test_unknown_attribute(sqs, queue):
    with pytest.raises(ClientError) as ei:
        sqs.set_queue_attributes(QueueUrl=queue, Attributes={"Foobar": "1"})
    assert_error(ei, "InvalidAttributeName", 400)
    assert "Foobar" in ei.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as ei:
        sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["Foobar"])
    assert_error(ei, "InvalidAttributeName", 400)


def test_fifo_name_rules(sqs):
    with pytest.raises(ClientError) as ei:
        sqs.create_queue(QueueName=cu.unique_name("qsfx", fifo=True))
    assert_error(ei, "InvalidParameterValue", 400)
    with pytest.raises(ClientError) as ei:
        sqs.create_queue(QueueName=cu.unique_name("qnosfx"), Attributes={"FifoQueue": "true"})
    assert_error(ei, "InvalidParameterValue", 400)
    with pytest.raises(ClientError) as ei:
        sqs.create_queue(QueueName=cu.unique_name("qstdfifo"), Attributes={"FifoQueue": "false"})
    assert_error(ei, "InvalidAttributeName", 400)
    with pytest.raises(ClientError) as ei:
        sqs.create_queue(QueueName="bad name!")
    assert_error(ei, "InvalidParameterValue", 400)


def test_tags(sqs, make_queue):
    url = make_queue("qtags", tags={"a": "1", "b": "2"})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"a": "1", "b": "2"}
    sqs.tag_queue(QueueUrl=url, Tags={"b": "3", "c": ""})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"a": "1", "b": "3", "c": ""}
    sqs.untag_queue(QueueUrl=url, TagKeys=["a", "b", "c"])
    assert sqs.list_queue_tags(QueueUrl=url).get("Tags", {}) == {}


def test_permissions(sqs, queue):
    sqs.add_permission(QueueUrl=queue, Label="qperm", AWSAccountIds=["123456789012"],
                       Actions=["ReceiveMessage"])
    pol = json.loads(all_attrs(sqs, queue)["Policy"])
    [st] = pol["Statement"]
    assert st["Sid"] == "qperm" and st["Action"] == "SQS:ReceiveMessage"
    assert st["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert st["Resource"] == cu.queue_arn(cu.name_of(queue))
    with pytest.raises(ClientError) as ei:
        sqs.add_permission(QueueUrl=queue, Label="qperm", AWSAccountIds=["123456789012"],
                           Actions=["ReceiveMessage"])
    assert_error(ei, "InvalidParameterValue", 400)
    sqs.remove_permission(QueueUrl=queue, Label="qperm")
    assert "Policy" not in all_attrs(sqs, queue)
    with pytest.raises(ClientError) as ei:
        sqs.remove_permission(QueueUrl=queue, Label="qperm")
    assert_error(ei, "InvalidParameterValue", 400)
