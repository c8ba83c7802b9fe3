"""Queue management through current boto3 (AWS JSON 1.0 protocol)."""
import json
import time

import pytest
from botocore.exceptions import ClientError

import compat_util as cu
from conftest import assert_error


def test_create_queue_url_shape(sqs, make_queue, endpoint):
    name = cu.unique_name("shape")
    url = make_queue(name=name)
    assert url == f"{endpoint}/{cu.ACCOUNT}/{name}"
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url


def test_json_response_headers(sqs, make_queue):
    url = make_queue("hdr")
    resp = sqs.get_queue_url(QueueName=cu.name_of(url))
    headers = resp["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-type"].startswith("application/x-amz-json-1.0")
    assert headers.get("x-amzn-requestid"), headers
    assert resp["ResponseMetadata"]["RequestId"] == headers["x-amzn-requestid"]


def test_create_queue_idempotent_with_same_attributes(sqs, make_queue):
    name = cu.unique_name("idem")
    url = make_queue(name=name, attributes={"VisibilityTimeout": "45"})
    # Same attributes -> same URL.
    assert sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "45"})["QueueUrl"] == url
    # No attributes -> existing URL whatever the settings.
    assert sqs.create_queue(QueueName=name)["QueueUrl"] == url
    # A subset of matching defaults -> same URL.
    assert sqs.create_queue(QueueName=name, Attributes={"DelaySeconds": "0"})["QueueUrl"] == url


def test_create_queue_with_different_attributes_fails(sqs, make_queue):
    name = cu.unique_name("diff")
    make_queue(name=name, attributes={"VisibilityTimeout": "45"})
    with pytest.raises(sqs.exceptions.QueueNameExists) as ei:
        sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "46"})
    assert_error(ei, "QueueAlreadyExists", 400, query_code="QueueNameExists")


def test_create_queue_idempotency_follows_set_attributes(sqs, make_queue):
    name = cu.unique_name("follow")
    url = make_queue(name=name, attributes={"VisibilityTimeout": "45"})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "50"})
    assert sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "50"})["QueueUrl"] == url
    with pytest.raises(ClientError) as ei:
        sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "45"})
    assert_error(ei, "QueueAlreadyExists", 400)


def test_get_queue_url_missing_queue(sqs):
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as ei:
        sqs.get_queue_url(QueueName=cu.unique_name("missing"))
    assert_error(ei, "AWS.SimpleQueueService.NonExistentQueue", 400, query_code="QueueDoesNotExist")
    headers = ei.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers.get("x-amzn-query-error") == "AWS.SimpleQueueService.NonExistentQueue;Sender"
    assert ei.value.response["Error"]["Message"]


def test_operations_on_missing_queue(sqs, endpoint):
    url = f"{endpoint}/{cu.ACCOUNT}/{cu.unique_name('gone')}"
    calls = [
        lambda: sqs.send_message(QueueUrl=url, MessageBody="x"),
        lambda: sqs.receive_message(QueueUrl=url),
        lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]),
        lambda: sqs.delete_queue(QueueUrl=url),
        lambda: sqs.purge_queue(QueueUrl=url),
        lambda: sqs.list_queue_tags(QueueUrl=url),
    ]
    for call in calls:
        with pytest.raises(sqs.exceptions.QueueDoesNotExist) as ei:
            call()
        assert_error(ei, "AWS.SimpleQueueService.NonExistentQueue", 400)


def test_delete_queue(sqs, make_queue):
    url = make_queue("del")
    name = cu.name_of(url)
    sqs.send_message(QueueUrl=url, MessageBody="still here")
    sqs.delete_queue(QueueUrl=url)  # works whatever the queue holds
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=name)
    assert url not in sqs.list_queues(QueueNamePrefix=name).get("QueueUrls", [])


