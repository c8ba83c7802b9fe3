"""Helpers for the AWS CLI v2 suite. The client is AWS CLI v2 from Debian bookworm's
`awscli` package (2.9.19), which speaks the AWS Query protocol to SQS, driven as a user
would: `/usr/bin/aws sqs ...` subprocesses.

A pyenv shim `aws` (CLI v1) may come first on PATH, so the binary is always run by its
absolute path (AWSCLI2_BIN overrides it) and its version is checked before anything else.
"""
import base64
import hashlib
import json
import os
import struct
import subprocess
import uuid

AWS_BIN = os.environ.get("AWSCLI2_BIN", "/usr/bin/aws")
ACCOUNT = "000000000000"
REGION = "us-east-1"

# The environment every `aws` run gets: static credentials, no config files, no pager,
# one attempt, and nothing from a Python environment that is not the CLI's own.
_SCRUB = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
          "AWS_ENDPOINT_URL_SQS", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")
ENV = {k: v for k, v in os.environ.items() if k not in _SCRUB}
ENV.update({"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
            "AWS_DEFAULT_REGION": REGION, "AWS_PAGER": "", "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_MAX_ATTEMPTS": "1",
            "AWS_RETRY_MODE": "standard", "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CLI_AUTO_PROMPT": "off"})


def run_aws(*args, timeout=60):
    """Run /usr/bin/aws with ARGS; returns (rc, stdout, stderr)."""
    p = subprocess.run([AWS_BIN, *args], env=ENV, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def cli_version():
    rc, out, err = run_aws("--version")
    return rc, (out + err).strip()


def unique_name(prefix, fifo=False):
    name = f"{prefix}-{uuid.uuid4().hex[:16]}"
    return name + ".fifo" if fifo else name


def queue_arn(name):
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def md5_hex(data):
    return hashlib.md5(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def md5_of_attributes(attrs):
    """SQS-REFERENCE §5.3, over the CLI's JSON shape (BinaryValue is base64 text)."""
    buf = b""

    def lp(b):
        return struct.pack(">I", len(b)) + b
    for name in sorted(attrs):
        v = attrs[name]
        buf += lp(name.encode()) + lp(v["DataType"].encode())
        if "StringValue" in v:
            buf += b"\x01" + lp(v["StringValue"].encode())
        else:
            buf += b"\x02" + lp(base64.b64decode(v["BinaryValue"]))
    return md5_hex(buf)
