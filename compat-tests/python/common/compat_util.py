"""Helpers shared by both Python suites (JSON-era boto3 and Query-era botocore).

Nothing here talks to the server on its own; it only computes what AWS
documents (MD5 digests, names) so the tests can compare against the wire.
"""
import base64
import hashlib
import os
import struct
import time
import uuid

ACCOUNT = os.environ.get("CAUDA_ACCOUNT_ID", "000000000000")
REGION = os.environ.get("CAUDA_REGION", "us-east-1")
STRICT_ACCOUNT = "111111111111"
OTHER_ACCOUNT = "222222222222"
STRICT_KEY, STRICT_SECRET = "AKIDCOMPAT", "compatsecret"
OTHER_KEY, OTHER_SECRET = "AKIDOTHER", "othersecret"


def endpoint():
    ep = os.environ.get("CAUDA_ENDPOINT")
    if not ep:
        raise RuntimeError("CAUDA_ENDPOINT is not set (run compat-tests/run.sh)")
    return ep.rstrip("/")


def strict_endpoint():
    ep = os.environ.get("CAUDA_STRICT_ENDPOINT")
    if not ep:
        raise RuntimeError("CAUDA_STRICT_ENDPOINT is not set (run compat-tests/run.sh)")
    return ep.rstrip("/")


def unique_name(prefix="q", fifo=False):
    """A queue name no other test uses: [A-Za-z0-9_-], <= 80 chars."""
    name = f"{prefix}-{uuid.uuid4().hex[:16]}"
    return name + ".fifo" if fifo else name


def queue_arn(name, account=ACCOUNT, region=REGION):
    return f"arn:aws:sqs:{region}:{account}:{name}"


def name_of(url):
    return url.rstrip("/").rsplit("/", 1)[-1]


def md5_hex(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.md5(data).hexdigest()


def md5_of_message_attributes(attrs):
    """MD5OfMessageAttributes per the SQS developer guide ("Message metadata").

    attrs is the boto3 shape: {name: {"DataType": ..., "StringValue"|"BinaryValue": ...}}.
    BinaryValue is raw bytes (boto3 decodes base64 for us).
    """
    buf = bytearray()

    def lp(b):
        buf.extend(struct.pack(">I", len(b)))
        buf.extend(b)

    for name in sorted(attrs):
        v = attrs[name]
        lp(name.encode("utf-8"))
        lp(v["DataType"].encode("utf-8"))
        if "StringValue" in v:
            buf.append(1)
            lp(v["StringValue"].encode("utf-8"))
        else:
            buf.append(2)
            b = v["BinaryValue"]
            if isinstance(b, str):
                b = base64.b64decode(b)
            lp(bytes(b))
    return hashlib.md5(bytes(buf)).hexdigest()


# Test vectors from SQS-REFERENCE §5.3 (all but the last two recorded on AWS).
TRACEPARENT = b"traceparent\x1e00-774062d6c37081a5a0b9b5b88e30627c-2d2482211f6489da-01"
MD5_VECTORS = [
    ("my-attribute", {"MyAttribute": {"DataType": "String", "StringValue": "foobar"}},
     "adb59cd4678ea5a855436b949cd07ab6"),
    ("foo-bar", {"Foo": {"DataType": "String", "StringValue": "Bar"}},
     "ae7155c6026991b6d54b11589678bf9c"),
    ("hello", {"Hello": {"DataType": "String", "StringValue": "There"}},
     "a311262e065454b75da111d535b8dacd"),
    ("hello-general", {"Hello": {"DataType": "String", "StringValue": "There"},
                       "General": {"DataType": "String", "StringValue": "Kenobi"}},
     "fca026605781cb4126a1e9044df24232"),
    ("hello-helpme", {"Hello": {"DataType": "String", "StringValue": "There"},
                      "Help.Me": {"DataType": "String", "StringValue": "Me"}},
     "83fee93c1bcd8b9a5a923ffacdc636c7"),
    ("three", {"Help.Me": {"DataType": "String", "StringValue": "Me"},
               "Hello": {"DataType": "String", "StringValue": "There"},
               "General": {"DataType": "String", "StringValue": "Kenobi"}},
     "4c360f3fdafd970e05fae2f149d997f5"),
    ("number", {"timestamp": {"DataType": "Number", "StringValue": "1493147359900"}},
     "235c5c510d26fb653d073faed50ae77c"),
    ("binary-traceparent", {"attr1": {"DataType": "Binary", "BinaryValue": TRACEPARENT}},
     "8cbe4db156db8a94db8b801b7addb984"),
    ("mixed-custom", {"a": {"DataType": "String", "StringValue": "hello"},
                      "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01\x02"},
                      "n": {"DataType": "Number.int", "StringValue": "42"}},
     "8ede164999645b25afbafe8fd5817b1c"),
]

TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
TRACE_HEADER_MD5 = "5ae4d5d7636402d80f4eb6d213245a88"

# Self-check: the local implementation must reproduce every vector.
for _id, _attrs, _md5 in MD5_VECTORS:
    assert md5_of_message_attributes(_attrs) == _md5, _id
assert md5_of_message_attributes(
    {"AWSTraceHeader": {"DataType": "String", "StringValue": TRACE_HEADER}}) == TRACE_HEADER_MD5

NEW_STANDARD_ATTRIBUTES = {
    "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible", "CreatedTimestamp", "DelaySeconds",
    "LastModifiedTimestamp", "MaximumMessageSize", "MessageRetentionPeriod", "QueueArn",
    "ReceiveMessageWaitTimeSeconds", "SqsManagedSseEnabled", "VisibilityTimeout",
}
NEW_FIFO_EXTRA_ATTRIBUTES = {
    "ContentBasedDeduplication", "DeduplicationScope", "FifoQueue", "FifoThroughputLimit",
}
STANDARD_DEFAULTS = {
    "DelaySeconds": "0",
    "MaximumMessageSize": "1048576",
    "MessageRetentionPeriod": "345600",
    "ReceiveMessageWaitTimeSeconds": "0",
    "VisibilityTimeout": "30",
    "SqsManagedSseEnabled": "true",
    "ApproximateNumberOfMessages": "0",
    "ApproximateNumberOfMessagesDelayed": "0",
    "ApproximateNumberOfMessagesNotVisible": "0",
}
FIFO_DEFAULTS = {
    "FifoQueue": "true",
    "ContentBasedDeduplication": "false",
    "DeduplicationScope": "queue",
    "FifoThroughputLimit": "perQueue",
}

# (attribute, bad value) pairs outside the documented ranges (§4).
OUT_OF_RANGE = [
    ("VisibilityTimeout", "43201"),
    ("VisibilityTimeout", "-1"),
    ("VisibilityTimeout", "abc"),
    ("DelaySeconds", "901"),
    ("MaximumMessageSize", "1023"),
    ("MaximumMessageSize", "1048577"),
    ("MessageRetentionPeriod", "59"),
    ("MessageRetentionPeriod", "1209601"),
    ("ReceiveMessageWaitTimeSeconds", "21"),
]

UUID_RE = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def wait_until(pred, timeout=10.0, interval=0.2):
    """Poll pred() until truthy or timeout; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)