def test_list_queues_prefix(sqs, make_queue):
    prefix = cu.unique_name("lp")
    urls = {make_queue(name=f"{prefix}-{i}") for i in range(3)}
    make_queue(name=cu.unique_name("other"))
    resp = sqs.list_queues(QueueNamePrefix=prefix)
    assert set(resp["QueueUrls"]) == urls
    assert "NextToken" not in resp  # only with MaxResults


def test_list_queues_prefix_is_case_sensitive(sqs, make_queue):
    prefix = "CaseP" + cu.unique_name("x")
    make_queue(name=prefix)
    assert sqs.list_queues(QueueNamePrefix=prefix.lower()).get("QueueUrls", []) == []


def test_list_queues_paging(sqs, make_queue):
    prefix = cu.unique_name("page")
    urls = {make_queue(name=f"{prefix}-{i}") for i in range(5)}
    seen = []
    resp = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2)
    assert len(resp["QueueUrls"]) == 2
    assert resp.get("NextToken")
    pages = 1
    seen += resp["QueueUrls"]
    while resp.get("NextToken"):
        resp = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2, NextToken=resp["NextToken"])
        seen += resp.get("QueueUrls", [])
        pages += 1
        assert pages <= 5
    assert sorted(seen) == sorted(urls)
    assert len(seen) == len(set(seen))
    assert pages == 3


def test_list_queues_includes_new_queue(sqs, make_queue):
    url = make_queue("all")
    assert url in sqs.list_queues(QueueNamePrefix=cu.name_of(url))["QueueUrls"]


def _all_attrs(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def test_default_attributes_standard(sqs, make_queue):
    before = int(time.time())
    url = make_queue("defs")
    attrs = _all_attrs(sqs, url)
    assert set(attrs) == cu.NEW_STANDARD_ATTRIBUTES, attrs
    for k, v in cu.STANDARD_DEFAULTS.items():
        assert attrs[k] == v, (k, attrs)
    assert attrs["QueueArn"] == cu.queue_arn(cu.name_of(url))
    created = int(attrs["CreatedTimestamp"])  # epoch seconds
    assert before - 60 <= created <= time.time() + 60
    assert int(attrs["LastModifiedTimestamp"]) >= created


def test_default_attributes_fifo(sqs, make_queue):
    url = make_queue("fdefs", fifo=True)
    attrs = _all_attrs(sqs, url)
    assert set(attrs) == cu.NEW_STANDARD_ATTRIBUTES | cu.NEW_FIFO_EXTRA_ATTRIBUTES, attrs
    for k, v in {**cu.STANDARD_DEFAULTS, **cu.FIFO_DEFAULTS}.items():
        assert attrs[k] == v, (k, attrs)
    assert attrs["QueueArn"] == cu.queue_arn(cu.name_of(url))


def test_get_queue_attributes_without_names_returns_none(sqs, queue):
    resp = sqs.get_queue_attributes(QueueUrl=queue)
    assert resp.get("Attributes", {}) == {}


def test_get_selected_attributes(sqs, queue):
    attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["VisibilityTimeout", "QueueArn"])["Attributes"]
    assert attrs == {"VisibilityTimeout": "30", "QueueArn": cu.queue_arn(cu.name_of(queue))}


def test_create_queue_with_attributes(sqs, make_queue):
    wanted = {"VisibilityTimeout": "60", "DelaySeconds": "5", "MaximumMessageSize": "2048",
              "MessageRetentionPeriod": "120", "ReceiveMessageWaitTimeSeconds": "3"}
    url = make_queue("attrs", attributes=wanted)
    attrs = _all_attrs(sqs, url)
    for k, v in wanted.items():
        assert attrs[k] == v


