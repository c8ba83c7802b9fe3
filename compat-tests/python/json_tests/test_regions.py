"""Queues are regional: boto3 clients configured for us-east-1 and eu-west-1 against the same
endpoint see two separate sets of queues (the region comes from the SigV4 credential scope)."""
import json

import pytest
from botocore.exceptions import ClientError

import compat_util as cu
from conftest import QueueFactory, assert_error, make_client

US, EU = "us-east-1", "eu-west-1"


@pytest.fixture
def regions(endpoint):
    us, eu = make_client(endpoint, region=US), make_client(endpoint, region=EU)
    us_queues, eu_queues = QueueFactory(us), QueueFactory(eu)
    yield us, eu, us_queues, eu_queues
    us_queues.cleanup()
    eu_queues.cleanup()


def arn_of(client, url):
    return client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def bodies(client, url):
    got = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return sorted(m["Body"] for m in got.get("Messages", []))


def assert_missing(client, name):
    with pytest.raises(ClientError) as ei:
        client.get_queue_url(QueueName=name)
    assert_error(ei, "AWS.SimpleQueueService.NonExistentQueue", 400)


def test_same_name_two_regions_two_queues(regions):
    us, eu, us_queues, eu_queues = regions
    name = cu.unique_name("twin")
    us_url = us_queues(name=name)
    eu_url = eu_queues(name=name)
    assert arn_of(us, us_url) == cu.queue_arn(name, region=US)
    assert arn_of(eu, eu_url) == cu.queue_arn(name, region=EU)

    us.send_message(QueueUrl=us_url, MessageBody="from us")
    assert bodies(eu, eu_url) == []
    eu.send_message(QueueUrl=eu_url, MessageBody="from eu")
    assert bodies(us, us_url) == ["from us"]
    assert bodies(eu, eu_url) == ["from eu"]


def test_get_queue_url_and_list_queues_per_region(regions):
    us, eu, us_queues, eu_queues = regions
    prefix = cu.unique_name("where")
    eu_url = eu_queues(name=prefix + "-eu")
    us_url = us_queues(name=prefix + "-us")
    assert_missing(us, prefix + "-eu")
    assert_missing(eu, prefix + "-us")
    with pytest.raises(ClientError) as ei:
        us.get_queue_url(QueueName=prefix + "-eu", QueueOwnerAWSAccountId=cu.ACCOUNT)
    assert_error(ei, "AWS.SimpleQueueService.NonExistentQueue", 400)
    assert eu.get_queue_url(QueueName=prefix + "-eu")["QueueUrl"] == eu_url
    assert us.list_queues(QueueNamePrefix=prefix).get("QueueUrls", []) == [us_url]
    assert eu.list_queues(QueueNamePrefix=prefix).get("QueueUrls", []) == [eu_url]


def test_delete_in_one_region_leaves_the_other(regions):
    us, eu, us_queues, eu_queues = regions
    name = cu.unique_name("del")
    us_url = us_queues(name=name)
    eu_url = eu_queues(name=name)
    eu.send_message(QueueUrl=eu_url, MessageBody="kept")
    us.delete_queue(QueueUrl=us_url)
    assert_missing(us, name)
    assert eu.get_queue_url(QueueName=name)["QueueUrl"] == eu_url
    assert bodies(eu, eu_url) == ["kept"]


def test_dead_letter_queues_stay_in_their_region(regions):
    us, eu, us_queues, eu_queues = regions
    dlq_name = cu.unique_name("dlq")
    us_dlq = us_queues(name=dlq_name)
    eu_dlq = eu_queues(name=dlq_name)
    src = us_queues("src")

    def policy(region):
        return json.dumps({"deadLetterTargetArn": cu.queue_arn(dlq_name, region=region), "maxReceiveCount": 1})

    with pytest.raises(ClientError) as ei:
        us.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": policy(EU)})
    assert_error(ei, "InvalidParameterValue", 400)
    assert "Dead letter target does not exist." in ei.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as ei:
        us.create_queue(QueueName=cu.unique_name("src"), Attributes={"RedrivePolicy": policy(EU)})
    assert_error(ei, "InvalidParameterValue", 400)

    us.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": policy(US)})
    assert us.list_dead_letter_source_queues(QueueUrl=us_dlq)["queueUrls"] == [src]
    assert eu.list_dead_letter_source_queues(QueueUrl=eu_dlq)["queueUrls"] == []

    us.send_message(QueueUrl=src, MessageBody="to the dlq")
    assert len(us.receive_message(QueueUrl=src, VisibilityTimeout=0)["Messages"]) == 1
    assert bodies(us, src) == []  # moved on this receive attempt
    assert bodies(us, us_dlq) == ["to the dlq"]
    assert bodies(eu, eu_dlq) == []
