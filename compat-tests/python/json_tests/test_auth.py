"""SigV4 against the strict server (--auth strict, two credentials) with current boto3 (JSON)."""
import json
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

import compat_util as cu
from conftest import assert_error, make_client


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


def test_health(endpoint, strict_endpoint):
    for ep in (endpoint, strict_endpoint):
        with urllib.request.urlopen(f"{ep}/health", timeout=5) as r:
            assert r.status == 200


def test_right_secret_works(compat, strict_endpoint):
    c, urls = compat
    name = cu.unique_name("auth")
    url = c.create_queue(QueueName=name)["QueueUrl"]
    urls.append(url)
    assert url == f"{strict_endpoint}/{cu.STRICT_ACCOUNT}/{name}"
    assert url in c.list_queues(QueueNamePrefix=name)["QueueUrls"]
    c.send_message(QueueUrl=url, MessageBody="signed")
    [m] = c.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"])["Messages"]
    assert m["Body"] == "signed"
    arn = c.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert arn == cu.queue_arn(name, account=cu.STRICT_ACCOUNT)


def test_wrong_secret(strict_endpoint):
    c = make_client(strict_endpoint, cu.STRICT_KEY, "not-the-secret")
    with pytest.raises(ClientError) as ei:
        c.list_queues()
    assert_error(ei, "SignatureDoesNotMatch", 403)
    assert ei.value.response["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-query-error") == \
        "SignatureDoesNotMatch;Sender"


def test_unknown_access_key(strict_endpoint):
    c = make_client(strict_endpoint, "AKIDUNKNOWN", "whatever")
    with pytest.raises(ClientError) as ei:
        c.list_queues()
    assert_error(ei, "InvalidClientTokenId", 403)


def test_auto_mode_accepts_any_well_formed_signature(endpoint):
    c = make_client(endpoint, "AKIDANYTHING", "any-secret-at-all")
    c.list_queues(QueueNamePrefix="nothing-here")


def test_accounts_are_isolated(compat, strict_endpoint):
    c, urls = compat
    other = make_client(strict_endpoint, cu.OTHER_KEY, cu.OTHER_SECRET)
    name = cu.unique_name("iso")
    url = c.create_queue(QueueName=name)["QueueUrl"]
    urls.append(url)
    assert f"/{cu.STRICT_ACCOUNT}/" in url
    assert other.list_queues(QueueNamePrefix=name).get("QueueUrls", []) == []
    with pytest.raises(other.exceptions.QueueDoesNotExist):
        other.get_queue_url(QueueName=name)
    # The other account can make its own queue with the same name.
    url2 = other.create_queue(QueueName=name)["QueueUrl"]
    try:
        assert url2 == f"{strict_endpoint}/{cu.OTHER_ACCOUNT}/{name}"
        assert url2 != url
        other.send_message(QueueUrl=url2, MessageBody="other")
        assert c.receive_message(QueueUrl=url).get("Messages", []) == []
        assert other.get_queue_url(QueueName=name)["QueueUrl"] == url2
        assert c.get_queue_url(QueueName=name)["QueueUrl"] == url
    finally:
        other.delete_queue(QueueUrl=url2)


def _raw_json(ep, target, body):
    req = urllib.request.Request(
        ep + "/", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"AmazonSQS.{target}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest.mark.parametrize("which", ["auto", "strict"])
def test_unsigned_json_request_rejected(endpoint, strict_endpoint, which):
    ep = endpoint if which == "auto" else strict_endpoint
    status, headers, body = _raw_json(ep, "ListQueues", {})
    assert status == 403, body
    lower = {k.lower(): v for k, v in headers.items()}
    assert lower.get("x-amzn-query-error", "").startswith("MissingAuthenticationToken"), (headers, body)
    assert "MissingAuthenticationToken" in json.loads(body)["__type"]


def _skewed(monkeypatch, minutes):
    import datetime

    import botocore.auth
    real = botocore.auth.get_current_datetime
    monkeypatch.setattr(botocore.auth, "get_current_datetime",
                        lambda *a, **k: real(*a, **k) - datetime.timedelta(minutes=minutes))


def test_clock_skew_over_15_minutes_rejected(strict_endpoint, monkeypatch):
    _skewed(monkeypatch, 20)
    c = make_client(strict_endpoint, cu.STRICT_KEY, cu.STRICT_SECRET)
    with pytest.raises(ClientError) as ei:
        c.list_queues()
    err = ei.value.response["Error"]
    # AWS documents RequestExpired (400); some Query services say SignatureDoesNotMatch (403).
    assert err["Code"] in ("RequestExpired", "SignatureDoesNotMatch"), ei.value.response
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403)


def test_clock_skew_within_15_minutes_accepted(strict_endpoint, monkeypatch):
    _skewed(monkeypatch, 5)
    make_client(strict_endpoint, cu.STRICT_KEY, cu.STRICT_SECRET).list_queues()


def test_incomplete_authorization_header(strict_endpoint):
    import datetime
    amz_date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    req = urllib.request.Request(
        strict_endpoint + "/", data=b"{}", method="POST",
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.ListQueues",
                 "X-Amz-Date": amz_date,
                 "Authorization": f"AWS4-HMAC-SHA256 Credential={cu.STRICT_KEY}/{amz_date[:8]}/us-east-1/sqs/aws4_request"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status, headers, body = r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        status, headers, body = e.code, dict(e.headers), e.read()
    assert status == 400, (status, body)
    lower = {k.lower(): v for k, v in headers.items()}
    assert lower.get("x-amzn-query-error", "").startswith("IncompleteSignature"), (headers, body)
