"""Queue policies between accounts (SQS-REFERENCE §9), checked through whichever client a
suite drives against the strict server (two credentials, accounts STRICT_ACCOUNT and
OTHER_ACCOUNT). Each suite's test_cross_account.py runs every check here with its own
`make_client` and `assert_error`."""
import json

import pytest
from botocore.exceptions import ClientError

import compat_util as cu


def _clients(make_client, endpoint):
    owner = make_client(endpoint, cu.STRICT_KEY, cu.STRICT_SECRET)
    other = make_client(endpoint, cu.OTHER_KEY, cu.OTHER_SECRET)
    return owner, other


def _denied(ei, url, assert_error):
    assert_error(ei, "AccessDenied", 403)
    assert ei.value.response["Error"]["Message"] == f"Access to the resource {url} is denied."


def _depth(client, url):
    a = client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return a["ApproximateNumberOfMessages"], a["ApproximateNumberOfMessagesNotVisible"]


def without_a_policy_the_other_account_is_refused(make_client, endpoint, assert_error):
    owner, other = _clients(make_client, endpoint)
    name = cu.unique_name("xacct")
    url = owner.create_queue(QueueName=name)["QueueUrl"]
    try:
        owner.send_message(QueueUrl=url, MessageBody="mine")
        calls = [
            lambda: other.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=cu.STRICT_ACCOUNT),
            lambda: other.send_message(QueueUrl=url, MessageBody="theirs"),
            lambda: other.receive_message(QueueUrl=url),
            lambda: other.purge_queue(QueueUrl=url),
            lambda: other.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]),
            lambda: other.tag_queue(QueueUrl=url, Tags={"k": "v"}),
            lambda: other.delete_queue(QueueUrl=url),
        ]
        for call in calls:
            with pytest.raises(ClientError) as ei:
                call()
            _denied(ei, url, assert_error)
        assert _depth(owner, url) == ("1", "0")
        assert "Tags" not in owner.list_queue_tags(QueueUrl=url)
    finally:
        owner.delete_queue(QueueUrl=url)


def add_permission_opens_only_what_it_names(make_client, endpoint, assert_error):
    owner, other = _clients(make_client, endpoint)
    url = owner.create_queue(QueueName=cu.unique_name("xperm"))["QueueUrl"]
    try:
        owner.add_permission(QueueUrl=url, Label="other-sends", AWSAccountIds=[cu.OTHER_ACCOUNT],
                             Actions=["SendMessage"])
        policy = json.loads(owner.get_queue_attributes(
            QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
        assert policy["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{cu.OTHER_ACCOUNT}:root"}
        other.send_message(QueueUrl=url, MessageBody="granted")
        r = other.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "batched"}])
        assert [e["Id"] for e in r["Successful"]] == ["a"]
        with pytest.raises(ClientError) as ei:
            other.receive_message(QueueUrl=url)
        _denied(ei, url, assert_error)
        assert _depth(owner, url) == ("2", "0")
        owner.remove_permission(QueueUrl=url, Label="other-sends")
        with pytest.raises(ClientError) as ei:
            other.send_message(QueueUrl=url, MessageBody="closed again")
        _denied(ei, url, assert_error)
    finally:
        owner.delete_queue(QueueUrl=url)


CHECKS = [
    without_a_policy_the_other_account_is_refused,
    add_permission_opens_only_what_it_names,
]