def test_set_queue_attributes_round_trip(sqs, queue):
    created = int(_all_attrs(sqs, queue)["CreatedTimestamp"])
    wanted = {"VisibilityTimeout": "43200", "DelaySeconds": "900", "MaximumMessageSize": "1024",
              "MessageRetentionPeriod": "1209600", "ReceiveMessageWaitTimeSeconds": "20"}
    sqs.set_queue_attributes(QueueUrl=queue, Attributes=wanted)
    attrs = _all_attrs(sqs, queue)
    for k, v in wanted.items():
        assert attrs[k] == v
    assert int(attrs["LastModifiedTimestamp"]) >= created
    wanted = {"VisibilityTimeout": "0", "DelaySeconds": "0", "MaximumMessageSize": "1048576",
              "MessageRetentionPeriod": "60", "ReceiveMessageWaitTimeSeconds": "0"}
    sqs.set_queue_attributes(QueueUrl=queue, Attributes=wanted)
    attrs = _all_attrs(sqs, queue)
    for k, v in wanted.items():
        assert attrs[k] == v


@pytest.mark.parametrize("name,value", cu.OUT_OF_RANGE)
def test_set_queue_attributes_out_of_range(sqs, queue, name, value):
    with pytest.raises(ClientError) as ei:
        sqs.set_queue_attributes(QueueUrl=queue, Attributes={name: value})
    assert_error(ei, "InvalidAttributeValue", 400)
    assert _all_attrs(sqs, queue)[name] == cu.STANDARD_DEFAULTS[name]


@pytest.mark.parametrize("name,value", cu.OUT_OF_RANGE[::2])
def test_create_queue_out_of_range(sqs, name, value):
    qname = cu.unique_name("oor")
    with pytest.raises(ClientError) as ei:
        sqs.create_queue(QueueName=qname, Attributes={name: value})
    assert_error(ei, "InvalidAttributeValue", 400)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=qname)


def test_unknown_attribute_names(sqs, queue):
    with pytest.raises(ClientError) as ei:
        sqs.set_queue_attributes(QueueUrl=queue, Attributes={"Foobar": "1"})
    assert_error(ei, "InvalidAttributeName", 400)
    with pytest.raises(ClientError) as ei:
        sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["Foobar"])
    assert_error(ei, "InvalidAttributeName", 400)
    with pytest.raises(ClientError) as ei:
        sqs.create_queue(QueueName=cu.unique_name("unk"), Attributes={"Foobar": "1"})
    assert_error(ei, "InvalidAttributeName", 400)


def test_fifo_attributes_rejected_on_standard(sqs):
    for attrs in ({"FifoQueue": "false"}, {"ContentBasedDeduplication": "true"},
                  {"DeduplicationScope": "queue"}, {"FifoThroughputLimit": "perQueue"}):
        with pytest.raises(ClientError) as ei:
            sqs.create_queue(QueueName=cu.unique_name("nofifo"), Attributes=attrs)
        assert_error(ei, "InvalidAttributeName", 400)


def test_set_fifo_queue_attribute_on_standard(sqs, queue):
    with pytest.raises(ClientError) as ei:
        sqs.set_queue_attributes(QueueUrl=queue, Attributes={"FifoQueue": "true"})
    assert_error(ei, "InvalidAttributeName", 400)


def test_fifo_queue_type_cannot_change(sqs, fifo_queue):
    sqs.set_queue_attributes(QueueUrl=fifo_queue, Attributes={"FifoQueue": "true"})
    with pytest.raises(ClientError) as ei:
        sqs.set_queue_attributes(QueueUrl=fifo_queue, Attributes={"FifoQueue": "false"})
    assert_error(ei, "InvalidAttributeValue", 400)


def test_fifo_naming_rules(sqs, make_queue):
    # .fifo suffix without FifoQueue=true
    with pytest.raises(ClientError) as ei:
        sqs.create_queue(QueueName=cu.unique_name("sfx", fifo=True))
    assert_error(ei, "InvalidParameterValue", 400)
    # FifoQueue=true without the suffix
    with pytest.raises(ClientError) as ei:
        sqs.create_queue(QueueName=cu.unique_name("nosfx"), Attributes={"FifoQueue": "true"})
    assert_error(ei, "InvalidParameterValue", 400)
    # 80 characters including .fifo is fine
    name = ("f" + cu.unique_name("x"))[:75].ljust(75, "z") + ".fifo"
    assert len(name) == 80
    url = make_queue(name=name, fifo=True)
    assert cu.name_of(url) == name


