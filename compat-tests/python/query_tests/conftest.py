"""Fixtures for the Query-protocol suite: botocore/boto3 1.34.89 and awscli 1.32.89.

These are the last releases whose SQS model speaks the AWS Query protocol
(form-encoded requests, XML responses), so every call here exercises the
server's Query/XML path.
"""
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "common"))

import boto3  # noqa: E402
import botocore  # noqa: E402
from botocore.auth import SigV4Auth, SigV4QueryAuth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

import compat_util as cu  # noqa: E402

for _var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_PROFILE", "AWS_SESSION_TOKEN",
             "AWS_DEFAULT_PROFILE"):
    os.environ.pop(_var, None)
os.environ.setdefault("AWS_CONFIG_FILE", os.devnull)
os.environ.setdefault("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

NS = "{http://queue.amazonaws.com/doc/2012-11-05/}"

CONFIG = Config(
    retries={"total_max_attempts": 1, "mode": "standard"},
    connect_timeout=5,
    read_timeout=40,
    parameter_validation=False,
)


def make_client(endpoint, key="test", secret="test", region=cu.REGION):
    return boto3.session.Session().client(
        "sqs", endpoint_url=endpoint, region_name=region,
        aws_access_key_id=key, aws_secret_access_key=secret, config=CONFIG)


def pytest_report_header(config):
    return [f"boto3 {boto3.__version__}, botocore {botocore.__version__} (Query protocol)",
            f"endpoint {os.environ.get('CAUDA_ENDPOINT')}"]


@pytest.fixture(scope="session", autouse=True)
def _protocol_is_query():
    model = boto3.session.Session().client(
        "sqs", region_name="us-east-1", aws_access_key_id="x",
        aws_secret_access_key="x").meta.service_model
    assert model.protocol == "query", f"this suite needs a Query-era botocore, got {model.protocol}"


@pytest.fixture(scope="session")
def endpoint():
    return cu.endpoint()


@pytest.fixture(scope="session")
def strict_endpoint():
    return cu.strict_endpoint()


@pytest.fixture(scope="session")
def sqs(endpoint):
    return make_client(endpoint)


class QueueFactory:
    def __init__(self, client):
        self.client = client
        self.urls = []

    def __call__(self, prefix="q", fifo=False, attributes=None, tags=None, name=None):
        name = name or cu.unique_name(prefix, fifo)
        attrs = dict(attributes or {})
        if fifo:
            attrs.setdefault("FifoQueue", "true")
        kwargs = {"QueueName": name}
        if attrs:
            kwargs["Attributes"] = attrs
        if tags:
            kwargs["tags"] = tags
        url = self.client.create_queue(**kwargs)["QueueUrl"]
        self.urls.append(url)
        return url

    def cleanup(self):
        for url in self.urls:
            try:
                self.client.delete_queue(QueueUrl=url)
            except Exception:
                pass


@pytest.fixture
def make_queue(sqs):
    f = QueueFactory(sqs)
    yield f
    f.cleanup()


@pytest.fixture
def queue(make_queue):
    return make_queue("qstd")


@pytest.fixture
def fifo_queue(make_queue):
    return make_queue("qfifo", fifo=True)


def assert_error(excinfo, code, status=None, type_="Sender"):
    err = excinfo.value.response.get("Error", {})
    meta = excinfo.value.response.get("ResponseMetadata", {})
    detail = f"server said: {err!r}, HTTP {meta.get('HTTPStatusCode')}"
    assert err.get("Code") == code, detail
    if status is not None:
        assert meta.get("HTTPStatusCode") == status, detail
    if type_ is not None:
        assert err.get("Type") == type_, detail


# ---------------------------------------------------------------- raw Query

def signed_query(endpoint, params, path="/", method="POST", key="test", secret="test",
                 region=cu.REGION, extra_headers=None):
    """Send a hand-built, SigV4-signed Query request. Returns (status, headers, body bytes)."""
    from urllib.parse import urlencode
    body = urlencode(params)
    url = endpoint + path
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    headers.update(extra_headers or {})
    if method == "GET":
        req = AWSRequest(method="GET", url=url + ("?" + body if body else ""), headers={})
    else:
        req = AWSRequest(method="POST", url=url, data=body.encode(), headers=headers)
    SigV4Auth(Credentials(key, secret), "sqs", region).add_auth(req)
    prepared = req.prepare()
    r = urllib.request.Request(prepared.url, data=prepared.body if method != "GET" else None,
                               method=method, headers=dict(prepared.headers))
    return http_send(r)


def http_send(req):
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def xml(body):
    return ET.fromstring(body)


def xml_error(body):
    """(Type, Code, Message) of a Query ErrorResponse."""
    root = ET.fromstring(body)
    assert root.tag == NS + "ErrorResponse" or root.tag == "ErrorResponse", body
    err = root.find(NS + "Error")
    if err is None:
        err = root.find("Error")
    def t(name):
        el = err.find(NS + name)
        if el is None:
            el = err.find(name)
        return el.text if el is not None else None
    return t("Type"), t("Code"), t("Message")


# ---------------------------------------------------------------- awscli

AWS_BIN = os.path.join(os.path.dirname(sys.executable), "aws")


@pytest.fixture(scope="session")
def aws(endpoint):
    """Run `aws sqs ...` (awscli v1 from this venv). Returns (rc, parsed-json-or-None, stderr)."""
    env = dict(os.environ)
    env.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_PAGER": "",
                "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard"})

    def run(*args, check=True):
        cmd = [AWS_BIN, "sqs", *args, "--endpoint-url", endpoint, "--output", "json"]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        out = json.loads(p.stdout) if p.stdout.strip() else None
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(args)} -> rc {p.returncode}: {p.stderr.strip()}")
        return p.returncode, out, p.stderr
    return run
