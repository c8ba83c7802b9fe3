"""Fixtures for the AWS CLI v2 suite (Debian bookworm's awscli 2.9.19, AWS Query protocol)."""
import json
import os

import pytest

from cli2 import AWS_BIN, cli_version, run_aws, unique_name


def pytest_report_header(config):
    return [f"{AWS_BIN}: {cli_version()[1]}", f"endpoint {os.environ.get('CAUDA_ENDPOINT')}"]


@pytest.fixture(scope="session", autouse=True)
def _is_cli_v2():
    rc, version = cli_version()
    assert rc == 0 and version.startswith("aws-cli/2."), f"{AWS_BIN} is not AWS CLI v2: rc {rc}, {version!r}"


@pytest.fixture(scope="session")
def endpoint():
    ep = os.environ.get("CAUDA_ENDPOINT")
    if not ep:
        raise RuntimeError("CAUDA_ENDPOINT is not set (run compat-tests/run.sh)")
    return ep.rstrip("/")


@pytest.fixture(scope="session")
def sqs(endpoint):
    """sqs(*args, check=True, endpoint_url=...) -> (rc, parsed JSON or None, stderr)."""
    def run(*args, check=True, endpoint_url=endpoint):
        rc, out, err = run_aws("sqs", *args, "--endpoint-url", endpoint_url, "--output", "json")
        if check and rc != 0:
            raise AssertionError(f"aws sqs {' '.join(args)} -> rc {rc}: {err.strip()}")
        return rc, (json.loads(out) if out.strip() else None), err
    return run


class Queues:
    def __init__(self, sqs):
        self.sqs, self.urls = sqs, []

    def create(self, prefix, *args, name=None):
        name = name or unique_name(prefix)
        _, out, _ = self.sqs("create-queue", "--queue-name", name, *args)
        self.urls.append(out["QueueUrl"])
        return name, out["QueueUrl"]

    def cleanup(self):
        for url in self.urls:
            self.sqs("delete-queue", "--queue-url", url, check=False)


@pytest.fixture
def queues(sqs):
    q = Queues(sqs)
    yield q
    q.cleanup()