@pytest.mark.parametrize("bad", ["has space", "dot.name", "semi;colon", "", "x" * 81])
def test_invalid_queue_names(sqs, bad):
    with pytest.raises(ClientError) as ei:
        sqs.create_queue(QueueName=bad)
    assert ei.value.response["Error"]["Code"] in ("InvalidParameterValue", "MissingParameter"), ei.value.response


def test_queue_name_80_chars_ok(sqs, make_queue):
    name = (cu.unique_name("l") + "_-" * 40)[:80]
    assert cu.name_of(make_queue(name=name)) == name


def test_boolean_attributes_case_insensitive(sqs, make_queue):
    url = make_queue("bool", fifo=True, attributes={"ContentBasedDeduplication": "True"})
    assert _all_attrs(sqs, url)["ContentBasedDeduplication"] == "true"
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"ContentBasedDeduplication": "FALSE"})
    assert _all_attrs(sqs, url)["ContentBasedDeduplication"] == "false"


def test_fifo_high_throughput_settings(sqs, make_queue):
    url = make_queue("ht", fifo=True, attributes={"DeduplicationScope": "messageGroup",
                                                    "FifoThroughputLimit": "perMessageGroupId"})
    attrs = _all_attrs(sqs, url)
    assert attrs["DeduplicationScope"] == "messageGroup"
    assert attrs["FifoThroughputLimit"] == "perMessageGroupId"


