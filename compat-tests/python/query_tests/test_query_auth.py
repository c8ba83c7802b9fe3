"""SigV4 (headers and presigned URLs) against the strict server with Query-era boto3 1.34.89.

Presigned URLs are tested here because only a Query-era botocore puts the
operation in the URL (?Action=ListQueues&X-Amz-...); the JSON-era one signs
content-type/x-amz-target headers and carries no Action, so a plain GET of
it cannot work on AWS either.
"""
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError

import compat_util as cu
from conftest import NS, assert_error, http_send, make_client, xml, xml_error


@pytest.fixture
def compat(strict_endpoint):
    c = make_client(strict_endpoint, cu.STRICT_KEY, cu.STRICT_SECRET)
    urls = []
    yield c, urls
    for u in urls:
        try:
            c.delete_queue(QueueUrl=u)
        except Exception:
            pass


def test_signed_query_requests_work(compat, strict_endpoint):
    c, urls = compat
    name = cu.unique_name("qauth")
    url = c.create_queue(QueueName=name)["QueueUrl"]
    urls.append(url)
    assert url == f"{strict_endpoint}/{cu.STRICT_ACCOUNT}/{name}"
    c.send_message(QueueUrl=url, MessageBody="signed-query")
    assert c.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "signed-query"


def test_wrong_secret(strict_endpoint):
    c = make_client(strict_endpoint, cu.STRICT_KEY, "wrong")
    with pytest.raises(ClientError) as ei:
        c.list_queues()
    assert_error(ei, "SignatureDoesNotMatch", 403)


def test_unknown_key(strict_endpoint):
    c = make_client(strict_endpoint, "AKIDNOBODY", "wrong")
    with pytest.raises(ClientError) as ei:
        c.list_queues()
    assert_error(ei, "InvalidClientTokenId", 403)


def test_region_from_credential_scope(strict_endpoint):
    # The region comes from the credential scope; another region signs fine.
    c = make_client(strict_endpoint, cu.STRICT_KEY, cu.STRICT_SECRET, region="eu-west-1")
    c.list_queues(QueueNamePrefix="none")


def test_accounts_isolated(compat, strict_endpoint):
    c, urls = compat
    other = make_client(strict_endpoint, cu.OTHER_KEY, cu.OTHER_SECRET)
    name = cu.unique_name("qiso")
    urls.append(c.create_queue(QueueName=name)["QueueUrl"])
    assert other.list_queues(QueueNamePrefix=name).get("QueueUrls", []) == []
    with pytest.raises(ClientError) as ei:
        other.get_queue_url(QueueName=name)
    assert_error(ei, "AWS.SimpleQueueService.NonExistentQueue", 400)


def test_presigned_list_queues(compat):
    c, urls = compat
    name = cu.unique_name("presign")
    url = c.create_queue(QueueName=name)["QueueUrl"]
    urls.append(url)
    presigned = c.generate_presigned_url("list_queues", Params={"QueueNamePrefix": name}, ExpiresIn=300,
                                         HttpMethod="GET")
    assert "Action=ListQueues" in presigned and "X-Amz-Signature=" in presigned
    status, headers, body = http_send(urllib.request.Request(presigned, method="GET"))
    assert status == 200, body
    root = xml(body)
    assert root.tag == NS + "ListQueuesResponse", body
    assert [u.text for u in root.iter(NS + "QueueUrl")] == [url]


def test_presigned_default_method_is_post(compat):
    """Without HttpMethod botocore signs the URL for the operation's method (POST).

    SigV4 covers the method, so that URL works with an (empty-bodied) POST and
    must fail with a GET.
    """
    c, urls = compat
    url = c.create_queue(QueueName=cu.unique_name("prespost"))["QueueUrl"]
    urls.append(url)
    presigned = c.generate_presigned_url("list_queues", ExpiresIn=300)
    status, _, body = http_send(urllib.request.Request(presigned, data=b"", method="POST"))
    assert status == 200, body
    assert url in [u.text for u in xml(body).iter(NS + "QueueUrl")]
    status, _, body = http_send(urllib.request.Request(presigned, method="GET"))
    assert status == 403, body
    assert xml_error(body)[1] == "SignatureDoesNotMatch"


def test_presigned_get_queue_attributes(compat):
    c, urls = compat
    url = c.create_queue(QueueName=cu.unique_name("presattr"))["QueueUrl"]
    urls.append(url)
    presigned = c.generate_presigned_url("get_queue_attributes",
                                         Params={"QueueUrl": url, "AttributeNames": ["QueueArn"]}, ExpiresIn=60,
                                         HttpMethod="GET")
    status, _, body = http_send(urllib.request.Request(presigned, method="GET"))
    assert status == 200, body
    vals = [v.text for v in xml(body).iter(NS + "Value")]
    assert vals == [cu.queue_arn(cu.name_of(url), account=cu.STRICT_ACCOUNT)]


def test_presigned_url_expires(strict_endpoint):
    c = make_client(strict_endpoint, cu.STRICT_KEY, cu.STRICT_SECRET)
    presigned = c.generate_presigned_url("list_queues", ExpiresIn=1, HttpMethod="GET")
    time.sleep(2.2)
    status, _, body = http_send(urllib.request.Request(presigned, method="GET"))
    assert 400 <= status < 500, (status, body)
    assert xml_error(body)[0] == "Sender"


def test_presigned_url_tampered(strict_endpoint):
    c = make_client(strict_endpoint, cu.STRICT_KEY, cu.STRICT_SECRET)
    presigned = c.generate_presigned_url("list_queues", Params={"QueueNamePrefix": "a"}, ExpiresIn=60,
                                         HttpMethod="GET")
    tampered = presigned.replace("QueueNamePrefix=a", "QueueNamePrefix=b")
    assert tampered != presigned
    status, _, body = http_send(urllib.request.Request(tampered, method="GET"))
    assert status == 403, body
    assert xml_error(body)[1] == "SignatureDoesNotMatch"


def test_presigned_url_wrong_secret(strict_endpoint):
    c = make_client(strict_endpoint, cu.STRICT_KEY, "bad-secret")
    status, _, body = http_send(urllib.request.Request(
        c.generate_presigned_url("list_queues", ExpiresIn=60, HttpMethod="GET"), method="GET"))
    assert status == 403, body
    assert xml_error(body)[1] == "SignatureDoesNotMatch"


def test_unsigned_rejected_on_strict(strict_endpoint):
    req = urllib.request.Request(strict_endpoint + "/?Action=ListQueues&Version=2012-11-05", method="GET")
    status, _, body = http_send(req)
    assert status == 403, body
    assert xml_error(body)[1] == "MissingAuthenticationToken"
