"""Fixtures for the boto3 (current, JSON protocol) suite.

Endpoints come from the environment (set by compat-tests/run.sh):
  CAUDA_ENDPOINT         server started with --in-memory (auth auto)
  CAUDA_STRICT_ENDPOINT  server started with --auth strict and two credentials
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "common"))

import boto3  # noqa: E402
import botocore  # noqa: E402
from botocore.config import Config  # noqa: E402

import compat_util as cu  # noqa: E402

for _var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
    os.environ.pop(_var, None)
os.environ.setdefault("AWS_CONFIG_FILE", os.devnull)
os.environ.setdefault("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

CONFIG = Config(
    retries={"total_max_attempts": 1, "mode": "standard"},
    connect_timeout=5,
    read_timeout=40,
    # Send what the test says, even when botocore would refuse it locally:
    # the point is to see the *server's* answer.
    parameter_validation=False,
)


def make_client(endpoint, key="test", secret="test", region=cu.REGION):
    return boto3.session.Session().client(
        "sqs",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=CONFIG,
    )


def pytest_report_header(config):
    return [f"boto3 {boto3.__version__}, botocore {botocore.__version__}",
            f"endpoint {os.environ.get('CAUDA_ENDPOINT')}"]


@pytest.fixture(scope="session", autouse=True)
def _protocol_is_json():
    model = boto3.session.Session().client(
        "sqs", region_name="us-east-1", aws_access_key_id="x",
        aws_secret_access_key="x").meta.service_model
    assert model.protocol == "json", f"this suite needs a JSON-era botocore, got {model.protocol}"


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
    """Creates uniquely named queues and deletes them at teardown."""

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
    return make_queue("std")


@pytest.fixture
def fifo_queue(make_queue):
    return make_queue("fifo", fifo=True)


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def http_status(excinfo):
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def assert_error(excinfo, code, status=None, query_code=None):
    """Assert the botocore ClientError carries the AWS Query-compatible code.

    For the JSON protocol botocore reports Error.Code from the
    x-amzn-query-error header and Error.QueryErrorCode from __type.
    """
    err = excinfo.value.response.get("Error", {})
    meta = excinfo.value.response.get("ResponseMetadata", {})
    detail = f"server said: {err!r}, HTTP {meta.get('HTTPStatusCode')}, headers {meta.get('HTTPHeaders')}"
    assert err.get("Code") == code, detail
    if status is not None:
        assert meta.get("HTTPStatusCode") == status, detail
    if query_code is not None:
        assert err.get("QueryErrorCode") == query_code, detail