def test_tags_lifecycle(sqs, make_queue):
    url = make_queue("tags", tags={"team": "core", "env": "test"})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "core", "env": "test"}
    sqs.tag_queue(QueueUrl=url, Tags={"env": "prod", "empty": ""})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "core", "env": "prod", "empty": ""}
    sqs.untag_queue(QueueUrl=url, TagKeys=["team", "absent-key"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "prod", "empty": ""}
    sqs.untag_queue(QueueUrl=url, TagKeys=["env", "empty"])
    assert sqs.list_queue_tags(QueueUrl=url).get("Tags", {}) == {}


def test_tags_are_case_sensitive(sqs, queue):
    sqs.tag_queue(QueueUrl=queue, Tags={"Key": "A", "key": "b"})
    assert sqs.list_queue_tags(QueueUrl=queue)["Tags"] == {"Key": "A", "key": "b"}


def test_untagged_queue_has_no_tags(sqs, queue):
    assert sqs.list_queue_tags(QueueUrl=queue).get("Tags", {}) == {}


def test_add_and_remove_permission(sqs, queue):
    arn = cu.queue_arn(cu.name_of(queue))
    sqs.add_permission(QueueUrl=queue, Label="perm1", AWSAccountIds=["111122223333"],
                       Actions=["SendMessage"])
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["Policy"])["Attributes"]["Policy"])
    assert policy["Version"] == "2008-10-17"
    [stmt] = policy["Statement"]
    assert stmt["Sid"] == "perm1"
    assert stmt["Effect"] == "Allow"
    assert stmt["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    assert stmt["Action"] == "SQS:SendMessage"
    assert stmt["Resource"] == arn
    assert "Policy" in _all_attrs(sqs, queue)

    sqs.add_permission(QueueUrl=queue, Label="perm2", AWSAccountIds=["111122223333", "444455556666"],
                       Actions=["ReceiveMessage", "DeleteMessage"])
    policy = json.loads(_all_attrs(sqs, queue)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["perm1", "perm2"]
    stmt2 = policy["Statement"][1]
    assert sorted(stmt2["Principal"]["AWS"]) == ["arn:aws:iam::111122223333:root",
                                                 "arn:aws:iam::444455556666:root"]
    assert sorted(stmt2["Action"]) == ["SQS:DeleteMessage", "SQS:ReceiveMessage"]

    # Duplicate label
    with pytest.raises(ClientError) as ei:
        sqs.add_permission(QueueUrl=queue, Label="perm1", AWSAccountIds=["111122223333"],
                           Actions=["SendMessage"])
    assert_error(ei, "InvalidParameterValue", 400)

    sqs.remove_permission(QueueUrl=queue, Label="perm1")
    policy = json.loads(_all_attrs(sqs, queue)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["perm2"]
    sqs.remove_permission(QueueUrl=queue, Label="perm2")
    assert "Policy" not in _all_attrs(sqs, queue)

    with pytest.raises(ClientError) as ei:
        sqs.remove_permission(QueueUrl=queue, Label="perm1")
    assert_error(ei, "InvalidParameterValue", 400)


def test_queue_url_path_is_used_not_host(sqs, make_queue):
    # Clients may hold URLs built for another host name; the path decides.
    url = make_queue("host")
    other = f"http://some-other-host.example:1234/{cu.ACCOUNT}/{cu.name_of(url)}"
    sqs.send_message(QueueUrl=other, MessageBody="via-path")
    msgs = sqs.receive_message(QueueUrl=url).get("Messages", [])
    assert [m["Body"] for m in msgs] == ["via-path"]


@pytest.mark.parametrize("tags", [{"aws:reserved": "x"}, {"k" * 129: "x"}, {"key": "v" * 257}],
                         ids=["aws-prefix", "key-too-long", "value-too-long"])
def test_invalid_tags(sqs, queue, tags):
    # Quotas related to queues: keys 1-128 chars, not starting with aws:, values 0-256 chars.
    with pytest.raises(ClientError) as ei:
        sqs.tag_queue(QueueUrl=queue, Tags=tags)
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, ei.value.response
    assert sqs.list_queue_tags(QueueUrl=queue).get("Tags", {}) == {}


def test_queue_names_are_case_sensitive(sqs, make_queue):
    base = cu.unique_name("Case")
    upper = make_queue(name=base.upper().replace("-", "_"))
    lower = make_queue(name=base.lower().replace("-", "_"))
    assert upper != lower
    sqs.send_message(QueueUrl=upper, MessageBody="upper")
    assert sqs.receive_message(QueueUrl=lower).get("Messages", []) == []


def test_kms_and_sqs_managed_sse(sqs, make_queue):
    url = make_queue("kms", attributes={"KmsMasterKeyId": "alias/aws/sqs"})
    attrs = _all_attrs(sqs, url)
    assert attrs["KmsMasterKeyId"] == "alias/aws/sqs"
    assert attrs["KmsDataKeyReusePeriodSeconds"] == "300"
    assert attrs["SqsManagedSseEnabled"] == "false"
    with pytest.raises(ClientError) as ei:
        sqs.create_queue(QueueName=cu.unique_name("sse"),
                         Attributes={"KmsMasterKeyId": "alias/aws/sqs", "SqsManagedSseEnabled": "true"})
    assert_error(ei, "InvalidAttributeName", 400)


def test_policy_attribute_set_and_cleared(sqs, queue):
    arn = cu.queue_arn(cu.name_of(queue))
    pol = {"Version": "2012-10-17", "Statement": [{"Sid": "s1", "Effect": "Allow", "Principal": "*",
                                                    "Action": "sqs:SendMessage", "Resource": arn}]}
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"Policy": json.dumps(pol)})
    assert json.loads(_all_attrs(sqs, queue)["Policy"]) == pol
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"Policy": ""})
    assert "Policy" not in _all_attrs(sqs, queue)


def test_get_queue_url_with_owner_account(sqs, make_queue):
    url = make_queue("owner")
    assert sqs.get_queue_url(QueueName=cu.name_of(url), QueueOwnerAWSAccountId=cu.ACCOUNT)["QueueUrl"] == url
